/**
 * PrefixTrie against the obvious alternative, a Map<string, V> keyed by formatPrefix (what
 * AdjRibIn does today): inserts, exact lookups, longest-prefix matches and deletes per second, and
 * memory per route, for a full-table-sized IPv4 set and an IPv6 set.
 *
 * Tables are random but seeded, so runs compare. IPv4: /24s mostly, some /16-/23, some /32s, all
 * over 1.0.0.0-223.255.255.255. IPv6: /48-/64 in 2000::/3. Each op runs over the whole table, once
 * in random order and once in address order (the order a peer walks its table in). Longest match
 * queries are host addresses inside stored prefixes. The Map does longest match the only way a Map
 * can, a probe per length from the longest down, on a bounded sample of queries. Map times include
 * formatting the key, as a caller holding a Prefix has to. Values are a few shared objects. The
 * trie also runs without its jump table (what a trie under 4096 records does), to show its share.
 *
 * Memory is measured with the structure built in address order, between two forced collections:
 * V8 heap (heapUsed) plus the typed-array backing stores (arrayBuffers), which V8 keeps outside its
 * heap. The Prefix objects belong to the caller and are allocated before, so are not counted.
 *
 * Prints figures; asserts nothing. Bounded: a fixed number of rounds over fixed tables.
 *   npm run bench:trie   (or: node --expose-gc dist-bench/bench/trie.bench.js [ipv4] [ipv6] [rounds])
 */
import { Afi, type Prefix, formatPrefix, ipv4Prefix, ipv6Prefix } from '../src/bgp/index.js';
import { PrefixTrie, type PrefixTrieOptions } from '../src/rib/prefix-trie.js';

const IPV4_ROUTES = Number(process.argv[2] ?? 1_000_000);
const IPV6_ROUTES = Number(process.argv[3] ?? 200_000);
const ROUNDS = Number(process.argv[4] ?? 3);
/** Longest-match queries the Map baseline answers per round; each costs up to 33 or 129 probes. */
const MAP_LPM_QUERIES = 50_000;

interface Route {
  readonly nextHop: string;
}
const VALUES: readonly Route[] = [{ nextHop: '192.0.2.1' }, { nextHop: '192.0.2.2' }, { nextHop: '2001:db8::1' }, { nextHop: '2001:db8::2' }];

/** mulberry32: small, seeded, good enough to scatter prefixes. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Picks from [value, weight] pairs. */
function weighted(rand: () => number, table: readonly (readonly [number, number])[]): number {
  let r = rand() * table.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of table) {
    r -= w;
    if (r < 0) return v;
  }
  return (table[table.length - 1] as readonly [number, number])[0];
}

const V4_LENGTHS = [[24, 62], [23, 9], [22, 10], [21, 4], [20, 4], [19, 2], [18, 1], [17, 1], [16, 2], [32, 5]] as const;
const V6_LENGTHS = [[48, 40], [56, 12], [64, 33], [52, 3], [60, 4], [49, 1], [50, 1], [51, 1], [53, 1], [54, 1], [55, 1], [57, 1], [58, 1]] as const;

interface Table {
  readonly name: string;
  readonly afi: Afi;
  readonly max: number;
  /** Random order. */
  readonly prefixes: readonly Prefix[];
  /** A host address inside each prefix, in the same order. */
  readonly hosts: readonly Prefix[];
}

function ipv4Table(n: number): Table {
  const rand = random(4);
  const seen = new Set<number>();
  const prefixes: Prefix[] = [];
  const hosts: Prefix[] = [];
  while (prefixes.length < n) {
    const length = weighted(rand, V4_LENGTHS);
    const address = 0x01000000 + Math.floor(rand() * (0xe0000000 - 0x01000000));
    const p = ipv4Prefix(address, length);
    const key = p.address * 64 + length;
    if (seen.has(key)) continue;
    seen.add(key);
    prefixes.push(p);
    const hostBits = length === 32 ? 0 : Math.floor(rand() * 2 ** (32 - length));
    hosts.push(ipv4Prefix(p.address + hostBits, 32));
  }
  return { name: 'IPv4', afi: Afi.Ipv4, max: 32, prefixes, hosts };
}

function ipv6Table(n: number): Table {
  const rand = random(6);
  const seen = new Set<string>();
  const prefixes: Prefix[] = [];
  const hosts: Prefix[] = [];
  const a = new Uint8Array(16);
  while (prefixes.length < n) {
    const length = weighted(rand, V6_LENGTHS);
    for (let i = 0; i < 16; i++) a[i] = Math.floor(rand() * 256);
    a[0] = 0x20 | ((a[0] as number) & 0x1f);
    const p = ipv6Prefix(a, length);
    const key = formatPrefix(p);
    if (seen.has(key)) continue;
    seen.add(key);
    prefixes.push(p);
    // The host keeps the prefix's bits and the random bits of `a` after them.
    const h = new Uint8Array(p.address);
    for (let bit = length; bit < 128; bit++) if ((a[bit >> 3] as number) & (0x80 >> (bit & 7))) h[bit >> 3] = (h[bit >> 3] as number) | (0x80 >> (bit & 7));
    hosts.push(ipv6Prefix(h, 128));
  }
  return { name: 'IPv6', afi: Afi.Ipv6, max: 128, prefixes, hosts };
}

function addressOrder(a: Prefix, b: Prefix): number {
  if (a.afi === Afi.Ipv4 && b.afi === Afi.Ipv4) return a.address - b.address || a.length - b.length;
  if (a.afi === Afi.Ipv6 && b.afi === Afi.Ipv6) return Buffer.compare(a.address, b.address) || a.length - b.length;
  return a.afi - b.afi;
}

/**
 * Pairs sorted together, so that hosts[i] stays inside prefixes[i]. Copied, so that the objects
 * lie in memory in the order they are used, as the prefixes decoded from one UPDATE do.
 */
function sorted(t: Table): Table {
  const copy = (p: Prefix): Prefix => (p.afi === Afi.Ipv4 ? ipv4Prefix(p.address, p.length) : ipv6Prefix(p.address, p.length));
  const idx = t.prefixes.map((_, i) => i).sort((i, j) => addressOrder(t.prefixes[i] as Prefix, t.prefixes[j] as Prefix));
  return { ...t, prefixes: idx.map((i) => copy(t.prefixes[i] as Prefix)), hosts: idx.map((i) => copy(t.hosts[i] as Prefix)) };
}

/** What the bench drives; the Map implements it the way a caller with no trie would. */
interface Subject {
  set(p: Prefix, v: Route): void;
  get(p: Prefix): Route | undefined;
  longestMatch(p: Prefix): Route | undefined;
  delete(p: Prefix): boolean;
}

function trieSubject(afi: Afi, options: PrefixTrieOptions = {}): Subject & { readonly trie: PrefixTrie<Route> } {
  const trie = new PrefixTrie<Route>(afi, options);
  return {
    trie,
    set: (p, v) => void trie.set(p, v),
    get: (p) => trie.get(p),
    longestMatch: (p) => trie.longestMatch(p)?.value,
    delete: (p) => trie.delete(p),
  };
}

function mapSubject(afi: Afi): Subject & { readonly map: Map<string, Route> } {
  const map = new Map<string, Route>();
  const max = afi === Afi.Ipv4 ? 32 : 128;
  return {
    map,
    set: (p, v) => void map.set(formatPrefix(p), v),
    get: (p) => map.get(formatPrefix(p)),
    longestMatch: (p) => {
      for (let l = max; l >= 0; l--) {
        const v = map.get(formatPrefix(p.afi === Afi.Ipv4 ? ipv4Prefix(p.address, l) : ipv6Prefix(p.address, l)));
        if (v !== undefined) return v;
      }
      return undefined;
    },
    delete: (p) => map.delete(formatPrefix(p)),
  };
}

interface Rates {
  insert: number;
  get: number;
  lpm: number;
  delete: number;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Ops per second for each op over the whole table, best of ROUNDS (after a warm-up round). */
function time(make: () => Subject, t: Table, lpmQueries: number): Rates {
  const best: Rates = { insert: 0, get: 0, lpm: 0, delete: 0 };
  const n = t.prefixes.length;
  const q = Math.min(lpmQueries, n);
  for (let round = 0; round <= ROUNDS; round++) {
    const s = make();
    let start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) s.set(t.prefixes[i] as Prefix, VALUES[i & 3] as Route);
    const insert = n / seconds(start);
    let hits = 0;
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (s.get(t.prefixes[i] as Prefix) !== undefined) hits++;
    const get = n / seconds(start);
    start = process.hrtime.bigint();
    // Every host is inside a stored prefix, so every query finds something.
    for (let i = 0; i < q; i++) if (s.longestMatch(t.hosts[i] as Prefix) !== undefined) hits++;
    const lpm = q / seconds(start);
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (s.delete(t.prefixes[i] as Prefix)) hits++;
    const del = n / seconds(start);
    if (hits !== 2 * n + q) throw new Error(`${t.name}: ${hits} hits, expected ${2 * n + q}`);
    if (round === 0) continue; // warm-up
    best.insert = Math.max(best.insert, insert);
    best.get = Math.max(best.get, get);
    best.lpm = Math.max(best.lpm, lpm);
    best.delete = Math.max(best.delete, del);
  }
  return best;
}

const gc = globalThis.gc;

interface Memory {
  readonly heap: number;
  readonly buffers: number;
  readonly records?: number;
}

/** Collects, then lets Node release freed ArrayBuffer memory, which it does later, off the main thread. */
async function settle(collect: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bytes the structure holds once built, all routes in. */
async function memory(make: () => Subject & { readonly trie?: PrefixTrie<Route> }, t: Table): Promise<Memory | undefined> {
  if (gc === undefined) return undefined;
  await settle(gc);
  const before = process.memoryUsage();
  const s = make();
  for (let i = 0; i < t.prefixes.length; i++) s.set(t.prefixes[i] as Prefix, VALUES[i & 3] as Route);
  await settle(gc);
  const after = process.memoryUsage();
  // Read after measuring, which keeps `s` alive across the second collection.
  return { heap: after.heapUsed - before.heapUsed, buffers: after.arrayBuffers - before.arrayBuffers, records: s.trie?.nodeCount };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;
}

function perRoute(m: Memory | undefined, routes: number): string {
  if (m === undefined) return 'n/a: run node with --expose-gc';
  return `${((m.heap + m.buffers) / routes).toFixed(1).padStart(6)} (${(m.heap / routes).toFixed(1)} heap + ${(m.buffers / routes).toFixed(1)} typed arrays)`;
}

function row(name: string, r: Rates, bytes: string): void {
  console.log([name.padEnd(30), fmt(r.insert).padStart(11), fmt(r.get).padStart(11), fmt(r.lpm).padStart(11), fmt(r.delete).padStart(11), `  ${bytes}`].join(' '));
}

function ratio(name: string, a: Rates, b: Rates): void {
  const x = (p: number, q: number): string => `x${(p / q).toFixed(1)}`.padStart(11);
  console.log([name.padEnd(30), x(a.insert, b.insert), x(a.get, b.get), x(a.lpm, b.lpm), x(a.delete, b.delete)].join(' '));
}

async function bench(random: Table): Promise<void> {
  const ordered = sorted(random);
  const n = random.prefixes.length;
  const lengths = new Map<number, number>();
  for (const p of random.prefixes) lengths.set(p.length, (lengths.get(p.length) ?? 0) + 1);
  const mix = [...lengths].sort((a, b) => b[1] - a[1]).map(([l, c]) => `/${l} ${((100 * c) / n).toFixed(0)}%`);
  console.log(`\n${random.name}: ${n} prefixes (${mix.slice(0, 6).join(', ')}, ...)`);
  console.log(['structure, order'.padEnd(30), 'insert'.padStart(11), 'get'.padStart(11), 'longest'.padStart(11), 'delete'.padStart(11), '  bytes per route'].join(' '));

  const trieMem = await memory(() => trieSubject(random.afi), ordered);
  const mapMem = await memory(() => mapSubject(random.afi), ordered);
  const trieRandom = time(() => trieSubject(random.afi), random, n);
  const trieOrdered = time(() => trieSubject(random.afi), ordered, n);
  row('PrefixTrie, random order', trieRandom, perRoute(trieMem, n));
  row('PrefixTrie, address order', trieOrdered, '');
  const noJump: PrefixTrieOptions = { jumpTableAt: Infinity };
  row('  no jump table, random order', time(() => trieSubject(random.afi, noJump), random, n), '');
  row('  no jump table, address order', time(() => trieSubject(random.afi, noJump), ordered, n), '');
  const mapRandom = time(() => mapSubject(random.afi), random, MAP_LPM_QUERIES);
  const mapOrdered = time(() => mapSubject(random.afi), ordered, MAP_LPM_QUERIES);
  row('Map<string>, random order', mapRandom, perRoute(mapMem, n));
  row('Map<string>, address order', mapOrdered, '');
  ratio('trie / Map, random order', trieRandom, mapRandom);
  ratio('trie / Map, address order', trieOrdered, mapOrdered);
  if (trieMem?.records !== undefined) {
    console.log(`trie records: ${trieMem.records} for ${n} routes (${(trieMem.records / n).toFixed(2)} per route, the rest are branch points)`);
  }
}

console.log(`kbgp prefix-trie benchmark, node ${process.version} (${process.arch}), best of ${ROUNDS} rounds after a warm-up`);
console.log(`Map longest match: ${MAP_LPM_QUERIES} queries a round; Map times include formatPrefix. Bytes per route: heap and ArrayBuffer growth across the build, measured after forced GCs.`);
await bench(ipv4Table(IPV4_ROUTES));
await bench(ipv6Table(IPV6_ROUTES));
