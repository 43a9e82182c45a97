/**
 * Path attributes (RFC 4271 §4.3, §5) as a descriptor table, the way BIRD keeps them: each known
 * attribute has its expected flags, its decoder, and its RFC 7606 policy for when it is malformed.
 * The policy is data here, in one place, instead of being spread through the UPDATE decoder.
 *
 * RFC says / kbgp does:
 * - A malformed attribute gets the handling its own RFC 7606 §7 (or RFC 6793 §6, RFC 8092 §6) entry
 *   prescribes. A conflict in the Optional/Transitive flags counts as malformed (RFC 7606 §3(c)),
 *   handled by the same entry.
 * - Unknown optional transitive attributes are passed on with the Partial bit set (RFC 4271 §5);
 *   unknown optional non-transitive ones are dropped; an unknown well-known one resets the session.
 * - Like BIRD, only the Optional and Transitive bits are compared with the expected flags; a Partial
 *   bit where none should be is tolerated.
 */
import {
  AS_TRANS,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  Origin,
} from './constants.js';
import type { ExtendedCommunity, LargeCommunity } from './communities.js';
import { formatIpv4, parseIpv4 } from './prefix.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly asn: number;
  /** Dotted quad. */
  readonly address: string;
}

/** An attribute kbgp does not know, kept as it came (value copied out of the receive buffer). */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Buffer;
}

/**
 * The attributes of a route, other than MP_REACH_NLRI/MP_UNREACH_NLRI (which carry NLRI and live
 * on the UPDATE). AS numbers are always 4-octet here: on a 2-octet session the decoder has already
 * merged AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.3), and the encoder splits them again.
 */
export interface PathAttributes {
  readonly origin?: Origin;
  readonly asPath?: readonly AsPathSegment[];
  /** IPv4 next hop of the NEXT_HOP attribute, dotted quad. MP next hops are on MP_REACH_NLRI. */
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly extendedCommunities?: readonly ExtendedCommunity[];
  readonly largeCommunities?: readonly LargeCommunity[];
  /** Unknown optional transitive attributes, passed on with the Partial bit set. */
  readonly unknown?: readonly RawAttribute[];
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** How a malformed attribute is handled (RFC 7606 §2). */
export type ErrorAction = 'treat-as-withdraw' | 'attribute-discard' | 'session-reset';

/** What the codec needs to know of the session to read or write attributes. */
export interface AttributeContext {
  /** RFC 6793: both sides sent the 4-octet AS capability, so AS numbers are 4 octets on the wire. */
  readonly fourOctetAs: boolean;
  /** The peer is external: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from it are discarded (RFC 7606 §7.5, §7.9, §7.10). */
  readonly ebgp?: boolean;
}

/** Thrown inside an attribute decoder; the UPDATE decoder applies the attribute's ErrorAction. */
export class MalformedAttribute extends Error {}

export interface AttributeCodec {
  readonly name: string;
  /** Expected Optional and Transitive bits. */
  readonly flags: number;
  readonly onError: ErrorAction;
  /** Decodes the value (fenced in `r`) into `into`; throws MalformedAttribute. */
  readonly decode?: (r: Reader, ctx: AttributeContext, into: DecodedAttributes) => void;
}

/** The decoder's working set: PathAttributes plus the RFC 6793 attributes awaiting reconciliation. */
export interface DecodedAttributes extends Mutable<PathAttributes> {
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;

function lengthIs(r: Reader, n: number, attr: string): void {
  if (r.remaining !== n) throw new MalformedAttribute(`${attr} length ${r.remaining}, expected ${n}`);
}

function nonZeroMultipleOf(r: Reader, n: number, attr: string): void {
  if (r.remaining === 0 || r.remaining % n !== 0) {
    throw new MalformedAttribute(`${attr} length ${r.remaining} is not a non-zero multiple of ${n}`);
  }
}

/**
 * RFC 7606 §7.2 (and RFC 6793 §6 for AS4_PATH): a path is malformed on an unknown segment type, a
 * zero-length segment, a segment that overruns the attribute, or a lone trailing octet.
 */
export function decodeAsPath(r: Reader, asSize: 2 | 4, attr: string): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (!r.atEnd()) {
    if (r.remaining < 2) throw new MalformedAttribute(`${attr}: a single octet left where a segment header should be`);
    const type = r.u8();
    const count = r.u8();
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet) {
      throw new MalformedAttribute(`${attr}: unknown segment type ${type}`);
    }
    if (count === 0) throw new MalformedAttribute(`${attr}: segment of length 0`);
    if (r.remaining < count * asSize) throw new MalformedAttribute(`${attr}: segment of ${count} ASes overruns the attribute`);
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) asns[i] = asSize === 4 ? r.u32() : r.u16();
    segments.push({ type: type as AsPathSegmentType, asns });
  }
  return segments;
}

function decodeAggregator(r: Reader, asSize: 2 | 4, attr: string): Aggregator {
  lengthIs(r, asSize + 4, attr);
  const asn = asSize === 4 ? r.u32() : r.u16();
  return { asn, address: formatIpv4(r.u32()) };
}

const isConfed = (s: AsPathSegment): boolean =>
  s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet;

export const ATTRIBUTES: Readonly<Record<number, AttributeCodec>> = {
  // RFC 7606 §7.1
  [AttrType.Origin]: {
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      lengthIs(r, 1, 'ORIGIN');
      const v = r.u8();
      if (v > Origin.Incomplete) throw new MalformedAttribute(`ORIGIN value ${v} is undefined`);
      into.origin = v as Origin;
    },
  },
  // RFC 7606 §7.2
  [AttrType.AsPath]: {
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw',
    decode(r, ctx, into) {
      const path = decodeAsPath(r, ctx.fourOctetAs ? 4 : 2, 'AS_PATH');
      // RFC 7606 §7.2: confederation segments from a peer outside the confederation are malformed.
      if (ctx.ebgp === true && path.some(isConfed)) {
        throw new MalformedAttribute('AS_PATH from an external peer carries confederation segments');
      }
      into.asPath = path;
    },
  },
  // RFC 7606 §7.3
  [AttrType.NextHop]: {
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      lengthIs(r, 4, 'NEXT_HOP');
      into.nextHop = formatIpv4(r.u32());
    },
  },
  // RFC 7606 §7.4
  [AttrType.MultiExitDisc]: {
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      lengthIs(r, 4, 'MULTI_EXIT_DISC');
      into.med = r.u32();
    },
  },
  // RFC 7606 §7.5
  [AttrType.LocalPref]: {
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      lengthIs(r, 4, 'LOCAL_PREF');
      into.localPref = r.u32();
    },
  },
  // RFC 7606 §7.6
  [AttrType.AtomicAggregate]: {
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onError: 'attribute-discard',
    decode(r, _ctx, into) {
      lengthIs(r, 0, 'ATOMIC_AGGREGATE');
      into.atomicAggregate = true;
    },
  },
  // RFC 7606 §7.7: 6 octets on a 2-octet session, 8 on a 4-octet one.
  [AttrType.Aggregator]: {
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard',
    decode(r, ctx, into) {
      into.aggregator = decodeAggregator(r, ctx.fourOctetAs ? 4 : 2, 'AGGREGATOR');
    },
  },
  // RFC 7606 §7.8
  [AttrType.Communities]: {
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      nonZeroMultipleOf(r, 4, 'COMMUNITIES');
      const out = new Array<number>(r.remaining / 4);
      for (let i = 0; i < out.length; i++) out[i] = r.u32();
      into.communities = out;
    },
  },
  // RFC 7606 §7.9
  [AttrType.OriginatorId]: {
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      lengthIs(r, 4, 'ORIGINATOR_ID');
      into.originatorId = formatIpv4(r.u32());
    },
  },
  // RFC 7606 §7.10
  [AttrType.ClusterList]: {
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      nonZeroMultipleOf(r, 4, 'CLUSTER_LIST');
      const out = new Array<string>(r.remaining / 4);
      for (let i = 0; i < out.length; i++) out[i] = formatIpv4(r.u32());
      into.clusterList = out;
    },
  },
  // RFC 7606 §7.11, §7.12: decoded by the UPDATE decoder, which owns NLRI; a malformed one can
  // hide NLRI, so it resets the session (kbgp does not implement "AFI/SAFI disable").
  [AttrType.MpReachNlri]: { name: 'MP_REACH_NLRI', flags: OPTIONAL, onError: 'session-reset' },
  [AttrType.MpUnreachNlri]: { name: 'MP_UNREACH_NLRI', flags: OPTIONAL, onError: 'session-reset' },
  // RFC 7606 §7.14
  [AttrType.ExtendedCommunities]: {
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      nonZeroMultipleOf(r, 8, 'EXTENDED_COMMUNITIES');
      const out = new Array<ExtendedCommunity>(r.remaining / 8);
      for (let i = 0; i < out.length; i++) out[i] = { high: r.u32(), low: r.u32() };
      into.extendedCommunities = out;
    },
  },
  // RFC 6793 §6: a malformed AS4_PATH or AS4_AGGREGATOR is discarded, never a reason to withdraw.
  [AttrType.As4Path]: {
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard',
    decode(r, ctx, into) {
      const path = decodeAsPath(r, 4, 'AS4_PATH');
      // RFC 6793 §4.1: only an OLD speaker's path needs AS4_PATH; from a NEW one it is ignored.
      // §3: confederation segments are invalid in AS4_PATH and are dropped.
      if (!ctx.fourOctetAs) into.as4Path = path.filter((s) => !isConfed(s));
    },
  },
  [AttrType.As4Aggregator]: {
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard',
    decode(r, ctx, into) {
      const aggregator = decodeAggregator(r, 4, 'AS4_AGGREGATOR');
      if (!ctx.fourOctetAs) into.as4Aggregator = aggregator;
    },
  },
  // RFC 8092 §6
  [AttrType.LargeCommunity]: {
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw',
    decode(r, _ctx, into) {
      nonZeroMultipleOf(r, 12, 'LARGE_COMMUNITY');
      const out = new Array<LargeCommunity>(r.remaining / 12);
      for (let i = 0; i < out.length; i++) out[i] = { globalAdmin: r.u32(), localData1: r.u32(), localData2: r.u32() };
      into.largeCommunities = out;
    },
  },
};

/**
 * `asn` in front of an AS_PATH (RFC 4271 §5.1.2; BIRD's as_path_prepend): into a leading
 * AS_SEQUENCE with room, else as a new AS_SEQUENCE before an AS_SET or a full (255) sequence.
 */
export function prependAsPath(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = path[0];
  if (first !== undefined && first.type === AsPathSegmentType.AsSequence && first.asns.length < 255) {
    return [{ type: AsPathSegmentType.AsSequence, asns: [asn, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: AsPathSegmentType.AsSequence, asns: [asn] }, ...path];
}

/** Number of ASes in a path as the decision process counts them (RFC 4271 §9.1.2.2, RFC 5065 §5.3). */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuild the real path from a 2-octet session's AS_PATH and AS4_PATH. The ASes
 * AS_PATH has beyond AS4_PATH's count were added by OLD speakers and lead the merged path.
 */
export function reconcileAs4(attrs: DecodedAttributes): void {
  const { as4Path, as4Aggregator } = attrs;
  delete attrs.as4Path;
  delete attrs.as4Aggregator;
  if (attrs.aggregator !== undefined && attrs.aggregator.asn !== AS_TRANS) return; // AS4_* ignored
  if (attrs.aggregator !== undefined && as4Aggregator !== undefined) attrs.aggregator = as4Aggregator;
  if (as4Path === undefined || attrs.asPath === undefined) return;
  const missing = asPathLength(attrs.asPath) - asPathLength(as4Path);
  if (missing < 0) return; // AS4_PATH is longer: it cannot be right, keep AS_PATH
  const merged: AsPathSegment[] = [];
  let left = missing;
  for (const s of attrs.asPath) {
    // §4.2.3: a confederation segment is prepended too when it leads the path or is adjacent to
    // a prepended segment; it counts no ASes, so it can follow once nothing is missing.
    if (left === 0 && !isConfed(s)) break;
    if (s.type === AsPathSegmentType.AsSequence) {
      const take = Math.min(left, s.asns.length);
      merged.push(take === s.asns.length ? s : { type: s.type, asns: s.asns.slice(0, take) });
      left -= take;
    } else {
      merged.push(s);
      if (s.type === AsPathSegmentType.AsSet) left -= 1;
    }
  }
  for (const s of as4Path) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === AsPathSegmentType.AsSequence && s.type === AsPathSegmentType.AsSequence && last.asns.length + s.asns.length <= 255) {
      merged[merged.length - 1] = { type: last.type, asns: [...last.asns, ...s.asns] };
    } else {
      merged.push(s);
    }
  }
  attrs.asPath = merged;
}

// ---------------------------------------------------------------------------------------------
// Encoding. Attributes go out in ascending type order (RFC 4271 §5), after MP_REACH/MP_UNREACH,
// which RFC 7606 §5.1 wants first; the UPDATE encoder writes those.

function writeAsPath(w: Writer, path: readonly AsPathSegment[], asSize: 2 | 4): void {
  for (const s of path) {
    // A segment holds at most 255 ASes; longer runs become several segments of the same type.
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      w.u8(s.type).u8(chunk.length);
      for (const asn of chunk) {
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

const needsFourOctets = (path: readonly AsPathSegment[]): boolean => path.some((s) => s.asns.some((a) => a > 0xffff));

export function encodePathAttributes(w: Writer, a: PathAttributes, ctx: AttributeContext): void {
  const asSize = ctx.fourOctetAs ? 4 : 2;
  let start: number;
  // Unknown attributes are merged into the ascending type order as their turn comes.
  const unknown = [...(a.unknown ?? [])].sort((x, y) => x.type - y.type);
  let u = 0;
  const unknownBelow = (type: number): void => {
    for (; u < unknown.length && (unknown[u] as RawAttribute).type < type; u++) {
      const raw = unknown[u] as RawAttribute;
      // RFC 4271 §5: an unrecognized optional transitive attribute is passed on with Partial set.
      const s0 = w.beginAttribute((raw.flags & ~AttrFlag.ExtendedLength) | AttrFlag.Partial, raw.type);
      w.bytes(raw.value);
      w.endAttribute(s0);
    }
  };
  unknownBelow(AttrType.Origin);
  if (a.origin !== undefined) {
    start = w.beginAttribute(WELL_KNOWN, AttrType.Origin);
    w.u8(a.origin);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.AsPath);
  if (a.asPath !== undefined) {
    start = w.beginAttribute(WELL_KNOWN, AttrType.AsPath);
    writeAsPath(w, a.asPath, asSize);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.NextHop);
  if (a.nextHop !== undefined) {
    start = w.beginAttribute(WELL_KNOWN, AttrType.NextHop);
    w.u32(parseIpv4(a.nextHop));
    w.endAttribute(start);
  }
  unknownBelow(AttrType.MultiExitDisc);
  if (a.med !== undefined) {
    start = w.beginAttribute(OPTIONAL, AttrType.MultiExitDisc);
    w.u32(a.med);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.LocalPref);
  if (a.localPref !== undefined) {
    start = w.beginAttribute(WELL_KNOWN, AttrType.LocalPref);
    w.u32(a.localPref);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.AtomicAggregate);
  if (a.atomicAggregate === true) {
    start = w.beginAttribute(WELL_KNOWN, AttrType.AtomicAggregate);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.Aggregator);
  if (a.aggregator !== undefined) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.Aggregator);
    if (asSize === 4) w.u32(a.aggregator.asn);
    else w.u16(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn);
    w.u32(parseIpv4(a.aggregator.address));
    w.endAttribute(start);
  }
  unknownBelow(AttrType.Communities);
  if (a.communities !== undefined && a.communities.length > 0) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.Communities);
    for (const c of a.communities) w.u32(c);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.OriginatorId);
  if (a.originatorId !== undefined) {
    start = w.beginAttribute(OPTIONAL, AttrType.OriginatorId);
    w.u32(parseIpv4(a.originatorId));
    w.endAttribute(start);
  }
  unknownBelow(AttrType.ClusterList);
  if (a.clusterList !== undefined && a.clusterList.length > 0) {
    start = w.beginAttribute(OPTIONAL, AttrType.ClusterList);
    for (const id of a.clusterList) w.u32(parseIpv4(id));
    w.endAttribute(start);
  }
  unknownBelow(AttrType.ExtendedCommunities);
  if (a.extendedCommunities !== undefined && a.extendedCommunities.length > 0) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.ExtendedCommunities);
    for (const c of a.extendedCommunities) w.u32(c.high).u32(c.low);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.As4Path);
  // RFC 6793 §4.2.2: towards an OLD speaker, the real path travels in AS4_PATH, without
  // confederation segments, and only when AS_TRANS had to stand in for some AS.
  if (asSize === 2 && a.asPath !== undefined && needsFourOctets(a.asPath)) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.As4Path);
    writeAsPath(w, a.asPath.filter((s) => !isConfed(s)), 4);
    w.endAttribute(start);
  }
  unknownBelow(AttrType.As4Aggregator);
  if (asSize === 2 && a.aggregator !== undefined && a.aggregator.asn > 0xffff) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.As4Aggregator);
    w.u32(a.aggregator.asn).u32(parseIpv4(a.aggregator.address));
    w.endAttribute(start);
  }
  unknownBelow(AttrType.LargeCommunity);
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    start = w.beginAttribute(OPTIONAL_TRANSITIVE, AttrType.LargeCommunity);
    for (const c of a.largeCommunities) w.u32(c.globalAdmin).u32(c.localData1).u32(c.localData2);
    w.endAttribute(start);
  }
  unknownBelow(256);
}

