/**
 * Intent: what this node should originate, and why; and what it decided not to, and why. The
 * Kubernetes side produces it, the RIB consumes the prefixes (`setOriginated`), the CLI shows the
 * reasons. Nothing here knows BGP beyond a prefix and its communities.
 */
import { type LargeCommunity, type Prefix, ipv4Prefix, ipv6Prefix } from '../bgp/index.js';

/** A service's address kind, or for a range the kind its configured field holds; pod CIDRs apart. */
export type AddressKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'podCIDR';

/** One rule that wants a prefix advertised. */
export interface IntentReason {
  /** `service-cidr` (a configured range), `local-endpoint` (externalTrafficPolicy Local), `per-service` (aggregation off or a /32 allow-list entry), `pod-cidr`. */
  readonly rule: 'service-cidr' | 'local-endpoint' | 'per-service' | 'pod-cidr';
  readonly kind: AddressKind;
  /** `namespace/name` of the service whose address it is; none for a range or a pod CIDR. */
  readonly service?: string;
  /** `serviceClusterIPs 10.96.0.0/12`, or the service `namespace/name` and which of its IPs (clusterIP, externalIP, loadBalancer). */
  readonly source: string;
}

export interface Intent {
  readonly prefix: Prefix;
  /** Every rule that wants it (an IP two services use is withdrawn only when neither does). */
  readonly reasons: readonly IntentReason[];
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  /** All the local endpoints behind it are terminating but still serving: routers should move new flows first (RFC 8326 community). */
  readonly gracefulShutdown: boolean;
}

/** A decision not to advertise an address of a service, or the node's ranges. */
export interface NotAdvertised {
  readonly address: string;
  /** `namespace/name` of the service, or `node` for the node-wide decisions. */
  readonly source: string;
  readonly reason:
    | 'node-excluded'
    | 'no-local-serving-endpoint'
    | 'no-serving-endpoint'
    | 'outside-configured-cidrs'
    | 'opted-out'
    | 'headless'
    | 'held-down'
    | 'not-aggregated';
  /** Words for the CLI, e.g. which label or annotation. */
  readonly detail?: string;
  /** `held-down`: the services (`namespace/name`) whose rules want the prefix, or wanted it. */
  readonly services?: readonly string[];
}

export interface Decision {
  /** Sorted by prefix, one entry per prefix. */
  readonly intents: readonly Intent[];
  readonly notAdvertised: readonly NotAdvertised[];
}

/** Prefix key (`prefixKey`) → the intent now, or undefined for a prefix no longer wanted. */
export type IntentChanges = ReadonlyMap<string, Intent | undefined>;

/** `afi/length/address`: one key per prefix (origination has no ADD-PATH ids), cheap to make and to read back. */
export function prefixKey(p: Prefix): string {
  return typeof p.address === 'number' ? `4/${p.length}/${p.address}` : `6/${p.length}/${Buffer.from(p.address).toString('hex')}`;
}

/** The prefix a `prefixKey` names (a withdrawal carries only its key). */
export function prefixOfKey(key: string): Prefix {
  const [family, length, address] = key.split('/');
  if (family === '4' && length !== undefined && address !== undefined) return ipv4Prefix(Number(address), Number(length));
  if (family === '6' && length !== undefined && address !== undefined) return ipv6Prefix(Buffer.from(address, 'hex'), Number(length));
  throw new RangeError(`not a prefix key: ${key}`);
}
