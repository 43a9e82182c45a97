/**
 * An update group: the sessions whose export policy and message format are identical, so every
 * UPDATE is worked out and encoded once and written to each of them (FRR's update groups, the
 * peer-group of old). The group's Adj-RIB-Out lives on the destinations themselves, one slot per
 * group, holding exactly what its members were last told about that prefix.
 *
 * Flow. The RIB marks changed destinations pending. When a member has room and has read
 * everything, the group drains a batch of pending destinations: for each it exports the current
 * multipath set, compares with the slot, records the new state and buckets the difference by
 * exported attribute set; then it encodes withdrawals before announcements into a shared log of
 * messages. Each member reads the log at its own pace through a cursor; the log is trimmed once
 * every member is past an entry. A prefix that changes several times while its members' sockets
 * are full is drained once, in its final state.
 *
 * A session that joins a group that has already sent things first gets a dump of the group's
 * Adj-RIB-Out (a snapshot of the destinations taken at join, read lazily), then follows the log from
 * the point it joined; whatever the log says afterwards is newer than or equal to the dump, so the
 * final state at the peer is exact.
 */
import {
  Afi,
  type MessageContext,
  type PathAttributes,
  type Prefix,
  Safi,
  Writer,
  encodeEndOfRib,
  encodePathAttributes,
  familyKey,
  packAnnouncements,
  packWithdrawals,
  withPathId,
} from '../bgp/index.js';
import { type ExportPolicy, type Exported, exportRoute } from './export.js';
import type { Destination, RibRoute } from './rib.js';

/** Anything that identifies a session to the RIB (the daemon passes its peer object). */
export type GroupMember = object;

/** How messages to a session are encoded; sessions share a group only with equal formats. */
export interface SessionFormat {
  readonly ctx: MessageContext;
  /** Families negotiated, by familyKey. */
  readonly families: ReadonlySet<number>;
  /** Families sent with ADD-PATH path identifiers. */
  readonly addPathSend: ReadonlySet<number>;
}

/** What a group's members hold for one prefix: one route, or ADD-PATH routes by local path ID. */
export type SentState = Exported | AddPathSent;
interface AddPathSent {
  readonly paths: readonly { readonly localId: number; readonly exported: Exported }[];
}

export interface AdvertisedRoute {
  readonly prefix: Prefix;
  readonly nextHop: string;
  readonly attributes: PathAttributes;
}

interface Member {
  /** Absolute log position of the next message for this member. */
  cursor: number;
  dump?: Iterator<Buffer>;
}

/**
 * A destination's Adj-RIB-Out: nothing, the state of group slot 0 alone (the common case, one
 * group, with no array), or the state of every slot.
 */
export type AdjRibOut = SentState | (SentState | undefined)[] | undefined;

export function sentFor(d: Destination, slot: number): SentState | undefined {
  const o = d.out;
  if (o === undefined) return undefined;
  if (Array.isArray(o)) return o[slot];
  return slot === 0 ? o : undefined;
}

function setSent(d: Destination, slot: number, s: SentState | undefined): void {
  const o = d.out;
  if (!Array.isArray(o)) {
    if (slot === 0) {
      d.out = s;
      return;
    }
    if (s === undefined) return;
    // Exactly as long as needed: push() would reserve room for 17 slots per prefix.
    const grown = new Array<SentState | undefined>(slot + 1);
    grown[0] = o;
    grown[slot] = s;
    d.out = grown;
    return;
  }
  if (s !== undefined && o.length <= slot) {
    const grown = new Array<SentState | undefined>(slot + 1);
    for (let i = 0; i < o.length; i++) grown[i] = o[i];
    grown[slot] = s;
    d.out = grown;
    return;
  }
  if (slot < o.length) o[slot] = s;
  let last = o.length - 1;
  while (last >= 0 && o[last] === undefined) last--;
  if (last < 0) d.out = undefined;
  else if (last === 0) d.out = o[0];
  else if (last < o.length - 1) o.length = last + 1;
}

/** Destinations waiting for a group, in the order they changed, each once. */
class PendingQueue {
  private items: Destination[] = [];
  private at = 0;
  /** The group's bit in `Destination.pending`; groups past the 30th use a set instead. */
  private readonly bit: number;
  private readonly overflow: Set<Destination> | undefined;

  constructor(slot: number) {
    this.bit = slot < 30 ? 1 << slot : 0;
    this.overflow = slot < 30 ? undefined : new Set();
  }

  get size(): number {
    return this.items.length - this.at;
  }

  add(d: Destination): void {
    if (this.overflow === undefined) {
      if ((d.pending & this.bit) !== 0) return;
      d.pending |= this.bit;
    } else {
      if (this.overflow.has(d)) return;
      this.overflow.add(d);
    }
    this.items.push(d);
  }

  take(): Destination | undefined {
    if (this.at >= this.items.length) {
      if (this.items.length > 0) {
        this.items = [];
        this.at = 0;
      }
      return undefined;
    }
    const d = this.items[this.at++] as Destination;
    if (this.overflow === undefined) d.pending &= ~this.bit;
    else this.overflow.delete(d);
    // Let a long queue's front go once half of it is done.
    if (this.at >= 65536 && this.at * 2 >= this.items.length) {
      this.items = this.items.slice(this.at);
      this.at = 0;
    }
    return d;
  }

  clear(): void {
    for (let d = this.take(); d !== undefined; d = this.take());
  }
}

/** Destinations drained per batch: enough to fill many messages per attribute set, few enough to keep latency low. */
const BATCH = 8192;
/** Distinct exported attribute sets remembered for sharing. */
const INTERNED_MAX = 65536;
/** Log entries a member may move past before the log is trimmed. */
const TRIM_EVERY = 256;

const isAddPath = (s: SentState): s is AddPathSent => 'paths' in s;

export interface GroupHooks {
  /** The group has new messages for these members (they should pull). */
  readonly wake: (members: readonly GroupMember[]) => void;
  /** Every destination, for dumps and for a group's first table. */
  readonly destinations: () => Iterable<Destination>;
  /** A destination with no routes and no group state left may go. */
  readonly released: (dest: Destination) => void;
}

export class UpdateGroup {
  private readonly members = new Map<GroupMember, Member>();
  private readonly pending: PendingQueue;
  private log: Buffer[] = [];
  /** Absolute position of log[0]. */
  private base = 0;
  /** Until the first table has been drained: then End-of-RIB goes into the log. */
  private initialSync = true;
  private readonly exports = [new WeakMap<RibRoute, Exported | null>(), new WeakMap<RibRoute, Exported | null>()];
  private readonly interned = new Map<string, Exported>();

  constructor(
    readonly slot: number,
    readonly policy: ExportPolicy,
    readonly format: SessionFormat,
    private readonly hooks: GroupHooks,
  ) {
    this.pending = new PendingQueue(slot);
  }

  get size(): number {
    return this.members.size;
  }

  has(m: GroupMember): boolean {
    return this.members.has(m);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  markPending(dest: Destination): void {
    if (!this.familyOn(dest)) return;
    this.pending.add(dest);
  }

  /** The group's first table: every destination with something to send. */
  start(): void {
    for (const d of this.hooks.destinations()) if (d.multipath > 0) this.markPending(d);
  }

  join(m: GroupMember): void {
    const end = this.base + this.log.length;
    const member: Member = { cursor: end };
    // A group still sending its first table sends End-of-RIB to everyone at its end.
    if (!this.initialSync || this.log.length > 0 || this.members.size > 0) member.dump = this.dump(!this.initialSync);
    this.members.set(m, member);
  }

  leave(m: GroupMember): void {
    this.members.delete(m);
    if (this.members.size === 0) this.clear();
  }

  /** ROUTE-REFRESH: the member's whole Adj-RIB-Out again, then on with the log. */
  resend(m: GroupMember): void {
    const member = this.members.get(m);
    if (member !== undefined) member.dump = this.dump(false);
  }

  next(m: GroupMember): Buffer | undefined {
    const member = this.members.get(m);
    if (member === undefined) return undefined;
    if (member.dump !== undefined) {
      const r = member.dump.next();
      if (r.done !== true) return r.value;
      member.dump = undefined;
    }
    if (member.cursor >= this.base + this.log.length && !this.drain(m)) return undefined;
    const message = this.log[member.cursor - this.base];
    member.cursor++;
    if (member.cursor - this.base >= TRIM_EVERY) this.trim();
    return message;
  }

  /** Moves pending destinations into the log until it has something; false when nothing was due. */
  private drain(from: GroupMember): boolean {
    const before = this.log.length;
    while (this.log.length === before && this.pending.size > 0) this.drainBatch();
    if (this.pending.size === 0 && this.initialSync) {
      this.initialSync = false;
      for (const f of this.format.families) this.log.push(encodeEndOfRib(f >> 8, f & 0xff));
    }
    if (this.log.length === before) return false;
    const others = [...this.members.keys()].filter((x) => x !== from);
    if (others.length > 0) this.hooks.wake(others);
    return true;
  }

  private drainBatch(): void {
    const withdrawals: [Prefix[], Prefix[]] = [[], []];
    const announcements: [Map<Exported, Prefix[]>, Map<Exported, Prefix[]>] = [new Map(), new Map()];
    let n = 0;
    const released: Destination[] = [];
    for (let dest = this.pending.take(); dest !== undefined; dest = ++n < BATCH ? this.pending.take() : undefined) {
      this.update(dest, withdrawals, announcements);
      if (dest.routes.length === 0) released.push(dest);
    }
    for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
      const w = withdrawals[i] as Prefix[];
      if (w.length > 0) for (const b of packWithdrawals(afi, Safi.Unicast, w, this.format.ctx)) this.log.push(b);
    }
    for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
      for (const [e, prefixes] of announcements[i] as Map<Exported, Prefix[]>) {
        for (const b of packAnnouncements(afi, Safi.Unicast, e.attributes, prefixes, this.format.ctx, e.mp)) this.log.push(b);
      }
    }
    for (const d of released) this.hooks.released(d);
  }

  /** Compares what the slot says the members hold with what they should hold, and records the difference. */
  private update(dest: Destination, withdrawals: [Prefix[], Prefix[]], announcements: [Map<Exported, Prefix[]>, Map<Exported, Prefix[]>]): void {
    const v6 = dest.afi === Afi.Ipv6 ? 1 : 0;
    const prev = sentFor(dest, this.slot);
    const bucket = (e: Exported, p: Prefix): void => {
      const list = announcements[v6].get(e);
      if (list === undefined) announcements[v6].set(e, [p]);
      else list.push(p);
    };
    if (!this.format.addPathSend.has(familyKey(dest.afi, Safi.Unicast))) {
      const best = dest.multipath > 0 ? this.exported(dest.routes[0] as RibRoute, v6) : undefined;
      if (prev === best) return;
      this.setSlot(dest, best);
      if (best === undefined) withdrawals[v6].push(dest);
      else bucket(best, dest);
      return;
    }
    const paths: { localId: number; exported: Exported }[] = [];
    for (let i = 0; i < dest.multipath; i++) {
      const r = dest.routes[i] as RibRoute;
      const e = this.exported(r, v6);
      if (e !== undefined) paths.push({ localId: r.localId, exported: e });
    }
    const before = prev !== undefined && isAddPath(prev) ? prev.paths : [];
    for (const old of before) {
      if (!paths.some((p) => p.localId === old.localId)) withdrawals[v6].push(withPathId(dest, old.localId));
    }
    let changed = before.length !== paths.length;
    for (const p of paths) {
      const old = before.find((b) => b.localId === p.localId);
      if (old !== undefined && old.exported === p.exported) continue;
      changed = true;
      bucket(p.exported, withPathId(dest, p.localId));
    }
    if (changed) this.setSlot(dest, paths.length === 0 ? undefined : { paths });
  }

  private setSlot(dest: Destination, s: SentState | undefined): void {
    setSent(dest, this.slot, s);
  }

  /** The route as this group sends it, one shared object per distinct result. */
  private exported(r: RibRoute, v6: number): Exported | undefined {
    const cache = this.exports[v6] as WeakMap<RibRoute, Exported | null>;
    const hit = cache.get(r);
    if (hit !== undefined) return hit ?? undefined;
    const res = exportRoute(r, v6 === 1, this.policy);
    let value: Exported | null = null;
    if (res.ok) {
      const w = new Writer(128);
      encodePathAttributes(w, res.value.attributes, { fourOctetAs: true });
      const key = `${w.finish().toString('latin1')}|${res.value.mp?.nextHop ?? ''}|${res.value.mp?.linkLocalNextHop ?? ''}`;
      value = this.interned.get(key) ?? res.value;
      // Bounded: forgetting only costs an UPDATE that repeats what the peer holds.
      if (this.interned.size >= INTERNED_MAX) this.interned.clear();
      this.interned.set(key, value);
    }
    cache.set(r, value);
    return value ?? undefined;
  }

  private familyOn(p: Prefix): boolean {
    return this.format.families.has(familyKey(p.afi, Safi.Unicast));
  }

  /** The group's Adj-RIB-Out as messages, from a snapshot of the destinations taken now. */
  private dump(endOfRib: boolean): Iterator<Buffer> {
    const dests: Destination[] = [];
    for (const d of this.hooks.destinations()) if (sentFor(d, this.slot) !== undefined) dests.push(d);
    const slot = this.slot;
    const format = this.format;
    function* generate(): Generator<Buffer> {
      for (let at = 0; at < dests.length; at += BATCH) {
        const buckets: [Map<Exported, Prefix[]>, Map<Exported, Prefix[]>] = [new Map(), new Map()];
        for (const d of dests.slice(at, at + BATCH)) {
          const s = sentFor(d, slot);
          if (s === undefined) continue;
          const v6 = d.afi === Afi.Ipv6 ? 1 : 0;
          const add = (e: Exported, p: Prefix): void => {
            const list = buckets[v6].get(e);
            if (list === undefined) buckets[v6].set(e, [p]);
            else list.push(p);
          };
          if (isAddPath(s)) for (const p of s.paths) add(p.exported, withPathId(d, p.localId));
          else add(s, d);
        }
        for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
          for (const [e, prefixes] of buckets[i] as Map<Exported, Prefix[]>) yield* packAnnouncements(afi, Safi.Unicast, e.attributes, prefixes, format.ctx, e.mp);
        }
      }
      if (endOfRib) for (const f of format.families) yield encodeEndOfRib(f >> 8, f & 0xff);
    }
    return generate();
  }

  private trim(): void {
    let min = this.base + this.log.length;
    for (const m of this.members.values()) if (m.cursor < min) min = m.cursor;
    const drop = min - this.base;
    if (drop <= 0) return;
    this.log = this.log.slice(drop);
    this.base = min;
  }

  /** The group is gone: its slot is emptied everywhere, so a later group may take it. */
  private clear(): void {
    this.pending.clear();
    this.log = [];
    const emptied: Destination[] = [];
    for (const d of this.hooks.destinations()) {
      if (sentFor(d, this.slot) === undefined) continue;
      this.setSlot(d, undefined);
      if (d.routes.length === 0) emptied.push(d);
    }
    for (const d of emptied) this.hooks.released(d);
  }

  advertised(): AdvertisedRoute[] {
    const out: AdvertisedRoute[] = [];
    const hop = (e: Exported): string => e.mp?.nextHop ?? e.attributes.nextHop ?? '';
    for (const d of this.hooks.destinations()) {
      const s = sentFor(d, this.slot);
      if (s === undefined) continue;
      if (isAddPath(s)) for (const p of s.paths) out.push({ prefix: withPathId(d, p.localId), nextHop: hop(p.exported), attributes: p.exported.attributes });
      else out.push({ prefix: withPathId(d, undefined), nextHop: hop(s), attributes: s.attributes });
    }
    return out;
  }
}
