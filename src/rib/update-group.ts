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
 *
 * Never back to the sender. A route is not sent to the session it came from (a reflector's client,
 * an eBGP peer), and that session may be a member. Such a route's messages are marked "not for" it;
 * when a prefix's best moves to a route from a member, that member alone is told to withdraw what
 * it held. So every member holds the group's Adj-RIB-Out minus its own routes, and members differing
 * only in that (all the clients of a reflector, eBGP peers of one policy in any AS) share a group.
 */
import {
  Afi,
  type MessageContext,
  MessageType,
  RouteRefreshSubtype,
  encodeMessage,
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
import { type BgpFilter, applyFilters } from './filter.js';
import type { Destination, RibRoute } from './rib.js';

/**
 * A BGPPeer's export filters (Calico BGPFilter), run per prefix on what the export policy made of
 * a route. `key` names the filters' content: members share a group only with equal filters.
 */
export interface ExportFilter {
  readonly key: string;
  readonly filters: readonly BgpFilter[];
  readonly peerType: 'eBGP' | 'iBGP';
}

/** An export's identity across groups: its encoded attributes and MP next hop. */
const exportKeys = new WeakMap<Exported, string>();
function exportKey(e: Exported): string {
  let k = exportKeys.get(e);
  if (k === undefined) {
    const w = new Writer(128);
    encodePathAttributes(w, e.attributes, { fourOctetAs: true });
    k = `${w.finish().toString('latin1')}|${e.mp?.nextHop ?? ''}|${e.mp?.linkLocalNextHop ?? ''}`;
    exportKeys.set(e, k);
  }
  return k;
}

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

/** What a group's members hold for one prefix: the route sent, or ADD-PATH routes by local path ID. */
export type SentState = RibRoute | AddPathSent;
interface SentPath {
  readonly localId: number;
  readonly route: RibRoute;
}
interface AddPathSent {
  readonly paths: readonly SentPath[];
}

/** Who a logged message is for: everyone, everyone but one member, or one member alone. */
interface Audience {
  readonly except?: GroupMember;
  readonly only?: GroupMember;
}
const EVERYONE: Audience = {};

export interface AdvertisedRoute {
  readonly prefix: Prefix;
  readonly nextHop: string;
  readonly attributes: PathAttributes;
}

interface Member {
  /** Absolute log position of the next message for this member. */
  cursor: number;
  readonly address: string;
  /** Tables to send before the log: the first table of a late joiner, route refreshes; in order. */
  readonly dumps: Iterator<Buffer>[];
}

/**
 * A destination's Adj-RIB-Out: nothing, the state of group slot 0 alone (the common case, one
 * group, with no array), or the state of every slot.
 */
export type AdjRibOut = SentState | (SentState | undefined)[] | undefined;

function pathsIn(s: SentState | undefined): number {
  return s === undefined ? 0 : isAddPath(s) ? s.paths.length : 1;
}

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

/** One drain's worth of changes, bucketed for packing: by audience, then by exported attribute set. */
class Batch {
  readonly withdrawals: [Map<Audience, Prefix[]>, Map<Audience, Prefix[]>] = [new Map(), new Map()];
  readonly announcements: [Map<Audience, Map<Exported, Prefix[]>>, Map<Audience, Map<Exported, Prefix[]>>] = [new Map(), new Map()];

  withdraw(v6: number, audience: Audience, p: Prefix): void {
    const m = this.withdrawals[v6] as Map<Audience, Prefix[]>;
    const list = m.get(audience);
    if (list === undefined) m.set(audience, [p]);
    else list.push(p);
  }

  announce(v6: number, audience: Audience, e: Exported, p: Prefix): void {
    const m = this.announcements[v6] as Map<Audience, Map<Exported, Prefix[]>>;
    let byAttrs = m.get(audience);
    if (byAttrs === undefined) {
      byAttrs = new Map();
      m.set(audience, byAttrs);
    }
    const list = byAttrs.get(e);
    if (list === undefined) byAttrs.set(e, [p]);
    else list.push(p);
  }
}

export interface GroupHooks {
  /** The group has new messages for these members (they should pull). */
  readonly wake: (members: readonly GroupMember[]) => void;
  /** Every destination, for dumps and for a group's first table. */
  readonly destinations: () => Iterable<Destination>;
  /** A destination with no routes and no group state left may go. */
  readonly released: (dest: Destination) => void;
  /** End-of-RIB must wait (a restarting speaker whose table is not complete yet, RFC 4724 §4.1). */
  readonly endOfRibHeld: () => boolean;
}

export class UpdateGroup {
  private readonly members = new Map<GroupMember, Member>();
  /** Members by their peer address: the sources whose routes they must not get back. */
  private readonly byAddress = new Map<string, GroupMember>();
  /** Audience objects, one per member and kind, so that batches bucket by identity. */
  private readonly notFor = new Map<GroupMember, Audience>();
  private readonly onlyFor = new Map<GroupMember, Audience>();
  private readonly pending: PendingQueue;
  private log: Buffer[] = [];
  /** Parallel to `log`: who each message is for (EVERYONE for most). */
  private audience: Audience[] = [];
  /** Absolute position of log[0]. */
  private base = 0;
  /** Until the first table has been drained: then End-of-RIB goes into the log. */
  private initialSync = true;
  private readonly exports = [new WeakMap<RibRoute, Exported | null>(), new WeakMap<RibRoute, Exported | null>()];
  private readonly interned = new Map<string, Exported>();

  private readonly sentPaths: [number, number] = [0, 0];
  private readonly fromSender = new Map<string, [number, number]>();
  /** What filter rules made of an export: by the export, then by the rule that accepted. */
  private readonly filtered = new Map<Exported, Map<string, Exported>>();

  constructor(
    readonly slot: number,
    readonly policy: ExportPolicy,
    readonly format: SessionFormat,
    private readonly hooks: GroupHooks,
    readonly filter?: ExportFilter,
  ) {
    this.pending = new PendingQueue(slot);
  }

  /** Whether End-of-RIB has gone into the log. */
  get synced(): boolean {
    return !this.initialSync;
  }

  get size(): number {
    return this.members.size;
  }

  /** The peer address a member joined with. */
  addressOf(m: GroupMember): string | undefined {
    return this.members.get(m)?.address;
  }

  has(m: GroupMember): boolean {
    return this.members.has(m);
  }

  markPending(dest: Destination): void {
    if (!this.familyOn(dest)) return;
    this.pending.add(dest);
  }

  /** The group's first table: every destination with something to send. */
  start(): void {
    for (const d of this.hooks.destinations()) if (d.multipath > 0) this.markPending(d);
  }

  /**
   * `address`: the member's peer address, whose own routes it never gets back. `held`: what the
   * member already holds, from the group it leaves (a policy or filter change): it is then sent
   * only the difference instead of the group's table.
   */
  join(m: GroupMember, address: string, held?: UpdateGroup): void {
    const end = this.base + this.log.length;
    const member: Member = { cursor: end, address, dumps: [] };
    if (held !== undefined) member.dumps.push(this.difference(held, address, !held.caughtUp(m)));
    // A group still sending its first table sends End-of-RIB to everyone at its end.
    else if (!this.initialSync || this.log.length > 0 || this.members.size > 0) member.dumps.push(this.dump(m, { endOfRib: !this.initialSync }));
    this.members.set(m, member);
    this.byAddress.set(address, m);
    this.notFor.set(m, { except: m });
    this.onlyFor.set(m, { only: m });
  }

  leave(m: GroupMember): void {
    const member = this.members.get(m);
    if (member === undefined) return;
    this.members.delete(m);
    if (this.byAddress.get(member.address) === m) this.byAddress.delete(member.address);
    this.notFor.delete(m);
    this.onlyFor.delete(m);
    if (this.members.size === 0) this.clear();
  }

  /**
   * ROUTE-REFRESH (RFC 2918): the member's Adj-RIB-Out of one family again, then on with the log;
   * with enhanced route refresh (RFC 7313) between BoRR and EoRR, so the peer can sweep what it
   * no longer gets. Queued behind a table still being sent.
   */
  resend(m: GroupMember, family: number, enhanced: boolean): void {
    const member = this.members.get(m);
    if (member === undefined || !this.format.families.has(family)) return;
    const marker = (subtype: number): Buffer => encodeMessage({ type: MessageType.RouteRefresh, afi: family >> 8, safi: family & 0xff, subtype }, this.format.ctx);
    member.dumps.push(
      this.dump(m, {
        family,
        endOfRib: false,
        ...(enhanced ? { before: marker(RouteRefreshSubtype.BeginningOfRouteRefresh), after: marker(RouteRefreshSubtype.EndOfRouteRefresh) } : {}),
      }),
    );
  }

  next(m: GroupMember): Buffer | undefined {
    const member = this.members.get(m);
    if (member === undefined) return undefined;
    while (member.dumps.length > 0) {
      const r = (member.dumps[0] as Iterator<Buffer>).next();
      if (r.done !== true) return r.value;
      member.dumps.shift();
    }
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (member.cursor >= this.base + this.log.length && !this.drain(m)) return undefined;
      const i = member.cursor - this.base;
      const message = this.log[i] as Buffer;
      const a = this.audience[i] as Audience;
      member.cursor++;
      if (member.cursor - this.base >= TRIM_EVERY) this.trim();
      if (a === EVERYONE || (a.except !== undefined ? a.except !== m : a.only === m)) return message;
    }
    throw new Error('update group: no message for this member in a million');
  }

  /**
   * A new group about to take a member from `from`: its Adj-RIB-Out is worked out now, without
   * sending anything (it has no members yet), so that the member is sent only the difference.
   */
  settle(from: UpdateGroup): void {
    while (this.pending.size > 0) this.drainBatch();
    this.log = [];
    this.audience = [];
    if (from.synced) this.initialSync = false;
  }

  /** The member has been sent everything of this group so far: it holds the group's Adj-RIB-Out. */
  caughtUp(m: GroupMember): boolean {
    const member = this.members.get(m);
    return member !== undefined && member.dumps.length === 0 && member.cursor === this.base + this.log.length;
  }

  /**
   * What a member of `from` (peer `address`) must be told to hold this group's Adj-RIB-Out instead:
   * withdrawals of what only `from` sent, announcements of what differs. Worked out now, encoded
   * lazily. `full`: the member had not been sent all of `from` yet (what it holds is somewhere on
   * the way), so everything is announced, and whatever `from` had and this group has not is
   * withdrawn (a withdrawal of a route the peer never got is harmless).
   */
  private difference(from: UpdateGroup, address: string, full: boolean): Iterator<Buffer> {
    const withdrawals: [Prefix[], Prefix[]] = [[], []];
    const announcements: [Map<Exported, Prefix[]>, Map<Exported, Prefix[]>] = [new Map(), new Map()];
    for (const d of this.hooks.destinations()) {
      const before = from.heldBy(d, address);
      const after = this.heldBy(d, address);
      if (before.length === 0 && after.length === 0) continue;
      const v6 = d.afi === Afi.Ipv6 ? 1 : 0;
      for (const [prefix, e] of after) {
        const was = before.find(([p]) => p.pathId === prefix.pathId);
        if (!full && was !== undefined && exportKey(was[1]) === exportKey(e)) continue;
        const list = announcements[v6].get(e);
        if (list === undefined) announcements[v6].set(e, [prefix]);
        else list.push(prefix);
      }
      for (const [prefix] of before) if (!after.some(([p]) => p.pathId === prefix.pathId)) withdrawals[v6].push(prefix);
    }
    const ctx = this.format.ctx;
    function* generate(): Generator<Buffer> {
      for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) yield* packWithdrawals(afi, Safi.Unicast, withdrawals[i] as Prefix[], ctx);
      for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
        for (const [e, prefixes] of announcements[i] as Map<Exported, Prefix[]>) yield* packAnnouncements(afi, Safi.Unicast, e.attributes, prefixes, ctx, e.mp);
      }
    }
    return generate();
  }

  /** What the member with peer `address` holds for a destination, as sent. */
  private heldBy(d: Destination, address: string): [Prefix, Exported][] {
    const s = sentFor(d, this.slot);
    if (s === undefined) return [];
    const paths: [number | undefined, RibRoute][] = isAddPath(s) ? s.paths.map((p) => [p.localId, p.route]) : [[undefined, s]];
    const out: [Prefix, Exported][] = [];
    for (const [id, r] of paths) {
      if (r.source.kind === 'peer' && r.source.address === address) continue;
      const e = this.sent(r, d);
      if (e !== undefined) out.push([withPathId(d, id), e]);
    }
    return out;
  }

  /** End-of-RIB is no longer held: a group whose first table is out sends it now. */
  releaseEndOfRib(): void {
    if (!this.initialSync || this.pending.size > 0 || this.hooks.endOfRibHeld()) return;
    this.endFirstTable();
    if (this.members.size > 0) this.hooks.wake([...this.members.keys()]);
  }

  private endFirstTable(): void {
    this.initialSync = false;
    for (const f of this.format.families) this.append(encodeEndOfRib(f >> 8, f & 0xff), EVERYONE);
  }

  /** Moves pending destinations into the log until it has something; false when nothing was due. */
  private drain(from: GroupMember): boolean {
    const before = this.log.length;
    while (this.log.length === before && this.pending.size > 0) this.drainBatch();
    if (this.pending.size === 0 && this.initialSync && !this.hooks.endOfRibHeld()) this.endFirstTable();
    if (this.log.length === before) return false;
    const others = [...this.members.keys()].filter((x) => x !== from);
    if (others.length > 0) this.hooks.wake(others);
    return true;
  }

  private append(message: Buffer, audience: Audience): void {
    this.log.push(message);
    this.audience.push(audience);
  }

  private drainBatch(): void {
    const batch = new Batch();
    let n = 0;
    const released: Destination[] = [];
    for (let dest = this.pending.take(); dest !== undefined; dest = ++n < BATCH ? this.pending.take() : undefined) {
      if (this.format.addPathSend.has(familyKey(dest.afi, Safi.Unicast))) this.updateAddPath(dest, batch);
      else this.update(dest, batch);
      if (dest.routes.length === 0) released.push(dest);
    }
    const ctx = this.format.ctx;
    for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
      for (const [audience, prefixes] of batch.withdrawals[i] as Map<Audience, Prefix[]>) {
        for (const b of packWithdrawals(afi, Safi.Unicast, prefixes, ctx)) this.append(b, audience);
      }
    }
    for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
      for (const [audience, byAttrs] of batch.announcements[i] as Map<Audience, Map<Exported, Prefix[]>>) {
        for (const [e, prefixes] of byAttrs) for (const b of packAnnouncements(afi, Safi.Unicast, e.attributes, prefixes, ctx, e.mp)) this.append(b, audience);
      }
    }
    for (const d of released) this.hooks.released(d);
  }

  /** The member a route came from, if it is one of this group's. */
  private senderOf(r: RibRoute): GroupMember | undefined {
    return r.source.kind === 'peer' ? this.byAddress.get(r.source.address) : undefined;
  }

  private audienceExcept(m: GroupMember | undefined): Audience {
    return m === undefined ? EVERYONE : (this.notFor.get(m) ?? EVERYONE);
  }

  /**
   * Without ADD-PATH: members hold the exported best route, except the member it came from. The
   * slot keeps the route sent (not only its attributes) to know whom a change concerns.
   */
  private update(dest: Destination, batch: Batch): void {
    const v6 = dest.afi === Afi.Ipv6 ? 1 : 0;
    const prev = sentFor(dest, this.slot) as RibRoute | undefined;
    const candidate = dest.multipath > 0 ? (dest.routes[0] as RibRoute) : undefined;
    const now = candidate === undefined ? undefined : this.sent(candidate, dest);
    const best = now === undefined ? undefined : candidate;
    if (prev === best) return;
    this.setSlot(dest, best);
    const wasFrom = prev === undefined ? undefined : this.senderOf(prev);
    if (best === undefined || now === undefined) {
      batch.withdraw(v6, this.audienceExcept(wasFrom), dest);
      return;
    }
    const nowFrom = this.senderOf(best);
    // Another route with the same export from the same sender: nothing any member sees changes.
    if (prev !== undefined && this.sent(prev, dest) === now && wasFrom === nowFrom) return;
    batch.announce(v6, this.audienceExcept(nowFrom), now, dest);
    // The sender of the new best held the old one (unless it was its own too): it must let it go.
    if (nowFrom !== undefined && prev !== undefined && wasFrom !== nowFrom) batch.withdraw(v6, this.onlyFor.get(nowFrom) ?? EVERYONE, dest);
  }

  /** With ADD-PATH: every exported route of the multipath set, by its local path ID, the same way. */
  private updateAddPath(dest: Destination, batch: Batch): void {
    const v6 = dest.afi === Afi.Ipv6 ? 1 : 0;
    const prev = sentFor(dest, this.slot);
    const before = prev !== undefined && isAddPath(prev) ? prev.paths : [];
    const paths: SentPath[] = [];
    // Each path's export, worked out once (with filters, once per path is a filter run per path).
    const exports: Exported[] = [];
    for (let i = 0; i < dest.multipath; i++) {
      const r = dest.routes[i] as RibRoute;
      const e = this.sent(r, dest);
      if (e === undefined) continue;
      paths.push({ localId: r.localId, route: r });
      exports.push(e);
    }
    let changed = before.length !== paths.length;
    for (const old of before) {
      if (paths.some((p) => p.localId === old.localId)) continue;
      changed = true;
      batch.withdraw(v6, this.audienceExcept(this.senderOf(old.route)), withPathId(dest, old.localId));
    }
    for (const [i, p] of paths.entries()) {
      const old = before.find((b) => b.localId === p.localId);
      if (old !== undefined && old.route === p.route) continue;
      changed = true;
      const e = exports[i] as Exported;
      const from = this.senderOf(p.route);
      if (old !== undefined && this.sent(old.route, dest) === e && this.senderOf(old.route) === from) continue;
      // A local path ID belongs to one source, so the sender of a replaced path is the same as
      // before: it never held it, and there is nothing to withdraw from it (unlike `update`).
      batch.announce(v6, this.audienceExcept(from), e, withPathId(dest, p.localId));
    }
    if (changed) this.setSlot(dest, paths.length === 0 ? undefined : { paths });
  }

  private setSlot(dest: Destination, s: SentState | undefined): void {
    const i = dest.afi === Afi.Ipv6 ? 1 : 0;
    const before = sentFor(dest, this.slot);
    this.sentPaths[i] += pathsIn(s) - pathsIn(before);
    this.countSenders(before, i, -1);
    this.countSenders(s, i, 1);
    setSent(dest, this.slot, s);
  }

  /** Paths of the group's Adj-RIB-Out that came from each peer: they are never sent back to it. */
  private countSenders(s: SentState | undefined, i: number, by: number): void {
    if (s === undefined) return;
    // Per destination change, twice: no array made to walk one route.
    if (!isAddPath(s)) this.countSender(s, i, by);
    else for (const p of s.paths) this.countSender(p.route, i, by);
  }

  private countSender(r: RibRoute, i: number, by: number): void {
    if (r.source.kind !== 'peer') return;
    let c = this.fromSender.get(r.source.address);
    if (c === undefined) {
      c = [0, 0];
      this.fromSender.set(r.source.address, c);
    }
    c[i] = (c[i] as number) + by;
    if (c[0] === 0 && c[1] === 0) this.fromSender.delete(r.source.address);
  }

  /** Paths the member with peer `address` holds from the group, IPv4 and IPv6, without a walk. */
  heldCount(address: string): { readonly ipv4: number; readonly ipv6: number } {
    const own = this.fromSender.get(address) ?? [0, 0];
    return { ipv4: this.sentPaths[0] - own[0], ipv6: this.sentPaths[1] - own[1] };
  }

  /**
   * The route as this group sends it for `d`: the export policy's result, through the export
   * filters when the group has any. Shared objects: equal inputs give the same object.
   */
  sent(r: RibRoute, d: Prefix): Exported | undefined {
    const e = this.exported(r, d.afi === Afi.Ipv6 ? 1 : 0);
    const f = this.filter;
    if (e === undefined || f === undefined) return e;
    const res = applyFilters(f.filters, d, { attributes: e.attributes, local: r.source.kind === 'local' }, { direction: 'export', peerType: f.peerType });
    if (res.action === 'Reject') return undefined;
    if (res.attributes === e.attributes) return e;
    // The operations depend only on the attributes and the rule: one result per (export, rule).
    let byRule = this.filtered.get(e);
    if (byRule === undefined) {
      if (this.filtered.size >= INTERNED_MAX) this.filtered.clear();
      byRule = new Map();
      this.filtered.set(e, byRule);
    }
    const rule = `${res.filter}#${res.rule}`;
    let out = byRule.get(rule);
    if (out === undefined) {
      out = e.mp === undefined ? { attributes: res.attributes } : { attributes: res.attributes, mp: e.mp };
      byRule.set(rule, out);
    }
    return out;
  }

  /** The route as the export policy makes it for this group, one shared object per distinct result. */
  exported(r: RibRoute, v6: number): Exported | undefined {
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

  /** The group's Adj-RIB-Out as `member` holds it (its own routes left out), from a snapshot taken now. */
  private dump(member: GroupMember, o: { readonly endOfRib: boolean; readonly family?: number; readonly before?: Buffer; readonly after?: Buffer }): Iterator<Buffer> {
    const format = this.format;
    const group = this;
    const afi = o.family === undefined ? undefined : o.family >> 8;
    // The snapshot is taken now: everything the log says from here on is newer.
    const dests: Destination[] = [];
    for (const d of group.hooks.destinations()) if ((afi === undefined || d.afi === afi) && sentFor(d, group.slot) !== undefined) dests.push(d);
    function* generate(): Generator<Buffer> {
      if (o.before !== undefined) yield o.before;
      for (let at = 0; at < dests.length; at += BATCH) {
        const buckets: [Map<Exported, Prefix[]>, Map<Exported, Prefix[]>] = [new Map(), new Map()];
        for (const d of dests.slice(at, at + BATCH)) {
          for (const [prefix, route] of group.held(d, member)) {
            const v6 = d.afi === Afi.Ipv6 ? 1 : 0;
            const e = group.sent(route, d) as Exported;
            const list = buckets[v6].get(e);
            if (list === undefined) buckets[v6].set(e, [prefix]);
            else list.push(prefix);
          }
        }
        for (const [i, afi] of [Afi.Ipv4, Afi.Ipv6].entries()) {
          for (const [e, prefixes] of buckets[i] as Map<Exported, Prefix[]>) yield* packAnnouncements(afi, Safi.Unicast, e.attributes, prefixes, format.ctx, e.mp);
        }
      }
      if (o.after !== undefined) yield o.after;
      if (o.endOfRib) for (const f of format.families) yield encodeEndOfRib(f >> 8, f & 0xff);
    }
    return generate();
  }

  /** What `member` holds for a destination: (prefix with path ID where ADD-PATH, route) pairs. */
  private held(d: Destination, member: GroupMember | undefined): [Prefix, RibRoute][] {
    const s = sentFor(d, this.slot);
    if (s === undefined) return [];
    if (isAddPath(s)) return s.paths.filter((p) => member === undefined || this.senderOf(p.route) !== member).map((p) => [withPathId(d, p.localId), p.route]);
    return member !== undefined && this.senderOf(s) === member ? [] : [[d, s]];
  }

  private trim(): void {
    let min = this.base + this.log.length;
    for (const m of this.members.values()) if (m.cursor < min) min = m.cursor;
    const drop = min - this.base;
    if (drop <= 0) return;
    this.log = this.log.slice(drop);
    this.audience = this.audience.slice(drop);
    this.base = min;
  }

  /** The group is gone: its slot is emptied everywhere, so a later group may take it. */
  private clear(): void {
    this.pending.clear();
    this.log = [];
    this.audience = [];
    const emptied: Destination[] = [];
    for (const d of this.hooks.destinations()) {
      if (sentFor(d, this.slot) === undefined) continue;
      this.setSlot(d, undefined);
      if (d.routes.length === 0) emptied.push(d);
    }
    for (const d of emptied) this.hooks.released(d);
  }

  /** What `member` holds from us. */
  advertised(member: GroupMember): AdvertisedRoute[] {
    const out: AdvertisedRoute[] = [];
    for (const d of this.hooks.destinations()) out.push(...this.advertisedAt(d, member));
    return out;
  }

  /** What `member` holds from us for one destination. */
  advertisedAt(d: Destination, member: GroupMember): AdvertisedRoute[] {
    return this.held(d, member).map(([prefix, route]) => {
      const e = this.sent(route, d) as Exported;
      return { prefix: withPathId(prefix, prefix.pathId), nextHop: e.mp?.nextHop ?? e.attributes.nextHop ?? '', attributes: e.attributes };
    });
  }
}
