/**
 * NOTIFICATION (RFC 4271 §4.5) with the shutdown communication of RFC 8203/9003 for Cease
 * subcodes Administrative Shutdown and Administrative Reset, also inside an RFC 8538 Hard Reset
 * (whose data is the hardened NOTIFICATION's code and subcode followed by its data).
 */
import { CeaseSubcode, ErrorCode, HEADER_LENGTH, MessageType, errorName } from './constants.js';
import { badMessageLength } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface NotificationMessage {
  readonly type: typeof MessageType.Notification;
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  /** RFC 9003: the operator's words, when the data carries a valid shutdown communication. */
  readonly shutdownCommunication?: string;
}

/** RFC 9003 §2: up to 255 octets of UTF-8 (RFC 8203 allowed 128). */
export const MAX_SHUTDOWN_COMMUNICATION = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === ErrorCode.Cease && (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset);
}

/**
 * RFC 9003 §2: a length beyond the data or invalid UTF-8 is not an error to answer (nothing answers
 * a NOTIFICATION); the words are just not shown, and the raw data stays for the log.
 */
function decodeShutdownCommunication(data: Buffer): string | undefined {
  if (data.length === 0) return undefined;
  const length = data[0] as number;
  if (length === 0 || length > data.length - 1) return undefined;
  try {
    return utf8.decode(data.subarray(1, 1 + length));
  } catch {
    return undefined;
  }
}

export function decodeNotification(r: Reader): NotificationMessage {
  if (r.remaining < 2) throw badMessageLength(r.remaining + HEADER_LENGTH, 'NOTIFICATION shorter than 21 octets');
  const code = r.u8();
  const subcode = r.u8();
  const data = r.rest();
  // RFC 8538 §3: a Hard Reset's data is the encapsulated NOTIFICATION's code, subcode and data.
  const hard = code === ErrorCode.Cease && subcode === CeaseSubcode.HardReset && data.length >= 2;
  const text = carriesShutdownCommunication(code, subcode)
    ? decodeShutdownCommunication(data)
    : hard && carriesShutdownCommunication(data[0] as number, data[1] as number)
      ? decodeShutdownCommunication(data.subarray(2))
      : undefined;
  return text === undefined
    ? { type: MessageType.Notification, code, subcode, data }
    : { type: MessageType.Notification, code, subcode, data, shutdownCommunication: text };
}

export function encodeNotification(w: Writer, m: NotificationMessage): void {
  w.u8(m.code).u8(m.subcode).bytes(m.data);
}

/** Truncates to at most `max` octets of UTF-8 without splitting a character. */
function truncateUtf8(text: string, max: number): Buffer {
  const b = Buffer.from(text, 'utf8');
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** A Cease NOTIFICATION (subcode 2 or 4) with an RFC 9003 shutdown communication. */
export function shutdownNotification(subcode: typeof CeaseSubcode.AdministrativeShutdown | typeof CeaseSubcode.AdministrativeReset, text: string): NotificationMessage {
  const words = truncateUtf8(text, MAX_SHUTDOWN_COMMUNICATION);
  const data = words.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([words.length]), words]);
  const m: NotificationMessage = { type: MessageType.Notification, code: ErrorCode.Cease, subcode, data };
  return words.length === 0 ? m : { ...m, shutdownCommunication: words.toString('utf8') };
}

/**
 * RFC 8538 §3: the same Cease, hardened: the peer must not keep our routes for a graceful restart.
 * Sent instead of the plain Cease to a peer that negotiated the N bit.
 */
export function hardReset(m: NotificationMessage): NotificationMessage {
  const hard: NotificationMessage = { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.HardReset, data: Buffer.concat([Buffer.from([m.code, m.subcode]), m.data]) };
  return m.shutdownCommunication === undefined ? hard : { ...hard, shutdownCommunication: m.shutdownCommunication };
}

/** `Cease / Administrative Shutdown: "maintenance"` or `UPDATE Message Error / ... (data 0003)`. */
export function describeNotification(m: NotificationMessage): string {
  const inner = m.code === ErrorCode.Cease && m.subcode === CeaseSubcode.HardReset && m.data.length >= 2 ? errorName(m.data[0] as number, m.data[1] as number) : undefined;
  const name = inner === undefined ? errorName(m.code, m.subcode) : `${errorName(m.code, m.subcode)} (${m.data[0] === ErrorCode.Cease ? inner.replace(/^[^/]*\/ /, '') : inner})`;
  if (m.shutdownCommunication !== undefined) return `${name}: ${JSON.stringify(m.shutdownCommunication)}`;
  // A Hard Reset's own code and subcode are named above; what follows them is the data.
  const data = inner === undefined ? m.data : m.data.subarray(2);
  return data.length > 0 ? `${name} (data ${data.toString('hex')})` : name;
}
