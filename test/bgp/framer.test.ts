import { describe, expect, it } from 'vitest';
import { Afi, DEFAULT_CONTEXT, Framer, MessageHeaderError, Safi, ipv4Prefix, packAnnouncements } from '../../src/bgp/index.js';
import { demoMessages } from '../../src/cli/demo.js';
import { loadVector, message, vectorNames } from '../helpers/bytes.js';

/** Feeds `stream` cut at `cuts` (sorted offsets) and returns what came out, as hex. */
function frame(stream: Buffer, cuts: number[], framer = new Framer()): string[] {
  const out: string[] = [];
  let from = 0;
  for (const to of [...cuts, stream.length]) {
    for (const m of framer.push(stream.subarray(from, to))) out.push(m.toString('hex'));
    from = to;
  }
  expect(framer.buffered).toBe(0);
  return out;
}

describe('Framer', () => {
  const vectors = vectorNames();

  it('has golden vectors to frame', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  it.each(vectors)('reassembles %s split at every offset', (name) => {
    const bytes = loadVector(name);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(frame(bytes, [cut])).toEqual([bytes.toString('hex')]);
    }
  });

  it('reassembles every golden vector, back to back, split at every offset into three pieces', () => {
    const all = vectors.map(loadVector);
    const stream = Buffer.concat(all);
    const expected = all.map((b) => b.toString('hex'));
    // Two cuts at every pair of offsets would be quadratic in a long stream; a stride keeps it bounded.
    const stride = Math.max(1, Math.floor(stream.length / 200));
    let runs = 0;
    for (let a = 0; a <= stream.length; a += stride) {
      for (let b = a; b <= stream.length; b += stride * 7) {
        expect(frame(stream, [a, b])).toEqual(expected);
        runs++;
      }
    }
    expect(runs).toBeGreaterThan(100);
  });

  it('reassembles the demo messages fed one octet at a time', () => {
    const msgs = demoMessages().map((m) => m.bytes);
    const stream = Buffer.concat(msgs);
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(frame(stream, cuts)).toEqual(msgs.map((m) => m.toString('hex')));
  });

  it('returns views of the chunk without copying when a message lies within one chunk', () => {
    const k = message(4, []);
    const chunk = Buffer.concat([k, k]);
    const [first, second] = new Framer().push(chunk);
    expect(first?.buffer).toBe(chunk.buffer);
    expect(second?.byteOffset).toBe(chunk.byteOffset + 19);
  });

  it('never rewrites a buffer it has handed out', () => {
    const framer = new Framer();
    const k = message(4, []);
    const [held] = framer.push(Buffer.concat([k, k.subarray(0, 10)]));
    const before = held?.toString('hex');
    framer.push(Buffer.concat([k.subarray(10), Buffer.alloc(0)]));
    framer.push(Buffer.concat([message(3, [6, 2]), k]));
    expect(held?.toString('hex')).toBe(before);
  });

  it('frames 65535-octet messages once extended messages are negotiated, and refuses them before', () => {
    const prefixes = Array.from({ length: 20000 }, (_, i) => ipv4Prefix(0x0a000000 + i * 256, 24));
    const ctx = { ...DEFAULT_CONTEXT, maxMessageLength: 65535 };
    const [big] = packAnnouncements(Afi.Ipv4, Safi.Unicast, { origin: 0, asPath: [], nextHop: '192.0.2.1' }, prefixes, ctx);
    expect(big !== undefined && big.length > 60000).toBe(true);
    if (big === undefined) return;
    const cuts = Array.from({ length: Math.floor(big.length / 1000) }, (_, i) => (i + 1) * 1000);
    expect(frame(big, cuts, new Framer(65535))).toEqual([big.toString('hex')]);
    expect(() => new Framer().push(big)).toThrow(MessageHeaderError);
  });

  it('refuses a bad marker as soon as the header is complete, before the body arrives', () => {
    const bad = Buffer.from(message(2, new Array<number>(100).fill(0)));
    bad[3] = 0;
    const framer = new Framer();
    expect(framer.push(bad.subarray(0, 18))).toEqual([]);
    expect(() => framer.push(bad.subarray(18, 19))).toThrow(MessageHeaderError);
  });

  it('refuses a length below 19 with Bad Message Length and the length as data', () => {
    expect.assertions(3);
    try {
      new Framer().push(message(4, [], 5));
    } catch (e) {
      expect(e).toBeInstanceOf(MessageHeaderError);
      if (!(e instanceof MessageHeaderError)) return;
      expect(e.subcode).toBe(2);
      expect(e.data.toString('hex')).toBe('0005');
    }
  });
});
