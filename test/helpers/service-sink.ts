/**
 * An AdvertiserSink that keeps what it was handed as the RIB does (a complete set replaces, a
 * change applies) and records the whole set, in prefix order, after each hand-over.
 */
import { comparePrefixes, formatPrefix } from '../../src/bgp/index.js';
import type { AdvertiserSink, ServiceRoute } from '../../src/k8s/advertiser.js';
import { prefixKey } from '../../src/k8s/intent.js';

export function recordingSink(): { sink: AdvertiserSink; sets: string[][]; routes: () => ServiceRoute[]; completed: () => number } {
  const held = new Map<string, ServiceRoute>();
  const sets: string[][] = [];
  let completed = 0;
  const routes = (): ServiceRoute[] => [...held.values()].sort((a, b) => comparePrefixes(a.prefix, b.prefix));
  const record = (): void => {
    sets.push(routes().map((r) => formatPrefix(r.prefix)));
  };
  const sink: AdvertiserSink = {
    originate: (all) => {
      held.clear();
      for (const r of all) held.set(prefixKey(r.prefix), r);
      record();
    },
    change: (announce, withdraw) => {
      for (const p of withdraw) {
        if (!held.delete(prefixKey(p))) throw new Error(`withdrawn but never announced: ${formatPrefix(p)}`);
      }
      for (const r of announce) held.set(prefixKey(r.prefix), r);
      record();
    },
    complete: () => completed++,
  };
  return { sink, sets, routes, completed: () => completed };
}
