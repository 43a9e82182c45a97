/**
 * Properties of the RIB driven by generated UPDATEs from a few peers (eBGP and iBGP, a route
 * reflector's clients, one ADD-PATH sender), with withdrawals, sessions going down and an
 * origination set:
 * (a) Loc-RIB depends only on the set of routes, not on the order they arrived in;
 * (b) a member of an update group, pulled at any points, ends up holding exactly what `exportRoute`
 *     makes of the current best route of every prefix, and that is what `advertised` says, except
 *     where that best route came from the member's own peer address: then nothing (never back to
 *     the sender, and never the second best instead);
 * (c) the same with ADD-PATH: exactly the exported multipath set less the member's own paths, one
 *     path identifier each;
 * (d) a member that joins late ends up with the same table as the first, but for their own routes;
 * (e) members of one policy at different peer addresses (eBGP peers in different ASes, clients of
 *     the reflector) share one update group, each holding the table for its own address.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Afi,
  AsPathSegmentType,
  type MessageContext,
  type PathAttributes,
  type Prefix,
  Safi,
  type UpdateMessage,
  MessageType,
  WellKnownCommunity,
  formatPrefix,
  normalizeAddress,
  parsePrefix,
} from '../../src/bgp/index.js';
import { type ExportPolicy, exportRoute } from '../../src/rib/export.js';
import type { LocRibEntry, PeerSourceInfo, Rib } from '../../src/rib/rib.js';
import type { Route, RouteSource } from '../../src/rib/route.js';
import type { SessionFormat } from '../../src/rib/update-group.js';
import {
  ADD_PATH_CTX,
  ADD_PATH_FORMAT,
  CTX,
  FORMAT,
  LOCAL_AS,
  type TableEntry,
  applyTo,
  decodeUpdate,
  ebgpPeer,
  ebgpPolicy,
  ibgpPeer,
  ibgpPolicy,
  prefixKey,
  rib,
} from '../helpers/rib.js';

const CLUSTER = '10.255.0.1';
const ROUTER_ID = '10.0.0.1';

// ------------------------------------------------------------------------------------------------
// The world: peers, prefixes, policies

const PEERS = {
  e1: ebgpPeer('192.0.2.1', 65001),
  e2: ebgpPeer('192.0.2.2', 65002),
  /** A second peer in AS 65001: its MED is compared with e1's. */
  e3: ebgpPeer('192.0.2.3', 65001),
  /** A client that sends two paths per prefix (ADD-PATH receive). */
  c1: ibgpPeer('192.0.2.11', true),
  c2: ibgpPeer('192.0.2.12', true),
  n1: ibgpPeer('192.0.2.21', false),
} as const satisfies Record<string, PeerSourceInfo>;
type PeerName = keyof typeof PEERS;
const PEER_NAMES = Object.keys(PEERS) as PeerName[];
const ADD_PATH_PEER: PeerName = 'c1';
const ORIGINATION = 'static';

const PREFIXES = ['10.1.0.0/24', '10.1.1.0/24', '10.2.0.0/16', '2001:db8:a::/48', '2001:db8:b::/48'].map((p) => parsePrefix(p));

/**
 * Export policies, each with the peer addresses its members may have (at least three, so that the
 * three members of a run always have distinct ones). Most are addresses of source peers above, so
 * members get their own routes held back; the peer's AS is no part of a policy, so eBGP members in
 * AS 65001 (e1, e3), 65002 (e2) and 65009 (192.0.2.4, no source) share one.
 */
interface PolicyCase {
  readonly policy: ExportPolicy;
  readonly addresses: readonly string[];
}
const POLICIES: Record<string, PolicyCase> = {
  'eBGP': { policy: ebgpPolicy(), addresses: [PEERS.e1.address, PEERS.e2.address, PEERS.e3.address, '192.0.2.4'] },
  'eBGP, Keep, per-peer local AS': { policy: ebgpPolicy({ nextHopMode: 'Keep', localAs: 65100 }), addresses: [PEERS.e2.address, PEERS.e1.address, '192.0.2.5'] },
  'iBGP, no reflection': { policy: ibgpPolicy(), addresses: [PEERS.n1.address, '192.0.2.22', '192.0.2.23'] },
  'iBGP non-client of the reflector': { policy: ibgpPolicy({ clusterId: CLUSTER }), addresses: [PEERS.n1.address, '192.0.2.22', '192.0.2.23'] },
  'clients (c1, the ADD-PATH sender, among them)': { policy: ibgpPolicy({ clusterId: CLUSTER, routeReflectorClient: true }), addresses: [PEERS.c1.address, PEERS.c2.address, '192.0.2.19'] },
  'clients, next hop self': { policy: ibgpPolicy({ clusterId: CLUSTER, routeReflectorClient: true, nextHopMode: 'Self', selfV6: '2001:db8::1' }), addresses: [PEERS.c2.address, PEERS.c1.address, '192.0.2.19'] },
};
const POLICY_NAMES = Object.keys(POLICIES);

// ------------------------------------------------------------------------------------------------
// Generated routes and changes

interface PathSpec {
  readonly peer: PeerName;
  readonly pathId?: number;
  readonly localPref?: number;
  /** ASes after the neighbour's own (eBGP) or the whole path (iBGP); 64512 makes a loop. */
  readonly asns: readonly number[];
  readonly med?: number;
  readonly origin: 0 | 1 | 2;
  readonly nextHop: 'peer' | 'third-party' | 'ours';
  readonly communities: readonly number[];
  /** Reflected before: ORIGINATOR_ID and CLUSTER_LIST (ours in it: a loop). */
  readonly reflected?: 'other-cluster' | 'our-cluster';
}

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/**
 * A path from `peer`. Narrow paths (for the ordering property) mostly tie on LOCAL_PREF, AS_PATH
 * length and ORIGIN, so MED, eBGP-over-iBGP, router ID and the rest decide often; ECMP paths tie on
 * everything but the peer (nodes announcing one service), so they form multipath sets.
 */
type Variety = 'wide' | 'narrow' | 'ecmp';
const pathSpec = (peer: PeerName, variety: Variety = 'wide'): fc.Arbitrary<PathSpec> => {
  const ibgp = !PEERS[peer].ebgp;
  const weighted = <T>(...choices: [number, T][]): fc.Arbitrary<T> => fc.oneof(...choices.map(([weight, v]) => ({ weight, arbitrary: fc.constant(v) })));
  const pathId = peer === ADD_PATH_PEER ? fc.constantFrom(1, 2) : fc.constant(undefined);
  if (variety === 'ecmp') {
    return fc.record({
      peer: fc.constant(peer),
      pathId,
      localPref: fc.constant(undefined),
      asns: fc.constant([]),
      med: fc.constant(undefined),
      origin: fc.constant(0 as const),
      nextHop: weighted<PathSpec['nextHop']>([3, 'peer'], [1, 'third-party']),
      communities: fc.constant([]),
      reflected: fc.constant(undefined),
    });
  }
  const narrow = variety === 'narrow';
  return fc.record({
    peer: fc.constant(peer),
    pathId,
    localPref: ibgp ? (narrow ? weighted<number | undefined>([4, undefined], [1, 200]) : optional(fc.constantFrom(100, 200))) : fc.constant(undefined),
    asns: narrow
      ? weighted<number[]>([6, []], [2, [65010]], [1, [65011]], [1, [LOCAL_AS]])
      : fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(65010, 65011) }, { weight: 1, arbitrary: fc.constant(LOCAL_AS) }), { maxLength: 2 }),
    med: optional(fc.constantFrom(0, 10, 20)),
    origin: narrow ? weighted<0 | 1 | 2>([6, 0], [1, 1], [1, 2]) : fc.constantFrom(0 as const, 1 as const, 2 as const),
    nextHop: weighted<PathSpec['nextHop']>([6, 'peer'], [3, 'third-party'], [1, 'ours']),
    communities: weighted<number[]>([5, []], [1, [WellKnownCommunity.NO_EXPORT]]),
    reflected: ibgp ? fc.constantFrom(undefined, undefined, 'other-cluster' as const, 'our-cluster' as const) : fc.constant(undefined),
  });
};
const pathOf = (varieties: readonly Variety[]): fc.Arbitrary<PathSpec> =>
  fc.tuple(fc.constantFrom(...PEER_NAMES), fc.constantFrom(...varieties)).chain(([peer, variety]) => pathSpec(peer, variety));

function attributesOf(s: PathSpec): PathAttributes {
  const info = PEERS[s.peer];
  const asns = info.ebgp ? [info.asn, ...s.asns] : [...s.asns];
  return {
    origin: s.origin,
    asPath: asns.length === 0 ? [] : [{ type: AsPathSegmentType.AsSequence, asns }],
    ...(s.med === undefined ? {} : { med: s.med }),
    ...(s.localPref === undefined ? {} : { localPref: s.localPref }),
    ...(s.communities.length === 0 ? {} : { communities: s.communities }),
    ...(s.reflected === undefined ? {} : { originatorId: '192.0.2.50', clusterList: [s.reflected === 'our-cluster' ? CLUSTER : '10.255.0.9'] }),
  };
}

function nextHopOf(s: PathSpec, v6: boolean): string {
  const last = PEERS[s.peer].address.split('.')[3] as string;
  if (s.nextHop === 'ours') return v6 ? '2001:db8::1' : ROUTER_ID;
  if (s.nextHop === 'third-party') return v6 ? `2001:db8:ff::${last}` : `198.51.100.${last}`;
  return v6 ? `2001:db8:1::${last}` : PEERS[s.peer].address;
}

/** One UPDATE announcing `prefixes` (both families possible) with the path of `s`. */
function announcement(s: PathSpec, prefixes: readonly Prefix[]): UpdateMessage {
  const withId = (p: Prefix): Prefix => (s.pathId === undefined ? p : parsePrefix(formatPrefix(p), s.pathId));
  const v4 = prefixes.filter((p) => p.afi === Afi.Ipv4).map(withId);
  const v6 = prefixes.filter((p) => p.afi === Afi.Ipv6).map(withId);
  const attributes = attributesOf(s);
  return {
    type: MessageType.Update,
    withdrawnRoutes: [],
    attributes: v4.length > 0 ? { ...attributes, nextHop: nextHopOf(s, false) } : attributes,
    nlri: v4,
    ...(v6.length > 0 ? { mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: nextHopOf(s, true), nlri: v6 } } : {}),
  };
}

function withdrawal(pathId: number | undefined, prefixes: readonly Prefix[]): UpdateMessage {
  const withId = (p: Prefix): Prefix => (pathId === undefined ? p : parsePrefix(formatPrefix(p), pathId));
  const v6 = prefixes.filter((p) => p.afi === Afi.Ipv6).map(withId);
  return {
    type: MessageType.Update,
    withdrawnRoutes: prefixes.filter((p) => p.afi === Afi.Ipv4).map(withId),
    attributes: {},
    nlri: [],
    ...(v6.length > 0 ? { mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: v6 } } : {}),
  };
}

const prefixSet = fc.subarray(PREFIXES, { minLength: 1 });

type Change =
  | { readonly kind: 'announce'; readonly path: PathSpec; readonly prefixes: readonly Prefix[] }
  | { readonly kind: 'withdraw'; readonly peer: PeerName; readonly pathId?: number; readonly prefixes: readonly Prefix[] }
  | { readonly kind: 'down'; readonly peer: PeerName }
  | { readonly kind: 'originate'; readonly prefixes: readonly Prefix[]; readonly communities: readonly number[] }
  | { readonly kind: 'change-origination'; readonly announce: readonly Prefix[]; readonly withdraw: readonly Prefix[]; readonly communities: readonly number[] };

const changeOf = (varieties: readonly Variety[]): fc.Arbitrary<Change> => fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('announce' as const), path: pathOf(varieties), prefixes: prefixSet }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...PEER_NAMES).chain((peer) =>
      fc.record({ kind: fc.constant('withdraw' as const), peer: fc.constant(peer), pathId: peer === ADD_PATH_PEER ? fc.constantFrom(1, 2) : fc.constant(undefined), prefixes: prefixSet }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('down' as const), peer: fc.constantFrom(...PEER_NAMES) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('originate' as const), prefixes: fc.subarray(PREFIXES, { maxLength: 2 }), communities: fc.constantFrom([] as number[], [WellKnownCommunity.NO_EXPORT]) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('change-origination' as const),
      announce: fc.subarray(PREFIXES, { maxLength: 2 }),
      withdraw: fc.subarray(PREFIXES, { maxLength: 2 }),
      communities: fc.constantFrom([] as number[], [WellKnownCommunity.NO_EXPORT]),
    }),
  },
);

/** The RIB with every peer up; `apply` brings a peer that went down back up first. */
class Driver {
  readonly down = new Set<PeerName>();
  constructor(readonly r: Rib) {
    for (const p of PEER_NAMES) r.peerUp(PEERS[p]);
  }

  private up(peer: PeerName): void {
    if (this.down.delete(peer)) this.r.peerUp(PEERS[peer]);
  }

  apply(c: Change): void {
    switch (c.kind) {
      case 'announce':
        this.up(c.path.peer);
        this.r.apply(PEERS[c.path.peer].address, announcement(c.path, c.prefixes));
        return;
      case 'withdraw':
        this.up(c.peer);
        this.r.apply(PEERS[c.peer].address, withdrawal(c.pathId, c.prefixes));
        return;
      case 'down':
        this.r.peerDown(PEERS[c.peer].address);
        this.down.add(c.peer);
        return;
      case 'originate':
        this.r.setOriginated(
          ORIGINATION,
          c.prefixes.map((prefix) => ({ prefix, attributes: { origin: 0, asPath: [], ...(c.communities.length === 0 ? {} : { communities: c.communities }) } })),
        );
        return;
      case 'change-origination':
        this.r.changeOriginated(
          ORIGINATION,
          c.announce.map((prefix) => ({ prefix, attributes: { origin: 0, asPath: [], ...(c.communities.length === 0 ? {} : { communities: c.communities }) } })),
          c.withdraw,
        );
        return;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// What a member should hold, and what it does hold

const SOURCES = new Map<string, RouteSource>([
  ...PEER_NAMES.map((p): [string, RouteSource] => {
    const i = PEERS[p];
    return [i.address, { kind: 'peer', address: i.address, asn: i.asn, bgpIdentifier: i.bgpIdentifier, ebgp: i.ebgp, routeReflectorClient: i.routeReflectorClient }];
  }),
  ['local', { kind: 'local', name: ORIGINATION }],
]);

/** A table entry with its next hops in canonical text, so addresses compare as addresses. */
function canonical(e: TableEntry): TableEntry {
  return {
    ...e,
    ...(e.nextHop === undefined ? {} : { nextHop: normalizeAddress(e.nextHop) }),
    ...(e.mpNextHop === undefined ? {} : { mpNextHop: normalizeAddress(e.mpNextHop) }),
  };
}

const sortedEntries = (entries: readonly TableEntry[]): string[] => entries.map((e) => JSON.stringify(canonical(e), Object.keys(canonical(e)).sort())).sort();

/**
 * What a member at peer address `address` should hold, by prefix: `exportRoute` of the best route
 * (one entry or none) without ADD-PATH, of every route of the multipath set with it, leaving out
 * the routes that came from `address` itself (without ADD-PATH: nothing for that prefix, not the
 * second best). `ownLeftOut`: how many routes the member would have got but for that rule;
 * `ownBesideOthers`: prefixes where it holds other routes beside its own left out (ADD-PATH).
 */
function expectedTable(
  entries: readonly LocRibEntry[],
  policy: ExportPolicy,
  addPath: boolean,
  address: string,
): { table: Map<string, string[]>; ownLeftOut: number; ownBesideOthers: number } {
  const table = new Map<string, string[]>();
  let ownLeftOut = 0;
  let ownBesideOthers = 0;
  for (const e of entries) {
    const v6 = e.prefix.afi === Afi.Ipv6;
    const chosen = e.paths.filter((p) => (addPath ? p.multipath : p.best));
    const exported: TableEntry[] = [];
    let own = 0;
    for (const p of chosen) {
      const source = SOURCES.get(p.from);
      if (source === undefined) throw new Error(`unknown source ${p.from}`);
      const route: Route = { attributes: p.attributes, nextHop: p.nextHop, source, pathId: p.pathId };
      const res = exportRoute(route, v6, policy);
      if (!res.ok) continue;
      if (source.kind === 'peer' && source.address === address) {
        own++;
        continue;
      }
      exported.push(res.value.mp === undefined ? res.value.attributes : { ...res.value.attributes, mpNextHop: res.value.mp.nextHop });
    }
    ownLeftOut += own;
    if (own > 0 && exported.length > 0) ownBesideOthers++;
    if (exported.length > 0) table.set(formatPrefix(e.prefix), sortedEntries(exported));
  }
  return { table, ownLeftOut, ownBesideOthers };
}

/** A member's table grouped by prefix (path identifiers dropped, one entry per identifier kept). */
function byPrefix(t: ReadonlyMap<string, TableEntry>): Map<string, string[]> {
  const groups = new Map<string, TableEntry[]>();
  for (const [key, entry] of t) {
    const prefix = key.split('#')[0] as string;
    groups.set(prefix, [...(groups.get(prefix) ?? []), entry]);
  }
  return new Map([...groups].map(([p, es]) => [p, sortedEntries(es)]));
}

/** `rib.advertised(member)` as a table keyed like the member's. */
function advertisedTable(r: Rib, member: object): Map<string, TableEntry> {
  const t = new Map<string, TableEntry>();
  for (const a of r.advertised(member)) {
    t.set(prefixKey(a.prefix), a.attributes.nextHop === undefined ? { ...a.attributes, mpNextHop: a.nextHop } : a.attributes);
  }
  return t;
}

const sortedMap = <V>(m: ReadonlyMap<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const canonicalTable = (t: ReadonlyMap<string, TableEntry>): [string, string][] => sortedMap(t).map(([k, e]) => [k, sortedEntries([e])[0] as string]);

/** A session of an update group, at its peer address, and the table it holds from what it was sent. */
class Member {
  readonly table = new Map<string, TableEntry>();
  messages = 0;
  /** Check points at which the member's own route was held back from it. */
  ownLeftOut = 0;
  /** Check points at which it held other paths of a prefix beside its own, held back (ADD-PATH). */
  ownBesideOthers = 0;
  constructor(
    readonly r: Rib,
    readonly ctx: MessageContext,
    readonly address: string,
  ) {}

  /** Reads up to `n` messages; returns whether it read everything there was. */
  pull(n: number): boolean {
    for (let i = 0; i < n; i++) {
      const b = this.r.next(this);
      if (b === undefined) return true;
      applyTo(this.table, decodeUpdate(b, this.ctx));
      this.messages++;
    }
    return false;
  }

  pullAll(): void {
    // A generous bound: far more messages than a few prefixes can ever need.
    if (!this.pull(10_000)) throw new Error('more than 10000 messages');
  }
}

function checkMember(r: Rib, m: Member, policy: ExportPolicy, addPath: boolean): void {
  const expected = expectedTable(r.routes(), policy, addPath, m.address);
  if (expected.ownLeftOut > 0) m.ownLeftOut++;
  if (expected.ownBesideOthers > 0) m.ownBesideOthers++;
  expect(sortedMap(byPrefix(m.table))).toEqual(sortedMap(expected.table));
  expect(canonicalTable(advertisedTable(r, m))).toEqual(canonicalTable(m.table));
  // The size kept without a walk is what the member holds.
  const size = r.advertisedCount(m);
  expect(size.ipv4 + size.ipv6).toBe(m.table.size);
  if (!addPath) for (const key of m.table.keys()) expect(key).not.toContain('#');
  else for (const key of m.table.keys()) expect(key).toMatch(/#\d+$/);
  // One prefix's view (`kbgp routes --advertised/--received PREFIX`, a lookup) is the whole
  // view's entries for that prefix, every path of it; a prefix nobody holds gives nothing.
  const at = (p: Prefix) => (x: { prefix: Prefix }): boolean => formatPrefix(x.prefix) === formatPrefix(p);
  for (const p of [...r.routes().map((e) => e.prefix), parsePrefix('198.51.100.0/24')]) {
    expect(r.advertisedAt(m, p)).toEqual(r.advertised(m).filter(at(p)));
    for (const name of PEER_NAMES) expect(r.received(PEERS[name].address, p)).toEqual(r.received(PEERS[name].address).filter(at(p)));
  }
}

/**
 * Two members of one group agree on every key both hold: the same prefix (and path identifier)
 * is the same route, exported the same way. Keys one of them lacks are its own routes, which the
 * model check of each covers.
 */
function expectAgree(a: Member, b: Member): void {
  const shared = canonicalTable(a.table).filter(([k]) => b.table.has(k));
  expect(shared).toEqual(canonicalTable(b.table).filter(([k]) => a.table.has(k)));
}

// ------------------------------------------------------------------------------------------------
// (a) Loc-RIB is independent of arrival order

/** Loc-RIB as data: prefix → ordered (from, pathId, best, multipath, ineligible). */
function locRib(r: Rib): [string, [string, number, boolean, boolean, string][]][] {
  const entries = r.routes();
  // The counters kept without a walk agree with the walk.
  const best = (afi: number): number => entries.filter((e) => e.prefix.afi === afi && e.paths.some((p) => p.best)).length;
  expect(r.locRib).toEqual({ ipv4: best(1), ipv6: best(2) });
  return entries.map((e) => [formatPrefix(e.prefix), e.paths.map((p) => [p.from, p.pathId, p.best, p.multipath, p.ineligible ?? ''])]);
}

/** Few prefixes, so that many routes compete for each. */
const ORDER_PREFIXES = [PREFIXES[0], PREFIXES[3]] as Prefix[];

interface Placed {
  readonly path: PathSpec;
  readonly prefix: Prefix;
}

/** A set of routes, at most one per (peer, path ID, prefix), and an origination of some prefixes. */
const routeSet = fc.record({
  routes: fc.uniqueArray(
    fc.record({ path: fc.constantFrom(...PEER_NAMES).chain((p) => pathSpec(p, 'narrow')), prefix: fc.constantFrom(...ORDER_PREFIXES) }),
    { selector: (x: Placed) => `${x.path.peer}|${x.path.pathId ?? 0}|${formatPrefix(x.prefix)}`, minLength: 3, maxLength: 14 },
  ),
  originated: fc.subarray(PREFIXES, { maxLength: 2 }),
});

function buildInOrder(options: { maxPaths: number; alwaysCompareMed: boolean }, routes: readonly Placed[], originated: readonly Prefix[], originateAt: number): Rib {
  const r = rib({ clusterId: CLUSTER, routerId: ROUTER_ID, ...options });
  const d = new Driver(r);
  routes.forEach((x, i) => {
    if (i === originateAt) d.apply({ kind: 'originate', prefixes: originated, communities: [] });
    d.apply({ kind: 'announce', path: x.path, prefixes: [x.prefix] });
  });
  if (originateAt >= routes.length) d.apply({ kind: 'originate', prefixes: originated, communities: [] });
  return r;
}

const orderProperty = (alwaysCompareMed: fc.Arbitrary<boolean>) =>
  fc.property(
    routeSet.chain(({ routes, originated }) =>
      fc.record({
        routes: fc.constant(routes),
        originated: fc.constant(originated),
        shuffled: fc.shuffledSubarray(routes, { minLength: routes.length, maxLength: routes.length }),
        at: fc.tuple(fc.nat({ max: routes.length }), fc.nat({ max: routes.length })),
        maxPaths: fc.constantFrom(1, 2, 4),
        alwaysCompareMed,
      }),
    ),
    ({ routes, originated, shuffled, at, maxPaths, alwaysCompareMed }) => {
      const a = buildInOrder({ maxPaths, alwaysCompareMed }, routes, originated, at[0]);
      const b = buildInOrder({ maxPaths, alwaysCompareMed }, shuffled, originated, at[1]);
      expect(locRib(b)).toEqual(locRib(a));
    },
  );

describe('Rib properties: Loc-RIB does not depend on arrival order', () => {
  it('with always-compare-med: every insertion order of one set of routes gives the same Loc-RIB', () => {
    fc.assert(orderProperty(fc.constant(true)), { numRuns: 300 });
  });

  it('with MED compared within a neighbouring AS only (RFC 4271 §9.1.2.2 c): every insertion order gives the same Loc-RIB', () => {
    // Many runs: an order-dependent result needs three routes in a MED cycle on one prefix.
    fc.assert(orderProperty(fc.constant(false)), { numRuns: 1000 });
  });

  // The smallest case of the above: B beats A on MED (both from AS 65001), A beats C and C beats B
  // on router ID (MED is not compared across ASes): a cycle, so a sort would pick by arrival. RFC 4271 §9.1.2.2 c first
  // removes A (B has a lower MED from the same AS), then C beats B on router ID: C is the best
  // route, whatever the order the three arrived in.
  it.each([
    ['A, B, C', ['a', 'b', 'c']],
    ['A, C, B', ['a', 'c', 'b']],
    ['B, A, C', ['b', 'a', 'c']],
    ['B, C, A', ['b', 'c', 'a']],
    ['C, A, B', ['c', 'a', 'b']],
    ['C, B, A', ['c', 'b', 'a']],
  ])('the MED cycle: arriving %s, the best route is the one RFC 4271 §9.1.2.2 picks', (_name, order) => {
    const r = rib({ maxPaths: 1 });
    const peers = {
      a: ebgpPeer('192.0.2.1', 65001),
      b: ebgpPeer('192.0.2.3', 65001),
      c: ebgpPeer('192.0.2.2', 65002),
    };
    const meds = { a: 10, b: 5, c: 0 };
    for (const info of Object.values(peers)) r.peerUp(info);
    for (const name of order as (keyof typeof peers)[]) {
      const info = peers[name];
      r.apply(info.address, {
        type: MessageType.Update,
        withdrawnRoutes: [],
        attributes: { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [info.asn] }], med: meds[name], nextHop: info.address },
        nlri: [parsePrefix('10.1.0.0/24')],
      });
    }
    expect(r.routes()[0]?.paths.find((p) => p.best)?.from).toBe('192.0.2.2');
  });
});

// ------------------------------------------------------------------------------------------------
// (b), (c), (d): what a member is sent

type Step =
  | { readonly kind: 'change'; readonly change: Change }
  /** Member 0 (the first), 1 (the late joiner, once joined) or 2 (another group's) reads up to n messages. */
  | { readonly kind: 'pull'; readonly who: 0 | 1 | 2; readonly n: number }
  | { readonly kind: 'join-second' }
  /** The other member's session goes down and comes back: a new member, from an empty table. */
  | { readonly kind: 'bounce-other' };

const stepOf = (varieties: readonly Variety[]): fc.Arbitrary<Step> => fc.oneof(
  { weight: 5, arbitrary: changeOf(varieties).map((c): Step => ({ kind: 'change', change: c })) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pull' as const), who: fc.constantFrom(0 as const, 1 as const, 2 as const), n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'join-second' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bounce-other' as const }) },
);

/**
 * Half the scenarios mix every kind of path; the other half are mostly a cluster's nodes
 * announcing the same services (ECMP), where multipath sets and ADD-PATH matter.
 */
const scenario = fc.constantFrom<readonly Variety[]>(['wide', 'narrow', 'ecmp'], ['ecmp', 'ecmp', 'ecmp', 'narrow']).chain((varieties) =>
  fc.record({
    policy: fc.constantFrom(...POLICY_NAMES),
    /** A member of another update group meanwhile (the same one when the names are equal). */
    otherPolicy: fc.constantFrom(...POLICY_NAMES),
    /** Which of its policy's addresses each member has: first, second, other (all distinct). */
    picks: fc.tuple(fc.nat({ max: 11 }), fc.nat({ max: 11 }), fc.nat({ max: 11 })),
    maxPaths: fc.constantFrom(1, 2, 4),
    alwaysCompareMed: fc.boolean(),
    /** Changes before the first member joins. */
    before: fc.array(changeOf(varieties), { maxLength: 4, size: 'max' }),
    steps: fc.array(stepOf(varieties), { minLength: 4, maxLength: 30, size: 'max' }),
  }),
);

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** How much the runs exercised, counted over all of them. */
interface Coverage {
  /** Runs that ended with routes at the member. */
  held: number;
  /** Runs that ended with several paths for one prefix at the member. */
  multipath: number;
  lateJoins: number;
  /** Runs in which, at some check point, a member's own route was held back from it (the sender rule). */
  sender: number;
  /** Runs in which, at some check point, a member held other paths of a prefix beside its own (ADD-PATH). */
  senderAmongPaths: number;
}

/** The address `pick` chooses among `c`'s addresses not in `taken`. */
function addressFor(c: PolicyCase, pick: number, taken: readonly string[]): string {
  const free = c.addresses.filter((a) => !taken.includes(a));
  const a = free[pick % free.length];
  if (a === undefined) throw new Error('no free address');
  return a;
}

function runScenario(s: Scenario, format: SessionFormat, ctx: MessageContext, coverage: Coverage): void {
  const addPath = format.addPathSend.size > 0;
  const policyCase = POLICIES[s.policy] as PolicyCase;
  const otherCase = POLICIES[s.otherPolicy] as PolicyCase;
  const policy = policyCase.policy;
  const firstAddress = addressFor(policyCase, s.picks[0], []);
  const secondAddress = addressFor(policyCase, s.picks[1], [firstAddress]);
  const otherAddress = addressFor(otherCase, s.picks[2], [firstAddress, secondAddress]);
  const r = rib({ clusterId: CLUSTER, routerId: ROUTER_ID, maxPaths: s.maxPaths, alwaysCompareMed: s.alwaysCompareMed });
  const d = new Driver(r);
  for (const c of s.before) d.apply(c);
  const first = new Member(r, ctx, firstAddress);
  r.join(first, first.address, policy, format);
  const otherPolicy = otherCase.policy;
  let other = new Member(r, ctx, otherAddress);
  r.join(other, other.address, otherPolicy, format);
  const others = [other];
  let second: Member | undefined;
  for (const st of s.steps) {
    if (st.kind === 'change') d.apply(st.change);
    else if (st.kind === 'bounce-other') {
      r.leave(other);
      expect(r.next(other)).toBeUndefined();
      other = new Member(r, ctx, otherAddress);
      others.push(other);
      r.join(other, other.address, otherPolicy, format);
    } else if (st.kind === 'join-second') {
      if (second === undefined) {
        second = new Member(r, ctx, secondAddress);
        r.join(second, second.address, policy, format);
      }
    } else {
      const m = [first, second, other][st.who];
      if (m === undefined) continue;
      if (st.n === Infinity) {
        m.pullAll();
        // Read to the end: it holds what Loc-RIB says now.
        checkMember(r, m, m === other ? otherPolicy : policy, addPath);
      } else m.pull(st.n);
    }
  }
  if (second === undefined) {
    second = new Member(r, ctx, secondAddress);
    r.join(second, second.address, policy, format);
  } else coverage.lateJoins++;
  first.pullAll();
  second.pullAll();
  other.pullAll();
  expect(r.updateGroups).toBe(s.policy === s.otherPolicy ? 1 : 2);
  checkMember(r, first, policy, addPath);
  checkMember(r, other, otherPolicy, addPath);
  checkMember(r, second, policy, addPath);
  expectAgree(second, first);
  if (s.policy === s.otherPolicy) expectAgree(other, first);
  if ([first, second, ...others].some((m) => m.ownLeftOut > 0)) coverage.sender++;
  if ([first, second, ...others].some((m) => m.ownBesideOthers > 0)) coverage.senderAmongPaths++;
  if (first.table.size > 0) coverage.held++;
  const most = Math.max(0, ...[...byPrefix(first.table).values()].map((paths) => paths.length));
  if (most > 1) coverage.multipath++;
}

describe('Rib properties: what a member of an update group is sent', () => {
  it('without ADD-PATH: the export of every prefix\'s best route, whenever it pulls; advertised() agrees; a late joiner agrees', () => {
    const coverage: Coverage = { held: 0, multipath: 0, lateJoins: 0, sender: 0, senderAmongPaths: 0 };
    fc.assert(
      fc.property(scenario, (s) => runScenario(s, FORMAT, CTX, coverage)),
      { numRuns: 150 },
    );
    // The runs were not vacuous: most ended with routes at the member, many with a late joiner,
    // many had a member's own best route held back from it.
    expect(coverage.held).toBeGreaterThan(75);
    expect(coverage.lateJoins).toBeGreaterThan(50);
    expect(coverage.sender).toBeGreaterThan(25);
  });

  it('with ADD-PATH: exactly the exported multipath set, one path identifier each; advertised() agrees; a late joiner agrees', () => {
    const coverage: Coverage = { held: 0, multipath: 0, lateJoins: 0, sender: 0, senderAmongPaths: 0 };
    fc.assert(
      fc.property(scenario, (s) => runScenario(s, ADD_PATH_FORMAT, ADD_PATH_CTX, coverage)),
      { numRuns: 150 },
    );
    // Not vacuous: routes held, several paths of one prefix held in some runs, late joiners, own
    // paths held back, some of them while the member held the other paths of the same prefix.
    expect(coverage.held).toBeGreaterThan(75);
    expect(coverage.multipath).toBeGreaterThan(5);
    expect(coverage.lateJoins).toBeGreaterThan(50);
    expect(coverage.sender).toBeGreaterThan(25);
    expect(coverage.senderAmongPaths).toBeGreaterThan(4);
  });

  it('a scenario that changes nothing sends nothing but End-of-RIB', () => {
    const r = rib({ clusterId: CLUSTER });
    new Driver(r);
    const c = POLICIES[POLICY_NAMES[0] as string] as PolicyCase;
    const m = new Member(r, CTX, c.addresses[0] as string);
    r.join(m, m.address, c.policy, FORMAT);
    m.pullAll();
    expect([m.messages, m.table.size]).toEqual([2, 0]);
  });
});

// ------------------------------------------------------------------------------------------------
// (e) One policy, members at different peer addresses: one update group

/**
 * Two members of one policy: eBGP peers in different ASes (e1 in 65001, e3 in 65001, e2 in 65002,
 * 192.0.2.4 in 65009 with no routes of its own), or two clients of the reflector.
 */
const PAIRS: readonly [string, string, string][] = [
  ['eBGP', PEERS.e1.address, PEERS.e2.address],
  ['eBGP', PEERS.e3.address, PEERS.e2.address],
  ['eBGP', PEERS.e1.address, '192.0.2.4'],
  ['eBGP, Keep, per-peer local AS', PEERS.e2.address, PEERS.e1.address],
  ['clients (c1, the ADD-PATH sender, among them)', PEERS.c1.address, PEERS.c2.address],
  ['clients, next hop self', PEERS.c2.address, '192.0.2.19'],
];

type PairStep = { readonly kind: 'change'; readonly change: Change } | { readonly kind: 'pull'; readonly who: 0 | 1; readonly n: number };

const pairScenario = fc.constantFrom<readonly Variety[]>(['wide', 'narrow', 'ecmp'], ['ecmp', 'ecmp', 'narrow']).chain((varieties) =>
  fc.record({
    pair: fc.constantFrom(...PAIRS),
    addPath: fc.boolean(),
    maxPaths: fc.constantFrom(1, 2, 4),
    before: fc.array(changeOf(varieties), { maxLength: 4, size: 'max' }),
    steps: fc.array(
      fc.oneof(
        { weight: 5, arbitrary: changeOf(varieties).map((c): PairStep => ({ kind: 'change', change: c })) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('pull' as const), who: fc.constantFrom(0 as const, 1 as const), n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)) }) },
      ),
      { minLength: 4, maxLength: 30, size: 'max' },
    ),
    /** The step before which the second member joins (past the end: after the last). */
    secondJoinsAt: fc.nat({ max: 30 }),
  }),
);

describe('Rib properties: one policy, different peer addresses', () => {
  it('members share one update group whatever their peer AS or client address, each holding the table for its own address', () => {
    let sender = 0;
    let held = 0;
    fc.assert(
      fc.property(pairScenario, (s) => {
        const [name, address0, address1] = s.pair;
        const { policy } = POLICIES[name] as PolicyCase;
        const format = s.addPath ? ADD_PATH_FORMAT : FORMAT;
        const ctx = s.addPath ? ADD_PATH_CTX : CTX;
        const r = rib({ clusterId: CLUSTER, routerId: ROUTER_ID, maxPaths: s.maxPaths });
        const d = new Driver(r);
        for (const c of s.before) d.apply(c);
        const members: [Member, Member] = [new Member(r, ctx, address0), new Member(r, ctx, address1)];
        let joined = 1;
        r.join(members[0], address0, policy, format);
        s.steps.forEach((st, i) => {
          if (i === s.secondJoinsAt) {
            r.join(members[1], address1, policy, format);
            joined = 2;
          }
          if (st.kind === 'change') {
            d.apply(st.change);
            return;
          }
          const m = members[st.who];
          if (st.who >= joined) return;
          if (st.n !== Infinity) {
            m.pull(st.n);
            return;
          }
          m.pullAll();
          checkMember(r, m, policy, s.addPath);
        });
        if (joined < 2) r.join(members[1], address1, policy, format);
        expect(r.updateGroups).toBe(1);
        for (const m of members) {
          m.pullAll();
          checkMember(r, m, policy, s.addPath);
        }
        expectAgree(members[0], members[1]);
        if (members.some((m) => m.ownLeftOut > 0)) sender++;
        if (members.some((m) => m.table.size > 0)) held++;
      }),
      { numRuns: 150 },
    );
    // Not vacuous: routes held, and a member's own route held back from it, in many runs.
    expect(held).toBeGreaterThan(75);
    expect(sender).toBeGreaterThan(35);
  });
});
