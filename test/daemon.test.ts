/**
 * The daemon end to end on loopback, kbgp against kbgp and against a raw peer of the suite's own:
 * sessions come up in both directions, routes arrive with every attribute, bad input gets the
 * exact NOTIFICATION without disturbing another session, and unknown addresses are refused.
 */
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MessageType, type UpdateMessage, encodeMessage, formatCommunity, formatLargeCommunity, formatPrefix, parseCommunity, parsePrefix } from '../src/bgp/index.js';
import { buildOpen } from '../src/fsm/negotiate.js';
import { loadConfig } from '../src/config/config.js';
import { Daemon } from '../src/daemon.js';
import type { FilterRule } from '../src/rib/filter.js';
import { RawPeer, isType, until } from './helpers/raw-peer.js';
import { MANDATORY_4, attr, capabilities, open, u32, update } from './helpers/bytes.js';

const logger = pino({ level: 'silent' });
const running: Daemon[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await Promise.all(running.splice(0).map((d) => d.stop('test over')));
});

interface NodeSpec {
  name: string;
  address: string;
  asn: number;
  port: number;
  peers: { name: string; address: string; asn: number; port?: number; passive?: boolean; holdTime?: string; maxPrefixes?: string; maxRestartTime?: string; filters?: string[]; addPath?: string }[];
  /** KbgpConfiguration timers.holdTime (every session's). */
  holdTime?: string;
  /** More documents (BGPFilters), as YAML text. */
  extraDocs?: string[];
  /** Node routeReflectorClusterID. */
  clusterId?: string;
  originate?: { prefix: string; communities?: string[]; largeCommunities?: string[] }[];
  /** KbgpConfiguration gracefulRestart, as YAML flow text. */
  gracefulRestart?: string;
}

function yaml(n: NodeSpec): string {
  const docs = [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${n.asn}, listenPort: ${n.port}}`,
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${n.name}}\nspec: {bgp: {ipv4Address: ${n.address}/32${n.clusterId === undefined ? '' : `, routeReflectorClusterID: ${n.clusterId}`}}}`,
    ...n.peers.map((p) => `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${p.name}}\nspec: {peerIP: "${p.address}:${p.port ?? n.port}", asNumber: ${p.asn}${p.maxRestartTime === undefined ? '' : `, maxRestartTime: ${p.maxRestartTime}`}${p.filters === undefined ? '' : `, filters: [${p.filters.join(', ')}]`}}`),
    ...(n.extraDocs ?? []),
    `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: ${n.name}}\nspec:\n  nodeName: ${n.name}\n  listenAddress: ${n.address}\n  timers: {connectDelay: 0.1s, connectRetryTime: 0.5s, errorWaitMin: 0.5s, errorWaitMax: 1s${n.holdTime === undefined ? '' : `, holdTime: ${n.holdTime}`}}\n` +
      `  peerSettings: [${n.peers.map((p) => `{peer: ${p.name}, passive: ${p.passive ?? false}${p.holdTime === undefined ? '' : `, holdTime: ${p.holdTime}`}${p.maxPrefixes === undefined ? '' : `, maxPrefixes: ${p.maxPrefixes}`}${p.addPath === undefined ? '' : `, addPath: ${p.addPath}`}}`).join(', ')}]\n` +
      `  originate: ${JSON.stringify(n.originate ?? [])}` +
      (n.gracefulRestart === undefined ? '' : `\n  gracefulRestart: ${n.gracefulRestart}`),
  ];
  return docs.join('\n---\n');
}

async function startNode(n: NodeSpec, waitForOrigination = false): Promise<Daemon> {
  const d = new Daemon(loadConfig(yaml(n), n.name), { logger, waitForOrigination });
  running.push(d);
  await d.start();
  return d;
}

const stateOf = (d: Daemon, peer: string): string | undefined => d.status().find((p) => p.address === peer)?.state;

describe('listeners', () => {
  it('with bindMode NodeIP listens on the Node\'s IPv4 and IPv6 addresses only, one listener each, on one port', async () => {
    const text = [
      'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64512, listenPort: 11196, bindMode: NodeIP}',
      'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: b}\nspec: {bgp: {ipv4Address: 127.0.2.40/32, ipv6Address: "::1/128"}}',
      'apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: b}\nspec: {nodeName: b}',
    ].join('\n---\n');
    const config = loadConfig(text, 'b');
    expect(config.listenAddresses).toEqual(['127.0.2.40', '::1']);
    const d = new Daemon(config, { logger });
    running.push(d);
    await d.start();
    const reaches = (host: string): Promise<boolean> =>
      new Promise((resolve) => {
        const s = createConnection({ host, port: 11196 });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
    expect(await reaches('127.0.2.40')).toBe(true);
    expect(await reaches('::1')).toBe(true);
    // Not every address: another loopback address of the same host is refused.
    expect(await reaches('127.0.2.41')).toBe(false);
    expect(d.statusView().listen).toBe('127.0.2.40, ::1 port 11196');
  });
});

describe('kbgp against kbgp', () => {
  it.each([
    ['both active', false, false],
    ['A passive', true, false],
    ['B passive', false, true],
  ])('reaches Established (%s) and exchanges IPv4 and IPv6 routes with every attribute', async (_name, aPassive, bPassive) => {
    const a = await startNode({
      name: 'a',
      address: '127.0.2.1',
      asn: 64512,
      port: 11180,
      peers: [{ name: 'to-b', address: '127.0.2.2', asn: 4200000001, passive: aPassive }],
      originate: [
        { prefix: '10.96.0.0/12', communities: ['64512:100', 'GRACEFUL_SHUTDOWN'], largeCommunities: ['64512:1:1'] },
        { prefix: 'fd00:10:96::/112', largeCommunities: ['64512:1:6'] },
      ],
    });
    const b = await startNode({
      name: 'b',
      address: '127.0.2.2',
      asn: 4200000001,
      port: 11180,
      peers: [{ name: 'to-a', address: '127.0.2.1', asn: 64512, passive: bPassive }],
      originate: [{ prefix: '198.51.100.0/24', communities: ['65000:200'] }],
    });
    await until(() => stateOf(a, '127.0.2.2') === 'Established' && stateOf(b, '127.0.2.1') === 'Established', 10000, 'both Established');
    await until(() => b.received('127.0.2.1').length === 2 && a.received('127.0.2.2').length === 1, 5000, 'routes');
    const atB = b
      .received('127.0.2.1')
      .map((r) => ({
        prefix: formatPrefix(r.prefix),
        nextHop: r.nextHop,
        asPath: r.attributes.asPath,
        localPref: r.attributes.localPref,
        communities: r.attributes.communities?.map(formatCommunity),
        large: r.attributes.largeCommunities?.map(formatLargeCommunity),
      }))
      .sort((x, y) => x.prefix.localeCompare(y.prefix));
    expect(atB).toEqual([
      { prefix: '10.96.0.0/12', nextHop: '127.0.2.1', asPath: [{ type: 2, asns: [64512] }], localPref: undefined, communities: ['64512:100', 'GRACEFUL_SHUTDOWN'], large: ['64512:1:1'] },
      { prefix: 'fd00:10:96::/112', nextHop: '::ffff:127.0.2.1', asPath: [{ type: 2, asns: [64512] }], localPref: undefined, communities: undefined, large: ['64512:1:6'] },
    ]);
    const atA = a.received('127.0.2.2')[0];
    expect(atA && formatPrefix(atA.prefix)).toBe('198.51.100.0/24');
    expect(atA?.attributes.asPath).toEqual([{ type: 2, asns: [4200000001] }]);
    expect(a.status()[0]?.negotiated?.fourOctetAs).toBe(true);
  });

  it('sends only the difference when the origination changes: withdrawals, new and changed routes', async () => {
    const a = await startNode({
      name: 'a',
      address: '127.0.2.5',
      asn: 64512,
      port: 11183,
      peers: [{ name: 'to-b', address: '127.0.2.6', asn: 65001 }],
      originate: [{ prefix: '10.0.1.0/24' }, { prefix: '10.0.2.0/24' }, { prefix: 'fd00::/64' }],
    });
    const b = await startNode({ name: 'b', address: '127.0.2.6', asn: 65001, port: 11183, peers: [{ name: 'to-a', address: '127.0.2.5', asn: 64512 }] });
    await until(() => b.received('127.0.2.5').length === 3, 10000, 'three routes');
    a.setOriginated([
      { prefix: parsePrefix('10.0.1.0/24'), communities: [parseCommunity('64512:7')], largeCommunities: [] },
      { prefix: parsePrefix('10.0.3.0/24'), communities: [], largeCommunities: [] },
    ]);
    const view = (): string[] =>
      b
        .received('127.0.2.5')
        .map((r) => `${formatPrefix(r.prefix)} ${(r.attributes.communities ?? []).map(formatCommunity).join(',')}`.trim())
        .sort();
    await until(() => view().join('|') === '10.0.1.0/24 64512:7|10.0.3.0/24', 5000, 'the new set');
    expect(view()).toEqual(['10.0.1.0/24 64512:7', '10.0.3.0/24']);
  });

  it('runs a session over IPv6 (::1) carrying IPv4 and IPv6 routes', async () => {
    const v6 = (name: string, id: string, port: number, peerPort: number, peerAs: number, asn: number, prefix: string): string =>
      [
        `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${asn}, listenPort: ${port}}`,
        `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: ${id}/32, ipv6Address: "::1/128"}}`,
        `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: other}\nspec: {peerIP: "[::1]:${peerPort}", asNumber: ${peerAs}}`,
        `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: ${name}}\nspec: {nodeName: ${name}, listenAddress: "::1", timers: {connectDelay: 0.1s, connectRetryTime: 0.5s}, originate: [{prefix: "${prefix}"}, {prefix: "fd00:${asn.toString(16)}::/64"}]}`,
      ].join('\n---\n');
    const a = new Daemon(loadConfig(v6('a', '127.0.2.7', 11185, 11186, 65002, 65001, '10.0.7.0/24'), 'a'), { logger });
    const b = new Daemon(loadConfig(v6('b', '127.0.2.8', 11186, 11185, 65001, 65002, '10.0.8.0/24'), 'b'), { logger });
    running.push(a, b);
    await a.start();
    await b.start();
    await until(() => a.received('::1').length === 2 && b.received('::1').length === 2, 10000, 'routes over IPv6');
    const atA = a.received('::1').map((r) => `${formatPrefix(r.prefix)} via ${r.nextHop}`).sort();
    expect(atA).toEqual(['10.0.8.0/24 via 127.0.2.8', 'fd00:fdea::/64 via ::1']);
  });

  it('says which listener could not bind and why', async () => {
    await startNode({ name: 'a', address: '127.0.2.7', asn: 64512, port: 11184, peers: [] });
    const second = new Daemon(loadConfig(yaml({ name: 'b', address: '127.0.2.7', asn: 64512, port: 11184, peers: [] }), 'b'), { logger });
    await expect(second.start()).rejects.toThrow('cannot listen on 127.0.2.7 port 11184: the port is in use');
    await second.stop();
  });

  it('settles two simultaneous connections on exactly one session', async () => {
    const a = await startNode({ name: 'a', address: '127.0.2.3', asn: 64512, port: 11181, peers: [{ name: 'to-b', address: '127.0.2.4', asn: 64512 }] });
    const b = await startNode({ name: 'b', address: '127.0.2.4', asn: 64512, port: 11181, peers: [{ name: 'to-a', address: '127.0.2.3', asn: 64512 }] });
    await until(() => stateOf(a, '127.0.2.4') === 'Established' && stateOf(b, '127.0.2.3') === 'Established', 10000, 'Established');
    const since = [a.status()[0]?.since, b.status()[0]?.since];
    // Long enough for a second connection to have come up and been resolved, or to flap.
    await new Promise((r) => setTimeout(r, 1500));
    expect([stateOf(a, '127.0.2.4'), stateOf(b, '127.0.2.3')]).toEqual(['Established', 'Established']);
    expect([a.status()[0]?.since, b.status()[0]?.since]).toEqual(since);
    // Both sides agree on which TCP connection survived: the one 127.0.2.4 (the higher identifier) opened.
    expect(a.session('127.0.2.4')?.localAddress).toBe('127.0.2.3');
  });
});

describe('kbgp against a raw peer', () => {
  /** kbgp on 127.0.2.10 with the raw peer 127.0.2.11 (AS 65001, `raw` overrides its settings). */
  const kbgp = (
    extraPeers: NodeSpec['peers'] = [],
    o: { raw?: Partial<NodeSpec['peers'][number]>; originate?: NodeSpec['originate']; gracefulRestart?: string; waitForOrigination?: boolean; extraDocs?: string[] } = {},
  ): Promise<Daemon> =>
    startNode(
      {
        name: 'k',
        address: '127.0.2.10',
        asn: 64512,
        port: 11182,
        peers: [{ name: 'raw', address: '127.0.2.11', asn: 65001, passive: true, ...o.raw }, ...extraPeers],
        ...(o.originate === undefined ? {} : { originate: o.originate }),
        ...(o.gracefulRestart === undefined ? {} : { gracefulRestart: o.gracefulRestart }),
        ...(o.extraDocs === undefined ? {} : { extraDocs: o.extraDocs }),
      },
      o.waitForOrigination,
    );

  async function established(d: Daemon, from = '127.0.2.11', asn = 65001): Promise<RawPeer> {
    const p = await RawPeer.connect('127.0.2.10', 11182, from);
    peers.push(p);
    p.open(asn, from);
    await p.waitFor(isType(MessageType.Open));
    await until(() => stateOf(d, from) === 'Established', 5000, 'Established');
    return p;
  }

  it('passes routes from one peer to another (AS prepended, next hop self), never back to the sender, and withdraws them when the sender goes', async () => {
    const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }]);
    const a = await established(d);
    a.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
    await until(() => d.received('127.0.2.11').length === 2, 2000, 'routes from A');
    const b = await established(d, '127.0.2.12', 65002);
    const announced = (): string[] =>
      b.received.flatMap((m) => (m.type === MessageType.Update ? m.nlri.map((p) => `${formatPrefix(p)} ${m.attributes.nextHop} ${JSON.stringify(m.attributes.asPath)}`) : []));
    await until(() => announced().length === 2, 3000, 'routes at B');
    expect(announced().sort()).toEqual([
      `10.1.1.0/24 127.0.2.10 ${JSON.stringify([{ type: 2, asns: [64512, 65001] }])}`,
      `10.1.2.0/24 127.0.2.10 ${JSON.stringify([{ type: 2, asns: [64512, 65001] }])}`,
    ]);
    // A hears nothing of its own routes: only End-of-RIB markers.
    await new Promise((r) => setTimeout(r, 200));
    expect(a.received.filter((m) => m.type === MessageType.Update && (m.nlri.length > 0 || m.mpReach !== undefined))).toEqual([]);
    expect(d.routes().map((e) => [formatPrefix(e.prefix), e.paths.map((x) => [x.from, x.best])])).toEqual([
      ['10.1.1.0/24', [['127.0.2.11', true]]],
      ['10.1.2.0/24', [['127.0.2.11', true]]],
    ]);
    a.close();
    const withdrawn = (): string[] => b.received.flatMap((m) => (m.type === MessageType.Update ? m.withdrawnRoutes.map(formatPrefix) : []));
    await until(() => withdrawn().length === 2, 3000, 'withdrawals at B');
    expect(withdrawn().sort()).toEqual(['10.1.1.0/24', '10.1.2.0/24']);
    expect(d.routes()).toEqual([]);
  });

  it('stops a peer past its maximum prefixes with Cease / Maximum Number of Prefixes Reached (family and limit in the data), then takes it back after the restart time', async () => {
    const d = await kbgp([], { raw: { maxPrefixes: '{limit: 2, restartAfter: 0.5s}' } });
    const p = await established(d);
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
    await until(() => d.received('127.0.2.11').length === 2, 2000, 'two routes, at the limit');
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 3] }));
    const n = await p.waitFor(isType(MessageType.Notification));
    // RFC 4486 §4: AFI 1, SAFI 1, the upper bound 2.
    expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([6, 1, '00010100000002']);
    await until(() => stateOf(d, '127.0.2.11') === 'Idle', 2000, 'Idle');
    expect(d.routes()).toEqual([]);
    // Refused while stopped; accepted again after the restart time.
    const early = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
    peers.push(early);
    await early.waitClosed();
    await until(() => stateOf(d, '127.0.2.11') === 'Active', 3000, 'started again');
    await established(d);
  });

  it('with warningOnly keeps a peer past its maximum prefixes, and all its routes', async () => {
    const d = await kbgp([], { raw: { maxPrefixes: '{limit: 1, warningOnly: true}' } });
    const p = await established(d);
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2, 24, 10, 1, 3] }));
    await until(() => d.received('127.0.2.11').length === 3, 2000, 'three routes');
    await new Promise((r) => setTimeout(r, 200));
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
    expect(p.received.filter((m) => m.type === MessageType.Notification)).toEqual([]);
  });

  it('answers ROUTE-REFRESH between BoRR and EoRR, and sweeps what a peer did not re-send between its own BoRR and EoRR (RFC 7313)', async () => {
    const d = await kbgp([], { originate: [{ prefix: '10.96.0.0/12' }] });
    const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
    peers.push(p);
    p.send(buildOpen(65001, '127.0.2.11', 90, { families: [{ afi: 1, safi: 1 }], routeRefresh: true, enhancedRouteRefresh: true }));
    p.send({ type: MessageType.Keepalive });
    await until(() => stateOf(d, '127.0.2.11') === 'Established', 5000, 'Established');
    expect(d.session('127.0.2.11')?.negotiated?.enhancedRouteRefresh).toBe(true);
    await p.waitFor((m): m is UpdateMessage => m.type === MessageType.Update && m.nlri.length === 1);
    // Our table again, marked.
    p.received.splice(0);
    p.send({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0 });
    await until(() => p.received.some((m) => m.type === MessageType.RouteRefresh && m.subtype === 2), 3000, 'EoRR');
    expect(
      p.received.filter((m) => m.type !== MessageType.Keepalive).map((m) => (m.type === MessageType.RouteRefresh ? `refresh ${m.subtype}` : m.type === MessageType.Update ? `update ${m.nlri.map(formatPrefix).join(' ')}` : `type ${m.type}`)),
    ).toEqual(['refresh 1', 'update 10.96.0.0/12', 'refresh 2']);
    // The peer's refresh: two routes, then BoRR, one of them again, EoRR: the other goes.
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
    await until(() => d.received('127.0.2.11').length === 2, 2000, 'two routes');
    p.send({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 1 });
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 2] }));
    p.send({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 2 });
    await until(() => d.received('127.0.2.11').length === 1, 2000, 'the stale route swept');
    expect(d.received('127.0.2.11').map((r) => formatPrefix(r.prefix))).toEqual(['10.1.2.0/24']);
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
  });

  it('drains a peer (RFC 8326): its routes again with GRACEFUL_SHUTDOWN, then Cease / Administrative Shutdown with the reason; other peers untouched', async () => {
    const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 64512, passive: true }], { originate: [{ prefix: '10.96.0.0/12', communities: ['64512:100'] }] });
    const a = await established(d);
    const b = await established(d, '127.0.2.12', 64512);
    const announcements = (p: RawPeer): UpdateMessage[] => p.received.filter((m): m is UpdateMessage => m.type === MessageType.Update && m.nlri.length > 0);
    await until(() => announcements(a).length === 1 && announcements(b).length === 1, 3000, 'the route at both');
    const drained = d.drain('127.0.2.11', 0.5, 'node maintenance');
    await until(() => announcements(a).length === 2, 3000, 'the route again at the drained peer');
    expect(announcements(a)[1]?.attributes.communities?.map(formatCommunity)).toEqual(['64512:100', 'GRACEFUL_SHUTDOWN']);
    expect(announcements(a)[1]?.attributes.localPref).toBeUndefined();
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
    await drained;
    const n = await a.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode, n.shutdownCommunication]).toEqual([6, 2, 'node maintenance']);
    // The other peer heard nothing new and is still up.
    expect(announcements(b)).toHaveLength(1);
    expect(announcements(b)[0]?.attributes.communities?.map(formatCommunity)).toEqual(['64512:100']);
    expect(stateOf(d, '127.0.2.12')).toBe('Established');
  });

  it('asks a peer for its routes again (RFC 2918) in each family it agreed to refresh', async () => {
    const d = await kbgp();
    const a = await established(d);
    expect(d.requestRefresh('127.0.2.11')).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    await until(() => a.received.filter((m) => m.type === MessageType.RouteRefresh).length === 2, 2000, 'two ROUTE-REFRESH');
    expect(a.received.filter((m) => m.type === MessageType.RouteRefresh).map((m) => (m.type === MessageType.RouteRefresh ? [m.afi, m.safi, m.subtype] : []))).toEqual([
      [1, 1, 0],
      [2, 1, 0],
    ]);
    expect(() => d.requestRefresh('192.0.2.99')).toThrow('no peer 192.0.2.99');
  });

  describe('configuration reload', () => {
    const spec = (peers: NodeSpec['peers'], extra: Partial<NodeSpec> = {}): NodeSpec => ({ name: 'k', address: '127.0.2.10', asn: 64512, port: 11182, peers, ...extra });
    const raw = { name: 'raw', address: '127.0.2.11', asn: 65001, passive: true };
    const raw2 = { name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true };
    const notifications = (p: RawPeer): [number, number][] => p.received.flatMap((m) => (m.type === MessageType.Notification ? [[m.code, m.subcode] as [number, number]] : []));

    it('touches only what changed: a peer added starts, a changed AS resets that session alone, a removed peer gets Peer De-configured', async () => {
      const d = await startNode(spec([raw, raw2], { originate: [{ prefix: '10.9.0.0/24' }] }));
      const a = await established(d);
      const b = await established(d, '127.0.2.12', 65002);
      const since = (addr: string): number | undefined => d.session(addr)?.since;
      // Added: a third peer; and a new originated prefix, sent by difference.
      const added = d.reconfigure(loadConfig(yaml(spec([raw, raw2, { name: 'raw3', address: '127.0.2.13', asn: 65003, passive: true }], { originate: [{ prefix: '10.9.0.0/24' }, { prefix: '10.9.1.0/24' }] })), 'k'));
      expect(added).toEqual({ added: ['127.0.2.13'], removed: [], reset: [], updated: [] });
      const c = await established(d, '127.0.2.13', 65003);
      await until(() => a.received.some((m) => m.type === MessageType.Update && m.nlri.some((p) => formatPrefix(p) === '10.9.1.0/24')), 3000, 'the new prefix at A');
      // B's AS changes: B alone is reset, with Other Configuration Change.
      const changed = d.reconfigure(loadConfig(yaml(spec([raw, { ...raw2, asn: 65020 }, { name: 'raw3', address: '127.0.2.13', asn: 65003, passive: true }], { originate: [{ prefix: '10.9.0.0/24' }, { prefix: '10.9.1.0/24' }] })), 'k'));
      expect(changed.reset).toEqual(['127.0.2.12']);
      await until(() => notifications(b).length === 1, 3000, 'B told');
      expect(notifications(b)).toEqual([[6, 6]]);
      expect(d.status().find((p) => p.address === '127.0.2.12')?.peerAs).toBe(65020);
      // A removed: Peer De-configured; C untouched throughout.
      const cSince = since('127.0.2.13');
      const removed = d.reconfigure(loadConfig(yaml(spec([{ ...raw2, asn: 65020 }, { name: 'raw3', address: '127.0.2.13', asn: 65003, passive: true }], { originate: [{ prefix: '10.9.0.0/24' }, { prefix: '10.9.1.0/24' }] })), 'k'));
      expect(removed.removed).toEqual(['127.0.2.11']);
      await until(() => notifications(a).length === 1, 3000, 'A told');
      expect(notifications(a)).toEqual([[6, 3]]);
      expect(d.status().map((p) => p.address)).toEqual(['127.0.2.12', '127.0.2.13']);
      expect(since('127.0.2.13')).toBe(cSince);
      expect(c.closed).toBe(false);
    });

    it('resets a session whose parameters changed through a global timer or the ADD-PATH mode, and no other; the same file again changes nothing', async () => {
      const d = await startNode(spec([raw, raw2]));
      const a = await established(d);
      const b = await established(d, '127.0.2.12', 65002);
      // KbgpConfiguration timers.holdTime feeds every session's OPEN.
      expect(d.reconfigure(loadConfig(yaml(spec([raw, raw2], { holdTime: '30s' })), 'k'))).toEqual({ added: [], removed: [], reset: ['127.0.2.11', '127.0.2.12'], updated: [] });
      await until(() => notifications(a).length === 1 && notifications(b).length === 1, 3000, 'both told');
      expect([...notifications(a), ...notifications(b)]).toEqual([[6, 6], [6, 6]]);
      const a2 = await established(d);
      const b2 = await established(d, '127.0.2.12', 65002);
      const openFromKbgp = a2.received.find((m) => m.type === MessageType.Open);
      expect(openFromKbgp?.type === MessageType.Open ? openFromKbgp.holdTime : undefined).toBe(30);
      // B's ADD-PATH mode alone: Both to Receive.
      expect(d.reconfigure(loadConfig(yaml(spec([raw, { ...raw2, addPath: 'Receive' }], { holdTime: '30s' })), 'k'))).toEqual({ added: [], removed: [], reset: ['127.0.2.12'], updated: [] });
      await until(() => notifications(b2).length === 1, 3000, 'B told');
      await established(d, '127.0.2.12', 65002);
      expect(d.reconfigure(loadConfig(yaml(spec([raw, { ...raw2, addPath: 'Receive' }], { holdTime: '30s' })), 'k'))).toEqual({ added: [], removed: [], reset: [], updated: [] });
      expect(a2.closed).toBe(false);
      expect(notifications(a2)).toEqual([]);
    });

    it('refuses what needs a restart, naming it, and keeps the configuration in force', async () => {
      const d = await startNode(spec([raw]));
      const a = await established(d);
      const before = d.config;
      expect(() => d.reconfigure(loadConfig(yaml(spec([raw], { asn: 64999 })), 'k'))).toThrow('these change only with a restart of kbgp: asNumber; the configuration in force is kept');
      expect(d.config).toBe(before);
      await new Promise((r) => setTimeout(r, 200));
      expect(a.closed).toBe(false);
      expect(notifications(a)).toEqual([]);
    });
  });

  describe('BGPFilter', () => {
    const withdrawnAt = (p: RawPeer): string[] => p.received.flatMap((m) => (m.type === MessageType.Update ? m.withdrawnRoutes.map(formatPrefix) : []));
    const announcedAt = (p: RawPeer): string[] => p.received.flatMap((m) => (m.type === MessageType.Update ? m.nlri.map(formatPrefix) : []));

    it('applies a BGPPeer\'s filters from the configuration, import and export', async () => {
      const f = 'apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{cidr: 10.1.2.0/24, matchOperator: Equal, action: Reject}], exportV4: [{cidr: 10.9.0.0/16, matchOperator: In, action: Reject}]}';
      const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true, filters: ['f'] }], { raw: { filters: ['f'] }, extraDocs: [f], originate: [{ prefix: '10.9.1.0/24' }, { prefix: '10.8.1.0/24' }] });
      const a = await established(d);
      a.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
      await until(() => d.received('127.0.2.11').length === 2, 2000, 'routes from A');
      expect(d.received('127.0.2.11').map((r) => [formatPrefix(r.prefix), r.ineligible])).toEqual([['10.1.1.0/24', undefined], ['10.1.2.0/24', 'filtered']]);
      const b = await established(d, '127.0.2.12', 65002);
      await until(() => announcedAt(b).length >= 2, 3000, 'routes at B');
      await new Promise((r) => setTimeout(r, 200));
      expect(announcedAt(b).sort()).toEqual(['10.1.1.0/24', '10.8.1.0/24']);
    });

    it('changes filters without a session reset: the other peer is told only the difference', async () => {
      const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }]);
      const a = await established(d);
      a.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
      const b = await established(d, '127.0.2.12', 65002);
      await until(() => announcedAt(b).length === 2, 3000, 'both routes at B');
      const since = [d.session('127.0.2.11')?.since, d.session('127.0.2.12')?.since];
      const rule = (cidr: string, action: 'Accept' | 'Reject'): FilterRule => ({ cidr: parsePrefix(cidr), matchOperator: 'Equal', action });
      d.setFilters('127.0.2.11', [{ name: 'in', importV4: [rule('10.1.2.0/24', 'Reject')], exportV4: [], importV6: [], exportV6: [] }]);
      await until(() => withdrawnAt(b).length === 1, 3000, 'the withdrawal at B');
      expect(withdrawnAt(b)).toEqual(['10.1.2.0/24']);
      d.setFilters('127.0.2.12', [{ name: 'out', importV4: [], exportV4: [rule('10.1.1.0/24', 'Reject')], importV6: [], exportV6: [] }]);
      await until(() => withdrawnAt(b).length === 2, 3000, 'the second withdrawal at B');
      d.setFilters('127.0.2.11', []);
      await until(() => announcedAt(b).length === 3, 3000, '10.1.2.0/24 back at B');
      await new Promise((r) => setTimeout(r, 200));
      expect({ withdrawn: withdrawnAt(b), announced: announcedAt(b) }).toEqual({ withdrawn: ['10.1.2.0/24', '10.1.1.0/24'], announced: ['10.1.1.0/24', '10.1.2.0/24', '10.1.2.0/24'] });
      expect([d.session('127.0.2.11')?.since, d.session('127.0.2.12')?.since]).toEqual(since);
      expect(a.closed || b.closed).toBe(false);
    });
  });

  it('announces the service ranges and never takes a route inside one from a peer, whatever its filters say', async () => {
    const svc = 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64512, listenPort: 11182, serviceClusterIPs: [{cidr: 10.96.0.0/12}], serviceExternalIPs: [{cidr: 203.0.113.0/24}]}';
    const accept = 'apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: all}\nspec: {importV4: [{cidr: 10.96.0.0/12, matchOperator: In, action: Accept}]}';
    const yamlText = yaml({ name: 'k', address: '127.0.2.10', asn: 64512, port: 11182, peers: [{ name: 'raw', address: '127.0.2.11', asn: 65001, passive: true, filters: ['all'] }, { name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }], extraDocs: [accept] })
      .split('\n---\n')
      .map((d) => (d.includes('kind: BGPConfiguration') ? svc : d))
      .join('\n---\n');
    const d = new Daemon(loadConfig(yamlText, 'k'), { logger });
    running.push(d);
    await d.start();
    const a = await established(d);
    await until(() => a.received.some((m) => m.type === MessageType.Update && m.nlri.length > 0), 3000, 'the service ranges at A');
    const toA = a.received.flatMap((m) => (m.type === MessageType.Update ? m.nlri.map(formatPrefix) : [])).sort();
    expect(toA).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
    // Another node's /32 of a cluster IP, and an ordinary route.
    a.send(update({ attrs: [...MANDATORY_4], nlri: [32, 10, 96, 0, 10, 24, 10, 1, 1] }));
    await until(() => d.received('127.0.2.11').length === 2, 2000, 'both routes in Adj-RIB-In');
    expect(d.received('127.0.2.11').map((r) => [formatPrefix(r.prefix), r.ineligible])).toEqual([['10.1.1.0/24', undefined], ['10.96.0.10/32', 'service-cidr']]);
    const b = await established(d, '127.0.2.12', 65002);
    await until(() => b.received.some((m) => m.type === MessageType.Update && m.nlri.some((p) => formatPrefix(p) === '10.1.1.0/24')), 3000, 'the ordinary route at B');
    expect(b.received.flatMap((m) => (m.type === MessageType.Update ? m.nlri.map(formatPrefix) : [])).sort()).toEqual(['10.1.1.0/24', '10.96.0.0/12', '203.0.113.0/24']);
  });

  it('as a route reflector, passes its clients\' routes inside the service ranges on', async () => {
    const svc = 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64512, listenPort: 11182, serviceClusterIPs: [{cidr: 10.96.0.0/12}]}';
    const text = yaml({ name: 'k', address: '127.0.2.10', asn: 64512, port: 11182, clusterId: '10.0.0.1', peers: [{ name: 'raw', address: '127.0.2.11', asn: 64512, passive: true }, { name: 'raw2', address: '127.0.2.12', asn: 64512, passive: true }] })
      .split('\n---\n')
      .map((d) => (d.includes('kind: BGPConfiguration') ? svc : d))
      .join('\n---\n');
    const d = new Daemon(loadConfig(text, 'k'), { logger });
    running.push(d);
    await d.start();
    const a = await established(d, '127.0.2.11', 64512);
    a.send(update({ attrs: [...MANDATORY_4, ...attr(0x40, 5, u32(100))], nlri: [32, 10, 96, 0, 10] }));
    await until(() => d.received('127.0.2.11').length === 1, 2000, 'the client\'s /32');
    expect(d.received('127.0.2.11')[0]?.ineligible).toBeUndefined();
    const b = await established(d, '127.0.2.12', 64512);
    await until(() => b.received.some((m) => m.type === MessageType.Update && m.nlri.some((p) => formatPrefix(p) === '10.96.0.10/32')), 3000, 'the /32 reflected to the other client');
  });

  describe('graceful restart, kbgp restarting (RFC 4724 §4.1)', { timeout: 15_000 }, () => {
    const endOfRibs = (p: RawPeer): number => p.received.filter((m) => m.type === MessageType.Update && m.endOfRib !== undefined).length;
    const announcedTo = (p: RawPeer): string[] => p.received.flatMap((m) => (m.type === MessageType.Update ? [...m.nlri, ...(m.mpReach?.nlri ?? [])].map(formatPrefix) : []));
    const grOf = (o: { capabilities: readonly { kind: string }[] }): unknown => o.capabilities.find((c) => c.kind === 'graceful-restart');

    it('says it is restarting, keeps forwarding state, sends its routes at once and End-of-RIB only once its origination is complete', async () => {
      const d = await kbgp([], { originate: [{ prefix: '10.9.0.0/24' }], waitForOrigination: true });
      const a = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
      peers.push(a);
      a.open(65001, '127.0.2.11');
      const ours = await a.waitFor(isType(MessageType.Open));
      expect(grOf(ours)).toEqual({
        kind: 'graceful-restart',
        restarting: true,
        notification: true,
        restartTime: 120,
        families: [{ afi: 1, safi: 1, forwardingState: true }, { afi: 2, safi: 1, forwardingState: true }],
      });
      await until(() => announcedTo(a).includes('10.9.0.0/24'), 3000, 'the static route');
      // The watcher's routes arrive while End-of-RIB waits for it.
      d.setOriginated([{ prefix: parsePrefix('10.9.1.1/32'), communities: [], largeCommunities: [] }], 'services');
      await until(() => announcedTo(a).includes('10.9.1.1/32'), 3000, 'the service route');
      await new Promise((r) => setTimeout(r, 300));
      expect(endOfRibs(a)).toBe(0);
      d.originationComplete();
      await until(() => endOfRibs(a) === 2, 3000, 'End-of-RIB for both families');
      // The restart is over: the next session's OPEN no longer says restarting.
      a.close();
      await until(() => stateOf(d, '127.0.2.11') === 'Active', 3000, 'Active again');
      const again = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
      peers.push(again);
      again.open(65001, '127.0.2.11');
      const next = await again.waitFor(isType(MessageType.Open));
      expect(grOf(next)).toMatchObject({ restarting: false, restartTime: 120 });
      await until(() => endOfRibs(again) === 2, 3000, 'End-of-RIB at once');
    });

    it('waits for the End-of-RIB of every peer with graceful restart before its own', async () => {
      // A deferral time far beyond the waits below: End-of-RIB within them can only be B's doing.
      const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }], { gracefulRestart: '{selectionDeferralTime: 30s}' });
      const grOpen = (asn: number, id: string): Buffer =>
        encodeMessage(buildOpen(asn, id, 90, { families: [{ afi: 1, safi: 1 }], gracefulRestart: { restartTime: 60, restarting: false, notification: true, forwardingState: true } }));
      const a = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
      peers.push(a);
      a.send(grOpen(65001, '127.0.2.11'));
      a.send({ type: MessageType.Keepalive });
      await until(() => stateOf(d, '127.0.2.11') === 'Established', 3000, 'A Established');
      a.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1] }));
      a.send(update({}));
      // A's table is in, but B (configured, with graceful restart once up) has said nothing.
      const b = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.12');
      peers.push(b);
      b.send(grOpen(65002, '127.0.2.12'));
      b.send({ type: MessageType.Keepalive });
      await until(() => stateOf(d, '127.0.2.12') === 'Established', 3000, 'B Established');
      await until(() => announcedTo(b).includes('10.1.1.0/24'), 3000, 'A\'s route at B before any End-of-RIB');
      await new Promise((r) => setTimeout(r, 300));
      expect([endOfRibs(a), endOfRibs(b)]).toEqual([0, 0]);
      // B's End-of-RIB completes the wait.
      b.send(update({}));
      await until(() => endOfRibs(a) === 1 && endOfRibs(b) === 1, 3000, 'End-of-RIB to both');
    });

    it('sends End-of-RIB after the selection deferral time when a peer never comes', async () => {
      // Taken before the daemon starts, as its deferral timer does: the timer cannot have begun earlier.
      const started = Date.now();
      const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }], { gracefulRestart: '{selectionDeferralTime: 1s}' });
      const a = await established(d);
      await new Promise((r) => setTimeout(r, 500));
      expect(endOfRibs(a)).toBe(0);
      await until(() => endOfRibs(a) === 2, 3000, 'End-of-RIB after the deferral time');
      // Less a few ms: Node runs a timer by its loop's cached time, which Date.now() can be ahead of.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000 - 5);
    });
  });

  describe('graceful restart, kbgp as helper (RFC 4724)', { timeout: 15_000 }, () => {
    /** kbgp's BGPPeer for A sets maxRestartTime, so both announce graceful restart. */
    const grOpen = (restarting: boolean): Buffer =>
      encodeMessage(buildOpen(65001, '127.0.2.11', 90, { families: [{ afi: 1, safi: 1 }], gracefulRestart: { restartTime: 3, restarting, notification: true, forwardingState: true } }));

    async function connectA(d: Daemon, restarting: boolean): Promise<RawPeer> {
      const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
      peers.push(p);
      p.send(grOpen(restarting));
      p.send({ type: MessageType.Keepalive });
      await until(() => stateOf(d, '127.0.2.11') === 'Established', 5000, 'A Established');
      return p;
    }

    /** A (restart time 3 s, forwarding state kept for IPv4) with two routes; B, plain eBGP, watching. */
    async function setup(): Promise<{ d: Daemon; a: RawPeer; b: RawPeer }> {
      const d = await kbgp([{ name: 'raw2', address: '127.0.2.12', asn: 65002, passive: true }], { raw: { maxRestartTime: '1s' } });
      const a = await connectA(d, false);
      expect(d.session('127.0.2.11')?.negotiated?.gracefulRestart?.restartTime).toBe(3);
      const b = await established(d, '127.0.2.12', 65002);
      a.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1, 24, 10, 1, 2] }));
      await until(() => b.received.some((m) => m.type === MessageType.Update && m.nlri.length === 2), 3000, 'both routes at B');
      return { d, a, b };
    }
    const withdrawnAt = (p: RawPeer): string[] => p.received.flatMap((m) => (m.type === MessageType.Update ? m.withdrawnRoutes.map(formatPrefix) : []));

    it('keeps the routes of a peer whose connection drops, then sweeps only what it did not send again before its End-of-RIB', async () => {
      const { d, a, b } = await setup();
      a.close();
      await until(() => stateOf(d, '127.0.2.11') !== 'Established', 3000, 'A down');
      await new Promise((r) => setTimeout(r, 300));
      expect(d.routes().map((e) => formatPrefix(e.prefix))).toEqual(['10.1.1.0/24', '10.1.2.0/24']);
      expect(d.received('127.0.2.11').map((r) => [formatPrefix(r.prefix), r.stale])).toEqual([['10.1.1.0/24', true], ['10.1.2.0/24', true]]);
      expect(withdrawnAt(b)).toEqual([]);
      // Back, restarted: one route again, then End-of-RIB.
      // kbgp takes connections again after its error wait.
      await until(() => stateOf(d, '127.0.2.11') === 'Active', 3000, 'Active again');
      const again = await connectA(d, true);
      again.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1] }));
      await until(() => d.received('127.0.2.11').some((r) => r.stale === undefined), 3000, 'the route sent again');
      expect(d.received('127.0.2.11').map((r) => [formatPrefix(r.prefix), r.stale])).toEqual([['10.1.1.0/24', undefined], ['10.1.2.0/24', true]]);
      again.send(update({}));
      await until(() => withdrawnAt(b).length === 1, 3000, 'the stale route withdrawn at B');
      expect(withdrawnAt(b)).toEqual(['10.1.2.0/24']);
      expect(d.received('127.0.2.11').map((r) => formatPrefix(r.prefix))).toEqual(['10.1.1.0/24']);
    });

    it('gives up after the restart time when the peer does not come back', async () => {
      const { d, a, b } = await setup();
      const dropped = Date.now();
      a.close();
      await new Promise((r) => setTimeout(r, 2_000));
      expect(withdrawnAt(b)).toEqual([]);
      await until(() => withdrawnAt(b).length === 2, 4000, 'both routes withdrawn at B');
      expect(Date.now() - dropped).toBeGreaterThanOrEqual(2_900);
      expect(d.routes()).toEqual([]);
    });

    it('does not keep them after Cease / Hard Reset (RFC 8538)', async () => {
      const { d, a, b } = await setup();
      a.send({ type: MessageType.Notification, code: 6, subcode: 9, data: Buffer.alloc(0) });
      await until(() => withdrawnAt(b).length === 2, 1000, 'both routes withdrawn at once');
      expect(d.routes()).toEqual([]);
    });
  });

  it('closes a connection from an address that is not a configured peer, before any OPEN', async () => {
    await kbgp();
    const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.99');
    peers.push(p);
    await p.waitClosed();
    expect(p.received).toEqual([]);
  });

  it('answers a wrong AS with OPEN Message Error / Bad Peer AS', async () => {
    const d = await kbgp();
    const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
    peers.push(p);
    p.open(65002, '127.0.2.11');
    const n = await p.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([2, 2, 'fdea']);
    await until(() => d.status()[0]?.lastDown?.kind === 'notification-sent', 2000, 'down reason');
  });

  it('treats an UPDATE with a malformed ORIGIN as withdraw and stays up', async () => {
    const d = await kbgp();
    const p = await established(d);
    p.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 1, 1] }));
    await until(() => d.received('127.0.2.11').length === 1, 2000, 'route');
    p.send(update({ attrs: [...attr(0x40, 1, [9]), ...MANDATORY_4.slice(4)], nlri: [24, 10, 1, 1] }));
    await until(() => d.received('127.0.2.11').length === 0, 2000, 'withdrawn');
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
  });

  it.each([
    ['Total Path Attribute Length overruns', update({ attrs: MANDATORY_4 }, { attrLength: 200 }), [3, 1, '']],
    ['NLRI prefix length 33', update({ attrs: MANDATORY_4, nlri: [33, 1, 2, 3, 4, 5] }), [3, 10, '']],
    ['unrecognized well-known attribute', update({ attrs: [...MANDATORY_4, ...attr(0x40, 99, [1])], nlri: [8, 10] }), [3, 2, '40630101']],
    ['bad marker', Buffer.concat([Buffer.alloc(16, 0), Buffer.from([0, 19, 4])]), [1, 1, '']],
    ['unknown message type', Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19, 9])]), [1, 3, '09']],
    ['OPEN after Established', Buffer.from('ffffffffffffffffffffffffffffffff001d0104fde9005a7f00020b00', 'hex'), [5, 3, '']],
    ['COMMUNITIES repeated is fine, MP_REACH twice is not', update({ attrs: [...attr(0x80, 14, [0, 2, 1, 16, ...new Array<number>(16).fill(1), 0]), ...attr(0x80, 14, [0, 2, 1, 16, ...new Array<number>(16).fill(1), 0]), ...MANDATORY_4] }), [3, 1, '']],
  ] as const)('answers %s with the exact NOTIFICATION while another session stays up', async (_name, bytes, [code, subcode, data]) => {
    const d = await kbgp([{ name: 'healthy', address: '127.0.2.12', asn: 65002, passive: true }]);
    const healthy = await established(d, '127.0.2.12', 65002);
    const since = d.status().find((s) => s.address === '127.0.2.12')?.since;
    const p = await established(d);
    p.send(bytes);
    const n = await p.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([code, subcode, data]);
    await p.waitClosed();
    expect(stateOf(d, '127.0.2.11')).not.toBe('Established');
    expect(stateOf(d, '127.0.2.12')).toBe('Established');
    expect(d.status().find((s) => s.address === '127.0.2.12')?.since).toBe(since);
    expect(healthy.closed).toBe(false);
  });

  it.each([
    ['version 3', open({ version: 3, myAs: 65001, id: '127.0.2.11' }), [2, 1, '0004']],
    ['hold time 2', open({ holdTime: 2, myAs: 65001, id: '127.0.2.11' }), [2, 6, '']],
    ['BGP Identifier 0.0.0.0', open({ id: '0.0.0.0', myAs: 65001 }), [2, 3, '']],
    ['an unsupported optional parameter', open({ myAs: 65001, id: '127.0.2.11', params: [1, 2, 0, 0] }), [2, 4, '']],
    ['a malformed 4-octet AS capability', open({ myAs: 65001, id: '127.0.2.11', params: capabilities([65, 0, 0, 1]) }), [2, 0, '']],
    ['a wrong AS in the 4-octet AS capability', open({ myAs: 23456, id: '127.0.2.11', params: capabilities([65, ...u32(4200000009)]) }), [2, 2, '5ba0']],
  ] as const)('answers an OPEN with %s with the exact NOTIFICATION while another session stays up', async (_name, bytes, [code, subcode, data]) => {
    const d = await kbgp([{ name: 'healthy', address: '127.0.2.12', asn: 65002, passive: true }]);
    await established(d, '127.0.2.12', 65002);
    const since = d.status().find((s) => s.address === '127.0.2.12')?.since;
    const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
    peers.push(p);
    p.send(bytes);
    const n = await p.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([code, subcode, data]);
    await p.waitClosed();
    expect(stateOf(d, '127.0.2.12')).toBe('Established');
    expect(d.status().find((s) => s.address === '127.0.2.12')?.since).toBe(since);
  });

  it('detects a silent peer with the hold timer and says so', async () => {
    const d = await startNode({
      name: 'k',
      address: '127.0.2.10',
      asn: 64512,
      port: 11182,
      peers: [{ name: 'raw', address: '127.0.2.11', asn: 65001, passive: true, holdTime: '3s' }],
    });
    const p = await established(d);
    // The raw peer never sends another KEEPALIVE.
    const n = await p.waitFor(isType(MessageType.Notification), 6000);
    expect([n.code, n.subcode]).toEqual([4, 0]);
    expect(d.status()[0]?.lastDown).toEqual({ kind: 'hold-timer-expired' });
  });

  it('sends KEEPALIVEs at a third of the negotiated hold time', async () => {
    const d = await kbgp();
    const p = await RawPeer.connect('127.0.2.10', 11182, '127.0.2.11');
    peers.push(p);
    p.open(65001, '127.0.2.11', 3);
    await until(() => stateOf(d, '127.0.2.11') === 'Established', 3000, 'Established');
    const before = p.received.filter((m) => m.type === MessageType.Keepalive).length;
    const keepalive = setInterval(() => p.send({ type: MessageType.Keepalive }), 900);
    await new Promise((r) => setTimeout(r, 2600));
    clearInterval(keepalive);
    const after = p.received.filter((m) => m.type === MessageType.Keepalive).length;
    // keepalive 1 s with jitter 0.75..1: at least 2 in 2.6 s, and the session is still up.
    expect(after - before).toBeGreaterThanOrEqual(2);
    expect(stateOf(d, '127.0.2.11')).toBe('Established');
  });
});
