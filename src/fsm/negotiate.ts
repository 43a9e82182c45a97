/**
 * Capability negotiation (RFC 5492): our OPEN and the peer's become one `Negotiated` value that the
 * rest of kbgp reads. Nothing else looks at raw capabilities.
 *
 * RFC says / kbgp does:
 * - A family is used when both sides announced it (RFC 4760 §8). A peer that announces no
 *   Multiprotocol capability at all speaks IPv4 unicast only, as RFC 4760 §1 implies.
 * - Hold time is the smaller of both proposals (RFC 4271 §4.2); keepalive a third of it unless
 *   configured lower (Calico's keepaliveTime).
 * - ADD-PATH (RFC 7911 §5): we may send path identifiers for a family when we said "send" (or
 *   both) and the peer said "receive" (or both), and the reverse for receiving.
 * - Route refresh counts when the peer sent either the standard code 2 or Cisco's 128.
 */
import {
  Afi,
  CapabilityCode,
  type Capability,
  type Family,
  type MessageContext,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type OpenMessage,
  Safi,
  AS_TRANS,
  familyKey,
  familyName,
  openAs,
} from '../bgp/index.js';

export interface GracefulRestartPeer {
  /** The peer's restart time, seconds. */
  readonly restartTime: number;
  /** R bit: the peer has just restarted. */
  readonly restarting: boolean;
  /** N bit negotiated by both sides (RFC 8538). */
  readonly notification: boolean;
  /** Families the peer preserves forwarding state for (F bit), by familyKey. */
  readonly forwardingState: ReadonlySet<number>;
  /** Families the peer will do graceful restart for, by familyKey. */
  readonly families: ReadonlySet<number>;
}

export interface Negotiated {
  readonly peerAs: number;
  readonly peerBgpIdentifier: string;
  /** Families both sides announced, by familyKey. */
  readonly families: ReadonlySet<number>;
  readonly fourOctetAs: boolean;
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Families whose NLRI we receive with path identifiers. */
  readonly addPathReceive: ReadonlySet<number>;
  /** Families whose NLRI we send with path identifiers. */
  readonly addPathSend: ReadonlySet<number>;
  /** Present when both sides announced graceful restart. */
  readonly gracefulRestart?: GracefulRestartPeer;
  readonly extendedMessage: boolean;
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** IPv4 families we may send and receive with an IPv6 next hop (RFC 8950), by familyKey. */
  readonly extendedNextHop: ReadonlySet<number>;
  readonly peerHostname?: string;
  readonly peerCapabilities: readonly Capability[];
}

export function familyOf(key: number): Family {
  return { afi: key >> 8, safi: key & 0xff };
}

export function familyKeyName(key: number): string {
  return familyName(key >> 8, key & 0xff);
}

function find<K extends Capability['kind']>(caps: readonly Capability[], kind: K): Extract<Capability, { kind: K }>[] {
  return caps.filter((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

function families(caps: readonly Capability[]): Set<number> {
  const mp = find(caps, 'multiprotocol');
  if (mp.length === 0) return new Set([familyKey(Afi.Ipv4, Safi.Unicast)]);
  return new Set(mp.map((c) => familyKey(c.afi, c.safi)));
}

function addPathModes(caps: readonly Capability[]): Map<number, 'receive' | 'send' | 'both'> {
  const m = new Map<number, 'receive' | 'send' | 'both'>();
  for (const c of find(caps, 'add-path')) for (const f of c.families) m.set(familyKey(f.afi, f.safi), f.mode);
  return m;
}

const sends = (mode: string | undefined): boolean => mode === 'send' || mode === 'both';
const receives = (mode: string | undefined): boolean => mode === 'receive' || mode === 'both';

export interface NegotiationSettings {
  /** Upper bound on the keepalive interval, seconds (Calico's keepaliveTime); default hold/3. */
  readonly keepaliveTime?: number;
}

export function negotiate(local: OpenMessage, peer: OpenMessage, settings: NegotiationSettings = {}): Negotiated {
  const ours = local.capabilities;
  const theirs = peer.capabilities;
  const localFamilies = families(ours);
  const common = new Set([...families(theirs)].filter((f) => localFamilies.has(f)));
  const holdTime = Math.min(local.holdTime, peer.holdTime);
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(Math.floor(holdTime / 3), settings.keepaliveTime ?? Infinity));

  const ourAddPath = addPathModes(ours);
  const theirAddPath = addPathModes(theirs);
  const addPathReceive = new Set<number>();
  const addPathSend = new Set<number>();
  for (const f of common) {
    if (receives(ourAddPath.get(f)) && sends(theirAddPath.get(f))) addPathReceive.add(f);
    if (sends(ourAddPath.get(f)) && receives(theirAddPath.get(f))) addPathSend.add(f);
  }

  const ourGr = find(ours, 'graceful-restart')[0];
  const theirGr = find(theirs, 'graceful-restart')[0];
  const gracefulRestart: GracefulRestartPeer | undefined =
    ourGr !== undefined && theirGr !== undefined
      ? {
          restartTime: theirGr.restartTime,
          restarting: theirGr.restarting,
          notification: ourGr.notification && theirGr.notification,
          forwardingState: new Set(theirGr.families.filter((f) => f.forwardingState).map((f) => familyKey(f.afi, f.safi))),
          families: new Set(theirGr.families.map((f) => familyKey(f.afi, f.safi)).filter((f) => common.has(f))),
        }
      : undefined;

  const enhe = (caps: readonly Capability[]): Set<number> =>
    new Set(find(caps, 'extended-next-hop').flatMap((c) => c.entries.filter((e) => e.nextHopAfi === Afi.Ipv6).map((e) => familyKey(e.afi, e.safi))));
  const ourEnhe = enhe(ours);
  const extendedNextHop = new Set([...enhe(theirs)].filter((f) => ourEnhe.has(f)));

  const has = (caps: readonly Capability[], kind: Capability['kind']): boolean => caps.some((c) => c.kind === kind);
  const theirRefresh = has(theirs, 'route-refresh') || theirs.some((c) => c.kind === 'unknown' && c.code === CapabilityCode.CiscoRouteRefresh);
  const hostname = find(theirs, 'fqdn')[0];

  const n: Negotiated = {
    peerAs: openAs(peer),
    peerBgpIdentifier: peer.bgpIdentifier,
    families: common,
    fourOctetAs: has(ours, 'four-octet-as') && has(theirs, 'four-octet-as'),
    holdTime,
    keepaliveTime,
    addPathReceive,
    addPathSend,
    extendedMessage: has(ours, 'extended-message') && has(theirs, 'extended-message'),
    routeRefresh: has(ours, 'route-refresh') && theirRefresh,
    enhancedRouteRefresh: has(ours, 'enhanced-route-refresh') && has(theirs, 'enhanced-route-refresh'),
    extendedNextHop,
    peerCapabilities: theirs,
  };
  return {
    ...n,
    ...(gracefulRestart === undefined ? {} : { gracefulRestart }),
    ...(hostname === undefined ? {} : { peerHostname: hostname.domain ? `${hostname.hostname}.${hostname.domain}` : hostname.hostname }),
  };
}

/** The codec context for one direction of this session: ADD-PATH is negotiated per direction. */
function contextFor(n: Negotiated, ebgp: boolean, addPath: ReadonlySet<number>): MessageContext {
  return {
    fourOctetAs: n.fourOctetAs,
    addPath,
    ebgp,
    maxMessageLength: n.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
  };
}

export function receiveContext(n: Negotiated, ebgp: boolean): MessageContext {
  return contextFor(n, ebgp, n.addPathReceive);
}

export function sendContext(n: Negotiated, ebgp: boolean): MessageContext {
  return contextFor(n, ebgp, n.addPathSend);
}

export interface LocalCapabilities {
  readonly families: readonly Family[];
  readonly routeRefresh?: boolean;
  readonly enhancedRouteRefresh?: boolean;
  readonly extendedMessage?: boolean;
  /** ADD-PATH mode per family key. */
  readonly addPath?: ReadonlyMap<number, 'receive' | 'send' | 'both'>;
  readonly gracefulRestart?: { readonly restartTime: number; readonly restarting: boolean; readonly notification: boolean; readonly forwardingState: boolean };
  /** IPv4 families to offer with an IPv6 next hop (RFC 8950). */
  readonly extendedNextHop?: readonly Family[];
  readonly hostname?: { readonly hostname: string; readonly domain: string };
}

/** Our OPEN: RFC 6793 puts AS_TRANS in My Autonomous System when the AS needs 4 octets. */
export function buildOpen(localAs: number, bgpIdentifier: string, holdTime: number, caps: LocalCapabilities): OpenMessage {
  const capabilities: Capability[] = caps.families.map((f) => ({ kind: 'multiprotocol', afi: f.afi, safi: f.safi }));
  if (caps.routeRefresh !== false) capabilities.push({ kind: 'route-refresh' });
  if (caps.enhancedRouteRefresh === true) capabilities.push({ kind: 'enhanced-route-refresh' });
  if (caps.extendedMessage === true) capabilities.push({ kind: 'extended-message' });
  if (caps.gracefulRestart !== undefined) {
    const gr = caps.gracefulRestart;
    capabilities.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: gr.notification,
      restartTime: gr.restartTime,
      families: caps.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingState: gr.forwardingState })),
    });
  }
  capabilities.push({ kind: 'four-octet-as', asn: localAs });
  if (caps.addPath !== undefined && caps.addPath.size > 0) {
    capabilities.push({ kind: 'add-path', families: [...caps.addPath].map(([k, mode]) => ({ ...familyOf(k), mode })) });
  }
  if (caps.extendedNextHop !== undefined && caps.extendedNextHop.length > 0) {
    capabilities.push({ kind: 'extended-next-hop', entries: caps.extendedNextHop.map((f) => ({ afi: f.afi, safi: f.safi, nextHopAfi: Afi.Ipv6 })) });
  }
  if (caps.hostname !== undefined) capabilities.push({ kind: 'fqdn', ...caps.hostname });
  return {
    type: MessageType.Open,
    version: 4,
    myAs: localAs > 0xffff ? AS_TRANS : localAs,
    holdTime,
    bgpIdentifier,
    capabilities,
  };
}
