/**
 * Driving the RIB with plain data in tests: session formats, peers and export policies, UPDATEs
 * to apply, and pulling a member's messages and decoding them into the table the peer would hold.
 */
import {
  AsPathSegmentType,
  type BgpMessage,
  type MessageContext,
  MessageType,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
  decodeMessage,
  formatPrefix,
  parsePrefix,
} from '../../src/bgp/index.js';
import type { ExportPolicy } from '../../src/rib/export.js';
import { Rib, type PeerSourceInfo } from '../../src/rib/rib.js';
import type { SessionFormat } from '../../src/rib/update-group.js';

/** familyKey(AFI, SAFI) of IPv4 and IPv6 unicast. */
export const V4 = 0x101;
export const V6 = 0x201;
export const CTX: MessageContext = { fourOctetAs: true, maxMessageLength: 4096 };
export const ADD_PATH_CTX: MessageContext = { ...CTX, addPath: new Set([V4, V6]) };
export const FORMAT: SessionFormat = { ctx: CTX, families: new Set([V4, V6]), addPathSend: new Set() };
export const ADD_PATH_FORMAT: SessionFormat = { ctx: ADD_PATH_CTX, families: new Set([V4, V6]), addPathSend: new Set([V4, V6]) };

export const LOCAL_AS = 64512;
export const rib = (o: Partial<ConstructorParameters<typeof Rib>[0]> = {}): Rib => new Rib({ localAs: LOCAL_AS, routerId: '10.0.0.1', maxPaths: 16, ...o });

export const ebgpPeer = (address: string, asn: number): PeerSourceInfo => ({ address, asn, bgpIdentifier: address, ebgp: true, routeReflectorClient: false });
export const ibgpPeer = (address: string, client = false): PeerSourceInfo => ({ address, asn: LOCAL_AS, bgpIdentifier: address, ebgp: false, routeReflectorClient: client });

/** Towards an eBGP peer, whatever its AS: the policy does not depend on it (peers in any AS share a group). */
export const ebgpPolicy = (o: Partial<ExportPolicy> = {}): ExportPolicy => ({ localAs: LOCAL_AS, ebgp: true, routeReflectorClient: false, nextHopMode: 'Auto', selfV4: '10.0.0.1', selfV6: '2001:db8::1', ...o });
export const ibgpPolicy = (o: Partial<ExportPolicy> = {}): ExportPolicy => ({ localAs: LOCAL_AS, ebgp: false, routeReflectorClient: false, nextHopMode: 'Auto', selfV4: '10.0.0.1', ...o });

export function announce(prefixes: string[], attrs: Partial<PathAttributes> & { nextHop: string }): UpdateMessage {
  return { type: MessageType.Update, withdrawnRoutes: [], attributes: { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }], ...attrs }, nlri: prefixes.map((p) => parsePrefix(p)) };
}
export function withdraw(prefixes: string[]): UpdateMessage {
  return { type: MessageType.Update, withdrawnRoutes: prefixes.map((p) => parsePrefix(p)), attributes: {}, nlri: [] };
}

/** Everything the member would be sent now, decoded. */
export function pull(r: Rib, member: object, ctx: MessageContext = CTX): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let i = 0; i < 10_000; i++) {
    const b = r.next(member);
    if (b === undefined) return out;
    out.push(decodeUpdate(b, ctx));
  }
  throw new Error('more than 10000 messages');
}

/** One message the RIB produced, which must be an UPDATE. */
export function decodeUpdate(b: Buffer, ctx: MessageContext = CTX): UpdateMessage {
  const m: BgpMessage = decodeMessage(b, ctx);
  if (m.type !== MessageType.Update) throw new Error(`not an UPDATE: ${m.type}`);
  return m;
}

export type TableEntry = PathAttributes & { mpNextHop?: string };

/** A prefix as a table key: `10.0.0.0/24`, or `10.0.0.0/24#7` with an ADD-PATH path identifier. */
export const prefixKey = (p: Prefix): string => (p.pathId === undefined ? formatPrefix(p) : `${formatPrefix(p)}#${p.pathId}`);

/** Applies one UPDATE to a peer's view of what it was sent. */
export function applyTo(t: Map<string, TableEntry>, u: UpdateMessage): void {
  for (const p of u.withdrawnRoutes) t.delete(prefixKey(p));
  for (const p of u.mpUnreach?.withdrawnRoutes ?? []) t.delete(prefixKey(p));
  for (const p of u.nlri) t.set(prefixKey(p), u.attributes);
  for (const p of u.mpReach?.nlri ?? []) t.set(prefixKey(p), { ...u.attributes, mpNextHop: u.mpReach?.nextHop ?? '' });
}

/** The member's view after applying `updates`, as prefix → attributes (text keys; a test, not the hot path). */
export function table(updates: readonly UpdateMessage[]): Map<string, TableEntry> {
  const t = new Map<string, TableEntry>();
  for (const u of updates) applyTo(t, u);
  return t;
}

export const isEndOfRib = (u: UpdateMessage): boolean => u.endOfRib !== undefined;
