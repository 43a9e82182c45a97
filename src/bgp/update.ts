/**
 * UPDATE (RFC 4271 §4.3) with MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), ADD-PATH path
 * identifiers (RFC 7911), End-of-RIB (RFC 4724 §2) and RFC 7606 error handling.
 *
 * RFC says / kbgp does:
 * - Session-fatal problems throw an UpdateMessageError carrying the NOTIFICATION: inconsistent
 *   lengths (3/1), duplicate MP attributes (3/1), an unknown well-known attribute (3/2), NLRI that
 *   cannot be parsed (3/10), a malformed MP_REACH/MP_UNREACH (3/9, or 3/4 for its flags).
 * - Softer problems are returned on the message: `treatAsWithdraw` (every route in the UPDATE is
 *   to be handled as withdrawn) and `discarded` (the attribute was dropped, the routes stand).
 *   When both kinds occur, treat-as-withdraw is the stronger and governs (RFC 7606 §3(i)).
 */
import {
  Afi,
  AttrFlag,
  AttrType,
  HEADER_LENGTH,
  MessageType,
  Safi,
  UpdateSubcode,
  attributeName,
  familyName,
} from './constants.js';
import {
  ATTRIBUTES,
  type AttributeContext,
  type DecodedAttributes,
  MalformedAttribute,
  type PathAttributes,
  type RawAttribute,
  encodePathAttributes,
  reconcileAs4,
} from './attributes.js';
import type { Family } from './capabilities.js';
import { UpdateMessageError, badMessageLength } from './errors.js';
import {
  type Prefix,
  decodePrefixes,
  encodePrefix,
  formatIpv4,
  formatIpv6,
  parseIpv4,
  parseIpv6,
} from './prefix.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export interface MpReach {
  readonly afi: Afi;
  readonly safi: number;
  /** IPv4 or IPv6 text form; an IPv6 next hop for IPv4 NLRI is RFC 8950's extended next hop. */
  readonly nextHop: string;
  /** RFC 2545 §3: the link-local address that may follow a global IPv6 next hop. */
  readonly linkLocalNextHop?: string;
  readonly nlri: readonly Prefix[];
}

export interface MpUnreach {
  readonly afi: Afi;
  readonly safi: number;
  readonly withdrawnRoutes: readonly Prefix[];
}

export interface AttributeProblem {
  readonly type: number;
  readonly action: 'treat-as-withdraw' | 'attribute-discard';
  readonly reason: string;
}

export interface UpdateMessage {
  readonly type: typeof MessageType.Update;
  /** IPv4 unicast routes from the Withdrawn Routes field. */
  readonly withdrawnRoutes: readonly Prefix[];
  readonly attributes: PathAttributes;
  /** IPv4 unicast routes from the NLRI field. */
  readonly nlri: readonly Prefix[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /** MP attributes for families the codec does not decode, kept for logging. */
  readonly unsupportedMp?: readonly RawAttribute[];
  /** RFC 7606 treat-as-withdraw: non-empty means every route this UPDATE announces is withdrawn. */
  readonly treatAsWithdraw?: readonly AttributeProblem[];
  /** RFC 7606 attribute discard: these attributes were dropped; the routes stand. */
  readonly discarded?: readonly AttributeProblem[];
  /** RFC 4724 §2: set when this UPDATE is the End-of-RIB marker of a family. */
  readonly endOfRib?: Family;
}

export interface UpdateContext extends AttributeContext {
  /** Families whose NLRI carry RFC 7911 path identifiers in this direction, by `familyKey`. */
  readonly addPath?: ReadonlySet<number>;
}

export function familyKey(afi: number, safi: number): number {
  return (afi << 8) | safi;
}

export const IPV4_UNICAST = familyKey(Afi.Ipv4, Safi.Unicast);
export const IPV6_UNICAST = familyKey(Afi.Ipv6, Safi.Unicast);

/** Families whose NLRI this codec decodes: IPv4/IPv6 unicast and multicast share one encoding. */
function decodable(afi: number, safi: number): afi is Afi {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === Safi.Unicast || safi === Safi.Multicast);
}

const malformedList = (why: string) => new UpdateMessageError(UpdateSubcode.MalformedAttributeList, why);
const invalidNetwork = (where: string) => (why: string) => new UpdateMessageError(UpdateSubcode.InvalidNetworkField, `${where}: ${why}`);

function decodeMpReach(v: Reader, whole: Buffer, ctx: UpdateContext): MpReach | RawAttribute {
  const bad = (why: string) => () => new UpdateMessageError(UpdateSubcode.OptionalAttributeError, `MP_REACH_NLRI: ${why}`, whole);
  const r = new Reader(v.buf, v.pos, v.end, bad('truncated'));
  const afi = r.u16();
  const safi = r.u8();
  const nhLength = r.u8();
  const nh = r.bytes(nhLength);
  r.u8(); // RFC 4760 §3: Reserved (formerly the SNPA count)
  if (!decodable(afi, safi)) return { flags: AttrFlag.Optional, type: AttrType.MpReachNlri, value: Buffer.from(v.buf.subarray(v.pos, v.end)) };
  let nextHop: string;
  let linkLocalNextHop: string | undefined;
  if (nhLength === 4 && afi === Afi.Ipv4) {
    nextHop = formatIpv4(nh.readUInt32BE(0));
  } else if (nhLength === 16 || nhLength === 32) {
    // RFC 2545 §3 for IPv6 NLRI; RFC 8950 §3 for IPv4 NLRI over an IPv6 next hop.
    nextHop = formatIpv6(nh.subarray(0, 16));
    if (nhLength === 32) linkLocalNextHop = formatIpv6(nh.subarray(16, 32));
  } else {
    throw bad(`next hop length ${nhLength} is not valid for ${familyName(afi, safi)}`)();
  }
  const nlri = decodePrefixes(r, afi, ctx.addPath?.has(familyKey(afi, safi)) ?? false, invalidNetwork('MP_REACH_NLRI'));
  return linkLocalNextHop === undefined ? { afi, safi, nextHop, nlri } : { afi, safi, nextHop, linkLocalNextHop, nlri };
}

function decodeMpUnreach(v: Reader, whole: Buffer, ctx: UpdateContext): MpUnreach | RawAttribute {
  const r = new Reader(v.buf, v.pos, v.end, () => new UpdateMessageError(UpdateSubcode.OptionalAttributeError, 'MP_UNREACH_NLRI: truncated', whole));
  const afi = r.u16();
  const safi = r.u8();
  if (!decodable(afi, safi)) return { flags: AttrFlag.Optional, type: AttrType.MpUnreachNlri, value: Buffer.from(v.buf.subarray(v.pos, v.end)) };
  const withdrawnRoutes = decodePrefixes(r, afi, ctx.addPath?.has(familyKey(afi, safi)) ?? false, invalidNetwork('MP_UNREACH_NLRI'));
  return { afi, safi, withdrawnRoutes };
}

/** Decodes an UPDATE body (after the header); `r` covers exactly the body. */
export function decodeUpdate(r: Reader, ctx: UpdateContext): UpdateMessage {
  // RFC 4271 §4.3: two 2-octet length fields at least, so 23 octets with the header.
  if (r.remaining < 4) throw badMessageLength(r.remaining + HEADER_LENGTH, 'UPDATE shorter than 23 octets');
  const buf = r.buf;
  const withdrawnLength = r.u16();
  // RFC 4271 §6.3: lengths that do not add up are a Malformed Attribute List.
  if (withdrawnLength > r.remaining - 2) throw malformedList(`Withdrawn Routes Length ${withdrawnLength} overruns the message`);
  const withdrawnField = r.sub(withdrawnLength);
  const attrLength = r.u16();
  if (attrLength > r.remaining) throw malformedList(`Total Path Attribute Length ${attrLength} overruns the message`);
  const attrField = r.sub(attrLength);
  const addPathV4 = ctx.addPath?.has(IPV4_UNICAST) ?? false;

  const withdrawnRoutes = decodePrefixes(withdrawnField, Afi.Ipv4, addPathV4, invalidNetwork('Withdrawn Routes'));

  const attrs: DecodedAttributes = {};
  const unknown: RawAttribute[] = [];
  const treatAsWithdraw: AttributeProblem[] = [];
  const discarded: AttributeProblem[] = [];
  const unsupportedMp: RawAttribute[] = [];
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  const seen = new Uint8Array(256);
  let attributeCount = 0;

  const a = attrField;
  while (!a.atEnd()) {
    const start = a.pos;
    const flags = buf[start] as number;
    const headerLength = flags & AttrFlag.ExtendedLength ? 4 : 3;
    // RFC 7606 §4: too few octets for an attribute header, or a value that overruns the Total
    // Path Attribute Length: treat-as-withdraw, and the NLRI are still found by that total.
    if (a.remaining < headerLength) {
      treatAsWithdraw.push({ type: 0, action: 'treat-as-withdraw', reason: `${a.remaining} octets left, too few for an attribute header` });
      break;
    }
    const type = buf[start + 1] as number;
    const length = headerLength === 4 ? buf.readUInt16BE(start + 2) : (buf[start + 2] as number);
    const valueStart = start + headerLength;
    if (length > a.end - valueStart) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        // Its NLRI cannot be located, so treat-as-withdraw cannot be applied (RFC 7606 §5.3).
        throw new UpdateMessageError(UpdateSubcode.AttributeLengthError, `${attributeName(type)} length ${length} overruns the path attributes`, buf.subarray(start, a.end));
      }
      treatAsWithdraw.push({ type, action: 'treat-as-withdraw', reason: `${attributeName(type)} length ${length} overruns the path attributes` });
      break;
    }
    a.pos = valueStart + length;
    attributeCount++;
    // The whole attribute (flags, type, length, value): RFC 4271 §6.3's NOTIFICATION data.
    const whole = buf.subarray(start, a.pos);

    // RFC 7606 §3(g): a second MP_REACH/MP_UNREACH resets the session; any other repeat is dropped.
    if (seen[type] === 1) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) throw malformedList(`${attributeName(type)} appears twice`);
      discarded.push({ type, action: 'attribute-discard', reason: `${attributeName(type)} appears more than once; later copies dropped` });
      continue;
    }
    seen[type] = 1;

    const codec = ATTRIBUTES[type];
    if (codec === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        throw new UpdateMessageError(UpdateSubcode.UnrecognizedWellKnownAttribute, `unrecognized well-known attribute ${type}`, whole);
      }
      if (flags & AttrFlag.Transitive) unknown.push({ flags, type, value: Buffer.from(buf.subarray(valueStart, a.pos)) });
      continue;
    }

    const value = new Reader(buf, valueStart, a.pos, () => new MalformedAttribute(`${codec.name} is truncated`));
    const flagsWrong = (flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== codec.flags;
    if (codec.onError === 'session-reset') {
      if (flagsWrong) throw new UpdateMessageError(UpdateSubcode.AttributeFlagsError, `${codec.name} flags 0x${flags.toString(16)}`, whole);
      const decoded = type === AttrType.MpReachNlri ? decodeMpReach(value, whole, ctx) : decodeMpUnreach(value, whole, ctx);
      if ('value' in decoded) unsupportedMp.push(decoded);
      else if ('nlri' in decoded) mpReach = decoded;
      else mpUnreach = decoded;
      continue;
    }
    try {
      if (flagsWrong) throw new MalformedAttribute(`${codec.name} has flags 0x${flags.toString(16)}, expected 0x${codec.flags.toString(16)}`);
      codec.decode?.(value, ctx, attrs);
    } catch (e) {
      if (!(e instanceof MalformedAttribute)) throw e;
      if (codec.onError === 'treat-as-withdraw') treatAsWithdraw.push({ type, action: codec.onError, reason: e.message });
      else discarded.push({ type, action: codec.onError, reason: e.message });
    }
  }

  // RFC 7606 §7.5, §7.9, §7.10: attributes that have no meaning from an external peer.
  if (ctx.ebgp === true) {
    for (const [key, type] of [['localPref', AttrType.LocalPref], ['originatorId', AttrType.OriginatorId], ['clusterList', AttrType.ClusterList]] as const) {
      if (attrs[key] !== undefined) {
        delete attrs[key];
        discarded.push({ type, action: 'attribute-discard', reason: `${attributeName(type)} from an external peer` });
      }
    }
  }
  if (!ctx.fourOctetAs) reconcileAs4(attrs);
  else {
    delete attrs.as4Path;
    delete attrs.as4Aggregator;
  }
  if (unknown.length > 0) attrs.unknown = unknown;

  const nlri = decodePrefixes(r, Afi.Ipv4, addPathV4, invalidNetwork('NLRI'));

  // RFC 7606 §3(d): a missing well-known mandatory attribute is treat-as-withdraw, and only matters
  // when there is something to announce. RFC 4760 makes NEXT_HOP needed only for the NLRI field.
  if (nlri.length > 0 || (mpReach !== undefined && mpReach.nlri.length > 0)) {
    const required: [keyof PathAttributes, number][] = [['origin', AttrType.Origin], ['asPath', AttrType.AsPath]];
    if (nlri.length > 0) required.push(['nextHop', AttrType.NextHop]);
    for (const [key, type] of required) {
      if (attrs[key] === undefined && !treatAsWithdraw.some((p) => p.type === type)) {
        treatAsWithdraw.push({ type, action: 'treat-as-withdraw', reason: `missing well-known attribute ${attributeName(type)}` });
      }
    }
  }

  const update: {
    -readonly [K in keyof UpdateMessage]: UpdateMessage[K];
  } = { type: MessageType.Update, withdrawnRoutes, attributes: attrs, nlri };
  if (mpReach !== undefined) update.mpReach = mpReach;
  if (mpUnreach !== undefined) update.mpUnreach = mpUnreach;
  if (unsupportedMp.length > 0) update.unsupportedMp = unsupportedMp;
  if (treatAsWithdraw.length > 0) update.treatAsWithdraw = treatAsWithdraw;
  if (discarded.length > 0) update.discarded = discarded;
  if (withdrawnLength === 0 && attrLength === 0 && nlri.length === 0) {
    update.endOfRib = { afi: Afi.Ipv4, safi: Safi.Unicast };
  } else if (
    withdrawnLength === 0 &&
    nlri.length === 0 &&
    mpUnreach !== undefined &&
    mpUnreach.withdrawnRoutes.length === 0 &&
    mpReach === undefined &&
    attributeCount === 1
  ) {
    update.endOfRib = { afi: mpUnreach.afi, safi: mpUnreach.safi };
  }
  return update;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function writeMpReach(w: Writer, m: MpReach, addPath: boolean, nlri: readonly Prefix[] = m.nlri): void {
  const start = w.beginAttribute(AttrFlag.Optional, AttrType.MpReachNlri);
  w.u16(m.afi).u8(m.safi);
  if (m.nextHop.includes(':')) {
    const ll = m.linkLocalNextHop;
    w.u8(ll === undefined ? 16 : 32).bytes(parseIpv6(m.nextHop));
    if (ll !== undefined) w.bytes(parseIpv6(ll));
  } else {
    w.u8(4).u32(parseIpv4(m.nextHop));
  }
  w.u8(0);
  for (const p of nlri) encodePrefix(w, p, addPath);
  w.endAttribute(start);
}

function writeMpUnreach(w: Writer, m: MpUnreach, addPath: boolean, withdrawn: readonly Prefix[] = m.withdrawnRoutes): void {
  const start = w.beginAttribute(AttrFlag.Optional, AttrType.MpUnreachNlri);
  w.u16(m.afi).u8(m.safi);
  for (const p of withdrawn) encodePrefix(w, p, addPath);
  w.endAttribute(start);
}

/** Writes an UPDATE body. MP attributes come first (RFC 7606 §5.1), then the rest in type order. */
export function encodeUpdate(w: Writer, m: UpdateMessage, ctx: UpdateContext): void {
  const addPathV4 = ctx.addPath?.has(IPV4_UNICAST) ?? false;
  const wl = w.reserve(2);
  for (const p of m.withdrawnRoutes) encodePrefix(w, p, addPathV4);
  w.patch16(wl, w.pos - wl - 2);
  const al = w.reserve(2);
  if (m.mpReach !== undefined) writeMpReach(w, m.mpReach, ctx.addPath?.has(familyKey(m.mpReach.afi, m.mpReach.safi)) ?? false);
  if (m.mpUnreach !== undefined) writeMpUnreach(w, m.mpUnreach, ctx.addPath?.has(familyKey(m.mpUnreach.afi, m.mpUnreach.safi)) ?? false);
  encodePathAttributes(w, m.attributes, ctx);
  w.patch16(al, w.pos - al - 2);
  for (const p of m.nlri) encodePrefix(w, p, addPathV4);
}
