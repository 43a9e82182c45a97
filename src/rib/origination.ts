/**
 * UPDATEs that announce what this node originates to one peer, followed by End-of-RIB for each
 * family (RFC 4724 §2). Until the RIB issue brings Loc-RIB and Adj-RIB-Out, origination is the
 * only thing kbgp exports.
 *
 * RFC says / kbgp does:
 * - eBGP: our AS is prepended to the (empty) AS_PATH and no LOCAL_PREF is sent (RFC 4271 §5.1.2,
 *   §5.1.5); iBGP: empty AS_PATH and LOCAL_PREF 100.
 * - IPv6 routes need an IPv6 next hop: the node's IPv6 address, else the session's own IPv6
 *   address, else the IPv4-mapped form of the IPv4 next hop (as FRR and GoBGP send over IPv4
 *   sessions).
 */
import {
  Afi,
  AsPathSegmentType,
  type LargeCommunity,
  type MessageContext,
  Origin,
  type PathAttributes,
  type Prefix,
  Safi,
  encodeEndOfRib,
  familyKey,
  packAnnouncements,
  packWithdrawals,
} from '../bgp/index.js';

export interface OriginatedRoute {
  readonly prefix: Prefix;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface ExportTarget {
  readonly localAs: number;
  readonly ebgp: boolean;
  /** Families negotiated on the session, by familyKey. */
  readonly families: ReadonlySet<number>;
  readonly ctx: MessageContext;
  readonly nextHopV4?: string;
  readonly nextHopV6?: string;
}

/** Routes with the same communities share one attribute set, and so their UPDATEs. */
function groupByCommunities(routes: readonly OriginatedRoute[]): Map<string, OriginatedRoute[]> {
  const groups = new Map<string, OriginatedRoute[]>();
  for (const r of routes) {
    const k = `${r.communities.join(',')}|${r.largeCommunities.map((c) => `${c.globalAdmin}:${c.localData1}:${c.localData2}`).join(',')}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  return groups;
}

function attributesFor(t: ExportTarget, sample: OriginatedRoute): PathAttributes {
  return {
    origin: Origin.Igp,
    asPath: t.ebgp ? [{ type: AsPathSegmentType.AsSequence, asns: [t.localAs] }] : [],
    ...(t.ebgp ? {} : { localPref: 100 }),
    ...(sample.communities.length > 0 ? { communities: sample.communities } : {}),
    ...(sample.largeCommunities.length > 0 ? { largeCommunities: sample.largeCommunities } : {}),
  };
}

/** Announcements of `routes`; with `endOfRib`, followed by End-of-RIB for every negotiated family. */
export function originationUpdates(routes: readonly OriginatedRoute[], t: ExportTarget, endOfRib = true): Buffer[] {
  const out: Buffer[] = [];
  const v4 = familyKey(Afi.Ipv4, Safi.Unicast);
  const v6 = familyKey(Afi.Ipv6, Safi.Unicast);
  const v6NextHop = t.nextHopV6 ?? (t.nextHopV4 === undefined ? undefined : `::ffff:${t.nextHopV4}`);
  for (const group of groupByCommunities(routes).values()) {
    const sample = group[0] as OriginatedRoute;
    const attrs = attributesFor(t, sample);
    const ipv4 = group.filter((r) => r.prefix.afi === Afi.Ipv4).map((r) => r.prefix);
    const ipv6 = group.filter((r) => r.prefix.afi === Afi.Ipv6).map((r) => r.prefix);
    if (t.families.has(v4) && ipv4.length > 0 && t.nextHopV4 !== undefined) {
      out.push(...packAnnouncements(Afi.Ipv4, Safi.Unicast, { ...attrs, nextHop: t.nextHopV4 }, ipv4, t.ctx));
    }
    if (t.families.has(v6) && ipv6.length > 0 && v6NextHop !== undefined) {
      out.push(...packAnnouncements(Afi.Ipv6, Safi.Unicast, attrs, ipv6, t.ctx, { nextHop: v6NextHop }));
    }
  }
  if (endOfRib && t.families.has(v4)) out.push(encodeEndOfRib(Afi.Ipv4, Safi.Unicast));
  if (endOfRib && t.families.has(v6)) out.push(encodeEndOfRib(Afi.Ipv6, Safi.Unicast));
  return out;
}

/** Withdrawals of `prefixes`, for the families negotiated with the peer. */
export function withdrawalUpdates(prefixes: readonly Prefix[], t: ExportTarget): Buffer[] {
  const out: Buffer[] = [];
  for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) {
    const ps = prefixes.filter((p) => p.afi === afi);
    if (ps.length > 0 && t.families.has(familyKey(afi, Safi.Unicast))) out.push(...packWithdrawals(afi, Safi.Unicast, ps, t.ctx));
  }
  return out;
}

/** Same prefix, same communities: re-announcing it would change nothing at the peer. */
export function sameRoute(a: OriginatedRoute, b: OriginatedRoute): boolean {
  const eq = <T>(x: readonly T[], y: readonly T[], e: (p: T, q: T) => boolean): boolean => x.length === y.length && x.every((v, i) => e(v, y[i] as T));
  return (
    eq(a.communities, b.communities, (p, q) => p === q) &&
    eq(a.largeCommunities, b.largeCommunities, (p, q) => p.globalAdmin === q.globalAdmin && p.localData1 === q.localData1 && p.localData2 === q.localData2)
  );
}
