/**
 * The generated table and the monitors' exact count of it.
 *
 * Prefix number i (0 ≤ i < N) is the /24 at 32.0.0.0 + i·256: 32.0.0.0/24, 32.0.1.0/24, … (1M of them
 * end at 47.255.255.0/24). They are NLRI only: no DUT installs them anywhere (no kernel protocol in
 * BIRD, bgpd without zebra, gobgpd without zebra, kbgp has no FIB).
 *
 * `scanUpdate` reads an UPDATE's bytes in place (withdrawn routes, the IPv4 unicast NLRI inside
 * MP_REACH_NLRI / MP_UNREACH_NLRI, then the NLRI field) and sets or clears the prefix's bit, so "holds
 * all N" is exact: an announcement repeated counts once, a withdrawal of something not held changes
 * nothing. No message object is built; bounds are checked against the message and the attribute so
 * a malformed UPDATE throws instead of reading its neighbour.
 */
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, Safi, ipv4Prefix, type Ipv4Prefix } from '../../src/bgp/index.js';

/** 32.0.0.0 in /24 units (the top 24 bits of the address). */
const BASE = 32 << 16;
export const PREFIX_LENGTH = 24;
/** 2^22 /24s end at 95.255.255.0/24: well below class D, plenty for a benchmark. */
export const MAX_PREFIXES = 1 << 22;

export function generatedPrefix(i: number): Ipv4Prefix {
  return ipv4Prefix(((BASE + i) << 8) >>> 0, PREFIX_LENGTH);
}

export function generatedPrefixes(n: number): Ipv4Prefix[] {
  const out = new Array<Ipv4Prefix>(n);
  for (let i = 0; i < n; i++) out[i] = generatedPrefix(i);
  return out;
}

export class MalformedUpdate extends Error {}

/** Which of the N generated prefixes one session holds right now. */
export class PrefixTable {
  private readonly bits: Uint8Array;
  /** Prefixes held (bits set). */
  held = 0;
  announced = 0;
  withdrawn = 0;
  /** Prefixes that are not one of the N (another length or outside the range). */
  foreign = 0;

  constructor(readonly size: number) {
    this.bits = new Uint8Array(size);
  }

  /** The prefix at `buf[at]` (length octet first); returns the offset after it. */
  private prefix(buf: Buffer, at: number, end: number, announce: boolean): number {
    const length = buf[at] as number;
    const octets = (length + 7) >> 3;
    if (length > 32 || at + 1 + octets > end) throw new MalformedUpdate(`IPv4 prefix length ${length} at offset ${at} overruns its field`);
    if (announce) this.announced++;
    else this.withdrawn++;
    if (length !== PREFIX_LENGTH) {
      this.foreign++;
      return at + 1 + octets;
    }
    const i = (((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) - BASE;
    if (i < 0 || i >= this.size) {
      this.foreign++;
    } else if (announce) {
      if (this.bits[i] === 0) {
        this.bits[i] = 1;
        this.held++;
      }
    } else if (this.bits[i] === 1) {
      this.bits[i] = 0;
      this.held--;
    }
    return at + 1 + octets;
  }

  private prefixes(buf: Buffer, from: number, end: number, announce: boolean): void {
    // Each prefix consumes at least one octet, so this loop ends.
    for (let at = from; at < end; ) at = this.prefix(buf, at, end, announce);
  }

  /** Applies one whole UPDATE message (header included, as the Framer hands it out). */
  scanUpdate(msg: Buffer): void {
    const end = msg.length;
    let at = HEADER_LENGTH;
    if (at + 2 > end) throw new MalformedUpdate('no Withdrawn Routes Length');
    const withdrawnEnd = at + 2 + msg.readUInt16BE(at);
    if (withdrawnEnd + 2 > end) throw new MalformedUpdate('withdrawn routes overrun the message');
    this.prefixes(msg, at + 2, withdrawnEnd, false);
    at = withdrawnEnd;
    const attrsEnd = at + 2 + msg.readUInt16BE(at);
    if (attrsEnd > end) throw new MalformedUpdate('path attributes overrun the message');
    for (at += 2; at < attrsEnd; ) {
      if (at + 3 > attrsEnd) throw new MalformedUpdate('truncated attribute header');
      const flags = msg[at] as number;
      const type = msg[at + 1] as number;
      const extended = (flags & AttrFlag.ExtendedLength) !== 0;
      if (extended && at + 4 > attrsEnd) throw new MalformedUpdate('truncated attribute header');
      const valueAt = at + (extended ? 4 : 3);
      const valueEnd = valueAt + (extended ? msg.readUInt16BE(at + 2) : (msg[at + 2] as number));
      if (valueEnd > attrsEnd) throw new MalformedUpdate(`attribute ${type} overruns the path attributes`);
      if ((type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) && valueAt + 3 <= valueEnd) {
        const ipv4Unicast = msg.readUInt16BE(valueAt) === Afi.Ipv4 && msg[valueAt + 2] === Safi.Unicast;
        if (ipv4Unicast && type === AttrType.MpUnreachNlri) this.prefixes(msg, valueAt + 3, valueEnd, false);
        if (ipv4Unicast && type === AttrType.MpReachNlri && valueAt + 4 <= valueEnd) {
          // RFC 4760 §3: next hop length and next hop, one reserved octet, then the NLRI.
          const nlriAt = valueAt + 4 + (msg[valueAt + 3] as number) + 1;
          if (nlriAt > valueEnd) throw new MalformedUpdate('MP_REACH_NLRI next hop overruns the attribute');
          this.prefixes(msg, nlriAt, valueEnd, true);
        }
      }
      at = valueEnd;
    }
    this.prefixes(msg, attrsEnd, end, true);
  }
}
