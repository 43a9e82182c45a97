/** ROUTE-REFRESH (RFC 2918) with the Enhanced Route Refresh subtypes of RFC 7313. */
import { HEADER_LENGTH, MessageType, RouteRefreshSubcode, RouteRefreshSubtype } from './constants.js';
import { RouteRefreshMessageError, badMessageLength } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface RouteRefreshMessage {
  readonly type: typeof MessageType.RouteRefresh;
  readonly afi: number;
  readonly safi: number;
  /** 0 request, 1 BoRR, 2 EoRR; RFC 7313 §5 says any other value is ignored by the receiver. */
  readonly subtype: number;
}

/** `message` is the whole message, which RFC 7313 §5 puts in the data of its length error. */
export function decodeRouteRefresh(r: Reader, message: Buffer): RouteRefreshMessage {
  if (r.remaining !== 4) {
    const subtype = r.remaining >= 3 ? r.buf[r.pos + 2] : undefined;
    if (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      throw new RouteRefreshMessageError(RouteRefreshSubcode.InvalidMessageLength, `ROUTE-REFRESH of ${r.remaining + HEADER_LENGTH} octets`, message);
    }
    throw badMessageLength(r.remaining + HEADER_LENGTH, 'ROUTE-REFRESH is not 23 octets');
  }
  const afi = r.u16();
  const subtype = r.u8();
  const safi = r.u8();
  return { type: MessageType.RouteRefresh, afi, safi, subtype };
}

export function encodeRouteRefresh(w: Writer, m: RouteRefreshMessage): void {
  w.u16(m.afi).u8(m.subtype).u8(m.safi);
}
