/**
 * Community values and their text forms: RFC 1997 communities (with the IANA well-known names),
 * RFC 4360 extended communities (route target, route origin, link bandwidth) and RFC 8092 large
 * communities. Text forms follow what operators type into BIRD and FRR.
 */

/** IANA "BGP Well-known Communities". */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000, // RFC 8326
  ACCEPT_OWN: 0xffff0001, // RFC 7611
  LLGR_STALE: 0xffff0006, // RFC 9494
  NO_LLGR: 0xffff0007, // RFC 9494
  BLACKHOLE: 0xffff029a, // RFC 7999
  NO_EXPORT: 0xffffff01, // RFC 1997
  NO_ADVERTISE: 0xffffff02, // RFC 1997
  NO_EXPORT_SUBCONFED: 0xffffff03, // RFC 1997
  NOPEER: 0xffffff04, // RFC 3765
} as const;

const wellKnownNames = new Map<number, string>(Object.entries(WellKnownCommunity).map(([k, v]) => [v, k]));

export class CommunitySyntaxError extends Error {}

/** `65535:0` is shown as `GRACEFUL_SHUTDOWN`; others as `asn:value`. */
export function formatCommunity(c: number): string {
  return wellKnownNames.get(c) ?? `${c >>> 16}:${c & 0xffff}`;
}

/** Accepts `asn:value` with 16-bit halves, or a well-known name in any case (`graceful_shutdown`). */
export function parseCommunity(s: string): number {
  const named = (WellKnownCommunity as Record<string, number>)[s.toUpperCase().replace(/-/g, '_')];
  if (named !== undefined) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  const hi = m ? Number(m[1]) : NaN;
  const lo = m ? Number(m[2]) : NaN;
  if (!(hi <= 0xffff && lo <= 0xffff)) {
    throw new CommunitySyntaxError(`${JSON.stringify(s)} is not a community (expected aa:nn with both parts 0..65535, or a well-known name)`);
  }
  return ((hi << 16) | lo) >>> 0;
}

export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
}

export function parseLargeCommunity(s: string): LargeCommunity {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(s);
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (parts.length !== 3 || parts.some((x) => x > 0xffffffff)) {
    throw new CommunitySyntaxError(`${JSON.stringify(s)} is not a large community (expected a:b:c, each 0..4294967295)`);
  }
  const [globalAdmin, localData1, localData2] = parts as [number, number, number];
  return { globalAdmin, localData1, localData2 };
}

/**
 * An RFC 4360 extended community as two 32-bit halves: `high` holds Type, Sub-Type and the first two
 * value octets, `low` the last four. Plain numbers keep them cheap to compare and intern.
 */
export interface ExtendedCommunity {
  readonly high: number;
  readonly low: number;
}

export const ExtendedCommunityType = {
  TwoOctetAs: 0x00,
  Ipv4Address: 0x01,
  FourOctetAs: 0x02,
  /** Non-transitive two-octet AS specific (RFC 4360 §3.1 with the T bit set). */
  TwoOctetAsNonTransitive: 0x40,
} as const;

export const ExtendedCommunitySubtype = {
  RouteTarget: 0x02,
  RouteOrigin: 0x03,
  /** draft-ietf-idr-link-bandwidth: the AS and the bandwidth in bytes per second as an IEEE float. */
  LinkBandwidth: 0x04,
} as const;

export function extendedCommunityType(c: ExtendedCommunity): number {
  return c.high >>> 24;
}

export function extendedCommunitySubtype(c: ExtendedCommunity): number {
  return (c.high >>> 16) & 0xff;
}

const floatView = new DataView(new ArrayBuffer(4));

/** The link bandwidth community, non-transitive as the draft specifies. */
export function linkBandwidth(asn: number, bytesPerSecond: number): ExtendedCommunity {
  floatView.setFloat32(0, bytesPerSecond);
  const high = ((ExtendedCommunityType.TwoOctetAsNonTransitive << 24) | (ExtendedCommunitySubtype.LinkBandwidth << 16) | (asn & 0xffff)) >>> 0;
  return { high, low: floatView.getUint32(0) };
}

/** Bytes per second, if `c` is a link bandwidth community (transitive or not, as both are seen). */
export function linkBandwidthOf(c: ExtendedCommunity): number | undefined {
  if ((extendedCommunityType(c) & 0xbf) !== ExtendedCommunityType.TwoOctetAs) return undefined;
  if (extendedCommunitySubtype(c) !== ExtendedCommunitySubtype.LinkBandwidth) return undefined;
  floatView.setUint32(0, c.low);
  return floatView.getFloat32(0);
}

export function routeTarget(asn: number, value: number): ExtendedCommunity {
  if (asn <= 0xffff) {
    return { high: ((ExtendedCommunityType.TwoOctetAs << 24) | (ExtendedCommunitySubtype.RouteTarget << 16) | asn) >>> 0, low: value >>> 0 };
  }
  // 4-octet AS specific (RFC 5668): the AS takes four octets, the local value two.
  return {
    high: ((ExtendedCommunityType.FourOctetAs << 24) | (ExtendedCommunitySubtype.RouteTarget << 16) | (asn >>> 16)) >>> 0,
    low: (((asn & 0xffff) << 16) | (value & 0xffff)) >>> 0,
  };
}

/** `rt:65000:100`, `ro:192.0.2.1:7`, `link-bandwidth:65000:1250000000` (bytes/s), or the raw octets. */
export function formatExtendedCommunity(c: ExtendedCommunity): string {
  const type = extendedCommunityType(c);
  const subtype = extendedCommunitySubtype(c);
  const bw = linkBandwidthOf(c);
  if (bw !== undefined) return `link-bandwidth:${c.high & 0xffff}:${bw}`;
  const name = subtype === ExtendedCommunitySubtype.RouteTarget ? 'rt' : subtype === ExtendedCommunitySubtype.RouteOrigin ? 'ro' : undefined;
  if (name !== undefined) {
    if (type === ExtendedCommunityType.TwoOctetAs) return `${name}:${c.high & 0xffff}:${c.low}`;
    if (type === ExtendedCommunityType.FourOctetAs) return `${name}:${(((c.high & 0xffff) << 16) | (c.low >>> 16)) >>> 0}:${c.low & 0xffff}`;
    if (type === ExtendedCommunityType.Ipv4Address) {
      const a = ((c.high & 0xffff) << 16) | (c.low >>> 16);
      return `${name}:${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}:${c.low & 0xffff}`;
    }
  }
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  return `0x${hex(c.high)}${hex(c.low)}`;
}
