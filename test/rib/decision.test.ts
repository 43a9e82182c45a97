/**
 * The decision process, OpenBGPD style: a reference route, one variant per step that must win
 * (or lose) on exactly that step, both directions; then every insertion order agrees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../src/bgp/index.js';
import { type DecisionStep, compareRoutes, equalForMultipath, selectBest } from '../../src/rib/decision.js';
import type { Route, RouteSource } from '../../src/rib/route.js';

const ibgpPeer = (address: string, bgpIdentifier = address): RouteSource => ({ kind: 'peer', address, asn: 64512, bgpIdentifier, ebgp: false, routeReflectorClient: false });
const ebgpPeer = (address: string, asn = 65001, bgpIdentifier = address): RouteSource => ({ kind: 'peer', address, asn, bgpIdentifier, ebgp: true, routeReflectorClient: false });

const REF_ATTRS: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], localPref: 100, med: 10 };
const ref: Route = { attributes: REF_ATTRS, nextHop: '192.0.2.10', source: ibgpPeer('192.0.2.10') };
const variant = (attrs: Partial<PathAttributes>, source: RouteSource = ibgpPeer('192.0.2.20')): Route => ({
  attributes: { ...REF_ATTRS, ...attrs },
  nextHop: '192.0.2.20',
  source,
});

/** Each row: a route that beats the reference on exactly `step`. */
const better: [string, Route][] = [
  ['local-pref', variant({ localPref: 200 })],
  ['locally-originated', { attributes: REF_ATTRS, nextHop: '0.0.0.0', source: { kind: 'local', name: 'static' } }],
  ['as-path-length', variant({ asPath: [{ type: 2, asns: [65001] }] })],
  ['origin', { attributes: { ...REF_ATTRS, origin: 0 }, nextHop: '192.0.2.20', source: ibgpPeer('192.0.2.20') }],
  ['med', variant({ med: 5 })],
  ['ebgp-over-ibgp', variant({}, ebgpPeer('192.0.2.20'))],
  ['router-id', variant({}, ibgpPeer('192.0.2.20', '10.0.0.1'))],
  ['cluster-list-length', variant({ clusterList: [] , originatorId: '192.0.2.10' }, ibgpPeer('192.0.2.20', '192.0.2.10'))],
  ['peer-address', variant({}, ibgpPeer('192.0.2.5', '192.0.2.10'))],
];

describe('compareRoutes', () => {
  // The origin row needs a reference that loses on origin only.
  const refFor = (step: string): Route =>
    step === 'origin'
      ? { ...ref, attributes: { ...REF_ATTRS, origin: 1 } }
      : step === 'cluster-list-length'
        ? { ...ref, attributes: { ...REF_ATTRS, originatorId: '192.0.2.10', clusterList: ['10.0.0.9'] } }
        : ref;

  it.each(better)('%s decides, in both directions', (step, winner) => {
    const base = refFor(step);
    expect(compareRoutes(winner, base)).toEqual({ order: -1, decidedBy: step });
    expect(compareRoutes(base, winner)).toEqual({ order: 1, decidedBy: step });
  });

  it('treats a missing LOCAL_PREF as 100', () => {
    expect(() => compareRoutes(variant({ localPref: undefined }, ibgpPeer('192.0.2.10')), ref)).toThrow(/equal on every decision step/);
    expect(compareRoutes(variant({ localPref: undefined }), variant({ localPref: 99 }, ibgpPeer('192.0.2.30'))).decidedBy).toBe('local-pref');
  });

  it('compares MED only between routes from the same neighbouring AS, unless told to always', () => {
    const a = variant({ asPath: [{ type: 2, asns: [65001, 65009] }], med: 50 });
    const b = variant({ asPath: [{ type: 2, asns: [65003, 65009] }], med: 10 }, ibgpPeer('192.0.2.30'));
    expect(compareRoutes(a, b)).toEqual({ order: -1, decidedBy: 'router-id' });
    expect(compareRoutes(a, b, { alwaysCompareMed: true })).toEqual({ order: 1, decidedBy: 'med' });
  });

  it('counts an AS_SET as one AS and confederation segments as none', () => {
    const set = variant({ asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [1, 2, 3, 4] }] });
    const confed = variant({ asPath: [{ type: 3, asns: [1, 2, 3] }, { type: 2, asns: [65001, 65002, 65003] }] }, ibgpPeer('192.0.2.30'));
    expect(compareRoutes(set, confed)).toEqual({ order: -1, decidedBy: 'as-path-length' });
  });

  it('orders peer addresses numerically, IPv4 before IPv6', () => {
    const a = variant({}, ibgpPeer('192.0.2.100', '192.0.2.10'));
    const b = variant({}, ibgpPeer('192.0.2.20', '192.0.2.10'));
    expect(compareRoutes(b, a)).toEqual({ order: -1, decidedBy: 'peer-address' });
    const v6 = variant({}, ibgpPeer('2001:db8::1', '192.0.2.10'));
    expect(compareRoutes(a, v6).order).toBe(-1);
  });

  it('refuses to pick between two identical routes', () => {
    expect(() => compareRoutes(ref, { ...ref })).toThrow();
  });
});

describe('compareRoutes: the last tie-breakers', () => {
  const originated = (name: string): Route => ({ attributes: REF_ATTRS, nextHop: '', source: { kind: 'local', name } });
  /** Paths of one prefix from one ADD-PATH peer: the same source, told apart by the path identifier only. */
  const addPath = (pathId: number | undefined): Route => ({ ...variant({}, ibgpPeer('192.0.2.20')), ...(pathId === undefined ? {} : { pathId }) });

  /** Each row: [name, the preferred route, the other, the step that must decide]. */
  const rows: [string, Route, Route, DecisionStep][] = [
    ['two originations of one prefix: by the name of their set', originated('a-static'), originated('k8s'), 'peer-address'],
    ['two originations: names compare by code unit, upper case first', originated('K8s'), originated('k8s'), 'peer-address'],
    ['two originations: a name before its extension', originated('k8s'), originated('k8s-lb'), 'peer-address'],
    ['two paths from one ADD-PATH peer: the lower path identifier', addPath(1), addPath(2), 'path-id'],
    ['two paths from one ADD-PATH peer: identifiers compare as numbers (9 before 10)', addPath(9), addPath(10), 'path-id'],
    ['two paths from one ADD-PATH peer: no identifier counts as 0', addPath(undefined), addPath(1), 'path-id'],
    ['two paths from one ADD-PATH peer: the full 32-bit range', addPath(0x7fffffff), addPath(0xffffffff), 'path-id'],
  ];

  it('has rows', () => expect(rows.length).toBe(7));

  it.each(rows)('%s, in both directions', (_name, winner, loser, step) => {
    expect(compareRoutes(winner, loser)).toEqual({ order: -1, decidedBy: step });
    expect(compareRoutes(loser, winner)).toEqual({ order: 1, decidedBy: step });
  });

  it('refuses two originations of one prefix from the same set, or one path identifier twice', () => {
    expect(() => compareRoutes(originated('k8s'), originated('k8s'))).toThrow(/equal on every decision step/);
    expect(() => compareRoutes(addPath(0), addPath(undefined))).toThrow(/equal on every decision step/);
  });

  it('puts the paths of one ADD-PATH peer in one multipath set, lowest identifier best', () => {
    const s = selectBest([addPath(3), addPath(1), addPath(2)], 4);
    expect(s?.multipath.map((r) => r.pathId)).toEqual([1, 2, 3]);
    expect(s?.decidedBy).toBe('path-id');
  });
});

describe('selectBest and multipath', () => {
  const nodes = ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14'].map((a) => variant({}, ebgpPeer(a, 64513, a)));

  it('puts routes equal down to the router ID in one multipath set, up to the maximum', () => {
    const s = selectBest(nodes, 3);
    expect(s?.best.source).toEqual(nodes[0]?.source);
    expect(s?.multipath.map((r) => (r.source.kind === 'peer' ? r.source.address : 'local'))).toEqual(['192.0.2.11', '192.0.2.12', '192.0.2.13']);
    expect(s?.decidedBy).toBe('router-id');
    expect(equalForMultipath(nodes[0] as Route, variant({ med: 99 }, ebgpPeer('192.0.2.15', 64513)))).toBe(false);
  });

  it('gives the same best route whatever the order the candidates arrive in', () => {
    const pool: Route[] = [
      ref,
      variant({ localPref: 200 }, ibgpPeer('192.0.2.21')),
      variant({ localPref: 200, med: 1 }, ibgpPeer('192.0.2.22')),
      variant({ localPref: 200, asPath: [{ type: 2, asns: [1] }] }, ebgpPeer('192.0.2.23', 1)),
      variant({ localPref: 200, asPath: [{ type: 2, asns: [1] }] }, ebgpPeer('192.0.2.24', 1, '10.9.9.9')),
      variant({ origin: 2 }, ebgpPeer('192.0.2.25')),
      { attributes: REF_ATTRS, nextHop: '0.0.0.0', source: { kind: 'local', name: 'static' } },
    ];
    const expected = selectBest(pool, 4);
    fc.assert(
      fc.property(fc.shuffledSubarray(pool, { minLength: pool.length, maxLength: pool.length }), (order) => {
        const s = selectBest(order, 4);
        expect(s?.best).toBe(expected?.best);
        expect(s?.multipath).toEqual(expected?.multipath);
      }),
      { numRuns: 300 },
    );
  });
});
