/**
 * OPEN (RFC 4271 §4.2) with RFC 5492 capabilities and RFC 9072 extended optional parameters.
 * The checks here are the ones the message alone can decide (§6.2); whether the peer's AS and
 * identifier are the ones configured is the session's business.
 */
import { BGP_VERSION, MessageType, OpenSubcode, OptionalParameterType, capabilityName } from './constants.js';
import { type Capability, decodeCapability, encodeCapability, malformedCapability } from './capabilities.js';
import { OpenMessageError, badMessageLength } from './errors.js';
import { formatIpv4, parseIpv4 } from './prefix.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface OpenMessage {
  readonly type: typeof MessageType.Open;
  readonly version: number;
  /** The 2-octet My Autonomous System field; AS_TRANS when the real AS needs 4 octets. */
  readonly myAs: number;
  readonly holdTime: number;
  /** Dotted quad. */
  readonly bgpIdentifier: string;
  readonly capabilities: readonly Capability[];
}

/** The peer's AS: the 4-octet AS capability's when present (RFC 6793 §4.1), else My Autonomous System. */
export function openAs(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

const unspecific = (why: string) => () => new OpenMessageError(OpenSubcode.Unspecific, why);

/** Decodes an OPEN body (after the header). `r` covers exactly the body. */
export function decodeOpen(r: Reader): OpenMessage {
  // RFC 4271 §4.2: the fixed part is 10 octets, so an OPEN is at least 29 octets long.
  if (r.remaining < 10) throw badMessageLength(r.remaining + 19, 'OPEN shorter than 29 octets');
  const version = r.u8();
  if (version !== BGP_VERSION) {
    // RFC 4271 §6.2: the data is the largest version we support.
    throw new OpenMessageError(OpenSubcode.UnsupportedVersionNumber, `version ${version} is not 4`, Buffer.from([0, BGP_VERSION]));
  }
  const myAs = r.u16();
  const holdTime = r.u16();
  const id = r.u32();
  let optLength = r.u8();
  let extended = false;
  // RFC 9072 §2: a Non-Ext OP Type of 255 in the first parameter's place announces 2-octet lengths.
  if (optLength > 0 && r.remaining > 0 && r.buf[r.pos] === OptionalParameterType.ExtendedLength) {
    r.u8();
    optLength = r.u16();
    extended = true;
  }
  if (optLength !== r.remaining) {
    throw new OpenMessageError(
      OpenSubcode.Unspecific,
      `optional parameters length ${optLength} disagrees with the ${r.remaining} octets left in the message`,
    );
  }
  const capabilities: Capability[] = [];
  while (!r.atEnd()) {
    const type = r.u8();
    const length = extended ? r.u16() : r.u8();
    const param = r.sub(length, unspecific(`optional parameter ${type} overruns the optional parameters`));
    if (type !== OptionalParameterType.Capabilities) {
      throw new OpenMessageError(OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${type} is not supported`);
    }
    while (!param.atEnd()) {
      const code = param.u8();
      const len = param.u8();
      const value = param.sub(len, () => malformedCapability(code, `length ${len} overruns the capabilities parameter`));
      capabilities.push(decodeCapability(code, value));
    }
  }
  // RFC 7607: AS 0 is never a valid peer AS, in either AS field.
  if (myAs === 0) throw new OpenMessageError(OpenSubcode.BadPeerAs, 'My Autonomous System is 0');
  for (const c of capabilities) {
    if (c.kind === 'four-octet-as' && c.asn === 0) {
      throw new OpenMessageError(OpenSubcode.BadPeerAs, `${capabilityName(65)} capability carries AS 0`);
    }
  }
  // RFC 4271 §6.2: hold time 1 or 2 seconds is unacceptable; 0 means no keepalives at all.
  if (holdTime === 1 || holdTime === 2) {
    throw new OpenMessageError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} s is neither 0 nor at least 3 s`);
  }
  // RFC 6286 §2.1: any non-zero 4-octet value is a valid BGP Identifier.
  if (id === 0) throw new OpenMessageError(OpenSubcode.BadBgpIdentifier, 'BGP Identifier is 0.0.0.0');
  return { type: MessageType.Open, version, myAs, holdTime, bgpIdentifier: formatIpv4(id), capabilities };
}

/**
 * Encodes an OPEN body. Capabilities go in one Capabilities parameter; if they need more than
 * 255 octets, the RFC 9072 extended form is used, which every peer that could receive such an
 * OPEN understands (and a peer that doesn't would fail on the size anyway).
 */
export function encodeOpen(w: Writer, m: OpenMessage): void {
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).u32(parseIpv4(m.bgpIdentifier));
  const optLen = w.reserve(1);
  if (m.capabilities.length === 0) {
    w.patch8(optLen, 0);
    return;
  }
  const paramStart = w.pos;
  w.u8(OptionalParameterType.Capabilities);
  const paramLen = w.reserve(1);
  const capStart = w.pos;
  for (const c of m.capabilities) encodeCapability(w, c);
  const capLength = w.pos - capStart;
  if (capLength <= 253) {
    w.patch8(paramLen, capLength);
    w.patch8(optLen, w.pos - paramStart);
    return;
  }
  // Rewrite in the extended form: 255, 255, 2-octet length, then the parameter with a 2-octet length.
  const caps = Buffer.from(w.finish().subarray(capStart));
  w.pos = paramStart - 1;
  w.u8(255).u8(OptionalParameterType.ExtendedLength).u16(capLength + 3);
  w.u8(OptionalParameterType.Capabilities).u16(capLength).bytes(caps);
}
