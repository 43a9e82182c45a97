/**
 * Wire constants of BGP-4 and the extensions kbgp speaks, each with a name table for logs and the CLI.
 * Values are IANA's registry values; the comment names the RFC that defines each.
 */

type ValueOf<T> = T[keyof T];

/** Names from an `as const` table, keyed by value: the reverse map used by every `*Name()` function. */
function reverse(table: Record<string, number>, spelled: Record<string, string> = {}): Map<number, string> {
  const m = new Map<number, string>();
  for (const [key, value] of Object.entries(table)) m.set(value, spelled[key] ?? key);
  return m;
}

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1: the largest message before RFC 8654 extended messages are negotiated. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 §3: the largest message once extended messages are negotiated (OPEN and KEEPALIVE stay at 4096). */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
export const BGP_VERSION = 4;
/** RFC 6793 §9: the 2-octet AS that stands in for a 4-octet one towards speakers without the capability. */
export const AS_TRANS = 23456;

/** RFC 4271 §4.1 message types, plus ROUTE-REFRESH from RFC 2918. */
export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageType = ValueOf<typeof MessageType>;
const messageTypeNames = reverse(MessageType, {
  Open: 'OPEN',
  Update: 'UPDATE',
  Notification: 'NOTIFICATION',
  Keepalive: 'KEEPALIVE',
  RouteRefresh: 'ROUTE-REFRESH',
});
export function messageTypeName(type: number): string {
  return messageTypeNames.get(type) ?? `type ${type}`;
}

/** RFC 4760 address family identifiers, and the subsequent ones kbgp negotiates. */
export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export type Afi = ValueOf<typeof Afi>;
export const Safi = { Unicast: 1, Multicast: 2 } as const;
export type Safi = ValueOf<typeof Safi>;

export function familyName(afi: number, safi: number): string {
  const a = afi === Afi.Ipv4 ? 'ipv4' : afi === Afi.Ipv6 ? 'ipv6' : `afi-${afi}`;
  const s = safi === Safi.Unicast ? 'unicast' : safi === Safi.Multicast ? 'multicast' : `safi-${safi}`;
  return `${a}-${s}`;
}

/** RFC 4271 §4.5 NOTIFICATION error codes (Cease from §6.7, ROUTE-REFRESH from RFC 7313). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;
export type ErrorCode = ValueOf<typeof ErrorCode>;

/** RFC 4271 §6.1. */
export const HeaderSubcode = {
  Unspecific: 0,
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;
export type HeaderSubcode = ValueOf<typeof HeaderSubcode>;

/** RFC 4271 §6.2, RFC 5492 (Unsupported Capability), RFC 9234 (Role Mismatch). Subcode 5 is deprecated. */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;
export type OpenSubcode = ValueOf<typeof OpenSubcode>;

/** RFC 4271 §6.3. Subcode 7 (AS Routing Loop) is deprecated. */
export const UpdateSubcode = {
  Unspecific: 0,
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;
export type UpdateSubcode = ValueOf<typeof UpdateSubcode>;

/** RFC 6608: which state received the unexpected message. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;
export type FsmSubcode = ValueOf<typeof FsmSubcode>;

/** RFC 4486, RFC 8538 (Hard Reset), RFC 9384 (BFD Down). */
export const CeaseSubcode = {
  Unspecific: 0,
  MaximumNumberOfPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;
export type CeaseSubcode = ValueOf<typeof CeaseSubcode>;

/** RFC 7313 §5. */
export const RouteRefreshSubcode = { Reserved: 0, InvalidMessageLength: 1 } as const;

const errorCodeNames = reverse(ErrorCode, {
  MessageHeader: 'Message Header Error',
  OpenMessage: 'OPEN Message Error',
  UpdateMessage: 'UPDATE Message Error',
  HoldTimerExpired: 'Hold Timer Expired',
  FiniteStateMachine: 'Finite State Machine Error',
  Cease: 'Cease',
  RouteRefreshMessage: 'ROUTE-REFRESH Message Error',
});

const subcodeNames: Record<number, Map<number, string>> = {
  [ErrorCode.MessageHeader]: reverse(HeaderSubcode, {
    Unspecific: 'Unspecific',
    ConnectionNotSynchronized: 'Connection Not Synchronized',
    BadMessageLength: 'Bad Message Length',
    BadMessageType: 'Bad Message Type',
  }),
  [ErrorCode.OpenMessage]: reverse(OpenSubcode, {
    Unspecific: 'Unspecific',
    UnsupportedVersionNumber: 'Unsupported Version Number',
    BadPeerAs: 'Bad Peer AS',
    BadBgpIdentifier: 'Bad BGP Identifier',
    UnsupportedOptionalParameter: 'Unsupported Optional Parameter',
    UnacceptableHoldTime: 'Unacceptable Hold Time',
    UnsupportedCapability: 'Unsupported Capability',
    RoleMismatch: 'Role Mismatch',
  }),
  [ErrorCode.UpdateMessage]: reverse(UpdateSubcode, {
    Unspecific: 'Unspecific',
    MalformedAttributeList: 'Malformed Attribute List',
    UnrecognizedWellKnownAttribute: 'Unrecognized Well-known Attribute',
    MissingWellKnownAttribute: 'Missing Well-known Attribute',
    AttributeFlagsError: 'Attribute Flags Error',
    AttributeLengthError: 'Attribute Length Error',
    InvalidOriginAttribute: 'Invalid ORIGIN Attribute',
    InvalidNextHopAttribute: 'Invalid NEXT_HOP Attribute',
    OptionalAttributeError: 'Optional Attribute Error',
    InvalidNetworkField: 'Invalid Network Field',
    MalformedAsPath: 'Malformed AS_PATH',
  }),
  [ErrorCode.FiniteStateMachine]: reverse(FsmSubcode, {
    Unspecified: 'Unspecified Error',
    UnexpectedMessageInOpenSent: 'Receive Unexpected Message in OpenSent State',
    UnexpectedMessageInOpenConfirm: 'Receive Unexpected Message in OpenConfirm State',
    UnexpectedMessageInEstablished: 'Receive Unexpected Message in Established State',
  }),
  [ErrorCode.Cease]: reverse(CeaseSubcode, {
    Unspecific: 'Unspecific',
    MaximumNumberOfPrefixesReached: 'Maximum Number of Prefixes Reached',
    AdministrativeShutdown: 'Administrative Shutdown',
    PeerDeconfigured: 'Peer De-configured',
    AdministrativeReset: 'Administrative Reset',
    ConnectionRejected: 'Connection Rejected',
    OtherConfigurationChange: 'Other Configuration Change',
    ConnectionCollisionResolution: 'Connection Collision Resolution',
    OutOfResources: 'Out of Resources',
    HardReset: 'Hard Reset',
    BfdDown: 'BFD Down',
  }),
  [ErrorCode.RouteRefreshMessage]: reverse(RouteRefreshSubcode, {
    Reserved: 'Reserved',
    InvalidMessageLength: 'Invalid Message Length',
  }),
};

/** `errorName(3, 5)` is `"UPDATE Message Error / Attribute Length Error"`. */
export function errorName(code: number, subcode: number): string {
  const c = errorCodeNames.get(code) ?? `Error code ${code}`;
  const subs = subcodeNames[code];
  if (subs === undefined) return subcode === 0 ? c : `${c} / subcode ${subcode}`;
  return `${c} / ${subs.get(subcode) ?? `subcode ${subcode}`}`;
}

/** RFC 5492 optional parameter types; 255 is RFC 9072's marker for extended lengths. */
export const OptionalParameterType = { Capabilities: 2, ExtendedLength: 255 } as const;

/** IANA capability codes. Only the ones kbgp decodes are listed; others are kept as raw capabilities. */
export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  Role: 9,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
  Fqdn: 73,
  CiscoRouteRefresh: 128,
} as const;
export type CapabilityCode = ValueOf<typeof CapabilityCode>;
const capabilityNames = reverse(CapabilityCode, {
  Multiprotocol: 'Multiprotocol Extensions',
  RouteRefresh: 'Route Refresh',
  ExtendedNextHop: 'Extended Next Hop Encoding',
  ExtendedMessage: 'Extended Message',
  Role: 'BGP Role',
  GracefulRestart: 'Graceful Restart',
  FourOctetAs: '4-octet AS Number',
  AddPath: 'ADD-PATH',
  EnhancedRouteRefresh: 'Enhanced Route Refresh',
  LongLivedGracefulRestart: 'Long-Lived Graceful Restart',
  Fqdn: 'FQDN (hostname)',
  CiscoRouteRefresh: 'Route Refresh (Cisco, pre-standard)',
});
export function capabilityName(code: number): string {
  return capabilityNames.get(code) ?? `Capability ${code}`;
}

/** IANA path attribute type codes. */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunity: 32,
} as const;
export type AttrType = ValueOf<typeof AttrType>;
const attributeNames = reverse(AttrType, {
  Origin: 'ORIGIN',
  AsPath: 'AS_PATH',
  NextHop: 'NEXT_HOP',
  MultiExitDisc: 'MULTI_EXIT_DISC',
  LocalPref: 'LOCAL_PREF',
  AtomicAggregate: 'ATOMIC_AGGREGATE',
  Aggregator: 'AGGREGATOR',
  Communities: 'COMMUNITIES',
  OriginatorId: 'ORIGINATOR_ID',
  ClusterList: 'CLUSTER_LIST',
  MpReachNlri: 'MP_REACH_NLRI',
  MpUnreachNlri: 'MP_UNREACH_NLRI',
  ExtendedCommunities: 'EXTENDED_COMMUNITIES',
  As4Path: 'AS4_PATH',
  As4Aggregator: 'AS4_AGGREGATOR',
  LargeCommunity: 'LARGE_COMMUNITY',
});
export function attributeName(type: number): string {
  return attributeNames.get(type) ?? `attribute ${type}`;
}

/** RFC 4271 §4.3 attribute flag bits. */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

/** RFC 4271 §4.3 ORIGIN values. */
export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;
export type Origin = ValueOf<typeof Origin>;
export function originName(origin: number): string {
  return origin === Origin.Igp ? 'IGP' : origin === Origin.Egp ? 'EGP' : origin === Origin.Incomplete ? 'incomplete' : `origin ${origin}`;
}

/** AS_PATH segment types: RFC 4271 §4.3 and RFC 5065 (confederations). */
export const AsPathSegmentType = { AsSet: 1, AsSequence: 2, AsConfedSequence: 3, AsConfedSet: 4 } as const;
export type AsPathSegmentType = ValueOf<typeof AsPathSegmentType>;

/** RFC 7313 §3 ROUTE-REFRESH message subtypes (RFC 2918 used this octet as Reserved, i.e. 0). */
export const RouteRefreshSubtype = { Normal: 0, BeginningOfRouteRefresh: 1, EndOfRouteRefresh: 2 } as const;
export type RouteRefreshSubtype = ValueOf<typeof RouteRefreshSubtype>;
