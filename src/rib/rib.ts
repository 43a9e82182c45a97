/**
 * The routing information bases: every path of every prefix (each peer's Adj-RIB-In and every
 * originated set), the decision that orders them (Loc-RIB), and the update groups that turn Loc-RIB
 * changes into UPDATEs (Adj-RIB-Out). Plain data in, encoded UPDATEs out; nothing here knows a
 * socket or a Kubernetes object.
 *
 * Layout. One prefix trie per family maps a prefix to its `Destination`: the candidate routes,
 * kept sorted best first, and how many of the first ones form the multipath set. Adj-RIB-In is
 * not a table of its own: a peer's routes are the candidates whose source is that peer (a walk
 * finds them when its session goes down). A `RibRoute` is shared by every prefix that arrived with
 * the same source, attributes (interned), next hop and path identifier, usually all the prefixes
 * of one UPDATE, so a prefix costs its trie record, its destination and one array slot.
 *
 * Changes are lazy. Changing a destination's multipath set only marks it pending in every update
 * group; the group works out what to send when one of its sessions has room for more, so a prefix
 * that changes several times meanwhile goes out once, in its final state.
 */
import { Afi, type PathAttributes, type Prefix, type UpdateMessage, parseIpv4, parseIpv6, withPathId } from '../bgp/index.js';
import { AttributeStore } from './attribute-store.js';
import { type DecisionOptions, type DecisionStep, compareRoutes, rankRoutes } from './decision.js';
import type { ExportPolicy } from './export.js';
import { PrefixTrie } from './prefix-trie.js';
import type { Route, RouteSource } from './route.js';
import { type AdjRibOut, type AdvertisedRoute, type ExportFilter, type GroupMember, type SessionFormat, UpdateGroup } from './update-group.js';

export type IneligibleReason = 'next-hop-unusable' | 'as-path-loop' | 'originator-id-loop' | 'cluster-list-loop' | ImportRefusal;

/** Why an import policy refused a route: a BGPFilter, or the node's own service ranges. */
export type ImportRefusal = 'filtered' | 'service-cidr';

/**
 * A peer's import policy, per prefix: the attributes to use, or why the route is refused. Given
 * the attributes as received; may return them unchanged.
 */
export type ImportPolicy = (prefix: Prefix, received: PathAttributes) => PathAttributes | ImportRefusal;

/** A route as the RIB holds it: shared by every prefix with the same source, attributes, next hop and path ID. */
export interface RibRoute extends Route {
  readonly pathId: number;
  /** The path identifier kbgp sends for this route over ADD-PATH: unique among a prefix's routes. */
  readonly localId: number;
  readonly ineligible?: IneligibleReason;
  /** The attributes as the peer sent them (Adj-RIB-In before import policy); `attributes` when unchanged. */
  readonly received: PathAttributes;
  /** Prefixes holding this route; at 0 it is forgotten and its attributes released. */
  refs: number;
  /** `[this]`, shared by every prefix whose only route this is (a million prefixes, one array). */
  alone?: readonly RibRoute[];
}

function refusedFor(r: RibRoute): ImportRefusal | undefined {
  return r.ineligible === 'filtered' || r.ineligible === 'service-cidr' ? r.ineligible : undefined;
}

/** The candidate list of a prefix with this one route; lists are never changed in place, so it is shared. */
function alone(r: RibRoute): readonly RibRoute[] {
  r.alone ??= Object.freeze([r]);
  return r.alone;
}

/**
 * One prefix and its routes. It is the prefix itself (its own key in the trie): one object per
 * prefix instead of two, at a million prefixes a few tens of megabytes.
 */
export type Destination = Prefix & DestinationState;

interface DestinationState {
  /** Candidates, eligible ones first in decision order, then the ineligible. */
  routes: readonly RibRoute[];
  /** How many of the first routes form the multipath set (0: no eligible route). */
  multipath: number;
  /**
   * Adj-RIB-Out: what each update group's members hold for this prefix, by group slot. A
   * destination stays (without routes) until every group has sent its withdrawal.
   */
  out: AdjRibOut;
  /** Bit per update group slot: queued in that group's pending list. */
  pending: number;
}

export interface RibOptions extends DecisionOptions {
  /** This node's AS (loop detection) and BGP Identifier (ORIGINATOR_ID loop). */
  readonly localAs: number;
  readonly routerId: string;
  /** Set on a route reflector: routes carrying it in CLUSTER_LIST have looped. */
  readonly clusterId?: string;
  /** The most routes in a multipath set. */
  readonly maxPaths: number;
  /** This node's own addresses: a route with one as next hop points back at us. */
  readonly ownAddresses?: readonly string[];
}

export interface PeerSourceInfo {
  readonly address: string;
  readonly asn: number;
  readonly bgpIdentifier: string;
  readonly ebgp: boolean;
  readonly routeReflectorClient: boolean;
  /** Our AS towards this peer, if not the node's. */
  readonly localAs?: number;
  /** How often our AS may appear in a path from this peer (BGPPeer numAllowedLocalASNumbers). */
  readonly allowedLocalAs?: number;
}

export interface LocalRoute {
  readonly prefix: Prefix;
  readonly attributes: PathAttributes;
}

const NO_ROUTES: readonly RibRoute[] = Object.freeze([]);

/** `dest`'s path `pathId` was sent again (or withdrawn): it is no longer stale. */
function fresh(stale: Map<Destination, number[]>, dest: Destination, pathId: number): void {
  const ids = stale.get(dest);
  if (ids === undefined) return;
  const left = ids.filter((id) => id !== pathId);
  if (left.length === 0) stale.delete(dest);
  else stale.set(dest, left);
}

/** An empty destination for `p`, in literal shapes (as the codec's prefixes) so that loops over destinations stay monomorphic. */
function newDestination(p: Prefix): Destination {
  return p.afi === Afi.Ipv4
    ? { afi: Afi.Ipv4, length: p.length, address: p.address, routes: NO_ROUTES, multipath: 0, out: undefined, pending: 0 }
    : { afi: Afi.Ipv6, length: p.length, address: p.address, routes: NO_ROUTES, multipath: 0, out: undefined, pending: 0 };
}

/** `Destination.pending` bit: queued for `prune` (update groups use the bits below it). */
export const PRUNE_QUEUED = 1 << 30;
const PRUNE_AT_MOST = 1 << 22;

/** A source of routes: one peer's session (its Adj-RIB-In) or one originated set. */
class Source {
  /** Routes by attributes (interned); a few per attribute set at most (next hops, path IDs). */
  readonly routes = new Map<PathAttributes, RibRoute[]>();
  /** The session is down in a graceful restart: the routes are kept, stale. */
  restarting = false;
  importPolicy: ImportPolicy | undefined;
  /** Paths held, IPv4 and IPv6 (for max-prefix and status, without a walk). */
  readonly count: [number, number] = [0, 0];
  /** Of those, the eligible ones (accepted: not refused by policy, no loop, usable next hop). */
  readonly accepted: [number, number] = [0, 0];
  /**
   * Enhanced route refresh (RFC 7313) in progress, per family (IPv4, IPv6): the paths held at BoRR
   * that the peer has not sent again since, by destination and path ID. What is left at EoRR goes.
   */
  readonly stale: [Map<Destination, number[]> | undefined, Map<Destination, number[]> | undefined] = [undefined, undefined];
  /** An origination set's prefixes as last set, to compute the next difference without a walk. */
  originated?: Record<Afi, PrefixTrie<RibRoute>>;
  constructor(
    readonly route: RouteSource,
    readonly info?: PeerSourceInfo,
  ) {}
}

/** A view of one path for `kbgp routes` and tests. */
export interface RibPathView {
  readonly from: string;
  readonly nextHop: string;
  readonly attributes: PathAttributes;
  readonly pathId: number;
  readonly best: boolean;
  readonly multipath: boolean;
  readonly ineligible?: IneligibleReason;
  readonly decidedBy?: DecisionStep;
}

export interface LocRibEntry {
  readonly prefix: Prefix;
  readonly paths: readonly RibPathView[];
}

export interface ReceivedRoute {
  readonly prefix: Prefix;
  readonly attributes: PathAttributes;
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
  readonly pathId?: number;
  readonly ineligible?: IneligibleReason;
  /** Held from before a graceful restart or a BoRR, not sent again yet: swept at End-of-RIB / EoRR. */
  readonly stale?: true;
  /** The attributes the import policy made of `attributes` (set only when it changed them). */
  readonly imported?: PathAttributes;
}

export interface ApplyResult {
  readonly announced: number;
  readonly withdrawn: number;
}

const MULTICAST_V4 = parseIpv4('224.0.0.0');

export class Rib {
  private readonly tries = {
    [Afi.Ipv4]: new PrefixTrie<Destination>(Afi.Ipv4, { valueIsKey: true }),
    [Afi.Ipv6]: new PrefixTrie<Destination>(Afi.Ipv6, { valueIsKey: true }),
  };
  private readonly store = new AttributeStore();
  private readonly groups = new Map<string, UpdateGroup>();
  private groupList: UpdateGroup[] = [];
  /** Destinations left without routes or group state, deleted from the trie in bulk by `prune`. */
  private emptied: Destination[] = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly peers = new Map<string, Source>();
  private readonly originations = new Map<string, Source>();
  /**
   * Local path identifiers, one per (source, received path ID) pair ever seen, by the source's
   * address or origination name: stable across a peer's sessions, and bounded by peers times the
   * path IDs they use (the 32-bit wire field never runs out).
   */
  private readonly localIds = new Map<string, Map<number, number>>();
  private nextLocalId = 1;
  private readonly own: ReadonlySet<string>;
  private endOfRibHeld = false;
  private readonly locRibSize: [number, number] = [0, 0];

  constructor(
    readonly options: RibOptions,
    /** Called when members of an update group have new messages to pull. */
    private readonly wake: (members: readonly GroupMember[]) => void = () => undefined,
  ) {
    this.own = new Set((options.ownAddresses ?? []).concat(options.routerId));
  }

  /** Prefixes in the trie (some may be empty, waiting for their withdrawal to be sent). */
  get size(): number {
    return this.tries[Afi.Ipv4].size + this.tries[Afi.Ipv6].size;
  }

  private *destinations(): Generator<Destination> {
    for (const trie of [this.tries[Afi.Ipv4], this.tries[Afi.Ipv6]]) for (const [, d] of trie.entries()) yield d;
  }

  /**
   * A destination with no routes that no update group still has to withdraw may go. It is only
   * queued: deleting from the trie (and the compaction that follows a mass withdrawal) is left to
   * `prune`, off the path between a withdrawal coming in and going out, as BIRD prunes its tables.
   */
  private release(dest: Destination): void {
    if (dest.routes.length > 0 || dest.out !== undefined || (dest.pending & PRUNE_QUEUED) !== 0) return;
    dest.pending |= PRUNE_QUEUED;
    this.emptied.push(dest);
    // A bound on what waits, whatever the caller's schedule.
    if (this.emptied.length >= PRUNE_AT_MOST) this.prune();
  }

  /** Destinations waiting for `prune`. */
  get prunable(): number {
    return this.emptied.length;
  }

  /** Deletes the queued empty destinations from the trie; returns how many went. */
  prune(): number {
    const list = this.emptied;
    this.emptied = [];
    let n = 0;
    for (const dest of list) {
      dest.pending &= ~PRUNE_QUEUED;
      if (dest.routes.length > 0 || dest.out !== undefined) continue;
      const trie = this.tries[dest.afi];
      if (trie.get(dest) !== dest) continue;
      trie.delete(dest);
      n++;
    }
    return n;
  }

  // -----------------------------------------------------------------------------------------------
  // Sources

  /** A peer's session came up: its UPDATEs may now be applied. */
  peerUp(info: PeerSourceInfo): void {
    const held = this.peers.get(info.address);
    // Back from a graceful restart as the same speaker: its stale routes stay until it re-sends
    // them or its End-of-RIB sweeps what it did not (RFC 4724 §4.2).
    if (held?.restarting === true && held.route.kind === 'peer' && held.route.bgpIdentifier === info.bgpIdentifier && held.route.asn === info.asn) {
      held.restarting = false;
      return;
    }
    if (held !== undefined) this.peerDown(info.address);
    const route: RouteSource = { kind: 'peer', address: info.address, asn: info.asn, bgpIdentifier: info.bgpIdentifier, ebgp: info.ebgp, routeReflectorClient: info.routeReflectorClient };
    this.peers.set(info.address, new Source(route, info));
  }

  /**
   * The session of a peer that negotiated graceful restart ended (RFC 4724 §4.2, helper role):
   * its routes stay in Loc-RIB, all of them stale, until it comes back and re-sends them (its
   * End-of-RIB per family sweeps the rest: `endRefresh`) or the caller's restart timer gives up
   * (`peerDown`). Only the families its capability named are kept; the others go now.
   */
  peerRestarting(address: string, retained: ReadonlySet<Afi>): void {
    const src = this.peers.get(address);
    if (src === undefined) return;
    src.restarting = true;
    for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) {
      // Already stale from an earlier restart: keep that set (what was re-sent since is fresh).
      if (src.stale[afi === Afi.Ipv4 ? 0 : 1] === undefined) this.beginRefresh(address, afi);
      if (!retained.has(afi)) this.endRefresh(address, afi);
    }
  }

  /** Whether the family has stale routes from the peer waiting for a sweep. */
  hasStale(address: string, afi: Afi): boolean {
    return this.peers.get(address)?.stale[afi === Afi.Ipv4 ? 0 : 1] !== undefined;
  }

  /** A peer's session went down: its routes leave Loc-RIB and are withdrawn from everyone else. */
  peerDown(address: string): void {
    const src = this.peers.get(address);
    if (src === undefined) return;
    this.peers.delete(address);
    this.removeSource(src);
  }

  private removeSource(src: Source): void {
    if (src.routes.size === 0) return;
    for (const trie of Object.values(this.tries)) {
      const emptied: Destination[] = [];
      for (const [, dest] of trie.entries()) {
        const before = dest.routes.length;
        const kept = dest.routes.filter((r) => r.source !== src.route);
        if (kept.length === before) continue;
        for (const r of dest.routes) if (r.source === src.route) this.unref(src, r);
        this.reorder(dest, kept);
        if (kept.length === 0) emptied.push(dest);
      }
      // Queued after the walk: a prune during it would change the trie under the walk.
      for (const d of emptied) this.release(d);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Input

  /** One UPDATE from an Established peer, applied to its Adj-RIB-In and on to Loc-RIB. */
  apply(peerAddress: string, u: UpdateMessage): ApplyResult {
    const src = this.peers.get(peerAddress);
    if (src === undefined) throw new Error(`UPDATE from ${peerAddress}, which is not up`);
    let withdrawn = 0;
    for (const p of u.withdrawnRoutes) if (this.withdraw(src, p)) withdrawn++;
    if (u.mpUnreach !== undefined) for (const p of u.mpUnreach.withdrawnRoutes) if (this.withdraw(src, p)) withdrawn++;
    if (u.treatAsWithdraw !== undefined) {
      // RFC 7606 §2: the routes of an UPDATE with a malformed attribute are handled as withdrawn.
      for (const p of u.nlri) if (this.withdraw(src, p)) withdrawn++;
      if (u.mpReach !== undefined) for (const p of u.mpReach.nlri) if (this.withdraw(src, p)) withdrawn++;
      return { announced: 0, withdrawn };
    }
    let announced = 0;
    if (u.nlri.length === 0 && (u.mpReach === undefined || u.mpReach.nlri.length === 0)) return { announced, withdrawn };
    const attributes = this.store.intern(u.attributes);
    const nextHop = u.attributes.nextHop;
    const policy = src.importPolicy;
    if (nextHop !== undefined) {
      for (const p of u.nlri) {
        this.announce(src, p, policy === undefined ? this.routeFor(src, attributes, nextHop, undefined, p.pathId ?? 0) : this.imported(src, policy, p, attributes, nextHop, undefined, p.pathId ?? 0));
        announced++;
      }
    }
    const mp = u.mpReach;
    if (mp !== undefined) {
      for (const p of mp.nlri) {
        this.announce(
          src,
          p,
          policy === undefined ? this.routeFor(src, attributes, mp.nextHop, mp.linkLocalNextHop, p.pathId ?? 0) : this.imported(src, policy, p, attributes, mp.nextHop, mp.linkLocalNextHop, p.pathId ?? 0),
        );
        announced++;
      }
    }
    // The UPDATE's own reference: every route made from it holds one of its own.
    this.store.release(attributes);
    return { announced, withdrawn };
  }

  /** BoRR from a peer (RFC 7313): everything it holds in the family is stale until sent again. */
  beginRefresh(peerAddress: string, afi: Afi): void {
    const src = this.peers.get(peerAddress);
    if (src === undefined) return;
    const stale = new Map<Destination, number[]>();
    for (const [, dest] of this.tries[afi].entries()) {
      const ids = dest.routes.filter((r) => r.source === src.route).map((r) => r.pathId);
      if (ids.length > 0) stale.set(dest, ids);
    }
    src.stale[afi === Afi.Ipv4 ? 0 : 1] = stale;
  }

  /** EoRR from a peer: what it did not send again since BoRR is withdrawn. Returns how many went. */
  endRefresh(peerAddress: string, afi: Afi): number {
    const src = this.peers.get(peerAddress);
    const i = afi === Afi.Ipv4 ? 0 : 1;
    const stale = src?.stale[i];
    if (src === undefined || stale === undefined) return 0;
    src.stale[i] = undefined;
    let n = 0;
    for (const [dest, ids] of stale) for (const id of ids) if (this.withdraw(src, withPathId(dest, id === 0 ? undefined : id))) n++;
    return n;
  }

  /**
   * Replaces everything originated under `name` (the demo's static prefixes, the Kubernetes
   * watcher's service prefixes): only what differs reaches Loc-RIB and the peers.
   */
  setOriginated(name: string, routes: readonly LocalRoute[]): void {
    const held = this.origination(name).originated;
    const gone: Prefix[] = [];
    if (held !== undefined) {
      const wanted = { [Afi.Ipv4]: new PrefixTrie<true>(Afi.Ipv4), [Afi.Ipv6]: new PrefixTrie<true>(Afi.Ipv6) };
      for (const r of routes) wanted[r.prefix.afi].set(r.prefix, true);
      for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) for (const [prefix] of held[afi].entries()) if (!wanted[afi].has(prefix)) gone.push(prefix);
    }
    this.changeOriginated(name, routes, gone);
  }

  /**
   * Changes part of what is originated under `name`: `announce` adds or replaces prefixes, `withdraw`
   * removes them; the rest stays. The cost is the size of the change, not of the set (the Kubernetes
   * watcher hands over a few changed /32s out of ten thousand).
   */
  changeOriginated(name: string, announce: readonly LocalRoute[], withdraw: readonly Prefix[]): void {
    const src = this.origination(name);
    const held = (src.originated ??= { [Afi.Ipv4]: new PrefixTrie<RibRoute>(Afi.Ipv4), [Afi.Ipv6]: new PrefixTrie<RibRoute>(Afi.Ipv6) });
    // Withdrawn first: what is no longer wanted.
    for (const p of withdraw) {
      if (held[p.afi].delete(p)) this.withdraw(src, p);
    }
    const made: RibRoute[] = [];
    for (const r of announce) {
      const attributes = this.store.intern(r.attributes);
      const route = this.routeFor(src, attributes, '', undefined, 0);
      this.store.release(attributes);
      held[r.prefix.afi].set(r.prefix, route);
      this.announce(src, r.prefix, route);
      made.push(route);
    }
    // A route made for a prefix that already held it is not referenced: let it go.
    for (const r of made) if (r.refs === 0) this.forget(src, r);
  }

  private origination(name: string): Source {
    let src = this.originations.get(name);
    if (src === undefined) {
      src = new Source({ kind: 'local', name });
      this.originations.set(name, src);
    }
    return src;
  }

  /** The route the import policy makes of a received one: refused (kept, ineligible) or with its attributes. */
  private imported(src: Source, policy: ImportPolicy, prefix: Prefix, received: PathAttributes, nextHop: string, linkLocalNextHop: string | undefined, pathId: number): RibRoute {
    const result = policy(prefix.pathId === undefined ? prefix : withPathId(prefix, undefined), received);
    if (typeof result === 'string') return this.routeFor(src, received, nextHop, linkLocalNextHop, pathId, received, result);
    if (result === received) return this.routeFor(src, received, nextHop, linkLocalNextHop, pathId);
    const attributes = this.store.intern(result);
    const r = this.routeFor(src, attributes, nextHop, linkLocalNextHop, pathId, received);
    this.store.release(attributes);
    return r;
  }

  /**
   * A peer's import policy changed (its BGPFilters): every route it sent is run through the new
   * one from the attributes as received, and only what changes reaches Loc-RIB and the peers.
   */
  setImportPolicy(peerAddress: string, policy: ImportPolicy | undefined): void {
    const src = this.peers.get(peerAddress);
    if (src === undefined || src.importPolicy === policy) return;
    src.importPolicy = policy;
    if (src.routes.size === 0) return;
    for (const trie of Object.values(this.tries)) {
      const changes: [Prefix, RibRoute][] = [];
      for (const [, dest] of trie.entries()) {
        for (const r of dest.routes) {
          if (r.source !== src.route) continue;
          const id = r.pathId === 0 ? undefined : r.pathId;
          const next =
            policy === undefined
              ? this.routeFor(src, r.received, r.nextHop, r.linkLocalNextHop, r.pathId)
              : this.imported(src, policy, dest, r.received, r.nextHop, r.linkLocalNextHop, r.pathId);
          if (next !== r) changes.push([withPathId(dest, id), next]);
        }
      }
      // A stale route (graceful restart, BoRR) stays stale: it was not sent again.
      for (const [prefix, route] of changes) this.announce(src, prefix, route, false);
    }
  }

  private routeFor(
    src: Source,
    attributes: PathAttributes,
    nextHop: string,
    linkLocalNextHop: string | undefined,
    pathId: number,
    received: PathAttributes = attributes,
    refused?: ImportRefusal,
  ): RibRoute {
    let list = src.routes.get(attributes);
    if (list === undefined) {
      list = [];
      src.routes.set(attributes, list);
    }
    for (const r of list) {
      if (r.nextHop === nextHop && r.pathId === pathId && r.linkLocalNextHop === linkLocalNextHop && r.received === received && refusedFor(r) === refused) return r;
    }
    const sourceKey = src.route.kind === 'peer' ? src.route.address : `local:${src.route.name}`;
    let ids = this.localIds.get(sourceKey);
    if (ids === undefined) {
      ids = new Map();
      this.localIds.set(sourceKey, ids);
    }
    let localId = ids.get(pathId);
    if (localId === undefined) {
      localId = this.nextLocalId++;
      ids.set(pathId, localId);
    }
    this.store.intern(attributes);
    if (received !== attributes) this.store.intern(received);
    const ineligible = refused ?? this.eligibility(src, attributes, nextHop);
    // Every field present, in one order: one shape for every route, so the loops over candidates
    // stay monomorphic.
    const route: RibRoute = { attributes, nextHop, linkLocalNextHop, source: src.route, pathId, localId, ineligible, received, refs: 0, alone: undefined };
    list.push(route);
    return route;
  }

  private unref(src: Source, r: RibRoute): void {
    if (--r.refs === 0) this.forget(src, r);
  }

  private forget(src: Source, r: RibRoute): void {
    const list = src.routes.get(r.attributes);
    if (list === undefined) return;
    const i = list.indexOf(r);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) src.routes.delete(r.attributes);
    this.store.release(r.attributes);
    if (r.received !== r.attributes) this.store.release(r.received);
  }

  /** Why a route may not be used, checked once per route (not per prefix). */
  private eligibility(src: Source, a: PathAttributes, nextHop: string): IneligibleReason | undefined {
    if (src.route.kind === 'local') return undefined;
    if (!usableNextHop(nextHop) || this.own.has(nextHop)) return 'next-hop-unusable';
    const ownAs = new Set([this.options.localAs, src.info?.localAs ?? this.options.localAs]);
    let seen = 0;
    for (const seg of a.asPath ?? []) for (const asn of seg.asns) if (ownAs.has(asn)) seen++;
    if (seen > (src.info?.allowedLocalAs ?? 0)) return 'as-path-loop';
    if (a.originatorId === this.options.routerId) return 'originator-id-loop';
    if (this.options.clusterId !== undefined && a.clusterList?.includes(this.options.clusterId) === true) return 'cluster-list-loop';
    return undefined;
  }

  /** `received`: the peer sent it (again), so it is no longer stale; false for a re-evaluation. */
  private announce(src: Source, prefix: Prefix, route: RibRoute, received = true): void {
    const dest = this.tries[prefix.afi].getOrSet(prefix, newDestination);
    const stale = received ? src.stale[prefix.afi === Afi.Ipv4 ? 0 : 1] : undefined;
    if (stale !== undefined) fresh(stale, dest, route.pathId);
    const routes = dest.routes;
    if (routes.length === 1 && routes[0]?.source === src.route && routes[0].pathId === route.pathId) {
      // The common replace: one path, from this peer.
      const old = routes[0];
      if (old === route) return;
      route.refs++;
      dest.routes = alone(route);
      const multipath = route.ineligible === undefined ? 1 : 0;
      if (multipath > 0 || dest.multipath > 0) this.changed(dest);
      this.setMultipath(dest, multipath);
      this.countAccepted(src, prefix.afi, old, route);
      this.unref(src, old);
      return;
    }
    for (let i = 0; i < routes.length; i++) {
      const old = routes[i] as RibRoute;
      if (old.source !== src.route || old.pathId !== route.pathId) continue;
      // The same route again: nothing changes anywhere.
      if (old === route) return;
      route.refs++;
      const next = routes.slice();
      next[i] = route;
      this.reorder(dest, next);
      this.countAccepted(src, prefix.afi, old, route);
      this.unref(src, old);
      return;
    }
    route.refs++;
    src.count[prefix.afi === Afi.Ipv4 ? 0 : 1]++;
    this.countAccepted(src, prefix.afi, undefined, route);
    if (routes.length === 0) {
      dest.routes = alone(route);
      this.setMultipath(dest, route.ineligible === undefined ? 1 : 0);
      if (dest.multipath > 0) this.changed(dest);
      return;
    }
    this.reorder(dest, routes.concat(route));
  }

  /** Returns whether the prefix held a route from `src` with `prefix`'s path ID. */
  private withdraw(src: Source, prefix: Prefix): boolean {
    const trie = this.tries[prefix.afi];
    const dest = trie.get(prefix);
    if (dest === undefined) return false;
    const pathId = prefix.pathId ?? 0;
    const routes = dest.routes;
    let i = 0;
    while (i < routes.length && ((routes[i] as RibRoute).source !== src.route || (routes[i] as RibRoute).pathId !== pathId)) i++;
    if (i === routes.length) return false;
    const old = routes[i] as RibRoute;
    src.count[prefix.afi === Afi.Ipv4 ? 0 : 1]--;
    this.countAccepted(src, prefix.afi, old, undefined);
    const stale = src.stale[prefix.afi === Afi.Ipv4 ? 0 : 1];
    if (stale !== undefined) fresh(stale, dest, pathId);
    if (routes.length === 1) {
      dest.routes = NO_ROUTES;
      if (dest.multipath > 0) this.changed(dest);
      this.setMultipath(dest, 0);
    } else {
      const next = routes.slice();
      next.splice(i, 1);
      this.reorder(dest, next);
    }
    this.unref(src, old);
    this.release(dest);
    return true;
  }

  /** Sorts `routes` into `dest` and marks it changed when its multipath set is not what it was. */
  private reorder(dest: Destination, routes: RibRoute[]): void {
    const o = this.options;
    let multipath = 0;
    if (routes.length === 1) {
      multipath = (routes[0] as RibRoute).ineligible === undefined ? 1 : 0;
    } else if (routes.length > 1) {
      const eligible = routes.filter((r) => r.ineligible === undefined);
      const ranked = rankRoutes(eligible, o.maxPaths, o);
      multipath = ranked.multipath;
      if (eligible.length < routes.length) {
        const total = { ...o, alwaysCompareMed: true };
        const ineligible = routes.filter((r) => r.ineligible !== undefined).sort((a, b) => compareRoutes(a, b, total).order);
        routes = [...ranked.ordered, ...ineligible];
      } else {
        routes = ranked.ordered as RibRoute[];
      }
    }
    const before = dest.routes;
    let same = multipath === dest.multipath;
    for (let i = 0; same && i < multipath; i++) if (before[i] !== routes[i]) same = false;
    dest.routes = routes.length === 1 ? alone(routes[0] as RibRoute) : routes;
    this.setMultipath(dest, multipath);
    if (!same) this.changed(dest);
  }

  /** Every change of a multipath set goes through here, to keep the Loc-RIB size without a walk. */
  private setMultipath(dest: Destination, multipath: number): void {
    const i = dest.afi === Afi.Ipv4 ? 0 : 1;
    if (dest.multipath === 0 && multipath > 0) this.locRibSize[i]++;
    else if (dest.multipath > 0 && multipath === 0) this.locRibSize[i]--;
    dest.multipath = multipath;
  }

  private countAccepted(src: Source, afi: Afi, old: RibRoute | undefined, now: RibRoute | undefined): void {
    const i = afi === Afi.Ipv4 ? 0 : 1;
    src.accepted[i] += (now !== undefined && now.ineligible === undefined ? 1 : 0) - (old !== undefined && old.ineligible === undefined ? 1 : 0);
  }

  /** Prefixes with a usable route (Loc-RIB), IPv4 and IPv6. */
  get locRib(): { readonly ipv4: number; readonly ipv6: number } {
    return { ipv4: this.locRibSize[0], ipv6: this.locRibSize[1] };
  }

  /** Paths from a peer that are eligible (not refused by policy, no loop, usable next hop), per family. */
  acceptedCount(peerAddress: string, afi: Afi): number {
    return this.peers.get(peerAddress)?.accepted[afi === Afi.Ipv4 ? 0 : 1] ?? 0;
  }

  private changed(dest: Destination): void {
    // A plain array: an iterator per changed prefix is a million short-lived objects at 1M.
    const groups = this.groupList;
    for (let i = 0; i < groups.length; i++) (groups[i] as UpdateGroup).markPending(dest);
  }

  // -----------------------------------------------------------------------------------------------
  // Output

  /**
   * A session became Established: it joins the update group of its export policy and format
   * (creating it if none), and gets the whole table followed by End-of-RIB.
   */
  join(member: GroupMember, peerAddress: string, policy: ExportPolicy, format: SessionFormat, filter?: ExportFilter): void {
    const key = JSON.stringify([policy, format.ctx, [...format.families], [...format.addPathSend], filter?.key ?? null]);
    const old = this.groupOf(member);
    if (old !== undefined && this.groups.get(key) === old) return;
    let g = this.groups.get(key);
    if (g === undefined) {
      const slot = this.freeSlots.pop() ?? this.nextSlot++;
      g = new UpdateGroup(
        slot,
        policy,
        format,
        {
          wake: this.wake,
          destinations: () => this.destinations(),
          released: (d) => this.release(d),
          endOfRibHeld: () => this.endOfRibHeld,
        },
        filter,
      );
      this.groups.set(key, g);
      this.groupList = [...this.groups.values()];
      g.start();
      if (old !== undefined) g.settle(old);
    }
    // A member changing policy or filters is sent only what differs from what it holds (no
    // session reset, no table sent again); its old group is left once that is worked out.
    g.join(member, peerAddress, old);
    if (old !== undefined) this.leaveGroup(old, member);
  }

  /**
   * A restarting speaker sends End-of-RIB only once its table is complete (RFC 4724 §4.1): held,
   * the update groups send everything but End-of-RIB; released, each sends it after its first table.
   */
  holdEndOfRib(held: boolean): void {
    this.endOfRibHeld = held;
    if (!held) for (const g of this.groupList) g.releaseEndOfRib();
  }

  /** A session left Established: it leaves its group, and an empty group goes. */
  leave(member: GroupMember): void {
    const g = this.groupOf(member);
    if (g !== undefined) this.leaveGroup(g, member);
  }

  private leaveGroup(g: UpdateGroup, member: GroupMember): void {
    g.leave(member);
    if (g.size > 0) return;
    for (const [key, x] of this.groups) if (x === g) this.groups.delete(key);
    this.groupList = [...this.groups.values()];
    this.freeSlots.push(g.slot);
  }

  private groupOf(member: GroupMember): UpdateGroup | undefined {
    for (const g of this.groups.values()) if (g.has(member)) return g;
    return undefined;
  }

  /** The next UPDATE for `member`, or undefined when it holds everything. */
  next(member: GroupMember): Buffer | undefined {
    return this.groupOf(member)?.next(member);
  }

  /**
   * A ROUTE-REFRESH request from the member's peer for one family (familyKey): its Adj-RIB-Out
   * again (RFC 2918), between BoRR and EoRR where enhanced route refresh was negotiated (RFC 7313).
   */
  refresh(member: GroupMember, family: number, enhanced: boolean): void {
    this.groupOf(member)?.resend(member, family, enhanced);
  }

  get updateGroups(): number {
    return this.groups.size;
  }

  /** What `member` holds from us (its group's Adj-RIB-Out). */
  advertised(member: GroupMember): AdvertisedRoute[] {
    return this.groupOf(member)?.advertised(member) ?? [];
  }

  /** What the member holds from us for one prefix (every path, with ADD-PATH). */
  advertisedAt(member: GroupMember, prefix: Prefix): AdvertisedRoute[] {
    const g = this.groupOf(member);
    const d = this.tries[prefix.afi].get(prefix);
    return g === undefined || d === undefined ? [] : g.advertisedAt(d, member);
  }

  /** Paths the member holds from us (its Adj-RIB-Out), per family, without a walk. */
  advertisedCount(member: GroupMember): { readonly ipv4: number; readonly ipv6: number } {
    const g = this.groupOf(member);
    const address = g?.addressOf(member);
    return g === undefined || address === undefined ? { ipv4: 0, ipv6: 0 } : g.heldCount(address);
  }

  // -----------------------------------------------------------------------------------------------
  // Views (CLI, tests): walks, never on the hot path

  /** The peer's Adj-RIB-In, or only its paths for `prefix` (one lookup, not a walk). */
  received(peerAddress: string, prefix?: Prefix): ReceivedRoute[] {
    const src = this.peers.get(peerAddress);
    if (src === undefined) return [];
    const out: ReceivedRoute[] = [];
    if (prefix !== undefined) {
      const dest = this.tries[prefix.afi].get(prefix);
      if (dest !== undefined) receivedAt(src, dest, out);
      return out;
    }
    for (const trie of Object.values(this.tries)) for (const [, dest] of trie.entries()) receivedAt(src, dest, out);
    return out;
  }

  /** Prefixes (paths, with ADD-PATH) in a peer's Adj-RIB-In, of one family or all. */
  receivedCount(peerAddress: string, afi?: Afi): number {
    const src = this.peers.get(peerAddress);
    if (src === undefined) return 0;
    if (afi === undefined) return src.count[0] + src.count[1];
    return src.count[afi === Afi.Ipv4 ? 0 : 1];
  }

  routes(filter?: Prefix): LocRibEntry[] {
    const out: LocRibEntry[] = [];
    const tries = filter === undefined ? Object.values(this.tries) : [this.tries[filter.afi]];
    for (const trie of tries) {
      const it = filter === undefined ? trie.entries() : trie.covered(filter);
      for (const [, dest] of it) if (dest.routes.length > 0) out.push(this.view(dest));
    }
    return out;
  }

  private view(dest: Destination): LocRibEntry {
    const o = this.options;
    const decidedBy = dest.multipath > 0 && dest.routes.length > 1 && (dest.routes[1] as RibRoute).ineligible === undefined ? compareRoutes(dest.routes[0] as RibRoute, dest.routes[1] as RibRoute, o).decidedBy : undefined;
    return {
      prefix: withPathId(dest, undefined),
      paths: dest.routes.map((r, i) => ({
        from: r.source.kind === 'local' ? 'local' : r.source.address,
        nextHop: r.nextHop,
        attributes: r.attributes,
        pathId: r.pathId,
        best: i === 0 && dest.multipath > 0,
        multipath: i < dest.multipath,
        ...(r.ineligible === undefined ? {} : { ineligible: r.ineligible }),
        ...(i === 0 && decidedBy !== undefined ? { decidedBy } : {}),
      })),
    };
  }
}

/** Not a host address anything could forward to. */
function usableNextHop(nh: string): boolean {
  if (nh === '') return false;
  if (nh.includes(':')) {
    const a = parseIpv6(nh);
    if (a.every((x) => x === 0)) return false;
    return a[0] !== 0xff;
  }
  const a = parseIpv4(nh);
  return a !== 0 && a !== 0xffffffff && (a >>> 28) !== MULTICAST_V4 >>> 28;
}

/** The source's paths at one destination, as its Adj-RIB-In shows them. */
function receivedAt(src: Source, dest: Destination, out: ReceivedRoute[]): void {
  const stale = src.stale[dest.afi === Afi.Ipv4 ? 0 : 1]?.get(dest);
  for (const r of dest.routes) {
    if (r.source !== src.route) continue;
    out.push({
      prefix: withPathId(dest, r.pathId === 0 ? undefined : r.pathId),
      attributes: r.received,
      ...(r.received === r.attributes ? {} : { imported: r.attributes }),
      nextHop: r.nextHop,
      ...(r.linkLocalNextHop === undefined ? {} : { linkLocalNextHop: r.linkLocalNextHop }),
      ...(r.pathId === 0 ? {} : { pathId: r.pathId }),
      ...(r.ineligible === undefined ? {} : { ineligible: r.ineligible }),
      ...(stale?.includes(r.pathId) === true ? { stale: true as const } : {}),
    });
  }
}
