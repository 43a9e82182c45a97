/**
 * RFC 5492 capabilities. Known ones decode to typed values; any other code is kept as it came, so
 * it is shown to the operator and never fatal. A known capability whose value has the wrong shape
 * is an OPEN Message Error (subcode 0, as BIRD answers it): agreeing on a capability we cannot read
 * would be worse than not agreeing at all.
 */
import { Afi, CapabilityCode, OpenSubcode, capabilityName, familyName } from './constants.js';
import { OpenMessageError } from './errors.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface Family {
  readonly afi: number;
  readonly safi: number;
}

export type AddPathMode = 'receive' | 'send' | 'both';

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'enhanced-route-refresh' }
  | { readonly kind: 'extended-message' }
  | {
      readonly kind: 'graceful-restart';
      /** R bit (RFC 4724 §3): the sender has restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538 §2): the sender applies graceful restart to NOTIFICATIONs too. */
      readonly notification: boolean;
      /** Seconds, 12 bits. */
      readonly restartTime: number;
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly forwardingState: boolean }[];
    }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | { readonly kind: 'add-path'; readonly families: readonly { readonly afi: number; readonly safi: number; readonly mode: AddPathMode }[] }
  | {
      readonly kind: 'extended-next-hop';
      readonly entries: readonly { readonly afi: number; readonly safi: number; readonly nextHopAfi: number }[];
    }
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Buffer };

const addPathModes: Record<number, AddPathMode> = { 1: 'receive', 2: 'send', 3: 'both' };
const addPathCodes: Record<AddPathMode, number> = { receive: 1, send: 2, both: 3 };

export function malformedCapability(code: number, why: string): OpenMessageError {
  return new OpenMessageError(OpenSubcode.Unspecific, `malformed ${capabilityName(code)} capability: ${why}`);
}

function exactLength(code: number, r: Reader, n: number): void {
  if (r.remaining !== n) throw malformedCapability(code, `length ${r.remaining}, expected ${n}`);
}

/** Decodes one capability value; `r` is fenced to exactly the value. */
export function decodeCapability(code: number, r: Reader): Capability {
  switch (code) {
    case CapabilityCode.Multiprotocol: {
      exactLength(code, r, 4);
      const afi = r.u16();
      r.u8(); // reserved
      return { kind: 'multiprotocol', afi, safi: r.u8() };
    }
    case CapabilityCode.RouteRefresh:
      exactLength(code, r, 0);
      return { kind: 'route-refresh' };
    case CapabilityCode.EnhancedRouteRefresh:
      exactLength(code, r, 0);
      return { kind: 'enhanced-route-refresh' };
    case CapabilityCode.ExtendedMessage:
      exactLength(code, r, 0);
      return { kind: 'extended-message' };
    case CapabilityCode.FourOctetAs:
      exactLength(code, r, 4);
      return { kind: 'four-octet-as', asn: r.u32() };
    case CapabilityCode.GracefulRestart: {
      if (r.remaining < 2 || (r.remaining - 2) % 4 !== 0) throw malformedCapability(code, `length ${r.remaining} is not 2 + 4n`);
      const word = r.u16();
      const families = [];
      while (!r.atEnd()) families.push({ afi: r.u16(), safi: r.u8(), forwardingState: (r.u8() & 0x80) !== 0 });
      return {
        kind: 'graceful-restart',
        restarting: (word & 0x8000) !== 0,
        notification: (word & 0x4000) !== 0,
        restartTime: word & 0x0fff,
        families,
      };
    }
    case CapabilityCode.AddPath: {
      if (r.remaining % 4 !== 0) throw malformedCapability(code, `length ${r.remaining} is not a multiple of 4`);
      const families = [];
      while (!r.atEnd()) {
        const afi = r.u16();
        const safi = r.u8();
        const mode = addPathModes[r.u8()];
        // RFC 7911 §4: any other Send/Receive value makes the capability malformed.
        if (mode === undefined) throw malformedCapability(code, `bad Send/Receive value for ${familyName(afi, safi)}`);
        families.push({ afi, safi, mode });
      }
      return { kind: 'add-path', families };
    }
    case CapabilityCode.ExtendedNextHop: {
      if (r.remaining % 6 !== 0) throw malformedCapability(code, `length ${r.remaining} is not a multiple of 6`);
      const entries = [];
      while (!r.atEnd()) entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { kind: 'extended-next-hop', entries };
    }
    case CapabilityCode.Fqdn: {
      const hostname = r.bytes(r.u8()).toString('utf8');
      const domain = r.bytes(r.u8()).toString('utf8');
      if (!r.atEnd()) throw malformedCapability(code, 'trailing bytes');
      return { kind: 'fqdn', hostname, domain };
    }
    default:
      return { kind: 'unknown', code, value: Buffer.from(r.rest()) };
  }
}

export function capabilityCode(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol':
      return CapabilityCode.Multiprotocol;
    case 'route-refresh':
      return CapabilityCode.RouteRefresh;
    case 'enhanced-route-refresh':
      return CapabilityCode.EnhancedRouteRefresh;
    case 'extended-message':
      return CapabilityCode.ExtendedMessage;
    case 'graceful-restart':
      return CapabilityCode.GracefulRestart;
    case 'four-octet-as':
      return CapabilityCode.FourOctetAs;
    case 'add-path':
      return CapabilityCode.AddPath;
    case 'extended-next-hop':
      return CapabilityCode.ExtendedNextHop;
    case 'fqdn':
      return CapabilityCode.Fqdn;
    case 'unknown':
      return c.code;
  }
}

/** Writes code, length and value of one capability. */
export function encodeCapability(w: Writer, c: Capability): void {
  w.u8(capabilityCode(c));
  const len = w.reserve(1);
  const start = w.pos;
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi).u8(0).u8(c.safi);
      break;
    case 'route-refresh':
    case 'enhanced-route-refresh':
    case 'extended-message':
      break;
    case 'graceful-restart':
      w.u16((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingState ? 0x80 : 0);
      break;
    case 'four-octet-as':
      w.u32(c.asn);
      break;
    case 'add-path':
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(addPathCodes[f.mode]);
      break;
    case 'extended-next-hop':
      for (const e of c.entries) w.u16(e.afi).u16(e.safi).u16(e.nextHopAfi);
      break;
    case 'fqdn': {
      const host = Buffer.from(c.hostname, 'utf8').subarray(0, 255);
      const domain = Buffer.from(c.domain, 'utf8').subarray(0, 255);
      w.u8(host.length).bytes(host).u8(domain.length).bytes(domain);
      break;
    }
    case 'unknown':
      w.bytes(c.value);
      break;
  }
  const length = w.pos - start;
  // RFC 5492 §4: Capability Length is one octet; a longer value cannot be sent at all.
  if (length > 255) throw new RangeError(`${capabilityName(capabilityCode(c))} capability value of ${length} octets exceeds 255`);
  w.patch8(len, length);
}

/** One line per capability, for logs and `kbgp show peer`. */
export function describeCapability(c: Capability): string {
  const fam = (f: Family): string => familyName(f.afi, f.safi);
  switch (c.kind) {
    case 'multiprotocol':
      return `Multiprotocol ${fam(c)}`;
    case 'graceful-restart': {
      const flags = [c.restarting ? 'R' : '', c.notification ? 'N' : ''].join('');
      const fams = c.families.map((f) => `${fam(f)}${f.forwardingState ? '(F)' : ''}`).join(' ');
      return `Graceful Restart time ${c.restartTime}s${flags ? ` flags ${flags}` : ''}${fams ? ` ${fams}` : ''}`;
    }
    case 'four-octet-as':
      return `4-octet AS ${c.asn}`;
    case 'add-path':
      return `ADD-PATH ${c.families.map((f) => `${fam(f)} ${f.mode}`).join(', ')}`;
    case 'extended-next-hop':
      return `Extended Next Hop ${c.entries.map((e) => `${fam(e)} via ${e.nextHopAfi === Afi.Ipv6 ? 'ipv6' : `afi-${e.nextHopAfi}`}`).join(', ')}`;
    case 'fqdn':
      return `FQDN ${c.hostname}${c.domain ? `.${c.domain}` : ''}`;
    case 'unknown':
      return `${capabilityName(c.code)} (code ${c.code}, ${c.value.length} octets ${c.value.toString('hex')})`;
    default:
      return capabilityName(capabilityCode(c));
  }
}
