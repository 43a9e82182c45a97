/**
 * What this node originates, as configuration and the Kubernetes watcher state it: a prefix and
 * the communities to attach. `localRoute` turns it into the attributes the RIB holds; the export
 * rules then add what depends on the peer (AS_PATH prepend, LOCAL_PREF, next hop self).
 */
import { type LargeCommunity, Origin, type Prefix, prefixCovers } from '../bgp/index.js';
import type { LocalRoute } from './rib.js';

export interface OriginatedRoute {
  readonly prefix: Prefix;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/** Calico's BGPConfiguration prefixAdvertisements entry: communities for prefixes inside `cidr`. */
export interface PrefixAdvertisement {
  readonly cidr: Prefix;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/**
 * ORIGIN IGP (the prefix is this node's own), an empty AS_PATH, and the communities asked for:
 * the route's own, then those of every prefixAdvertisements entry whose cidr covers the prefix
 * (all of them, in order, as Calico's BIRD export adds each), without repeats.
 */
export function localRoute(r: OriginatedRoute, advertisements: readonly PrefixAdvertisement[] = []): LocalRoute {
  const communities = [...r.communities];
  const large = [...r.largeCommunities];
  for (const a of advertisements) {
    if (!prefixCovers(a.cidr, r.prefix)) continue;
    for (const c of a.communities) if (!communities.includes(c)) communities.push(c);
    for (const c of a.largeCommunities) {
      if (!large.some((x) => x.globalAdmin === c.globalAdmin && x.localData1 === c.localData1 && x.localData2 === c.localData2)) large.push(c);
    }
  }
  return {
    prefix: r.prefix,
    attributes: {
      origin: Origin.Igp,
      asPath: [],
      ...(communities.length > 0 ? { communities } : {}),
      ...(large.length > 0 ? { largeCommunities: large } : {}),
    },
  };
}
