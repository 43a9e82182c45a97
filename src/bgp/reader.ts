/** Makes the error to throw when a read would cross the end of a region. */
export type Overrun = () => Error;

/**
 * A bounds-checked cursor over a region of a Buffer. Every read is checked against `end`, and an
 * overrun throws the error the region's owner named when it fenced the region off with `sub()`:
 * an attribute can never read its neighbour, and a bad length always yields the NOTIFICATION the
 * RFC prescribes for the field that lied.
 */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    private readonly overrun: Overrun,
  ) {}

  static of(buf: Buffer, overrun: Overrun): Reader {
    return new Reader(buf, 0, buf.length, overrun);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw this.overrun();
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Everything left in the region, as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /**
   * Fences off the next n bytes as a region of their own. `overrun` is thrown both when n itself
   * overruns this region (the length field lied) and when a read inside the new region does.
   */
  sub(n: number, overrun: Overrun = this.overrun): Reader {
    if (this.pos + n > this.end) throw overrun();
    const r = new Reader(this.buf, this.pos, this.pos + n, overrun);
    this.pos += n;
    return r;
  }
}
