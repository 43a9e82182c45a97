/**
 * Errors that end a session. Each one knows the NOTIFICATION it calls for (RFC 4271 §6), so the
 * session layer never has to translate: it catches a BgpError once and sends `toNotification()`.
 *
 * RFC 7606's softer outcomes (treat-as-withdraw, attribute discard) are not errors: they are
 * returned on the decoded UPDATE as `AttributeProblem`s, because the session goes on.
 */
import {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  HeaderSubcode,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
  errorName,
} from './constants.js';

export const EMPTY = Buffer.alloc(0);

export interface NotificationFields {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export abstract class BgpError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly subcode: number;
  readonly data: Buffer;

  constructor(message: string, data: Buffer = EMPTY) {
    super(message);
    this.name = new.target.name;
    // A view into a receive buffer must not outlive it: the NOTIFICATION is sent later.
    this.data = data.length === 0 ? EMPTY : Buffer.from(data);
  }

  /** The NOTIFICATION this error calls for. */
  toNotification(): NotificationFields {
    return { code: this.code, subcode: this.subcode, data: this.data };
  }

  /** `"UPDATE Message Error / Attribute Length Error: ORIGIN length 2, expected 1"`. */
  describe(): string {
    return `${errorName(this.code, this.subcode)}: ${this.message}`;
  }
}

export class MessageHeaderError extends BgpError {
  readonly code = ErrorCode.MessageHeader;
  constructor(readonly subcode: HeaderSubcode, message: string, data?: Buffer) {
    super(message, data);
  }
}

export class OpenMessageError extends BgpError {
  readonly code = ErrorCode.OpenMessage;
  constructor(readonly subcode: OpenSubcode, message: string, data?: Buffer) {
    super(message, data);
  }
}

export class UpdateMessageError extends BgpError {
  readonly code = ErrorCode.UpdateMessage;
  constructor(readonly subcode: UpdateSubcode, message: string, data?: Buffer) {
    super(message, data);
  }
}

export class FsmError extends BgpError {
  readonly code = ErrorCode.FiniteStateMachine;
  constructor(readonly subcode: FsmSubcode, message: string, data?: Buffer) {
    super(message, data);
  }
}

export class CeaseError extends BgpError {
  readonly code = ErrorCode.Cease;
  constructor(readonly subcode: CeaseSubcode, message: string, data?: Buffer) {
    super(message, data);
  }
}

export class RouteRefreshMessageError extends BgpError {
  readonly code = ErrorCode.RouteRefreshMessage;
  constructor(readonly subcode: (typeof RouteRefreshSubcode)[keyof typeof RouteRefreshSubcode], message: string, data?: Buffer) {
    super(message, data);
  }
}

/** RFC 4271 §6.1: the data of a Bad Message Length error is the erroneous Length field. */
export function badMessageLength(length: number, why: string): MessageHeaderError {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(length & 0xffff);
  return new MessageHeaderError(HeaderSubcode.BadMessageLength, `${why} (length ${length})`, data);
}
