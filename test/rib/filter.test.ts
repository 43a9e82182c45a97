/**
 * Calico BGPFilter semantics as tables, checked against `applyFilters`. The inputs are the filter
 * rules, the route and the session context. The outcome is one of: accepted with no rule matching
 * (the route passes on to kbgp's own policy), accepted or rejected by a named rule of a named
 * filter, or accepted with exactly these attributes. The header of src/rib/filter.ts gives the
 * Calico and BIRD source for each behaviour. Every input is deep-frozen, so an operation that
 * edits the route it was given throws.
 */
import { describe, expect, it } from 'vitest';
import {
  Afi,
  AsPathSegmentType,
  type AsPathSegment,
  type PathAttributes,
  type Prefix,
  parseCommunity,
  parseLargeCommunity,
  parsePrefix,
} from '../../src/bgp/index.js';
import { type BgpFilter, type FilterContext, type FilterOperation, type FilterResult, type FilterRule, applyFilters } from '../../src/rib/filter.js';

const seq = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.AsSequence, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.AsSet, asns });
const confedSeq = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.AsConfedSequence, asns });
/** `n` ASes counting up from `from`: long sequences for the 255 limit. */
const run = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);

function deepFreeze<T>(o: T): T {
  // Typed arrays (IPv6 prefix addresses) cannot be frozen; nothing here writes to them.
  if (typeof o === 'object' && o !== null && !ArrayBuffer.isView(o) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const std = (s: string): { standard: number } => ({ standard: parseCommunity(s) });
const lg = (s: string): { large: ReturnType<typeof parseLargeCommunity> } => ({ large: parseLargeCommunity(s) });
const C = parseCommunity;
const L = parseLargeCommunity;

interface RouteIn {
  readonly attributes: PathAttributes;
  readonly local: boolean;
}

/** As a peer sent it (import), or as exportRoute made it from a peer's route (export). */
const LEARNED: PathAttributes = { origin: 0, asPath: [seq(65001, 65010)], nextHop: '192.0.2.1', med: 50, communities: [C('65000:100')], largeCommunities: [L('65000:1:2')] };
const learned = (a: Partial<PathAttributes> = {}): RouteIn => deepFreeze({ attributes: { ...LEARNED, ...a }, local: false });
/** A service prefix this node originates: no communities. */
const originated = (a: Partial<PathAttributes> = {}): RouteIn => deepFreeze({ attributes: { origin: 0, asPath: [seq(64512)], nextHop: '198.51.100.1', ...a }, local: true });

const ctx = (direction: 'import' | 'export', peerType: 'eBGP' | 'iBGP'): FilterContext => deepFreeze({ direction, peerType });
const EXPORT_EBGP = ctx('export', 'eBGP');
const EXPORT_IBGP = ctx('export', 'iBGP');
const IMPORT_EBGP = ctx('import', 'eBGP');
const IMPORT_IBGP = ctx('import', 'iBGP');

const filter = (name: string, lists: Partial<Omit<BgpFilter, 'name'>>): BgpFilter =>
  deepFreeze({ name, exportV4: [], importV4: [], exportV6: [], importV6: [], ...lists });

/** The rule alone, in the one list this prefix and context select. */
function alone(rule: FilterRule, net: Prefix, c: FilterContext, name = 'f'): BgpFilter {
  const list = `${c.direction}${net.afi === Afi.Ipv6 ? 'V6' : 'V4'}` as 'importV4' | 'importV6' | 'exportV4' | 'exportV6';
  return filter(name, { [list]: [rule] });
}

const passed = (r: RouteIn): FilterResult => ({ action: 'Accept', attributes: r.attributes });
const accepted = (attributes: PathAttributes, rule: number, name: string): FilterResult => ({ action: 'Accept', attributes, rule, filter: name });
const rejected = (rule: number, name: string): FilterResult => ({ action: 'Reject', rule, filter: name });

// ---------------------------------------------------------------------------------------------
// Match fields. Each row is a rule's match fields, a prefix, a route and a context, and whether
// the rule matches. The row is run twice, once with action Reject and once with Accept, so a
// match is told apart from falling through in both directions.

type Match = Omit<FilterRule, 'action' | 'operations'>;
type MatchRow = [string, Match, string, RouteIn, FilterContext, boolean];

function checkMatches(rows: MatchRow[]): void {
  it.each(rows)('%s', (_name, match, prefix, route, c, matches) => {
    const net = deepFreeze(parsePrefix(prefix));
    const onReject = applyFilters([alone(deepFreeze({ ...match, action: 'Reject' }), net, c)], net, route, c);
    const onAccept = applyFilters([alone(deepFreeze({ ...match, action: 'Accept' }), net, c)], net, route, c);
    expect(onReject).toStrictEqual(matches ? rejected(0, 'f') : passed(route));
    expect(onAccept).toStrictEqual(matches ? accepted(route.attributes, 0, 'f') : passed(route));
  });
}

const C4 = parsePrefix('10.0.0.0/16');
const C6 = parsePrefix('2001:db8::/32');
const op = (matchOperator: FilterRule['matchOperator'], cidr: Prefix = C4): Match => ({ cidr, matchOperator });
const within = (matchOperator: FilterRule['matchOperator'], prefixLength: { min?: number; max?: number }, cidr: Prefix = C4): Match => ({ cidr, matchOperator, prefixLength });

describe('applyFilters: cidr and matchOperator (no prefixLength)', () => {
  const r = learned();
  const rows: MatchRow[] = [
    // In: BIRD `net ~ cidr`, at least as long as the cidr and inside it.
    ['In: the cidr itself', op('In'), '10.0.0.0/16', r, EXPORT_EBGP, true],
    ['In: a longer prefix inside', op('In'), '10.0.128.0/17', r, EXPORT_EBGP, true],
    ['In: a host route at the top of the cidr', op('In'), '10.0.255.255/32', r, EXPORT_EBGP, true],
    ['In: a shorter prefix covering the cidr', op('In'), '10.0.0.0/15', r, EXPORT_EBGP, false],
    ['In: the sibling /16', op('In'), '10.1.0.0/16', r, EXPORT_EBGP, false],
    ['In: the default route', op('In'), '0.0.0.0/0', r, EXPORT_EBGP, false],
    // NotIn: `net !~ cidr`.
    ['NotIn: the cidr itself', op('NotIn'), '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['NotIn: a /24 inside', op('NotIn'), '10.0.7.0/24', r, EXPORT_EBGP, false],
    ['NotIn: a shorter prefix covering the cidr', op('NotIn'), '10.0.0.0/15', r, EXPORT_EBGP, true],
    ['NotIn: a prefix elsewhere', op('NotIn'), '192.168.0.0/16', r, EXPORT_EBGP, true],
    // Equal: `net = cidr`, address and length.
    ['Equal: the cidr itself', op('Equal'), '10.0.0.0/16', r, EXPORT_EBGP, true],
    ['Equal: a /17 inside', op('Equal'), '10.0.0.0/17', r, EXPORT_EBGP, false],
    ['Equal: the covering /15', op('Equal'), '10.0.0.0/15', r, EXPORT_EBGP, false],
    ['Equal: the sibling /16', op('Equal'), '10.1.0.0/16', r, EXPORT_EBGP, false],
    // NotEqual: `net != cidr`.
    ['NotEqual: the cidr itself', op('NotEqual'), '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['NotEqual: a /24 inside', op('NotEqual'), '10.0.7.0/24', r, EXPORT_EBGP, true],
    ['NotEqual: the sibling /16', op('NotEqual'), '10.1.0.0/16', r, EXPORT_EBGP, true],
    // /0 holds everything.
    ['In 0.0.0.0/0: a host route', op('In', parsePrefix('0.0.0.0/0')), '203.0.113.7/32', r, EXPORT_EBGP, true],
    ['In 0.0.0.0/0: the default route', op('In', parsePrefix('0.0.0.0/0')), '0.0.0.0/0', r, EXPORT_EBGP, true],
    // IPv6, from the V6 list.
    ['IPv6 In: a /48 inside', op('In', C6), '2001:db8:1::/48', r, EXPORT_EBGP, true],
    ['IPv6 In: the covering /31', op('In', C6), '2001:db8::/31', r, EXPORT_EBGP, false],
    ['IPv6 In: 2001:db9::/32, one bit off at the cidr\'s last bit', op('In', C6), '2001:db9::/32', r, EXPORT_EBGP, false],
    ['IPv6 NotIn: a /48 elsewhere', op('NotIn', C6), '2001:db9::/48', r, EXPORT_EBGP, true],
    ['IPv6 NotIn: a /64 inside', op('NotIn', C6), '2001:db8:0:1::/64', r, EXPORT_EBGP, false],
    ['IPv6 Equal: the cidr itself', op('Equal', C6), '2001:db8::/32', r, EXPORT_EBGP, true],
    ['IPv6 Equal: a /33 inside', op('Equal', C6), '2001:db8::/33', r, EXPORT_EBGP, false],
    ['IPv6 NotEqual: a /33 inside', op('NotEqual', C6), '2001:db8::/33', r, EXPORT_EBGP, true],
    ['IPv6 In a /33 (mid-byte): below its last bit', op('In', parsePrefix('2001:db8:8000::/33')), '2001:db8:7fff::/48', r, EXPORT_EBGP, false],
    ['IPv6 In a /33 (mid-byte): inside', op('In', parsePrefix('2001:db8:8000::/33')), '2001:db8:ffff::/48', r, EXPORT_EBGP, true],
    // Configurations the parser refuses: what the function does if one gets through.
    ['cidr without matchOperator never matches (Calico renders no config at all)', { cidr: C4 }, '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['an IPv6 cidr in the IPv4 list: In never holds', op('In', C6), '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['an IPv6 cidr in the IPv4 list: NotIn always holds', op('NotIn', C6), '10.0.0.0/16', r, EXPORT_EBGP, true],
    ['prefixLength without cidr is ignored (the rule matches all)', { prefixLength: { min: 24, max: 24 } }, '10.0.0.0/16', r, EXPORT_EBGP, true],
  ];

  it('has rows', () => expect(rows.length).toBe(33));
  checkMatches(rows);
});

describe('applyFilters: prefixLength (`net ~ [ cidr{lo,hi} ]`)', () => {
  const r = learned();
  const MID = { min: 20, max: 24 };
  const rows: MatchRow[] = [
    ['In {20,24}: /19, one below min', within('In', MID), '10.0.0.0/19', r, EXPORT_EBGP, false],
    ['In {20,24}: /20, min', within('In', MID), '10.0.16.0/20', r, EXPORT_EBGP, true],
    ['In {20,24}: /24, max', within('In', MID), '10.0.255.0/24', r, EXPORT_EBGP, true],
    ['In {20,24}: /25, one beyond max', within('In', MID), '10.0.0.0/25', r, EXPORT_EBGP, false],
    ['In {20,24}: the cidr itself (/16 is below min)', within('In', MID), '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['In {20,24}: a /22 outside the cidr', within('In', MID), '10.1.0.0/22', r, EXPORT_EBGP, false],
    ['NotIn {20,24}: /19 inside', within('NotIn', MID), '10.0.0.0/19', r, EXPORT_EBGP, true],
    ['NotIn {20,24}: /20', within('NotIn', MID), '10.0.0.0/20', r, EXPORT_EBGP, false],
    ['NotIn {20,24}: /24', within('NotIn', MID), '10.0.0.0/24', r, EXPORT_EBGP, false],
    ['NotIn {20,24}: /25 inside', within('NotIn', MID), '10.0.0.0/25', r, EXPORT_EBGP, true],
    ['NotIn {20,24}: a /22 outside', within('NotIn', MID), '10.1.0.0/22', r, EXPORT_EBGP, true],
    // BIRD compares a prefix with a prefix set: never the same value.
    ['Equal with prefixLength: a /20 in range never matches', within('Equal', MID), '10.0.0.0/20', r, EXPORT_EBGP, false],
    ['Equal with prefixLength: not even the cidr itself', within('Equal', MID), '10.0.0.0/16', r, EXPORT_EBGP, false],
    ['NotEqual with prefixLength: a /20 in range matches', within('NotEqual', MID), '10.0.0.0/20', r, EXPORT_EBGP, true],
    ['NotEqual with prefixLength: so does the cidr itself', within('NotEqual', MID), '10.0.0.0/16', r, EXPORT_EBGP, true],
    ['NotEqual with prefixLength: and a prefix elsewhere', within('NotEqual', MID), '192.168.0.0/16', r, EXPORT_EBGP, true],
    // One bound given: the other is the cidr's own length, or 32.
    ['In {min 24}: /23', within('In', { min: 24 }), '10.0.0.0/23', r, EXPORT_EBGP, false],
    ['In {min 24}: /24', within('In', { min: 24 }), '10.0.0.0/24', r, EXPORT_EBGP, true],
    ['In {min 24}: /32, max defaults to 32', within('In', { min: 24 }), '10.0.0.1/32', r, EXPORT_EBGP, true],
    ['In {max 20}: the cidr itself, min defaults to its /16', within('In', { max: 20 }), '10.0.0.0/16', r, EXPORT_EBGP, true],
    ['In {max 20}: the covering /15', within('In', { max: 20 }), '10.0.0.0/15', r, EXPORT_EBGP, false],
    ['In {max 20}: /20', within('In', { max: 20 }), '10.0.0.0/20', r, EXPORT_EBGP, true],
    ['In {max 20}: /21', within('In', { max: 20 }), '10.0.0.0/21', r, EXPORT_EBGP, false],
    ['In {}: /32, both defaults', within('In', {}), '10.0.0.1/32', r, EXPORT_EBGP, true],
    // Calico raises min to the cidr's length; BIRD's raw {8,24} would have taken this /12.
    ['In {min 8, max 24} on a /16: a covering /12 (min raised to 16)', within('In', { min: 8, max: 24 }), '10.0.0.0/12', r, EXPORT_EBGP, false],
    ['In {min 8, max 24} on a /16: the cidr itself', within('In', { min: 8, max: 24 }), '10.0.0.0/16', r, EXPORT_EBGP, true],
    // min > max: BIRD refuses the configuration; the parser should too. Here the set is empty.
    ['In {min 24, max 20}: empty range, a /22 inside', within('In', { min: 24, max: 20 }), '10.0.0.0/22', r, EXPORT_EBGP, false],
    ['NotIn {min 24, max 20}: empty range, a /22 inside', within('NotIn', { min: 24, max: 20 }), '10.0.0.0/22', r, EXPORT_EBGP, true],
    // IPv6.
    ['IPv6 In {48,64}: /47', within('In', { min: 48, max: 64 }, C6), '2001:db8::/47', r, EXPORT_EBGP, false],
    ['IPv6 In {48,64}: /48', within('In', { min: 48, max: 64 }, C6), '2001:db8:1::/48', r, EXPORT_EBGP, true],
    ['IPv6 In {48,64}: /64', within('In', { min: 48, max: 64 }, C6), '2001:db8:1:2::/64', r, EXPORT_EBGP, true],
    ['IPv6 In {48,64}: /65', within('In', { min: 48, max: 64 }, C6), '2001:db8:1:2::/65', r, EXPORT_EBGP, false],
    ['IPv6 NotIn {48,64}: /65 inside', within('NotIn', { min: 48, max: 64 }, C6), '2001:db8:1:2::/65', r, EXPORT_EBGP, true],
    ['IPv6 In {min 120}: /128, max defaults to 128', within('In', { min: 120 }, C6), '2001:db8::1/128', r, EXPORT_EBGP, true],
    ['IPv6 In {min 120}: /119', within('In', { min: 120 }, C6), '2001:db8::/119', r, EXPORT_EBGP, false],
  ];

  it('has rows', () => expect(rows.length).toBe(35));
  checkMatches(rows);
});

describe('applyFilters: source, interface, peerType', () => {
  const rows: MatchRow[] = [
    // source: RemotePeers is BIRD `source ~ [ RTS_BGP ]`.
    ['source RemotePeers: export of a learned route', { source: 'RemotePeers' }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['source RemotePeers: export of an originated route', { source: 'RemotePeers' }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['source RemotePeers: export of an originated IPv6 route', { source: 'RemotePeers' }, '2001:db8::/48', originated(), EXPORT_IBGP, false],
    ['source RemotePeers: every imported route', { source: 'RemotePeers' }, '10.0.0.0/16', learned(), IMPORT_EBGP, true],
    // interface: kbgp's routes have none, so BIRD's ifname is "" and patmatch sees "".
    ['interface eth0: a learned route', { interface: 'eth0' }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    ['interface eth0: an originated route', { interface: 'eth0' }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['interface eth0: on import', { interface: 'eth0' }, '10.0.0.0/16', learned(), IMPORT_IBGP, false],
    ['interface cali*: a glob', { interface: 'cali*' }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['interface "*" matches "" (any route, as in Calico)', { interface: '*' }, '10.0.0.0/16', originated(), EXPORT_EBGP, true],
    ['interface "**" does not match "" (patmatch looks for a literal "*")', { interface: '**' }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['interface "?" needs one character', { interface: '?' }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    // peerType: the session's type.
    ['peerType eBGP, export to eBGP', { peerType: 'eBGP' }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['peerType eBGP, export to iBGP', { peerType: 'eBGP' }, '10.0.0.0/16', learned(), EXPORT_IBGP, false],
    ['peerType iBGP, export to iBGP', { peerType: 'iBGP' }, '10.0.0.0/16', originated(), EXPORT_IBGP, true],
    ['peerType iBGP, export to eBGP', { peerType: 'iBGP' }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['peerType eBGP, import from eBGP', { peerType: 'eBGP' }, '2001:db8::/48', learned(), IMPORT_EBGP, true],
    ['peerType iBGP, import from eBGP', { peerType: 'iBGP' }, '2001:db8::/48', learned(), IMPORT_EBGP, false],
    ['peerType iBGP, import from iBGP', { peerType: 'iBGP' }, '10.0.0.0/16', learned(), IMPORT_IBGP, true],
  ];

  it('has rows', () => expect(rows.length).toBe(18));
  checkMatches(rows);
});

describe('applyFilters: communities (any of)', () => {
  // learned() carries 65000:100 and the large 65000:1:2; originated() carries none.
  const rows: MatchRow[] = [
    ['standard, carried', { communities: [std('65000:100')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['standard, not carried', { communities: [std('65000:101')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    ['standard, route without COMMUNITIES', { communities: [std('65000:100')] }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['standard, the second of two listed', { communities: [std('65000:999'), std('65000:100')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['well-known NO_EXPORT by name', { communities: [std('no-export')] }, '10.0.0.0/16', learned({ communities: [C('NO_EXPORT')] }), EXPORT_IBGP, true],
    ['large, carried', { communities: [lg('65000:1:2')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['large, last part differs', { communities: [lg('65000:1:3')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    ['large, middle part differs', { communities: [lg('65000:0:2')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    ['large, global admin differs', { communities: [lg('65001:1:2')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, false],
    ['large, route without LARGE_COMMUNITY', { communities: [lg('65000:1:2')] }, '10.0.0.0/16', originated(), EXPORT_EBGP, false],
    ['a standard value is not looked for among large ones', { communities: [std('65000:1')] }, '10.0.0.0/16', learned({ communities: [] }), EXPORT_EBGP, false],
    ['a large value is not looked for among standard ones', { communities: [lg('0:65000:100')] }, '10.0.0.0/16', learned({ largeCommunities: [] }), EXPORT_EBGP, false],
    ['large or standard, the standard one carried', { communities: [lg('65000:9:9'), std('65000:100')] }, '10.0.0.0/16', learned(), EXPORT_EBGP, true],
    ['on import: set by the peer', { communities: [std('65000:100')] }, '2001:db8::/48', learned(), IMPORT_EBGP, true],
  ];

  it('has rows', () => expect(rows.length).toBe(14));
  checkMatches(rows);
});

describe('applyFilters: match fields combined (all must hold)', () => {
  const TEN8 = parsePrefix('10.0.0.0/8');
  const rows: MatchRow[] = [
    ['cidr and peerType, both hold', { cidr: TEN8, matchOperator: 'In', peerType: 'eBGP' }, '10.1.0.0/16', learned(), EXPORT_EBGP, true],
    ['cidr holds, peerType not', { cidr: TEN8, matchOperator: 'In', peerType: 'eBGP' }, '10.1.0.0/16', learned(), EXPORT_IBGP, false],
    ['peerType holds, cidr not', { cidr: TEN8, matchOperator: 'In', peerType: 'eBGP' }, '192.168.0.0/16', learned(), EXPORT_EBGP, false],
    ['cidr, source and community all hold', { cidr: TEN8, matchOperator: 'In', source: 'RemotePeers', communities: [std('65000:100')] }, '10.1.0.0/16', learned(), EXPORT_EBGP, true],
    ['cidr and source hold, community not', { cidr: TEN8, matchOperator: 'In', source: 'RemotePeers', communities: [std('65000:7')] }, '10.1.0.0/16', learned(), EXPORT_EBGP, false],
    ['cidr holds, source not (originated)', { cidr: TEN8, matchOperator: 'In', source: 'RemotePeers' }, '10.1.0.0/16', originated(), EXPORT_EBGP, false],
    ['cidr, interface "*" and peerType hold', { cidr: TEN8, matchOperator: 'In', interface: '*', peerType: 'iBGP' }, '10.1.0.0/16', originated(), EXPORT_IBGP, true],
    ['cidr holds, interface eth0 never does', { cidr: TEN8, matchOperator: 'In', interface: 'eth0' }, '10.1.0.0/16', learned(), EXPORT_EBGP, false],
    [
      'every field given and holding',
      { cidr: TEN8, matchOperator: 'In', prefixLength: { min: 16, max: 24 }, source: 'RemotePeers', interface: '*', peerType: 'iBGP', communities: [lg('65000:1:2')] },
      '10.1.2.0/24',
      learned(),
      IMPORT_IBGP,
      true,
    ],
    [
      'every field given, prefixLength one beyond max',
      { cidr: TEN8, matchOperator: 'In', prefixLength: { min: 16, max: 24 }, source: 'RemotePeers', interface: '*', peerType: 'iBGP', communities: [lg('65000:1:2')] },
      '10.1.2.0/25',
      learned(),
      IMPORT_IBGP,
      false,
    ],
    ['no match fields: matches every route', {}, '2001:db8::/48', originated(), EXPORT_IBGP, true],
  ];

  it('has rows', () => expect(rows.length).toBe(11));
  checkMatches(rows);
});

// ---------------------------------------------------------------------------------------------
// Which list runs, and in what order: (filters, prefix, route, context) → result.

type OrderRow = [string, BgpFilter[], string, RouteIn, FilterContext, FilterResult];

function checkResults(rows: OrderRow[]): void {
  it.each(rows)('%s', (_name, filters, prefix, route, c, result) => {
    const net = deepFreeze(parsePrefix(prefix));
    expect(applyFilters(deepFreeze(filters), net, route, c)).toStrictEqual(result);
  });
}

/** Matches nothing the tests send. */
const NEVER: FilterRule = { communities: [std('65535:65534')], action: 'Reject' };
const ALL_REJECT: FilterRule = { action: 'Reject' };
const ALL_ACCEPT: FilterRule = { action: 'Accept' };
const addStd = (s: string): FilterOperation => ({ kind: 'addCommunity', community: std(s) });
const addLarge = (s: string): FilterOperation => ({ kind: 'addCommunity', community: lg(s) });
const prepend = (...asns: number[]): FilterOperation => ({ kind: 'prependASPath', asns });

describe('applyFilters: the list for the direction and family', () => {
  /** Each list rejects at a different index, so the index names the list. */
  const BY_LIST = filter('by-list', {
    importV4: [ALL_REJECT],
    exportV4: [NEVER, ALL_REJECT],
    importV6: [NEVER, NEVER, ALL_REJECT],
    exportV6: [NEVER, NEVER, NEVER, ALL_REJECT],
  });
  const r = learned();
  const rows: OrderRow[] = [
    ['IPv4 import: importV4', [BY_LIST], '10.0.0.0/16', r, IMPORT_EBGP, rejected(0, 'by-list')],
    ['IPv4 export: exportV4', [BY_LIST], '10.0.0.0/16', r, EXPORT_EBGP, rejected(1, 'by-list')],
    ['IPv6 import: importV6', [BY_LIST], '2001:db8::/48', r, IMPORT_IBGP, rejected(2, 'by-list')],
    ['IPv6 export: exportV6', [BY_LIST], '2001:db8::/48', r, EXPORT_IBGP, rejected(3, 'by-list')],
    ['IPv4-mapped IPv6 prefix: still the V6 list', [BY_LIST], '::ffff:10.0.0.0/120', r, EXPORT_EBGP, rejected(3, 'by-list')],
    ['an IPv6 route meets a filter with only IPv4 lists', [filter('v4', { importV4: [ALL_REJECT], exportV4: [ALL_REJECT] })], '2001:db8::/48', r, EXPORT_EBGP, passed(r)],
    ['an IPv4 route meets a filter with only IPv6 lists', [filter('v6', { importV6: [ALL_REJECT], exportV6: [ALL_REJECT] })], '10.0.0.0/16', r, IMPORT_EBGP, passed(r)],
    ['an import meets a filter with only export lists', [filter('out', { exportV4: [ALL_REJECT], exportV6: [ALL_REJECT] })], '10.0.0.0/16', r, IMPORT_EBGP, passed(r)],
    ['an export meets a filter with only import lists', [filter('in', { importV4: [ALL_REJECT], importV6: [ALL_REJECT] })], '2001:db8::/48', r, EXPORT_IBGP, passed(r)],
  ];

  it('has rows', () => expect(rows.length).toBe(9));
  checkResults(rows);
});

describe('applyFilters: first match wins, no match accepts, several filters in order', () => {
  const TEN8 = parsePrefix('10.0.0.0/8');
  const r = learned();
  const ra = r.attributes;
  const withStd = (s: string): PathAttributes => ({ ...ra, communities: [...(ra.communities ?? []), C(s)] });
  const rows: OrderRow[] = [
    // Within one list.
    ['first match wins: Accept before a catch-all Reject', [filter('f', { exportV4: [{ cidr: TEN8, matchOperator: 'In', action: 'Accept' }, ALL_REJECT] })], '10.1.0.0/16', r, EXPORT_EBGP, accepted(ra, 0, 'f')],
    ['no earlier match: the catch-all Reject', [filter('f', { exportV4: [{ cidr: TEN8, matchOperator: 'In', action: 'Accept' }, ALL_REJECT] })], '192.168.0.0/16', r, EXPORT_EBGP, rejected(1, 'f')],
    [
      'a narrower Reject before a broader Accept: Reject',
      [filter('f', { exportV4: [{ cidr: parsePrefix('10.0.0.0/16'), matchOperator: 'Equal', action: 'Reject' }, { cidr: TEN8, matchOperator: 'In', action: 'Accept', operations: [addStd('65000:1')] }] })],
      '10.0.0.0/16',
      r,
      EXPORT_EBGP,
      rejected(0, 'f'),
    ],
    [
      'a narrower Reject before a broader Accept: the Accept, with its operations',
      [filter('f', { exportV4: [{ cidr: parsePrefix('10.0.0.0/16'), matchOperator: 'Equal', action: 'Reject' }, { cidr: TEN8, matchOperator: 'In', action: 'Accept', operations: [addStd('65000:1')] }] })],
      '10.0.1.0/24',
      r,
      EXPORT_EBGP,
      accepted(withStd('65000:1'), 1, 'f'),
    ],
    ['two matching Rejects: the first one is named', [filter('f', { importV6: [NEVER, ALL_REJECT, ALL_REJECT] })], '2001:db8::/48', r, IMPORT_EBGP, rejected(1, 'f')],
    ['no rule matches: accepted, no rule named', [filter('f', { exportV4: [NEVER, { cidr: TEN8, matchOperator: 'NotIn', action: 'Reject' }] })], '10.0.0.0/16', r, EXPORT_EBGP, passed(r)],
    ['no filters at all', [], '10.0.0.0/16', r, EXPORT_EBGP, passed(r)],
    ['a filter with every list empty', [filter('empty', {})], '10.0.0.0/16', r, IMPORT_EBGP, passed(r)],
    // Across filters: accept/reject in a BIRD function ends the whole filter block.
    ['filter 1 accepts: filter 2\'s Reject never runs', [filter('f1', { exportV4: [ALL_ACCEPT] }), filter('f2', { exportV4: [ALL_REJECT] })], '10.0.0.0/16', r, EXPORT_EBGP, accepted(ra, 0, 'f1')],
    ['filter 1 rejects: filter 2\'s Accept never runs', [filter('f1', { exportV4: [ALL_REJECT] }), filter('f2', { exportV4: [ALL_ACCEPT] })], '10.0.0.0/16', r, EXPORT_EBGP, rejected(0, 'f1')],
    ['filter 1 has no match: filter 2 rejects', [filter('f1', { exportV4: [NEVER] }), filter('f2', { exportV4: [ALL_REJECT] })], '10.0.0.0/16', r, EXPORT_EBGP, rejected(0, 'f2')],
    ['filter 2\'s rule index counts in filter 2\'s list', [filter('f1', { importV4: [NEVER, NEVER, NEVER] }), filter('f2', { importV4: [NEVER, NEVER, ALL_REJECT] })], '10.0.0.0/16', r, IMPORT_IBGP, rejected(2, 'f2')],
    [
      'filter 1 has no match: filter 2 accepts with its operations, filter 1\'s unapplied',
      [filter('f1', { exportV4: [{ ...NEVER, action: 'Accept', operations: [addStd('65000:1')] }] }), filter('f2', { exportV4: [{ action: 'Accept', operations: [addStd('65000:2')] }] })],
      '10.0.0.0/16',
      r,
      EXPORT_EBGP,
      accepted(withStd('65000:2'), 0, 'f2'),
    ],
    [
      'filter 1 accepts with operations: filter 2\'s operations are not applied',
      [filter('f1', { exportV4: [{ action: 'Accept', operations: [addStd('65000:1')] }] }), filter('f2', { exportV4: [{ action: 'Accept', operations: [addStd('65000:2')] }] })],
      '10.0.0.0/16',
      r,
      EXPORT_EBGP,
      accepted(withStd('65000:1'), 0, 'f1'),
    ],
    ['filter 1 has no list for this direction: filter 2 decides', [filter('f1', { importV4: [ALL_REJECT] }), filter('f2', { exportV4: [NEVER, ALL_ACCEPT] })], '10.0.0.0/16', r, EXPORT_EBGP, accepted(ra, 1, 'f2')],
    ['neither filter matches: accepted, no rule named', [filter('f1', { exportV6: [NEVER] }), filter('f2', { exportV6: [NEVER] })], '2001:db8::/48', r, EXPORT_EBGP, passed(r)],
    ['the same rule set under two names: the first name', [filter('a', { exportV4: [ALL_REJECT] }), filter('b', { exportV4: [ALL_REJECT] })], '10.0.0.0/16', r, EXPORT_EBGP, rejected(0, 'a')],
    // The CRD refuses operations on Reject; if one gets through, the route is still just rejected.
    ['Reject with operations: rejected, nothing else', [filter('f', { exportV4: [{ action: 'Reject', operations: [addStd('65000:1')] }] })], '10.0.0.0/16', r, EXPORT_EBGP, rejected(0, 'f')],
  ];

  it('has rows', () => expect(rows.length).toBe(18));
  checkResults(rows);

  it('a route no rule matched keeps its very attributes object', () => {
    const net = parsePrefix('10.0.0.0/16');
    const out = applyFilters([filter('f', { exportV4: [NEVER] })], net, r, EXPORT_EBGP);
    expect(out.action === 'Accept' && out.attributes).toBe(ra);
  });

  it('an Accept without operations returns the attributes object it was given', () => {
    const net = parsePrefix('10.0.0.0/16');
    const out = applyFilters([filter('f', { exportV4: [ALL_ACCEPT] })], net, r, EXPORT_EBGP);
    expect(out.action === 'Accept' && out.attributes).toBe(ra);
  });
});

// ---------------------------------------------------------------------------------------------
// Operations: (operations, attributes) → exactly these attributes.

describe('applyFilters: operations on Accept', () => {
  /** Attributes the operations must leave alone ride along in every row. */
  const BASE: PathAttributes = { origin: 0, asPath: [seq(64512, 65001)], nextHop: '198.51.100.1', med: 5, localPref: 200 };
  const rows: [string, FilterOperation[], Partial<PathAttributes>, Partial<PathAttributes>][] = [
    // addCommunity: appended at the end (bird int_set_add / lc_set_add), never twice.
    ['standard, route without COMMUNITIES', [addStd('65000:300')], {}, { communities: [C('65000:300')] }],
    ['standard, appended after those carried', [addStd('65000:300')], { communities: [C('65000:2'), C('65000:1')] }, { communities: [C('65000:2'), C('65000:1'), C('65000:300')] }],
    ['standard, already carried: unchanged, order kept', [addStd('65000:300')], { communities: [C('65000:300'), C('65000:1')] }, { communities: [C('65000:300'), C('65000:1')] }],
    ['standard twice in one rule: once', [addStd('65000:300'), addStd('65000:300')], {}, { communities: [C('65000:300')] }],
    ['two standard, in the order listed', [addStd('65000:9'), addStd('65000:8')], { communities: [C('65000:1')] }, { communities: [C('65000:1'), C('65000:9'), C('65000:8')] }],
    ['large, route without LARGE_COMMUNITY', [addLarge('65000:300:400')], {}, { largeCommunities: [L('65000:300:400')] }],
    ['large, appended after those carried', [addLarge('65000:300:400')], { largeCommunities: [L('65000:1:2')] }, { largeCommunities: [L('65000:1:2'), L('65000:300:400')] }],
    ['large, already carried (an equal value): unchanged', [addLarge('65000:300:400')], { largeCommunities: [L('65000:300:400')] }, { largeCommunities: [L('65000:300:400')] }],
    ['large, only the last part differs: added', [addLarge('65000:300:401')], { largeCommunities: [L('65000:300:400')] }, { largeCommunities: [L('65000:300:400'), L('65000:300:401')] }],
    [
      'standard leaves LARGE_COMMUNITY alone, large leaves COMMUNITIES alone',
      [addStd('65000:300'), addLarge('65000:5:6')],
      { communities: [C('65000:1')], largeCommunities: [L('65000:1:2')] },
      { communities: [C('65000:1'), C('65000:300')], largeCommunities: [L('65000:1:2'), L('65000:5:6')] },
    ],
    // prependASPath: the path starts with the ASes as listed; bird's as_path_prepend per AS.
    ['prepend one AS onto an AS_SEQUENCE', [prepend(65100)], {}, { asPath: [seq(65100, 64512, 65001)] }],
    ['prepend two: they lead in the order listed', [prepend(65100, 65101)], {}, { asPath: [seq(65100, 65101, 64512, 65001)] }],
    ['prepend the same AS three times', [prepend(65100, 65100, 65100)], {}, { asPath: [seq(65100, 65100, 65100, 64512, 65001)] }],
    ['prepend onto an empty AS_PATH', [prepend(65100, 65101)], { asPath: [] }, { asPath: [seq(65100, 65101)] }],
    ['prepend onto a route with no AS_PATH attribute', [prepend(65100)], { asPath: undefined }, { asPath: [seq(65100)] }],
    ['prepend onto an AS_SET: a new AS_SEQUENCE in front', [prepend(65100)], { asPath: [set(1, 2)] }, { asPath: [seq(65100), set(1, 2)] }],
    ['prepend two onto an AS_SET: both in the one new sequence', [prepend(65100, 65101)], { asPath: [set(1, 2)] }, { asPath: [seq(65100, 65101), set(1, 2)] }],
    ['prepend onto an AS_CONFED_SEQUENCE: a new AS_SEQUENCE', [prepend(65100)], { asPath: [confedSeq(64600)] }, { asPath: [seq(65100), confedSeq(64600)] }],
    ['later segments kept', [prepend(65100)], { asPath: [seq(1), set(2, 3), seq(4)] }, { asPath: [seq(65100, 1), set(2, 3), seq(4)] }],
    ['prepend onto a full (255) AS_SEQUENCE: a new segment', [prepend(65100)], { asPath: [seq(...run(255))] }, { asPath: [seq(65100), seq(...run(255))] }],
    ['prepend one onto 254: fills it to 255', [prepend(65100)], { asPath: [seq(...run(254))] }, { asPath: [seq(65100, ...run(254))] }],
    ['prepend two onto 254: the last listed fills it, the first opens a new segment', [prepend(65100, 65101)], { asPath: [seq(...run(254))] }, { asPath: [seq(65100), seq(65101, ...run(254))] }],
    ['prepend two onto 253: one segment of 255', [prepend(65100, 65101)], { asPath: [seq(...run(253))] }, { asPath: [seq(65100, 65101, ...run(253))] }],
    // Several operations, in order.
    ['prepend then add a community', [prepend(65100), addStd('65000:300')], {}, { asPath: [seq(65100, 64512, 65001)], communities: [C('65000:300')] }],
    ['two prepends: the second lands in front of the first', [prepend(65100), prepend(65200, 65201)], {}, { asPath: [seq(65200, 65201, 65100, 64512, 65001)] }],
    ['no operations: the attributes as they were', [], {}, {}],
  ];

  it('has rows', () => expect(rows.length).toBe(26));

  it.each(rows)('%s', (_name, operations, before, after) => {
    const attributes = { ...BASE, ...before };
    const route = deepFreeze({ attributes, local: false });
    const net = parsePrefix('10.0.0.0/16');
    const rule: FilterRule = { action: 'Accept', operations };
    const out = applyFilters([filter('ops', { exportV4: [rule] })], net, route, EXPORT_EBGP);
    expect(out).toStrictEqual(accepted({ ...BASE, ...before, ...after }, 0, 'ops'));
  });

  it('operations on an IPv6 import', () => {
    const route = learned({ asPath: [set(7)] });
    const rule: FilterRule = { cidr: C6, matchOperator: 'In', action: 'Accept', operations: [prepend(65100), addLarge('65000:1:2'), addLarge('65000:3:4')] };
    const out = applyFilters([filter('v6-in', { importV6: [rule] })], parsePrefix('2001:db8:5::/48'), route, IMPORT_EBGP);
    expect(out).toStrictEqual(accepted({ ...LEARNED, asPath: [seq(65100), set(7)], largeCommunities: [L('65000:1:2'), L('65000:3:4')] }, 0, 'v6-in'));
  });

  it('leaves the input attributes as they were', () => {
    const attributes: PathAttributes = { ...BASE, asPath: [seq(...run(254)), set(9)], communities: [C('65000:1')], largeCommunities: [L('1:2:3')] };
    const before = structuredClone(attributes);
    const route = deepFreeze({ attributes, local: true });
    const rule: FilterRule = { action: 'Accept', operations: [prepend(65100, 65101), addStd('65000:2'), addLarge('4:5:6')] };
    const out = applyFilters([filter('f', { exportV4: [rule] })], parsePrefix('10.0.0.0/16'), route, EXPORT_IBGP);
    expect(out.action).toBe('Accept');
    expect(attributes).toStrictEqual(before);
  });
});
