import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../src/bgp/index.js';
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
    ['a field kbgp cannot honour yet', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, password: {secretKeyRef: {name: s, key: k}}}')), 'BGPPeer p: spec.password: is not supported by kbgp yet (see the operations issue)'],
    ['a selector (not yet)', docs(BASE_NODE, peer('p', '{nodeSelector: all(), peerIP: 192.0.2.9, asNumber: 1}')), 'BGPPeer p: spec.nodeSelector: is not supported by kbgp yet (see the operations issue)'],
    ['a bad keepalive duration', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, keepaliveTime: soon}')), 'BGPPeer p: spec.keepaliveTime: "soon" is not a duration (e.g. 20s, 1m30s)'],
    ['a bad sourceAddress', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1, sourceAddress: Auto}')), 'BGPPeer p: spec.sourceAddress: "Auto" is not UseNodeIP or None'],
    ['a Node IPv4 address that is IPv6', docs(node('{bgp: {ipv4Address: "2001:db8::1/64"}}')), 'Node n1: spec.bgp.ipv4Address: "2001:db8::1/64" is not an IPv4 address (with optional /length)'],
    ['no router ID at all', docs(node('{bgp: {}}'), kbgp('{nodeName: n1}')), 'KbgpConfiguration n1: spec.routerId: no router ID: set it, or give the Node an IPv4 address (spec.bgp.ipv4Address)'],
    ['a router ID that is not dotted quad', docs(BASE_NODE, kbgp('{routerId: "1"}')), 'KbgpConfiguration n1: spec.routerId: "1" is not a dotted-quad router ID'],
    ['a prefix with host bits', docs(BASE_NODE, kbgp('{originate: [{prefix: 10.96.0.1/12}]}')), 'KbgpConfiguration n1: spec.originate[0].prefix: "10.96.0.1/12" has host bits set (the network is 10.96.0.0/12)'],
    ['a community out of range', docs(BASE_NODE, kbgp('{originate: [{prefix: 10.0.0.0/8, communities: ["70000:1"]}]}')), 'KbgpConfiguration n1: spec.originate[0].communities[0]: "70000:1" is not a community (expected aa:nn with both parts 0..65535, or a well-known name)'],
    ['a hold time of 2 s', docs(BASE_NODE, peer('p', '{peerIP: 192.0.2.9, asNumber: 1}'), kbgp('{peerSettings: [{peer: p, holdTime: 2s}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].holdTime: must be 0 or at least 3 seconds (RFC 4271 §4.2)'],
    ['peer settings for a peer that does not exist', docs(BASE_NODE, kbgp('{peerSettings: [{peer: nope, passive: true}]}')), 'KbgpConfiguration n1: spec.peerSettings[0].peer: no BGPPeer named "nope" for node n1'],
    ['a wrong apiVersion', docs('apiVersion: projectcalico.org/v2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {}'), 'BGPPeer p: apiVersion: must be projectcalico.org/v3 for BGPPeer'],
    ['an unknown kind', docs('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {}'), 'IPPool pool: kind: IPPool is not a kind kbgp reads (BGPConfiguration, BGPPeer, Node, KbgpConfiguration)'],
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
