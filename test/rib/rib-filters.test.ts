/**
 * BGPFilter in the RIB: import filters run per prefix on the attributes as received (a refused
 * route stays in Adj-RIB-In, ineligible 'filtered'), export filters per prefix on what the export
 * policy made of the best route; and a change of either sends each peer only the difference, with
 * no session reset. Plain data in, decoded UPDATEs out.
 */
import { describe, expect, it } from 'vitest';
import { Afi, type PathAttributes, type Prefix, formatCommunity, formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import { type BgpFilter, type FilterRule, applyFilters } from '../../src/rib/filter.js';
import type { ImportPolicy } from '../../src/rib/rib.js';
import type { ExportFilter } from '../../src/rib/update-group.js';
import { FORMAT, announce, ebgpPeer, ebgpPolicy, isEndOfRib, pull, rib, table } from '../helpers/rib.js';

const filter = (name: string, rules: { exportV4?: FilterRule[]; importV4?: FilterRule[] }): BgpFilter => ({ name, exportV4: rules.exportV4 ?? [], importV4: rules.importV4 ?? [], exportV6: [], importV6: [] });
const reject = (cidr: string): FilterRule => ({ cidr: parsePrefix(cidr), matchOperator: 'In', action: 'Reject' });
const tag = (cidr: string, community: string): FilterRule => ({
  cidr: parsePrefix(cidr),
  matchOperator: 'In',
  action: 'Accept',
  operations: [{ kind: 'addCommunity', community: { standard: Number(community.split(':')[0]) * 65536 + Number(community.split(':')[1]) } }],
});
const importPolicy = (...filters: BgpFilter[]): ImportPolicy => (prefix: Prefix, received: PathAttributes) => {
  const r = applyFilters(filters, prefix, { attributes: received, local: false }, { direction: 'import', peerType: 'eBGP' });
  return r.action === 'Reject' ? 'filtered' : r.attributes;
};
const exportFilter = (...filters: BgpFilter[]): ExportFilter => ({ key: JSON.stringify(filters.map((f) => f.name)), filters, peerType: 'eBGP' });
const communitiesAt = (t: ReturnType<typeof table>, p: string): string[] | undefined => t.get(p)?.communities?.map(formatCommunity);
const withdrawn = (u: ReturnType<typeof pull>): string[] => u.flatMap((m) => m.withdrawnRoutes.map(formatPrefix)).sort();
const announced = (u: ReturnType<typeof pull>): string[] => u.flatMap((m) => m.nlri.map(formatPrefix)).sort();

function setup(): { r: ReturnType<typeof rib>; b: object } {
  const r = rib();
  r.peerUp(ebgpPeer('192.0.2.1', 65001));
  r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], { nextHop: '192.0.2.1' }));
  const b = {};
  r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
  pull(r, b);
  return { r, b };
}

describe('Rib: import filters (BGPFilter importV4)', () => {
  it('refuses per prefix, keeping the route in Adj-RIB-In as filtered; a filter change sends the other peers only the difference', () => {
    const { r, b } = setup();
    r.setImportPolicy('192.0.2.1', importPolicy(filter('no-10-2', { importV4: [reject('10.2.0.0/16')] })));
    const first = pull(r, b);
    expect(withdrawn(first)).toEqual(['10.2.0.0/24']);
    expect(announced(first)).toEqual([]);
    expect(r.received('192.0.2.1').map((x) => [formatPrefix(x.prefix), x.ineligible])).toEqual([
      ['10.1.0.0/24', undefined],
      ['10.2.0.0/24', 'filtered'],
      ['10.3.0.0/24', undefined],
    ]);
    expect(r.routes().find((e) => formatPrefix(e.prefix) === '10.2.0.0/24')?.paths.map((x) => [x.best, x.ineligible])).toEqual([[false, 'filtered']]);
    expect([r.receivedCount('192.0.2.1', Afi.Ipv4), r.acceptedCount('192.0.2.1', Afi.Ipv4), r.locRib.ipv4]).toEqual([3, 2, 2]);
    // Another filter: 10.2 comes back from Adj-RIB-In (the peer sends nothing again), 10.3 gets a community.
    r.setImportPolicy('192.0.2.1', importPolicy(filter('tag-10-3', { importV4: [tag('10.3.0.0/24', '64512:3')] })));
    const second = pull(r, b);
    expect(withdrawn(second)).toEqual([]);
    expect(announced(second)).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    expect(communitiesAt(table(second), '10.3.0.0/24')).toEqual(['64512:3']);
    const held = r.received('192.0.2.1').find((x) => formatPrefix(x.prefix) === '10.3.0.0/24');
    expect(held?.attributes.communities).toBeUndefined();
    expect(held?.imported?.communities?.map(formatCommunity)).toEqual(['64512:3']);
    // No filter: the community goes again.
    r.setImportPolicy('192.0.2.1', undefined);
    const third = pull(r, b);
    expect(announced(third)).toEqual(['10.3.0.0/24']);
    expect(communitiesAt(table(third), '10.3.0.0/24')).toBeUndefined();
  });

  it('runs on routes as they arrive, and a refused route the peer withdraws is gone from Adj-RIB-In', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.setImportPolicy('192.0.2.1', importPolicy(filter('no-10-2', { importV4: [reject('10.2.0.0/16')] })));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.2.0.0/24'], { nextHop: '192.0.2.1' }));
    const b = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    expect(announced(pull(r, b))).toEqual(['10.1.0.0/24']);
    expect(r.receivedCount('192.0.2.1', Afi.Ipv4)).toBe(2);
    r.apply('192.0.2.1', { type: 2, withdrawnRoutes: [parsePrefix('10.2.0.0/24')], attributes: {}, nlri: [] });
    expect(r.received('192.0.2.1').map((x) => formatPrefix(x.prefix))).toEqual(['10.1.0.0/24']);
    expect(pull(r, b)).toEqual([]);
  });
});

describe('Rib: export filters (BGPFilter exportV4)', () => {
  it('filters what one member is sent; changing its filters sends it only the difference, and nothing to the member it shared a group with', () => {
    const { r, b } = setup();
    const c = {};
    r.join(c, '192.0.2.102', ebgpPolicy(), FORMAT);
    pull(r, c);
    expect(r.updateGroups).toBe(1);
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT, exportFilter(filter('no-10-2', { exportV4: [reject('10.2.0.0/16')] })));
    expect(r.updateGroups).toBe(2);
    const first = pull(r, b);
    expect(withdrawn(first)).toEqual(['10.2.0.0/24']);
    expect(announced(first)).toEqual([]);
    expect(first.filter(isEndOfRib)).toEqual([]);
    expect(r.advertised(b).map((a) => formatPrefix(a.prefix)).sort()).toEqual(['10.1.0.0/24', '10.3.0.0/24']);
    expect(pull(r, c)).toEqual([]);
    // A second filter list: 10.2 back, 10.1 tagged, 10.3 unchanged.
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT, exportFilter(filter('tag-10-1', { exportV4: [tag('10.1.0.0/24', '64512:1')] })));
    const second = pull(r, b);
    expect(withdrawn(second)).toEqual([]);
    expect(announced(second)).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(communitiesAt(table(second), '10.1.0.0/24')).toEqual(['64512:1']);
    // Back to no filter: back in the shared group, told only that 10.1 lost its community.
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    expect(r.updateGroups).toBe(1);
    const third = pull(r, b);
    expect(announced(third)).toEqual(['10.1.0.0/24']);
    expect(communitiesAt(table(third), '10.1.0.0/24')).toBeUndefined();
    expect(pull(r, c)).toEqual([]);
    // And it follows the shared group's changes from there.
    r.apply('192.0.2.1', announce(['10.4.0.0/24'], { nextHop: '192.0.2.1' }));
    expect(announced(pull(r, b))).toEqual(['10.4.0.0/24']);
    expect(announced(pull(r, c))).toEqual(['10.4.0.0/24']);
  });

  it('filters later changes per prefix too', () => {
    const { r, b } = setup();
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT, exportFilter(filter('no-10-5', { exportV4: [reject('10.5.0.0/16')] })));
    pull(r, b);
    r.apply('192.0.2.1', announce(['10.5.1.0/24', '10.6.0.0/24'], { nextHop: '192.0.2.1' }));
    expect(announced(pull(r, b))).toEqual(['10.6.0.0/24']);
  });

  it('sends the whole new table, and withdraws what the old group had, to a member not yet caught up when its filters change', () => {
    const r = rib();
    r.peerUp(ebgpPeer('192.0.2.1', 65001));
    r.apply('192.0.2.1', announce(['10.1.0.0/24', '10.2.0.0/24'], { nextHop: '192.0.2.1' }));
    const b = {};
    const c = {};
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT);
    r.join(c, '192.0.2.102', ebgpPolicy(), FORMAT);
    // c's pull puts the table in the group's log; b has read none of it: what b holds is unknown.
    expect(announced(pull(r, c))).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    r.join(b, '192.0.2.101', ebgpPolicy(), FORMAT, exportFilter(filter('no-10-2', { exportV4: [reject('10.2.0.0/16')] })));
    const got = pull(r, b);
    expect(withdrawn(got)).toEqual(['10.2.0.0/24']);
    expect(announced(got)).toEqual(['10.1.0.0/24']);
    expect([...table(got).keys()]).toEqual(['10.1.0.0/24']);
  });
});
