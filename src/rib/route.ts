/**
 * A path as the RIB holds it: its attributes, its next hop, and where it came from. Plain data;
 * the decision process and export read nothing else.
 */
import type { PathAttributes } from '../bgp/index.js';

export type RouteSource =
  /** Originated by this node (service prefixes, static demo prefixes). */
  | {
      readonly kind: 'local';
      /** Which declarative origination set it belongs to (`setOriginated(source, ...)`). */
      readonly name: string;
    }
  | {
      readonly kind: 'peer';
      /** The peer's address, text form; the last tie-breaker. */
      readonly address: string;
      readonly asn: number;
      /** The peer's BGP Identifier, dotted quad. */
      readonly bgpIdentifier: string;
      readonly ebgp: boolean;
      /** The peer is a route reflector client of this node (RFC 4456). */
      readonly routeReflectorClient: boolean;
    };

export interface Route {
  readonly attributes: PathAttributes;
  /** '' for originated routes: this node's own address towards each peer. */
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
  readonly source: RouteSource;
  /** RFC 7911 path identifier the peer sent (0 without ADD-PATH): the last tie-breaker. */
  readonly pathId?: number;
}
