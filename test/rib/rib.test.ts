/**
 * The RIB driven by plain data: UPDATEs in from named peers, encoded UPDATEs out to members of
 * update groups, decoded again to check what each member was told. No sockets.
 */
import { describe, expect, it } from 'vitest';
import { Rib } from '../../src/rib/rib.js';
import { Afi, AsPathSegmentType, MessageType, type PathAttributes, decodeMessage, formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import {
  ADD_PATH_CTX,
  ADD_PATH_FORMAT,
  CTX,
  FORMAT,
  V4,
  V6,
  announce,
  ebgpPeer,
  ebgpPolicy,
  ibgpPeer,
  ibgpPolicy,
  isEndOfRib,
  pull,
  rib,
  table,
  withdraw,
} from '../helpers/rib.js';

describe('Rib: eBGP propagation', () => {
  it('sends what one eBGP peer announced to another, with our AS prepended, next hop self, no LOCAL_PREF, then End-of-RIB', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'], { nextHop: '192.0.2.1', med: 7, localPref: 300 }));
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    const got = pull(r, b);
    expect(got.filter(isEndOfRib).map((u) => u.endOfRib)).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    const t = table(got.filter((u) => !isEndOfRib(u)));
    expect([...t.keys()].sort()).toEqual(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24']);
    // One attribute set: one UPDATE.
    expect(got.filter((u) => !isEndOfRib(u))).toHaveLength(1);
    expect(t.get('10.1.0.0/24')).toEqual({ origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [64512, 65001] }], nextHop: '10.0.0.1' });
  });

  it('sends a route to another peer of the AS it came from, never back to the peer itself: one update group for both', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', med: 7 }));
    // The sender, and another peer of AS 65001, with one policy: the AS does not split the group.
    const sender = {};
    const sameAs = {};
    r.join(sender, '192.0.2.1', ebgpPolicy(), FORMAT);
    r.join(sameAs, '192.0.2.3', ebgpPolicy(), FORMAT);
    expect(r.updateGroups).toBe(1);
    const toSender = pull(r, sender);
    expect(toSender.filter((u) => !isEndOfRib(u))).toEqual([]);
    expect(toSender.filter(isEndOfRib)).toHaveLength(2);
    expect(r.advertised(sender)).toEqual([]);
    // The other peer gets it with our AS in front (it drops it as an AS_PATH loop, RFC 4271 §9.1.2).
    const t = table(pull(r, sameAs));
    expect([...t]).toEqual([['10.1.0.0/24', { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [64512, 65001] }], nextHop: '10.0.0.1' }]]);
    expect(r.advertised(sameAs).map((a) => [formatPrefix(a.prefix), a.nextHop])).toEqual([['10.1.0.0/24', '10.0.0.1']]);
    // A change of the sender's route: news for the other member, still nothing for the sender.
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', communities: [5] }));
    expect(pull(r, sender)).toEqual([]);
    expect(table(pull(r, sameAs)).get('10.1.0.0/24')?.communities).toEqual([5]);
    // Its withdrawal too.
    r.apply('192.0.2.1', withdraw(['10.1.0.0/24']));
    expect(pull(r, sender)).toEqual([]);
    expect(pull(r, sameAs).flatMap((u) => u.withdrawnRoutes.map(formatPrefix))).toEqual(['10.1.0.0/24']);
    expect(r.updateGroups).toBe(1);
  });

  it('when the best moves to a member\'s own route, withdraws the prefix from that member alone, and gives it back when the best moves away', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.peerUp(ebgpPeer('192.0.2.2', 65003));
    const a = {};
    const b = {};
    const c = {};
    r.join(a, '192.0.2.1', ebgpPolicy(), FORMAT);
    r.join(b, '192.0.2.2', ebgpPolicy(), FORMAT);
    r.join(c, '192.0.2.103', ebgpPolicy(), FORMAT);
    expect(r.updateGroups).toBe(1);
    for (const m of [a, b, c]) pull(r, m);
    const viaB = [{ type: AsPathSegmentType.AsSequence, asns: [64512, 65003, 65004] }];
    const viaA = [{ type: AsPathSegmentType.AsSequence, asns: [64512, 65001] }];
    const prefixes = (us: ReturnType<typeof pull>): [string[], string[]] => [us.flatMap((u) => u.withdrawnRoutes.map(formatPrefix)), us.flatMap((u) => u.nlri.map(formatPrefix))];
    // B's route is the only one: A and C hold it, B nothing.
    r.apply('192.0.2.2', announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65003, 65004] }] }));
    const a1 = pull(r, a);
    expect(prefixes(a1)).toEqual([[], ['10.1.0.0/24']]);
    expect(table(a1).get('10.1.0.0/24')?.asPath).toEqual(viaB);
    expect(pull(r, b)).toEqual([]);
    expect(table(pull(r, c)).get('10.1.0.0/24')?.asPath).toEqual(viaB);
    // A's shorter path becomes the best: A is told to withdraw, B and C get A's route.
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    expect(r.routes()[0]?.paths.find((p) => p.best)?.from).toBe('192.0.2.1');
    expect(prefixes(pull(r, a))).toEqual([['10.1.0.0/24'], []]);
    expect(r.advertised(a)).toEqual([]);
    for (const m of [b, c]) {
      const got = pull(r, m);
      expect(prefixes(got)).toEqual([[], ['10.1.0.0/24']]);
      expect(table(got).get('10.1.0.0/24')?.asPath).toEqual(viaA);
      expect(r.advertised(m).map((x) => x.attributes.asPath)).toEqual([viaA]);
    }
    // A withdraws: the best is B's again. A gets it back, B withdraws it, C gets B's route.
    r.apply('192.0.2.1', withdraw(['10.1.0.0/24']));
    const a3 = pull(r, a);
    expect(prefixes(a3)).toEqual([[], ['10.1.0.0/24']]);
    expect(table(a3).get('10.1.0.0/24')?.asPath).toEqual(viaB);
    expect(r.advertised(a).map((x) => x.attributes.asPath)).toEqual([viaB]);
    expect(prefixes(pull(r, b))).toEqual([['10.1.0.0/24'], []]);
    expect(r.advertised(b)).toEqual([]);
    const c3 = pull(r, c);
    expect(prefixes(c3)).toEqual([[], ['10.1.0.0/24']]);
    expect(table(c3).get('10.1.0.0/24')?.asPath).toEqual(viaB);
  });

  it('sends a member nothing for a prefix whose best is its own, not the second best', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.peerUp(ebgpPeer('192.0.2.2', 65003));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    r.apply('192.0.2.2', announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65003, 65004] }] }));
    const a = {};
    r.join(a, '192.0.2.1', ebgpPolicy(), FORMAT);
    expect(pull(r, a).filter((u) => !isEndOfRib(u))).toEqual([]);
    expect(r.advertised(a)).toEqual([]);
  });

  it('coalesces: a prefix that changes twice before the member reads goes out once, in its final state', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    pull(r, b);
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', communities: [1] }));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', communities: [2] }));
    const got = pull(r, b);
    expect(got).toHaveLength(1);
    expect(got[0]?.attributes.communities).toEqual([2]);
    // Announced and withdrawn before it was read: nothing at all.
    r.apply('192.0.2.1', announce(['10.2.0.0/24'], { nextHop: '192.0.2.1' }));
    r.apply('192.0.2.1', withdraw(['10.2.0.0/24']));
    expect(pull(r, b)).toEqual([]);
  });

  it('withdraws a down peer\'s routes from everyone else, and falls back to the next best path', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.peerUp(ebgpPeer('192.0.2.2', 65003));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.9.0.0/24'], { nextHop: '192.0.2.1' }));
    r.apply('192.0.2.2', announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65003, 65004] }] }));
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    const first = table(pull(r, b));
    expect(first.get('10.1.0.0/24')?.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [64512, 65001] }]);
    r.peerDown('192.0.2.1');
    const after = pull(r, b);
    expect(after.flatMap((u) => u.withdrawnRoutes.map(formatPrefix))).toEqual(['10.9.0.0/24']);
    expect(table(after).get('10.1.0.0/24')?.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [64512, 65003, 65004] }]);
    // Withdrawals come before announcements.
    expect(after[0]?.withdrawnRoutes.length).toBeGreaterThan(0);
    expect(r.routes().map((e) => formatPrefix(e.prefix))).toEqual(['10.1.0.0/24']);
  });
});

describe('Rib: update groups', () => {
  it('encodes once for members with the same policy: they get the very same buffers', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    const a = {};
    const b = {};
    r.join(a, '192.0.2.101', ebgpPolicy(), FORMAT);
    r.join(b, '192.0.2.102', ebgpPolicy(), FORMAT);
    expect(r.updateGroups).toBe(1);
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    const fromA: Buffer[] = [];
    const fromB: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const x = r.next(a);
      if (x !== undefined) fromA.push(x);
      const y = r.next(b);
      if (y !== undefined) fromB.push(y);
    }
    expect(fromA.length).toBe(3);
    expect(fromA.every((m, i) => m === fromB[i])).toBe(true);
  });

  it('keeps, stale, only the families a restarting peer\'s capability named; the others go at once', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    r.apply('192.0.2.1', {
      type: MessageType.Update,
      withdrawnRoutes: [],
      attributes: { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] },
      nlri: [],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [parsePrefix('fd00:1::/64')] },
    });
    expect(r.routes().map((e) => formatPrefix(e.prefix))).toEqual(['10.1.0.0/24', 'fd00:1::/64']);
    r.peerRestarting('192.0.2.1', new Set([Afi.Ipv4]));
    expect(r.routes().map((e) => formatPrefix(e.prefix))).toEqual(['10.1.0.0/24']);
    expect(r.received('192.0.2.1').map((x) => [formatPrefix(x.prefix), x.stale])).toEqual([['10.1.0.0/24', true]]);
    expect([r.hasStale('192.0.2.1', Afi.Ipv4), r.hasStale('192.0.2.1', Afi.Ipv6)]).toEqual([true, false]);
  });

  it('holds End-of-RIB while the table is incomplete (a restarting speaker), sending routes meanwhile; released, every member gets it once', () => {
    const woken: unknown[] = [];
    const r = new Rib({ localAs: 64512, routerId: '10.0.0.1', maxPaths: 16 }, (m) => woken.push(...m));
    r.holdEndOfRib(true);
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    const a = {};
    r.join(a, '192.0.2.101', ebgpPolicy(), FORMAT);
    const first = pull(r, a);
    expect(first.filter(isEndOfRib)).toEqual([]);
    expect([...table(first).keys()]).toEqual(['10.1.0.0/24']);
    // A member joining the held group, and a change: still no End-of-RIB for anyone.
    const late = {};
    r.join(late, '192.0.2.102', ebgpPolicy(), FORMAT);
    r.apply('192.0.2.1', announce(['10.1.1.0/24'], { nextHop: '192.0.2.1' }));
    expect(pull(r, late).filter(isEndOfRib)).toEqual([]);
    expect(pull(r, a).filter(isEndOfRib)).toEqual([]);
    woken.length = 0;
    r.holdEndOfRib(false);
    expect(woken).toEqual(expect.arrayContaining([a, late]));
    for (const m of [a, late]) expect(pull(r, m).map((u) => u.endOfRib)).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    // Released once: a later joiner gets it with its table, nobody gets it twice.
    r.holdEndOfRib(false);
    expect(pull(r, a)).toEqual([]);
    const later = {};
    r.join(later, '192.0.2.103', ebgpPolicy(), FORMAT);
    expect(pull(r, later).filter(isEndOfRib)).toHaveLength(2);
  });

  it('gives a late joiner the group\'s table and End-of-RIB, then the changes it missed nothing of', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.1.1.0/24'], { nextHop: '192.0.2.1' }));
    const a = {};
    r.join(a, '192.0.2.101', ebgpPolicy(), FORMAT);
    pull(r, a);
    r.apply('192.0.2.1', withdraw(['10.1.1.0/24']));
    r.apply('192.0.2.1', announce(['10.1.2.0/24'], { nextHop: '192.0.2.1' }));
    const late = {};
    r.join(late, '192.0.2.102', ebgpPolicy(), FORMAT);
    const lateGot = pull(r, late);
    expect(lateGot.filter(isEndOfRib)).toHaveLength(2);
    expect([...table(lateGot).keys()].sort()).toEqual(['10.1.0.0/24', '10.1.2.0/24']);
    const aGot = pull(r, a);
    expect([...table(aGot).keys()]).toEqual(['10.1.2.0/24']);
    expect(aGot.flatMap((u) => u.withdrawnRoutes.map(formatPrefix))).toEqual(['10.1.1.0/24']);
  });
});

describe('Rib: iBGP and route reflection', () => {
  it('does not send iBGP-learned routes to iBGP peers without route reflection (split horizon)', () => {
    const r = rib();
    r.peerUp(ibgpPeer('192.0.2.1'));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: [] }));
    const b = {};
    r.join(b, '192.0.2.101', ibgpPolicy(), FORMAT);
    expect(pull(r, b).filter((u) => !isEndOfRib(u))).toEqual([]);
  });

  it('reflects a client\'s route to other clients with ORIGINATOR_ID and CLUSTER_LIST, next hop unchanged, never back to the client; the clients share one group', () => {
    const r = rib({ clusterId: '10.255.0.1' });
    r.peerUp(ibgpPeer('192.0.2.1', true));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: [], localPref: 150 }));
    const sender = {};
    const other = {};
    const clients = ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true });
    r.join(sender, '192.0.2.1', clients, FORMAT);
    r.join(other, '192.0.2.2', clients, FORMAT);
    expect(r.updateGroups).toBe(1);
    expect(pull(r, sender).filter((u) => !isEndOfRib(u))).toEqual([]);
    expect(r.advertised(sender)).toEqual([]);
    const reflected = { origin: 0, asPath: [], nextHop: '192.0.2.1', localPref: 150, originatorId: '192.0.2.1', clusterList: ['10.255.0.1'] };
    const t = table(pull(r, other));
    expect([...t]).toEqual([['10.1.0.0/24', reflected]]);
    expect(r.advertised(other).map((a) => [formatPrefix(a.prefix), a.attributes])).toEqual([['10.1.0.0/24', reflected]]);
    // A client joining later gets the sender's route in its first table.
    const late = {};
    r.join(late, '192.0.2.3', clients, FORMAT);
    expect(r.updateGroups).toBe(1);
    expect([...table(pull(r, late))]).toEqual([['10.1.0.0/24', reflected]]);
    // The sender's session bounces: back in the group, still without its own route.
    r.leave(sender);
    r.join(sender, '192.0.2.1', clients, FORMAT);
    expect(pull(r, sender).filter((u) => !isEndOfRib(u))).toEqual([]);
  });

  it('keeps a route that carries its own cluster ID in Adj-RIB-In, ineligible, with the reason', () => {
    const r = rib({ clusterId: '10.255.0.1' });
    r.peerUp(ibgpPeer('192.0.2.9'));
    r.apply('192.0.2.9', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: [], originatorId: '192.0.2.1', clusterList: ['10.255.0.1'] }));
    expect(r.received('192.0.2.9').map((x) => x.ineligible)).toEqual(['cluster-list-loop']);
    expect(r.routes()[0]?.paths.map((p) => [p.best, p.ineligible])).toEqual([[false, 'cluster-list-loop']]);
  });
});

describe('Rib: ADD-PATH send', () => {
  it('sends every path of the multipath set with its own path identifier and next hop; only the best without ADD-PATH', () => {
    const r = rib({ clusterId: '10.255.0.1' });
    r.peerUp(ibgpPeer('192.0.2.1', true));
    r.peerUp(ibgpPeer('192.0.2.2', true));
    r.apply('192.0.2.1', announce(['10.7.0.0/24'], { nextHop: '192.0.2.1', asPath: [] }));
    r.apply('192.0.2.2', announce(['10.7.0.0/24'], { nextHop: '192.0.2.2', asPath: [] }));
    const tor = {};
    r.join(tor, '192.0.2.3', ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true }), ADD_PATH_FORMAT);
    const got = table(pull(r, tor, ADD_PATH_CTX));
    expect([...got.values()].map((a) => a.nextHop).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(new Set([...got.keys()]).size).toBe(2);
    const plain = {};
    r.join(plain, '192.0.2.4', ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true }), FORMAT);
    expect([...table(pull(r, plain)).values()].map((a) => a.nextHop)).toEqual(['192.0.2.1']);
    // One path goes: its path identifier alone is withdrawn.
    r.peerDown('192.0.2.2');
    const after = pull(r, tor, ADD_PATH_CTX);
    expect(after.flatMap((u) => u.withdrawnRoutes).map((p) => p.pathId)).toHaveLength(1);
    expect(after.flatMap((u) => u.nlri)).toEqual([]);
  });

  it('gives a member that sent one path of the multipath set the other paths only, with their path identifiers', () => {
    const r = rib({ clusterId: '10.255.0.1' });
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) r.peerUp(ibgpPeer(a, true));
    const clients = ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true });
    const c1 = {};
    const c2 = {};
    const tor = {};
    r.join(c1, '192.0.2.1', clients, ADD_PATH_FORMAT);
    r.join(c2, '192.0.2.2', clients, ADD_PATH_FORMAT);
    r.join(tor, '192.0.2.9', clients, ADD_PATH_FORMAT);
    expect(r.updateGroups).toBe(1);
    for (const m of [c1, c2, tor]) pull(r, m, ADD_PATH_CTX);
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) r.apply(a, announce(['10.7.0.0/24'], { nextHop: a, asPath: [] }));
    expect(r.routes()[0]?.paths.filter((p) => p.multipath)).toHaveLength(3);
    /** Path identifier → next hop, as the member holds it. */
    const held = (m: object): [number | undefined, string | undefined][] =>
      [...table(pull(r, m, ADD_PATH_CTX))].map(([k, e]): [number | undefined, string | undefined] => [Number(k.split('#')[1]), e.nextHop]).sort((x, y) => (x[1] ?? '').localeCompare(y[1] ?? ''));
    const all = held(tor);
    expect(all.map(([, nh]) => nh)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(new Set(all.map(([id]) => id)).size).toBe(3);
    const idOf = (nh: string): number | undefined => all.find(([, x]) => x === nh)?.[0];
    expect(held(c1)).toEqual([[idOf('192.0.2.2'), '192.0.2.2'], [idOf('192.0.2.3'), '192.0.2.3']]);
    expect(held(c2)).toEqual([[idOf('192.0.2.1'), '192.0.2.1'], [idOf('192.0.2.3'), '192.0.2.3']]);
    const adv = (m: object): [number | undefined, string][] => r.advertised(m).map((a): [number | undefined, string] => [a.prefix.pathId, a.nextHop]).sort((x, y) => x[1].localeCompare(y[1]));
    expect(adv(c1)).toEqual([[idOf('192.0.2.2'), '192.0.2.2'], [idOf('192.0.2.3'), '192.0.2.3']]);
    expect(adv(tor)).toEqual(all);
    // c2 withdraws its path: the others withdraw that path identifier; c2 is told nothing.
    r.apply('192.0.2.2', withdraw(['10.7.0.0/24']));
    const ids = (us: ReturnType<typeof pull>): [(number | undefined)[], (number | undefined)[]] => [us.flatMap((u) => u.withdrawnRoutes.map((p) => p.pathId)), us.flatMap((u) => u.nlri.map((p) => p.pathId))];
    expect(ids(pull(r, c1, ADD_PATH_CTX))).toEqual([[idOf('192.0.2.2')], []]);
    expect(ids(pull(r, tor, ADD_PATH_CTX))).toEqual([[idOf('192.0.2.2')], []]);
    expect(pull(r, c2, ADD_PATH_CTX)).toEqual([]);
    // c1's path changes: everyone but c1 hears of it, under the same identifier.
    r.apply('192.0.2.1', announce(['10.7.0.0/24'], { nextHop: '192.0.2.1', asPath: [], communities: [9] }));
    expect(pull(r, c1, ADD_PATH_CTX)).toEqual([]);
    for (const m of [c2, tor]) {
      const got = pull(r, m, ADD_PATH_CTX);
      expect(ids(got)).toEqual([[], [idOf('192.0.2.1')]]);
      expect(got[0]?.attributes.communities).toEqual([9]);
    }
    expect(adv(c1)).toEqual([[idOf('192.0.2.3'), '192.0.2.3']]);
    expect(adv(c2)).toEqual([[idOf('192.0.2.1'), '192.0.2.1'], [idOf('192.0.2.3'), '192.0.2.3']]);
  });
});

describe('Rib: origination', () => {
  it('setOriginated replaces the set: only the difference is sent', () => {
    const r = rib();
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    const attrs: PathAttributes = { origin: 0, asPath: [] };
    r.setOriginated('k8s', [{ prefix: parsePrefix('10.96.0.0/12'), attributes: attrs }, { prefix: parsePrefix('2001:db8:96::/112'), attributes: attrs }]);
    const first = table(pull(r, b));
    expect([...first.keys()].sort()).toEqual(['10.96.0.0/12', '2001:db8:96::/112']);
    expect(first.get('2001:db8:96::/112')?.mpNextHop).toBe('2001:db8::1');
    r.setOriginated('k8s', [{ prefix: parsePrefix('10.96.0.0/12'), attributes: attrs }, { prefix: parsePrefix('203.0.113.0/24'), attributes: attrs }]);
    const second = pull(r, b);
    expect(second.flatMap((u) => u.mpUnreach?.withdrawnRoutes ?? []).map(formatPrefix)).toEqual(['2001:db8:96::/112']);
    expect([...table(second).keys()]).toEqual(['203.0.113.0/24']);
    expect(r.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
  });
});

describe('Rib: origination by difference', () => {
  it('changeOriginated announces and withdraws only what it names, keeps the rest, and setOriginated afterwards still replaces by difference', () => {
    const r = rib();
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    const attrs: PathAttributes = { origin: 0, asPath: [] };
    const route = (p: string, a: PathAttributes = attrs) => ({ prefix: parsePrefix(p), attributes: a });
    r.setOriginated('k8s', [route('10.96.0.0/12'), route('203.0.113.1/32'), route('203.0.113.2/32')]);
    pull(r, b);
    r.changeOriginated('k8s', [route('203.0.113.3/32'), route('203.0.113.2/32', { ...attrs, communities: [7] })], [parsePrefix('203.0.113.1/32'), parsePrefix('198.51.100.9/32')]);
    const second = pull(r, b);
    expect(second.flatMap((u) => u.withdrawnRoutes ?? []).map(formatPrefix)).toEqual(['203.0.113.1/32']);
    const sent = table(second);
    expect([...sent.keys()].sort()).toEqual(['203.0.113.2/32', '203.0.113.3/32']);
    expect(sent.get('203.0.113.2/32')?.communities).toEqual([7]);
    expect(r.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual(['10.96.0.0/12', '203.0.113.2/32', '203.0.113.3/32']);
    // The set the change left is what the next complete set is compared with.
    r.setOriginated('k8s', [route('10.96.0.0/12'), route('203.0.113.2/32', { ...attrs, communities: [7] })]);
    expect(pull(r, b).flatMap((u) => u.withdrawnRoutes ?? []).map(formatPrefix)).toEqual(['203.0.113.3/32']);
    expect(r.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual(['10.96.0.0/12', '203.0.113.2/32']);
  });
});

describe('Rib: route refresh', () => {
  it('answers a request with the family\'s Adj-RIB-Out again; with enhanced route refresh between BoRR and EoRR (RFC 7313)', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.1.1.0/24'], { nextHop: '192.0.2.1' }));
    r.setOriginated('static', [{ prefix: parsePrefix('2001:db8:96::/112'), attributes: { origin: 0, asPath: [] } }]);
    const b = {};
    r.join(b, '192.0.2.102', ebgpPolicy(), FORMAT);
    pull(r, b);
    const kinds = (): string[] => {
      const out: string[] = [];
      for (let m = r.next(b), i = 0; m !== undefined && i < 100; m = r.next(b), i++) {
        const d = decodeMessage(m, CTX);
        if (d.type === MessageType.RouteRefresh) out.push(`refresh ${d.afi}/${d.safi} subtype ${d.subtype}`);
        else if (d.type === MessageType.Update) out.push(`update ${[...d.nlri, ...(d.mpReach?.nlri ?? [])].map(formatPrefix).join(' ')}${d.endOfRib === undefined ? '' : 'End-of-RIB'}`);
      }
      return out;
    };
    r.refresh(b, V4, false);
    expect(kinds()).toEqual(['update 10.1.0.0/24 10.1.1.0/24']);
    r.refresh(b, V6, true);
    expect(kinds()).toEqual(['refresh 2/1 subtype 1', 'update 2001:db8:96::/112', 'refresh 2/1 subtype 2']);
  });

  it('sweeps at EoRR what the peer did not send again after BoRR, and nothing it did', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'], { nextHop: '192.0.2.1' }));
    const b = {};
    r.join(b, '192.0.2.102', ebgpPolicy(), FORMAT);
    pull(r, b);
    r.beginRefresh('192.0.2.1', 1);
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    r.apply('192.0.2.1', announce(['10.1.1.0/24'], { nextHop: '192.0.2.1', communities: [5] }));
    // Re-sent unchanged: nothing goes out; changed: the change goes out.
    expect(pull(r, b).flatMap((u) => u.nlri.map(formatPrefix))).toEqual(['10.1.1.0/24']);
    expect(r.endRefresh('192.0.2.1', 1)).toBe(1);
    expect(pull(r, b).flatMap((u) => u.withdrawnRoutes.map(formatPrefix))).toEqual(['10.1.2.0/24']);
    expect(r.routes().map((e) => formatPrefix(e.prefix))).toEqual(['10.1.0.0/24', '10.1.1.0/24']);
    // No refresh in progress: EoRR alone sweeps nothing.
    expect(r.endRefresh('192.0.2.1', 1)).toBe(0);
  });
});
