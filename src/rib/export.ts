/**
 * What one route becomes on its way to one peer, or why it is not sent: the export rules of
 * RFC 4271 §9.2 and §5.1, route reflection (RFC 4456) and RFC 1997's well-known communities, as a
 * pure function of the route and the peer's export policy. Peers with equal policies share an
 * update group, so nothing here may depend on which member of the group a route goes to.
 *
 * RFC says / kbgp does:
 * - iBGP split horizon (§9.2): a route learned over iBGP is not sent to iBGP peers, unless this node
 *   reflects it (RFC 4456 §6): from a client to clients and non-clients, from a non-client to
 *   clients only. The reflected route gets ORIGINATOR_ID (if absent: the sender's BGP Identifier)
 *   and this node's cluster ID in front of CLUSTER_LIST.
 * - eBGP: own AS prepended (the per-peer local AS where configured), LOCAL_PREF, ORIGINATOR_ID and
 *   CLUSTER_LIST not sent; MED not passed on from one neighbouring AS to another (§5.1.4), but a
 *   MED set inside this AS (iBGP-learned or originated) is kept.
 * - Never back to the session it came from: that is per member of an update group, so it is the
 *   group's rule (update-group.ts), not this function's. Other peers in the sender's AS do get the
 *   route, as from BIRD and FRR; they drop it as an AS_PATH loop (§9.1.2).
 * - NO_ADVERTISE goes to no one; NO_EXPORT and NO_EXPORT_SUBCONFED stay inside the AS.
 * - Graceful shutdown (RFC 8326 §4): towards a session being drained, GRACEFUL_SHUTDOWN on every
 *   route and, towards iBGP, LOCAL_PREF 0; towards eBGP LOCAL_PREF is not sent at all (§5.1.5).
 * - Next hop: `Self` always this node's address on the session; `Keep` always the route's own;
 *   `Auto` (BGP's default): self towards eBGP peers unless the route's next hop is on the subnet
 *   shared with the peer (third-party next hop, §5.1.3), kept towards iBGP peers. Originated routes
 *   always carry this node's address.
 */
import { type MpNextHop, type PathAttributes, type Prefix, WellKnownCommunity, prefixContains, prependAsPath } from '../bgp/index.js';
import type { Route } from './route.js';

/** Calico's BGPPeer nextHopMode values; the configuration schema accepts exactly this list. */
export const NEXT_HOP_MODES = ['Auto', 'Self', 'Keep'] as const;
export type NextHopMode = (typeof NEXT_HOP_MODES)[number];

export interface ExportPolicy {
  /** The AS this node speaks as towards the peer (its own, or the peer's localASNumber). */
  readonly localAs: number;
  readonly ebgp: boolean;
  /** The peer is a route reflector client of this node. */
  readonly routeReflectorClient: boolean;
  /** This node's cluster ID: set when it is a route reflector. */
  readonly clusterId?: string;
  readonly nextHopMode: NextHopMode;
  /** This node's next hops towards the peer, per family. */
  readonly selfV4?: string;
  readonly selfV6?: string;
  /** Subnets this node shares with the peer (the session's interface), for third-party next hops. */
  readonly sharedSubnets?: readonly Prefix[];
  /** The peer takes IPv6 next hops on IPv4 routes (RFC 8950). */
  readonly extendedNextHopV4?: boolean;
  /**
   * The session is being drained (RFC 8326): every route goes with GRACEFUL_SHUTDOWN, and with
   * LOCAL_PREF 0 where LOCAL_PREF is sent (iBGP), so the peer moves to other paths first.
   */
  readonly gracefulShutdown?: boolean;
}

export type NotExported =
  | 'ibgp-split-horizon'
  | 'not-reflected'
  | 'no-advertise'
  | 'no-export'
  | 'no-next-hop';

export interface Exported {
  /** The attributes sent; for IPv4 NLRI in the NLRI field they include NEXT_HOP. */
  readonly attributes: PathAttributes;
  /** MP_REACH_NLRI next hop: set for IPv6 routes, and IPv4 routes with an IPv6 next hop. */
  readonly mp?: MpNextHop;
}

export type ExportResult = { readonly ok: true; readonly value: Exported } | { readonly ok: false; readonly reason: NotExported };

const refuse = (reason: NotExported): ExportResult => ({ ok: false, reason });

function withoutKeys<T extends object>(o: T, keys: readonly (keyof T)[]): T {
  const copy = { ...o };
  for (const k of keys) delete copy[k];
  return copy;
}

function onSharedSubnet(nextHop: string, p: ExportPolicy): boolean {
  if (p.sharedSubnets === undefined || nextHop === '') return false;
  return p.sharedSubnets.some((s) => prefixContains(s, nextHop));
}

/** The next hop to send for a route of family `v6 ? IPv6 : IPv4`; undefined when there is none. */
function nextHopFor(route: Route, v6: boolean, p: ExportPolicy): MpNextHop | undefined {
  // An IPv6-only node reaches an IPv4 route's peer through its IPv6 address where RFC 8950 allows.
  const self = v6 ? (p.selfV6 ?? (p.selfV4 === undefined ? undefined : `::ffff:${p.selfV4}`)) : (p.selfV4 ?? (p.extendedNextHopV4 === true ? p.selfV6 : undefined));
  const selfHop = self === undefined ? undefined : { nextHop: self };
  if (route.source.kind === 'local' || route.nextHop === '') return selfHop;
  const keep =
    p.nextHopMode === 'Keep' || (p.nextHopMode === 'Auto' && (!p.ebgp || onSharedSubnet(route.nextHop, p)));
  if (!keep) return selfHop;
  // An IPv4 route with an IPv6 next hop goes only to a peer that takes them (RFC 8950).
  if (!v6 && route.nextHop.includes(':') && p.extendedNextHopV4 !== true) return selfHop;
  // A link-local next hop means something only on the link it came from: kept for iBGP reflection
  // on that link would be wrong as often as right, so only the global address travels.
  return { nextHop: route.nextHop };
}

/** The route as sent to a peer with policy `p`, or the rule that keeps it back. */
export function exportRoute(route: Route, v6: boolean, p: ExportPolicy): ExportResult {
  const a = route.attributes;
  const communities = a.communities ?? [];
  if (communities.includes(WellKnownCommunity.NO_ADVERTISE)) return refuse('no-advertise');
  const src = route.source;
  if (p.ebgp) {
    if (communities.includes(WellKnownCommunity.NO_EXPORT) || communities.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED)) return refuse('no-export');
  } else if (src.kind === 'peer' && !src.ebgp) {
    if (p.clusterId === undefined) return refuse('ibgp-split-horizon');
    if (!src.routeReflectorClient && !p.routeReflectorClient) return refuse('not-reflected');
  }
  const hop = nextHopFor(route, v6, p);
  if (hop === undefined) return refuse('no-next-hop');

  let out: PathAttributes;
  if (p.ebgp) {
    out = withoutKeys(a, ['localPref', 'originatorId', 'clusterList', 'nextHop']);
    if (src.kind === 'peer' && src.ebgp) out = withoutKeys(out, ['med']);
    out = { ...out, asPath: prependAsPath(a.asPath ?? [], p.localAs) };
  } else {
    out = withoutKeys(a, ['nextHop']);
    out = { ...out, localPref: a.localPref ?? 100, asPath: a.asPath ?? [] };
    if (src.kind === 'peer' && !src.ebgp) {
      // Reflected (the split-horizon check above let only reflection through).
      out = { ...out, originatorId: a.originatorId ?? src.bgpIdentifier, clusterList: [p.clusterId as string, ...(a.clusterList ?? [])] };
    }
  }
  if (p.gracefulShutdown === true) {
    const gs = WellKnownCommunity.GRACEFUL_SHUTDOWN;
    out = { ...out, communities: communities.includes(gs) ? communities : [...communities, gs], ...(p.ebgp ? {} : { localPref: 0 }) };
  }
  if (!v6 && !hop.nextHop.includes(':')) return { ok: true, value: { attributes: { ...out, nextHop: hop.nextHop } } };
  return { ok: true, value: { attributes: out, mp: hop } };
}
