/** `kbgp decode`: hex in, decoded messages out; the codec as an operator's tool. */
import { BgpError, Framer, IPV4_UNICAST, IPV6_UNICAST, type MessageContext, decodeMessage, describeMessage, errorName } from '../bgp/index.js';
import type { Json } from '../bgp/index.js';

export interface DecodeOptions {
  readonly fourOctetAs: boolean;
  readonly addPath: boolean;
  readonly extendedMessage: boolean;
  readonly ebgp: boolean;
}

export type DecodeResult = { readonly ok: true; readonly message: Json } | { readonly ok: false; readonly notification: Json };

/** Strips `#` comments and whitespace (the golden-vector format), so vectors can be piped in. */
export function hexToBuffer(text: string): Buffer {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error('input is not an even number of hex digits');
  return Buffer.from(clean, 'hex');
}

/** Frames and decodes a byte stream; stops at the first error, as a session would. */
export function decodeStream(bytes: Buffer, o: DecodeOptions): DecodeResult[] {
  const ctx: MessageContext = {
    fourOctetAs: o.fourOctetAs,
    ebgp: o.ebgp,
    maxMessageLength: o.extendedMessage ? 65535 : 4096,
    addPath: o.addPath ? new Set([IPV4_UNICAST, IPV6_UNICAST]) : new Set(),
  };
  const out: DecodeResult[] = [];
  try {
    const framer = new Framer(ctx.maxMessageLength);
    for (const m of framer.push(bytes)) out.push({ ok: true, message: describeMessage(decodeMessage(m, ctx)) });
    if (framer.buffered > 0) out.push({ ok: false, notification: { error: `${framer.buffered} trailing octets do not make a whole message` } });
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    out.push({
      ok: false,
      notification: { send: errorName(e.code, e.subcode), code: e.code, subcode: e.subcode, data: e.data.toString('hex'), reason: e.message },
    });
  }
  return out;
}
