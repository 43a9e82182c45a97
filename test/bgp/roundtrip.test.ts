/**
 * Encode → decode round trips for every message type, capability and path attribute, plus the
 * RFC 6793 AS4 reconciliation, the UPDATE packer and the text helpers. Expected bytes come from the
 * naive builder below, never from the encoder under test.
 */
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  Afi,
  AsPathSegmentType,
  type BgpMessage,
  type Capability,
  CeaseSubcode,
  describeNotification,
  hardReset,
  ErrorCode,
  type MessageContext,
  MessageTooLong,
  MessageType,
  type NotificationMessage,
  type OpenMessage,
  type PathAttributes,
  type Prefix,
  PrefixSyntaxError,
  CommunitySyntaxError,
  IPV4_UNICAST,
  IPV6_UNICAST,
  KEEPALIVE,
  Origin,
  type RouteRefreshMessage,
  Safi,
  type UpdateMessage,
  WellKnownCommunity,
  decodeMessage,
  encodeEndOfRib,
  encodeMessage,
  formatCommunity,
  formatExtendedCommunity,
  formatIpv6,
  formatLargeCommunity,
  formatPrefix,
  ipv4Prefix,
  ipv6Prefix,
  linkBandwidth,
  linkBandwidthOf,
  packAnnouncements,
  packWithdrawals,
  parseCommunity,
  parseIpv6,
  parseLargeCommunity,
  parsePrefix,
  routeTarget,
  shutdownNotification,
} from '../../src/bgp/index.js';

// ---------------------------------------------------------------------------------------------
// Naive byte builder: plain arrays of octets, written field by field from the RFC layouts.

type Octets = number[];

const be16 = (v: number): Octets => [(v >>> 8) & 0xff, v & 0xff];
const be32 = (v: number): Octets => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const ipv4 = (s: string): Octets => s.split('.').map(Number);

/** RFC 4271 §4.3: flags, type, 1-octet length, or 2-octet length with Extended Length (0x10). */
function attr(flags: number, type: number, value: Octets): Octets {
  if (value.length > 255) return [flags | 0x10, type, ...be16(value.length), ...value];
  return [flags, type, value.length, ...value];
}

/** AS_PATH / AS4_PATH value: segment type, AS count, ASes of `asSize` octets each. */
function asPathValue(segments: readonly (readonly [number, readonly number[]])[], asSize: 2 | 4): Octets {
  const out: Octets = [];
  for (const [type, asns] of segments) {
    out.push(type, asns.length);
    for (const a of asns) out.push(...(asSize === 4 ? be32(a) : be16(a)));
  }
  return out;
}

/** RFC 4271 §4.1 header around `body`. */
function messageBytes(type: number, body: Octets): Buffer {
  return Buffer.from([...new Array<number>(16).fill(0xff), ...be16(19 + body.length), type, ...body]);
}

function updateBytes(withdrawn: Octets, attributes: Octets, nlri: Octets): Buffer {
  return messageBytes(MessageType.Update, [...be16(withdrawn.length), ...withdrawn, ...be16(attributes.length), ...attributes, ...nlri]);
}

const ORIGIN_IGP = attr(0x40, 1, [0]);

/** The type codes of an UPDATE's path attributes, in wire order, read field by field. */
function attributeTypesOnWire(b: Buffer): number[] {
  const withdrawnLength = b.readUInt16BE(19);
  const start = 21 + withdrawnLength + 2;
  const end = start + b.readUInt16BE(21 + withdrawnLength);
  const types: number[] = [];
  for (let at = start; at < end; ) {
    const flags = b.readUInt8(at);
    types.push(b.readUInt8(at + 1));
    at += flags & 0x10 ? 4 + b.readUInt16BE(at + 2) : 3 + b.readUInt8(at + 2);
  }
  return types;
}

// ---------------------------------------------------------------------------------------------
// Narrowing without casts.

function asUpdate(m: BgpMessage): UpdateMessage {
  if (m.type !== MessageType.Update) throw new Error(`expected an UPDATE, got type ${m.type}`);
  return m;
}

function asNotification(m: BgpMessage): NotificationMessage {
  if (m.type !== MessageType.Notification) throw new Error(`expected a NOTIFICATION, got type ${m.type}`);
  return m;
}

const CTX4: MessageContext = { fourOctetAs: true, maxMessageLength: 4096 };
const CTX2: MessageContext = { fourOctetAs: false, maxMessageLength: 4096 };
const CTX_ADD_PATH: MessageContext = { fourOctetAs: true, maxMessageLength: 4096, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) };

const SEQ = AsPathSegmentType.AsSequence;
const SET = AsPathSegmentType.AsSet;
const CONFED_SEQ = AsPathSegmentType.AsConfedSequence;
const CONFED_SET = AsPathSegmentType.AsConfedSet;

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

// ---------------------------------------------------------------------------------------------
// OPEN

function open(capabilities: readonly Capability[], myAs = 64512): OpenMessage {
  return { type: MessageType.Open, version: 4, myAs, holdTime: 90, bgpIdentifier: '192.0.2.1', capabilities };
}

const GR: Capability = {
  kind: 'graceful-restart',
  restarting: true,
  notification: true,
  restartTime: 120,
  families: [
    { afi: Afi.Ipv4, safi: Safi.Unicast, forwardingState: true },
    { afi: Afi.Ipv6, safi: Safi.Unicast, forwardingState: false },
  ],
};

const EACH_CAPABILITY: [string, Capability][] = [
  ['multiprotocol ipv4 unicast', { kind: 'multiprotocol', afi: Afi.Ipv4, safi: Safi.Unicast }],
  ['multiprotocol ipv6 unicast', { kind: 'multiprotocol', afi: Afi.Ipv6, safi: Safi.Unicast }],
  ['route-refresh', { kind: 'route-refresh' }],
  ['enhanced-route-refresh', { kind: 'enhanced-route-refresh' }],
  ['extended-message', { kind: 'extended-message' }],
  ['graceful-restart R and N bits, F on one family', GR],
  ['graceful-restart no bits, time 4095, no families', { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 4095, families: [] }],
  ['four-octet-as', { kind: 'four-octet-as', asn: 4200000001 }],
  ['add-path receive', { kind: 'add-path', families: [{ afi: Afi.Ipv4, safi: Safi.Unicast, mode: 'receive' }] }],
  ['add-path send', { kind: 'add-path', families: [{ afi: Afi.Ipv6, safi: Safi.Unicast, mode: 'send' }] }],
  ['add-path both', { kind: 'add-path', families: [{ afi: Afi.Ipv4, safi: Safi.Unicast, mode: 'both' }, { afi: Afi.Ipv6, safi: Safi.Unicast, mode: 'both' }] }],
  ['extended-next-hop', { kind: 'extended-next-hop', entries: [{ afi: Afi.Ipv4, safi: Safi.Unicast, nextHopAfi: Afi.Ipv6 }] }],
  ['fqdn', { kind: 'fqdn', hostname: 'node-1', domain: 'cluster.local' }],
  ['fqdn with empty domain', { kind: 'fqdn', hostname: 'worker', domain: '' }],
  ['unknown capability 200', { kind: 'unknown', code: 200, value: Buffer.from([1, 2, 3, 4]) }],
];

/** Offset of the Opt Parm Len octet: header 19 + version 1 + My AS 2 + Hold Time 2 + BGP Identifier 4. */
const OPT_PARAM_AT = 28;

describe('OPEN round trip', () => {
  const cases: [string, OpenMessage][] = [
    ['no capabilities', open([])],
    ...EACH_CAPABILITY.map(([name, c]): [string, OpenMessage] => [name, open([c], c.kind === 'four-octet-as' ? AS_TRANS : 64512)]),
    ['all together', open(EACH_CAPABILITY.map(([, c]) => c))],
    ['hold time 0 (no keepalives)', { ...open([]), holdTime: 0 }],
  ];

  it('has one case per capability kind', () => {
    expect(new Set(EACH_CAPABILITY.map(([, c]) => c.kind)).size).toBe(10);
  });

  it.each(cases)('%s', (_name, m) => {
    const bytes = encodeMessage(m);
    expect(decodeMessage(bytes)).toEqual(m);
  });

  it('no capabilities has Opt Parm Len 0', () => {
    const bytes = encodeMessage(open([]));
    expect(bytes.length).toBe(29);
    expect(bytes[OPT_PARAM_AT]).toBe(0);
  });

  it('short form: one Capabilities parameter with 1-octet lengths', () => {
    const bytes = encodeMessage(open([{ kind: 'route-refresh' }, { kind: 'four-octet-as', asn: 65000 }]));
    expect([...bytes.subarray(OPT_PARAM_AT)]).toEqual([10, 2, 8, 2, 0, 65, 4, ...be32(65000)]);
  });

  // 253 octets of capabilities fill a 255-octet Opt Parm Len exactly; 254 need RFC 9072.
  it.each([
    ['253 octets of capabilities: short form, Opt Parm Len 255', 251, false],
    ['254 octets of capabilities: RFC 9072 extended form', 252, true],
  ] as const)('%s', (_name, valueLength, extended) => {
    const m = open([{ kind: 'unknown', code: 200, value: Buffer.alloc(valueLength, 0xab) }]);
    const bytes = encodeMessage(m);
    expect(decodeMessage(bytes)).toEqual(m);
    if (extended) {
      expect([bytes[OPT_PARAM_AT], bytes[OPT_PARAM_AT + 1]]).toEqual([0xff, 0xff]);
    } else {
      expect([bytes[OPT_PARAM_AT], bytes[OPT_PARAM_AT + 1], bytes[OPT_PARAM_AT + 2]]).toEqual([255, 2, 253]);
    }
  });

  it('more than 255 octets of capabilities use the RFC 9072 extended optional parameters', () => {
    const many: Capability[] = [
      ...EACH_CAPABILITY.map(([, c]) => c),
      ...range(0, 40).map((i): Capability => ({ kind: 'multiprotocol', afi: Afi.Ipv6, safi: i + 1 })),
      { kind: 'unknown', code: 201, value: Buffer.alloc(100, 0x5a) },
    ];
    const m = open(many);
    const bytes = encodeMessage(m);
    expect(decodeMessage(bytes)).toEqual(m);
    // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-octet Extended Opt. Parm. Length.
    expect(bytes[OPT_PARAM_AT]).toBe(0xff);
    expect(bytes[OPT_PARAM_AT + 1]).toBe(0xff);
    const extLength = bytes.readUInt16BE(OPT_PARAM_AT + 2);
    expect(extLength).toBe(bytes.length - (OPT_PARAM_AT + 4));
    expect(extLength).toBeGreaterThan(255);
    // Then the Capabilities parameter with a 2-octet length.
    expect(bytes[OPT_PARAM_AT + 4]).toBe(2);
    expect(bytes.readUInt16BE(OPT_PARAM_AT + 5)).toBe(extLength - 3);
  });

  // RFC 5492 §4 gives a capability a 1-octet Capability Length, so a value over 255 octets cannot
  // be sent: the encoder refuses (RangeError) rather than write a length taken modulo 256.
  it.each([
    ['fqdn with a 200-octet hostname and a 200-octet domain', { kind: 'fqdn', hostname: 'h'.repeat(200), domain: 'd'.repeat(200) }],
    ['add-path for 70 families', { kind: 'add-path', families: range(0, 70).map((safi) => ({ afi: Afi.Ipv4, safi, mode: 'both' })) }],
  ] satisfies [string, Capability][])('a capability value over 255 octets is refused or survives the round trip: %s', (_name, c) => {
    const m = open([c]);
    let error: unknown;
    try {
      expect(decodeMessage(encodeMessage(m))).toEqual(m);
    } catch (e) {
      error = e;
    }
    expect(error === undefined || error instanceof RangeError).toBe(true);
  });

  it('an OPEN above 4096 octets is refused by the encoder', () => {
    const m = open(range(0, 20).map((i): Capability => ({ kind: 'unknown', code: 200 + i, value: Buffer.alloc(250) })));
    expect(() => encodeMessage(m)).toThrow(MessageTooLong);
  });
});

// ---------------------------------------------------------------------------------------------
// UPDATE

function update(fields: Partial<Omit<UpdateMessage, 'type'>>): UpdateMessage {
  return { type: MessageType.Update, withdrawnRoutes: [], attributes: {}, nlri: [], ...fields };
}

const P = (s: string, pathId?: number): Prefix => parsePrefix(s, pathId);

const EVERY_ATTRIBUTE: PathAttributes = {
  origin: Origin.Egp,
  asPath: [
    { type: SEQ, asns: [65001, 4200000001] },
    { type: SET, asns: [65010, 65011] },
  ],
  nextHop: '192.0.2.254',
  med: 100,
  localPref: 200,
  atomicAggregate: true,
  aggregator: { asn: 4200000002, address: '192.0.2.9' },
  communities: [0x00010002, WellKnownCommunity.GRACEFUL_SHUTDOWN, WellKnownCommunity.NO_EXPORT],
  originatorId: '10.0.0.1',
  clusterList: ['10.0.0.2', '10.0.0.3'],
  extendedCommunities: [routeTarget(65000, 100), linkBandwidth(65000, 1.25e9)],
  largeCommunities: [{ globalAdmin: 4200000001, localData1: 1, localData2: 2 }],
  unknown: [{ flags: 0xe0, type: 200, value: Buffer.from([9, 8, 7]) }],
};

const EACH_ATTRIBUTE: [string, PathAttributes][] = [
  ['origin IGP', { origin: Origin.Igp }],
  ['origin incomplete', { origin: Origin.Incomplete }],
  ['asPath AS_SEQUENCE', { asPath: [{ type: SEQ, asns: [65001, 65002, 4200000001] }] }],
  ['asPath AS_SET', { asPath: [{ type: SET, asns: [65001, 65002] }] }],
  ['asPath AS_CONFED_SEQUENCE', { asPath: [{ type: CONFED_SEQ, asns: [64512, 64513] }, { type: SEQ, asns: [65001] }] }],
  ['asPath AS_CONFED_SET', { asPath: [{ type: CONFED_SET, asns: [64512, 64513] }, { type: SEQ, asns: [65001] }] }],
  ['asPath empty (iBGP origination)', { asPath: [] }],
  ['nextHop', { nextHop: '198.51.100.1' }],
  ['med', { med: 0xffffffff }],
  ['localPref', { localPref: 150 }],
  ['atomicAggregate', { atomicAggregate: true }],
  ['aggregator', { aggregator: { asn: 4200000001, address: '203.0.113.7' } }],
  ['communities incl. 0xffff0000', { communities: [0xffff0000, 0xfde80064] }],
  ['originatorId', { originatorId: '10.1.1.1' }],
  ['clusterList', { clusterList: ['10.1.1.2', '10.1.1.3'] }],
  ['extendedCommunities incl. link bandwidth', { extendedCommunities: [routeTarget(65000, 7), linkBandwidth(65000, 1.25e9)] }],
  ['largeCommunities', { largeCommunities: [{ globalAdmin: 65000, localData1: 0, localData2: 0xffffffff }] }],
];

describe('UPDATE round trip', () => {
  const cases: [string, UpdateMessage, MessageContext][] = [
    ['IPv4 NLRI', update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }], nextHop: '192.0.2.1' }, nlri: [P('10.0.0.0/8'), P('192.0.2.0/24'), P('198.51.100.7/32'), P('0.0.0.0/0')] }), CTX4],
    ['IPv4 withdrawn routes', update({ withdrawnRoutes: [P('10.1.0.0/16'), P('10.2.3.0/24'), P('10.2.3.4/31')] }), CTX4],
    ['withdrawn and NLRI in one UPDATE', update({ withdrawnRoutes: [P('10.9.0.0/16')], attributes: { origin: Origin.Igp, asPath: [], nextHop: '10.0.0.1' }, nlri: [P('10.8.0.0/16')] }), CTX4],
    ...EACH_ATTRIBUTE.map(([name, attributes]): [string, UpdateMessage, MessageContext] => [`${name} alone`, update({ attributes }), CTX4]),
    ['all attributes together, with NLRI', update({ attributes: EVERY_ATTRIBUTE, nlri: [P('192.0.2.0/24')] }), CTX4],
    ['MP_REACH IPv6 global next hop', update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }] }, mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: [P('2001:db8:1::/48'), P('2001:db8:2:3::/64'), P('2001:db8::5/128'), P('::/0')] } }), CTX4],
    ['MP_REACH IPv6 global and link-local next hop', update({ attributes: { origin: Origin.Igp, asPath: [] }, mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1:2', nlri: [P('2001:db8:1::/48')] } }), CTX4],
    ['MP_REACH IPv4 NLRI with IPv6 next hop (RFC 8950)', update({ attributes: { origin: Origin.Igp, asPath: [] }, mpReach: { afi: Afi.Ipv4, safi: Safi.Unicast, nextHop: '2001:db8::2', nlri: [P('10.0.0.0/24'), P('10.0.1.0/24')] } }), CTX4],
    ['MP_REACH IPv4 multicast with IPv4 next hop', update({ attributes: { origin: Origin.Igp, asPath: [] }, mpReach: { afi: Afi.Ipv4, safi: Safi.Multicast, nextHop: '192.0.2.1', nlri: [P('232.0.0.0/8')] } }), CTX4],
    ['MP_UNREACH IPv6', update({ mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [P('2001:db8:1::/48'), P('2001:db8:ffff::/56')] } }), CTX4],
    [
      'ADD-PATH on NLRI, withdrawn, MP_REACH and MP_UNREACH',
      update({
        withdrawnRoutes: [P('10.0.0.0/24', 1), P('10.0.0.0/24', 2)],
        attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }], nextHop: '192.0.2.1' },
        nlri: [P('10.0.1.0/24', 7), P('10.0.1.0/24', 0xffffffff)],
        mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: [P('2001:db8:1::/48', 3), P('2001:db8:1::/48', 4)] },
        mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [P('2001:db8:2::/48', 5)] },
      }),
      CTX_ADD_PATH,
    ],
    ['AS_PATH of 2-octet ASes on a 2-octet session', update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001, 65002] }] } }), CTX2],
    ['AS_PATH with a 4-octet AS on a 2-octet session (AS4_PATH)', update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001, 4200000001, 65002] }, { type: SET, asns: [4200000002, 65003] }] } }), CTX2],
    ['AGGREGATOR with a 4-octet AS on a 2-octet session (AS4_AGGREGATOR)', update({ attributes: { origin: Origin.Igp, aggregator: { asn: 4200000001, address: '192.0.2.9' } } }), CTX2],
  ];

  it.each(cases)('%s', (_name, m, ctx) => {
    expect(decodeMessage(encodeMessage(m, ctx), ctx)).toEqual(m);
  });

  it('has one case per attribute kind in EVERY_ATTRIBUTE', () => {
    expect(Object.keys(EVERY_ATTRIBUTE).length).toBe(13);
  });

  it('attributes go out MP_REACH/MP_UNREACH first (RFC 7606 §5.1), then in ascending type order (RFC 4271 §5)', () => {
    const m = update({
      attributes: EVERY_ATTRIBUTE,
      nlri: [P('192.0.2.0/24')],
      mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: [P('2001:db8::/32')] },
      mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [P('2001:db8:1::/48')] },
    });
    expect(attributeTypesOnWire(encodeMessage(m, CTX4))).toEqual([14, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 200]);
  });

  // RFC 4271 §5: "The sender of an UPDATE message SHOULD order path attributes within the UPDATE
  // message in ascending order of attribute type", passed-on unknown attributes included.
  it('an unknown attribute of a type below 32 goes out before LARGE_COMMUNITY', () => {
    const m = update({ attributes: { origin: Origin.Igp, largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }], unknown: [{ flags: 0xe0, type: 26, value: Buffer.from([1]) }] } });
    expect(attributeTypesOnWire(encodeMessage(m, CTX4))).toEqual([1, 26, 32]);
  });

  it('an unknown optional transitive attribute comes back with the Partial bit set', () => {
    const m = update({ attributes: { unknown: [{ flags: 0xc0, type: 200, value: Buffer.from([1, 2, 3]) }] } });
    const bytes = encodeMessage(m, CTX4);
    // RFC 4271 §5: passed on with Partial (0x20) set.
    expect([...bytes.subarray(23)]).toEqual(attr(0xe0, 200, [1, 2, 3]));
    const back = asUpdate(decodeMessage(bytes, CTX4));
    expect(back.attributes.unknown?.[0]?.flags).toBe(0xe0);
    expect(back).toEqual(update({ attributes: { unknown: [{ flags: 0xe0, type: 200, value: Buffer.from([1, 2, 3]) }] } }));
  });

  it('MP_REACH next hop lengths on the wire: 16 global, 32 with link-local, 16 for RFC 8950', () => {
    const nhLengthOf = (m: UpdateMessage): number | undefined => {
      const b = encodeMessage(m, CTX4);
      // First attribute is MP_REACH: flags, type, length (1 octet here), AFI 2, SAFI 1, NH length.
      expect(b[24]).toBe(14);
      return b[23 + 3 + 3];
    };
    const v6 = (linkLocalNextHop?: string) => update({ mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', ...(linkLocalNextHop === undefined ? {} : { linkLocalNextHop }), nlri: [] } });
    expect(nhLengthOf(v6())).toBe(16);
    expect(nhLengthOf(v6('fe80::1'))).toBe(32);
    expect(nhLengthOf(update({ mpReach: { afi: Afi.Ipv4, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: [] } }))).toBe(16);
  });

  it('an attribute value over 255 octets sets Extended Length; a short one does not', () => {
    const long = range(0, 100).map((i) => (0xfde80000 + i) >>> 0);
    const longBytes = encodeMessage(update({ attributes: { communities: long } }), CTX4);
    expect(longBytes[23]).toBe(0xc0 | 0x10);
    expect(longBytes[24]).toBe(8);
    expect(longBytes.readUInt16BE(25)).toBe(400);
    expect(longBytes).toEqual(updateBytes([], attr(0xc0, 8, long.flatMap(be32)), []));
    expect(asUpdate(decodeMessage(longBytes, CTX4)).attributes.communities).toEqual(long);

    const shortBytes = encodeMessage(update({ attributes: { communities: [1, 2] } }), CTX4);
    expect(shortBytes[23]).toBe(0xc0);
    expect(shortBytes[24]).toBe(8);
    expect(shortBytes[25]).toBe(8);
    expect(shortBytes).toEqual(updateBytes([], attr(0xc0, 8, [...be32(1), ...be32(2)]), []));
  });

  it('a short attribute received with Extended Length set still decodes', () => {
    const bytes = updateBytes([], [0xd0, 8, ...be16(4), ...be32(0xffff0000)], []);
    expect(decodeMessage(bytes, CTX4)).toEqual(update({ attributes: { communities: [0xffff0000] } }));
  });

  it('AS_PATH segments longer than 255 ASes are split on encode', () => {
    const asns = range(4200000000, 600);
    const m = update({ attributes: { asPath: [{ type: SEQ, asns }, { type: SET, asns: [1, 2] }] } });
    const expected = [
      { type: SEQ, asns: asns.slice(0, 255) },
      { type: SEQ, asns: asns.slice(255, 510) },
      { type: SEQ, asns: asns.slice(510) },
      { type: SET, asns: [1, 2] },
    ];
    const bytes = encodeMessage(m, CTX4);
    expect(bytes).toEqual(updateBytes([], attr(0x40, 2, asPathValue(expected.map((s) => [s.type, s.asns] as const), 4)), []));
    expect(asUpdate(decodeMessage(bytes, CTX4)).attributes.asPath).toEqual(expected);
  });

  it('AS_PATH segments longer than 255 ASes are split on a 2-octet session too', () => {
    const asns = [...range(65000, 300), 4200000001];
    const expected = [
      { type: SEQ, asns: asns.slice(0, 255) },
      { type: SEQ, asns: asns.slice(255) },
    ];
    const back = asUpdate(decodeMessage(encodeMessage(update({ attributes: { asPath: [{ type: SEQ, asns }] } }), CTX2), CTX2));
    expect(back.attributes.asPath).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// RFC 6793: 2-octet AS sessions

describe('2-octet AS sessions (RFC 6793)', () => {
  it('a 4-octet AS in the path goes out as AS_TRANS with an AS4_PATH', () => {
    const asPath = [{ type: SEQ, asns: [65001, 4200000001, 65002] }];
    const m = update({ attributes: { origin: Origin.Igp, asPath } });
    const bytes = encodeMessage(m, CTX2);
    expect(bytes).toEqual(
      updateBytes(
        [],
        [
          ...ORIGIN_IGP,
          ...attr(0x40, 2, asPathValue([[SEQ, [65001, AS_TRANS, 65002]]], 2)),
          ...attr(0xc0, 17, asPathValue([[SEQ, [65001, 4200000001, 65002]]], 4)),
        ],
        [],
      ),
    );
    expect(decodeMessage(bytes, CTX2)).toEqual(m);
  });

  it('a 4-octet AGGREGATOR goes out as AS_TRANS with an AS4_AGGREGATOR', () => {
    const m = update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }], aggregator: { asn: 4200000001, address: '192.0.2.9' } } });
    const bytes = encodeMessage(m, CTX2);
    expect(bytes).toEqual(
      updateBytes(
        [],
        [
          ...ORIGIN_IGP,
          ...attr(0x40, 2, asPathValue([[SEQ, [65001]]], 2)),
          ...attr(0xc0, 7, [...be16(AS_TRANS), ...ipv4('192.0.2.9')]),
          ...attr(0xc0, 18, [...be32(4200000001), ...ipv4('192.0.2.9')]),
        ],
        [],
      ),
    );
    expect(decodeMessage(bytes, CTX2)).toEqual(m);
  });

  it('a path of only 2-octet ASes sends no AS4_PATH', () => {
    const m = update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001, 65002] }, { type: SET, asns: [1, 2] }], aggregator: { asn: 65003, address: '192.0.2.9' } } });
    const bytes = encodeMessage(m, CTX2);
    expect(bytes).toEqual(
      updateBytes(
        [],
        [...ORIGIN_IGP, ...attr(0x40, 2, asPathValue([[SEQ, [65001, 65002]], [SET, [1, 2]]], 2)), ...attr(0xc0, 7, [...be16(65003), ...ipv4('192.0.2.9')])],
        [],
      ),
    );
    expect(decodeMessage(bytes, CTX2)).toEqual(m);
  });

  it('a 4-octet session never sends AS4_PATH', () => {
    const m = update({ attributes: { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [4200000001] }] } });
    expect(encodeMessage(m, CTX4)).toEqual(updateBytes([], [...ORIGIN_IGP, ...attr(0x40, 2, asPathValue([[SEQ, [4200000001]]], 4))], []));
  });

  const AGG = (asn: number): Octets => attr(0xc0, 7, [...be16(asn), ...ipv4('192.0.2.9')]);
  const AS4_AGG = (asn: number): Octets => attr(0xc0, 18, [...be32(asn), ...ipv4('192.0.2.9')]);
  const AS_PATH2 = (...segments: [number, number[]][]): Octets => attr(0x40, 2, asPathValue(segments, 2));
  const AS4_PATH = (...segments: [number, number[]][]): Octets => attr(0xc0, 17, asPathValue(segments, 4));

  const reconciliation: [string, Octets, PathAttributes][] = [
    [
      'AS_PATH longer than AS4_PATH: the leading ASes are kept',
      [...AS_PATH2([SEQ, [100, 200, AS_TRANS, 300]]), ...AS4_PATH([SEQ, [4200000001, 300]])],
      { asPath: [{ type: SEQ, asns: [100, 200, 4200000001, 300] }] },
    ],
    [
      'AS_PATH longer by a leading AS_SET: the set is kept whole',
      [...AS_PATH2([SET, [7, 8, 9]], [SEQ, [AS_TRANS]]), ...AS4_PATH([SEQ, [4200000001]])],
      { asPath: [{ type: SET, asns: [7, 8, 9] }, { type: SEQ, asns: [4200000001] }] },
    ],
    [
      'AS_PATH and AS4_PATH of equal length: AS4_PATH is the path',
      [...AS_PATH2([SEQ, [AS_TRANS, 300]]), ...AS4_PATH([SEQ, [4200000001, 300]])],
      { asPath: [{ type: SEQ, asns: [4200000001, 300] }] },
    ],
    [
      'AS4_PATH longer than AS_PATH: AS4_PATH is ignored',
      [...AS_PATH2([SEQ, [100, AS_TRANS]]), ...AS4_PATH([SEQ, [1, 2, 3]])],
      { asPath: [{ type: SEQ, asns: [100, AS_TRANS] }] },
    ],
    [
      'AGGREGATOR is not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are ignored',
      [...AS_PATH2([SEQ, [100, AS_TRANS]]), ...AGG(100), ...AS4_PATH([SEQ, [100, 4200000001]]), ...AS4_AGG(4200000009)],
      { asPath: [{ type: SEQ, asns: [100, AS_TRANS] }], aggregator: { asn: 100, address: '192.0.2.9' } },
    ],
    [
      'AGGREGATOR is AS_TRANS: AS4_AGGREGATOR and AS4_PATH are used',
      [...AS_PATH2([SEQ, [100, AS_TRANS]]), ...AGG(AS_TRANS), ...AS4_PATH([SEQ, [100, 4200000001]]), ...AS4_AGG(4200000009)],
      { asPath: [{ type: SEQ, asns: [100, 4200000001] }], aggregator: { asn: 4200000009, address: '192.0.2.9' } },
    ],
    [
      'confederation segments in AS4_PATH are dropped',
      [...AS_PATH2([SEQ, [100, AS_TRANS]]), ...AS4_PATH([CONFED_SEQ, [65001]], [CONFED_SET, [65002]], [SEQ, [4200000001]])],
      { asPath: [{ type: SEQ, asns: [100, 4200000001] }] },
    ],
    [
      'no AS4_PATH: AS_PATH stands as received',
      [...AS_PATH2([SEQ, [100, AS_TRANS]])],
      { asPath: [{ type: SEQ, asns: [100, AS_TRANS] }] },
    ],
  ];

  it.each(reconciliation)('%s', (_name, attributes, expected) => {
    expect(asUpdate(decodeMessage(updateBytes([], attributes, []), CTX2)).attributes).toEqual(expected);
  });

  it('AS4_PATH from a 4-octet session is ignored', () => {
    const bytes = updateBytes([], [...attr(0x40, 2, asPathValue([[SEQ, [100, 200]]], 4)), ...AS4_PATH([SEQ, [4200000001]])], []);
    expect(asUpdate(decodeMessage(bytes, CTX4)).attributes).toEqual({ asPath: [{ type: SEQ, asns: [100, 200] }] });
  });

  // RFC 6793 §4.2.3, last paragraph: "a valid AS_CONFED_SEQUENCE or AS_CONFED_SET path segment
  // SHALL be prepended if it is either the leading path segment or is adjacent to a path segment
  // that is prepended", even when no AS numbers are missing.
  it('a leading AS_CONFED_SEQUENCE of AS_PATH is prepended to AS4_PATH (hand-built)', () => {
    const bytes = updateBytes([], [...AS_PATH2([CONFED_SEQ, [65010]], [SEQ, [AS_TRANS]]), ...AS4_PATH([SEQ, [4200000001]])], []);
    expect(asUpdate(decodeMessage(bytes, CTX2)).attributes.asPath).toEqual([
      { type: CONFED_SEQ, asns: [65010] },
      { type: SEQ, asns: [4200000001] },
    ]);
  });

  it('a path with a confederation segment and a 4-octet AS round-trips on a 2-octet session', () => {
    const m = update({ attributes: { origin: Origin.Igp, asPath: [{ type: CONFED_SEQ, asns: [65010] }, { type: SEQ, asns: [4200000001] }] } });
    expect(decodeMessage(encodeMessage(m, CTX2), CTX2)).toEqual(m);
  });
});

// ---------------------------------------------------------------------------------------------
// NOTIFICATION, KEEPALIVE, ROUTE-REFRESH, End-of-RIB

describe('NOTIFICATION round trip', () => {
  const cases: [string, NotificationMessage][] = [
    ['without data', { type: MessageType.Notification, code: ErrorCode.HoldTimerExpired, subcode: 0, data: Buffer.alloc(0) }],
    ['with data', { type: MessageType.Notification, code: ErrorCode.UpdateMessage, subcode: 5, data: Buffer.from([0x40, 0x01, 0x02, 0x00, 0x00]) }],
    ['Cease / Administrative Shutdown without data', { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.AdministrativeShutdown, data: Buffer.alloc(0) }],
    ['shutdownNotification subcode 2', shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'maintenance window 42')],
    ['shutdownNotification subcode 4', shutdownNotification(CeaseSubcode.AdministrativeReset, 'réinitialisation ✓ 🚧')],
  ];

  it.each(cases)('%s', (_name, m) => {
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  it('hardReset wraps the code, subcode and data of the Cease (RFC 8538 §3), shutdown communication included', () => {
    const m = hardReset(shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'bye'));
    expect(encodeMessage(m)).toEqual(messageBytes(MessageType.Notification, [6, 9, 6, 2, 3, 0x62, 0x79, 0x65]));
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
    expect(m.shutdownCommunication).toBe('bye');
    expect(describeNotification(m)).toBe('Cease / Hard Reset (Administrative Shutdown): "bye"');
    const prefixes = hardReset({ type: MessageType.Notification, code: 6, subcode: CeaseSubcode.MaximumNumberOfPrefixesReached, data: Buffer.from([0, 1, 1, 0, 0, 0, 2]) });
    expect([...encodeMessage(prefixes).subarray(19)]).toEqual([6, 9, 6, 1, 0, 1, 1, 0, 0, 0, 2]);
    expect(describeNotification(prefixes)).toBe('Cease / Hard Reset (Maximum Number of Prefixes Reached) (data 00010100000002)');
    // What FRR 8.4 sends (test/bgp/vectors/notification-frr8-cease-hard-reset.hex): 6/9 wrapping 6/4.
    expect([...encodeMessage(hardReset({ type: MessageType.Notification, code: 6, subcode: CeaseSubcode.AdministrativeReset, data: Buffer.alloc(0) })).subarray(19)]).toEqual([6, 9, 6, 4]);
  });

  it('shutdownNotification puts a length octet before the UTF-8 text (RFC 9003 §2)', () => {
    const m = shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'bye');
    expect(m.shutdownCommunication).toBe('bye');
    expect(encodeMessage(m)).toEqual(messageBytes(MessageType.Notification, [6, 2, 3, 0x62, 0x79, 0x65]));
  });

  it.each([
    ['ASCII', 'a', 255],
    ['2-octet characters', 'é', 254],
    ['3-octet characters', '€', 255],
    ['4-octet characters', '😀', 252],
  ] as const)('a 300-octet %s text is cut to at most 255 octets on a character boundary', (_name, char, expectedOctets) => {
    const text = char.repeat(300 / Buffer.byteLength(char));
    expect(Buffer.byteLength(text)).toBe(300);
    const m = shutdownNotification(CeaseSubcode.AdministrativeShutdown, text);
    const back = asNotification(decodeMessage(encodeMessage(m)));
    expect(back.data[0]).toBe(expectedOctets);
    expect(back.data.length).toBe(expectedOctets + 1);
    expect(back.shutdownCommunication).toBe(char.repeat(expectedOctets / Buffer.byteLength(char)));
    expect(text.startsWith(back.shutdownCommunication ?? 'missing')).toBe(true);
  });

  it.each([
    ['length octet beyond the data', [10, 0x61, 0x62]],
    ['length octet 0', [0, 0x61]],
    ['invalid UTF-8', [2, 0xc3, 0x28]],
  ])('%s yields no shutdownCommunication but keeps data', (_name, data) => {
    const back = asNotification(decodeMessage(messageBytes(MessageType.Notification, [ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, ...data])));
    expect(back.shutdownCommunication).toBeUndefined();
    expect([...back.data]).toEqual(data);
  });

  it('a shutdown communication is only read for Cease subcodes 2 and 4', () => {
    const back = asNotification(decodeMessage(messageBytes(MessageType.Notification, [ErrorCode.Cease, CeaseSubcode.PeerDeconfigured, 2, 0x68, 0x69])));
    expect(back.shutdownCommunication).toBeUndefined();
    expect([...back.data]).toEqual([2, 0x68, 0x69]);
  });
});

describe('KEEPALIVE and ROUTE-REFRESH', () => {
  it('KEEPALIVE is the 19-octet header', () => {
    const bytes = encodeMessage(KEEPALIVE);
    expect(bytes).toEqual(messageBytes(MessageType.Keepalive, []));
    expect(decodeMessage(bytes)).toEqual({ type: MessageType.Keepalive });
  });

  it.each([
    ['subtype 0 (request)', { type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: 0 }],
    ['subtype 1 (BoRR)', { type: MessageType.RouteRefresh, afi: Afi.Ipv6, safi: Safi.Unicast, subtype: 1 }],
    ['subtype 2 (EoRR)', { type: MessageType.RouteRefresh, afi: Afi.Ipv6, safi: Safi.Multicast, subtype: 2 }],
  ] satisfies [string, RouteRefreshMessage][])('%s', (_name, m) => {
    const bytes = encodeMessage(m);
    // RFC 2918 §3 / RFC 7313 §3: AFI, then the subtype in the old Reserved octet, then SAFI.
    expect(bytes).toEqual(messageBytes(MessageType.RouteRefresh, [...be16(m.afi), m.subtype, m.safi]));
    expect(decodeMessage(bytes)).toEqual(m);
  });
});

describe('End-of-RIB (RFC 4724 §2)', () => {
  it.each([
    ['IPv4 unicast', 1, 1, update({ endOfRib: { afi: 1, safi: 1 } })],
    ['IPv6 unicast', 2, 1, update({ mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [] }, endOfRib: { afi: 2, safi: 1 } })],
  ] as const)('%s', (_name, afi, safi, expected) => {
    const back = asUpdate(decodeMessage(encodeEndOfRib(afi, safi), CTX4));
    expect(back.endOfRib).toEqual({ afi, safi });
    expect(back).toEqual(expected);
  });

  it.each([
    ['IPv4 withdrawal', update({ withdrawnRoutes: [P('10.0.0.0/8')] })],
    ['MP_UNREACH with routes', update({ mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [P('2001:db8::/32')] } })],
    ['empty MP_UNREACH alongside another attribute', update({ attributes: { origin: Origin.Igp }, mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [] } })],
  ])('%s is not End-of-RIB', (_name, m) => {
    const back = asUpdate(decodeMessage(encodeMessage(m, CTX4), CTX4));
    expect(back.endOfRib).toBeUndefined();
    expect(back).toEqual(m);
  });
});

// ---------------------------------------------------------------------------------------------
// packAnnouncements / packWithdrawals

/** Octets one prefix takes on the wire (RFC 4271 §4.3, RFC 7911 §3). */
const prefixOctets = (p: Prefix, addPath: boolean): number => (addPath ? 4 : 0) + 1 + Math.ceil(p.length / 8);

/**
 * The fewest messages that hold `sizes` in order: greedy filling is optimal for contiguous runs.
 * `messageSize(payload)` is the size of a message carrying `payload` octets of prefixes.
 */
function minimumMessages(sizes: readonly number[], messageSize: (payload: number) => number, max: number): number {
  let count = 0;
  let used = -1;
  for (const s of sizes) {
    if (used >= 0 && messageSize(used + s) <= max) {
      used += s;
    } else {
      expect(messageSize(s)).toBeLessThanOrEqual(max);
      count++;
      used = s;
    }
  }
  return count;
}

/** MP attribute size for a value of `n` octets: 3-octet header, or 4 with Extended Length. */
const mpAttrSize = (n: number): number => (n > 255 ? 4 : 3) + n;

const V4_ATTRS: PathAttributes = { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }], nextHop: '192.0.2.1' };
const V4_ATTR_OCTETS = [...ORIGIN_IGP, ...attr(0x40, 2, asPathValue([[SEQ, [65001]]], 4)), ...attr(0x40, 3, ipv4('192.0.2.1'))].length;
const MP_ATTRS: PathAttributes = { origin: Origin.Igp, asPath: [{ type: SEQ, asns: [65001] }] };
const MP_ATTR_OCTETS = [...ORIGIN_IGP, ...attr(0x40, 2, asPathValue([[SEQ, [65001]]], 4))].length;
const V6_NEXT_HOP = { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' };

const v4Prefixes = (n: number, length: 24 | 32, addPath: boolean): Prefix[] =>
  range(0, n).map((i) => ipv4Prefix(length === 24 ? ((10 << 24) | (i << 8)) >>> 0 : ((10 << 24) | i) >>> 0, length, addPath ? i % 3 : undefined));
const v6Prefixes = (n: number, addPath: boolean): Prefix[] =>
  range(0, n).map((i) => ipv6Prefix(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, (i >> 8) & 0xff, i & 0xff, 0, 1]), 64, addPath ? 1000 + i : undefined));

/** Every prefix the UPDATE carries, in wire order, whatever field it is in. */
function announced(m: UpdateMessage): Prefix[] {
  return [...m.nlri, ...(m.mpReach?.nlri ?? [])];
}
function withdrawn(m: UpdateMessage): Prefix[] {
  return [...m.withdrawnRoutes, ...(m.mpUnreach?.withdrawnRoutes ?? [])];
}

describe('UPDATE packing', () => {
  const families: [string, Afi, readonly Prefix[], boolean][] = [
    ['IPv4 /24', Afi.Ipv4, v4Prefixes(20000, 24, false), false],
    ['IPv4 /32', Afi.Ipv4, v4Prefixes(20000, 32, false), false],
    ['IPv6 /64', Afi.Ipv6, v6Prefixes(9000, false), false],
    ['IPv4 /24 with ADD-PATH', Afi.Ipv4, v4Prefixes(20000, 24, true), true],
    ['IPv6 /64 with ADD-PATH', Afi.Ipv6, v6Prefixes(9000, true), true],
  ];
  const cases = families.flatMap(([name, afi, prefixes, addPath]) =>
    [4096, 65535].map((max): [string, Afi, readonly Prefix[], boolean, number] => [`${name}, max ${max}`, afi, prefixes, addPath, max]),
  );

  const contextFor = (addPath: boolean, max: number): MessageContext =>
    addPath ? { fourOctetAs: true, maxMessageLength: max, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) } : { fourOctetAs: true, maxMessageLength: max };

  it.each(cases)('packAnnouncements %s', (_name, afi, prefixes, addPath, max) => {
    const ctx = contextFor(addPath, max);
    const v4 = afi === Afi.Ipv4;
    const messages = v4 ? packAnnouncements(afi, Safi.Unicast, V4_ATTRS, prefixes, ctx) : packAnnouncements(afi, Safi.Unicast, MP_ATTRS, prefixes, ctx, V6_NEXT_HOP);
    for (const b of messages) expect(b.length).toBeLessThanOrEqual(max);
    const decoded = messages.map((b) => asUpdate(decodeMessage(b, ctx)));
    expect(decoded.flatMap(announced)).toEqual(prefixes);
    for (const m of decoded) {
      expect(m.treatAsWithdraw).toBeUndefined();
      if (v4) expect(m.attributes).toEqual(V4_ATTRS);
      else expect(m).toEqual(update({ attributes: MP_ATTRS, mpReach: { afi, safi: Safi.Unicast, ...V6_NEXT_HOP, nlri: m.mpReach?.nlri ?? [] } }));
    }
    const sizes = prefixes.map((p) => prefixOctets(p, addPath));
    // Header 19, Withdrawn Routes Length 2, Total Path Attribute Length 2.
    const messageSize = v4
      ? (payload: number) => 23 + V4_ATTR_OCTETS + payload
      : // MP_REACH value: AFI 2, SAFI 1, NH length 1, next hop 32, Reserved 1, NLRI.
        (payload: number) => 23 + MP_ATTR_OCTETS + mpAttrSize(2 + 1 + 1 + 32 + 1 + payload);
    expect(messages.length).toBe(minimumMessages(sizes, messageSize, max));
  });

  it.each(cases)('packWithdrawals %s', (_name, afi, prefixes, addPath, max) => {
    const ctx = contextFor(addPath, max);
    const v4 = afi === Afi.Ipv4;
    const messages = packWithdrawals(afi, Safi.Unicast, prefixes, ctx);
    for (const b of messages) expect(b.length).toBeLessThanOrEqual(max);
    const decoded = messages.map((b) => asUpdate(decodeMessage(b, ctx)));
    expect(decoded.flatMap(withdrawn)).toEqual(prefixes);
    for (const m of decoded) {
      expect(m.endOfRib).toBeUndefined();
      expect(announced(m)).toEqual([]);
    }
    const sizes = prefixes.map((p) => prefixOctets(p, addPath));
    // MP_UNREACH value: AFI 2, SAFI 1, withdrawn routes.
    const messageSize = v4 ? (payload: number) => 23 + payload : (payload: number) => 23 + mpAttrSize(3 + payload);
    expect(messages.length).toBe(minimumMessages(sizes, messageSize, max));
  });

  it('packAnnouncements of IPv4 over an RFC 8950 IPv6 next hop uses MP_REACH with a 16-octet next hop', () => {
    const prefixes = v4Prefixes(3000, 24, false);
    const messages = packAnnouncements(Afi.Ipv4, Safi.Unicast, MP_ATTRS, prefixes, CTX4, V6_NEXT_HOP);
    const decoded = messages.map((b) => asUpdate(decodeMessage(b, CTX4)));
    expect(decoded.flatMap(announced)).toEqual(prefixes);
    for (const m of decoded) expect(m.mpReach).toEqual({ afi: Afi.Ipv4, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: m.mpReach?.nlri });
    const messageSize = (payload: number) => 23 + MP_ATTR_OCTETS + mpAttrSize(2 + 1 + 1 + 16 + 1 + payload);
    expect(messages.length).toBe(minimumMessages(prefixes.map((p) => prefixOctets(p, false)), messageSize, 4096));
  });

  it('no prefixes, no messages', () => {
    expect(packAnnouncements(Afi.Ipv4, Safi.Unicast, V4_ATTRS, [], CTX4)).toEqual([]);
    expect(packWithdrawals(Afi.Ipv6, Safi.Unicast, [], CTX4)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Text helpers

describe('prefix text', () => {
  it.each([
    ['IPv4 /24', '192.0.2.0/24', { afi: Afi.Ipv4, length: 24, address: 0xc0000200 }],
    ['IPv4 default', '0.0.0.0/0', { afi: Afi.Ipv4, length: 0, address: 0 }],
    ['IPv4 host', '255.255.255.255/32', { afi: Afi.Ipv4, length: 32, address: 0xffffffff }],
    ['IPv6 /32', '2001:db8::/32', { afi: Afi.Ipv6, length: 32, address: Uint8Array.from([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }],
    ['IPv6 default', '::/0', { afi: Afi.Ipv6, length: 0, address: new Uint8Array(16) }],
    ['IPv6 /127', '2001:db8::2/127', { afi: Afi.Ipv6, length: 127, address: Uint8Array.from([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]) }],
  ] satisfies [string, string, Prefix][])('parsePrefix/formatPrefix %s', (_name, text, prefix) => {
    expect(parsePrefix(text)).toEqual(prefix);
    expect(formatPrefix(prefix)).toBe(text);
  });

  it('parsePrefix keeps a path identifier', () => {
    expect(parsePrefix('10.0.0.0/8', 42)).toEqual({ afi: Afi.Ipv4, length: 8, address: 0x0a000000, pathId: 42 });
  });

  it.each([
    ['documentation address', '2001:db8::1', '2001:db8::1'],
    ['unspecified', '::', '::'],
    ['loopback', '::1', '::1'],
    ['equal zero runs: the first is shortened', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['the longest zero run is shortened', '2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['a single zero group is not shortened', '2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['lower case, no leading zeros', '2001:0DB8:00AB:0000:0000:0000:0000:0001', '2001:db8:ab::1'],
    ['trailing zero run', 'fe80:0:0:0:0:0:0:0', 'fe80::'],
  ])('formatIpv6 (RFC 5952 §4): %s', (_name, input, expected) => {
    expect(formatIpv6(parseIpv6(input))).toBe(expected);
  });

  it('parseIpv6 reads an embedded IPv4 tail', () => {
    expect([...parseIpv6('::ffff:192.0.2.1')]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
  });

  // RFC 5952 §5 RECOMMENDS the mixed notation for IPv4-mapped addresses ("::ffff:192.0.2.1").
  it('formatIpv6 (RFC 5952 §5): IPv4-mapped address in mixed notation', () => {
    expect(formatIpv6(parseIpv6('::ffff:192.0.2.1'))).toBe('::ffff:192.0.2.1');
  });

  it.each([
    ['IPv4 host bits set', '10.0.0.1/24'],
    ['IPv6 host bits set', '2001:db8::1/64'],
    ['IPv4 length 33', '10.0.0.0/33'],
    ['IPv6 length 129', '2001:db8::/129'],
    ['negative length', '10.0.0.0/-1'],
    ['no length', '10.0.0.0'],
    ['empty length', '10.0.0.0/'],
    ['non-numeric length', '10.0.0.0/2x'],
    ['bad IPv4 address', '10.0.0.256/32'],
    ['bad IPv6 address', '2001:db8:::/48'],
    ['zone index', 'fe80::%eth0/64'],
  ])('parsePrefix rejects %s', (_name, text) => {
    expect(() => parsePrefix(text)).toThrow(PrefixSyntaxError);
  });
});

describe('community text', () => {
  it.each([
    ['plain', 0xfde80064, '65000:100'],
    ['zero', 0, '0:0'],
    ['GRACEFUL_SHUTDOWN', 0xffff0000, 'GRACEFUL_SHUTDOWN'],
    ['NO_EXPORT', 0xffffff01, 'NO_EXPORT'],
    ['NO_ADVERTISE', 0xffffff02, 'NO_ADVERTISE'],
    ['BLACKHOLE', 0xffff029a, 'BLACKHOLE'],
    ['reserved but unnamed', 0xffff0002, '65535:2'],
  ])('formatCommunity/parseCommunity %s', (_name, value, text) => {
    expect(formatCommunity(value)).toBe(text);
    expect(parseCommunity(text)).toBe(value);
  });

  it.each([
    ['lower case with hyphens', 'graceful-shutdown', 0xffff0000],
    ['lower case with underscore', 'no_export', 0xffffff01],
    ['numeric form of a well-known one', '65535:65281', 0xffffff01],
  ])('parseCommunity accepts %s', (_name, text, value) => {
    expect(parseCommunity(text)).toBe(value);
  });

  it.each([['65536:1'], ['1:65536'], ['1'], ['a:b'], [''], ['1:2:3'], ['constructor'], ['-1:0']])('parseCommunity rejects %j', (text) => {
    expect(() => parseCommunity(text)).toThrow(CommunitySyntaxError);
  });

  it.each([
    ['small', { globalAdmin: 65000, localData1: 1, localData2: 2 }, '65000:1:2'],
    ['maximum', { globalAdmin: 0xffffffff, localData1: 0xffffffff, localData2: 0xffffffff }, '4294967295:4294967295:4294967295'],
  ])('formatLargeCommunity/parseLargeCommunity %s', (_name, value, text) => {
    expect(formatLargeCommunity(value)).toBe(text);
    expect(parseLargeCommunity(text)).toEqual(value);
  });

  it.each([['4294967296:0:0'], ['1:2'], ['1:2:3:4'], ['a:1:2']])('parseLargeCommunity rejects %j', (text) => {
    expect(() => parseLargeCommunity(text)).toThrow(CommunitySyntaxError);
  });

  it.each([
    ['route target, 2-octet AS', routeTarget(65000, 100), 'rt:65000:100'],
    ['route target, 4-octet AS (RFC 5668)', routeTarget(4200000001, 7), 'rt:4200000001:7'],
    ['link bandwidth 10 Gbit/s', linkBandwidth(65000, 1.25e9), 'link-bandwidth:65000:1250000000'],
    ['unknown type as raw octets', { high: 0x80000001, low: 2 }, '0x8000000100000002'],
  ])('formatExtendedCommunity %s', (_name, value, text) => {
    expect(formatExtendedCommunity(value)).toBe(text);
  });

  it('linkBandwidth is non-transitive type 0x40, subtype 0x04, with an IEEE float', () => {
    const c = linkBandwidth(65000, 1.25e9);
    expect(c).toEqual({ high: 0x4004fde8, low: 0x4e9502f9 });
    expect(linkBandwidthOf(c)).toBe(1.25e9);
  });
});
