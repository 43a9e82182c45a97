import { AttrFlag } from './constants.js';

/**
 * A growable output buffer with back-filled length fields, so a message or attribute is written
 * once, front to back, and its length is patched in when it is known.
 */
export class Writer {
  private buf: Buffer;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  fill(value: number, n: number): this {
    this.ensure(n);
    this.buf.fill(value, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Reserves a 1- or 2-octet length field and returns where it is, for `patch8`/`patch16`. */
  reserve(octets: 1 | 2): number {
    const at = this.pos;
    this.ensure(octets);
    this.pos += octets;
    return at;
  }

  patch8(at: number, v: number): void {
    this.buf[at] = v;
  }

  patch16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }

  /**
   * Starts a path attribute with a 2-octet length; `endAttribute` shrinks it to one octet when the
   * value fits, so the Extended Length flag is set exactly when needed (RFC 4271 §4.3).
   */
  beginAttribute(flags: number, type: number): number {
    const start = this.pos;
    this.u8(flags | AttrFlag.ExtendedLength).u8(type);
    this.reserve(2);
    return start;
  }

  endAttribute(start: number): void {
    const valueStart = start + 4;
    const length = this.pos - valueStart;
    if (length <= 255) {
      this.buf[start] = (this.buf[start] as number) & ~AttrFlag.ExtendedLength;
      this.buf[start + 2] = length;
      this.buf.copyWithin(start + 3, valueStart, this.pos);
      this.pos -= 1;
    } else {
      this.buf.writeUInt16BE(length, start + 2);
    }
  }

  /** The bytes written so far, as a Buffer of their own. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
