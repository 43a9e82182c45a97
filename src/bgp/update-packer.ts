/**
 * Packs many prefixes that share one set of attributes into as few UPDATEs as the negotiated
 * message size allows. The attributes are encoded once and copied into every message; only the
 * NLRI differ. This is the encoder's hot path (Adj-RIB-Out drains through it).
 */
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MARKER_LENGTH, MessageType, Safi } from './constants.js';
import { type PathAttributes, encodePathAttributes } from './attributes.js';
import type { MessageContext } from './message.js';
import { type Prefix, encodePrefix, parseIpv4, parseIpv6, prefixWireLength } from './prefix.js';
import { IPV4_UNICAST, familyKey } from './update.js';
import { Writer } from './writer.js';

export interface MpNextHop {
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
}

/** Header, Withdrawn Routes Length and Total Path Attribute Length. */
const FIXED = HEADER_LENGTH + 4;
/** MP attribute header with a 2-octet length, then AFI and SAFI. */
const MP_ATTR_FIXED = 4 + 3;

function startMessage(max: number): Writer {
  const w = new Writer(max);
  w.fill(0xff, MARKER_LENGTH).u16(0).u8(MessageType.Update);
  return w;
}

function finishMessage(w: Writer): Buffer {
  w.patch16(MARKER_LENGTH, w.pos);
  return w.finish();
}

/** How many of `prefixes`, from `from`, fit in `budget` octets. */
function fitting(prefixes: readonly Prefix[], from: number, budget: number, addPath: boolean): number {
  let used = 0;
  let i = from;
  for (; i < prefixes.length; i++) {
    const n = prefixWireLength(prefixes[i] as Prefix, addPath);
    if (used + n > budget) break;
    used += n;
  }
  return i - from;
}

function mpNextHopBytes(afi: number, nh: MpNextHop): Buffer {
  if (!nh.nextHop.includes(':')) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(parseIpv4(nh.nextHop));
    return b;
  }
  const global = parseIpv6(nh.nextHop);
  return nh.linkLocalNextHop === undefined || afi !== Afi.Ipv6 ? Buffer.from(global) : Buffer.concat([global, parseIpv6(nh.linkLocalNextHop)]);
}

/**
 * UPDATEs announcing `prefixes` (all of one family) with `attributes`. IPv4 unicast goes in the NLRI
 * field with the NEXT_HOP attribute, unless `mp` is given: then, like every other family, in
 * MP_REACH_NLRI with that next hop (RFC 4760; RFC 8950 for an IPv6 next hop on IPv4 NLRI).
 */
export function packAnnouncements(
  afi: Afi,
  safi: number,
  attributes: PathAttributes,
  prefixes: readonly Prefix[],
  ctx: MessageContext,
  mp?: MpNextHop,
): Buffer[] {
  const addPath = ctx.addPath?.has(familyKey(afi, safi)) ?? false;
  const aw = new Writer(256);
  encodePathAttributes(aw, attributes, ctx);
  const attrBytes = aw.finish();
  const out: Buffer[] = [];
  if (mp === undefined && familyKey(afi, safi) === IPV4_UNICAST) {
    const budget = ctx.maxMessageLength - FIXED - attrBytes.length;
    if (budget < 5 + (addPath ? 4 : 0)) throw new RangeError('path attributes leave no room for NLRI');
    for (let i = 0; i < prefixes.length; ) {
      const n = fitting(prefixes, i, budget, addPath);
      const w = startMessage(ctx.maxMessageLength);
      w.u16(0).u16(attrBytes.length).bytes(attrBytes);
      for (let k = i; k < i + n; k++) encodePrefix(w, prefixes[k] as Prefix, addPath);
      out.push(finishMessage(w));
      i += n;
    }
    return out;
  }
  if (mp === undefined) throw new RangeError(`${afi}/${safi} NLRI need an MP_REACH_NLRI next hop`);
  const nh = mpNextHopBytes(afi, mp);
  const budget = ctx.maxMessageLength - FIXED - attrBytes.length - MP_ATTR_FIXED - 1 - nh.length - 1;
  if (budget < 17 + (addPath ? 4 : 0)) throw new RangeError('path attributes leave no room for NLRI');
  for (let i = 0; i < prefixes.length; ) {
    const n = fitting(prefixes, i, budget, addPath);
    const w = startMessage(ctx.maxMessageLength);
    w.u16(0);
    const al = w.reserve(2);
    const attrStart = w.pos;
    const a = w.beginAttribute(AttrFlag.Optional, AttrType.MpReachNlri);
    w.u16(afi).u8(safi).u8(nh.length).bytes(nh).u8(0);
    for (let k = i; k < i + n; k++) encodePrefix(w, prefixes[k] as Prefix, addPath);
    w.endAttribute(a);
    w.bytes(attrBytes);
    w.patch16(al, w.pos - attrStart);
    out.push(finishMessage(w));
    i += n;
  }
  return out;
}

/** UPDATEs withdrawing `prefixes` (all of one family): the Withdrawn Routes field for IPv4 unicast, else MP_UNREACH_NLRI. */
export function packWithdrawals(afi: Afi, safi: number, prefixes: readonly Prefix[], ctx: MessageContext): Buffer[] {
  const addPath = ctx.addPath?.has(familyKey(afi, safi)) ?? false;
  const out: Buffer[] = [];
  const v4 = familyKey(afi, safi) === IPV4_UNICAST;
  const budget = ctx.maxMessageLength - FIXED - (v4 ? 0 : MP_ATTR_FIXED);
  for (let i = 0; i < prefixes.length; ) {
    const n = fitting(prefixes, i, budget, addPath);
    const w = startMessage(ctx.maxMessageLength);
    if (v4) {
      const wl = w.reserve(2);
      for (let k = i; k < i + n; k++) encodePrefix(w, prefixes[k] as Prefix, addPath);
      w.patch16(wl, w.pos - wl - 2);
      w.u16(0);
    } else {
      w.u16(0);
      const al = w.reserve(2);
      const a = w.beginAttribute(AttrFlag.Optional, AttrType.MpUnreachNlri);
      w.u16(afi).u8(safi);
      for (let k = i; k < i + n; k++) encodePrefix(w, prefixes[k] as Prefix, addPath);
      w.endAttribute(a);
      w.patch16(al, w.pos - al - 2);
    }
    out.push(finishMessage(w));
    i += n;
  }
  return out;
}

/** RFC 4724 §2: an empty UPDATE for IPv4 unicast; an empty MP_UNREACH_NLRI for any other family. */
export function encodeEndOfRib(afi: number, safi: number): Buffer {
  const w = startMessage(32);
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) {
    w.u16(0).u16(0);
  } else {
    w.u16(0).u16(6).u8(AttrFlag.Optional).u8(AttrType.MpUnreachNlri).u8(3).u16(afi).u8(safi);
  }
  return finishMessage(w);
}
