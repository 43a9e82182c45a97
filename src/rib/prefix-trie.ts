/**
 * A path-compressed binary radix (Patricia) trie of IP prefixes, one trie per address family: the
 * index under the RIB for exact lookups, longest-prefix match (next-hop resolution) and "everything
 * inside this prefix" walks (filters, aggregation). Keys are prefixes only; a path identifier
 * (RFC 7911) on a key is ignored.
 *
 * Layout. Nodes are fixed-size records in one Int32Array, not objects: a full table would be two
 * million small objects for the GC to trace, at 70-odd bytes each without pointer compression
 * (Node's default build). A record is
 *   IPv4, 4 words:  child0 | child1 | length | key
 *   IPv6, 8 words:  child0 | child1 | length | key0 key1 key2 key3 | unused (keeps records 32-byte aligned)
 * so one step down the tree reads one cache line. Record 0 is the root, /0, always present; as no
 * record points at the root, 0 also means "no child". The stored Prefix and value sit in two plain
 * arrays indexed by record; a record with no Prefix is a branch point made by path compression.
 * Freed records get length -1 and go on a free list threaded through child0. The storage is
 * compacted (records renumbered in address order) once three quarters of it is free, so a table
 * that shrinks gives its memory back.
 *
 * Bits. Addresses are 32-bit words, most significant bit first, compared with xor and Math.clz32.
 * Each call reads its prefix's address (for IPv6, the 16 octets) into `q`, a scratch buffer the trie
 * owns: get, has, set and delete allocate nothing; longestMatch allocates only the result its
 * signature returns.
 *
 * Jump table. At a million routes a lookup is some twenty steps down, nearly each one a cache
 * miss. A large trie therefore also keeps, for each value of an address's first 16 bits, the
 * deepest record it has seen on that slice's path with a length of 16 or less, and starts there.
 * The table is a hint, never maintained: a descent checks the record it names (live, short enough,
 * covering the slice), starts from the root if the check fails, and writes back what it found.
 *
 * Invariants: a child's prefix extends its parent's, on the side of the first bit past the parent's
 * length; every record but the root holds a prefix or has two children. The shape is therefore a
 * function of the set of prefixes stored, whatever order they came and went in.
 */
import { Afi, type Prefix } from '../bgp/index.js';

/** Record fields, in words. child0 and child1 are at offsets 0 and 1, so `base + bit` is the child. */
const LENGTH = 2;
const KEY = 3;
/** The fewest records the trie keeps, and the capacity it starts with. */
const MIN_RECORDS = 64;
/** Leading address bits the jump table indexes: 2^16 slots, 256 KiB. */
const JUMP_BITS = 16;
/** Record capacity from which a trie keeps a jump table; below it the whole trie fits in L2 cache. */
const JUMP_TABLE_AT = 4096;
const NONE = -1;

export interface PrefixMatch<V> {
  readonly prefix: Prefix;
  readonly value: V;
}

export interface PrefixTrieOptions {
  /** Record capacity from which the trie keeps a jump table (default 4096; 0 keeps one from the start). */
  readonly jumpTableAt?: number;
  /**
   * Every value is the very key object it is stored under (`set(p, p)`; the RIB's destinations
   * are their own prefixes): then no array of values is kept, 8 octets a record less.
   */
  readonly valueIsKey?: boolean;
}

export class PrefixTrie<V> {
  private readonly maxLength: number;
  /** log2 of the words in a record. */
  private readonly shift: number;
  private readonly words: number;
  private readonly jumpTableAt: number;
  private readonly q = new Int32Array(4);
  private records: Int32Array;
  /** Indexed by record: the caller's Prefix object, or undefined for a branch point. */
  private prefixes: (Prefix | undefined)[] = [undefined];
  private values: (V | undefined)[] = [undefined];
  private readonly valueIsKey: boolean;
  private jump: Int32Array | undefined;
  /** Records the storage has room for. */
  private capacity = MIN_RECORDS;
  /** Records ever handed out since the last compaction; `prefixes.length` equals it. */
  private next = 1;
  /** Head of the free list; 0 (the root, never freed) ends it. */
  private free = 0;
  /** Records in use, the root included. */
  private live = 1;
  private count = 0;
  /** Bumped whenever the set of stored prefixes changes, so that walks in progress can notice. */
  private version = 0;
  /** Where trace() found its record: the word pointing at it, its parent, the word pointing at that. NONE above the start. */
  private traceSlot = NONE;
  private traceParent = NONE;
  private traceParentSlot = NONE;

  constructor(
    readonly afi: Afi,
    options: PrefixTrieOptions = {},
  ) {
    this.maxLength = afi === Afi.Ipv4 ? 32 : 128;
    this.shift = afi === Afi.Ipv4 ? 2 : 3;
    this.words = this.maxLength >>> 5;
    this.jumpTableAt = options.jumpTableAt ?? JUMP_TABLE_AT;
    this.valueIsKey = options.valueIsKey ?? false;
    this.records = new Int32Array(MIN_RECORDS << this.shift);
    this.jump = this.newJumpTable();
  }

  private valueAt(n: number): V | undefined {
    return this.valueIsKey ? (this.prefixes[n] as V | undefined) : this.values[n];
  }

  /** Prefixes stored. */
  get size(): number {
    return this.count;
  }

  /**
   * Records in use: the root (always there), every stored prefix, and the branch points path
   * compression made. For tests and the bench; an empty trie has one.
   */
  get nodeCount(): number {
    return this.live;
  }

  get(p: Prefix): V | undefined {
    const length = this.load(p);
    const n = this.trace(this.start(length), length);
    return n === NONE ? undefined : this.valueAt(n);
  }

  has(p: Prefix): boolean {
    const length = this.load(p);
    const n = this.trace(this.start(length), length);
    return n !== NONE && this.prefixes[n] !== undefined;
  }

  /** Stores `value` under `p`, replacing any value (and the Prefix object kept as key) already there. */
  set(p: Prefix, value: V): this {
    if (this.valueIsKey && (value as unknown) !== p) throw new Error('this trie stores each prefix as its own value');
    this.place(p, value, undefined);
    return this;
  }

  /**
   * The value stored for `p`, or, if there is none, `make(p)` stored and returned: one descent
   * where get-then-set takes two (the RIB's hot path for a new prefix). With `valueIsKey`, what
   * `make` returns is stored as the key too, so it must be a prefix equal to `p`.
   */
  getOrSet(p: Prefix, make: (p: Prefix) => V): V {
    return this.place(p, undefined, make);
  }

  /** Stores `given` (replacing), or `make`'s value where p has none (keeping what is there). */
  private place(p: Prefix, given: V | undefined, make: ((p: Prefix) => V) | undefined): V {
    const length = this.load(p);
    if (this.capacity - this.live < 2) this.grow();
    const records = this.records;
    const s = this.shift;
    // The start covers p (see start()), so p never needs to go above it: `slot` is set before use.
    let n = this.start(length);
    let slot = NONE;
    for (;;) {
      const nl = records[(n << s) + LENGTH];
      const d = this.common(n, nl < length ? nl : length);
      if (d < nl) {
        // n's prefix does not cover p: p goes either above n or, if they part before p ends,
        // beside it under a new branch point at the first bit where they differ.
        const value = make === undefined ? (given as V) : make(p);
        const key = this.valueIsKey ? (value as unknown as Prefix) : p;
        if (d === length) {
          const m = this.alloc(length, key, value);
          records[(m << s) + this.keyBit(n, length)] = n;
          records[slot] = m;
        } else {
          const branch = this.alloc(d, undefined, undefined);
          const m = this.alloc(length, key, value);
          const bit = this.queryBit(d);
          records[(branch << s) + bit] = m;
          records[(branch << s) + (bit ^ 1)] = n;
          records[slot] = branch;
        }
        this.added();
        return value;
      }
      if (nl === length) {
        if (this.prefixes[n] !== undefined && make !== undefined) return this.valueAt(n) as V;
        if (this.prefixes[n] === undefined) this.added();
        const value = make === undefined ? (given as V) : make(p);
        this.prefixes[n] = this.valueIsKey ? (value as unknown as Prefix) : p;
        if (!this.valueIsKey) this.values[n] = value;
        return value;
      }
      slot = (n << s) + this.queryBit(nl);
      const child = records[slot];
      if (child === 0) {
        const value = make === undefined ? (given as V) : make(p);
        records[slot] = this.alloc(length, this.valueIsKey ? (value as unknown as Prefix) : p, value);
        this.added();
        return value;
      }
      n = child;
    }
  }

  delete(p: Prefix): boolean {
    const length = this.load(p);
    const n = this.trace(this.start(length), length);
    if (n === NONE || this.prefixes[n] === undefined) return false;
    this.prefixes[n] = undefined;
    this.values[n] = undefined;
    this.count--;
    this.version++;
    const records = this.records;
    const s = this.shift;
    const c0 = records[n << s];
    const c1 = records[(n << s) + 1];
    // With two children n is still a branch point; otherwise its child, if any, takes its place,
    // and a branch point that loses a leaf has one child left and no reason to exist.
    if (n !== 0 && (c0 === 0 || c1 === 0)) {
      const leaf = (c0 | c1) === 0;
      let parent = this.traceParent;
      let parentGoes = leaf && parent > 0 && this.prefixes[parent] === undefined;
      if (this.traceSlot === NONE || (parentGoes && this.traceParentSlot === NONE)) {
        // A word to rewrite lies above where the descent began, which happens only when the record
        // that goes, or the branch point above it, is the one the jump table started from: find
        // the words from the root.
        this.trace(0, length);
        parent = this.traceParent;
        parentGoes = leaf && parent > 0 && this.prefixes[parent] === undefined;
      }
      records[this.traceSlot] = c0 | c1;
      this.release(n);
      if (parentGoes) {
        const pb = parent << s;
        records[this.traceParentSlot] = records[pb] | records[pb + 1];
        this.release(parent);
      }
    }
    if (this.capacity > MIN_RECORDS && this.live * 4 < this.capacity) this.compact();
    return true;
  }

  /** The most specific stored prefix that covers `p` (`p` itself included), or undefined. */
  longestMatch(p: Prefix): PrefixMatch<V> | undefined {
    const length = this.load(p);
    const records = this.records;
    const prefixes = this.prefixes;
    const s = this.shift;
    const start = this.start(length);
    let n = start;
    let best = NONE;
    for (;;) {
      const nl = records[(n << s) + LENGTH];
      if (nl > length || this.common(n, nl) !== nl) break;
      if (prefixes[n] !== undefined) best = n;
      if (nl === length) break;
      n = records[(n << s) + this.queryBit(nl)];
      if (n === 0) break;
    }
    if (best === NONE && start !== 0) best = this.lastPrefixAbove(start);
    return best === NONE ? undefined : { prefix: prefixes[best] as Prefix, value: this.valueAt(best) as V };
  }

  /**
   * Every stored prefix inside `p` (`p` included), in address order. The trie must not gain or
   * lose prefixes while the walk runs: the next step throws if it did.
   */
  covered(p: Prefix): IterableIterator<[Prefix, V]> {
    const length = this.load(p);
    const records = this.records;
    const s = this.shift;
    // The walk starts at the topmost record inside p, found now: the generator runs later, when
    // `q` may hold another call's address.
    let n = 0;
    let start = NONE;
    for (;;) {
      const nl = records[(n << s) + LENGTH];
      if (nl >= length) {
        if (this.common(n, length) === length) start = n;
        break;
      }
      if (this.common(n, nl) !== nl) break;
      n = records[(n << s) + this.queryBit(nl)];
      if (n === 0) break;
    }
    return this.walk(start, this.version);
  }

  /** Every stored prefix in address order, a shorter prefix before a longer one at the same address. */
  entries(): IterableIterator<[Prefix, V]> {
    return this.walk(0, this.version);
  }

  [Symbol.iterator](): IterableIterator<[Prefix, V]> {
    return this.entries();
  }

  clear(): void {
    this.records = new Int32Array(MIN_RECORDS << this.shift);
    this.prefixes = [undefined];
    this.values = [undefined];
    this.capacity = MIN_RECORDS;
    this.next = 1;
    this.free = 0;
    this.live = 1;
    this.count = 0;
    this.jump = this.newJumpTable();
    this.version++;
  }

  /** Pre-order is address order: a record's key is the lowest address under it, and child0's side comes first. */
  private *walk(start: number, version: number): Generator<[Prefix, V], void, undefined> {
    if (start === NONE) return;
    const stack = [start];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      if (this.version !== version) throw new Error('PrefixTrie changed during a walk');
      const base = n << this.shift;
      const c0 = this.records[base];
      const c1 = this.records[base + 1];
      if (c1 !== 0) stack.push(c1);
      if (c0 !== 0) stack.push(c0);
      const prefix = this.prefixes[n];
      if (prefix !== undefined) yield [prefix, this.valueAt(n) as V];
    }
  }

  /**
   * Reads p's address into `q` and returns its length. Host bits are left as they are: no
   * comparison looks past the length of the prefix or record it is about.
   */
  private load(p: Prefix): number {
    const length = p.length;
    if (p.afi !== this.afi || !(length >= 0 && length <= this.maxLength)) {
      throw new RangeError(`a PrefixTrie of AFI ${this.afi} cannot hold an AFI ${p.afi} prefix of length ${length}`);
    }
    const q = this.q;
    if (p.afi === Afi.Ipv4) {
      q[0] = p.address;
    } else {
      const a = p.address;
      for (let i = 0, o = 0; i < 4; i++, o += 4) q[i] = (a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3];
    }
    return length;
  }

  /**
   * A record on the query's path to begin a descent at: the root, or for a query at least
   * JUMP_BITS long, the deepest record no longer than JUMP_BITS on its path, found from the jump
   * table's hint and written back to it.
   */
  private start(length: number): number {
    const jump = this.jump;
    if (jump === undefined || length < JUMP_BITS) return 0;
    const records = this.records;
    const s = this.shift;
    const top = this.q[0];
    const slice = top >>> (32 - JUMP_BITS);
    let n = jump[slice];
    if (!this.onSlicePath(n, top)) n = 0;
    for (;;) {
      const nl = records[(n << s) + LENGTH];
      if (nl >= JUMP_BITS) break;
      const child = records[(n << s) + ((top >>> (31 - nl)) & 1)];
      if (child === 0 || !this.onSlicePath(child, top)) break;
      n = child;
    }
    jump[slice] = n;
    return n;
  }

  /** Whether record n is live, no longer than JUMP_BITS, and covers the slice of the address whose first word is `top`. */
  private onSlicePath(n: number, top: number): boolean {
    const base = n << this.shift;
    const nl = this.records[base + LENGTH];
    return nl === 0 || (nl > 0 && nl <= JUMP_BITS && (this.records[base + KEY] ^ top) >>> (32 - nl) === 0);
  }

  /** Leading bits, at most `limit`, that record n's key shares with the query. */
  private common(n: number, limit: number): number {
    const records = this.records;
    const q = this.q;
    const k = (n << this.shift) + KEY;
    for (let i = 0, b = 0; b < limit; i++, b += 32) {
      const x = q[i] ^ records[k + i];
      if (x !== 0) {
        const d = b + Math.clz32(x);
        return d < limit ? d : limit;
      }
    }
    return limit;
  }

  /** Bit `pos` of the query, counting from the most significant. */
  private queryBit(pos: number): number {
    return (this.q[pos >>> 5] >>> (31 - (pos & 31))) & 1;
  }

  private keyBit(n: number, pos: number): number {
    return (this.records[(n << this.shift) + KEY + (pos >>> 5)] >>> (31 - (pos & 31))) & 1;
  }

  /**
   * Exact match from `from`, a record on the query's path: the record whose prefix is the query's,
   * holding a prefix or not, or NONE. Leaves where it was found in the trace fields.
   */
  private trace(from: number, length: number): number {
    const records = this.records;
    const s = this.shift;
    let n = from;
    let slot = NONE;
    let parent = NONE;
    let parentSlot = NONE;
    for (;;) {
      const nl = records[(n << s) + LENGTH];
      // The way down follows the query's bits blindly; one comparison at the end makes it exact.
      if (nl >= length) {
        if (nl !== length || this.common(n, length) !== length) return NONE;
        this.traceSlot = slot;
        this.traceParent = parent;
        this.traceParentSlot = parentSlot;
        return n;
      }
      parent = n;
      parentSlot = slot;
      slot = (n << s) + this.queryBit(nl);
      n = records[slot];
      if (n === 0) return NONE;
    }
  }

  /** The last record holding a prefix on the way from the root down to `stop`, a record on the query's path. */
  private lastPrefixAbove(stop: number): number {
    const records = this.records;
    const s = this.shift;
    let best = NONE;
    for (let n = 0; n !== stop; ) {
      if (this.prefixes[n] !== undefined) best = n;
      n = records[(n << s) + this.queryBit(records[(n << s) + LENGTH])];
      if (n === 0) break;
    }
    return best;
  }

  private added(): void {
    this.count++;
    this.version++;
  }

  /** A record for the query's first `length` bits (its key keeps the rest, never read); the caller has made room. */
  private alloc(length: number, prefix: Prefix | undefined, value: V | undefined): number {
    const records = this.records;
    let n = this.free;
    if (n !== 0) {
      this.free = records[n << this.shift];
      records[n << this.shift] = 0;
      this.prefixes[n] = prefix;
      if (!this.valueIsKey) this.values[n] = value;
    } else {
      n = this.next++;
      this.prefixes.push(prefix);
      if (!this.valueIsKey) this.values.push(value);
    }
    this.live++;
    const base = n << this.shift;
    records[base + LENGTH] = length;
    for (let i = 0; i < this.words; i++) records[base + KEY + i] = this.q[i];
    return n;
  }

  /** Frees record n. Its length becomes -1, which is how the jump table tells a stale hint. */
  private release(n: number): void {
    const base = n << this.shift;
    this.records[base + 1] = 0;
    this.records[base] = this.free;
    this.records[base + LENGTH] = NONE;
    this.free = n;
    this.prefixes[n] = undefined;
    if (!this.valueIsKey) this.values[n] = undefined;
    this.live--;
  }

  private grow(): void {
    const records = new Int32Array((this.capacity * 2) << this.shift);
    records.set(this.records);
    this.records = records;
    this.capacity *= 2;
    // Growing keeps record numbers, so the hints stay good.
    this.jump ??= this.newJumpTable();
  }

  /** Copies the live records, in pre-order, into storage half full at most. */
  private compact(): void {
    let capacity = MIN_RECORDS;
    while (capacity < this.live * 2) capacity *= 2;
    const s = this.shift;
    const from = this.records;
    const to = new Int32Array(capacity << s);
    const prefixes = new Array<Prefix | undefined>(this.live);
    const values = this.valueIsKey ? this.values : new Array<V | undefined>(this.live);
    // Pairs of (old record, word in `to` that must point at its copy). Only child1s wait on the
    // stack, one per record on the current path at most, so it never holds more than a path.
    const stack = new Int32Array(2 * (this.maxLength + 2));
    let sp = 0;
    stack[sp++] = 0;
    stack[sp++] = NONE;
    let next = 0;
    while (sp > 0) {
      const slot = stack[--sp];
      const old = stack[--sp];
      const n = next++;
      if (slot !== NONE) to[slot] = n;
      const src = old << s;
      const dst = n << s;
      to[dst + LENGTH] = from[src + LENGTH];
      for (let i = 0; i < this.words; i++) to[dst + KEY + i] = from[src + KEY + i];
      prefixes[n] = this.prefixes[old];
      if (!this.valueIsKey) values[n] = this.values[old];
      const c0 = from[src];
      const c1 = from[src + 1];
      if (c1 !== 0) {
        stack[sp++] = c1;
        stack[sp++] = dst + 1;
      }
      if (c0 !== 0) {
        stack[sp++] = c0;
        stack[sp++] = dst;
      }
    }
    this.records = to;
    this.prefixes = prefixes;
    this.values = values;
    this.capacity = capacity;
    this.next = next;
    this.free = 0;
    // Record numbers changed: every hint is void.
    this.jump = this.newJumpTable();
  }

  /** A jump table of hints all naming the root, if the trie is big enough to keep one. */
  private newJumpTable(): Int32Array | undefined {
    return this.capacity >= this.jumpTableAt ? new Int32Array(1 << JUMP_BITS) : undefined;
  }
}
