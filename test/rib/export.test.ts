/**
 * The export rules of `exportRoute(route, v6, policy)` as tables: (route, where it came from, the
 * peer's policy) → not sent, with the rule that refused it, or sent with exactly these attributes
 * and next hop. Every route is deep-frozen, so a rule that edits the RIB's copy throws.
 */
import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, type AsPathSegment, type PathAttributes, WellKnownCommunity, parsePrefix } from '../../src/bgp/index.js';
import { type ExportPolicy, type ExportResult, type NotExported, exportRoute } from '../../src/rib/export.js';
import type { Route, RouteSource } from '../../src/rib/route.js';

const LOCAL_AS = 64512;
const CLUSTER = '10.255.0.1';
const { NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED } = WellKnownCommunity;
const seq = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.AsSequence, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.AsSet, asns });

function deepFreeze<T>(o: T): T {
  // Typed arrays (IPv6 prefix addresses) cannot be frozen; nothing here writes to them.
  if (typeof o === 'object' && o !== null && !ArrayBuffer.isView(o) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

// Sources. The eBGP peer E1 (AS 65001) sits on 192.0.2.0/24; the eBGP target shares
// 198.51.100.0/24 with this node (its selfV4 198.51.100.1), the third-party subnet.
const E1: RouteSource = { kind: 'peer', address: '192.0.2.1', asn: 65001, bgpIdentifier: '192.0.2.1', ebgp: true, routeReflectorClient: false };
/** Another peer in E1's AS. */
const E3: RouteSource = { kind: 'peer', address: '192.0.2.3', asn: 65001, bgpIdentifier: '192.0.2.3', ebgp: true, routeReflectorClient: false };
const C1: RouteSource = { kind: 'peer', address: '10.0.1.1', asn: LOCAL_AS, bgpIdentifier: '1.1.1.1', ebgp: false, routeReflectorClient: true };
const N1: RouteSource = { kind: 'peer', address: '10.0.2.1', asn: LOCAL_AS, bgpIdentifier: '2.2.2.2', ebgp: false, routeReflectorClient: false };
const LOCAL: RouteSource = { kind: 'local', name: 'k8s' };

const route = (source: RouteSource, attributes: PathAttributes, nextHop: string, extra: Partial<Route> = {}): Route => deepFreeze({ attributes, nextHop, source, ...extra });

/** As an eBGP peer sends it: no LOCAL_PREF. */
const E_ATTRS: PathAttributes = { origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001] };
const fromE1 = (a: Partial<PathAttributes> = {}, nextHop = '192.0.2.1', extra: Partial<Route> = {}): Route => route(E1, { ...E_ATTRS, ...a }, nextHop, extra);
/** As an iBGP peer sends it: LOCAL_PREF and MED set inside the AS, an empty AS_PATH. */
const I_ATTRS: PathAttributes = { origin: 0, asPath: [], localPref: 150, med: 20 };
const fromC1 = (a: Partial<PathAttributes> = {}, nextHop = '10.0.1.1'): Route => route(C1, { ...I_ATTRS, ...a }, nextHop);
const fromN1 = (a: Partial<PathAttributes> = {}, nextHop = '10.0.2.1'): Route => route(N1, { ...I_ATTRS, ...a }, nextHop);
/** As `localRoute` makes it, with no next hop of its own. */
const local = (a: Partial<PathAttributes> = {}): Route => route(LOCAL, { origin: 0, asPath: [], ...a }, '');

const toEbgp = (o: Partial<ExportPolicy> = {}): ExportPolicy =>
  deepFreeze({
    localAs: LOCAL_AS,
    ebgp: true,
    routeReflectorClient: false,
    nextHopMode: 'Auto',
    selfV4: '198.51.100.1',
    selfV6: '2001:db8:51::1',
    sharedSubnets: [parsePrefix('198.51.100.0/24'), parsePrefix('2001:db8:51::/64')],
    ...o,
  });
const toIbgp = (o: Partial<ExportPolicy> = {}): ExportPolicy =>
  deepFreeze({ localAs: LOCAL_AS, ebgp: false, routeReflectorClient: false, nextHopMode: 'Auto', selfV4: '10.0.0.1', selfV6: '2001:db8::1', ...o });
/**
 * This node as a route reflector towards its clients. The policy names no client: every client
 * shares it (and one update group), and the group keeps a client's own routes from it.
 */
const toClient = (o: Partial<ExportPolicy> = {}): ExportPolicy => toIbgp({ clusterId: CLUSTER, routeReflectorClient: true, ...o });
const toNonClient = (o: Partial<ExportPolicy> = {}): ExportPolicy => toIbgp({ clusterId: CLUSTER, ...o });

const sent = (attributes: PathAttributes, mp?: string): ExportResult => ({ ok: true, value: mp === undefined ? { attributes } : { attributes, mp: { nextHop: mp } } });

describe('exportRoute: not sent', () => {
  const rows: [string, Route, boolean, ExportPolicy, NotExported][] = [
    ['iBGP-learned to an iBGP peer, no route reflection (split horizon)', fromN1(), false, toIbgp(), 'ibgp-split-horizon'],
    ['a client\'s route to an iBGP peer when this node is no reflector', fromC1(), false, toIbgp(), 'ibgp-split-horizon'],
    ['a client\'s route to a "client" when this node has no cluster ID', fromC1(), false, toIbgp({ routeReflectorClient: true }), 'ibgp-split-horizon'],
    ['non-client to non-client on a reflector', fromN1(), false, toNonClient(), 'not-reflected'],
    ['non-client to non-client on a reflector, IPv6', route(N1, I_ATTRS, '2001:db8:2::1'), true, toNonClient(), 'not-reflected'],
    ['NO_ADVERTISE, originated, to iBGP', local({ communities: [NO_ADVERTISE] }), false, toIbgp(), 'no-advertise'],
    ['NO_ADVERTISE, eBGP-learned, to eBGP', fromE1({ communities: [1, NO_ADVERTISE] }), false, toEbgp(), 'no-advertise'],
    ['NO_ADVERTISE, eBGP-learned, to iBGP', fromE1({ communities: [NO_ADVERTISE] }), false, toIbgp(), 'no-advertise'],
    ['NO_ADVERTISE, client route, to clients', fromC1({ communities: [NO_ADVERTISE] }), false, toClient(), 'no-advertise'],
    ['NO_ADVERTISE wins over split horizon', fromN1({ communities: [NO_ADVERTISE] }), false, toIbgp(), 'no-advertise'],
    ['NO_EXPORT, eBGP-learned, to eBGP', fromE1({ communities: [NO_EXPORT] }), false, toEbgp(), 'no-export'],
    ['NO_EXPORT, originated, to eBGP', local({ communities: [NO_EXPORT] }), false, toEbgp(), 'no-export'],
    ['NO_EXPORT, iBGP-learned, IPv6, to eBGP', route(C1, { ...I_ATTRS, communities: [NO_EXPORT] }, '2001:db8:1::1'), true, toEbgp(), 'no-export'],
    ['NO_EXPORT_SUBCONFED, eBGP-learned, to eBGP', fromE1({ communities: [NO_EXPORT_SUBCONFED] }), false, toEbgp(), 'no-export'],
    ['an originated IPv4 route without an IPv4 address towards the peer', local(), false, toIbgp({ selfV4: undefined }), 'no-next-hop'],
    ['an originated IPv6 route without any address towards the peer', local(), true, toEbgp({ selfV4: undefined, selfV6: undefined }), 'no-next-hop'],
    ['next hop self (Auto to eBGP, off the shared subnet) without an IPv4 address', fromE1(), false, toEbgp({ selfV4: undefined }), 'no-next-hop'],
    ['next hop Self to iBGP without an IPv4 address', fromE1(), false, toIbgp({ nextHopMode: 'Self', selfV4: undefined }), 'no-next-hop'],
    ['an IPv6 next hop on an IPv4 route, Keep, no extended next hop, no IPv4 address', fromE1({}, '2001:db8:1::1'), false, toEbgp({ nextHopMode: 'Keep', selfV4: undefined }), 'no-next-hop'],
  ];

  it('has rows', () => expect(rows.length).toBe(19));

  it.each(rows)('%s', (_name, r, v6, policy, reason) => {
    expect(exportRoute(r, v6, policy)).toStrictEqual({ ok: false, reason });
  });
});

describe('exportRoute: sent towards eBGP', () => {
  const rows: [string, Route, boolean, ExportPolicy, ExportResult][] = [
    // AS_PATH, LOCAL_PREF, MED and the reflection attributes.
    [
      'eBGP-learned: own AS prepended, MED not passed on, next hop self, communities kept',
      fromE1(),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'eBGP-learned with a per-peer local AS: that AS prepended',
      fromE1(),
      false,
      toEbgp({ localAs: 65100 }),
      sent({ origin: 0, asPath: [seq(65100, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'iBGP-learned (reflected before): LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST stripped, MED kept',
      fromN1({ asPath: [seq(65020)], originatorId: '9.9.9.9', clusterList: ['10.255.0.9'] }),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65020)], med: 20, nextHop: '198.51.100.1' }),
    ],
    [
      'iBGP-learned from a client on a reflector: nothing of reflection goes out',
      fromC1(),
      false,
      toEbgp({ clusterId: CLUSTER }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)], med: 20, nextHop: '198.51.100.1' }),
    ],
    [
      'originated: AS_PATH is our AS alone, MED set here kept, LOCAL_PREF stripped',
      local({ med: 5, localPref: 300, communities: [1, 2] }),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)], med: 5, communities: [1, 2], nextHop: '198.51.100.1' }),
    ],
    [
      'originated with a per-peer local AS',
      local(),
      false,
      toEbgp({ localAs: 65100 }),
      sent({ origin: 0, asPath: [seq(65100)], nextHop: '198.51.100.1' }),
    ],
    [
      'a path without AS_PATH at all gets a one-AS sequence',
      route(LOCAL, { origin: 2 }, ''),
      false,
      toEbgp(),
      sent({ origin: 2, asPath: [seq(LOCAL_AS)], nextHop: '198.51.100.1' }),
    ],
    [
      'an AS_SET first: a new AS_SEQUENCE in front of it',
      fromE1({ asPath: [set(65001, 65003), seq(65010)] }),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS), set(65001, 65003), seq(65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'a full (255) first AS_SEQUENCE: a new segment in front',
      fromE1({ asPath: [seq(...Array.from({ length: 255 }, (_, i) => 65001 + i)), seq(7)] }),
      false,
      toEbgp(),
      sent({
        origin: 0,
        asPath: [seq(LOCAL_AS), seq(...Array.from({ length: 255 }, (_, i) => 65001 + i)), seq(7)],
        communities: [0xfde80001],
        nextHop: '198.51.100.1',
      }),
    ],
    [
      'a 254-long first AS_SEQUENCE: filled up to 255',
      fromE1({ asPath: [seq(...Array.from({ length: 254 }, (_, i) => 65001 + i))] }),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, ...Array.from({ length: 254 }, (_, i) => 65001 + i))], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'communities other than the three (BLACKHOLE included) pass to eBGP unchanged',
      fromE1({ communities: [0xfde80002, 0xffff029a] }),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80002, 0xffff029a], nextHop: '198.51.100.1' }),
    ],
    // The peer's AS does not matter here: peers in the sender's AS get the route and drop it as an
    // AS_PATH loop (RFC 4271 §9.1.2), as from BIRD and FRR; the sender itself is left out by its group.
    [
      'eBGP-learned from a second peer of the sender\'s AS: sent as E1\'s, the source\'s address and AS play no part',
      route(E3, E_ATTRS, '192.0.2.3'),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'eBGP-learned, towards the sender\'s own subnet (the sender, or its AS neighbour on one exchange), Auto: sent, the sender\'s next hop kept',
      fromE1(),
      false,
      toEbgp({ sharedSubnets: [parsePrefix('192.0.2.0/24')] }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '192.0.2.1' }),
    ],
    [
      'eBGP-learned IPv6 towards the sender\'s own subnet with a per-peer local AS: sent, that AS prepended, next hop kept',
      route(E1, { origin: 0, asPath: [seq(65001)] }, '2001:db8:1::1'),
      true,
      toEbgp({ localAs: 65100, sharedSubnets: [parsePrefix('2001:db8:1::/64')] }),
      sent({ origin: 0, asPath: [seq(65100, 65001)] }, '2001:db8:1::1'),
    ],
    // Next hop.
    [
      'Auto: the route\'s next hop on the shared subnet is kept (third-party, RFC 4271 §5.1.3)',
      fromE1({}, '198.51.100.7'),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.7' }),
    ],
    [
      'Auto: an iBGP-learned next hop on the shared subnet is kept',
      fromN1({}, '198.51.100.8'),
      false,
      toEbgp(),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)], med: 20, nextHop: '198.51.100.8' }),
    ],
    [
      'Auto: no shared subnets, next hop self',
      fromE1({}, '198.51.100.7'),
      false,
      toEbgp({ sharedSubnets: undefined }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'Self: next hop self even on the shared subnet',
      fromE1({}, '198.51.100.7'),
      false,
      toEbgp({ nextHopMode: 'Self' }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'Keep: the route\'s next hop off the shared subnet',
      fromE1(),
      false,
      toEbgp({ nextHopMode: 'Keep' }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '192.0.2.1' }),
    ],
    [
      'Keep: an originated route still carries this node\'s address',
      local(),
      false,
      toEbgp({ nextHopMode: 'Keep' }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)], nextHop: '198.51.100.1' }),
    ],
    [
      'Self: an originated route carries this node\'s address',
      local(),
      false,
      toEbgp({ nextHopMode: 'Self' }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)], nextHop: '198.51.100.1' }),
    ],
  ];

  it('has rows', () => expect(rows.length).toBe(21));

  it.each(rows)('%s', (_name, r, v6, policy, expected) => {
    expect(exportRoute(r, v6, policy)).toStrictEqual(expected);
  });
});

describe('exportRoute: sent towards iBGP', () => {
  const rows: [string, Route, boolean, ExportPolicy, ExportResult][] = [
    [
      'eBGP-learned, Auto: next hop kept, LOCAL_PREF 100 added, AS_PATH and MED as received',
      fromE1(),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '192.0.2.1' }),
    ],
    [
      'eBGP-learned, Self: next hop self',
      fromE1(),
      false,
      toIbgp({ nextHopMode: 'Self' }),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'eBGP-learned, Keep: next hop kept',
      fromE1(),
      false,
      toIbgp({ nextHopMode: 'Keep' }),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '192.0.2.1' }),
    ],
    [
      'eBGP-learned to a client: not reflected, so no ORIGINATOR_ID or CLUSTER_LIST',
      fromE1(),
      false,
      toClient(),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '192.0.2.1' }),
    ],
    [
      'NO_EXPORT and NO_EXPORT_SUBCONFED stay inside the AS: sent to iBGP',
      fromE1({ communities: [NO_EXPORT, NO_EXPORT_SUBCONFED] }),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [NO_EXPORT, NO_EXPORT_SUBCONFED], localPref: 100, nextHop: '192.0.2.1' }),
    ],
    [
      'originated, Auto: next hop self, LOCAL_PREF 100, empty AS_PATH',
      local(),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'originated, Self: next hop self',
      local(),
      false,
      toIbgp({ nextHopMode: 'Self' }),
      sent({ origin: 0, asPath: [], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'originated, Keep: still next hop self',
      local(),
      false,
      toIbgp({ nextHopMode: 'Keep' }),
      sent({ origin: 0, asPath: [], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'originated with its own LOCAL_PREF and MED: both kept',
      local({ localPref: 300, med: 7 }),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [], localPref: 300, med: 7, nextHop: '10.0.0.1' }),
    ],
    [
      'originated without AS_PATH: an empty AS_PATH',
      route(LOCAL, { origin: 0 }, ''),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'originated to a client: not reflected, no ORIGINATOR_ID',
      local(),
      false,
      toClient(),
      sent({ origin: 0, asPath: [], localPref: 100, nextHop: '10.0.0.1' }),
    ],
  ];

  it('has rows', () => expect(rows.length).toBe(11));

  it.each(rows)('%s', (_name, r, v6, policy, expected) => {
    expect(exportRoute(r, v6, policy)).toStrictEqual(expected);
  });
});

describe('exportRoute: route reflection (RFC 4456)', () => {
  const reflected = (a: Partial<PathAttributes>, nextHop: string): ExportResult => sent({ origin: 0, asPath: [], localPref: 150, med: 20, ...a, nextHop });
  const rows: [string, Route, boolean, ExportPolicy, ExportResult][] = [
    ['client to clients: ORIGINATOR_ID the sender\'s BGP Identifier, our cluster ID, next hop unchanged', fromC1(), false, toClient(), reflected({ originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.1.1')],
    ['client to a non-client', fromC1(), false, toNonClient(), reflected({ originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.1.1')],
    ['non-client to a client', fromN1(), false, toClient(), reflected({ originatorId: '2.2.2.2', clusterList: [CLUSTER] }, '10.0.2.1')],
    // Not refused as "back to the sender": the policy is every client's; the update group keeps C1's route from C1.
    ['a client\'s route towards clients, Self: reflected with next hop self', fromC1(), false, toClient({ nextHopMode: 'Self' }), reflected({ originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.0.1')],
    [
      'ORIGINATOR_ID already set is kept, our cluster ID goes in front of CLUSTER_LIST',
      fromC1({ originatorId: '9.9.9.9', clusterList: ['10.255.0.7', '10.255.0.8'] }),
      false,
      toClient(),
      reflected({ originatorId: '9.9.9.9', clusterList: [CLUSTER, '10.255.0.7', '10.255.0.8'] }, '10.0.1.1'),
    ],
    ['without LOCAL_PREF: 100 added', fromC1({ localPref: undefined }), false, toNonClient(), reflected({ localPref: 100, originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.1.1')],
    ['NO_EXPORT: reflected, community kept', fromC1({ communities: [NO_EXPORT] }), false, toClient(), reflected({ communities: [NO_EXPORT], originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.1.1')],
    ['Self towards a client: next hop self', fromN1(), false, toClient({ nextHopMode: 'Self' }), reflected({ originatorId: '2.2.2.2', clusterList: [CLUSTER] }, '10.0.0.1')],
    ['Keep towards a non-client', fromC1(), false, toNonClient({ nextHopMode: 'Keep' }), reflected({ originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '10.0.1.1')],
    [
      'IPv6: the reflected route keeps its next hop in MP_REACH_NLRI',
      route(C1, I_ATTRS, '2001:db8:1::1'),
      true,
      toClient(),
      sent({ origin: 0, asPath: [], localPref: 150, med: 20, originatorId: '1.1.1.1', clusterList: [CLUSTER] }, '2001:db8:1::1'),
    ],
  ];

  it('has rows', () => expect(rows.length).toBe(10));

  it.each(rows)('%s', (_name, r, v6, policy, expected) => {
    expect(exportRoute(r, v6, policy)).toStrictEqual(expected);
  });
});

describe('exportRoute: IPv6 routes and IPv6 next hops', () => {
  const E6: PathAttributes = { origin: 0, asPath: [seq(65001)] };
  const fromE1v6 = (nextHop = '2001:db8:1::1', extra: Partial<Route> = {}): Route => route(E1, E6, nextHop, extra);
  const rows: [string, Route, boolean, ExportPolicy, ExportResult][] = [
    ['eBGP-learned IPv6, Auto to eBGP: MP next hop selfV6, no NEXT_HOP attribute', fromE1v6(), true, toEbgp(), sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001)] }, '2001:db8:51::1')],
    ['eBGP-learned IPv6 to eBGP with only an IPv4 address: the IPv4-mapped address', fromE1v6(), true, toEbgp({ selfV6: undefined }), sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001)] }, '::ffff:198.51.100.1')],
    ['eBGP-learned IPv6 on the shared IPv6 subnet, Auto to eBGP: kept (third-party)', fromE1v6('2001:db8:51::7'), true, toEbgp(), sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001)] }, '2001:db8:51::7')],
    ['eBGP-learned IPv6, Keep to eBGP: kept', fromE1v6(), true, toEbgp({ nextHopMode: 'Keep' }), sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001)] }, '2001:db8:1::1')],
    ['eBGP-learned IPv6, Auto to iBGP: kept', fromE1v6(), true, toIbgp(), sent({ origin: 0, asPath: [seq(65001)], localPref: 100 }, '2001:db8:1::1')],
    ['eBGP-learned IPv6, Self to iBGP: selfV6', fromE1v6(), true, toIbgp({ nextHopMode: 'Self' }), sent({ origin: 0, asPath: [seq(65001)], localPref: 100 }, '2001:db8::1')],
    [
      'a link-local next hop does not travel: only the global one is kept',
      fromE1v6('2001:db8:1::1', { linkLocalNextHop: 'fe80::1' }),
      true,
      toIbgp(),
      sent({ origin: 0, asPath: [seq(65001)], localPref: 100 }, '2001:db8:1::1'),
    ],
    ['originated IPv6 to iBGP: selfV6', local(), true, toIbgp(), sent({ origin: 0, asPath: [], localPref: 100 }, '2001:db8::1')],
    ['originated IPv6 to iBGP with only an IPv4 address: the IPv4-mapped address', local(), true, toIbgp({ selfV6: undefined }), sent({ origin: 0, asPath: [], localPref: 100 }, '::ffff:10.0.0.1')],
    ['originated IPv6, Keep to eBGP: selfV6', local(), true, toEbgp({ nextHopMode: 'Keep' }), sent({ origin: 0, asPath: [seq(LOCAL_AS)] }, '2001:db8:51::1')],
    [
      'IPv4 route with an IPv6 next hop to iBGP with extended next hop: kept, in MP_REACH_NLRI, no NEXT_HOP attribute',
      fromE1({}, '2001:db8:1::1'),
      false,
      toIbgp({ extendedNextHopV4: true }),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100 }, '2001:db8:1::1'),
    ],
    [
      'IPv4 route with an IPv6 next hop to iBGP without extended next hop: next hop self in NEXT_HOP',
      fromE1({}, '2001:db8:1::1'),
      false,
      toIbgp(),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'IPv4 route with an IPv6 next hop, extended next hop explicitly off: next hop self',
      fromE1({}, '2001:db8:1::1'),
      false,
      toIbgp({ extendedNextHopV4: false, nextHopMode: 'Keep' }),
      sent({ origin: 0, asPath: [seq(65001, 65010)], med: 50, communities: [0xfde80001], localPref: 100, nextHop: '10.0.0.1' }),
    ],
    [
      'IPv4 route with an IPv6 next hop, Keep to eBGP with extended next hop: kept',
      fromE1({}, '2001:db8:1::1'),
      false,
      toEbgp({ nextHopMode: 'Keep', extendedNextHopV4: true }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001] }, '2001:db8:1::1'),
    ],
    [
      'IPv4 route with an IPv6 next hop on the shared IPv6 subnet, Auto to eBGP with extended next hop: kept',
      fromE1({}, '2001:db8:51::7'),
      false,
      toEbgp({ extendedNextHopV4: true }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001] }, '2001:db8:51::7'),
    ],
    [
      'IPv4 route with an IPv6 next hop off the shared subnets, Auto to eBGP with extended next hop: self in NEXT_HOP',
      fromE1({}, '2001:db8:1::1'),
      false,
      toEbgp({ extendedNextHopV4: true }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS, 65001, 65010)], communities: [0xfde80001], nextHop: '198.51.100.1' }),
    ],
    [
      'originated IPv4 from an IPv6-only node to a peer with extended next hop: selfV6 in MP_REACH_NLRI (RFC 8950)',
      local(),
      false,
      toEbgp({ selfV4: undefined, extendedNextHopV4: true }),
      sent({ origin: 0, asPath: [seq(LOCAL_AS)] }, '2001:db8:51::1'),
    ],
  ];

  it('has rows', () => expect(rows.length).toBe(17));

  it.each(rows)('%s', (_name, r, v6, policy, expected) => {
    expect(exportRoute(r, v6, policy)).toStrictEqual(expected);
  });
});

describe('exportRoute: one rule, many routes', () => {
  const sources: [string, Route][] = [
    ['eBGP-learned', fromE1()],
    ['client', fromC1()],
    ['non-client', fromN1()],
    ['originated', local()],
  ];

  it.each(sources)('%s: the MED rule towards eBGP (stripped only when learned from another AS)', (name, r) => {
    const res = exportRoute(r, false, toEbgp());
    expect(res.ok).toBe(true);
    const med = res.ok ? res.value.attributes.med : 'refused';
    expect(med).toBe(name === 'eBGP-learned' ? undefined : r.attributes.med);
  });

  it.each(sources)('%s: never LOCAL_PREF, ORIGINATOR_ID or CLUSTER_LIST towards eBGP, even on a reflector', (_name, r) => {
    const res = exportRoute(route(r.source, { ...r.attributes, localPref: 10, originatorId: '9.9.9.9', clusterList: [CLUSTER] }, r.nextHop), false, toEbgp({ clusterId: CLUSTER }));
    expect(res.ok ? Object.keys(res.value.attributes).filter((k) => ['localPref', 'originatorId', 'clusterList'].includes(k)) : 'refused').toEqual([]);
  });
});

describe('exportRoute: graceful shutdown (RFC 8326)', () => {
  const GS = WellKnownCommunity.GRACEFUL_SHUTDOWN;
  const rows: [string, Route, ExportPolicy, ExportResult][] = [
    ['originated, to eBGP: GRACEFUL_SHUTDOWN added, no LOCAL_PREF', local({ communities: [7] }), toEbgp({ gracefulShutdown: true }), sent({ origin: 0, asPath: [seq(LOCAL_AS)], communities: [7, GS], nextHop: '198.51.100.1' })],
    ['originated, to iBGP: GRACEFUL_SHUTDOWN and LOCAL_PREF 0', local(), toIbgp({ gracefulShutdown: true }), sent({ origin: 0, asPath: [], localPref: 0, communities: [GS], nextHop: '10.0.0.1' })],
    ['reflected, already carrying it: not twice, LOCAL_PREF 0', fromC1({ communities: [GS] }), toClient({ gracefulShutdown: true }), sent({ origin: 0, asPath: [], localPref: 0, med: 20, communities: [GS], originatorId: '1.1.1.1', clusterList: [CLUSTER], nextHop: '10.0.1.1' })],
    ['not drained: nothing added', local({ communities: [7] }), toIbgp(), sent({ origin: 0, asPath: [], localPref: 100, communities: [7], nextHop: '10.0.0.1' })],
  ];
  it.each(rows)('%s', (_name, r, policy, expected) => {
    expect(exportRoute(r, false, policy)).toStrictEqual(expected);
  });
});
