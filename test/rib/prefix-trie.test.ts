/**
 * PrefixTrie: table tests of exact match, longest match, covered walks, address order and the
 * record count as branch points come and go, for both families; then property tests against a
 * naive model that works on prefixes as bit strings. Properties are bounded (numRuns, op count).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Afi, type Prefix, formatPrefix, ipv4Prefix, ipv6Prefix, parseIpv6, parsePrefix } from '../../src/bgp/index.js';
import { PrefixTrie, type PrefixTrieOptions } from '../../src/rib/prefix-trie.js';

const TIMEOUT = 120_000;

/**
 * Everything runs twice: as a small trie has it, from the root only, and with the jump table a
 * large trie keeps (hints on the first 16 bits) switched on from the first record.
 */
const MODES: readonly { readonly mode: string; readonly options: PrefixTrieOptions }[] = [
  { mode: 'no jump table', options: {} },
  { mode: 'jump table from the start', options: { jumpTableAt: 0 } },
];

/** A trie holding each prefix with its own text as the value. */
function trieOf(afi: Afi, texts: readonly string[], options: PrefixTrieOptions = {}): PrefixTrie<string> {
  const t = new PrefixTrie<string>(afi, options);
  for (const s of texts) t.set(parsePrefix(s), s);
  return t;
}

const texts = (it: Iterable<[Prefix, string]>): string[] => [...it].map(([p]) => formatPrefix(p));

// ---------------------------------------------------------------------------------------------
// Tables

const V4_STORED = [
  '10.1.2.3/32',
  '0.0.0.0/0',
  '192.168.0.0/16',
  '10.0.0.0/16',
  '10.1.2.0/24',
  '255.255.255.255/32',
  '10.0.0.0/8',
  '128.0.0.0/1',
  '10.1.2.2/32',
  '10.1.0.0/16',
];
const V4_NO_DEFAULT = V4_STORED.filter((s) => s !== '0.0.0.0/0');

const V6_STORED = [
  '2001:db8::1/128',
  '2001:db8:0:1::/65',
  '::/0',
  '2001:db8::/32',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
  '2001:db8:8000::/33',
  '2001:db8::/127',
  '2001:db8:0:1::/64',
  '8000::/1',
  '2001:db8::/33',
  '2001:db8:0:1:8000::/65',
];
const V6_NO_DEFAULT = V6_STORED.filter((s) => s !== '::/0');

interface Family {
  readonly name: string;
  readonly afi: Afi;
  readonly stored: readonly string[];
  readonly noDefault: readonly string[];
  /** [case, query, stored prefix it names exactly, or undefined] */
  readonly exact: readonly (readonly [string, string, string | undefined])[];
  /** [case, query, longest match with the default route, longest match without it] */
  readonly longest: readonly (readonly [string, string, string | undefined, string | undefined])[];
  /** [case, query, what covered() yields, in order] */
  readonly covered: readonly (readonly [string, string, readonly string[]])[];
  readonly order: readonly string[];
}

const FAMILIES: readonly Family[] = [
  {
    name: 'IPv4',
    afi: Afi.Ipv4,
    stored: V4_STORED,
    noDefault: V4_NO_DEFAULT,
    exact: [
      ['the default route', '0.0.0.0/0', '0.0.0.0/0'],
      ['a /8', '10.0.0.0/8', '10.0.0.0/8'],
      ['a /16 at the same address as a stored /8', '10.0.0.0/16', '10.0.0.0/16'],
      ['a branch point is not a stored prefix', '10.0.0.0/15', undefined],
      ['a length between two stored ones at one address', '10.0.0.0/12', undefined],
      ['a /32 host', '10.1.2.3/32', '10.1.2.3/32'],
      ['a /32 under a stored /24', '10.1.2.4/32', undefined],
      ['the last address', '255.255.255.255/32', '255.255.255.255/32'],
      ['the upper half', '128.0.0.0/1', '128.0.0.0/1'],
      ['the lower half', '0.0.0.0/1', undefined],
      ['nothing near', '172.16.0.0/12', undefined],
    ],
    longest: [
      ['a stored /32 matches itself', '10.1.2.3/32', '10.1.2.3/32', '10.1.2.3/32'],
      ['a host under a /24', '10.1.2.4/32', '10.1.2.0/24', '10.1.2.0/24'],
      ['a host under a /16', '10.1.3.1/32', '10.1.0.0/16', '10.1.0.0/16'],
      ['a host under the /16 at the /8 address', '10.0.5.5/32', '10.0.0.0/16', '10.0.0.0/16'],
      ['a host under the /8 only', '10.2.0.1/32', '10.0.0.0/8', '10.0.0.0/8'],
      ['a host under nothing but the default', '11.0.0.1/32', '0.0.0.0/0', undefined],
      ['a branch point', '10.0.0.0/15', '10.0.0.0/8', '10.0.0.0/8'],
      ['a /23 under a /16, above a /24', '10.1.2.0/23', '10.1.0.0/16', '10.1.0.0/16'],
      ['the default route', '0.0.0.0/0', '0.0.0.0/0', undefined],
      ['a host in the upper half', '200.1.1.1/32', '128.0.0.0/1', '128.0.0.0/1'],
      ['the last address', '255.255.255.255/32', '255.255.255.255/32', '255.255.255.255/32'],
      ['the first address', '0.0.0.0/32', '0.0.0.0/0', undefined],
    ],
    covered: [
      ['a /8 and all inside it', '10.0.0.0/8', ['10.0.0.0/8', '10.0.0.0/16', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/32', '10.1.2.3/32']],
      ['a /24 and its hosts', '10.1.2.0/24', ['10.1.2.0/24', '10.1.2.2/32', '10.1.2.3/32']],
      ['a /31 that is not stored', '10.1.2.2/31', ['10.1.2.2/32', '10.1.2.3/32']],
      ['a /32', '10.1.2.3/32', ['10.1.2.3/32']],
      ['a branch point', '10.0.0.0/15', ['10.0.0.0/16', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/32', '10.1.2.3/32']],
      ['an empty /8', '11.0.0.0/8', []],
      ['an empty /16 beside stored ones', '10.2.0.0/16', []],
      ['a /32 that is not stored', '10.1.2.4/32', []],
      ['the upper half', '128.0.0.0/1', ['128.0.0.0/1', '192.168.0.0/16', '255.255.255.255/32']],
    ],
    order: [
      '0.0.0.0/0',
      '10.0.0.0/8',
      '10.0.0.0/16',
      '10.1.0.0/16',
      '10.1.2.0/24',
      '10.1.2.2/32',
      '10.1.2.3/32',
      '128.0.0.0/1',
      '192.168.0.0/16',
      '255.255.255.255/32',
    ],
  },
  {
    name: 'IPv6',
    afi: Afi.Ipv6,
    stored: V6_STORED,
    noDefault: V6_NO_DEFAULT,
    exact: [
      ['the default route', '::/0', '::/0'],
      ['a /32', '2001:db8::/32', '2001:db8::/32'],
      ['a /33 at the same address as a stored /32 (first bit of word 1)', '2001:db8::/33', '2001:db8::/33'],
      ['a /31 above a stored /32', '2001:db8::/31', undefined],
      ['a /64 (last bit of word 1)', '2001:db8:0:1::/64', '2001:db8:0:1::/64'],
      ['a /65 (first bit of word 2)', '2001:db8:0:1:8000::/65', '2001:db8:0:1:8000::/65'],
      ['a /128 host', '2001:db8::1/128', '2001:db8::1/128'],
      ['a /128 under a stored /127', '2001:db8::/128', undefined],
      ['the last address', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
      ['the branch point of the two /33s', '2001:db8::/32', '2001:db8::/32'],
      ['the branch point of the two /65s', '2001:db8:0:1::/64', '2001:db8:0:1::/64'],
      ['nothing near', 'fe80::/10', undefined],
    ],
    longest: [
      ['a stored /128 matches itself', '2001:db8::1/128', '2001:db8::1/128', '2001:db8::1/128'],
      ['a host under a /127', '2001:db8::/128', '2001:db8::/127', '2001:db8::/127'],
      ['a host beside the /127, under the lower /33', '2001:db8::2/128', '2001:db8::/33', '2001:db8::/33'],
      ['a host under the lower /65', '2001:db8:0:1::5/128', '2001:db8:0:1::/65', '2001:db8:0:1::/65'],
      ['a host under the upper /65', '2001:db8:0:1:8000::1/128', '2001:db8:0:1:8000::/65', '2001:db8:0:1:8000::/65'],
      ['a host under the upper /33', '2001:db8:8000::1/128', '2001:db8:8000::/33', '2001:db8:8000::/33'],
      ['a /96 between the /64 and the /65s', '2001:db8:0:1:1::/96', '2001:db8:0:1::/65', '2001:db8:0:1::/65'],
      ['a /31 above the /32', '2001:db8::/31', '::/0', undefined],
      ['a host under nothing but the default', '2001:db9::1/128', '::/0', undefined],
      ['a host in the upper half', 'fe80::1/128', '8000::/1', '8000::/1'],
      ['the last address', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
      ['the default route', '::/0', '::/0', undefined],
    ],
    covered: [
      [
        'a /32 and all inside it',
        '2001:db8::/32',
        ['2001:db8::/32', '2001:db8::/33', '2001:db8::/127', '2001:db8::1/128', '2001:db8:0:1::/64', '2001:db8:0:1::/65', '2001:db8:0:1:8000::/65', '2001:db8:8000::/33'],
      ],
      ['a /64 and its two halves', '2001:db8:0:1::/64', ['2001:db8:0:1::/64', '2001:db8:0:1::/65', '2001:db8:0:1:8000::/65']],
      ['a /126 that is not stored', '2001:db8::/126', ['2001:db8::/127', '2001:db8::1/128']],
      ['a /96 reaching across word 2', '2001:db8::/96', ['2001:db8::/127', '2001:db8::1/128']],
      ['a /128', '2001:db8::1/128', ['2001:db8::1/128']],
      ['an empty /64 beside stored ones', '2001:db8:0:2::/64', []],
      ['the upper half', '8000::/1', ['8000::/1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128']],
    ],
    order: [
      '::/0',
      '2001:db8::/32',
      '2001:db8::/33',
      '2001:db8::/127',
      '2001:db8::1/128',
      '2001:db8:0:1::/64',
      '2001:db8:0:1::/65',
      '2001:db8:0:1:8000::/65',
      '2001:db8:8000::/33',
      '8000::/1',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
    ],
  },
];

describe.each(FAMILIES.flatMap((f) => MODES.map((m) => ({ ...f, ...m }))))('PrefixTrie, $name, $mode', (f) => {
  const trie = trieOf(f.afi, f.stored, f.options);
  const noDefault = trieOf(f.afi, f.noDefault, f.options);

  it('holds what was stored', () => {
    expect(trie.size).toBe(f.stored.length);
  });

  it.each(f.exact)('get: %s (%s)', (_name, query, expected) => {
    expect(f.exact.length).toBeGreaterThan(0);
    expect(trie.get(parsePrefix(query))).toBe(expected);
    expect(trie.has(parsePrefix(query))).toBe(expected !== undefined);
  });

  it.each(f.longest)('longestMatch: %s (%s)', (_name, query, withDefault, withoutDefault) => {
    const m = trie.longestMatch(parsePrefix(query));
    expect(m === undefined ? undefined : [formatPrefix(m.prefix), m.value]).toEqual(withDefault === undefined ? undefined : [withDefault, withDefault]);
    expect(noDefault.longestMatch(parsePrefix(query))?.value).toBe(withoutDefault);
  });

  it.each(f.covered)('covered: %s (%s)', (_name, query, expected) => {
    expect(texts(trie.covered(parsePrefix(query)))).toEqual(expected);
  });

  it('covered by the default route is every entry, in order', () => {
    expect(texts(trie.covered(parsePrefix(f.afi === Afi.Ipv4 ? '0.0.0.0/0' : '::/0')))).toEqual(f.order);
  });

  it('entries are in address order, shorter first at one address, whatever the insertion order', () => {
    expect(texts(trie.entries())).toEqual(f.order);
    expect(texts(trieOf(f.afi, [...f.stored].reverse(), f.options))).toEqual(f.order);
    expect([...trie].map(([p, v]) => [formatPrefix(p), v])).toEqual(f.order.map((s) => [s, s]));
  });

  // Ends first, then towards the middle: deletes that hit leaves, branch points and the root in turn.
  const fromBothEnds = (xs: readonly string[]): string[] => xs.map((_, i) => (i % 2 === 0 ? xs[i >> 1] : xs[xs.length - 1 - (i >> 1)]) as string);
  it.each([
    ['in address order', (xs: readonly string[]) => [...xs]],
    ['in reverse address order', (xs: readonly string[]) => [...xs].reverse()],
    ['from both ends inwards', fromBothEnds],
  ] as const)('deleting everything %s leaves the root alone, never adding records on the way', (_name, order) => {
    const t = trieOf(f.afi, f.stored, f.options);
    let records = t.nodeCount;
    for (const s of order(f.order)) {
      expect(t.delete(parsePrefix(s))).toBe(true);
      expect(t.nodeCount).toBeLessThanOrEqual(records);
      records = t.nodeCount;
    }
    expect(t.size).toBe(0);
    expect(t.nodeCount).toBe(1);
    expect([...t.entries()]).toEqual([]);
  });
});

describe.each(MODES)('PrefixTrie records: path compression and delete, $mode', ({ options }) => {
  // [case, afi, prefixes set in order, prefixes then deleted, records expected, size expected]
  const cases: readonly (readonly [string, Afi, readonly string[], readonly string[], number, number])[] = [
    ['an empty trie is the root alone', Afi.Ipv4, [], [], 1, 0],
    ['one prefix hangs off the root', Afi.Ipv4, ['10.0.0.0/24'], [], 2, 1],
    ['two siblings make a branch point', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24'], [], 4, 2],
    ['deleting one sibling removes the branch point', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24'], ['10.0.1.0/24'], 2, 1],
    ['deleting both siblings leaves the root', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24'], ['10.0.0.0/24', '10.0.1.0/24'], 1, 0],
    ['a prefix at the branch point takes its record', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.0.0/23'], [], 4, 3],
    ['deleting it leaves a branch point behind', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.0.0/23'], ['10.0.0.0/23'], 4, 2],
    ['a parent with one child gives way to it', Afi.Ipv4, ['10.0.0.0/16', '10.0.1.0/24'], ['10.0.0.0/16'], 2, 1],
    ['a stored parent outlives its only child', Afi.Ipv4, ['10.0.0.0/16', '10.0.1.0/24'], ['10.0.1.0/24'], 2, 1],
    ['the default route lives in the root', Afi.Ipv4, ['0.0.0.0/0'], [], 1, 1],
    ['deleting the default route keeps the root', Afi.Ipv4, ['0.0.0.0/0', '10.0.0.0/8'], ['0.0.0.0/0'], 2, 1],
    ['a chain at one address', Afi.Ipv4, ['10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '10.0.0.0/32'], [], 5, 4],
    ['a chain loses its middle', Afi.Ipv4, ['10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '10.0.0.0/32'], ['10.0.0.0/16', '10.0.0.0/24'], 3, 2],
    ['three /24s make two branch points', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'], [], 6, 3],
    ['a leaf under a nested branch point takes it along', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'], ['10.0.1.0/24'], 4, 2],
    ['deleting what is not there changes nothing', Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24'], ['10.0.0.0/23', '10.0.2.0/24', '10.0.0.0/25', '0.0.0.0/0'], 4, 2],
    ['two /128s one bit apart', Afi.Ipv6, ['2001:db8::/128', '2001:db8::1/128'], [], 4, 2],
    ['two /128s one bit apart, one deleted', Afi.Ipv6, ['2001:db8::/128', '2001:db8::1/128'], ['2001:db8::1/128'], 2, 1],
    ['siblings parting at bit 32 (word 1)', Afi.Ipv6, ['2001:db8::/33', '2001:db8:8000::/33'], [], 4, 2],
    ['siblings parting at bit 64 (word 2)', Afi.Ipv6, ['2001:db8:0:1::/65', '2001:db8:0:1:8000::/65'], [], 4, 2],
    ['siblings parting at bit 64, one deleted', Afi.Ipv6, ['2001:db8:0:1::/65', '2001:db8:0:1:8000::/65'], ['2001:db8:0:1::/65'], 2, 1],
    ['a /64 over two /128s, the /64 deleted', Afi.Ipv6, ['2001:db8::/64', '2001:db8::1/128', '2001:db8::2/128'], ['2001:db8::/64'], 4, 2],
    ['deleting ::/0 that was never set', Afi.Ipv6, ['2001:db8::/32'], ['::/0'], 2, 1],
  ];

  it.each(cases)('%s', (_name, afi, set, deleted, records, size) => {
    expect(cases.length).toBeGreaterThan(0);
    const t = trieOf(afi, set, options);
    for (const s of deleted) t.delete(parsePrefix(s));
    expect(t.nodeCount).toBe(records);
    expect(t.size).toBe(size);
    const left = set.filter((s) => !deleted.includes(s));
    expect(new Set(texts(t.entries()))).toEqual(new Set(left));
    // The same set built fresh has the same shape: nothing left over from the deletes.
    expect(trieOf(afi, left, options).nodeCount).toBe(records);
  });

  it('delete says whether the prefix was there', () => {
    const t = trieOf(Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24'], options);
    expect(t.delete(parsePrefix('10.0.0.0/23'))).toBe(false);
    expect(t.delete(parsePrefix('10.0.0.0/24'))).toBe(true);
    expect(t.delete(parsePrefix('10.0.0.0/24'))).toBe(false);
  });

  it.each([
    ['IPv4', Afi.Ipv4, (i: number): Prefix => ipv4Prefix((0x0a000000 + i * 17) >>> 0, 32)],
    ['IPv6', Afi.Ipv6, (i: number): Prefix => ipv6Prefix(new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]), 128)],
  ] as const)('%s: a table that grows and shrinks again gives its records back and keeps working', (_name, afi, nth) => {
    const t = new PrefixTrie<number>(afi, options);
    const n = 5000;
    for (let i = 0; i < n; i++) t.set(nth(i), i);
    expect(t.size).toBe(n);
    const peak = t.nodeCount;
    expect(peak).toBeGreaterThan(n);
    const keep = [7, 2500, 4999];
    for (let i = 0; i < n; i++) if (!keep.includes(i)) expect(t.delete(nth(i))).toBe(true);
    expect(t.size).toBe(keep.length);
    expect(t.nodeCount).toBe(1 + keep.length + keep.length - 1);
    expect([...t.entries()].map(([, v]) => v)).toEqual(keep);
    for (const i of keep) expect(t.longestMatch(nth(i))?.value).toBe(i);
    for (let i = 0; i < n; i++) t.set(nth(i), -i);
    expect(t.nodeCount).toBe(peak);
    expect(t.get(nth(4321))).toBe(-4321);
  });
});

describe('PrefixTrie keys', () => {
  it('ignores the path identifier, and keeps the Prefix object of the latest set', () => {
    const t = new PrefixTrie<string>(Afi.Ipv4);
    const first = ipv4Prefix(0x0a000000, 24, 7);
    const second = ipv4Prefix(0x0a000000, 24, 9);
    t.set(first, 'a');
    expect(t.get(ipv4Prefix(0x0a000000, 24))).toBe('a');
    expect(t.longestMatch(ipv4Prefix(0x0a000001, 32))?.prefix).toBe(first);
    t.set(second, 'b');
    expect(t.size).toBe(1);
    const [[p, v]] = [...t.entries()] as [[Prefix, string]];
    expect(p).toBe(second);
    expect(v).toBe('b');
    expect(t.delete(ipv4Prefix(0x0a000000, 24, 1))).toBe(true);
    expect(t.size).toBe(0);
  });

  it.each([
    ['IPv4', Afi.Ipv4, [['10.1.2.3', 8], ['10.1.2.3', 16], ['10.1.129.3', 17], ['10.1.2.3', 31]], '10.1.2.3', '10.1.0.0/16', '10.1.128.0/17'],
    ['IPv6', Afi.Ipv6, [['2001:db8::1', 32], ['2001:db8::1', 64], ['2001:db8:0:0:8000::1', 65], ['2001:db8::1', 127]], '2001:db8::1', '2001:db8::/64', '2001:db8:0:0:8000::/65'],
  ] as const)('%s: host bits set in a key are ignored: a prefix names its network', (_name, afi, keys, host, withinOf, sibling) => {
    const sloppy = (address: string, length: number): Prefix =>
      afi === Afi.Ipv4 ? { afi, length, address: parsePrefix(`${address}/32`).address as number } : { afi, length, address: parseIpv6(address) };
    const t = new PrefixTrie<string>(afi);
    for (const [a, l] of keys) t.set(sloppy(a, l), `${a}/${l}`);
    const clean = trieOf(afi, keys.map(([a, l]) => formatPrefix(afi === Afi.Ipv4 ? ipv4Prefix(sloppy(a, l).address as number, l) : ipv6Prefix(parseIpv6(a), l))));
    expect(t.nodeCount).toBe(clean.nodeCount);
    for (const [p] of clean) expect(t.has(p)).toBe(true);
    expect(t.longestMatch(sloppy(host, afi === Afi.Ipv4 ? 32 : 128))?.value).toBe(`${keys[3][0]}/${keys[3][1]}`);
    expect([...t.covered(parsePrefix(withinOf))].map(([, v]) => v)).toEqual([`${keys[1][0]}/${keys[1][1]}`, `${keys[3][0]}/${keys[3][1]}`, `${keys[2][0]}/${keys[2][1]}`]);
    expect(t.get(parsePrefix(sibling))).toBe(`${keys[2][0]}/${keys[2][1]}`);
  });

  it.each([
    ['an IPv6 prefix in an IPv4 trie', Afi.Ipv4, parsePrefix('::/0')],
    ['an IPv4 prefix in an IPv6 trie', Afi.Ipv6, parsePrefix('0.0.0.0/0')],
    ['a length past 32', Afi.Ipv4, { afi: Afi.Ipv4, length: 33, address: 0 } as Prefix],
    ['a negative length', Afi.Ipv6, { afi: Afi.Ipv6, length: -1, address: new Uint8Array(16) } as Prefix],
  ] as const)('refuses %s', (_name, afi, p) => {
    const t = new PrefixTrie<number>(afi);
    expect(() => t.set(p, 1)).toThrow(RangeError);
    expect(() => t.get(p)).toThrow(RangeError);
    expect(() => t.longestMatch(p)).toThrow(RangeError);
    expect(() => t.delete(p)).toThrow(RangeError);
    expect(t.size).toBe(0);
  });

  it('a walk fails fast when prefixes come or go under it, but not when a value is replaced', () => {
    const t = trieOf(Afi.Ipv4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']);
    const replaced = t.entries();
    replaced.next();
    t.set(parsePrefix('10.0.1.0/24'), 'new');
    expect([...replaced].map(([, v]) => v)).toEqual(['new', '10.0.2.0/24']);

    const deleted = t.covered(parsePrefix('10.0.0.0/16'));
    deleted.next();
    t.delete(parsePrefix('10.0.2.0/24'));
    expect(() => deleted.next()).toThrow(/changed during a walk/);

    const added = t.entries();
    added.next();
    t.set(parsePrefix('10.0.3.0/24'), 'x');
    expect(() => added.next()).toThrow(/changed during a walk/);
  });

  it('a jump-table hint naming a freed, then reused, record is not followed', () => {
    const t = trieOf(Afi.Ipv4, ['10.1.0.0/16', '10.1.1.0/24', '10.1.2.0/24'], { jumpTableAt: 0 });
    // The /16 record becomes the hint for slice 10.1.
    expect(t.get(parsePrefix('10.1.1.0/24'))).toBe('10.1.1.0/24');
    // Now a branch point, then freed once it no longer branches: the hint names a free record...
    t.delete(parsePrefix('10.1.0.0/16'));
    t.delete(parsePrefix('10.1.1.0/24'));
    expect(t.nodeCount).toBe(2);
    expect(t.get(parsePrefix('10.1.2.0/24'))).toBe('10.1.2.0/24');
    t.delete(parsePrefix('10.1.2.0/24'));
    // ...then one holding a /16 of another slice (the free list hands the last record freed out first).
    t.set(parsePrefix('10.2.0.0/16'), '10.2.0.0/16');
    t.set(parsePrefix('10.1.2.0/24'), 'again');
    expect(t.get(parsePrefix('10.1.2.0/24'))).toBe('again');
    expect(t.longestMatch(parsePrefix('10.1.2.9/32'))?.value).toBe('again');
    expect(t.longestMatch(parsePrefix('10.1.3.1/32'))).toBeUndefined();
    // A match above the record the descent starts at is still found.
    t.set(parsePrefix('10.0.0.0/8'), '10.0.0.0/8');
    expect(t.longestMatch(parsePrefix('10.1.3.1/32'))?.value).toBe('10.0.0.0/8');
    expect(t.longestMatch(parsePrefix('10.2.3.1/32'))?.value).toBe('10.2.0.0/16');
    expect(texts(t.entries())).toEqual(['10.0.0.0/8', '10.1.2.0/24', '10.2.0.0/16']);
  });

  it('clear empties the trie and leaves it usable', () => {
    const t = trieOf(Afi.Ipv6, V6_STORED);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.nodeCount).toBe(1);
    expect([...t.entries()]).toEqual([]);
    expect(t.longestMatch(parsePrefix('2001:db8::1/128'))).toBeUndefined();
    t.set(parsePrefix('2001:db8::/32'), 'again');
    expect(t.longestMatch(parsePrefix('2001:db8::1/128'))?.value).toBe('again');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties against a naive model: prefixes as strings of '0'/'1', coverage as startsWith.

function bitsOf(p: Prefix): string {
  const octets = p.afi === Afi.Ipv4 ? [p.address >>> 24, (p.address >>> 16) & 255, (p.address >>> 8) & 255, p.address & 255] : [...p.address];
  return octets.map((o) => o.toString(2).padStart(8, '0')).join('');
}

const prefixBits = (p: Prefix): string => bitsOf(p).slice(0, p.length);

function addressOrder(a: Prefix, b: Prefix): number {
  const x = bitsOf(a);
  const y = bitsOf(b);
  return x < y ? -1 : x > y ? 1 : a.length - b.length;
}

interface Stored {
  readonly prefix: Prefix;
  readonly value: number;
}

/**
 * A set or delete of a fresh random prefix, or of one set earlier (`pick` chooses which). A repeated
 * set uses a new object with a path identifier, so it also checks that the key ignores the path
 * identifier and that the latest object is the one kept.
 */
type Op =
  | { readonly kind: 'set' | 'delete'; readonly prefix: Prefix }
  | { readonly kind: 'set-again' | 'delete-again'; readonly pick: number };

function opsOf(prefix: fc.Arbitrary<Prefix>): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), prefix }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), prefix }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('set-again' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete-again' as const), pick: fc.nat() }) },
  );
  // size 'max': lengths spread over the whole range, not fast-check's default of a dozen or so.
  return fc.array(op, { maxLength: 200, size: 'max' });
}

/** Up to 100 sets, then up to 100 deletes of what was set: the storage grows, then compacts as it empties. */
function growThenShrink(prefix: fc.Arbitrary<Prefix>): fc.Arbitrary<Op[]> {
  const sets = fc.array(fc.record({ kind: fc.constant('set' as const), prefix }), { maxLength: 100, size: 'max' });
  const deletes = fc.array(fc.record({ kind: fc.constant('delete-again' as const), pick: fc.nat() }), { maxLength: 100, size: 'max' });
  return fc.tuple(sets, deletes).map(([s, d]): Op[] => [...s, ...d]);
}

const withPathId = (p: Prefix, pathId: number): Prefix => (p.afi === Afi.Ipv4 ? ipv4Prefix(p.address, p.length, pathId) : ipv6Prefix(p.address, p.length, pathId));

/** Applies the ops to a trie and to the model, checking each op's own result on the way. */
function apply(afi: Afi, options: PrefixTrieOptions, ops: readonly Op[]): { trie: PrefixTrie<number>; model: Map<string, Stored> } {
  const trie = new PrefixTrie<number>(afi, options);
  const model = new Map<string, Stored>();
  const seen: Prefix[] = [];
  ops.forEach((op, i) => {
    let kind: 'set' | 'delete';
    let prefix: Prefix | undefined;
    if ('prefix' in op) {
      kind = op.kind;
      prefix = op.prefix;
    } else {
      kind = op.kind === 'set-again' ? 'set' : 'delete';
      const earlier = seen[op.pick % Math.max(1, seen.length)];
      prefix = earlier === undefined ? undefined : op.kind === 'set-again' ? withPathId(earlier, i) : earlier;
    }
    if (prefix === undefined) return;
    const key = formatPrefix(prefix);
    if (kind === 'set') {
      seen.push(prefix);
      trie.set(prefix, i);
      model.set(key, { prefix, value: i });
      expect(trie.get(prefix)).toBe(i);
    } else {
      expect(trie.delete(prefix)).toBe(model.delete(key));
      expect(trie.has(prefix)).toBe(false);
    }
    expect(trie.size).toBe(model.size);
  });
  return { trie, model };
}

/**
 * Addresses that differ from a base only at a few chosen bits (word edges among them), so that
 * random prefixes nest, part at the same places, and make and unmake branch points; now and then
 * an address from anywhere.
 */
function addressBits(width: number, varying: readonly number[]): fc.Arbitrary<readonly number[]> {
  const chosen = fc.integer({ min: 0, max: 2 ** varying.length - 1 }).map((m) => varying.filter((_, i) => (m >> i) & 1));
  return fc.oneof({ weight: 5, arbitrary: chosen }, { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: width - 1 }), { maxLength: width }) });
}

function v4FromBits(set: readonly number[], length: number, fromBase: boolean): Prefix {
  let a = fromBase ? 0x0a000000 : 0;
  for (const b of set) a |= 1 << (31 - b);
  return ipv4Prefix(a >>> 0, length);
}

function v6FromBits(set: readonly number[], length: number, fromBase: boolean): Prefix {
  const out = fromBase ? parseIpv6('2001:db8::') : new Uint8Array(16);
  for (const b of set) out[b >>> 3] |= 0x80 >> (b & 7);
  return ipv6Prefix(out, length);
}

interface PropFamily {
  readonly name: string;
  readonly afi: Afi;
  readonly max: number;
  readonly prefix: fc.Arbitrary<Prefix>;
  readonly host: fc.Arbitrary<Prefix>;
}

function family(name: string, afi: Afi, max: number, varying: readonly number[], lengths: readonly number[], make: typeof v4FromBits): PropFamily {
  const from = fc.record({ bits: addressBits(max, varying), fromBase: fc.boolean() });
  const length = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...lengths) }, { weight: 2, arbitrary: fc.integer({ min: 0, max }) });
  return {
    name,
    afi,
    max,
    prefix: fc.tuple(from, length).map(([a, l]) => make(a.bits, l, a.fromBase)),
    host: from.map((a) => make(a.bits, max, a.fromBase)),
  };
}

const PROP_FAMILIES: readonly PropFamily[] = [
  family('IPv4', Afi.Ipv4, 32, [8, 9, 15, 16, 23, 24, 30, 31], [0, 1, 8, 9, 10, 15, 16, 17, 23, 24, 25, 30, 31, 32], v4FromBits),
  family('IPv6', Afi.Ipv6, 128, [3, 15, 16, 32, 33, 64, 65, 96, 127], [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128], v6FromBits),
];

/** Checks every read of the trie against the model, for these queries. */
function agree(trie: PrefixTrie<number>, model: Map<string, Stored>, queries: readonly Prefix[]): void {
  const stored = [...model.values()].sort((a, b) => addressOrder(a.prefix, b.prefix));
  expect(trie.size).toBe(model.size);
  const entries = [...trie.entries()];
  expect(entries.map(([p, v]) => [formatPrefix(p), v])).toEqual(stored.map((s) => [formatPrefix(s.prefix), s.value]));
  entries.forEach(([p], i) => expect(p).toBe(stored[i]?.prefix));
  for (const q of [...queries, ...stored.map((s) => s.prefix)]) {
    const key = formatPrefix(q);
    const bits = prefixBits(q);
    expect(trie.get(q)).toBe(model.get(key)?.value);
    expect(trie.has(q)).toBe(model.has(key));
    const covering = stored.filter((s) => bits.startsWith(prefixBits(s.prefix)));
    const longest = covering.reduce<Stored | undefined>((best, s) => (best === undefined || s.prefix.length > best.prefix.length ? s : best), undefined);
    const m = trie.longestMatch(q);
    expect(m?.value).toBe(longest?.value);
    expect(m?.prefix).toBe(longest?.prefix);
    const inside = stored.filter((s) => prefixBits(s.prefix).startsWith(bits));
    expect([...trie.covered(q)].map(([p, v]) => [formatPrefix(p), v])).toEqual(inside.map((s) => [formatPrefix(s.prefix), s.value]));
  }
  // At most one branch point per stored prefix beyond the first, plus the root.
  expect(trie.nodeCount).toBeLessThanOrEqual(Math.max(1, 2 * model.size));
}

describe.each(PROP_FAMILIES.flatMap((f) => MODES.map((m) => ({ ...f, ...m }))))('PrefixTrie properties, $name, $mode', (f) => {
  it(
    'random sets and deletes agree with a naive model on get, has, longestMatch, covered, entries and size',
    () => {
      fc.assert(
        fc.property(opsOf(f.prefix), fc.array(f.prefix, { maxLength: 30 }), fc.array(f.host, { maxLength: 30 }), (ops, queries, hosts) => {
          const { trie, model } = apply(f.afi, f.options, ops);
          agree(trie, model, [...queries, ...hosts]);
        }),
        { numRuns: 300 },
      );
    },
    TIMEOUT,
  );

  it(
    'a table that grows and then empties agrees with the model throughout its compactions',
    () => {
      fc.assert(
        fc.property(growThenShrink(f.prefix), fc.array(f.host, { maxLength: 30 }), (ops, hosts) => {
          const { trie, model } = apply(f.afi, f.options, ops);
          agree(trie, model, hosts);
        }),
        { numRuns: 200 },
      );
    },
    TIMEOUT,
  );

  it(
    'the shape depends only on what is stored: deletes leave no stray records behind',
    () => {
      fc.assert(
        fc.property(opsOf(f.prefix), (ops) => {
          const { trie, model } = apply(f.afi, f.options, ops);
          const fresh = new PrefixTrie<number>(f.afi, f.options);
          for (const { prefix } of [...model.values()].reverse()) fresh.set(prefix, 0);
          expect(trie.nodeCount).toBe(fresh.nodeCount);
          for (const { prefix } of model.values()) expect(trie.delete(prefix)).toBe(true);
          expect(trie.size).toBe(0);
          expect(trie.nodeCount).toBe(1);
        }),
        { numRuns: 500 },
      );
    },
    TIMEOUT,
  );
});

describe('PrefixTrie with each prefix as its own value (valueIsKey)', () => {
  it('returns the stored key objects as values through get, longestMatch, covered, entries, and after compaction', () => {
    const t = new PrefixTrie<Prefix>(Afi.Ipv4, { valueIsKey: true, jumpTableAt: 0 });
    const stored = Array.from({ length: 5000 }, (_, i) => ipv4Prefix(0x0a000000 + i * 256, 24));
    for (const p of stored) t.set(p, p);
    const probe = ipv4Prefix(0x0a000000 + 7 * 256, 24);
    expect(t.get(probe)).toBe(stored[7]);
    expect(t.longestMatch(ipv4Prefix(0x0a000000 + 7 * 256 + 5, 32))?.value).toBe(stored[7]);
    expect([...t.covered(ipv4Prefix(0x0a000000, 16))].every(([k, v]) => k === v)).toBe(true);
    // Deleting most of it compacts the storage; values must follow their records.
    for (const p of stored.slice(0, 4900)) t.delete(p);
    expect(t.size).toBe(100);
    expect([...t.entries()].map(([, v]) => v)).toEqual(stored.slice(4900));
    expect(t.get(stored[4950] as Prefix)).toBe(stored[4950]);
  });

  it('refuses a value that is not the key itself', () => {
    const t = new PrefixTrie<Prefix>(Afi.Ipv4, { valueIsKey: true });
    expect(() => t.set(parsePrefix('10.0.0.0/8'), parsePrefix('10.0.0.0/8'))).toThrow(/its own value/);
  });
});

describe('PrefixTrie.getOrSet', () => {
  it('returns what is stored without calling make, and stores make(p) where nothing is, in every shape of insertion', () => {
    const t = new PrefixTrie<string>(Afi.Ipv4);
    let made = 0;
    const make = (p: Prefix): string => {
      made++;
      return `made ${formatPrefix(p)}`;
    };
    t.set(parsePrefix('10.1.0.0/16'), 'set');
    expect(t.getOrSet(parsePrefix('10.1.0.0/16'), make)).toBe('set');
    expect(made).toBe(0);
    // Below an existing prefix (child slot), above one (covering), beside one (new branch), on a branch point.
    for (const text of ['10.1.2.0/24', '10.0.0.0/8', '10.2.0.0/16', '10.0.0.0/14']) {
      expect(t.getOrSet(parsePrefix(text), make)).toBe(`made ${text}`);
      expect(t.get(parsePrefix(text))).toBe(`made ${text}`);
    }
    expect(made).toBe(4);
    expect(t.size).toBe(5);
    expect(t.getOrSet(parsePrefix('10.2.0.0/16'), make)).toBe('made 10.2.0.0/16');
    expect(made).toBe(4);
  });

  it('with valueIsKey stores the made value as the key', () => {
    const t = new PrefixTrie<Prefix>(Afi.Ipv6, { valueIsKey: true });
    const probe = parsePrefix('2001:db8::/32');
    const made = t.getOrSet(probe, (p) => ({ ...p }));
    expect(made).not.toBe(probe);
    expect(t.get(parsePrefix('2001:db8::/32'))).toBe(made);
    expect([...t.entries()]).toEqual([[made, made]]);
    expect(t.getOrSet(probe, () => probe)).toBe(made);
  });
});
