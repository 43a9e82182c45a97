/**
 * What this node originates, as configuration and the Kubernetes watcher state it: a prefix and
 * the communities to attach. `localRoute` turns it into the attributes the RIB holds; the export
 * rules then add what depends on the peer (AS_PATH prepend, LOCAL_PREF, next hop self).
 */
import { type LargeCommunity, Origin, type Prefix } from '../bgp/index.js';
import type { LocalRoute } from './rib.js';

export interface OriginatedRoute {
  readonly prefix: Prefix;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/** ORIGIN IGP (the prefix is this node's own), an empty AS_PATH, and the communities asked for. */
export function localRoute(r: OriginatedRoute): LocalRoute {
  return {
    prefix: r.prefix,
    attributes: {
      origin: Origin.Igp,
      asPath: [],
      ...(r.communities.length > 0 ? { communities: r.communities } : {}),
      ...(r.largeCommunities.length > 0 ? { largeCommunities: r.largeCommunities } : {}),
    },
  };
}
