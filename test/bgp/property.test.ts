/**
 * Property tests of the codec: decoding arbitrary or damaged bytes only ever yields a message or a
 * BgpError, valid messages round-trip, and the Framer reassembles any chunking of a stream.
 * Every property is bounded (numRuns) and every test has its own timeout.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  Afi,
  AsPathSegmentType,
  AttrType,
  BgpError,
  type BgpMessage,
  type Capability,
  CapabilityCode,
  CeaseSubcode,
  Framer,
  HeaderSubcode,
  IPV4_UNICAST,
  IPV6_UNICAST,
  KEEPALIVE,
  type MessageContext,
  MessageHeaderError,
  MessageTooLong,
  MessageType,
  type MpReach,
  type MpUnreach,
  type NotificationMessage,
  type OpenMessage,
  Origin,
  type PathAttributes,
  type Prefix,
  type RouteRefreshMessage,
  type UpdateMessage,
  decodeMessage,
  encodeMessage,
  familyKey,
  formatCommunity,
  formatIpv4,
  formatIpv6,
  formatLargeCommunity,
  formatPrefix,
  ipv4Prefix,
  ipv6Prefix,
  parseCommunity,
  parseIpv6,
  parseLargeCommunity,
  parsePrefix,
  shutdownNotification,
} from '../../src/bgp/index.js';

const TIMEOUT = 120_000;

// ---------------------------------------------------------------------------------------------
// Helpers

type Outcome = { readonly ok: true; readonly message: BgpMessage } | { readonly ok: false; readonly error: BgpError };

/** Decodes, and fails the property on anything thrown that is not a BgpError. */
function decodeOutcome(buf: Buffer, ctx: MessageContext): Outcome {
  try {
    return { ok: true, message: decodeMessage(buf, ctx) };
  } catch (e) {
    if (e instanceof BgpError) return { ok: false, error: e };
    throw new Error(`decodeMessage threw a non-BgpError for ${buf.toString('hex')}: ${String(e)}`, { cause: e });
  }
}

/** RFC 4271 §4.5: the codes a NOTIFICATION can carry (7 from RFC 7313). */
function expectNotifiable(error: BgpError): void {
  const n = error.toNotification();
  expect(n.code).toBeGreaterThanOrEqual(1);
  expect(n.code).toBeLessThanOrEqual(7);
  expect(Number.isInteger(n.subcode) && n.subcode >= 0 && n.subcode <= 255).toBe(true);
  expect(Buffer.isBuffer(n.data)).toBe(true);
}

function prefixCount(m: UpdateMessage): number {
  return m.withdrawnRoutes.length + m.nlri.length + (m.mpReach?.nlri.length ?? 0) + (m.mpUnreach?.withdrawnRoutes.length ?? 0);
}

/** Checks one decode of possibly damaged input: outcome kind, prefix bound, time. */
function checkDecode(buf: Buffer, ctx: MessageContext): Outcome {
  const started = performance.now();
  const outcome = decodeOutcome(buf, ctx);
  const elapsed = performance.now() - started;
  expect(elapsed).toBeLessThan(250);
  if (outcome.ok) {
    if (outcome.message.type === MessageType.Update) expect(prefixCount(outcome.message)).toBeLessThanOrEqual(buf.length);
  } else {
    expectNotifiable(outcome.error);
  }
  return outcome;
}

/** A 19-octet header with a valid marker, `length` and `type`, followed by `body`. */
function withHeader(type: number, body: Uint8Array): Buffer {
  const b = Buffer.alloc(19 + body.length, 0xff);
  b.writeUInt16BE(19 + body.length, 16);
  b[18] = type;
  b.set(body, 19);
  return b;
}

/** Encodes, or skips the run (fc.pre) when a generated message does not fit the limit. */
function encodeOrSkip(m: BgpMessage, ctx: MessageContext): Buffer {
  try {
    return encodeMessage(m, ctx);
  } catch (e) {
    if (e instanceof MessageTooLong) fc.pre(false);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const ipv4Text = u32.map(formatIpv4);
const ipv6Text = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIpv6);

const contextArb: fc.Arbitrary<MessageContext> = fc
  .record({ fourOctetAs: fc.boolean(), addPath: fc.boolean(), maxMessageLength: fc.constantFrom(4096, 65535), ebgp: fc.boolean() })
  .map(({ fourOctetAs, addPath, maxMessageLength, ebgp }) =>
    addPath ? { fourOctetAs, maxMessageLength, ebgp, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) } : { fourOctetAs, maxMessageLength, ebgp },
  );

/** Contexts for round trips: iBGP (eBGP discards some attributes on purpose), 4-octet or not. */
const roundTripContextArb = (fourOctetAs: boolean): fc.Arbitrary<MessageContext> =>
  fc
    .record({ addPath: fc.boolean(), maxMessageLength: fc.constantFrom(4096, 65535) })
    .map(({ addPath, maxMessageLength }) =>
      addPath ? { fourOctetAs, maxMessageLength, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) } : { fourOctetAs, maxMessageLength },
    );

const v4PrefixArb = (addPath: boolean): fc.Arbitrary<Prefix> =>
  fc.tuple(u32, fc.integer({ min: 0, max: 32 }), u32).map(([a, l, id]) => ipv4Prefix(a, l, addPath ? id : undefined));
const v6PrefixArb = (addPath: boolean): fc.Arbitrary<Prefix> =>
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), u32).map(([a, l, id]) => ipv6Prefix(a, l, addPath ? id : undefined));

/** Capability codes decodeCapability gives a typed value; any other code comes back as 'unknown'. */
const TYPED_CAPABILITY_CODES: ReadonlySet<number> = new Set([
  CapabilityCode.Multiprotocol,
  CapabilityCode.RouteRefresh,
  CapabilityCode.ExtendedNextHop,
  CapabilityCode.ExtendedMessage,
  CapabilityCode.GracefulRestart,
  CapabilityCode.FourOctetAs,
  CapabilityCode.AddPath,
  CapabilityCode.EnhancedRouteRefresh,
  CapabilityCode.Fqdn,
]);

const textArb = fc
  .oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 12 }))
  .filter((s) => Buffer.byteLength(s) <= 100);

const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, forwardingState: fc.boolean() }), { maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('four-octet-as' as const), asn: fc.integer({ min: 1, max: 0xffffffff }) }),
  fc.record({
    kind: fc.constant('add-path' as const),
    families: fc.array(fc.record({ afi: u16, safi: u8, mode: fc.constantFrom('receive' as const, 'send' as const, 'both' as const) }), { maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('extended-next-hop' as const), entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 8 }) }),
  fc.record({ kind: fc.constant('fqdn' as const), hostname: textArb, domain: textArb }),
  fc.record({ kind: fc.constant('unknown' as const), code: u8.filter((c) => !TYPED_CAPABILITY_CODES.has(c)), value: bytes(64) }),
);

const openArb: fc.Arbitrary<OpenMessage> = fc.record({
  type: fc.constant(MessageType.Open),
  version: fc.constant(4),
  myAs: fc.integer({ min: 1, max: 0xffff }),
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpIdentifier: fc.integer({ min: 1, max: 0xffffffff }).map(formatIpv4),
  // Occasionally enough to need RFC 9072's extended optional parameters.
  capabilities: fc.oneof({ weight: 3, arbitrary: fc.array(capabilityArb, { maxLength: 8 }) }, { weight: 1, arbitrary: fc.array(capabilityArb, { minLength: 20, maxLength: 40 }) }),
});

const SEGMENT_TYPES = [AsPathSegmentType.AsSet, AsPathSegmentType.AsSequence, AsPathSegmentType.AsConfedSequence, AsPathSegmentType.AsConfedSet] as const;

const asnsArb = (asn: fc.Arbitrary<number>) =>
  fc.oneof({ weight: 9, arbitrary: fc.array(asn, { minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.array(asn, { minLength: 200, maxLength: 255 }) });

/** Types that are not in the attribute table (nor MP_REACH/MP_UNREACH), so they stay unknown. */
const KNOWN_ATTRIBUTE_TYPES: ReadonlySet<number> = new Set(Object.values(AttrType));
const unknownAttrType = u8.filter((t) => !KNOWN_ATTRIBUTE_TYPES.has(t));

/** Attributes as the decoder gives them back: no empty lists, atomicAggregate only true, Partial on unknowns. */
const attributesArb = (segments: fc.Arbitrary<PathAttributes['asPath']>): fc.Arbitrary<PathAttributes> =>
  fc.record(
    {
      origin: fc.constantFrom(Origin.Igp, Origin.Egp, Origin.Incomplete),
      asPath: segments,
      nextHop: ipv4Text,
      med: u32,
      localPref: u32,
      atomicAggregate: fc.constant(true),
      aggregator: fc.record({ asn: u32, address: ipv4Text }),
      communities: fc.array(u32, { minLength: 1, maxLength: 20 }),
      originatorId: ipv4Text,
      clusterList: fc.array(ipv4Text, { minLength: 1, maxLength: 5 }),
      extendedCommunities: fc.array(fc.record({ high: u32, low: u32 }), { minLength: 1, maxLength: 10 }),
      largeCommunities: fc.array(fc.record({ globalAdmin: u32, localData1: u32, localData2: u32 }), { minLength: 1, maxLength: 5 }),
      unknown: fc
        .uniqueArray(fc.record({ type: unknownAttrType, value: bytes(40) }), { selector: (u) => u.type, minLength: 1, maxLength: 3 })
        // They go out in ascending type order (RFC 4271 §5), so that is the order they come back in.
        .map((us) => us.map((u) => ({ flags: 0xe0, type: u.type, value: u.value })).sort((a, b) => a.type - b.type)),
    },
    { requiredKeys: [], noNullPrototype: true },
  );

const asPath4Arb = fc.array(fc.record({ type: fc.constantFrom(...SEGMENT_TYPES), asns: asnsArb(u32) }), { maxLength: 5 });

/**
 * Paths for a 2-octet session. No two AS_SEQUENCEs are adjacent: RFC 6793 reconciliation may join
 * them, which is the same path but not the same value. A confederation segment may lead the path
 * (RFC 6793 §4.2.3 keeps it), with 2-octet members only: AS4_PATH never carries confederation
 * segments (§3), so a 4-octet member AS cannot reach an OLD speaker at all.
 */
const asPath2Arb = fc
  .tuple(
    fc.option(fc.record({ type: fc.constantFrom(AsPathSegmentType.AsConfedSequence, AsPathSegmentType.AsConfedSet), asns: asnsArb(u16) }), { nil: undefined }),
    fc.array(fc.record({ type: fc.constantFrom(AsPathSegmentType.AsSet, AsPathSegmentType.AsSequence), asns: asnsArb(fc.oneof(u16, u32)) }), { maxLength: 5 }),
  )
  .map(([confed, segments]) => {
    const rest = segments.map((s, i) => (i > 0 && s.type === AsPathSegmentType.AsSequence && segments[i - 1]?.type === AsPathSegmentType.AsSequence ? { ...s, type: AsPathSegmentType.AsSet } : s));
    return confed === undefined ? rest : [confed, ...rest];
  });

function mpReachArb(addPathFor: (afi: number, safi: number) => boolean): fc.Arbitrary<MpReach> {
  const safiArb = fc.constantFrom(1, 2);
  return fc.oneof(
    fc.tuple(safiArb, ipv6Text, fc.option(ipv6Text, { nil: undefined })).chain(([safi, nextHop, linkLocalNextHop]) =>
      fc.array(v6PrefixArb(addPathFor(Afi.Ipv6, safi)), { maxLength: 20 }).map((nlri): MpReach => ({ afi: Afi.Ipv6, safi, nextHop, ...(linkLocalNextHop === undefined ? {} : { linkLocalNextHop }), nlri })),
    ),
    fc.tuple(safiArb, ipv4Text).chain(([safi, nextHop]) =>
      fc.array(v4PrefixArb(addPathFor(Afi.Ipv4, safi)), { maxLength: 20 }).map((nlri): MpReach => ({ afi: Afi.Ipv4, safi, nextHop, nlri })),
    ),
    // RFC 8950: IPv4 NLRI over an IPv6 next hop.
    fc.tuple(safiArb, ipv6Text, fc.option(ipv6Text, { nil: undefined })).chain(([safi, nextHop, linkLocalNextHop]) =>
      fc.array(v4PrefixArb(addPathFor(Afi.Ipv4, safi)), { maxLength: 20 }).map((nlri): MpReach => ({ afi: Afi.Ipv4, safi, nextHop, ...(linkLocalNextHop === undefined ? {} : { linkLocalNextHop }), nlri })),
    ),
  );
}

function mpUnreachArb(addPathFor: (afi: number, safi: number) => boolean): fc.Arbitrary<MpUnreach> {
  return fc.tuple(fc.constantFrom(Afi.Ipv4, Afi.Ipv6), fc.constantFrom(1, 2)).chain(([afi, safi]) =>
    fc.array(afi === Afi.Ipv4 ? v4PrefixArb(addPathFor(afi, safi)) : v6PrefixArb(addPathFor(afi, safi)), { maxLength: 20 }).map((withdrawnRoutes): MpUnreach => ({ afi, safi, withdrawnRoutes })),
  );
}

/** A valid UPDATE for `ctx`, and the value decoding it must give (End-of-RIB marked, RFC 4724 §2). */
function updateArb(ctx: MessageContext, attributes: fc.Arbitrary<PathAttributes>): fc.Arbitrary<{ message: UpdateMessage; expected: UpdateMessage }> {
  const addPathFor = (afi: number, safi: number): boolean => ctx.addPath?.has(familyKey(afi, safi)) ?? false;
  const v4 = v4PrefixArb(addPathFor(Afi.Ipv4, 1));
  return fc
    .record({
      withdrawnRoutes: fc.array(v4, { maxLength: 20 }),
      attributes,
      nlri: fc.array(v4, { maxLength: 20 }),
      mpReach: fc.option(mpReachArb(addPathFor), { nil: undefined }),
      mpUnreach: fc.option(mpUnreachArb(addPathFor), { nil: undefined }),
    })
    .map(({ withdrawnRoutes, attributes: generated, nlri, mpReach, mpUnreach }) => {
      // RFC 7606 §3(d): announcing needs ORIGIN and AS_PATH (and NEXT_HOP for the NLRI field).
      const announces = nlri.length > 0 || (mpReach !== undefined && mpReach.nlri.length > 0);
      const attrs: PathAttributes = announces ? { origin: Origin.Igp, asPath: [], ...(nlri.length > 0 ? { nextHop: '192.0.2.1' } : {}), ...generated } : generated;
      const message: UpdateMessage = {
        type: MessageType.Update,
        withdrawnRoutes,
        attributes: attrs,
        nlri,
        ...(mpReach === undefined ? {} : { mpReach }),
        ...(mpUnreach === undefined ? {} : { mpUnreach }),
      };
      const empty = withdrawnRoutes.length === 0 && nlri.length === 0 && mpReach === undefined && Object.keys(attrs).length === 0;
      if (empty && mpUnreach === undefined) return { message, expected: { ...message, endOfRib: { afi: Afi.Ipv4, safi: 1 } } };
      if (empty && mpUnreach !== undefined && mpUnreach.withdrawnRoutes.length === 0) {
        return { message, expected: { ...message, endOfRib: { afi: mpUnreach.afi, safi: mpUnreach.safi } } };
      }
      return { message, expected: message };
    });
}

const notificationArb: fc.Arbitrary<NotificationMessage> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.Notification), code: fc.integer({ min: 1, max: 5 }), subcode: u8, data: bytes(40) }),
  fc.tuple(fc.constantFrom(CeaseSubcode.AdministrativeShutdown, CeaseSubcode.AdministrativeReset), textArb).map(([sub, text]) => shutdownNotification(sub, text)),
);

const routeRefreshArb: fc.Arbitrary<RouteRefreshMessage> = fc.record({ type: fc.constant(MessageType.RouteRefresh), afi: u16, safi: u8, subtype: fc.constantFrom(0, 1, 2) });

/** Any valid message with its context, for mutation and framing. */
const anyMessageArb: fc.Arbitrary<{ ctx: MessageContext; message: BgpMessage }> = fc.oneof(
  openArb.map((message) => ({ ctx: { fourOctetAs: true, maxMessageLength: 4096 }, message })),
  fc.boolean().chain((four) =>
    roundTripContextArb(four).chain((ctx) => updateArb(ctx, attributesArb(four ? asPath4Arb : asPath2Arb)).map(({ message }) => ({ ctx, message }))),
  ),
  notificationArb.map((message) => ({ ctx: { fourOctetAs: true, maxMessageLength: 4096 }, message })),
  routeRefreshArb.map((message) => ({ ctx: { fourOctetAs: true, maxMessageLength: 4096 }, message })),
  fc.constant({ ctx: { fourOctetAs: true, maxMessageLength: 4096 }, message: KEEPALIVE }),
);

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly keep: number }
  | { readonly kind: 'extend'; readonly tail: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number };

const position = fc.nat({ max: 5000 });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: position, xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), at: position, value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 255, 4, 16, 32) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 8 }) }) },
);

/** Applies mutations to the body only (the marker stays valid), then makes the Length field agree. */
function mutate(original: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(original);
  for (const m of mutations) {
    const bodyLength = b.length - 19;
    switch (m.kind) {
      case 'flip':
        if (bodyLength > 0) b[19 + (m.at % bodyLength)] = ((b[19 + (m.at % bodyLength)] ?? 0) ^ m.xor) & 0xff;
        break;
      case 'set':
        if (bodyLength > 0) b[19 + (m.at % bodyLength)] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, 19 + (m.keep % (bodyLength + 1)));
        break;
      case 'extend':
        b = Buffer.concat([b, m.tail]);
        break;
      case 'insert': {
        const at = 19 + (m.at % (bodyLength + 1));
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = 19 + (m.at % (bodyLength + 1));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      }
    }
  }
  b.writeUInt16BE(Math.min(b.length, 0xffff), 16);
  return b;
}

// ---------------------------------------------------------------------------------------------
// decodeMessage never throws anything but a BgpError

describe('decodeMessage on arbitrary bytes', () => {
  it(
    'random bytes give a message or a BgpError',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 5000 }), contextArb, (a, ctx) => {
          checkDecode(Buffer.from(a), ctx);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );

  it(
    'a valid header of type 1..5 before random bytes gives a message or a BgpError',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 5000 - 19 }), contextArb, (type, body, ctx) => {
          const outcome = checkDecode(withHeader(type, body), ctx);
          // The marker and type are valid, so the header itself is never what is wrong.
          if (!outcome.ok && outcome.error instanceof MessageHeaderError) expect(outcome.error.subcode).toBe(HeaderSubcode.BadMessageLength);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );

  interface Soup {
    readonly withdrawn: Uint8Array;
    readonly attributes: readonly { readonly flags: number; readonly type: number; readonly value: Uint8Array }[];
    readonly nlri: Uint8Array;
  }

  /** An UPDATE with consistent lengths and random attributes, so the attribute decoders are reached. */
  /** Mostly well-formed IPv4 prefix encodings (so decoding gets past them), sometimes noise. */
  const prefixFieldArb = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.integer({ min: 0, max: 32 }).chain((len) => fc.uint8Array({ minLength: (len + 7) >> 3, maxLength: (len + 7) >> 3 }).map((a) => [len, ...a])), { maxLength: 8 })
        .map((ps) => Uint8Array.from(ps.flat())),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  );

  const attributeSoupArb: fc.Arbitrary<Soup> = fc.record({
    withdrawn: prefixFieldArb,
    attributes: fc.array(
      fc.record({
        flags: fc.oneof(fc.constantFrom(0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0xd0), u8),
        type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...Object.values(AttrType)) }, { weight: 1, arbitrary: u8 }),
        value: fc.oneof(
          { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
          { weight: 1, arbitrary: fc.uint8Array({ minLength: 250, maxLength: 600 }) },
        ),
      }),
      { maxLength: 10 },
    ),
    nlri: prefixFieldArb,
  });

  function soupBytes(s: Soup): Buffer {
    const attrs = s.attributes.map(({ flags, type, value }) => {
      const extended = (flags & 0x10) !== 0 || value.length > 255;
      const head = extended ? Buffer.from([flags | 0x10, type, value.length >> 8, value.length & 0xff]) : Buffer.from([flags, type, value.length]);
      return Buffer.concat([head, value]);
    });
    const attrBlock = Buffer.concat(attrs);
    const body = Buffer.concat([Buffer.from([s.withdrawn.length >> 8, s.withdrawn.length & 0xff]), s.withdrawn, Buffer.from([attrBlock.length >> 8, attrBlock.length & 0xff]), attrBlock, s.nlri]);
    return withHeader(MessageType.Update, body);
  }

  it(
    'UPDATEs with consistent lengths and random attributes give a message or a BgpError',
    () => {
      let decoded = 0;
      fc.assert(
        fc.property(attributeSoupArb, contextArb, (s, ctx) => {
          if (checkDecode(soupBytes(s), { ...ctx, maxMessageLength: 65535 }).ok) decoded++;
        }),
        { numRuns: 2000 },
      );
      // The property would be vacuous if everything were rejected.
      expect(decoded).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'OPENs with a well-formed Capabilities parameter and random capability values give a message or a BgpError',
    () => {
      const capsArb = fc.array(fc.record({ code: fc.oneof(fc.constantFrom(...TYPED_CAPABILITY_CODES), u8), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 10 });
      fc.assert(
        fc.property(capsArb, fc.uint8Array({ minLength: 9, maxLength: 9 }), (caps, fixed) => {
          const capBytes = Buffer.concat(caps.map(({ code, value }) => Buffer.concat([Buffer.from([code, value.length]), value])));
          fc.pre(capBytes.length <= 253);
          const fixedPart = Buffer.from(fixed);
          fixedPart[0] = 4;
          const body = Buffer.concat([fixedPart, Buffer.from([capBytes.length + 2, 2, capBytes.length]), capBytes]);
          checkDecode(withHeader(MessageType.Open, body), { fourOctetAs: true, maxMessageLength: 4096 });
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );
});

describe('decodeMessage on damaged valid messages', () => {
  it(
    'flipped, truncated, extended, spliced messages give a message or a BgpError, quickly',
    () => {
      fc.assert(
        fc.property(anyMessageArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.boolean(), contextArb, ({ ctx, message }, mutations, sameContext, otherCtx) => {
          const original = encodeOrSkip(message, ctx);
          checkDecode(mutate(original, mutations), sameContext ? ctx : otherCtx);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );

  it(
    'every BgpError from decoding maps to a NOTIFICATION code 1..7',
    () => {
      let errors = 0;
      fc.assert(
        fc.property(anyMessageArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ({ ctx, message }, mutations) => {
          const outcome = decodeOutcome(mutate(encodeOrSkip(message, ctx), mutations), ctx);
          if (!outcome.ok) {
            errors++;
            expectNotifiable(outcome.error);
          }
        }),
        { numRuns: 2000 },
      );
      expect(errors).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------
// Round trips of random valid messages

describe('decodeMessage(encodeMessage(m)) equals m', () => {
  it(
    'OPEN with random capabilities',
    () => {
      fc.assert(
        fc.property(openArb, (m) => {
          const ctx: MessageContext = { fourOctetAs: true, maxMessageLength: 4096 };
          expect(decodeMessage(encodeOrSkip(m, ctx), ctx)).toEqual(m);
        }),
        { numRuns: 1000 },
      );
    },
    TIMEOUT,
  );

  it(
    'UPDATE on a 4-octet AS session',
    () => {
      fc.assert(
        fc.property(
          roundTripContextArb(true).chain((ctx) => updateArb(ctx, attributesArb(asPath4Arb)).map((u) => ({ ctx, ...u }))),
          ({ ctx, message, expected }) => {
            expect(decodeMessage(encodeOrSkip(message, ctx), ctx)).toEqual(expected);
          },
        ),
        { numRuns: 1000 },
      );
    },
    TIMEOUT,
  );

  it(
    'UPDATE on a 2-octet AS session (AS4_PATH, AS4_AGGREGATOR)',
    () => {
      fc.assert(
        fc.property(
          roundTripContextArb(false).chain((ctx) => updateArb(ctx, attributesArb(asPath2Arb)).map((u) => ({ ctx, ...u }))),
          ({ ctx, message, expected }) => {
            const { asPath, aggregator } = message.attributes;
            // RFC 6793 §4.2.3: a 2-octet AGGREGATOR that is not AS_TRANS makes the receiver ignore
            // AS4_PATH, so such a route cannot carry a 4-octet path to an OLD speaker's peer.
            const needsAs4Path = asPath?.some((s) => s.asns.some((a) => a > 0xffff)) ?? false;
            fc.pre(!(needsAs4Path && aggregator !== undefined && aggregator.asn <= 0xffff && aggregator.asn !== AS_TRANS));
            expect(decodeMessage(encodeOrSkip(message, ctx), ctx)).toEqual(expected);
          },
        ),
        { numRuns: 1000 },
      );
    },
    TIMEOUT,
  );

  it(
    'NOTIFICATION and ROUTE-REFRESH',
    () => {
      fc.assert(
        fc.property(fc.oneof(notificationArb, routeRefreshArb), (m) => {
          expect(decodeMessage(encodeMessage(m))).toEqual(m);
        }),
        { numRuns: 1000 },
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------
// Framer

/** Cuts `stream` at the given chunk sizes (cycled), so every octet is pushed exactly once. */
function chunks(stream: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = sizes[i % sizes.length] ?? stream.length;
    out.push(stream.subarray(at, at + n));
    at += n;
  }
  return out;
}

const encodedStreamArb = fc.array(anyMessageArb, { minLength: 1, maxLength: 10 }).map((ms) =>
  ms.flatMap(({ ctx, message }) => {
    try {
      return [encodeMessage(message, { ...ctx, maxMessageLength: 4096 })];
    } catch (e) {
      if (e instanceof MessageTooLong) return [];
      throw e;
    }
  }),
);

describe('Framer', () => {
  it(
    'any chunking of a stream of valid messages yields exactly those messages in order',
    () => {
      fc.assert(
        fc.property(encodedStreamArb, fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (messages, sizes) => {
          const framer = new Framer();
          const out: Buffer[] = [];
          for (const c of chunks(Buffer.concat(messages), sizes)) out.push(...framer.push(c));
          expect(out.map((b) => b.toString('hex'))).toEqual(messages.map((b) => b.toString('hex')));
          expect(framer.buffered).toBe(0);
        }),
        { numRuns: 500 },
      );
    },
    TIMEOUT,
  );

  it(
    'a corrupted marker throws MessageHeaderError (Connection Not Synchronized)',
    () => {
      fc.assert(
        fc.property(
          encodedStreamArb.filter((ms) => ms.length > 0),
          fc.nat(),
          fc.integer({ min: 0, max: 15 }),
          fc.integer({ min: 0, max: 254 }),
          fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
          (messages, which, markerOctet, value, sizes) => {
            const bad = which % messages.length;
            const stream = Buffer.concat(messages);
            const at = messages.slice(0, bad).reduce((n, b) => n + b.length, 0) + markerOctet;
            stream[at] = value;
            const framer = new Framer();
            const delivered: Buffer[] = [];
            let thrown: unknown;
            try {
              for (const c of chunks(stream, sizes)) delivered.push(...framer.push(c));
            } catch (e) {
              thrown = e;
            }
            expect(thrown).toBeInstanceOf(MessageHeaderError);
            if (thrown instanceof MessageHeaderError) expect(thrown.subcode).toBe(HeaderSubcode.ConnectionNotSynchronized);
            // Nothing from the corrupted message on is delivered, and what was is intact.
            expect(delivered.length).toBeLessThanOrEqual(bad);
            expect(delivered.map((b) => b.toString('hex'))).toEqual(messages.slice(0, delivered.length).map((b) => b.toString('hex')));
          },
        ),
        { numRuns: 500 },
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------
// Text forms

describe('text forms round-trip', () => {
  it(
    'parsePrefix(formatPrefix(p)) equals p, and formatIpv6 output parses back to the same address',
    () => {
      fc.assert(
        fc.property(fc.oneof(v4PrefixArb(false), v6PrefixArb(false)), (p) => {
          expect(parsePrefix(formatPrefix(p))).toEqual(p);
          if (p.afi === Afi.Ipv6) expect([...parseIpv6(formatIpv6(p.address))]).toEqual([...p.address]);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );

  it(
    'communities and large communities',
    () => {
      fc.assert(
        fc.property(u32, fc.record({ globalAdmin: u32, localData1: u32, localData2: u32 }), (c, l) => {
          expect(parseCommunity(formatCommunity(c))).toBe(c);
          expect(parseLargeCommunity(formatLargeCommunity(l))).toEqual(l);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );
});
