/**
 * kbgp's policy features against real daemons on loopback (127.0.10.x, kbgp on 11500 + the last
 * octet): max-prefix (RFC 4486) tripped by a GoBGP peer that sends more than kbgp takes; route
 * refresh requested by FRR and by BIRD (both negotiate enhanced route refresh, so kbgp's answer
 * comes between BoRR and EoRR, and each sweeps at EoRR whatever kbgp would not have re-sent);
 * BGPFilter changes reaching FRR as a difference without a session reset; drain (RFC 8326).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import type { FilterRule } from '../../src/rib/filter.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type Kbgp, removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import { ROUTER_BINARIES, type RouteSpec, startBird, startFrr, startGobgp, stopAllRouters, waitFor } from '../helpers/routers.js';
import { birdProtocolName } from '../helpers/routers/bird.js';
import { num, obj } from '../helpers/routers/common.js';

afterEach(async () => {
  await stopAllKbgp();
  await stopAllRouters();
});
afterAll(removeKbgpLogs);

const KBGP_AS = 64512;
const GOBGP_AS = 65010;
/** Six routes; GoBGP takes an explicit next hop outside 127/8 (see interop notes). */
const SIX: RouteSpec[] = Array.from({ length: 6 }, (_, i) => ({ prefix: `10.70.${i}.0/24`, nextHop: '192.0.2.70' }));

/** kbgp's max-prefix stops of this peer, as recorded in its down history. */
function maxPrefixStops(k: Kbgp): { at: number; data: string }[] {
  return k
    .status()
    .downHistory.flatMap((d) => (d.reason.kind === 'stopped' && d.reason.notification?.code === 6 && d.reason.notification.subcode === 1 ? [{ at: d.at, data: d.reason.notification.data.toString('hex') }] : []));
}

/** kbgp with the max-prefix setting towards a GoBGP that announces SIX. */
async function pair(kAddr: string, gAddr: string, port: number, maxPrefixes: { limit: number; restartAfter?: string; warningOnly?: boolean }): Promise<{ k: Kbgp; g: Awaited<ReturnType<typeof startGobgp>> }> {
  const k = await startKbgp({ name: `maxprefix-${port}`, address: kAddr, port, asn: KBGP_AS, routerId: kAddr, ipv4Address: kAddr, peers: [{ address: gAddr, port: 179, asn: GOBGP_AS, maxPrefixes }] });
  const g = await startGobgp({ routerId: gAddr, asn: GOBGP_AS, address: gAddr, routes: SIX, peers: [{ address: kAddr, port, asn: KBGP_AS }] });
  return { k, g };
}

describe.skipIf(requireBinaries(...ROUTER_BINARIES.gobgp) === undefined)('max-prefix against GoBGP', () => {
  it('stops a GoBGP peer that sends more than the limit with Cease / Maximum Number of Prefixes Reached, GoBGP counts it, and kbgp starts the session again after restartAfter', { timeout: 60_000 }, async () => {
    const kAddr = '127.0.10.1';
    const gAddr = '127.0.10.2';
    const { k, g } = await pair(kAddr, gAddr, 11501, { limit: 5, restartAfter: '2s' });
    const ctx = (): string => `\n${k.describe(30)}\n${g.logTail(20)}`;
    const [stop] = await waitFor(async () => (maxPrefixStops(k).length > 0 ? maxPrefixStops(k) : undefined), 20_000, () => `a max-prefix stop${ctx()}`);
    // RFC 4486 §4: AFI 1, SAFI 1, the limit 5.
    expect(stop?.data).toBe('00010100000005');
    // GoBGP's own count of NOTIFICATIONs received from kbgp.
    const gobgp = g;
    await waitFor(async () => {
      const j: unknown = JSON.parse(await gobgp.gobgp('neighbor', kAddr, '-j'));
      return (num(obj(obj(obj(obj(j).state).messages).received).notification) ?? 0) >= 1 ? true : undefined;
    }, 10_000, () => `GoBGP to count the NOTIFICATION${ctx()}`);
    // Nothing of GoBGP's is left in kbgp's Loc-RIB while the session is down.
    expect(k.daemon.routes().map((e) => formatPrefix(e.prefix))).toEqual([]);
    // kbgp starts the session again by itself after restartAfter (2 s), not before.
    const restarted = await waitFor(async () => (k.status().state !== 'Idle' ? k.status().since : undefined), 10_000, () => `kbgp to restart the session${ctx()}`, 50);
    expect(restarted - (stop?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
    expect(restarted - (stop?.at ?? 0)).toBeLessThan(4_000);
  });

  it('in warning-only mode keeps the session and all six routes', { timeout: 60_000 }, async () => {
    const kAddr = '127.0.10.3';
    const gAddr = '127.0.10.4';
    const { k, g } = await pair(kAddr, gAddr, 11503, { limit: 5, warningOnly: true });
    await waitFor(async () => (k.received().length === 6 ? true : undefined), 20_000, () => `six routes\n${k.describe(30)}\n${g.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(k.status().state).toBe('Established');
    expect(k.status().downHistory).toEqual([]);
    expect(k.daemon.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual(SIX.map((r) => r.prefix));
  });
});

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr, ...ROUTER_BINARIES.bird) === undefined)('route refresh with FRR and BIRD, both directions', () => {
  it('answers each request with its routes again (the routers keep them after their EoRR sweep), and asks each for theirs', { timeout: 60_000 }, async () => {
    const kAddr = '127.0.10.10';
    const frrAddr = '127.0.10.11';
    const birdAddr = '127.0.10.12';
    const ours = '10.71.0.0/24';
    const k = await startKbgp({
      name: 'refresh',
      address: kAddr,
      port: 11510,
      asn: KBGP_AS,
      routerId: kAddr,
      ipv4Address: kAddr,
      peers: [
        { address: frrAddr, port: 179, asn: 65011 },
        { address: birdAddr, port: 179, asn: 65012 },
      ],
      originate: [{ prefix: ours }],
    });
    const toKbgp = { address: kAddr, port: 11510, asn: KBGP_AS };
    const frr = await startFrr({ routerId: frrAddr, asn: 65011, address: frrAddr, peers: [toKbgp], routes: [{ prefix: '10.71.11.0/24' }] });
    const bird = await startBird({ routerId: birdAddr, asn: 65012, address: birdAddr, peers: [toKbgp], routes: [{ prefix: '10.71.12.0/24' }] });
    const ctx = (): string => `\n${k.describe(30)}\n${frr.logTail(20)}\n${bird.logTail(20)}`;
    const has = async (h: typeof frr | typeof bird): Promise<boolean | undefined> => ((await h.routes('ipv4')).some((r) => r.prefix === ours) ? true : undefined);
    await waitFor(() => has(frr), 20_000, () => `FRR to hold ${ours}${ctx()}`);
    await waitFor(() => has(bird), 20_000, () => `BIRD to hold ${ours}${ctx()}`);
    for (const peer of [frrAddr, birdAddr]) expect(k.daemon.session(peer)?.negotiated?.enhancedRouteRefresh, peer).toBe(true);
    const requests = (peer: string): number => k.logTail(400).split('\n').filter((l) => l.includes('ROUTE-REFRESH received') && l.includes(`"peer":"${peer}"`)).length;
    const before = { frr: requests(frrAddr), bird: requests(birdAddr), frrUpdates: (await frr.messageStats(kAddr)).updatesRecv ?? 0, birdUpdates: (await bird.importUpdatesReceived(kAddr)) ?? 0 };
    await frr.vtysh(`clear bgp ipv4 unicast ${kAddr} soft in`);
    await bird.birdc('reload', 'in', birdProtocolName(kAddr));
    await waitFor(async () => (requests(frrAddr) > before.frr && requests(birdAddr) > before.bird ? true : undefined), 10_000, () => `ROUTE-REFRESH from both${ctx()}`);
    // Answered: each router counts our route received once more.
    await waitFor(async () => ((await frr.messageStats(kAddr)).updatesRecv ?? 0) > before.frrUpdates ? true : undefined, 10_000, () => `FRR to receive the route again${ctx()}`);
    await waitFor(async () => ((await bird.importUpdatesReceived(kAddr)) ?? 0) > before.birdUpdates ? true : undefined, 10_000, () => `BIRD to receive the route again${ctx()}`);
    // Past their EoRR sweeps: the route is still there, and no session was reset.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await has(frr)).toBe(true);
    expect(await has(bird)).toBe(true);
    for (const peer of [frrAddr, birdAddr]) expect(k.status(peer).downHistory, peer).toEqual([]);
    // The other direction: kbgp asks; each answers between BoRR and EoRR, and kbgp keeps their routes.
    const eorr = (peer: string): number => k.logTail(400).split('\n').filter((l) => l.includes('EoRR received') && l.includes(`"peer":"${peer}"`)).length;
    const held = { frr: k.daemon.received(frrAddr).length, bird: k.daemon.received(birdAddr).length };
    for (const peer of [frrAddr, birdAddr]) expect(k.daemon.requestRefresh(peer), peer).toEqual(['ipv4-unicast']);
    await waitFor(async () => (eorr(frrAddr) > 0 && eorr(birdAddr) > 0 ? true : undefined), 10_000, () => `EoRR from both${ctx()}`);
    expect({ frr: k.daemon.received(frrAddr).length, bird: k.daemon.received(birdAddr).length }).toEqual(held);
    expect(held).toEqual({ frr: 1, bird: 1 });
    for (const peer of [frrAddr, birdAddr]) expect(k.status(peer).downHistory, peer).toEqual([]);
  });
});

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr) === undefined)('graceful shutdown (RFC 8326) seen by FRR', () => {
  it('drain moves FRR to the other node\'s path before the drained session goes down', { timeout: 60_000 }, async () => {
    const frrAddr = '127.0.10.20';
    const prefix = '10.72.0.0/24';
    // Two nodes originate the same prefix; FRR prefers the lower router ID, node A's, until A drains.
    const node = (n: number): ReturnType<typeof startKbgp> =>
      startKbgp({
        name: `drain-${n}`,
        address: `127.0.10.2${n}`,
        port: 11520 + n,
        asn: KBGP_AS,
        routerId: `127.0.10.2${n}`,
        ipv4Address: `127.0.10.2${n}`,
        peers: [{ address: frrAddr, port: 179, asn: 65020 }],
        originate: [{ prefix }],
      });
    const a = await node(1);
    const b = await node(2);
    const frr = await startFrr({ routerId: frrAddr, asn: 65020, address: frrAddr, peers: [1, 2].map((n) => ({ address: `127.0.10.2${n}`, port: 11520 + n, asn: KBGP_AS })) });
    const ctx = (): string => `\n${a.describe(20)}\n${b.describe(20)}\n${frr.logTail(20)}`;
    const bestFrom = async (): Promise<string | undefined> => (await frr.routes('ipv4')).find((r) => r.prefix === prefix && r.best === true)?.fromPeer;
    const paths = async (): Promise<number> => (await frr.routes('ipv4')).filter((r) => r.prefix === prefix).length;
    await waitFor(async () => ((await paths()) === 2 ? true : undefined), 20_000, () => `both paths at FRR${ctx()}`);
    expect(await bestFrom()).toBe('127.0.10.21');
    const drained = a.daemon.drain(frrAddr, 3, 'node drain');
    // Within the wait, with A's session still up, FRR's best moves to B.
    await waitFor(async () => ((await bestFrom()) === '127.0.10.22' ? true : undefined), 2_500, () => `FRR to prefer B${ctx()}`);
    expect(a.status().state).toBe('Established');
    expect(await paths()).toBe(2);
    const gshut = (await frr.routes('ipv4')).find((r) => r.prefix === prefix && r.fromPeer === '127.0.10.21');
    expect(gshut?.communities).toContain('65535:0');
    await drained;
    await waitFor(async () => ((await paths()) === 1 ? true : undefined), 10_000, () => `A's path gone after the shutdown${ctx()}`);
    expect(await bestFrom()).toBe('127.0.10.22');
    // FRR negotiated RFC 8538's N bit, so the stop went as Hard Reset: FRR keeps nothing stale.
    expect(a.status().lastDown).toMatchObject({ kind: 'stopped', notification: { code: 6, subcode: 9, shutdownCommunication: 'node drain' } });
  });
});

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr) === undefined)('BGPFilter changes seen by FRR', () => {
  it('an export filter change reaches FRR as the difference only, an import filter change needs nothing from FRR, and the session stays up', { timeout: 60_000 }, async () => {
    const kAddr = '127.0.10.30';
    const frrAddr = '127.0.10.31';
    // One community per prefix: one UPDATE per prefix, so a table sent again would be 20 UPDATEs.
    const ours: RouteSpec[] = Array.from({ length: 20 }, (_, i) => ({ prefix: `10.73.${i}.0/24`, communities: [`64512:${i}`] }));
    const k = await startKbgp({ name: 'filters', address: kAddr, port: 11530, asn: KBGP_AS, routerId: kAddr, ipv4Address: kAddr, peers: [{ address: frrAddr, port: 179, asn: 65031 }], originate: ours });
    const frr = await startFrr({ routerId: frrAddr, asn: 65031, address: frrAddr, peers: [{ address: kAddr, port: 11530, asn: KBGP_AS }], routes: [{ prefix: '10.74.1.0/24' }, { prefix: '10.74.2.0/24' }] });
    const ctx = (): string => `\n${k.describe(30)}\n${frr.logTail(20)}`;
    const atFrr = async (): Promise<Map<string, string[]>> => new Map((await frr.routes('ipv4')).filter((r) => r.prefix.startsWith('10.73.')).map((r) => [r.prefix, r.communities]));
    await waitFor(async () => ((await atFrr()).size === 20 ? true : undefined), 20_000, () => `FRR to hold our 20 routes${ctx()}`);
    await waitFor(async () => (k.daemon.received(frrAddr).length === 2 ? true : undefined), 20_000, () => `kbgp to hold FRR's 2 routes${ctx()}`);
    // Past the first table and End-of-RIB.
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await frr.messageStats(kAddr);
    const rule = (cidr: string, action: 'Accept' | 'Reject', operations?: FilterRule['operations']): FilterRule => ({ cidr: parsePrefix(cidr), matchOperator: 'Equal', action, ...(operations === undefined ? {} : { operations }) });
    k.daemon.setFilters(frrAddr, [
      {
        name: 'change',
        exportV4: [rule('10.73.1.0/24', 'Reject'), rule('10.73.2.0/24', 'Accept', [{ kind: 'addCommunity', community: { standard: 64512 * 65536 + 999 } }])],
        importV4: [rule('10.74.2.0/24', 'Reject')],
        exportV6: [],
        importV6: [],
      },
    ]);
    await waitFor(async () => {
      const t = await atFrr();
      return t.size === 19 && t.get('10.73.2.0/24')?.includes('64512:999') === true ? true : undefined;
    }, 10_000, () => `FRR to see the export filter${ctx()}`);
    const t = await atFrr();
    expect(t.has('10.73.1.0/24')).toBe(false);
    expect(t.get('10.73.2.0/24')?.sort()).toEqual(['64512:2', '64512:999']);
    expect(t.get('10.73.3.0/24')).toEqual(['64512:3']);
    // The import filter works from what kbgp already holds: 10.74.2.0/24 filtered, FRR asked nothing.
    expect(k.daemon.received(frrAddr).map((r) => [formatPrefix(r.prefix), r.ineligible]).sort()).toEqual([['10.74.1.0/24', undefined], ['10.74.2.0/24', 'filtered']]);
    expect(k.daemon.routes().some((e) => formatPrefix(e.prefix) === '10.74.2.0/24' && e.paths.some((p) => p.best))).toBe(false);
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await frr.messageStats(kAddr);
    // One withdrawal and one announcement: the difference, not the table.
    expect((after.updatesRecv ?? 0) - (before.updatesRecv ?? 0)).toBe(2);
    expect(after.connectionsEstablished).toBe(before.connectionsEstablished);
    expect(k.status(frrAddr).downHistory).toEqual([]);
  });
});
