/**
 * A path as the RIB holds it: its attributes, its next hop, and where it came from. Plain data;
 * the decision process and export read nothing else.
 */
import type { PathAttributes } from '../bgp/index.js';

export type RouteSource =
  /** Originated by this node (service prefixes, static demo prefixes). */
  | { readonly kind: 'local' }
  | {
      readonly kind: 'peer';
      /** The peer's address, text form; the last tie-breaker. */
      readonly address: string;
      readonly asn: number;
      /** The peer's BGP Identifier, dotted quad. */
      readonly bgpIdentifier: string;
      readonly ebgp: boolean;
    };

export interface Route {
  readonly attributes: PathAttributes;
  readonly nextHop: string;
  readonly source: RouteSource;
}
