/**
 * IP prefixes as NLRI carries them (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3), and the text forms of
 * addresses. This is the per-prefix hot path of the codec: an IPv4 prefix is one small object with
 * its address as a uint32, no strings and no Buffer views.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Afi } from './constants.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface Ipv4Prefix {
  readonly afi: typeof Afi.Ipv4;
  readonly length: number;
  /** Network address as an unsigned 32-bit integer, host bits zero. */
  readonly address: number;
  /** RFC 7911 path identifier; present only on an ADD-PATH session. */
  readonly pathId?: number;
}

export interface Ipv6Prefix {
  readonly afi: typeof Afi.Ipv6;
  readonly length: number;
  /** 16 octets, host bits zero. */
  readonly address: Uint8Array;
  readonly pathId?: number;
}

export type Prefix = Ipv4Prefix | Ipv6Prefix;

/** Thrown by the prefix parser for bad text; the wire decoder throws the caller's error instead. */
export class PrefixSyntaxError extends Error {}

const maxLength = (afi: Afi): number => (afi === Afi.Ipv4 ? 32 : 128);

function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export function ipv4Prefix(address: number, length: number, pathId?: number): Ipv4Prefix {
  const a = (address & ipv4Mask(length)) >>> 0;
  // Literal shapes, not spreads: the per-prefix loops stay monomorphic and fast.
  return pathId === undefined ? { afi: Afi.Ipv4, length, address: a } : { afi: Afi.Ipv4, length, address: a, pathId };
}

export function ipv6Prefix(address: Uint8Array, length: number, pathId?: number): Ipv6Prefix {
  const a = new Uint8Array(16);
  a.set(address.subarray(0, 16));
  maskIpv6(a, length);
  return pathId === undefined ? { afi: Afi.Ipv6, length, address: a } : { afi: Afi.Ipv6, length, address: a, pathId };
}

function maskIpv6(a: Uint8Array, length: number): void {
  const full = length >> 3;
  if (full < 16) {
    a[full] = (a[full] as number) & (0xff << (8 - (length & 7)));
    a.fill(0, full + 1);
  }
}

/**
 * Decodes a run of NLRI (withdrawn routes, NLRI, or the NLRI of MP_REACH/MP_UNREACH) that fills
 * `r` exactly. `invalid` makes the error for a prefix length beyond the family's maximum or a
 * prefix that overruns the field: RFC 7606 §5.3 makes both a session reset, since no later prefix
 * can be located.
 */
export function decodePrefixes(r: Reader, afi: Afi, addPath: boolean, invalid: (why: string) => Error): Prefix[] {
  const out: Prefix[] = [];
  const buf = r.buf;
  const end = r.end;
  let p = r.pos;
  const max = maxLength(afi);
  while (p < end) {
    let pathId: number | undefined;
    if (addPath) {
      if (p + 4 > end) throw invalid('path identifier overruns the field');
      pathId = buf.readUInt32BE(p);
      p += 4;
    }
    if (p >= end) throw invalid('prefix length missing after path identifier');
    const length = buf[p++] as number;
    if (length > max) throw invalid(`prefix length ${length} exceeds ${max}`);
    const octets = (length + 7) >> 3;
    if (p + octets > end) throw invalid(`prefix of length ${length} overruns the field`);
    if (afi === Afi.Ipv4) {
      let a = 0;
      for (let i = 0; i < octets; i++) a |= (buf[p + i] as number) << (24 - 8 * i);
      a = (a & ipv4Mask(length)) >>> 0;
      out.push(pathId === undefined ? { afi, length, address: a } : { afi, length, address: a, pathId });
    } else {
      const a = new Uint8Array(16);
      for (let i = 0; i < octets; i++) a[i] = buf[p + i] as number;
      if (length & 7) a[octets - 1] = (a[octets - 1] as number) & (0xff << (8 - (length & 7)));
      out.push(pathId === undefined ? { afi, length, address: a } : { afi, length, address: a, pathId });
    }
    p += octets;
  }
  r.pos = end;
  return out;
}

/** Octets one prefix takes on the wire. */
export function prefixWireLength(p: Prefix, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((p.length + 7) >> 3);
}

/** Encodes one prefix; on an ADD-PATH session a prefix without a path identifier is sent as path 0. */
export function encodePrefix(w: Writer, p: Prefix, addPath: boolean): void {
  if (addPath) w.u32(p.pathId ?? 0);
  w.u8(p.length);
  const octets = (p.length + 7) >> 3;
  if (p.afi === Afi.Ipv4) {
    for (let i = 0; i < octets; i++) w.u8((p.address >>> (24 - 8 * i)) & 0xff);
  } else {
    for (let i = 0; i < octets; i++) w.u8(p.address[i] as number);
  }
}

export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

export function parseIpv4(s: string): number {
  if (!isIPv4(s)) throw new PrefixSyntaxError(`${JSON.stringify(s)} is not an IPv4 address`);
  const [a, b, c, d] = s.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** RFC 5952 text form: lower case, the longest run of two or more zero groups as `::`. */
export function formatIpv6(a: Uint8Array): string {
  // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) keep the dotted quad.
  if (a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff) {
    return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a[i] as number) << 8) | (a[i + 1] as number));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function parseIpv6(s: string): Uint8Array {
  if (!isIPv6(s) || s.includes('%')) throw new PrefixSyntaxError(`${JSON.stringify(s)} is not an IPv6 address`);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes its two groups, so one parser handles both forms.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let text = s;
  if (v4 !== null) {
    const n = parseIpv4(v4[1] as string);
    text = `${s.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const groupsOf = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [headText, tailText] = text.split('::') as [string, string | undefined];
  const head = groupsOf(headText);
  const tail = tailText === undefined ? [] : groupsOf(tailText);
  const groups = tailText === undefined ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function formatPrefix(p: Prefix): string {
  const addr = p.afi === Afi.Ipv4 ? formatIpv4(p.address) : formatIpv6(p.address);
  return `${addr}/${p.length}`;
}

/** Parses `10.0.0.0/24` or `2001:db8::/32`; host bits must be zero, as a route is named by its network. */
export function parsePrefix(s: string, pathId?: number): Prefix {
  const slash = s.lastIndexOf('/');
  if (slash < 0) throw new PrefixSyntaxError(`${JSON.stringify(s)} has no prefix length`);
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const length = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  const v6 = addr.includes(':');
  const max = v6 ? 128 : 32;
  if (!(length >= 0 && length <= max)) throw new PrefixSyntaxError(`${JSON.stringify(s)}: prefix length must be 0..${max}`);
  if (v6) {
    const a = parseIpv6(addr);
    const p = ipv6Prefix(a, length, pathId);
    if (!Buffer.from(a).equals(p.address)) throw hostBitsSet(s, p);
    return p;
  }
  const a = parseIpv4(addr);
  const p = ipv4Prefix(a, length, pathId);
  if (a !== p.address) throw hostBitsSet(s, p);
  return p;
}

function hostBitsSet(s: string, p: Prefix): PrefixSyntaxError {
  return new PrefixSyntaxError(`${JSON.stringify(s)} has host bits set (the network is ${formatPrefix(p)})`);
}

/** Parses an IPv4 or IPv6 address into its text-normal form (RFC 5952 for IPv6). */
export function normalizeAddress(s: string): string {
  return s.includes(':') ? formatIpv6(parseIpv6(s)) : formatIpv4(parseIpv4(s));
}

/** Whether the first `bits` bits of two addresses of one family agree (IPv4 as uint32, IPv6 as octets). */
function sameLeadingBits(a: number | Uint8Array, b: number | Uint8Array, bits: number): boolean {
  if (bits === 0) return true;
  if (typeof a === 'number' && typeof b === 'number') return (a ^ b) >>> (32 - bits) === 0;
  if (typeof a === 'number' || typeof b === 'number') return false;
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((a[whole] as number) ^ (b[whole] as number)) & mask) === 0;
}

/** Whether the address `text` lies inside `p` (false across families). */
export function prefixContains(p: Prefix, text: string): boolean {
  if (text.includes(':') !== (p.afi === Afi.Ipv6)) return false;
  return sameLeadingBits(p.afi === Afi.Ipv4 ? parseIpv4(text) : parseIpv6(text), p.address, p.length);
}

/** The same prefix with another path identifier (undefined: none), in the literal shapes above. */
export function withPathId(p: Prefix, pathId: number | undefined): Prefix {
  if (p.afi === Afi.Ipv4) return pathId === undefined ? { afi: Afi.Ipv4, length: p.length, address: p.address } : { afi: Afi.Ipv4, length: p.length, address: p.address, pathId };
  return pathId === undefined ? { afi: Afi.Ipv6, length: p.length, address: p.address } : { afi: Afi.Ipv6, length: p.length, address: p.address, pathId };
}

/** Whether `inner` lies inside `outer` (`net ~ outer` in BIRD): the same family, as long or longer, same leading bits. */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return inner.afi === outer.afi && inner.length >= outer.length && sameLeadingBits(inner.address, outer.address, outer.length);
}

/** Prefix order as people read tables: IPv4 before IPv6, then by address, then shorter first. */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.afi !== b.afi) return a.afi - b.afi;
  if (typeof a.address === 'number' && typeof b.address === 'number') {
    if (a.address !== b.address) return a.address - b.address;
  } else if (typeof a.address !== 'number' && typeof b.address !== 'number') {
    for (let i = 0; i < 16; i++) {
      const d = (a.address[i] as number) - (b.address[i] as number);
      if (d !== 0) return d;
    }
  }
  return a.length - b.length;
}
