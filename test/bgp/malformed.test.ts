/**
 * Malformed messages, one row each, with the exact outcome the RFCs prescribe: the NOTIFICATION
 * (code, subcode and data bytes) for session-fatal errors, or the RFC 7606 outcome (which
 * attributes made the UPDATE treat-as-withdraw, which were discarded) for the rest.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, Framer, IPV4_UNICAST, type MessageContext, type UpdateMessage, decodeMessage } from '../../src/bgp/index.js';
import {
  AS_PATH_65001,
  AS_PATH_65001_4,
  MANDATORY_4,
  NEXT_HOP_192_0_2_1,
  ORIGIN_IGP,
  attr,
  capabilities,
  ip4,
  message,
  open,
  u16,
  u32,
  update,
} from '../helpers/bytes.js';

const IBGP4: MessageContext = { fourOctetAs: true, maxMessageLength: 4096 };
const EBGP4: MessageContext = { ...IBGP4, ebgp: true };
const TWO_OCTET: MessageContext = { fourOctetAs: false, maxMessageLength: 4096 };
const ADD_PATH: MessageContext = { ...IBGP4, addPath: new Set([IPV4_UNICAST]) };
const EXTENDED: MessageContext = { ...IBGP4, maxMessageLength: 65535 };

/** NLRI 10.0.0.0/8: something for treat-as-withdraw to act on. */
const NLRI = [8, 10];
const V6 = (s: string): number[] => [...Buffer.from(s.replace(/:/g, ''), 'hex')];
const GLOBAL = V6('20010db8000000000000000000000001');
/** A well-formed MP_REACH_NLRI value for 2001:db8::/32 via 2001:db8::1. */
const MP_REACH_V6 = [0, 2, 1, 16, ...GLOBAL, 0, 32, 0x20, 0x01, 0x0d, 0xb8];

type Outcome =
  | { notify: readonly [code: number, subcode: number, data: string] }
  | { withdraw: readonly number[]; discard?: readonly number[] }
  | { discard: readonly number[] };

type Row = readonly [name: string, bytes: Buffer, ctx: MessageContext, outcome: Outcome];

const notify = (code: number, subcode: number, data: Buffer | string = ''): Outcome => ({
  notify: [code, subcode, typeof data === 'string' ? data : data.toString('hex')],
});
const hexOf = (bytes: number[]): string => Buffer.from(bytes).toString('hex');
const withNlri = (attrs: number[]): Buffer => update({ attrs, nlri: NLRI });

const bigMessage = (length: number, type: number): Buffer => message(type, new Array<number>(length - 19).fill(0));

const rows: Row[] = [
  // --- RFC 4271 §6.1 message header
  ['marker not all ones', Buffer.from([...new Array<number>(15).fill(0xff), 0xfe, 0, 19, 4]), IBGP4, notify(1, 1)],
  ['length below 19', message(4, [], 18), IBGP4, notify(1, 2, '0012')],
  ['length above 4096 without extended messages', bigMessage(4097, 2), IBGP4, notify(1, 2, '1001')],
  ['OPEN above 4096 even with extended messages', bigMessage(4097, 1), EXTENDED, notify(1, 2, '1001')],
  ['KEEPALIVE above 4096 even with extended messages', bigMessage(4097, 4), EXTENDED, notify(1, 2, '1001')],
  ['type 0 is undefined', message(0, []), IBGP4, notify(1, 3, '00')],
  ['type 6 is undefined', message(6, []), IBGP4, notify(1, 3, '06')],
  ['KEEPALIVE with a body', message(4, [0]), IBGP4, notify(1, 2, '0014')],
  ['OPEN shorter than 29 octets', message(1, [4, 0xfd, 0xe9, 0, 90, 1, 2, 3, 4]), IBGP4, notify(1, 2, '001c')],
  ['UPDATE shorter than 23 octets', message(2, [0, 0, 0]), IBGP4, notify(1, 2, '0016')],
  ['NOTIFICATION shorter than 21 octets', message(3, [6]), IBGP4, notify(1, 2, '0014')],
  ['ROUTE-REFRESH shorter than 23 octets', message(5, [0, 1, 0]), IBGP4, notify(1, 2, '0016')],
  ['ROUTE-REFRESH longer than 23 octets', message(5, [0, 1, 0, 1, 0]), IBGP4, notify(1, 2, '0018')],
  // RFC 7313 §5: a BoRR/EoRR of the wrong length is a ROUTE-REFRESH error carrying the whole message.
  ['BoRR with a trailing octet', message(5, [0, 1, 1, 1, 0]), IBGP4, notify(7, 1, message(5, [0, 1, 1, 1, 0]))],
  ['EoRR missing its SAFI', message(5, [0, 2, 2]), IBGP4, notify(7, 1, message(5, [0, 2, 2]))],

  // --- RFC 4271 §6.2 OPEN
  ['OPEN version 3', open({ version: 3 }), IBGP4, notify(2, 1, '0004')],
  ['OPEN My AS 0 (RFC 7607)', open({ myAs: 0 }), IBGP4, notify(2, 2)],
  ['OPEN 4-octet AS capability with AS 0', open({ params: capabilities([65, ...u32(0)]) }), IBGP4, notify(2, 2)],
  ['OPEN hold time 1', open({ holdTime: 1 }), IBGP4, notify(2, 6)],
  ['OPEN hold time 2', open({ holdTime: 2 }), IBGP4, notify(2, 6)],
  ['OPEN BGP Identifier 0.0.0.0', open({ id: '0.0.0.0' }), IBGP4, notify(2, 3)],
  ['OPEN with the deprecated authentication parameter', open({ params: [1, 2, 0, 0] }), IBGP4, notify(2, 4)],
  ['OPEN optional parameters length beyond the message', open({ params: capabilities([2]), optLength: 5 }), IBGP4, notify(2, 0)],
  ['OPEN optional parameters length short of the message', open({ params: capabilities([2]), optLength: 2 }), IBGP4, notify(2, 0)],
  ['OPEN parameter overruns the optional parameters', open({ params: [2, 9, 2, 0] }), IBGP4, notify(2, 0)],
  ['OPEN capability overruns its parameter', open({ params: [2, 3, 65, 4, 0] }), IBGP4, notify(2, 0)],
  ['OPEN multiprotocol capability of 3 octets', open({ params: capabilities([1, 0, 1, 0]) }), IBGP4, notify(2, 0)],
  ['OPEN route refresh capability with a value', open({ params: capabilities([2, 0]) }), IBGP4, notify(2, 0)],
  ['OPEN ADD-PATH Send/Receive value 4', open({ params: capabilities([69, 0, 1, 1, 4]) }), IBGP4, notify(2, 0)],
  ['OPEN graceful restart capability of 3 octets', open({ params: capabilities([64, 0, 120, 0]) }), IBGP4, notify(2, 0)],
  ['OPEN extended next hop capability of 4 octets', open({ params: capabilities([5, 0, 1, 0, 1]) }), IBGP4, notify(2, 0)],
  ['OPEN FQDN capability whose hostname overruns it', open({ params: capabilities([73, 9, 0x61]) }), IBGP4, notify(2, 0)],
  ['OPEN RFC 9072 extended length disagreeing with the message', open({ params: [255, 0, 9, 2, 0, 2, 2, 0], optLength: 255 }), IBGP4, notify(2, 0)],

  // --- RFC 4271 §6.3 UPDATE structure (session reset)
  ['withdrawn routes length overruns the message', update({ withdrawn: [8, 10] }, { withdrawnLength: 9 }), IBGP4, notify(3, 1)],
  ['total attribute length overruns the message', update({ attrs: MANDATORY_4 }, { attrLength: MANDATORY_4.length + 1 }), IBGP4, notify(3, 1)],
  ['withdrawn prefix length 33', update({ withdrawn: [33, 10, 0, 0, 0, 0] }), IBGP4, notify(3, 10)],
  ['withdrawn prefix overruns its field', update({ withdrawn: [24, 10, 0] }), IBGP4, notify(3, 10)],
  ['NLRI prefix length 33', update({ attrs: MANDATORY_4, nlri: [33, 10, 0, 0, 0, 0] }), IBGP4, notify(3, 10)],
  ['NLRI prefix truncated', update({ attrs: MANDATORY_4, nlri: [24, 10, 0] }), IBGP4, notify(3, 10)],
  ['ADD-PATH NLRI with a truncated path identifier', update({ attrs: MANDATORY_4, nlri: [0, 0, 1] }), ADD_PATH, notify(3, 10)],
  ['ADD-PATH NLRI with a path identifier and no prefix', update({ attrs: MANDATORY_4, nlri: [0, 0, 0, 1] }), ADD_PATH, notify(3, 10)],
  ['ADD-PATH withdrawn route prefix length 40', update({ withdrawn: [0, 0, 0, 7, 40, 10, 0, 0, 0, 0] }), ADD_PATH, notify(3, 10)],
  [
    'unrecognized well-known attribute',
    withNlri([...MANDATORY_4, ...attr(0x40, 99, [1, 2])]),
    IBGP4,
    notify(3, 2, hexOf(attr(0x40, 99, [1, 2]))),
  ],
  ['MP_REACH_NLRI twice', update({ attrs: [...attr(0x80, 14, MP_REACH_V6), ...attr(0x80, 14, MP_REACH_V6), ...ORIGIN_IGP, ...AS_PATH_65001_4] }), IBGP4, notify(3, 1)],
  ['MP_UNREACH_NLRI twice', update({ attrs: [...attr(0x80, 15, [0, 2, 1]), ...attr(0x80, 15, [0, 2, 1])] }), IBGP4, notify(3, 1)],
  [
    'MP_REACH_NLRI IPv6 next hop of 5 octets',
    update({ attrs: attr(0x80, 14, [0, 2, 1, 5, 1, 2, 3, 4, 5, 0]) }),
    IBGP4,
    notify(3, 9, hexOf(attr(0x80, 14, [0, 2, 1, 5, 1, 2, 3, 4, 5, 0]))),
  ],
  [
    'MP_REACH_NLRI IPv4 next hop of 8 octets',
    update({ attrs: attr(0x80, 14, [0, 1, 1, 8, ...ip4('192.0.2.1'), ...ip4('192.0.2.2'), 0]) }),
    IBGP4,
    notify(3, 9, hexOf(attr(0x80, 14, [0, 1, 1, 8, ...ip4('192.0.2.1'), ...ip4('192.0.2.2'), 0]))),
  ],
  ['MP_REACH_NLRI of 3 octets', update({ attrs: attr(0x80, 14, [0, 2, 1]) }), IBGP4, notify(3, 9, hexOf(attr(0x80, 14, [0, 2, 1])))],
  [
    'MP_REACH_NLRI next hop overruns the attribute',
    update({ attrs: attr(0x80, 14, [0, 2, 1, 16, 0x20, 0x01]) }),
    IBGP4,
    notify(3, 9, hexOf(attr(0x80, 14, [0, 2, 1, 16, 0x20, 0x01]))),
  ],
  ['MP_REACH_NLRI prefix length 129', update({ attrs: [...attr(0x80, 14, [0, 2, 1, 16, ...GLOBAL, 0, 129, ...new Array<number>(17).fill(0)]), ...ORIGIN_IGP, ...AS_PATH_65001_4] }), IBGP4, notify(3, 10)],
  ['MP_UNREACH_NLRI prefix overruns the attribute', update({ attrs: attr(0x80, 15, [0, 2, 1, 64, 0x20, 0x01]) }), IBGP4, notify(3, 10)],
  ['MP_UNREACH_NLRI of 2 octets', update({ attrs: attr(0x80, 15, [0, 2]) }), IBGP4, notify(3, 9, hexOf(attr(0x80, 15, [0, 2])))],
  [
    'MP_REACH_NLRI flagged well-known',
    update({ attrs: [...attr(0x40, 14, MP_REACH_V6), ...ORIGIN_IGP, ...AS_PATH_65001_4] }),
    IBGP4,
    notify(3, 4, hexOf(attr(0x40, 14, MP_REACH_V6))),
  ],
  [
    'MP_REACH_NLRI length overruns the path attributes',
    update({ attrs: attr(0x80, 14, MP_REACH_V6, MP_REACH_V6.length + 4) }),
    IBGP4,
    notify(3, 5, hexOf(attr(0x80, 14, MP_REACH_V6, MP_REACH_V6.length + 4))),
  ],

  // --- RFC 7606 §7 treat-as-withdraw, attribute by attribute
  ['ORIGIN of 2 octets', withNlri([...attr(0x40, 1, [0, 0]), ...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [1] }],
  ['ORIGIN value 3', withNlri([...attr(0x40, 1, [3]), ...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [1] }],
  ['ORIGIN flagged optional (RFC 7606 §3(c))', withNlri([...attr(0xc0, 1, [0]), ...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [1] }],
  ['AS_PATH segment type 5', withNlri([...ORIGIN_IGP, ...attr(0x40, 2, [5, 1, ...u32(65001)]), ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['AS_PATH segment of length 0', withNlri([...ORIGIN_IGP, ...attr(0x40, 2, [2, 0]), ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['AS_PATH segment overruns the attribute', withNlri([...ORIGIN_IGP, ...attr(0x40, 2, [2, 2, ...u32(65001)]), ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['AS_PATH with one trailing octet', withNlri([...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(65001), 2]), ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['AS_PATH of 2-octet ASes read on a 4-octet session', withNlri([...ORIGIN_IGP, ...AS_PATH_65001, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['AS_PATH with a confederation segment from an external peer', withNlri([...ORIGIN_IGP, ...attr(0x40, 2, [3, 1, ...u32(65001)]), ...NEXT_HOP_192_0_2_1]), EBGP4, { withdraw: [2] }],
  ['NEXT_HOP of 5 octets', withNlri([...ORIGIN_IGP, ...AS_PATH_65001_4, ...attr(0x40, 3, [192, 0, 2, 1, 0])]), IBGP4, { withdraw: [3] }],
  ['MULTI_EXIT_DISC of 3 octets', withNlri([...MANDATORY_4, ...attr(0x80, 4, [0, 0, 1])]), IBGP4, { withdraw: [4] }],
  ['LOCAL_PREF of 2 octets', withNlri([...MANDATORY_4, ...attr(0x40, 5, [0, 100])]), IBGP4, { withdraw: [5] }],
  ['COMMUNITIES of 5 octets', withNlri([...MANDATORY_4, ...attr(0xc0, 8, [0, 1, 0, 1, 0])]), IBGP4, { withdraw: [8] }],
  ['COMMUNITIES of 0 octets', withNlri([...MANDATORY_4, ...attr(0xc0, 8, [])]), IBGP4, { withdraw: [8] }],
  ['ORIGINATOR_ID of 5 octets', withNlri([...MANDATORY_4, ...attr(0x80, 9, [1, 2, 3, 4, 5])]), IBGP4, { withdraw: [9] }],
  ['CLUSTER_LIST of 6 octets', withNlri([...MANDATORY_4, ...attr(0x80, 10, [1, 2, 3, 4, 5, 6])]), IBGP4, { withdraw: [10] }],
  ['EXTENDED_COMMUNITIES of 7 octets', withNlri([...MANDATORY_4, ...attr(0xc0, 16, [0, 2, 0, 1, 0, 0, 0])]), IBGP4, { withdraw: [16] }],
  ['LARGE_COMMUNITY of 13 octets (RFC 8092 §6)', withNlri([...MANDATORY_4, ...attr(0xc0, 32, new Array<number>(13).fill(1))]), IBGP4, { withdraw: [32] }],
  ['missing ORIGIN', withNlri([...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [1] }],
  ['missing AS_PATH', withNlri([...ORIGIN_IGP, ...NEXT_HOP_192_0_2_1]), IBGP4, { withdraw: [2] }],
  ['missing NEXT_HOP with IPv4 NLRI', withNlri([...ORIGIN_IGP, ...AS_PATH_65001_4]), IBGP4, { withdraw: [3] }],
  ['missing ORIGIN with MP_REACH_NLRI only', update({ attrs: [...attr(0x80, 14, MP_REACH_V6), ...AS_PATH_65001_4] }), IBGP4, { withdraw: [1] }],
  ['two octets left where an attribute header should be', withNlri([...MANDATORY_4, 0x40, 1]), IBGP4, { withdraw: [0] }],
  ['COMMUNITIES length overruns the path attributes', withNlri([...MANDATORY_4, ...attr(0xc0, 8, [0, 1, 0, 1], 8)]), IBGP4, { withdraw: [8] }],
  ['malformed ORIGIN and malformed ATOMIC_AGGREGATE: both reported', withNlri([...attr(0x40, 1, [7]), ...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1, ...attr(0x40, 6, [1])]), IBGP4, { withdraw: [1], discard: [6] }],

  // --- RFC 7606 §7 attribute discard; RFC 6793 §6
  ['ATOMIC_AGGREGATE of 1 octet', withNlri([...MANDATORY_4, ...attr(0x40, 6, [0])]), IBGP4, { discard: [6] }],
  ['AGGREGATOR of 6 octets on a 4-octet session', withNlri([...MANDATORY_4, ...attr(0xc0, 7, [...u16(65001), ...ip4('192.0.2.1')])]), IBGP4, { discard: [7] }],
  [
    'AGGREGATOR of 8 octets on a 2-octet session',
    withNlri([...ORIGIN_IGP, ...AS_PATH_65001, ...NEXT_HOP_192_0_2_1, ...attr(0xc0, 7, [...u32(65001), ...ip4('192.0.2.1')])]),
    TWO_OCTET,
    { discard: [7] },
  ],
  ['AGGREGATOR flagged non-transitive', withNlri([...MANDATORY_4, ...attr(0x80, 7, [...u32(65001), ...ip4('192.0.2.1')])]), IBGP4, { discard: [7] }],
  ['AS4_PATH with a zero-length segment', withNlri([...ORIGIN_IGP, ...AS_PATH_65001, ...NEXT_HOP_192_0_2_1, ...attr(0xc0, 17, [2, 0])]), TWO_OCTET, { discard: [17] }],
  ['AS4_AGGREGATOR of 6 octets', withNlri([...ORIGIN_IGP, ...AS_PATH_65001, ...NEXT_HOP_192_0_2_1, ...attr(0xc0, 18, [...u16(1), ...ip4('192.0.2.1')])]), TWO_OCTET, { discard: [18] }],
  ['LOCAL_PREF from an external peer', withNlri([...MANDATORY_4, ...attr(0x40, 5, u32(100))]), EBGP4, { discard: [5] }],
  ['ORIGINATOR_ID from an external peer', withNlri([...MANDATORY_4, ...attr(0x80, 9, ip4('192.0.2.9'))]), EBGP4, { discard: [9] }],
  ['CLUSTER_LIST from an external peer', withNlri([...MANDATORY_4, ...attr(0x80, 10, ip4('192.0.2.9'))]), EBGP4, { discard: [10] }],
  ['COMMUNITIES twice: the second is dropped', withNlri([...MANDATORY_4, ...attr(0xc0, 8, u32(1)), ...attr(0xc0, 8, u32(2))]), IBGP4, { discard: [8] }],
];

function outcomeOf(bytes: Buffer, ctx: MessageContext): Outcome {
  let m;
  try {
    m = decodeMessage(bytes, ctx);
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    const n = e.toNotification();
    return { notify: [n.code, n.subcode, n.data.toString('hex')] };
  }
  if (m.type !== 2) return { withdraw: [] };
  const u: UpdateMessage = m;
  const withdraw = (u.treatAsWithdraw ?? []).map((p) => p.type);
  const discard = (u.discarded ?? []).map((p) => p.type);
  if (withdraw.length === 0) return { discard };
  return discard.length === 0 ? { withdraw } : { withdraw, discard };
}

describe('malformed messages get the outcome the RFCs prescribe', () => {
  it('has at least 50 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(50);
  });

  it.each(rows)('%s', (_name, bytes, ctx, expected) => {
    expect(outcomeOf(bytes, ctx)).toEqual(expected);
  });

  it.each(rows.filter(([, bytes, , o]) => 'notify' in o && bytes.length <= 4096 && bytes.readUInt16BE(16) >= 19))(
    'the framer passes %s through whole or refuses its header the same way',
    (_name, bytes, ctx, expected) => {
      const framer = new Framer(ctx.maxMessageLength);
      let outcome: Outcome;
      try {
        const [whole] = framer.push(bytes);
        outcome = whole === undefined ? { withdraw: [] } : outcomeOf(whole, ctx);
      } catch (e) {
        if (!(e instanceof BgpError)) throw e;
        outcome = { notify: [e.code, e.subcode, e.data.toString('hex')] };
      }
      expect(outcome).toEqual(expected);
    },
  );
});

describe('what RFC 7606 keeps', () => {
  it('keeps the valid attributes of an UPDATE whose ATOMIC_AGGREGATE is discarded', () => {
    const m = decodeMessage(withNlri([...MANDATORY_4, ...attr(0x40, 6, [0]), ...attr(0xc0, 8, u32(0xffff0000))]), IBGP4);
    expect(m.type).toBe(2);
    if (m.type !== 2) return;
    expect(m.attributes).toEqual({ origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1', communities: [0xffff0000] });
    expect(m.nlri).toHaveLength(1);
    expect(m.treatAsWithdraw).toBeUndefined();
  });

  it('keeps the first of two COMMUNITIES', () => {
    const m = decodeMessage(withNlri([...MANDATORY_4, ...attr(0xc0, 8, u32(1)), ...attr(0xc0, 8, u32(2))]), IBGP4);
    expect(m.type === 2 && m.attributes.communities).toEqual([1]);
  });

  it('locates the NLRI by the Total Path Attribute Length when an attribute overruns it', () => {
    const m = decodeMessage(update({ attrs: [...MANDATORY_4, ...attr(0xc0, 8, [0, 1, 0, 1], 8)], nlri: [16, 10, 1] }), IBGP4);
    expect(m.type === 2 && m.nlri.map((p) => p.length)).toEqual([16]);
  });

  it('drops an unknown optional non-transitive attribute and keeps an unknown transitive one', () => {
    const m = decodeMessage(withNlri([...MANDATORY_4, ...attr(0x80, 200, [1]), ...attr(0xc0, 201, [2, 3])]), IBGP4);
    expect(m.type === 2 && m.attributes.unknown).toEqual([{ flags: 0xc0, type: 201, value: Buffer.from([2, 3]) }]);
    expect(m.type === 2 && m.treatAsWithdraw).toBeUndefined();
  });

  it('needs no NEXT_HOP attribute for MP_REACH_NLRI only', () => {
    const m = decodeMessage(update({ attrs: [...attr(0x80, 14, MP_REACH_V6), ...ORIGIN_IGP, ...AS_PATH_65001_4] }), IBGP4);
    expect(m.type === 2 && m.treatAsWithdraw).toBeUndefined();
    expect(m.type === 2 && m.mpReach?.nextHop).toBe('2001:db8::1');
  });

  it('accepts an unknown capability and keeps it', () => {
    const m = decodeMessage(open({ params: capabilities([200, 1, 2, 3]) }), IBGP4);
    expect(m.type === 1 && m.capabilities).toEqual([{ kind: 'unknown', code: 200, value: Buffer.from([1, 2, 3]) }]);
  });

  it('shows no shutdown communication whose length overruns the data, and keeps the data', () => {
    const m = decodeMessage(message(3, [6, 2, 9, 0x68, 0x69]), IBGP4);
    expect(m).toEqual({ type: 3, code: 6, subcode: 2, data: Buffer.from([9, 0x68, 0x69]) });
  });

  it('shows no shutdown communication that is not UTF-8', () => {
    const m = decodeMessage(message(3, [6, 4, 2, 0xc3, 0x28]), IBGP4);
    expect(m.type === 3 && m.shutdownCommunication).toBeUndefined();
  });
});
