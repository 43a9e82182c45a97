/**
 * An independent reading of our ENCODER: every message below is encoded by src/bgp, written into a
 * pcap as the payload of TCP segments from 127.0.0.1:179 to 127.0.0.2:50000, and dissected by
 * Wireshark (tshark). Each message is then compared, field by field, with what we meant, written
 * out by hand here: the expected lengths are counted in the comments, never taken from the encoder.
 *
 * What Wireshark is told, and why:
 * - `bgp.asn_len` is pinned per session (4 octets, or 2 for the OLD-speaker session), as a real
 *   peer knows it from the OPEN exchange. Wireshark 4.0 does not track capabilities across
 *   messages; its auto-detection reads these paths the same way, but pinning keeps it from guessing.
 * - ADD-PATH has no preference in Wireshark 4.0: it detects path identifiers heuristically, per
 *   NLRI block (`detect_add_path_prefix46`: the block must parse with path identifiers and must
 *   not parse without). Path identifiers below 2^24 make the plain reading start with a /0 prefix
 *   followed by more octets, which the heuristic takes as ADD-PATH, so the detection is certain
 *   for the identifiers used here.
 *
 * Left out because Debian 12's Wireshark (4.0) cannot read them, not because of kbgp:
 * - RFC 8654 extended messages: any message over 4096 octets gets "Length is invalid".
 * - RFC 9072 extended optional parameters (an OPEN with more than 255 octets of capabilities).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Afi,
  CeaseSubcode,
  IPV4_UNICAST,
  IPV6_UNICAST,
  KEEPALIVE,
  type MessageContext,
  MessageType,
  type OpenMessage,
  Safi,
  type UpdateMessage,
  WellKnownCommunity,
  encodeEndOfRib,
  encodeMessage,
  linkBandwidth,
  packAnnouncements,
  packWithdrawals,
  parsePrefix,
  routeTarget,
  shutdownNotification,
} from '../../src/bgp/index.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type DissectedMessage, type PdmlNode, dissect, expertInfo, findAll, isMalformed, tsharkVersion } from '../helpers/tshark.js';

const binaries = requireBinaries('tshark');

// ---------------------------------------------------------------------------------------------
// Wireshark's reading of a message, flattened: every named field with its displayed value, in
// document order. Containers with no value of their own (a capability, the NLRI block; Wireshark
// 4.0 shows the large-community container as "[ Null ]") are left out, their fields are not. The
// bits under an attribute's Flags octet are checked separately, against the octet itself.

type Leaf = readonly [field: string, show: string];

const FLAG_BITS = 'bgp.update.path_attribute.flags.';

function leaves(node: PdmlNode): Leaf[] {
  const out: Leaf[] = [];
  const walk = (n: PdmlNode): void => {
    for (const c of n.children) {
      if (c.name.startsWith(FLAG_BITS)) continue;
      if (c.name !== '' && (c.children.length === 0 || (c.show !== '' && c.show !== '[ Null ]'))) out.push([c.name, c.show]);
      walk(c);
    }
  };
  walk(node);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expected fields, built by hand. Nothing here calls the encoder.

const MARKER = new Array<string>(16).fill('ff').join(':');
const header = (type: number, length: number): Leaf[] => [
  ['bgp.marker', MARKER],
  ['bgp.length', `${length}`],
  ['bgp.type', `${type}`],
];

/** Wireshark shows FT_BYTES as colon-separated hex. */
const colonHex = (hex: string): string => hex.replace(/\s+/g, '').replace(/(..)(?!$)/g, '$1:');

// OPEN
const open = (myAs: number, holdTime: number, id: string, paramLength: number, ...caps: Leaf[][]): Leaf[] => [
  ['bgp.open.version', '4'],
  ['bgp.open.myas', `${myAs}`],
  ['bgp.open.holdtime', `${holdTime}`],
  ['bgp.open.identifier', id],
  ['bgp.open.opt.len', `${paramLength + 2}`],
  ['bgp.open.opt.param.type', '2'],
  ['bgp.open.opt.param.len', `${paramLength}`],
  ...caps.flat(),
];
const cap = (code: number, length: number, ...value: Leaf[]): Leaf[] => [['bgp.cap.type', `${code}`], ['bgp.cap.length', `${length}`], ...value];
const mpCap = (afi: number, safi: number): Leaf[] =>
  cap(1, 4, ['bgp.cap.mp.afi', `${afi}`], ['bgp.cap.reserved', '00'], ['bgp.cap.mp.safi', `${safi}`]);

// UPDATE
const PA = 'bgp.update.path_attribute';
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const update = (withdrawnLength: number, withdrawn: Leaf[], attrLength: number, attrs: Leaf[][], nlri: Leaf[] = []): Leaf[] => [
  ['bgp.update.withdrawn_routes.length', `${withdrawnLength}`],
  ...withdrawn,
  ['bgp.update.path_attributes.length', `${attrLength}`],
  ...attrs.flat(),
  ...nlri,
];
const attr = (flags: number, type: number, length: number, ...value: Leaf[]): Leaf[] => [
  [`${PA}.flags`, hex2(flags)],
  [`${PA}.type_code`, `${type}`],
  [`${PA}.length`, `${length}`],
  ...value,
];
const origin = (v: number): Leaf[] => attr(0x40, 1, 1, [`${PA}.origin`, `${v}`]);
const segment = (type: 1 | 2, size: 2 | 4, asns: readonly number[]): Leaf[] => [
  [`${PA}.as_path_segment.type`, `${type}`],
  [`${PA}.as_path_segment.length`, `${asns.length}`],
  ...asns.map((a): Leaf => [`${PA}.as_path_segment.as${size}`, `${a}`]),
];
const nextHop = (ip: string): Leaf[] => attr(0x40, 3, 4, [`${PA}.next_hop`, ip]);
const community = (asn: number, value: number): Leaf[] => [
  [`${PA}.community_as`, `${asn}`],
  [`${PA}.community_value`, `${value}`],
];
const wellKnown = (hex: string): Leaf => [`${PA}.community_wellknown`, hex];
const large = (ga: number, ld1: number, ld2: number): Leaf[] => [
  ['bgp.large_communities.ga', `${ga}`],
  ['bgp.large_communities.ldp1', `${ld1}`],
  ['bgp.large_communities.ldp2', `${ld2}`],
];
/** An extended community's Type octet with its two bits, as Wireshark breaks it down. */
const extType = (type: number): Leaf[] => [
  ['bgp.ext_com.type', hex2(type)],
  ['bgp.ext_com.type.auth', `${(type >> 7) & 1}`],
  ['bgp.ext_com.type.tran', `${(type >> 6) & 1}`],
];

/** One prefix, optionally with its RFC 7911 path identifier; `field` names the family and section. */
const prefix = (field: string, text: string, pathId?: number): Leaf[] => {
  const [address = '', length = ''] = text.split('/');
  return [...(pathId === undefined ? [] : [['bgp.nlri_path_id', `${pathId}`] as const]), ['bgp.prefix_length', length], [field, address]];
};
const nlri4 = (text: string, pathId?: number): Leaf[] => prefix('bgp.nlri_prefix', text, pathId);
const withdrawn4 = (text: string, pathId?: number): Leaf[] => prefix('bgp.withdrawn_prefix', text, pathId);
const reach4 = (text: string): Leaf[] => prefix('bgp.mp_reach_nlri_ipv4_prefix', text);
const reach6 = (text: string, pathId?: number): Leaf[] => prefix('bgp.mp_reach_nlri_ipv6_prefix', text, pathId);
const unreach6 = (text: string, pathId?: number): Leaf[] => prefix('bgp.mp_unreach_nlri_ipv6_prefix', text, pathId);

const mpReach = (length: number, afi: number, safi: number, nextHopHex: string, nextHops: Leaf[], ...nlri: Leaf[][]): Leaf[] =>
  attr(
    length > 255 ? 0x90 : 0x80,
    14,
    length,
    [`${PA}.mp_reach_nlri.afi`, `${afi}`],
    [`${PA}.mp_reach_nlri.safi`, `${safi}`],
    [`${PA}.mp_reach_nlri.next_hop`, colonHex(nextHopHex)],
    ...nextHops,
    [`${PA}.mp_reach_nlri.nbr_snpa`, '0'],
    ...nlri.flat(),
  );
const mpUnreach = (length: number, afi: number, safi: number, ...withdrawn: Leaf[][]): Leaf[] =>
  attr(
    length > 255 ? 0x90 : 0x80,
    15,
    length,
    [`${PA}.mp_unreach_nlri.afi`, `${afi}`],
    [`${PA}.mp_unreach_nlri.safi`, `${safi}`],
    // An empty Withdrawn Routes block (End-of-RIB) is a field with no value of its own.
    ...(withdrawn.length === 0 ? [[`${PA}.mp_unreach_nlri`, ''] as const] : withdrawn.flat()),
  );

// ---------------------------------------------------------------------------------------------
// The messages, the session each travels in, and what Wireshark must read in each.

type Session = 'four-octet' | 'two-octet' | 'add-path';

interface Case {
  readonly name: string;
  readonly session: Session;
  readonly bytes: Buffer;
  readonly expected: readonly Leaf[];
}

const FOUR_OCTET: MessageContext = { fourOctetAs: true, maxMessageLength: 4096 };
const TWO_OCTET: MessageContext = { fourOctetAs: false, maxMessageLength: 4096 };
const ADD_PATH: MessageContext = { ...FOUR_OCTET, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) };

const AS_A = 4200000001; // fa56ea01, a 4-octet AS
const AS_B = 4200000002;
const AS_C = 4200000003;
const AS_TRANS = 23456;

const openMessage: OpenMessage = {
  type: MessageType.Open,
  version: 4,
  myAs: AS_TRANS,
  holdTime: 90,
  bgpIdentifier: '192.0.2.1',
  capabilities: [
    { kind: 'multiprotocol', afi: Afi.Ipv4, safi: Safi.Unicast },
    { kind: 'multiprotocol', afi: Afi.Ipv6, safi: Safi.Unicast },
    { kind: 'route-refresh' },
    { kind: 'enhanced-route-refresh' },
    { kind: 'extended-message' },
    {
      kind: 'graceful-restart',
      restarting: true,
      notification: true,
      restartTime: 120,
      families: [
        { afi: Afi.Ipv4, safi: Safi.Unicast, forwardingState: true },
        { afi: Afi.Ipv6, safi: Safi.Unicast, forwardingState: false },
      ],
    },
    { kind: 'four-octet-as', asn: AS_A },
    {
      kind: 'add-path',
      families: [
        { afi: Afi.Ipv4, safi: Safi.Unicast, mode: 'receive' },
        { afi: Afi.Ipv6, safi: Safi.Unicast, mode: 'send' },
        { afi: Afi.Ipv4, safi: Safi.Multicast, mode: 'both' },
      ],
    },
    {
      kind: 'extended-next-hop',
      entries: [
        { afi: Afi.Ipv4, safi: Safi.Unicast, nextHopAfi: Afi.Ipv6 },
        { afi: Afi.Ipv4, safi: Safi.Multicast, nextHopAfi: Afi.Ipv6 },
      ],
    },
    { kind: 'fqdn', hostname: 'node-a', domain: 'cluster.local' },
  ],
};

const fullUpdate: UpdateMessage = {
  type: MessageType.Update,
  withdrawnRoutes: [],
  nlri: [parsePrefix('10.96.0.0/12'), parsePrefix('203.0.113.7/32')],
  attributes: {
    origin: 2,
    asPath: [
      { type: 2, asns: [AS_A, 65001, AS_B] },
      { type: 1, asns: [64512, AS_C] },
    ],
    nextHop: '192.0.2.1',
    med: 50,
    localPref: 4294967295,
    atomicAggregate: true,
    aggregator: { asn: AS_A, address: '192.0.2.9' },
    communities: [(65001 * 65536 + 100) >>> 0, WellKnownCommunity.GRACEFUL_SHUTDOWN, WellKnownCommunity.NO_EXPORT],
    originatorId: '192.0.2.7',
    clusterList: ['192.0.2.8', '10.255.0.1'],
    extendedCommunities: [routeTarget(65001, 100), routeTarget(AS_A, 7), linkBandwidth(64512, 1.25e9)],
    largeCommunities: [
      { globalAdmin: AS_A, localData1: 1, localData2: 2 },
      { globalAdmin: 65001, localData1: 0, localData2: 4294967295 },
    ],
  },
};

/** 70 communities 65001:0..69: 280 octets, so COMMUNITIES needs the extended length. */
const MANY_COMMUNITIES = Array.from({ length: 70 }, (_, i) => (65001 * 65536 + i) >>> 0);
/** 40 IPv6 /64s of 9 octets each: 360 octets of NLRI, so MP_REACH/MP_UNREACH need the extended length. */
const MANY_V6 = Array.from({ length: 40 }, (_, i) => `2001:db8:${(0x1000 + i).toString(16)}::/64`);

const SHUTDOWN_TEXT = 'node drained for maintenance — kbgp ✓ "quoted" <tag> & más';
/** 1 + 100 × 3 octets: RFC 9003 §2 allows 255, so it is cut to 'a' and 84 whole check marks (253 octets). */
const LONG_TEXT = `a${'✓'.repeat(100)}`;

const ap = { origin: 0, asPath: [{ type: 2, asns: [AS_A] }] } as const;

const cases: readonly Case[] = [
  // ----- a NEW speaker's session: 4-octet AS numbers
  {
    name: 'OPEN with every capability kbgp speaks',
    session: 'four-octet',
    bytes: encodeMessage(openMessage),
    // capabilities: MP 6 + 6, RR 2, ERR 2, ExtMsg 2, GR 2+2+4+4 = 12, 4-octet AS 6, ADD-PATH 2+3×4 = 14,
    // ENH 2+2×6 = 14, FQDN 2+1+6+1+13 = 23: 87. OPEN: 19 + 10 + 2 + 87 = 118.
    expected: [
      ...header(1, 118),
      ...open(
        AS_TRANS,
        90,
        '192.0.2.1',
        87,
        mpCap(1, 1),
        mpCap(2, 1),
        cap(2, 0),
        cap(70, 0),
        cap(6, 0),
        cap(
          64,
          10,
          ['bgp.cap.gr.timers', '0xc078'], // R and N set, 120 seconds
          ['bgp.cap.gr.timers.restart_flag', '1'],
          ['bgp.cap.gr.timers.notification_flag', '1'],
          ['bgp.cap.gr.timers.restart_time', '120'],
          ['bgp.cap.gr.afi', '1'],
          ['bgp.cap.gr.safi', '1'],
          ['bgp.cap.gr.flag', '0x80'],
          ['bgp.cap.gr.flag.pfs', '1'],
          ['bgp.cap.gr.afi', '2'],
          ['bgp.cap.gr.safi', '1'],
          ['bgp.cap.gr.flag', '0x00'],
          ['bgp.cap.gr.flag.pfs', '0'],
        ),
        cap(65, 4, ['bgp.cap.4as', `${AS_A}`]),
        cap(
          69,
          12,
          ['bgp.cap.ap.afi', '1'],
          ['bgp.cap.ap.safi', '1'],
          ['bgp.cap.ap.sendreceive', '1'],
          ['bgp.cap.ap.afi', '2'],
          ['bgp.cap.ap.safi', '1'],
          ['bgp.cap.ap.sendreceive', '2'],
          ['bgp.cap.ap.afi', '1'],
          ['bgp.cap.ap.safi', '2'],
          ['bgp.cap.ap.sendreceive', '3'],
        ),
        cap(
          5,
          12,
          ['bgp.cap.enh.afi', '1'],
          ['bgp.cap.enh.safi', '1'],
          ['bgp.cap.enh.nhafi', '2'],
          ['bgp.cap.enh.afi', '1'],
          ['bgp.cap.enh.safi', '2'],
          ['bgp.cap.enh.nhafi', '2'],
        ),
        cap(
          73,
          21,
          ['bgp.cap.orf.fqdn.hostname.len', '6'],
          ['bgp.cap.orf.fqdn.hostname', 'node-a'],
          ['bgp.cap.orf.fqdn.domain_name.len', '13'],
          ['bgp.cap.orf.fqdn.domain_name', 'cluster.local'],
        ),
      ),
    ],
  },
  { name: 'KEEPALIVE', session: 'four-octet', bytes: encodeMessage(KEEPALIVE), expected: header(4, 19) },
  {
    name: 'UPDATE, IPv4 NLRI with every attribute kbgp writes',
    session: 'four-octet',
    bytes: encodeMessage(fullUpdate, FOUR_OCTET),
    // attributes: ORIGIN 4, AS_PATH 3+(2+12)+(2+8) = 27, NEXT_HOP 7, MED 7, LOCAL_PREF 7, ATOMIC_AGGREGATE 3,
    // AGGREGATOR 11, COMMUNITIES 15, ORIGINATOR_ID 7, CLUSTER_LIST 11, EXTENDED_COMMUNITIES 27,
    // LARGE_COMMUNITY 27: 153. NLRI 3 + 5. UPDATE: 19 + 2 + 2 + 153 + 8 = 184.
    expected: [
      ...header(2, 184),
      ...update(0, [], 153, [
        origin(2),
        attr(0x40, 2, 24, ...segment(2, 4, [AS_A, 65001, AS_B]), ...segment(1, 4, [64512, AS_C])),
        nextHop('192.0.2.1'),
        attr(0x80, 4, 4, [`${PA}.multi_exit_disc`, '50']),
        attr(0x40, 5, 4, [`${PA}.local_pref`, '4294967295']),
        attr(0x40, 6, 0),
        attr(0xc0, 7, 8, [`${PA}.aggregator_as`, `${AS_A}`], [`${PA}.aggregator_origin`, '192.0.2.9']),
        attr(0xc0, 8, 12, ...community(65001, 100), wellKnown('0xffff0000'), wellKnown('0xffffff01')),
        attr(0x80, 9, 4, [`${PA}.originator_id`, '192.0.2.7']),
        attr(0x80, 10, 8, ['bgp.path_attribute.cluster_id', '192.0.2.8'], ['bgp.path_attribute.cluster_id', '10.255.0.1']),
        attr(
          0xc0,
          16,
          24,
          // route target 65001:100, 2-octet AS specific
          ...extType(0x00),
          ['bgp.ext_com.stype_tr_as2', '0x02'],
          ['bgp.ext_com.value_as2', '65001'],
          ['bgp.ext_com.value_an4', '100'],
          // route target 4200000001:7, 4-octet AS specific (RFC 5668)
          ...extType(0x02),
          ['bgp.ext_com.stype_tr_as4', '0x02'],
          ['bgp.ext_com.value_as4', `${AS_A}`],
          ['bgp.ext_com.value_an2', '7'],
          // link bandwidth, non-transitive, AS 64512, 1.25e9 octets per second
          ...extType(0x40),
          ['bgp.ext_com.stype_ntr_as2', '0x04'],
          ['bgp.ext_com.value_as2', '64512'],
          ['bgp.ext_com.value_link_bw', '1.25e+09'],
        ),
        attr(0xc0, 32, 24, ...large(AS_A, 1, 2), ...large(65001, 0, 4294967295)),
      ], [...nlri4('10.96.0.0/12'), ...nlri4('203.0.113.7/32')]),
    ],
  },
  {
    name: 'UPDATE from the packer: a 280-octet COMMUNITIES (extended length) and the default route',
    session: 'four-octet',
    bytes: onlyOne(
      packAnnouncements(Afi.Ipv4, Safi.Unicast, { origin: 0, asPath: [{ type: 2, asns: [AS_A] }], nextHop: '192.0.2.1', communities: MANY_COMMUNITIES }, [parsePrefix('0.0.0.0/0')], FOUR_OCTET),
    ),
    // attributes: ORIGIN 4, AS_PATH 9, NEXT_HOP 7, COMMUNITIES 4 + 280: 304. UPDATE: 19 + 4 + 304 + 1 = 328.
    expected: [
      ...header(2, 328),
      ...update(0, [], 304, [
        origin(0),
        attr(0x40, 2, 6, ...segment(2, 4, [AS_A])),
        nextHop('192.0.2.1'),
        attr(0xd0, 8, 280, ...Array.from({ length: 70 }, (_, i) => community(65001, i)).flat()),
      ], nlri4('0.0.0.0/0')),
    ],
  },
  {
    name: 'UPDATE, IPv6 MP_REACH_NLRI with global and link-local next hops',
    session: 'four-octet',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [],
        nlri: [],
        mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1', nlri: [parsePrefix('2001:db8:100::/48'), parsePrefix('fd00:10:96::/112')] },
        attributes: { origin: 0, asPath: [{ type: 2, asns: [AS_A] }] },
      },
      FOUR_OCTET,
    ),
    // MP_REACH_NLRI: 2+1+1+32+1 + (1+6) + (1+14) = 59, so 62; ORIGIN 4; AS_PATH 9: 75. UPDATE: 19 + 4 + 75 = 98.
    expected: [
      ...header(2, 98),
      ...update(0, [], 75, [
        mpReach(
          59,
          2,
          1,
          '20 20010db8000000000000000000000001 fe800000000000000000000000000001',
          [
            [`${PA}.mp_reach_nlri.next_hop.ipv6`, '2001:db8::1'],
            [`${PA}.mp_reach_nlri.next_hop.ipv6.link_local`, 'fe80::1'],
          ],
          reach6('2001:db8:100::/48'),
          reach6('fd00:10:96::/112'),
        ),
        origin(0),
        attr(0x40, 2, 6, ...segment(2, 4, [AS_A])),
      ]),
    ],
  },
  {
    name: 'UPDATE from the packer, IPv4 NLRI over an IPv6 next hop (RFC 8950)',
    session: 'four-octet',
    bytes: onlyOne(
      packAnnouncements(Afi.Ipv4, Safi.Unicast, ap, [parsePrefix('10.96.0.0/12'), parsePrefix('203.0.113.7/32')], FOUR_OCTET, { nextHop: '2001:db8::1' }),
    ),
    // MP_REACH_NLRI: 2+1+1+16+1 + 3 + 5 = 29, so 32; ORIGIN 4; AS_PATH 9: 45. UPDATE: 19 + 4 + 45 = 68.
    expected: [
      ...header(2, 68),
      ...update(0, [], 45, [
        mpReach(29, 1, 1, '10 20010db8000000000000000000000001', [[`${PA}.mp_reach_nlri.next_hop.ipv6`, '2001:db8::1']], reach4('10.96.0.0/12'), reach4('203.0.113.7/32')),
        origin(0),
        attr(0x40, 2, 6, ...segment(2, 4, [AS_A])),
      ]),
    ],
  },
  {
    name: 'UPDATE from the packer, 40 IPv6 prefixes: MP_REACH_NLRI with the extended length',
    session: 'four-octet',
    bytes: onlyOne(packAnnouncements(Afi.Ipv6, Safi.Unicast, ap, MANY_V6.map((p) => parsePrefix(p)), FOUR_OCTET, { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' })),
    // MP_REACH_NLRI: 37 + 40 × 9 = 397, so 401; ORIGIN 4; AS_PATH 9: 414. UPDATE: 19 + 4 + 414 = 437.
    expected: [
      ...header(2, 437),
      ...update(0, [], 414, [
        mpReach(
          397,
          2,
          1,
          '20 20010db8000000000000000000000001 fe800000000000000000000000000001',
          [
            [`${PA}.mp_reach_nlri.next_hop.ipv6`, '2001:db8::1'],
            [`${PA}.mp_reach_nlri.next_hop.ipv6.link_local`, 'fe80::1'],
          ],
          ...MANY_V6.map((p) => reach6(p)),
        ),
        origin(0),
        attr(0x40, 2, 6, ...segment(2, 4, [AS_A])),
      ]),
    ],
  },
  {
    name: 'UPDATE, IPv6 MP_UNREACH_NLRI including ::/0',
    session: 'four-octet',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [],
        nlri: [],
        mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [parsePrefix('2001:db8:dead::/48'), parsePrefix('::/0')] },
        attributes: {},
      },
      FOUR_OCTET,
    ),
    // MP_UNREACH_NLRI: 3 + 7 + 1 = 11, so 14. UPDATE: 19 + 4 + 14 = 37.
    expected: [...header(2, 37), ...update(0, [], 14, [mpUnreach(11, 2, 1, unreach6('2001:db8:dead::/48'), unreach6('::/0'))])],
  },
  {
    name: 'UPDATE from the packer, 40 IPv6 withdrawals: MP_UNREACH_NLRI with the extended length',
    session: 'four-octet',
    bytes: onlyOne(packWithdrawals(Afi.Ipv6, Safi.Unicast, MANY_V6.map((p) => parsePrefix(p)), FOUR_OCTET)),
    // MP_UNREACH_NLRI: 3 + 360 = 363, so 367. UPDATE: 19 + 4 + 367 = 390.
    expected: [...header(2, 390), ...update(0, [], 367, [mpUnreach(363, 2, 1, ...MANY_V6.map((p) => unreach6(p)))])],
  },
  {
    name: 'UPDATE from the packer, IPv4 withdrawals',
    session: 'four-octet',
    bytes: onlyOne(packWithdrawals(Afi.Ipv4, Safi.Unicast, ['10.96.0.0/12', '192.0.2.128/25', '198.51.100.77/32'].map((p) => parsePrefix(p)), FOUR_OCTET)),
    // Withdrawn Routes: 3 + 5 + 5 = 13. UPDATE: 19 + 2 + 13 + 2 = 36.
    expected: [...header(2, 36), ...update(13, [...withdrawn4('10.96.0.0/12'), ...withdrawn4('192.0.2.128/25'), ...withdrawn4('198.51.100.77/32')], 0, [])],
  },
  {
    name: 'UPDATE passing on an unknown optional transitive attribute with Partial set',
    session: 'four-octet',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [],
        nlri: [parsePrefix('10.1.0.0/16')],
        attributes: { origin: 0, asPath: [], nextHop: '192.0.2.1', unknown: [{ flags: 0xc0, type: 250, value: Buffer.from([1, 2, 3]) }] },
      },
      FOUR_OCTET,
    ),
    // attributes: ORIGIN 4, empty AS_PATH 3, NEXT_HOP 7, type 250 3 + 3: 20. UPDATE: 19 + 4 + 20 + 3 = 46.
    expected: [
      ...header(2, 46),
      ...update(0, [], 20, [origin(0), attr(0x40, 2, 0), nextHop('192.0.2.1'), attr(0xe0, 250, 3, ['bgp.update.path_attributes.unknown', ''])], nlri4('10.1.0.0/16')),
    ],
  },
  { name: 'End-of-RIB, IPv4 unicast', session: 'four-octet', bytes: encodeEndOfRib(Afi.Ipv4, Safi.Unicast), expected: [...header(2, 23), ...update(0, [], 0, [])] },
  {
    name: 'End-of-RIB, IPv6 unicast',
    session: 'four-octet',
    bytes: encodeEndOfRib(Afi.Ipv6, Safi.Unicast),
    // An empty MP_UNREACH_NLRI: 3 + 3. UPDATE: 19 + 4 + 6 = 29.
    expected: [...header(2, 29), ...update(0, [], 6, [mpUnreach(3, 2, 1)])],
  },
  ...(
    [
      ['ROUTE-REFRESH, IPv4 unicast', 1, 1, 0],
      ['ROUTE-REFRESH BoRR, IPv6 unicast', 2, 1, 1],
      ['ROUTE-REFRESH EoRR, IPv6 unicast', 2, 1, 2],
    ] as const
  ).map(([name, afi, safi, subtype]): Case => ({
    name,
    session: 'four-octet',
    bytes: encodeMessage({ type: MessageType.RouteRefresh, afi, safi, subtype }),
    expected: [
      ...header(5, 23),
      ['bgp.route_refresh.afi', `${afi}`],
      ['bgp.route_refresh.subtype', `${subtype}`],
      ['bgp.route_refresh.safi', `${safi}`],
    ],
  })),
  {
    name: 'NOTIFICATION Cease / Administrative Shutdown with a UTF-8 shutdown communication',
    session: 'four-octet',
    bytes: encodeMessage(shutdownNotification(CeaseSubcode.AdministrativeShutdown, SHUTDOWN_TEXT)),
    expected: [
      ...header(3, 19 + 2 + 1 + Buffer.byteLength(SHUTDOWN_TEXT, 'utf8')),
      ['bgp.notify.major_error', '6'],
      ['bgp.notify.minor_error_cease', '2'],
      ['bgp.notify.communication_length', `${Buffer.byteLength(SHUTDOWN_TEXT, 'utf8')}`],
      ['bgp.notify.communication', SHUTDOWN_TEXT],
    ],
  },
  {
    name: 'NOTIFICATION Cease / Administrative Reset, communication cut to 255 octets between characters',
    session: 'four-octet',
    bytes: encodeMessage(shutdownNotification(CeaseSubcode.AdministrativeReset, LONG_TEXT)),
    // 19 + 2 + 1 + 253 = 275.
    expected: [
      ...header(3, 275),
      ['bgp.notify.major_error', '6'],
      ['bgp.notify.minor_error_cease', '4'],
      ['bgp.notify.communication_length', '253'],
      ['bgp.notify.communication', `a${'✓'.repeat(84)}`],
    ],
  },
  {
    name: 'NOTIFICATION UPDATE Message Error / Attribute Length Error with data',
    session: 'four-octet',
    bytes: encodeMessage({ type: MessageType.Notification, code: 3, subcode: 5, data: Buffer.from([0x40, 0x01, 0x02, 0x00, 0x00]) }),
    expected: [
      ...header(3, 26),
      ['bgp.notify.major_error', '3'],
      ['bgp.notify.minor_error_update', '5'],
      ['bgp.notify.minor_data', colonHex('4001020000')],
    ],
  },

  // ----- towards an OLD speaker: 2-octet AS numbers, AS_TRANS, AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.2)
  {
    name: 'OPEN of a 2-octet AS session',
    session: 'two-octet',
    bytes: encodeMessage({
      type: MessageType.Open,
      version: 4,
      myAs: 65001,
      holdTime: 180,
      bgpIdentifier: '192.0.2.2',
      capabilities: [{ kind: 'multiprotocol', afi: Afi.Ipv4, safi: Safi.Unicast }, { kind: 'route-refresh' }],
    }),
    // capabilities 6 + 2. OPEN: 19 + 10 + 2 + 8 = 39.
    expected: [...header(1, 39), ...open(65001, 180, '192.0.2.2', 8, mpCap(1, 1), cap(2, 0))],
  },
  {
    name: 'UPDATE to an OLD speaker: AS_TRANS in AS_PATH and AGGREGATOR, the real ASes in AS4_PATH and AS4_AGGREGATOR',
    session: 'two-octet',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [],
        nlri: [parsePrefix('10.1.0.0/16')],
        attributes: {
          origin: 0,
          asPath: [
            { type: 2, asns: [AS_A, 65002] },
            { type: 1, asns: [4200000005, 64999] },
          ],
          nextHop: '192.0.2.2',
          aggregator: { asn: AS_A, address: '192.0.2.9' },
        },
      },
      TWO_OCTET,
    ),
    // attributes: ORIGIN 4, AS_PATH 3+6+6 = 15, NEXT_HOP 7, AGGREGATOR 3+6 = 9, AS4_PATH 3+10+10 = 23,
    // AS4_AGGREGATOR 3+8 = 11: 69. UPDATE: 19 + 4 + 69 + 3 = 95.
    expected: [
      ...header(2, 95),
      ...update(0, [], 69, [
        origin(0),
        attr(0x40, 2, 12, ...segment(2, 2, [AS_TRANS, 65002]), ...segment(1, 2, [AS_TRANS, 64999])),
        nextHop('192.0.2.2'),
        attr(0xc0, 7, 6, [`${PA}.aggregator_as`, `${AS_TRANS}`], [`${PA}.aggregator_origin`, '192.0.2.9']),
        attr(0xc0, 17, 20, ...segment(2, 4, [AS_A, 65002]), ...segment(1, 4, [4200000005, 64999])),
        attr(0xc0, 18, 8, [`${PA}.aggregator_as`, `${AS_A}`], [`${PA}.aggregator_origin`, '192.0.2.9']),
      ], nlri4('10.1.0.0/16')),
    ],
  },

  // ----- ADD-PATH (RFC 7911) in both directions for IPv4 and IPv6 unicast
  {
    name: 'ADD-PATH UPDATE, IPv4: two paths for one prefix, one withdrawn path',
    session: 'add-path',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [parsePrefix('10.9.0.0/16', 3)],
        nlri: [parsePrefix('10.96.0.0/12', 1), parsePrefix('10.96.0.0/12', 2)],
        attributes: { ...ap, nextHop: '192.0.2.1' },
      },
      ADD_PATH,
    ),
    // Withdrawn Routes 4+1+2 = 7; attributes 4 + 9 + 7 = 20; NLRI 2 × (4+1+2) = 14. UPDATE: 19 + 2 + 7 + 2 + 20 + 14 = 64.
    expected: [
      ...header(2, 64),
      ...update(7, withdrawn4('10.9.0.0/16', 3), 20, [origin(0), attr(0x40, 2, 6, ...segment(2, 4, [AS_A])), nextHop('192.0.2.1')], [
        ...nlri4('10.96.0.0/12', 1),
        ...nlri4('10.96.0.0/12', 2),
      ]),
    ],
  },
  {
    name: 'ADD-PATH UPDATE, IPv6 MP_REACH_NLRI with two paths',
    session: 'add-path',
    bytes: encodeMessage(
      {
        type: MessageType.Update,
        withdrawnRoutes: [],
        nlri: [],
        mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHop: '2001:db8::1', nlri: [parsePrefix('2001:db8:100::/48', 1), parsePrefix('2001:db8:100::/48', 2)] },
        attributes: ap,
      },
      ADD_PATH,
    ),
    // MP_REACH_NLRI: 2+1+1+16+1 + 2 × (4+1+6) = 43, so 46; + 4 + 9 = 59. UPDATE: 19 + 4 + 59 = 82.
    expected: [
      ...header(2, 82),
      ...update(0, [], 59, [
        mpReach(43, 2, 1, '10 20010db8000000000000000000000001', [[`${PA}.mp_reach_nlri.next_hop.ipv6`, '2001:db8::1']], reach6('2001:db8:100::/48', 1), reach6('2001:db8:100::/48', 2)),
        origin(0),
        attr(0x40, 2, 6, ...segment(2, 4, [AS_A])),
      ]),
    ],
  },
  {
    name: 'ADD-PATH UPDATE, IPv6 MP_UNREACH_NLRI with a path identifier',
    session: 'add-path',
    bytes: encodeMessage(
      { type: MessageType.Update, withdrawnRoutes: [], nlri: [], mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawnRoutes: [parsePrefix('2001:db8:200::/48', 7)] }, attributes: {} },
      ADD_PATH,
    ),
    // MP_UNREACH_NLRI: 3 + 4+1+6 = 14, so 17. UPDATE: 19 + 4 + 17 = 40.
    expected: [...header(2, 40), ...update(0, [], 17, [mpUnreach(14, 2, 1, unreach6('2001:db8:200::/48', 7))])],
  },
  {
    name: 'ADD-PATH withdrawals from the packer, IPv4',
    session: 'add-path',
    bytes: onlyOne(packWithdrawals(Afi.Ipv4, Safi.Unicast, [parsePrefix('10.0.0.0/8', 1), parsePrefix('10.0.0.0/8', 2)], ADD_PATH)),
    // Withdrawn Routes 2 × (4+1+1) = 12. UPDATE: 19 + 2 + 12 + 2 = 35.
    expected: [...header(2, 35), ...update(12, [...withdrawn4('10.0.0.0/8', 1), ...withdrawn4('10.0.0.0/8', 2)], 0, [])],
  },
];

function onlyOne(messages: Buffer[]): Buffer {
  if (messages.length !== 1) throw new Error(`expected the packer to fit everything in one UPDATE, got ${messages.length}`);
  return messages[0] as Buffer;
}

/** Wireshark's `bgp.asn_len` preference for each session (see the file head). */
const SESSIONS: Readonly<Record<Session, Readonly<Record<string, string>>>> = {
  'four-octet': { 'bgp.asn_len': '4 octet' },
  'two-octet': { 'bgp.asn_len': '2 octet' },
  'add-path': { 'bgp.asn_len': '4 octet' },
};
const SESSION_NAMES = Object.keys(SESSIONS) as Session[];

const casesOf = (s: Session): Case[] => cases.filter((c) => c.session === s);

// ---------------------------------------------------------------------------------------------

describe.skipIf(binaries === undefined)("Wireshark's BGP dissector reads kbgp's encoding as meant", () => {
  const tshark = binaries?.tshark ?? 'tshark';
  const dissected = new Map<Case, DissectedMessage | undefined>();
  const frames = new Map<Session, PdmlNode[]>();
  const found = new Map<Session, number>();
  let version = '';

  beforeAll(async () => {
    version = await tsharkVersion(tshark);
    await Promise.all(
      SESSION_NAMES.map(async (s) => {
        const mine = casesOf(s);
        const d = await dissect(
          tshark,
          mine.map((c) => c.bytes),
          { prefs: SESSIONS[s], timeoutMs: 30_000 },
        );
        frames.set(s, d.packets);
        found.set(s, d.messages.length);
        mine.forEach((c, i) => dissected.set(c, d.messages[i]));
      }),
    );
  });

  const get = (c: Case): DissectedMessage => {
    const d = dissected.get(c);
    if (d === undefined) throw new Error(`${version}: Wireshark found no BGP message for "${c.name}"`);
    return d;
  };

  it('covers 25 messages: 19 in the 4-octet session, 2 in the 2-octet one, 4 with ADD-PATH', () => {
    expect(cases.length).toBe(25);
    expect(SESSION_NAMES.map((s) => casesOf(s).length)).toEqual([19, 2, 4]);
  });

  it.each(SESSION_NAMES)('%s session: Wireshark finds exactly the messages written, one per frame', (s) => {
    expect(found.get(s), version).toBe(casesOf(s).length);
    expect(frames.get(s)?.length, version).toBe(casesOf(s).length);
  });

  it.each(SESSION_NAMES)('%s session: no expert info and nothing malformed in any frame (TCP included)', (s) => {
    const all = frames.get(s) ?? [];
    expect(all.length).toBeGreaterThan(0);
    expect(all.flatMap((f) => expertInfo(f))).toEqual([]);
    expect(all.filter((f) => isMalformed(f))).toEqual([]);
  });

  it.each(cases)('$name: every field as meant', (c) => {
    const { bgp } = get(c);
    expect(leaves(bgp)).toEqual(c.expected);
    // Wireshark's message covers exactly the octets we wrote: no trailing bytes, nothing short.
    expect(bgp.size).toBe(c.bytes.length);
  });

  it.each(cases)('$name: no expert info, not malformed', (c) => {
    const { frame, bgp } = get(c);
    expect(expertInfo(frame)).toEqual([]);
    expect(isMalformed(frame)).toBe(false);
    expect(isMalformed(bgp)).toBe(false);
  });

  const updates = cases.filter((c) => c.bytes[18] === MessageType.Update);

  it.each(updates)('$name: attribute flag bits agree with the Flags octet; Extended Length exactly when length > 255', (c) => {
    const attributes = findAll(get(c).bgp, 'bgp.update.path_attribute');
    const expectedCount = c.expected.filter(([name]) => name === `${PA}.type_code`).length;
    expect(attributes.length).toBe(expectedCount);
    for (const a of attributes) {
      const flags = Number(findAll(a, `${PA}.flags`)[0]?.show);
      const bit = (name: string): number => Number(findAll(a, `${FLAG_BITS}${name}`)[0]?.show);
      const length = Number(findAll(a, `${PA}.length`)[0]?.show);
      expect([bit('optional'), bit('transitive'), bit('partial'), bit('extended_length')]).toEqual([
        (flags >> 7) & 1,
        (flags >> 6) & 1,
        (flags >> 5) & 1,
        (flags >> 4) & 1,
      ]);
      // RFC 4271 §4.3: the Extended Length bit picks a 2-octet length field; kbgp sets it exactly
      // when the value needs it, so a header is 4 octets then and 3 otherwise.
      expect(bit('extended_length')).toBe(length > 255 ? 1 : 0);
      expect(a.size).toBe((length > 255 ? 4 : 3) + length);
      expect(findAll(a, `${FLAG_BITS}unused`)[0]?.show).toBe('0x00');
    }
  });

  it('exercises both attribute header sizes: three values over 255 octets, all others not', () => {
    const lengths = updates.flatMap((c) => findAll(get(c).bgp, `${PA}.length`).map((l) => Number(l.show)));
    expect(lengths.filter((l) => l > 255)).toEqual([280, 397, 363]);
    expect(lengths.length).toBe(updates.flatMap((c) => c.expected.filter(([name]) => name === `${PA}.type_code`)).length);
  });
});
