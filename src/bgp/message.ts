/**
 * Whole messages: the RFC 4271 §4.1 header, dispatch by type, and the session context a message
 * is read or written in. `decodeMessage` either returns a typed message or throws a BgpError that
 * carries the NOTIFICATION to send; nothing else escapes it (the property tests hold it to that).
 */
import {
  HEADER_LENGTH,
  HeaderSubcode,
  MARKER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  messageTypeName,
} from './constants.js';
import { MessageHeaderError, badMessageLength } from './errors.js';
import { type NotificationMessage, decodeNotification, encodeNotification } from './notification.js';
import { type OpenMessage, decodeOpen, encodeOpen } from './open.js';
import { Reader } from './reader.js';
import { type RouteRefreshMessage, decodeRouteRefresh, encodeRouteRefresh } from './route-refresh.js';
import { type UpdateContext, type UpdateMessage, decodeUpdate, encodeUpdate } from './update.js';
import { Writer } from './writer.js';

export interface KeepaliveMessage {
  readonly type: typeof MessageType.Keepalive;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** What was negotiated that changes the bytes: AS number size, ADD-PATH, the message size limit. */
export interface MessageContext extends UpdateContext {
  /** 4096, or 65535 once both sides sent the RFC 8654 Extended Message capability. */
  readonly maxMessageLength: number;
}

/** Before OPENs are exchanged only OPEN, KEEPALIVE and NOTIFICATION flow, and none depends on this. */
export const DEFAULT_CONTEXT: MessageContext = { fourOctetAs: true, maxMessageLength: MAX_MESSAGE_LENGTH };

export const KEEPALIVE: KeepaliveMessage = { type: MessageType.Keepalive };

/** Thrown when asked to encode a message that exceeds the negotiated size: a caller's bug, not the peer's. */
export class MessageTooLong extends RangeError {}

/** RFC 4271 §6.1 checks on a header; `length` is the whole message's. */
export function checkHeader(buf: Buffer, offset: number, maxMessageLength: number): number {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[offset + i] !== 0xff) throw new MessageHeaderError(HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
  }
  const length = buf.readUInt16BE(offset + MARKER_LENGTH);
  if (length < HEADER_LENGTH || length > maxMessageLength) {
    throw badMessageLength(length, `length outside ${HEADER_LENGTH}..${maxMessageLength}`);
  }
  return length;
}

/** Decodes one whole message, as the Framer delivers it. */
export function decodeMessage(message: Buffer, ctx: MessageContext = DEFAULT_CONTEXT): BgpMessage {
  if (message.length < HEADER_LENGTH) throw badMessageLength(message.length, 'message shorter than its header');
  const length = checkHeader(message, 0, Math.max(ctx.maxMessageLength, MAX_MESSAGE_LENGTH));
  if (length !== message.length) throw badMessageLength(length, `length field disagrees with the ${message.length} octets framed`);
  const type = message[MARKER_LENGTH + 2] as number;
  const body = new Reader(message, HEADER_LENGTH, length, () => badMessageLength(length, `${messageTypeName(type)} is truncated`));
  switch (type) {
    case MessageType.Open:
      // RFC 8654 §4: OPEN stays within 4096 octets even where extended messages are negotiated.
      if (length > MAX_MESSAGE_LENGTH) throw badMessageLength(length, 'OPEN longer than 4096 octets');
      return decodeOpen(body);
    case MessageType.Update:
      return decodeUpdate(body, ctx);
    case MessageType.Notification:
      return decodeNotification(body);
    case MessageType.Keepalive:
      // RFC 4271 §4.4: a KEEPALIVE is the header alone.
      if (length !== HEADER_LENGTH) throw badMessageLength(length, 'KEEPALIVE is not 19 octets');
      return KEEPALIVE;
    case MessageType.RouteRefresh:
      return decodeRouteRefresh(body, message);
    default:
      throw new MessageHeaderError(HeaderSubcode.BadMessageType, `message type ${type} is not defined`, Buffer.from([type]));
  }
}

/** Encodes a whole message, header included. */
export function encodeMessage(m: BgpMessage, ctx: MessageContext = DEFAULT_CONTEXT): Buffer {
  const w = new Writer(m.type === MessageType.Update ? 4096 : 64);
  w.fill(0xff, MARKER_LENGTH);
  const lengthAt = w.reserve(2);
  w.u8(m.type);
  switch (m.type) {
    case MessageType.Open:
      encodeOpen(w, m);
      break;
    case MessageType.Update:
      encodeUpdate(w, m, ctx);
      break;
    case MessageType.Notification:
      encodeNotification(w, m);
      break;
    case MessageType.Keepalive:
      break;
    case MessageType.RouteRefresh:
      encodeRouteRefresh(w, m);
      break;
  }
  const max = m.type === MessageType.Open || m.type === MessageType.Keepalive ? MAX_MESSAGE_LENGTH : Math.min(ctx.maxMessageLength, MAX_EXTENDED_MESSAGE_LENGTH);
  if (w.pos > max) throw new MessageTooLong(`${messageTypeName(m.type)} of ${w.pos} octets exceeds ${max}`);
  w.patch16(lengthAt, w.pos);
  return w.finish();
}
