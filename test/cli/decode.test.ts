import { describe, expect, it } from 'vitest';
import { decodeStream, hexToBuffer } from '../../src/cli/decode.js';
import { demoMessages, runDemo } from '../../src/cli/demo.js';

const opts = { fourOctetAs: true, addPath: false, extendedMessage: false, ebgp: false };

describe('kbgp decode', () => {
  it('reads hex with comments and whitespace', () => {
    expect(hexToBuffer('ff ff # marker\n00 13 # length\n').toString('hex')).toBe('ffff0013');
  });

  it('refuses an odd number of hex digits', () => {
    expect(() => hexToBuffer('fff')).toThrow(/hex digits/);
  });

  it('decodes a stream of messages into their printable forms', () => {
    const results = decodeStream(Buffer.concat(demoMessages().map((m) => m.bytes)), opts);
    expect(results.map((r) => (r.ok && typeof r.message === 'object' && r.message !== null && !Array.isArray(r.message) ? r.message.type : 'error'))).toEqual([
      'OPEN',
      'KEEPALIVE',
      'UPDATE',
      'UPDATE',
      'UPDATE',
      'NOTIFICATION',
    ]);
  });

  it('names the NOTIFICATION it would send for a bad message', () => {
    const [r] = decodeStream(hexToBuffer('ffffffffffffffffffffffffffffffff001306'), opts);
    expect(r).toEqual({
      ok: false,
      notification: { send: 'Message Header Error / Bad Message Type', code: 1, subcode: 3, data: '06', reason: 'message type 6 is not defined' },
    });
  });

  it('says so when the input ends inside a message', () => {
    const results = decodeStream(hexToBuffer('ffffffffffffffffffffffffffffffff0014'), opts);
    expect(results).toEqual([{ ok: false, notification: { error: '18 trailing octets do not make a whole message' } }]);
  });
});

describe('kbgp demo', () => {
  it('prints every demo message reassembled and decoded', () => {
    const lines: string[] = [];
    runDemo((l) => lines.push(l));
    const titles = lines.filter((l) => l.startsWith('== '));
    expect(titles).toHaveLength(demoMessages().length);
    expect(lines.join('\n')).toContain('"GRACEFUL_SHUTDOWN"');
    expect(lines.join('\n')).toContain('"fd00:10:96::/112"');
    expect(lines.join('\n')).toContain('node drained for maintenance');
  });
});
