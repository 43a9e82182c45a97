/**
 * The RIB driven by plain data: UPDATEs in from named peers, encoded UPDATEs out to members of
 * update groups, decoded again to check what each member was told. No sockets.
 */
import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, type PathAttributes, formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import {
  ADD_PATH_CTX,
  ADD_PATH_FORMAT,
  FORMAT,
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
    r.join(b, ebgpPolicy(65002), FORMAT);
    const got = pull(r, b);
    expect(got.filter(isEndOfRib).map((u) => u.endOfRib)).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    const t = table(got.filter((u) => !isEndOfRib(u)));
    expect([...t.keys()].sort()).toEqual(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24']);
    // One attribute set: one UPDATE.
    expect(got.filter((u) => !isEndOfRib(u))).toHaveLength(1);
    expect(t.get('10.1.0.0/24')).toEqual({ origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [64512, 65001] }], nextHop: '10.0.0.1' });
  });

  it('does not send a route back to the AS it came from', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1' }));
    const sameAs = {};
    r.join(sameAs, ebgpPolicy(65001), FORMAT);
    expect(pull(r, sameAs).filter((u) => !isEndOfRib(u))).toEqual([]);
  });

  it('coalesces: a prefix that changes twice before the member reads goes out once, in its final state', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    const b = {};
    r.join(b, ebgpPolicy(65002), FORMAT);
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
    r.join(b, ebgpPolicy(65002), FORMAT);
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
    r.join(a, ebgpPolicy(65002), FORMAT);
    r.join(b, ebgpPolicy(65002), FORMAT);
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

  it('gives a late joiner the group\'s table and End-of-RIB, then the changes it missed nothing of', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.1.1.0/24'], { nextHop: '192.0.2.1' }));
    const a = {};
    r.join(a, ebgpPolicy(65002), FORMAT);
    pull(r, a);
    r.apply('192.0.2.1', withdraw(['10.1.1.0/24']));
    r.apply('192.0.2.1', announce(['10.1.2.0/24'], { nextHop: '192.0.2.1' }));
    const late = {};
    r.join(late, ebgpPolicy(65002), FORMAT);
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
    r.join(b, ibgpPolicy(), FORMAT);
    expect(pull(r, b).filter((u) => !isEndOfRib(u))).toEqual([]);
  });

  it('reflects a client\'s route to other clients with ORIGINATOR_ID and CLUSTER_LIST, next hop unchanged, never back to the client', () => {
    const r = rib({ clusterId: '10.255.0.1' });
    r.peerUp(ibgpPeer('192.0.2.1', true));
    r.apply('192.0.2.1', announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: [], localPref: 150 }));
    const sender = {};
    const other = {};
    r.join(sender, ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true, clientAddress: '192.0.2.1' }), FORMAT);
    r.join(other, ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true, clientAddress: '192.0.2.2' }), FORMAT);
    expect(pull(r, sender).filter((u) => !isEndOfRib(u))).toEqual([]);
    const t = table(pull(r, other));
    expect(t.get('10.1.0.0/24')).toEqual({ origin: 0, asPath: [], nextHop: '192.0.2.1', localPref: 150, originatorId: '192.0.2.1', clusterList: ['10.255.0.1'] });
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
    r.join(tor, ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true, clientAddress: '192.0.2.3' }), ADD_PATH_FORMAT);
    const got = table(pull(r, tor, ADD_PATH_CTX));
    expect([...got.values()].map((a) => a.nextHop).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(new Set([...got.keys()]).size).toBe(2);
    const plain = {};
    r.join(plain, ibgpPolicy({ clusterId: '10.255.0.1', routeReflectorClient: true, clientAddress: '192.0.2.4' }), FORMAT);
    expect([...table(pull(r, plain)).values()].map((a) => a.nextHop)).toEqual(['192.0.2.1']);
    // One path goes: its path identifier alone is withdrawn.
    r.peerDown('192.0.2.2');
    const after = pull(r, tor, ADD_PATH_CTX);
    expect(after.flatMap((u) => u.withdrawnRoutes).map((p) => p.pathId)).toHaveLength(1);
    expect(after.flatMap((u) => u.nlri)).toEqual([]);
  });
});

describe('Rib: origination', () => {
  it('setOriginated replaces the set: only the difference is sent', () => {
    const r = rib();
    const b = {};
    r.join(b, ebgpPolicy(65002), FORMAT);
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
