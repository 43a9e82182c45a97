/**
 * kbgp's RIB against the real BIRD 2, FRR bgpd (no zebra), GoBGP and ExaBGP: route reflection
 * (RFC 4456) and ADD-PATH (RFC 7911), everything iBGP within one AS per scenario.
 *
 * 1. kbgp reflects between an FRR and a BIRD client, both ways: the other client's CLI shows the
 *    route with ORIGINATOR_ID = the sender's router ID, CLUSTER_LIST = [kbgp's cluster ID], the
 *    sender's next hop, LOCAL_PREF, MED and communities untouched; the sender holds only its own
 *    path and kbgp's Adj-RIB-Out towards it does not hold the prefix. kbgp's own route reaches both
 *    without reflection attributes.
 * 2. kbgp is a client of a BIRD reflector: its route reaches the other client (FRR) with kbgp's
 *    router ID and BIRD's cluster ID; FRR's route reaches kbgp with those BIRD set, is best in the
 *    Loc-RIB, and is not sent back to BIRD (kbgp is no reflector there).
 * 3. Two kbgp reflectors with one cluster ID, an FRR client on both: each has the client's path as
 *    best and the other's reflected copy in its Adj-RIB-In marked "cluster-list-loop", never best
 *    and never passed on; nothing moves for a few seconds (UPDATE counters on every session); a
 *    withdrawal leaves nothing behind at either.
 * 4. kbgp reflects two equal paths (BIRD and ExaBGP clients, own next hops) to FRR and GoBGP over
 *    ADD-PATH: both paths, each with its next hop and kbgp's path identifier. Without ADD-PATH
 *    (kbgp told `addPath: Receive`, or the peer not offering to receive) only the best path goes.
 *
 * Addresses: 127.0.9.0/24 only, one block of ten per scenario (127.0.9.<10n>..); kbgp listens on
 * 11400 + its last octet, the routers on port 179 of their own address. Router IDs (10.9.n.x) and
 * cluster IDs (10.9.255.n) differ from every session address, so that ORIGINATOR_ID and
 * CLUSTER_LIST can only be right for the right reason.
 *
 * Next hops: iBGP keeps the originator's next hop. FRR and BIRD take each other's 127/8 addresses
 * (FRR with allow-martian-nexthop, BIRD shows them unreachable but keeps them); the ADD-PATH
 * scenario's paths carry 192.0.2.x next hops because GoBGP refuses a 127/8 NEXT_HOP attribute.
 * Nothing is installed anywhere: no kernel protocol, zebra or FIB runs.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IPV4_UNICAST, formatLargeCommunity, formatPrefix } from '../../src/bgp/index.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type Kbgp, removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import {
  type RouteSpec,
  type RouterHandle,
  type RouterRoute,
  ROUTER_BINARIES,
  startBird,
  startExabgp,
  startFrr,
  startGobgp,
  stopAllRouters,
  waitFor,
} from '../helpers/routers.js';

const SESSION_TIMEOUT = 20_000;
const ROUTE_TIMEOUT = 15_000;
/** How long "nothing more happens" is watched for. */
const SETTLE_MS = 2_500;

afterEach(async () => {
  await stopAllKbgp();
  await stopAllRouters();
});
afterAll(removeKbgpLogs);

type Frr = Awaited<ReturnType<typeof startFrr>>;
type LocRibEntry = ReturnType<Kbgp['daemon']['routes']>[number];
type Advertised = ReturnType<Kbgp['daemon']['advertised']>[number];

const kbgpPort = (address: string): number => 11400 + Number(address.split('.')[3]);
const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const fmtCommunity = (c: number): string => `${c >>> 16}:${c & 0xffff}`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Views

/** A router's path with the attributes reflection is about; communities sorted. */
function routerView(r: RouterRoute): object {
  return {
    prefix: r.prefix,
    nextHop: r.nextHop,
    asPath: r.asPath,
    origin: r.origin,
    med: r.med,
    localPref: r.localPref,
    communities: sorted(r.communities),
    largeCommunities: sorted(r.largeCommunities),
    originatorId: r.originatorId,
    clusterList: r.clusterList,
    fromPeer: r.fromPeer,
  };
}

/** What a receiver must show of `sent` (iBGP, no AS_PATH), learned from `fromPeer`. */
function expectedRouterView(sent: RouteSpec, fromPeer: string, nextHop: string, reflection?: { originatorId: string; clusterList: string[] }): object {
  return {
    prefix: sent.prefix,
    nextHop,
    asPath: [],
    origin: 'igp',
    med: sent.med,
    localPref: sent.localPref ?? 100,
    communities: sorted(sent.communities ?? []),
    largeCommunities: sorted(sent.largeCommunities ?? []),
    originatorId: reflection?.originatorId,
    clusterList: reflection?.clusterList,
    fromPeer,
  };
}

/** kbgp's attributes with communities as sorted text. */
function attributesView(a: LocRibEntry['paths'][number]['attributes']): { [k: string]: unknown } {
  const { communities, largeCommunities, ...rest } = a;
  return {
    ...rest,
    ...(communities !== undefined ? { communities: sorted(communities.map(fmtCommunity)) } : {}),
    ...(largeCommunities !== undefined ? { largeCommunities: sorted(largeCommunities.map(formatLargeCommunity)) } : {}),
  };
}

/** Every attribute kbgp must hold for `sent` from an iBGP client, as the sender put it on the wire. */
function expectedAttributes(sent: RouteSpec, nextHop: string, reflection?: { originatorId: string; clusterList: string[] }): { [k: string]: unknown } {
  return {
    origin: 0,
    asPath: [],
    nextHop,
    ...(sent.med !== undefined ? { med: sent.med } : {}),
    localPref: sent.localPref ?? 100,
    ...(sent.communities?.length ? { communities: sorted(sent.communities) } : {}),
    ...(sent.largeCommunities?.length ? { largeCommunities: sorted(sent.largeCommunities) } : {}),
    ...(reflection !== undefined ? { originatorId: reflection.originatorId, clusterList: reflection.clusterList } : {}),
  };
}

function entry(k: Kbgp, prefix: string): LocRibEntry | undefined {
  return k.daemon.routes().find((e) => formatPrefix(e.prefix) === prefix);
}

function advertisedTo(k: Kbgp, peer: string, prefix: string): Advertised[] {
  // formatPrefix leaves the ADD-PATH path identifier out.
  return k.daemon.advertised(peer).filter((a) => formatPrefix(a.prefix) === prefix);
}

/** A Loc-RIB path reduced to what the scenarios check. */
function pathView(p: LocRibEntry['paths'][number]): object {
  return { from: p.from, nextHop: p.nextHop, best: p.best, multipath: p.multipath, ineligible: p.ineligible };
}

// ---------------------------------------------------------------------------------------------
// Waits (all bounded), with every party's state in the failure message

function context(ks: readonly Kbgp[], hs: readonly RouterHandle[]): string {
  return ['', ...ks.map((k) => `${k.describe(30)}\nLoc-RIB: ${JSON.stringify(k.daemon.routes().map((e) => ({ prefix: formatPrefix(e.prefix), paths: e.paths.map(pathView) })))}`), ...hs.map((h) => h.logTail(20))].join('\n');
}

async function bothUp(k: Kbgp, h: RouterHandle): Promise<void> {
  await waitFor(async () => (k.status(h.spec.address).state === 'Established' ? true : undefined), SESSION_TIMEOUT, () => `kbgp ${k.spec.name} ↔ ${h.kind} ${h.spec.address} Established${context([k], [h])}`, 50);
  await h.waitEstablished(k.spec.address, SESSION_TIMEOUT);
}

/** The paths to `prefix` that `h` learned from `from`, once `count` of them are there. */
async function pathsAt(h: RouterHandle, from: string, prefix: string, count: number, ctx: () => string): Promise<RouterRoute[]> {
  let seen: RouterRoute[] = [];
  return waitFor(
    async () => {
      seen = (await h.routes('ipv4')).filter((r) => r.prefix === prefix);
      const got = seen.filter((r) => r.fromPeer === from);
      return got.length >= count ? got : undefined;
    },
    ROUTE_TIMEOUT,
    () => `${h.kind} ${h.spec.address} to hold ${count} path(s) to ${prefix} from ${from}; it has ${JSON.stringify(seen)}${ctx()}`,
  );
}

async function untilKbgp<T>(k: Kbgp, probe: () => T | undefined, what: string, ctx: () => string): Promise<T> {
  return waitFor(async () => probe(), ROUTE_TIMEOUT, () => `kbgp ${k.spec.name}: ${what}${ctx()}`, 50);
}

/** FRR's UPDATE counters and session count for one neighbor. */
const frrCounters = (h: Frr, peer: string): ReturnType<Frr['messageStats']> => h.messageStats(peer);

// ---------------------------------------------------------------------------------------------

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird, ...ROUTER_BINARIES.frr) === undefined)('kbgp as route reflector for FRR and BIRD clients', () => {
  it('reflects FRR → BIRD and BIRD → FRR with ORIGINATOR_ID, CLUSTER_LIST and the next hop unchanged, never back to the sender', { timeout: 90_000 }, async () => {
    const asn = 4200000901;
    const clusterId = '10.9.255.1';
    const kAddr = '127.0.9.10';
    const frrAddr = '127.0.9.11';
    const birdAddr = '127.0.9.12';
    const ids = { kbgp: '10.9.1.10', frr: '10.9.1.11', bird: '10.9.1.12' };
    const ours: RouteSpec = { prefix: '10.91.0.0/24', communities: ['65000:910'], largeCommunities: [`${asn}:1:0`] };
    const frrRoute: RouteSpec = { prefix: '10.91.1.0/24', med: 30, localPref: 150, communities: ['65000:911', '65001:1'], largeCommunities: [`${asn}:1:1`] };
    const birdRoute: RouteSpec = { prefix: '10.91.2.0/24', med: 40, localPref: 160, communities: ['65000:912'], largeCommunities: [`${asn}:1:2`, `${asn}:2:2`] };

    const k = await startKbgp({
      name: 'rr-1', address: kAddr, port: kbgpPort(kAddr), asn, routerId: ids.kbgp, ipv4Address: kAddr, clusterId,
      peers: [{ address: frrAddr, port: 179, asn }, { address: birdAddr, port: 179, asn }],
      originate: [ours],
    });
    const frr = await startFrr({ routerId: ids.frr, asn, address: frrAddr, routes: [frrRoute], peers: [{ address: kAddr, port: kbgpPort(kAddr), asn }] });
    const bird = await startBird({ routerId: ids.bird, asn, address: birdAddr, routes: [birdRoute], peers: [{ address: kAddr, port: kbgpPort(kAddr), asn }] });
    const ctx = (): string => context([k], [frr, bird]);
    await bothUp(k, frr);
    await bothUp(k, bird);
    // Calico's rule: iBGP peers that are not Nodes with our cluster ID are clients.
    expect(k.daemon.config.peers.map((p) => [p.address, p.routeReflectorClient])).toEqual([[frrAddr, true], [birdAddr, true]]);

    const reflection = (originatorId: string): { originatorId: string; clusterList: string[] } => ({ originatorId, clusterList: [clusterId] });
    for (const [sender, receiver, sent, senderId] of [
      [frr, bird, frrRoute, ids.frr],
      [bird, frr, birdRoute, ids.bird],
    ] as const) {
      const what = `${sender.kind} → ${receiver.kind}`;
      // The receiver's CLI: the sender's own next hop (its session address), its attributes, and
      // the reflection attributes kbgp added.
      const [got, ...more] = await pathsAt(receiver, kAddr, sent.prefix, 1, ctx);
      expect(routerView(got as RouterRoute), what).toEqual(expectedRouterView(sent, kAddr, sender.spec.address, reflection(senderId)));
      expect(more, `${what}: one path`).toEqual([]);
      // kbgp's own view: learned from the client without reflection attributes, best; sent on to
      // the receiver with them and the next hop untouched.
      const e = await untilKbgp(k, () => entry(k, sent.prefix), `Loc-RIB entry for ${sent.prefix}`, ctx);
      expect(e.paths.map(pathView), what).toEqual([{ from: sender.spec.address, nextHop: sender.spec.address, best: true, multipath: true, ineligible: undefined }]);
      expect(attributesView(e.paths[0]?.attributes ?? {}), what).toEqual(expectedAttributes(sent, sender.spec.address));
      const out = advertisedTo(k, receiver.spec.address, sent.prefix);
      expect(out.map((a) => ({ nextHop: a.nextHop, attributes: attributesView(a.attributes) })), what).toEqual([
        { nextHop: sender.spec.address, attributes: expectedAttributes(sent, sender.spec.address, reflection(senderId)) },
      ]);
    }
    // Time for anything reflected back to arrive (FRR coalesces for ~1 s before it sends).
    await sleep(SETTLE_MS);
    for (const [sender, sent] of [
      [frr, frrRoute],
      [bird, birdRoute],
    ] as const) {
      // Nothing came back: the sender holds only its own (local) path, and kbgp's Adj-RIB-Out
      // towards it does not have the prefix (RFC 4456 §8: not reflected to the originator).
      const own = (await sender.routes('ipv4')).filter((r) => r.prefix === sent.prefix);
      expect(own.map((r) => r.fromPeer), `${sender.kind} holds only its own ${sent.prefix}`).toEqual([undefined]);
      expect(advertisedTo(k, sender.spec.address, sent.prefix), `kbgp's Adj-RIB-Out to ${sender.kind}`).toEqual([]);
    }
    // kbgp's own route: not reflected, so no ORIGINATOR_ID or CLUSTER_LIST; its session address as next hop.
    for (const h of [frr, bird]) {
      const [got] = await pathsAt(h, kAddr, ours.prefix, 1, ctx);
      expect(routerView(got as RouterRoute), `kbgp's own route at ${h.kind}`).toEqual(expectedRouterView(ours, kAddr, kAddr));
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird, ...ROUTER_BINARIES.frr) === undefined)('kbgp as a client of a BIRD route reflector', () => {
  it('its route reaches the other client (FRR) with its router ID and BIRD\'s cluster ID; FRR\'s reaches kbgp as BIRD reflected it', { timeout: 90_000 }, async () => {
    const asn = 4200000902;
    const clusterId = '10.9.255.2';
    const rrAddr = '127.0.9.20';
    const kAddr = '127.0.9.21';
    const frrAddr = '127.0.9.22';
    const ids = { rr: '10.9.2.20', kbgp: '10.9.2.21', frr: '10.9.2.22' };
    const ours: RouteSpec = { prefix: '10.92.0.0/24', communities: ['65000:920'], largeCommunities: [`${asn}:2:0`] };
    const frrRoute: RouteSpec = { prefix: '10.92.2.0/24', med: 30, localPref: 150, communities: ['65000:922'], largeCommunities: [`${asn}:2:2`] };

    const k = await startKbgp({
      name: 'client-2', address: kAddr, port: kbgpPort(kAddr), asn, routerId: ids.kbgp, ipv4Address: kAddr,
      peers: [{ address: rrAddr, port: 179, asn }],
      originate: [ours],
    });
    const rr = await startBird({
      routerId: ids.rr, asn, address: rrAddr, clusterId,
      peers: [{ address: kAddr, port: kbgpPort(kAddr), asn, routeReflectorClient: true }, { address: frrAddr, asn, routeReflectorClient: true }],
    });
    const frr = await startFrr({ routerId: ids.frr, asn, address: frrAddr, routes: [frrRoute], peers: [{ address: rrAddr, asn }] });
    const ctx = (): string => context([k], [rr, frr]);
    await bothUp(k, rr);
    await frr.waitEstablished(rrAddr, SESSION_TIMEOUT);
    expect(k.daemon.config.peers.map((p) => p.routeReflectorClient)).toEqual([false]);

    // kbgp → BIRD → FRR: BIRD holds it as learned, FRR as reflected with kbgp's router ID.
    const [atRr] = await pathsAt(rr, kAddr, ours.prefix, 1, ctx);
    expect(routerView(atRr as RouterRoute)).toEqual(expectedRouterView(ours, kAddr, kAddr));
    const [atFrr, ...moreAtFrr] = await pathsAt(frr, rrAddr, ours.prefix, 1, ctx);
    expect(routerView(atFrr as RouterRoute)).toEqual(expectedRouterView(ours, rrAddr, kAddr, { originatorId: ids.kbgp, clusterList: [clusterId] }));
    expect(moreAtFrr).toEqual([]);

    // FRR → BIRD → kbgp: in the Adj-RIB-In exactly as BIRD sent it, and best in the Loc-RIB.
    const rin = await untilKbgp(k, () => k.received(rrAddr).find((r) => formatPrefix(r.prefix) === frrRoute.prefix), `to receive ${frrRoute.prefix}`, ctx);
    expect({ nextHop: rin.nextHop, ineligible: rin.ineligible, attributes: attributesView(rin.attributes) }).toEqual({
      nextHop: frrAddr,
      ineligible: undefined,
      attributes: expectedAttributes(frrRoute, frrAddr, { originatorId: ids.frr, clusterList: [clusterId] }),
    });
    const e = await untilKbgp(k, () => entry(k, frrRoute.prefix), `Loc-RIB entry for ${frrRoute.prefix}`, ctx);
    expect(e.paths.map(pathView)).toEqual([{ from: rrAddr, nextHop: frrAddr, best: true, multipath: true, ineligible: undefined }]);
    expect(attributesView(e.paths[0]?.attributes ?? {})).toEqual(expectedAttributes(frrRoute, frrAddr, { originatorId: ids.frr, clusterList: [clusterId] }));

    // Not a reflector here: an iBGP-learned route is not sent to an iBGP peer (RFC 4271 §9.2).
    await sleep(SETTLE_MS);
    expect(k.daemon.advertised(rrAddr).map((a) => formatPrefix(a.prefix))).toEqual([ours.prefix]);
    expect((await rr.routes('ipv4')).filter((r) => r.prefix === frrRoute.prefix).map((r) => r.fromPeer)).toEqual([frrAddr]);
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr) === undefined)('two kbgp route reflectors with one cluster ID', () => {
  it('each drops the other\'s reflected copy as a cluster-list loop; nothing flaps; a withdrawal leaves nothing', { timeout: 90_000 }, async () => {
    const asn = 4200000903;
    const clusterId = '10.9.255.3';
    const aAddr = '127.0.9.30';
    const bAddr = '127.0.9.31';
    const frrAddr = '127.0.9.32';
    const ids = { a: '10.9.3.30', b: '10.9.3.31', frr: '10.9.3.32' };
    const route: RouteSpec = { prefix: '10.93.1.0/24', med: 30, localPref: 150, communities: ['65000:931'], largeCommunities: [`${asn}:3:1`] };
    // Both Node documents in each configuration: that is how each knows the other shares its
    // cluster ID, and so is a non-client. A long hold time between them, so that their message
    // counters move only with UPDATEs while they are watched.
    const nodes = [
      { name: 'rr-a', ipv4Address: aAddr, clusterId },
      { name: 'rr-b', ipv4Address: bAddr, clusterId },
    ];
    const reflector = (self: 0 | 1): Promise<Kbgp> => {
      const [me, other] = self === 0 ? [nodes[0], nodes[1]] : [nodes[1], nodes[0]];
      if (me === undefined || other === undefined) throw new Error('two nodes');
      return startKbgp({
        name: me.name, nodeName: me.name, address: me.ipv4Address, port: kbgpPort(me.ipv4Address), asn, routerId: self === 0 ? ids.a : ids.b,
        ipv4Address: me.ipv4Address, clusterId, otherNodes: [other],
        peers: [{ address: other.ipv4Address, port: kbgpPort(other.ipv4Address), asn, holdTime: 600 }, { address: frrAddr, port: 179, asn }],
      });
    };
    const a = await reflector(0);
    const b = await reflector(1);
    const frr = await startFrr({ routerId: ids.frr, asn, address: frrAddr, routes: [route], peers: [aAddr, bAddr].map((x) => ({ address: x, port: kbgpPort(x), asn })) });
    const ctx = (): string => context([a, b], [frr]);
    for (const [k, other] of [[a, b], [b, a]] as const) {
      await waitFor(async () => (k.status(other.spec.address).state === 'Established' ? true : undefined), SESSION_TIMEOUT, () => `${k.spec.name} ↔ ${other.spec.name}${ctx()}`, 50);
      await bothUp(k, frr);
      expect(k.daemon.config.peers.map((p) => [p.address, p.routeReflectorClient])).toEqual([[other.spec.address, false], [frrAddr, true]]);
    }

    const reflected = { originatorId: ids.frr, clusterList: [clusterId] };
    const settled = async (): Promise<string> => {
      const views: string[] = [];
      for (const [k, other] of [[a, b], [b, a]] as const) {
        // The client's path, best; the other reflector's copy of it, ineligible.
        const fromClient = await untilKbgp(k, () => k.received(frrAddr).find((r) => formatPrefix(r.prefix) === route.prefix), `${route.prefix} from the client`, ctx);
        expect({ nextHop: fromClient.nextHop, ineligible: fromClient.ineligible, attributes: attributesView(fromClient.attributes) }).toEqual({
          nextHop: frrAddr, ineligible: undefined, attributes: expectedAttributes(route, frrAddr),
        });
        const copy = await untilKbgp(k, () => k.received(other.spec.address).find((r) => formatPrefix(r.prefix) === route.prefix), `${other.spec.name}'s reflected copy of ${route.prefix}`, ctx);
        expect({ nextHop: copy.nextHop, ineligible: copy.ineligible, attributes: attributesView(copy.attributes) }, `${k.spec.name}: ${other.spec.name}'s copy`).toEqual({
          nextHop: frrAddr, ineligible: 'cluster-list-loop', attributes: expectedAttributes(route, frrAddr, reflected),
        });
        // Loc-RIB: the client's path best, the looped copy listed after it as ineligible.
        const paths = entry(k, route.prefix)?.paths ?? [];
        expect(paths.map(pathView), `${k.spec.name}: Loc-RIB paths`).toEqual([
          { from: frrAddr, nextHop: frrAddr, best: true, multipath: true, ineligible: undefined },
          { from: other.spec.address, nextHop: frrAddr, best: false, multipath: false, ineligible: 'cluster-list-loop' },
        ]);
        // Passed on: the client's path to the other reflector, reflected once; nothing to the client.
        expect(advertisedTo(k, other.spec.address, route.prefix).map((x) => ({ nextHop: x.nextHop, attributes: attributesView(x.attributes) })), `${k.spec.name} → ${other.spec.name}`).toEqual([
          { nextHop: frrAddr, attributes: expectedAttributes(route, frrAddr, reflected) },
        ]);
        expect(advertisedTo(k, frrAddr, route.prefix), `${k.spec.name} → the client`).toEqual([]);
        views.push(JSON.stringify({ received: [k.received(frrAddr), k.received(other.spec.address)], paths: paths.map(pathView) }));
      }
      return views.join('\n');
    };
    // Wait for both copies, then let anything still in flight land.
    await untilKbgp(a, () => (a.received(bAddr).length > 0 && b.received(aAddr).length > 0 ? true : undefined), 'both reflected copies', ctx);
    await sleep(SETTLE_MS);
    const first = await settled();

    // Stable: for a few seconds no UPDATE moves on any session, and no session restarts.
    const counters = async (): Promise<object> => ({
      a: { sessionToB: a.daemon.session(bAddr)?.counters, since: a.status(bAddr).since, sinceClient: a.status(frrAddr).since },
      b: { sessionToA: b.daemon.session(aAddr)?.counters, since: b.status(aAddr).since, sinceClient: b.status(frrAddr).since },
      frrWithA: await frrCounters(frr, aAddr),
      frrWithB: await frrCounters(frr, bAddr),
    });
    const c0 = await counters();
    // (The counters are there to be compared: a missing one would compare equal forever.)
    expect([a.daemon.session(bAddr)?.counters?.messagesIn, b.daemon.session(aAddr)?.counters?.messagesIn].every((x) => x !== undefined && x > 0)).toBe(true);
    expect(Object.values(await frrCounters(frr, aAddr)).concat(Object.values(await frrCounters(frr, bAddr))).every((x) => typeof x === 'number' && x > 0)).toBe(true);
    const before = JSON.stringify(c0);
    await sleep(5_000);
    expect(JSON.stringify(await counters()), 'message counters over 5 s').toBe(before);
    expect(await settled()).toBe(first);
    // The client holds only its own path: neither reflector sent it back.
    expect((await frr.routes('ipv4')).filter((r) => r.prefix === route.prefix).map((r) => r.fromPeer)).toEqual([undefined]);

    // Withdrawn at the client: gone everywhere, the looped copies included, and it stays gone.
    await frr.withdraw(route.prefix);
    for (const [k, other] of [[a, b], [b, a]] as const) {
      const gone = (): boolean => entry(k, route.prefix) === undefined && k.received(frrAddr).length === 0 && k.received(other.spec.address).length === 0;
      await untilKbgp(k, () => (gone() ? true : undefined), `${route.prefix} gone`, ctx);
    }
    await sleep(SETTLE_MS);
    for (const [k, other] of [[a, b], [b, a]] as const) {
      expect([entry(k, route.prefix), k.received(frrAddr), k.received(other.spec.address), k.daemon.advertised(other.spec.address)], k.spec.name).toEqual([undefined, [], [], []]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface AddPathSetup {
  readonly k: Kbgp;
  readonly route: (i: 0 | 1) => RouteSpec;
  readonly ids: readonly [string, string];
  readonly clusterId: string;
  readonly receivers: readonly RouterHandle[];
  readonly ctx: () => string;
}

/**
 * kbgp at 127.0.9.<base> reflecting for a BIRD (base+1) and an ExaBGP (base+2) client that
 * announce one prefix with equal attributes and their own 192.0.2.x next hops, and for the
 * receivers; returns once kbgp has both paths in its multipath set.
 */
async function addPathSetup(
  base: number,
  receivers: readonly { kind: 'frr' | 'gobgp'; addPathReceive: boolean; kbgpAddPath?: 'Receive' }[],
): Promise<AddPathSetup> {
  const n = base / 10;
  const asn = 4200000900 + n;
  const clusterId = `10.9.255.${n}`;
  const addr = (i: number): string => `127.0.9.${base + i}`;
  const rid = (i: number): string => `10.9.${n}.${base + i}`;
  const kAddr = addr(0);
  const prefix = `10.9${n}.1.0/24`;
  const route = (i: 0 | 1): RouteSpec => ({ prefix, nextHop: `192.0.2.${base + 1 + i}`, med: 50, localPref: 100, communities: [`65000:9${n}`] });
  const k = await startKbgp({
    name: `addpath-${base}`, address: kAddr, port: kbgpPort(kAddr), asn, routerId: rid(0), ipv4Address: kAddr, clusterId,
    peers: [
      { address: addr(1), port: 179, asn },
      // ExaBGP listens only when passive itself; it connects to kbgp.
      { address: addr(2), port: 179, asn, passive: true },
      ...receivers.map((r, i) => ({ address: addr(3 + i), port: 179, asn, ...(r.kbgpAddPath !== undefined ? { addPath: r.kbgpAddPath } : {}) })),
    ],
  });
  const toKbgp = { address: kAddr, port: kbgpPort(kAddr), asn };
  const bird = await startBird({ routerId: rid(1), asn, address: addr(1), routes: [route(0)], peers: [toKbgp] });
  const exa = await startExabgp({ routerId: rid(2), asn, address: addr(2), routes: [route(1)], peers: [toKbgp] });
  const hs: RouterHandle[] = [];
  for (const [i, r] of receivers.entries()) {
    const spec = { routerId: rid(3 + i), asn, address: addr(3 + i), peers: [{ ...toKbgp, addPathReceive: r.addPathReceive }] };
    hs.push(r.kind === 'frr' ? await startFrr(spec) : await startGobgp(spec));
  }
  const ctx = (): string => context([k], [bird, exa, ...hs]);
  for (const h of [bird, exa, ...hs]) await bothUp(k, h);
  // kbgp's Loc-RIB: both paths in the multipath set, the lower router ID (BIRD's) best.
  const e = await untilKbgp(k, () => {
    const x = entry(k, prefix);
    return x !== undefined && x.paths.length === 2 ? x : undefined;
  }, `both paths to ${prefix}`, ctx);
  expect(e.paths.map(pathView).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
    { from: addr(1), nextHop: route(0).nextHop, best: true, multipath: true, ineligible: undefined },
    { from: addr(2), nextHop: route(1).nextHop, best: false, multipath: true, ineligible: undefined },
  ]);
  expect(e.paths.find((p) => p.best)?.decidedBy).toBe('router-id');
  return { k, route, ids: [rid(1), rid(2)], clusterId, ctx, receivers: hs };
}

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird, ...ROUTER_BINARIES.exabgp, ...ROUTER_BINARIES.frr, ...ROUTER_BINARIES.gobgp) === undefined)('kbgp sending ADD-PATH', () => {
  it('FRR and GoBGP, which negotiated ADD-PATH receive, get both multipath paths with their own next hops and path IDs', { timeout: 120_000 }, async () => {
    const s = await addPathSetup(40, [
      { kind: 'frr', addPathReceive: true },
      { kind: 'gobgp', addPathReceive: true },
    ]);
    const { k, route, ids, clusterId, ctx } = s;
    const prefix = route(0).prefix;
    for (const h of s.receivers) {
      const what = `${h.kind} ${h.spec.address}`;
      expect(k.status(h.spec.address).negotiated?.addPathSend.has(IPV4_UNICAST), `${what}: ADD-PATH send negotiated`).toBe(true);
      // kbgp's Adj-RIB-Out: both paths, each with a path identifier of its own.
      const out = advertisedTo(k, h.spec.address, prefix).sort((x, y) => x.nextHop.localeCompare(y.nextHop));
      expect(out.map((a) => ({ nextHop: a.nextHop, attributes: attributesView(a.attributes) })), what).toEqual(
        ([0, 1] as const).map((i) => ({ nextHop: route(i).nextHop, attributes: expectedAttributes(route(i), route(i).nextHop ?? '', { originatorId: ids[i], clusterList: [clusterId] }) })),
      );
      const pathIds = out.map((a) => a.prefix.pathId);
      expect(pathIds.every((id) => typeof id === 'number'), `${what}: path IDs ${JSON.stringify(pathIds)}`).toBe(true);
      expect(new Set(pathIds).size, `${what}: distinct path IDs`).toBe(2);
      // The receiver's CLI: the same two paths, each next hop with the ID kbgp gave it.
      const got = (await pathsAt(h, k.spec.address, prefix, 2, ctx)).sort((x, y) => x.nextHop.localeCompare(y.nextHop));
      expect(got.map(routerView), what).toEqual(([0, 1] as const).map((i) => expectedRouterView(route(i), k.spec.address, route(i).nextHop ?? '', { originatorId: ids[i], clusterList: [clusterId] })));
      expect(got.map((r) => r.pathId), `${what}: path IDs as its CLI shows them`).toEqual(pathIds);
    }
    // And no more than two, after a moment.
    await sleep(SETTLE_MS);
    for (const h of s.receivers) expect((await h.routes('ipv4')).filter((r) => r.prefix === prefix)).toHaveLength(2);
  });

  it('without ADD-PATH (kbgp told `addPath: Receive`; GoBGP not offering to receive) only the best path goes', { timeout: 120_000 }, async () => {
    const s = await addPathSetup(50, [
      // FRR always offers to receive; kbgp is told not to send.
      { kind: 'frr', addPathReceive: true, kbgpAddPath: 'Receive' },
      { kind: 'gobgp', addPathReceive: false },
    ]);
    const { k, route, ids, clusterId, ctx } = s;
    const prefix = route(0).prefix;
    for (const h of s.receivers) {
      const what = `${h.kind} ${h.spec.address}`;
      expect(k.status(h.spec.address).negotiated?.addPathSend.size, `${what}: no ADD-PATH send`).toBe(0);
      await pathsAt(h, k.spec.address, prefix, 1, ctx);
    }
    await sleep(SETTLE_MS);
    for (const h of s.receivers) {
      const what = `${h.kind} ${h.spec.address}`;
      const out = advertisedTo(k, h.spec.address, prefix);
      expect(out.map((a) => ({ pathId: a.prefix.pathId, nextHop: a.nextHop, attributes: attributesView(a.attributes) })), what).toEqual([
        { pathId: undefined, nextHop: route(0).nextHop, attributes: expectedAttributes(route(0), route(0).nextHop ?? '', { originatorId: ids[0], clusterList: [clusterId] }) },
      ]);
      const got = (await h.routes('ipv4')).filter((r) => r.prefix === prefix);
      expect(got.map(routerView), what).toEqual([expectedRouterView(route(0), k.spec.address, route(0).nextHop ?? '', { originatorId: ids[0], clusterList: [clusterId] })]);
      expect(got[0]?.pathId, `${what}: no path ID`).toBeUndefined();
    }
  });
});
