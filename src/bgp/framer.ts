/**
 * Cuts a TCP byte stream into whole BGP messages. It only checks what it needs to frame (marker
 * and length, RFC 4271 §6.1); decoding is someone else's job.
 *
 * A message that lies within one chunk is returned as a view of that chunk, with no copy. Only a
 * message split across chunks is copied, once, when its last byte arrives. Buffers handed out are
 * never written to again, so a caller may keep views into them (pg-protocol compacts in place
 * instead; that is faster but would make every view a hazard here).
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './message.js';

export class Framer {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Length of the held-back message once its header is complete, else 0. */
  private expected = 0;

  constructor(private maxMessageLength: number = MAX_MESSAGE_LENGTH) {}

  /** RFC 8654: after both sides announced Extended Message, lengths up to 65535 are valid. */
  setMaxMessageLength(max: number): void {
    this.maxMessageLength = max;
  }

  /** Octets held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** Returns the whole messages completed by `chunk`; throws a MessageHeaderError on a bad header. */
  push(chunk: Buffer): Buffer[] {
    let buf = chunk;
    if (this.pendingLength > 0) {
      const total = this.pendingLength + chunk.length;
      // Join only when the held-back message is complete (or its header is), so a large message
      // arriving in many small chunks is copied once, not once per chunk.
      if (total < (this.expected > 0 ? this.expected : HEADER_LENGTH)) {
        this.pending.push(chunk);
        this.pendingLength = total;
        return [];
      }
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, total);
      this.pending = [];
      this.pendingLength = 0;
      this.expected = 0;
    }
    const out: Buffer[] = [];
    let offset = 0;
    while (buf.length - offset >= HEADER_LENGTH) {
      const length = checkHeader(buf, offset, this.maxMessageLength);
      if (buf.length - offset < length) {
        this.expected = length;
        break;
      }
      out.push(buf.subarray(offset, offset + length));
      offset += length;
    }
    if (offset < buf.length) {
      this.pending = [buf.subarray(offset)];
      this.pendingLength = buf.length - offset;
    }
    return out;
  }
}
