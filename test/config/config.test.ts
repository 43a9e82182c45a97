import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import { loadConfig } from '../../src/config/config.js';

const global = (spec: string): string => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: ${spec}`;
const node = (spec: string, name = 'n1'): string => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: ${spec}`;
const peer = (name: string, spec: string): string => `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${name}}\nspec: ${spec}`;
const kbgp = (spec: string, name = 'n1'): string => `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: ${name}}\nspec: ${spec}`;
const docs = (...d: string[]): string => d.join('\n---\n');

const BASE_NODE = node('{bgp: {ipv4Address: 192.0.2.1/24}}');

describe('loadConfig', () => {
  it('resolves a node: Calico defaults, AS override, peers for this node only, origination', () => {
    const c = loadConfig(
      docs(
        global('{listenPort: 1790}'),
        node('{bgp: {ipv4Address: 192.0.2.1/24, ipv6Address: "2001:db8::1/64", asNumber: "1.10"}}'),
        peer('tor', '{peerIP: "192.0.2.254", asNumber: 65001, keepaliveTime: 20s}'),
        peer('tor6', '{peerIP: "[2001:db8::fe]:1791", asNumber: 65001, sourceAddress: None}'),
        peer('elsewhere', '{node: n2, peerIP: 192.0.2.253, asNumber: 65002}'),
        kbgp('{nodeName: n1, peerSettings: [{peer: tor, passive: true, holdTime: 9s}], timers: {connectRetryTime: 1m30s}, originate: [{prefix: 10.96.0.0/12, communities: [64512:100, no_export], largeCommunities: ["64512:1:2"]}]}'),
      ),
      'n1',
    );
    expect(c).toMatchObject({
      nodeName: 'n1',
      asNumber: 65546,
      routerId: '192.0.2.1',
      ipv4Address: '192.0.2.1',
      ipv6Address: '2001:db8::1',
      listenPort: 1790,
      timers: { connectRetryTime: 90 },
      peers: [
        { name: 'tor', address: '192.0.2.254', port: 1790, asNumber: 65001, keepaliveTime: 20, sourceAddress: '192.0.2.1', passive: true, holdTime: 9 },
        { name: 'tor6', address: '2001:db8::fe', port: 1791, asNumber: 65001, passive: false },
      ],
    });
    expect(c.peers[1]?.sourceAddress).toBeUndefined();
    expect(c.originate.map((r) => [formatPrefix(r.prefix), r.communities, r.largeCommunities])).toEqual([
      ['10.96.0.0/12', [0xfc000064, 0xffffff01], [{ globalAdmin: 64512, localData1: 1, localData2: 2 }]],
    ]);
  });

  it('defaults the AS to 64512 and the port to 179, as Calico does', () => {
    const c = loadConfig(docs(BASE_NODE, kbgp('{nodeName: n1}')), 'n1');
    expect([c.asNumber, c.listenPort]).toEqual([64512, 179]);
  });

  it.each([
    ['an AS number too large', docs(BASE_NODE, peer('rr1-to-leaf1', '{peerIP: 192.0.2.9, asNumber: 4294967296}')), 'BGPPeer rr1-to-leaf1: spec.asNumber: 4294967296 is not a valid AS number'],
    ['AS 0', docs(global('{asNumber: 0}'), BASE_NODE), 'BGPConfiguration default: spec.asNumber: 0 is not a valid AS number'],
    ['a bad asdot AS', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: "1.70000"}')), 'BGPPeer p: spec.asNumber: "1.70000" is not a valid AS number'],
    ['a peer without an AS', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9}')), 'BGPPeer p: spec.asNumber: is required with peerIP'],
    ['a peer IP that is not an address', docs(BASE_NODE, peer('p', '{peerIP: tor1, asNumber: 1}')), 'BGPPeer p: spec.peerIP: "tor1" is not an IP address with an optional port'],
    ['a peer port out of range', docs(BASE_NODE, peer('p', '{peerIP: "192.0.2.9:70000", asNumber: 1}')), 'BGPPeer p: spec.peerIP: port 70000 is not 1..65535'],
    ['a misspelt field', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumbr: 1}')), 'BGPPeer p: spec.asNumbr: is not a known field'],
    ['a password (TCP MD5), which Node.js cannot do', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, password: {secretKeyRef: {name: s, key: k}}}')), 'BGPPeer p: spec.password: cannot be honoured: TCP MD5 signatures (RFC 2385) need the TCP_MD5SIG socket option, which Node.js does not expose'],
    ['ttlSecurity, which Node.js cannot do', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, ttlSecurity: 1}')), 'BGPPeer p: spec.ttlSecurity: cannot be honoured: the TTL security check (RFC 5082) needs the IP_MINTTL socket option'],
    ['nodeMeshPassword', docs(BASE_NODE, 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}'), 'BGPConfiguration default: spec.nodeMeshPassword: cannot be honoured: TCP MD5'],
    ['a selector that does not parse', docs(BASE_NODE, peer('p', '{nodeSelector: "rack = \'r1\'", peerIP: 192.0.2.9, asNumber: 1}')), 'BGPPeer p: spec.nodeSelector: selector: unexpected \'=\' at column 6'],
    ['node and nodeSelector together', docs(BASE_NODE, peer('p', '{node: n1, nodeSelector: all(), peerIP: 192.0.2.9, asNumber: 1}')), 'BGPPeer p: spec.nodeSelector: cannot be combined with node'],
    ['peerSelector with peerIP', docs(BASE_NODE, peer('p', '{peerSelector: all(), peerIP: 192.0.2.9}')), 'BGPPeer p: spec.peerSelector: cannot be combined with peerIP'],
    ['peerSelector with asNumber', docs(BASE_NODE, peer('p', '{peerSelector: all(), asNumber: 65001}')), 'BGPPeer p: spec.asNumber: must be empty with peerSelector'],
    ['a reversePeering that is neither', docs(BASE_NODE, peer('p', '{peerSelector: all(), reversePeering: Sometimes}')), 'BGPPeer p: spec.reversePeering: "Sometimes" is not one of Auto, Manual'],
    ['a bad keepalive duration', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, keepaliveTime: soon}')), 'BGPPeer p: spec.keepaliveTime: "soon" is not a duration (e.g. 20s, 1m30s)'],
    ['a bad sourceAddress', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, sourceAddress: Auto}')), 'BGPPeer p: spec.sourceAddress: "Auto" is not one of UseNodeIP, None'],
    ['a Node IPv4 address that is IPv6', docs(node('{bgp: {ipv4Address: "2001:db8::1/64"}}')), 'Node n1: spec.bgp.ipv4Address: "2001:db8::1/64" is not an IPv4 address (with optional /length)'],
    ['no router ID at all', docs(node('{bgp: {}}'), kbgp('{nodeName: n1}')), 'KbgpConfiguration n1: spec.routerId: no router ID: set it, give the Node an IPv4 address (spec.bgp.ipv4Address), or set $NODE_IP to the node\'s IPv4 address'],
    ['a router ID that is not dotted quad', docs(BASE_NODE, kbgp('{routerId: "1"}')), 'KbgpConfiguration n1: spec.routerId: "1" is not a dotted-quad router ID'],
    ['a prefix with host bits', docs(BASE_NODE, kbgp('{originate: [{prefix: 10.96.0.1/12}]}')), 'KbgpConfiguration n1: spec.originate[0].prefix: "10.96.0.1/12" has host bits set (the network is 10.96.0.0/12)'],
    ['a community out of range', docs(BASE_NODE, kbgp('{originate: [{prefix: 10.0.0.0/8, communities: ["70000:1"]}]}')), 'KbgpConfiguration n1: spec.originate[0].communities[0]: "70000:1" is not a community (expected aa:nn with both parts 0..65535, or a well-known name)'],
    ['a hold time of 2 s', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1}'), kbgp('{peerSettings: [{peer: p, holdTime: 2s}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].holdTime: must be 0 or at least 3 seconds (RFC 4271 §4.2)'],
    ['peer settings for a peer that does not exist', docs(BASE_NODE, kbgp('{peerSettings: [{peer: nope, passive: true}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].peer: no BGPPeer named "nope" for node n1'],
    ['a wrong apiVersion', docs('apiVersion: projectcalico.org/v2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {}'), 'BGPPeer p: apiVersion: must be projectcalico.org/v3 for BGPPeer'],
    ['an unknown kind', docs('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {}'), 'IPPool pool: kind: IPPool is not a kind kbgp reads (BGPConfiguration, BGPPeer, BGPFilter, Node, KbgpConfiguration)'],
    ['a document without a name', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {}\nspec: {}', 'document 1: metadata.name: is required'],
    ['YAML that does not parse', 'kind: [', 'document 1: yaml: '],
  ])('refuses %s, naming the document, the field and the reason', (_name, text, message) => {
    expect(() => loadConfig(text, 'n1')).toThrow(message);
  });
});

describe('examples/', () => {
  it('loads examples/tor-peering.yaml', async () => {
    const { readFileSync } = await import('node:fs');
    const c = loadConfig(readFileSync(new URL('../../examples/tor-peering.yaml', import.meta.url), 'utf8'), 'node-1');
    expect(c.peers.map((p) => [p.name, p.address, p.asNumber, p.keepaliveTime])).toEqual([['rack1-tor', '192.0.2.1', 65001, 20]]);
    expect(c.originate.map((r) => formatPrefix(r.prefix))).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
  });
});

describe('loadConfig: route reflection', () => {
  const RR_NODE = node('{bgp: {ipv4Address: 192.0.2.1/24, ipv6Address: "2001:db8::1/64", routeReflectorClusterID: 10.255.0.1}}');
  const clients = (c: ReturnType<typeof loadConfig>): [string, boolean][] => c.peers.map((p) => [p.name, p.routeReflectorClient]);

  it('reads the Node\'s routeReflectorClusterID; no cluster ID without one', () => {
    expect(loadConfig(docs(RR_NODE), 'n1').clusterId).toBe('10.255.0.1');
    expect(loadConfig(docs(BASE_NODE), 'n1').clusterId).toBeUndefined();
    expect('clusterId' in loadConfig(docs(BASE_NODE), 'n1')).toBe(false);
  });

  it('makes a client of every iBGP peer that is not a Node of the same cluster, and of no eBGP peer (Calico\'s rule)', () => {
    const c = loadConfig(
      docs(
        RR_NODE,
        node('{bgp: {ipv4Address: 192.0.2.3/24, routeReflectorClusterID: 10.255.0.1}}', 'n3'),
        node('{bgp: {ipv4Address: 192.0.2.4/24, routeReflectorClusterID: 10.255.0.2}}', 'n4'),
        node('{bgp: {ipv4Address: 192.0.2.5/24}}', 'n5'),
        node('{bgp: {ipv6Address: "2001:db8::6/64", routeReflectorClusterID: 10.255.0.1}}', 'n6'),
        peer('not-a-node', '{peerIP: 192.0.2.2, asNumber: 64512}'),
        peer('same-cluster', '{peerIP: 192.0.2.3, asNumber: 64512}'),
        peer('other-cluster', '{peerIP: 192.0.2.4, asNumber: 64512}'),
        peer('node-without-cluster', '{peerIP: 192.0.2.5, asNumber: 64512}'),
        peer('same-cluster-v6', '{peerIP: "2001:db8::6", asNumber: 64512}'),
        peer('ebgp', '{peerIP: 192.0.2.7, asNumber: 65001}'),
        peer('ebgp-same-cluster-node', '{peerIP: 192.0.2.3, asNumber: 65001}'),
        peer('ibgp-by-local-as', '{peerIP: 192.0.2.8, asNumber: 65100, localASNumber: 65100}'),
        peer('ebgp-by-local-as', '{peerIP: 192.0.2.9, asNumber: 64512, localASNumber: 65100}'),
      ),
      'n1',
    );
    expect(clients(c)).toEqual([
      ['not-a-node', true],
      ['same-cluster', false],
      ['other-cluster', true],
      ['node-without-cluster', true],
      ['same-cluster-v6', false],
      ['ebgp', false],
      ['ebgp-same-cluster-node', false],
      ['ibgp-by-local-as', true],
      ['ebgp-by-local-as', false],
    ]);
  });

  it('makes no clients on a node without a cluster ID', () => {
    const c = loadConfig(docs(BASE_NODE, node('{bgp: {ipv4Address: 192.0.2.3/24, routeReflectorClusterID: 10.255.0.1}}', 'n3'), peer('a', '{peerIP: 192.0.2.2, asNumber: 64512}'), peer('b', '{peerIP: 192.0.2.3, asNumber: 64512}')), 'n1');
    expect(clients(c)).toEqual([
      ['a', false],
      ['b', false],
    ]);
  });

  it('matches a Node of the same cluster by address, not by how the address is written', () => {
    const c = loadConfig(docs(RR_NODE, node('{bgp: {ipv6Address: "2001:DB8:0::6/64", routeReflectorClusterID: 10.255.0.1}}', 'n6'), peer('same-cluster-v6', '{peerIP: "2001:db8::6", asNumber: 64512}')), 'n1');
    expect(clients(c)).toEqual([['same-cluster-v6', false]]);
  });

  it('resolves a peer\'s IPv6 address to its canonical text, the form a socket reports it in', () => {
    const c = loadConfig(docs(RR_NODE, peer('tor6', '{peerIP: "[2001:DB8:0::FE]:1791", asNumber: 65001}')), 'n1');
    expect(c.peers.map((p) => [p.address, p.port])).toEqual([['2001:db8::fe', 1791]]);
  });

  it.each([
    ['a cluster ID that is not dotted quad', docs(node('{bgp: {ipv4Address: 192.0.2.1/24, routeReflectorClusterID: "1"}}')), 'Node n1: spec.bgp.routeReflectorClusterID: "1" is not an IPv4 dotted-quad cluster ID'],
    ['an IPv6 cluster ID', docs(node('{bgp: {ipv4Address: 192.0.2.1/24, routeReflectorClusterID: "2001:db8::1"}}')), 'Node n1: spec.bgp.routeReflectorClusterID: "2001:db8::1" is not an IPv4 dotted-quad cluster ID'],
    ['a cluster ID that is a number', docs(node('{bgp: {ipv4Address: 192.0.2.1/24, routeReflectorClusterID: 7}}')), 'Node n1: spec.bgp.routeReflectorClusterID: must be a string, not 7'],
    ['another Node\'s bad cluster ID', docs(BASE_NODE, node('{bgp: {ipv4Address: 192.0.2.3/24, routeReflectorClusterID: 10.255.0.256}}', 'n3')), 'Node n3: spec.bgp.routeReflectorClusterID: "10.255.0.256" is not an IPv4 dotted-quad cluster ID'],
  ])('refuses %s, naming the field', (_name, text, message) => {
    expect(() => loadConfig(text, 'n1')).toThrow(message);
  });
});

describe('loadConfig: BGPPeer next hop, local AS and allowed local AS', () => {
  const one = (spec: string): ReturnType<typeof loadConfig>['peers'][number] => {
    const c = loadConfig(docs(BASE_NODE, peer('p', spec)), 'n1');
    expect(c.peers).toHaveLength(1);
    return c.peers[0] as ReturnType<typeof loadConfig>['peers'][number];
  };

  it.each([
    ['no next hop setting, eBGP', '{peerIP: 192.0.2.9, asNumber: 65001}', 'Auto'],
    ['no next hop setting, iBGP', '{peerIP: 192.0.2.9, asNumber: 64512}', 'Auto'],
    ['nextHopMode Auto', '{peerIP: 192.0.2.9, asNumber: 65001, nextHopMode: Auto}', 'Auto'],
    ['nextHopMode Self', '{peerIP: 192.0.2.9, asNumber: 65001, nextHopMode: Self}', 'Self'],
    ['nextHopMode Keep', '{peerIP: 192.0.2.9, asNumber: 65001, nextHopMode: Keep}', 'Keep'],
    ['nextHopMode Self towards iBGP', '{peerIP: 192.0.2.9, asNumber: 64512, nextHopMode: Self}', 'Self'],
    ['nextHopMode Keep towards iBGP', '{peerIP: 192.0.2.9, asNumber: 64512, nextHopMode: Keep}', 'Keep'],
    ['keepOriginalNextHop true, eBGP: Keep', '{peerIP: 192.0.2.9, asNumber: 65001, keepOriginalNextHop: true}', 'Keep'],
    ['keepOriginalNextHop true, iBGP: Auto (Keep is for eBGP only)', '{peerIP: 192.0.2.9, asNumber: 64512, keepOriginalNextHop: true}', 'Auto'],
    ['keepOriginalNextHop true, iBGP by localASNumber: Auto', '{peerIP: 192.0.2.9, asNumber: 65100, localASNumber: 65100, keepOriginalNextHop: true}', 'Auto'],
    ['keepOriginalNextHop true, eBGP by localASNumber: Keep', '{peerIP: 192.0.2.9, asNumber: 64512, localASNumber: 65100, keepOriginalNextHop: true}', 'Keep'],
    ['keepOriginalNextHop false, eBGP: Auto', '{peerIP: 192.0.2.9, asNumber: 65001, keepOriginalNextHop: false}', 'Auto'],
  ])('%s', (_name, spec, mode) => {
    expect(one(spec).nextHopMode).toBe(mode);
  });

  it('reads localASNumber (integer or asdot); absent, the field is absent', () => {
    expect(one('{peerIP: 192.0.2.9, asNumber: 65001, localASNumber: 65100}').localAsNumber).toBe(65100);
    expect(one('{peerIP: 192.0.2.9, asNumber: 65001, localASNumber: "1.10"}').localAsNumber).toBe(65546);
    expect('localAsNumber' in one('{peerIP: 192.0.2.9, asNumber: 65001}')).toBe(false);
  });

  it('reads numAllowedLocalASNumbers, 0 by default', () => {
    expect(one('{peerIP: 192.0.2.9, asNumber: 65001}').allowedLocalAs).toBe(0);
    expect(one('{peerIP: 192.0.2.9, asNumber: 65001, numAllowedLocalASNumbers: 3}').allowedLocalAs).toBe(3);
    expect(one('{peerIP: 192.0.2.9, asNumber: 65001, numAllowedLocalASNumbers: 10}').allowedLocalAs).toBe(10);
  });

  it.each([
    ['a nextHopMode that is not one of the three', '{peerIP: 192.0.2.9, asNumber: 1, nextHopMode: self}', 'BGPPeer p: spec.nextHopMode: "self" is not one of Auto, Self, Keep'],
    ['a nextHopMode that is not a string', '{peerIP: 192.0.2.9, asNumber: 1, nextHopMode: 1}', 'BGPPeer p: spec.nextHopMode: must be a string, not 1'],
    ['keepOriginalNextHop with nextHopMode', '{peerIP: 192.0.2.9, asNumber: 1, nextHopMode: Self, keepOriginalNextHop: true}', 'BGPPeer p: spec.keepOriginalNextHop: cannot be combined with nextHopMode'],
    ['keepOriginalNextHop that is not a boolean', '{peerIP: 192.0.2.9, asNumber: 1, keepOriginalNextHop: "yes"}', 'BGPPeer p: spec.keepOriginalNextHop: must be true or false, not "yes"'],
    ['localASNumber 0', '{peerIP: 192.0.2.9, asNumber: 1, localASNumber: 0}', 'BGPPeer p: spec.localASNumber: 0 is not a valid AS number'],
    ['localASNumber too large', '{peerIP: 192.0.2.9, asNumber: 1, localASNumber: 4294967296}', 'BGPPeer p: spec.localASNumber: 4294967296 is not a valid AS number'],
    ['numAllowedLocalASNumbers above 10', '{peerIP: 192.0.2.9, asNumber: 1, numAllowedLocalASNumbers: 11}', 'BGPPeer p: spec.numAllowedLocalASNumbers: 11 is not an integer 0..10'],
    ['numAllowedLocalASNumbers negative', '{peerIP: 192.0.2.9, asNumber: 1, numAllowedLocalASNumbers: -1}', 'BGPPeer p: spec.numAllowedLocalASNumbers: -1 is not an integer 0..10'],
    ['numAllowedLocalASNumbers not an integer', '{peerIP: 192.0.2.9, asNumber: 1, numAllowedLocalASNumbers: 1.5}', 'BGPPeer p: spec.numAllowedLocalASNumbers: 1.5 is not an integer 0..10'],
  ])('refuses %s, naming the field', (_name, spec, message) => {
    expect(() => loadConfig(docs(BASE_NODE, peer('p', spec)), 'n1')).toThrow(message);
  });
});

describe('loadConfig: KbgpConfiguration decision and ADD-PATH settings', () => {
  const PEER = peer('p', '{peerIP: 192.0.2.9, asNumber: 65001}');

  it('defaults: 16 paths, MED compared within one neighbouring AS, ADD-PATH both ways', () => {
    const c = loadConfig(docs(BASE_NODE, PEER, kbgp('{nodeName: n1}')), 'n1');
    expect([c.maxPaths, c.alwaysCompareMed, c.peers[0]?.addPath]).toEqual([16, false, 'Both']);
    const bare = loadConfig(docs(BASE_NODE, PEER), 'n1');
    expect([bare.maxPaths, bare.alwaysCompareMed, bare.peers[0]?.addPath]).toEqual([16, false, 'Both']);
  });

  it.each([
    ['maxPaths 1', '{maxPaths: 1}', { maxPaths: 1, alwaysCompareMed: false }],
    ['maxPaths 256', '{maxPaths: 256}', { maxPaths: 256, alwaysCompareMed: false }],
    ['alwaysCompareMed', '{alwaysCompareMed: true}', { maxPaths: 16, alwaysCompareMed: true }],
    ['alwaysCompareMed false', '{alwaysCompareMed: false, maxPaths: 4}', { maxPaths: 4, alwaysCompareMed: false }],
  ])('reads %s', (_name, spec, expected) => {
    const c = loadConfig(docs(BASE_NODE, kbgp(spec)), 'n1');
    expect({ maxPaths: c.maxPaths, alwaysCompareMed: c.alwaysCompareMed }).toEqual(expected);
  });

  it.each(['Both', 'Receive', 'Send', 'Off'])('reads peerSettings addPath %s', (setting) => {
    const c = loadConfig(docs(BASE_NODE, PEER, peer('q', '{peerIP: 192.0.2.10, asNumber: 65001}'), kbgp(`{peerSettings: [{peer: p, addPath: ${setting}}]}`)), 'n1');
    expect(c.peers.map((p) => [p.name, p.addPath])).toEqual([
      ['p', setting],
      ['q', 'Both'],
    ]);
  });

  it.each([
    ['maxPaths 0', docs(BASE_NODE, kbgp('{maxPaths: 0}')), 'KbgpConfiguration n1: spec.maxPaths: 0 is not an integer 1..256'],
    ['maxPaths 257', docs(BASE_NODE, kbgp('{maxPaths: 257}')), 'KbgpConfiguration n1: spec.maxPaths: 257 is not an integer 1..256'],
    ['maxPaths as text', docs(BASE_NODE, kbgp('{maxPaths: "4"}')), 'KbgpConfiguration n1: spec.maxPaths: "4" is not an integer 1..256'],
    ['alwaysCompareMed as text', docs(BASE_NODE, kbgp('{alwaysCompareMed: "yes"}')), 'KbgpConfiguration n1: spec.alwaysCompareMed: must be true or false, not "yes"'],
    ['an addPath setting in the wrong case', docs(BASE_NODE, PEER, kbgp('{peerSettings: [{peer: p, addPath: both}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].addPath: "both" is not one of Both, Receive, Send, Off'],
    ['an addPath setting that is not one', docs(BASE_NODE, PEER, kbgp('{peerSettings: [{peer: p, addPath: true}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].addPath: must be a string, not true'],
    ['maxPrefixes without a limit', docs(BASE_NODE, PEER, kbgp('{peerSettings: [{peer: p, maxPrefixes: {warningOnly: true}}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].maxPrefixes.limit: is required'],
    ['maxPrefixes limit 0', docs(BASE_NODE, PEER, kbgp('{peerSettings: [{peer: p, maxPrefixes: {limit: 0}}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].maxPrefixes.limit: 0 is not an integer 1..4294967295'],
    ['an unknown maxPrefixes field', docs(BASE_NODE, PEER, kbgp('{peerSettings: [{peer: p, maxPrefixes: {limit: 5, restart: 1s}}]}')), 'spec.peerSettings[0].maxPrefixes.restart'],
  ])('refuses %s, naming the field', (_name, text, message) => {
    expect(() => loadConfig(text, 'n1')).toThrow(message);
  });

  it('reads peerSettings maxPrefixes: limit, restartAfter (default 60 s), warningOnly (default false)', () => {
    const c = loadConfig(docs(BASE_NODE, PEER, peer('q', '{peerIP: 192.0.2.10, asNumber: 65001}'), kbgp('{peerSettings: [{peer: p, maxPrefixes: {limit: 1000, restartAfter: 2m}}, {peer: q, maxPrefixes: {limit: 5, warningOnly: true}}]}')), 'n1');
    expect(c.peers.map((p) => [p.name, p.maxPrefixes])).toEqual([
      ['p', { limit: 1000, restartAfter: 120, warningOnly: false }],
      ['q', { limit: 5, restartAfter: 60, warningOnly: true }],
    ]);
  });
});

describe('BGPConfiguration communities and prefixAdvertisements', () => {
  const perNode = (spec: string, name = 'n1'): string => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.${name}}\nspec: ${spec}`;
  const GLOBAL = global(
    '{communities: [{name: svc, value: "64512:100"}, {name: big, value: "64512:1:2"}], prefixAdvertisements: [{cidr: 10.96.0.0/12, communities: [svc, "64512:7"]}, {cidr: "2001:db8::/32", communities: [big, "65000:9:9"]}]}',
  );

  it('reads named and literal standard and large communities per cidr', () => {
    const c = loadConfig(docs(GLOBAL, BASE_NODE), 'n1');
    expect(c.prefixAdvertisements.map((a) => [formatPrefix(a.cidr), a.communities, a.largeCommunities])).toEqual([
      ['10.96.0.0/12', [64512 * 65536 + 100, 64512 * 65536 + 7], []],
      ['2001:db8::/32', [], [{ globalAdmin: 64512, localData1: 1, localData2: 2 }, { globalAdmin: 65000, localData1: 9, localData2: 9 }]],
    ]);
  });

  it('takes the per-node BGPConfiguration\'s prefixAdvertisements instead of the default\'s, with the default\'s names', () => {
    const c = loadConfig(docs(GLOBAL, perNode('{prefixAdvertisements: [{cidr: 203.0.113.0/24, communities: [svc]}], listenPort: 1790}'), BASE_NODE), 'n1');
    expect(c.prefixAdvertisements.map((a) => [formatPrefix(a.cidr), a.communities])).toEqual([['203.0.113.0/24', [64512 * 65536 + 100]]]);
    expect(c.listenPort).toBe(1790);
    // Another node's override is not ours.
    expect(loadConfig(docs(GLOBAL, perNode('{prefixAdvertisements: []}', 'n2'), BASE_NODE), 'n1').prefixAdvertisements).toHaveLength(2);
  });

  it.each([
    ['an unknown name', docs(global('{prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [nope]}]}'), BASE_NODE), 'BGPConfiguration default: spec.prefixAdvertisements[0].communities[0]: "nope" is neither a name in spec.communities nor a community value'],
    ['a community part over 16 bits', docs(global('{communities: [{name: x, value: "70000:1"}]}'), BASE_NODE), 'BGPConfiguration default: spec.communities[0].value: "70000:1" is not a community'],
    ['a name given twice', docs(global('{communities: [{name: x, value: "1:1"}, {name: x, value: "1:2"}]}'), BASE_NODE), 'BGPConfiguration default: spec.communities[1].name: "x" is named twice'],
    ['a cidr with host bits', docs(global('{prefixAdvertisements: [{cidr: 10.0.0.1/8, communities: []}]}'), BASE_NODE), 'BGPConfiguration default: spec.prefixAdvertisements[0].cidr: "10.0.0.1/8" has host bits set'],
    ['asNumber per node', docs(global('{}'), perNode('{asNumber: 65000}'), BASE_NODE), 'BGPConfiguration node.n1: spec.asNumber: cannot be set per node'],
  ])('refuses %s, naming the field', (_name, text, message) => {
    expect(() => loadConfig(text, 'n1')).toThrow(message);
  });
});

describe('BGPPeer maxRestartTime (graceful restart)', () => {
  it('is on for every peer, as in Calico: 120 s unless set; set, the restart time in seconds', () => {
    const c = loadConfig(docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 65001, maxRestartTime: 5m}'), peer('q', '{peerIP: 192.0.2.10, asNumber: 65001}')), 'n1');
    expect(c.peers.map((p) => [p.name, p.maxRestartTime])).toEqual([
      ['p', 300],
      ['q', 120],
    ]);
  });

  it('takes nodeMeshMaxRestartTime (120 s unless set) and refuses it per node', () => {
    expect(loadConfig(docs(BASE_NODE), 'n1').meshRestartTime).toBe(120);
    expect(loadConfig(docs(BASE_NODE, 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeMeshMaxRestartTime: 90s}'), 'n1').meshRestartTime).toBe(90);
    expect(() => loadConfig(docs(BASE_NODE, 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeMeshMaxRestartTime: 1h30m}'), 'n1')).toThrow('BGPConfiguration default: spec.nodeMeshMaxRestartTime: 5400 s is more than the 4095 s graceful restart can announce');
  });

  it('takes the stale-path and selection deferral times from KbgpConfiguration gracefulRestart (FRR\'s 360 s, BIRD\'s 240 s unless set)', () => {
    expect(loadConfig(docs(BASE_NODE), 'n1').gracefulRestart).toEqual({ stalePathTime: 360, selectionDeferralTime: 240 });
    const c = loadConfig(docs(BASE_NODE, 'apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: n1}\nspec: {routerId: 192.0.2.1, gracefulRestart: {stalePathTime: 1m, selectionDeferralTime: 10s}}'), 'n1');
    expect(c.gracefulRestart).toEqual({ stalePathTime: 60, selectionDeferralTime: 10 });
    expect(() => loadConfig(docs(BASE_NODE, 'apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: n1}\nspec: {routerId: 192.0.2.1, gracefulRestart: {stalepathTime: 1m}}'), 'n1')).toThrow('stalepathTime');
  });

  it('refuses more than the 12 bits of seconds RFC 4724 can announce, naming the field', () => {
    expect(() => loadConfig(docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 65001, maxRestartTime: 2h}')), 'n1')).toThrow('BGPPeer p: spec.maxRestartTime: 7200 s is more than the 4095 s graceful restart can announce');
  });
});

describe('BGPFilter and BGPPeer filters', () => {
  const bgpFilter = (name: string, spec: string): string => `apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: ${name}}\nspec: ${spec}`;

  it('reads every rule field and operation, and gives a peer its filters in order', () => {
    const c = loadConfig(
      docs(
        BASE_NODE,
        bgpFilter('a', '{exportV4: [{cidr: 10.0.0.0/8, prefixLength: {min: 24, max: 32}, matchOperator: In, source: RemotePeers, peerType: eBGP, interface: "*", communities: {values: ["64512:7"]}, action: Accept, operations: [{addCommunity: {value: "64512:1:2"}}, {prependASPath: {prefix: [64512, 64513]}}]}], importV6: [{cidr: "fd00::/8", matchOperator: NotIn, action: Reject}]}'),
        bgpFilter('b', '{importV4: [{action: Reject}]}'),
        peer('p', '{peerIP: 192.0.2.9, asNumber: 65001, filters: [b, a]}'),
        peer('q', '{peerIP: 192.0.2.10, asNumber: 65001}'),
      ),
      'n1',
    );
    const [p, q] = c.peers;
    expect(p?.filters.map((f) => f.name)).toEqual(['b', 'a']);
    expect(q?.filters).toEqual([]);
    const a = p?.filters[1];
    expect(a?.exportV4).toEqual([
      {
        action: 'Accept',
        cidr: parsePrefix('10.0.0.0/8'),
        matchOperator: 'In',
        prefixLength: { min: 24, max: 32 },
        source: 'RemotePeers',
        interface: '*',
        peerType: 'eBGP',
        communities: [{ standard: 64512 * 65536 + 7 }],
        operations: [
          { kind: 'addCommunity', community: { large: { globalAdmin: 64512, localData1: 1, localData2: 2 } } },
          { kind: 'prependASPath', asns: [64512, 64513] },
        ],
      },
    ]);
    expect(a?.importV6).toEqual([{ action: 'Reject', cidr: parsePrefix('fd00::/8'), matchOperator: 'NotIn' }]);
    expect([a?.importV4, a?.exportV6]).toEqual([[], []]);
  });

  it.each([
    ['a filter name with no BGPFilter', [peer('p', '{peerIP: 192.0.2.9, asNumber: 65001, filters: [nope]}')], 'BGPPeer p: spec.filters[0]: no BGPFilter named "nope"'],
    ['a cidr without matchOperator', [bgpFilter('f', '{exportV4: [{cidr: 10.0.0.0/8, action: Reject}]}')], 'BGPFilter f: spec.exportV4[0].matchOperator: is required with cidr'],
    ['a matchOperator without cidr', [bgpFilter('f', '{exportV4: [{matchOperator: In, action: Reject}]}')], 'BGPFilter f: spec.exportV4[0].cidr: is required with matchOperator'],
    ['an IPv6 cidr in an IPv4 list', [bgpFilter('f', '{importV4: [{cidr: "fd00::/8", matchOperator: In, action: Reject}]}')], 'BGPFilter f: spec.importV4[0].cidr: fd00::/8 is not an IPv4 prefix, in an IPv4 rule list'],
    ['a prefixLength range that selects nothing', [bgpFilter('f', '{exportV4: [{cidr: 10.0.0.0/16, matchOperator: In, prefixLength: {max: 8}, action: Reject}]}')], 'BGPFilter f: spec.exportV4[0].prefixLength: selects no prefix of 10.0.0.0/16 (lengths 16..8); BIRD refuses such a range'],
    ['operations on a Reject rule', [bgpFilter('f', '{exportV4: [{action: Reject, operations: [{addCommunity: {value: "1:1"}}]}]}')], 'BGPFilter f: spec.exportV4[0].operations: only an Accept rule may have operations'],
    ['an action that is neither', [bgpFilter('f', '{exportV4: [{action: Drop}]}')], 'BGPFilter f: spec.exportV4[0].action: "Drop" is not one of Accept, Reject'],
    ['a bad community value', [bgpFilter('f', '{exportV4: [{action: Accept, operations: [{addCommunity: {value: "70000:1"}}]}]}')], 'BGPFilter f: spec.exportV4[0].operations[0].addCommunity.value:'],
    ['setPriority', [bgpFilter('f', '{exportV4: [{action: Accept, operations: [{setPriority: {value: 5}}]}]}')], 'BGPFilter f: spec.exportV4[0].operations[0].setPriority: is not supported by kbgp'],
    ['a misspelt list', [bgpFilter('f', '{exportv4: []}')], 'BGPFilter f: spec.exportv4: is not a known field'],
  ])('refuses %s, naming the field', (_name, extra, message) => {
    expect(() => loadConfig(docs(BASE_NODE, ...extra), 'n1')).toThrow(message);
  });
});

describe('BGPConfiguration service CIDRs', () => {
  const global = (spec: string): string => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: ${spec}`;

  it('reads serviceClusterIPs, serviceExternalIPs and serviceLoadBalancerIPs (empty unless set)', () => {
    expect(loadConfig(docs(BASE_NODE), 'n1').serviceCidrs).toEqual({ clusterIPs: [], externalIPs: [], loadBalancerIPs: [], aggregation: true });
    expect(loadConfig(docs(BASE_NODE, global('{serviceLoadBalancerAggregation: Disabled}')), 'n1').serviceCidrs.aggregation).toBe(false);
    const c = loadConfig(docs(BASE_NODE, global('{serviceClusterIPs: [{cidr: 10.96.0.0/12}, {cidr: "fd00:96::/112"}], serviceExternalIPs: [{cidr: 203.0.113.0/24}], serviceLoadBalancerIPs: [{cidr: 198.51.100.0/24}]}')), 'n1');
    expect({
      clusterIPs: c.serviceCidrs.clusterIPs.map(formatPrefix),
      externalIPs: c.serviceCidrs.externalIPs.map(formatPrefix),
      loadBalancerIPs: c.serviceCidrs.loadBalancerIPs.map(formatPrefix),
    }).toEqual({ clusterIPs: ['10.96.0.0/12', 'fd00:96::/112'], externalIPs: ['203.0.113.0/24'], loadBalancerIPs: ['198.51.100.0/24'] });
  });

  it.each([
    ['a CIDR with host bits', global('{serviceClusterIPs: [{cidr: 10.96.0.1/12}]}'), 'BGPConfiguration default: spec.serviceClusterIPs[0].cidr: "10.96.0.1/12" has host bits set'],
    ['an entry without cidr', global('{serviceExternalIPs: [{}]}'), 'BGPConfiguration default: spec.serviceExternalIPs[0].cidr: is required'],
    ['a misspelt entry field', global('{serviceLoadBalancerIPs: [{cdir: 10.0.0.0/8}]}'), 'BGPConfiguration default: spec.serviceLoadBalancerIPs[0].cdir: is not a known field'],
    ['an aggregation that is neither', global('{serviceLoadBalancerAggregation: Off}'), 'BGPConfiguration default: spec.serviceLoadBalancerAggregation: "Off" is not one of Enabled, Disabled'],
  ])('refuses %s, naming the field', (_name, doc, message) => {
    expect(() => loadConfig(docs(BASE_NODE, doc), 'n1')).toThrow(message);
  });
});

describe('KbgpConfiguration services', () => {
  it('has defaults (100 ms window, 5 s minimum flap interval, no pod CIDRs) and takes each field', () => {
    expect(loadConfig(docs(BASE_NODE), 'n1').services).toEqual({ coalesceWindow: 0.1, minFlapInterval: 5, advertisePodCIDRs: false });
    const c = loadConfig(docs(BASE_NODE, kbgp('{routerId: 192.0.2.1, services: {coalesceWindow: 250ms, minFlapInterval: 30s, advertisePodCIDRs: true}}')), 'n1');
    expect(c.services).toEqual({ coalesceWindow: 0.25, minFlapInterval: 30, advertisePodCIDRs: true });
    expect(() => loadConfig(docs(BASE_NODE, kbgp('{routerId: 192.0.2.1, services: {window: 1s}}')), 'n1')).toThrow('KbgpConfiguration n1: spec.services.window: is not a known field');
  });
});

describe('BGPPeer nodeSelector and peerSelector', () => {
  const labelled = (name: string, labels: string, bgp: string): string => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}, labels: ${labels}}\nspec: {bgp: ${bgp}}`;

  it('applies a peer to the nodes its nodeSelector picks, by this node\'s labels', () => {
    const file = docs(
      labelled('n1', '{rack: r1}', '{ipv4Address: 192.0.2.1/24}'),
      peer('tor-r1', "{nodeSelector: \"rack == 'r1'\", peerIP: 192.0.2.254, asNumber: 65001}"),
      peer('tor-r2', "{nodeSelector: \"rack == 'r2'\", peerIP: 192.0.2.253, asNumber: 65002}"),
      peer('everyone', '{nodeSelector: all(), peerIP: 192.0.2.252, asNumber: 65003}'),
      peer('empty-is-unset', '{nodeSelector: "", peerIP: 192.0.2.251, asNumber: 65004}'),
    );
    expect(loadConfig(file, 'n1').peers.map((p) => p.name)).toEqual(['tor-r1', 'everyone', 'empty-is-unset']);
  });

  it('peers with every other node its peerSelector picks, in each family both ends have, with their AS', () => {
    const file = docs(
      labelled('n1', '{role: worker}', '{ipv4Address: 192.0.2.1/24, ipv6Address: "2001:db8::1/64"}'),
      labelled('rr1', '{role: rr}', '{ipv4Address: 192.0.2.11/24, ipv6Address: "2001:db8::11/64", routeReflectorClusterID: 10.0.0.1}'),
      labelled('rr2', '{role: rr}', '{ipv4Address: 192.0.2.12/24, asNumber: 64600}'),
      labelled('w2', '{role: worker}', '{ipv4Address: 192.0.2.2/24}'),
      peer('to-rrs', "{peerSelector: \"role == 'rr'\"}"),
    );
    expect(loadConfig(file, 'n1').peers.map((p) => [p.name, p.address, p.asNumber])).toEqual([
      ['to-rrs/rr1', '192.0.2.11', 64512],
      ['to-rrs/rr1/ipv6', '2001:db8::11', 64512],
      ['to-rrs/rr2', '192.0.2.12', 64600],
      // And the mesh, Calico's default, with the other worker.
      ['mesh/w2', '192.0.2.2', 64512],
    ]);
    // reversePeering Auto: a node the peerSelector picks peers back with every node the BGPPeer applies to.
    expect(loadConfig(file, 'rr1').peers.map((p) => [p.name, p.address, p.routeReflectorClient])).toEqual([
      ['to-rrs/rr2', '192.0.2.12', false],
      ['to-rrs/reverse/n1', '192.0.2.1', true],
      ['to-rrs/reverse/n1/ipv6', '2001:db8::1', true],
      ['to-rrs/reverse/w2', '192.0.2.2', true],
    ]);
    const manual = file.replace('peerSelector: \"role == \'rr\'\"', 'peerSelector: \"role == \'rr\'\", reversePeering: Manual');
    expect(manual).not.toBe(file);
    expect(loadConfig(manual, 'rr1').peers.map((p) => p.name)).toEqual(['to-rrs/rr2']);
  });
});

describe('node-to-node mesh', () => {
  const n = (name: string, bgp: string): string => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: ${bgp}}`;
  const global = (spec: string): string => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: ${spec}`;

  it('peers with every other node in each family both have, the lexically greater address passive, with nodeMeshMaxRestartTime', () => {
    const file = docs(
      global('{nodeMeshMaxRestartTime: 90s}'),
      n('n1', '{ipv4Address: 10.0.0.5/24, ipv6Address: "fd00::5/64"}'),
      n('n2', '{ipv4Address: 10.0.0.10/24}'),
      n('n3', '{ipv4Address: 10.0.0.3/24, ipv6Address: "fd00::3/64", asNumber: 64600}'),
    );
    expect(loadConfig(file, 'n1').peers.map((p) => [p.name, p.address, p.asNumber, p.passive, p.maxRestartTime, p.mesh])).toEqual([
      // "10.0.0.5" > "10.0.0.10" as text: n1 waits for n2, as Calico's BIRD on n2 expects.
      ['mesh/n2', '10.0.0.10', 64512, true, 90, true],
      ['mesh/n3', '10.0.0.3', 64600, true, 90, true],
      ['mesh/n3/ipv6', 'fd00::3', 64600, true, 90, true],
    ]);
    expect(loadConfig(file, 'n2').peers.map((p) => [p.name, p.passive])).toEqual([
      ['mesh/n1', false],
      ['mesh/n3', false],
    ]);
  });

  it('leaves out route reflectors, and a route reflector leaves the mesh; a BGPPeer to the same address wins; off when disabled', () => {
    const file = (meshSpec: string): string =>
      docs(global(meshSpec), n('n1', '{ipv4Address: 10.0.0.1/24}'), n('n2', '{ipv4Address: 10.0.0.2/24}'), n('rr', '{ipv4Address: 10.0.0.9/24, routeReflectorClusterID: 1.1.1.1}'), peer('to-n2', '{peerIP: 10.0.0.2, asNumber: 64512}'));
    expect(loadConfig(file('{}'), 'n1').peers.map((p) => p.name)).toEqual(['to-n2']);
    expect(loadConfig(file('{}'), 'rr').peers.map((p) => p.name)).toEqual(['to-n2']);
    // On n2 itself, the BGPPeer to its own address is no peering.
    expect(loadConfig(file('{}'), 'n2').peers.map((p) => p.name)).toEqual(['mesh/n1']);
    expect(loadConfig(file('{nodeToNodeMeshEnabled: false}'), 'n1').peers.map((p) => p.name)).toEqual(['to-n2']);
    expect(loadConfig(file('{nodeToNodeMeshEnabled: false}'), 'n2').peers.map((p) => p.name)).toEqual([]);
  });
});

describe('one configuration for every node (a DaemonSet)', () => {
  const kbgpDefault = "apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: default}\nspec: {metricsAddress: '0.0.0.0:9179'}";
  it('takes the KbgpConfiguration named default when none names the node, and the router ID and address from $NODE_IP', () => {
    const c = loadConfig(docs(peer('tor', '{peerIP: 192.0.2.1, asNumber: 65001}'), kbgpDefault), 'worker-9', { NODE_IP: '192.0.2.77' });
    expect([c.nodeName, c.routerId, c.ipv4Address, c.metricsAddress, c.peers[0]?.sourceAddress]).toEqual(['worker-9', '192.0.2.77', '192.0.2.77', { host: '0.0.0.0', port: 9179 }, '192.0.2.77']);
  });
});

describe('the node environment ($NODE_NAME, $NODE_IP): an argument, never process.env', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const twoNodes = docs(node('{bgp: {ipv4Address: 10.0.0.1/24}}', 'n1'), node('{bgp: {ipv4Address: 10.0.0.2/24}}', 'n2'));

  it('takes the router ID and the node address from NODE_IP where no Node gives one', () => {
    const c = loadConfig(kbgp('{}'), 'n1', { NODE_IP: '192.0.2.7' });
    expect([c.routerId, c.ipv4Address, c.ipv6Address]).toEqual(['192.0.2.7', '192.0.2.7', undefined]);
  });

  it('takes an IPv6 NODE_IP as the node\'s IPv6 address, in canonical form', () => {
    const c = loadConfig(kbgp('{routerId: 192.0.2.1}'), 'n1', { NODE_IP: '2001:DB8:0::7' });
    expect([c.ipv4Address, c.ipv6Address]).toEqual([undefined, '2001:db8::7']);
  });

  it('picks the node NODE_NAME names; an explicit node name comes first', () => {
    const c = loadConfig(twoNodes, undefined, { NODE_NAME: 'n2' });
    expect([c.nodeName, c.routerId]).toEqual(['n2', '10.0.0.2']);
    expect(loadConfig(twoNodes, 'n1', { NODE_NAME: 'n2' }).nodeName).toBe('n1');
  });

  it('without an environment, ignores the NODE_NAME and NODE_IP of the process', () => {
    vi.stubEnv('NODE_NAME', 'n2');
    vi.stubEnv('NODE_IP', '192.0.2.7');
    const text = docs(node('{bgp: {}}'), kbgp('{nodeName: n1}'));
    // The same file resolves for n2 at 192.0.2.7 when given the process's environment...
    const fromProcess = loadConfig(text, undefined, process.env);
    expect([fromProcess.nodeName, fromProcess.routerId]).toEqual(['n2', '192.0.2.7']);
    // ...and without it, for the file's own node, which has no address.
    expect(() => loadConfig(text)).toThrow('KbgpConfiguration n1: spec.routerId: no router ID');
  });
});
