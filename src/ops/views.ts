/**
 * What the control socket serves and `kbgp ... --json` prints: plain JSON shapes, stable for
 * scripts, built from the daemon's views. Times are wall-clock ISO strings; attributes are in the
 * words `birdc show route all` uses.
 */
import { type LargeCommunity, type PathAttributes, formatCommunity, formatLargeCommunity, formatPrefix, prefixContains } from '../bgp/index.js';
import type { NodeConfig } from '../config/config.js';
import { describeAttributes } from '../bgp/describe.js';
import { type DownReason, formatDownReason } from '../fsm/down-reason.js';
import { familyKeyName, type Negotiated } from '../fsm/negotiate.js';
import type { Decision, Intent } from '../k8s/intent.js';
import type { SourceStatus } from '../k8s/source.js';
import type { LocRibEntry, ReceivedRoute } from '../rib/rib.js';
import type { AdvertisedRoute } from '../rib/update-group.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PeerView {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly peerAs: number;
  readonly localAs: number;
  /** As calicoctl names it: `global`, `node specific`, `route reflector client`. */
  readonly peerType: string;
  readonly state: string;
  /** Wall-clock time of the last state change. */
  readonly since: string;
  readonly prefixes: { readonly received: number; readonly accepted: number; readonly advertised: number };
  readonly lastError?: { readonly at: string; readonly reason: string };
  readonly negotiated?: { readonly holdTime: number; readonly families: string[]; readonly gracefulRestart: boolean; readonly addPathSend: string[]; readonly addPathReceive: string[] };
}

export interface StatusView {
  readonly node: string;
  readonly asNumber: number;
  readonly routerId: string;
  readonly listen: string;
  readonly peers: readonly PeerView[];
  readonly services: { readonly source: string; readonly synced: boolean; readonly healthy: boolean; readonly advertised: number; readonly detail: SourceStatus['detail'] };
  readonly locRib: { readonly ipv4: number; readonly ipv6: number };
}

export interface PathView {
  /** `local` for this node's own routes, else the peer's address. */
  readonly from: string;
  readonly nextHop: string;
  readonly pathId?: number;
  readonly best: boolean;
  readonly multipath: boolean;
  readonly ineligible?: string;
  /** The decision step that ranked the best path above this one (on the best: above the second). */
  readonly decidedBy?: string;
  readonly attributes: { [key: string]: Json };
}

export interface RouteView {
  readonly prefix: string;
  readonly paths: readonly PathView[];
}

export const attributesView = (a: PathAttributes): { [key: string]: Json } => describeAttributes(a);

/** Clock milliseconds (performance.now) to a wall-clock ISO time. */
export function wallTime(clockMs: number, nowClock: number, nowWall = Date.now()): string {
  return new Date(nowWall - (nowClock - clockMs)).toISOString();
}

export function lastErrorView(history: readonly { readonly at: number; readonly reason: DownReason }[], nowClock: number): PeerView['lastError'] {
  const last = history.at(-1);
  return last === undefined ? undefined : { at: wallTime(last.at, nowClock), reason: formatDownReason(last.reason) };
}

export function negotiatedView(n: Negotiated | undefined): PeerView['negotiated'] {
  if (n === undefined) return undefined;
  return {
    holdTime: n.holdTime,
    families: [...n.families].map(familyKeyName),
    gracefulRestart: n.gracefulRestart !== undefined,
    addPathSend: [...n.addPathSend].map(familyKeyName),
    addPathReceive: [...n.addPathReceive].map(familyKeyName),
  };
}

export function locRibView(entries: readonly LocRibEntry[]): RouteView[] {
  return entries.map((e) => ({
    prefix: formatPrefix(e.prefix),
    paths: e.paths.map((p) => ({
      from: p.from,
      nextHop: p.nextHop,
      ...(p.pathId === 0 ? {} : { pathId: p.pathId }),
      best: p.best,
      multipath: p.multipath,
      ...(p.ineligible === undefined ? {} : { ineligible: p.ineligible }),
      ...(p.decidedBy === undefined ? {} : { decidedBy: p.decidedBy }),
      attributes: attributesView(p.attributes),
    })),
  }));
}

export function receivedView(peer: string, routes: readonly ReceivedRoute[]): RouteView[] {
  return routes.map((r) => ({
    prefix: formatPrefix(r.prefix),
    paths: [
      {
        from: peer,
        nextHop: r.nextHop,
        ...(r.pathId === undefined ? {} : { pathId: r.pathId }),
        best: false,
        multipath: false,
        ...(r.ineligible === undefined ? {} : { ineligible: r.ineligible }),
        attributes: { ...attributesView(r.attributes), ...(r.stale === true ? { stale: true } : {}), ...(r.imported === undefined ? {} : { imported: attributesView(r.imported) }) },
      },
    ],
  }));
}

/** What `peer` holds from us: each path `from` is `to <peer>`. */
export function advertisedView(peer: string, routes: readonly AdvertisedRoute[]): RouteView[] {
  return routes
    .map((r) => ({
      prefix: formatPrefix(r.prefix),
      paths: [{ from: `to ${peer}`, nextHop: r.nextHop, ...(r.prefix.pathId === undefined ? {} : { pathId: r.prefix.pathId }), best: true, multipath: false, attributes: attributesView(r.attributes) }],
    }))
    .sort((a, b) => a.prefix.localeCompare(b.prefix, 'en', { numeric: true }));
}

/** `kbgp explain`: what this node does with each address of one service, and why. */
export interface ExplainView {
  readonly service: string;
  /** False when the source has no such service. */
  readonly found: boolean;
  readonly addresses: readonly AddressExplanation[];
}

export interface AddressExplanation {
  readonly address: string;
  /** The prefix that carries it (its /32 or /128, or a configured range that covers it). */
  readonly prefix?: string;
  readonly advertised: boolean;
  /** The rule and its source, or the reason it is not advertised, in words. */
  readonly why: string;
  readonly gracefulShutdown?: boolean;
  /** For an advertised prefix: each peer, and whether it holds it from us (a filter or the export rules may keep it back). */
  readonly peers?: readonly { readonly peer: string; readonly sent: boolean; readonly why?: string }[];
}

/**
 * `addresses` as the decision names them (`serviceAddresses`); `sentTo` says, for an intent this
 * node advertises, which peers hold it and why not.
 */
export function explainView(service: string, addresses: readonly string[] | undefined, decision: Decision, sentTo: (intent: Intent) => readonly { peer: string; sent: boolean; why?: string }[]): ExplainView {
  if (addresses === undefined) return { service, found: false, addresses: [] };
  const byPrefix = new Map(decision.intents.map((i) => [formatPrefix(i.prefix), i]));
  const out = addresses.map((address): AddressExplanation => {
    const host = `${address}/${address.includes(':') ? 128 : 32}`;
    const own = byPrefix.get(host);
    const reason = own?.reasons.find((r) => r.service === service) ?? own?.reasons[0];
    const held = decision.notAdvertised.find((n) => n.reason === 'held-down' && n.address === address && n.services?.includes(service) === true);
    if (own !== undefined && reason !== undefined) {
      const holding = held === undefined ? '' : `; ${held.detail ?? 'held down'}`;
      return { address, prefix: host, advertised: true, why: `${reason.rule}: ${reason.source}${holding}`, gracefulShutdown: own.gracefulShutdown, peers: sentTo(own) };
    }
    const refusal = held ?? decision.notAdvertised.find((n) => n.address === address && n.source === service);
    const range = decision.intents.find((i) => i.prefix.length < (address.includes(':') ? 128 : 32) && i.reasons.some((r) => r.rule === 'service-cidr') && prefixContains(i.prefix, address));
    if (refusal !== undefined && range === undefined) return { address, advertised: false, why: `${refusal.reason}${refusal.detail === undefined ? '' : `: ${refusal.detail}`}` };
    if (range !== undefined) {
      const also = refusal === undefined ? '' : `; no /32 of its own: ${refusal.reason}${refusal.detail === undefined ? '' : ` (${refusal.detail})`}`;
      return { address, prefix: formatPrefix(range.prefix), advertised: true, why: `inside ${range.reasons.map((r) => r.source).join(', ')}, advertised from every node${also}`, peers: sentTo(range) };
    }
    const excluded = decision.notAdvertised.find((n) => n.source === 'node' && n.reason === 'node-excluded');
    return { address, advertised: false, why: excluded !== undefined ? `node-excluded: ${excluded.detail ?? ''}` : 'no rule advertises it (no configured range of its kind holds it)' };
  });
  return { service, found: true, addresses: out };
}

/** The PEER TYPE column of `calicoctl node status`, as kbgp status and kbgp config name it. */
export function peerTypeName(p: Pick<NodeConfig['peers'][number], 'mesh' | 'routeReflectorClient' | 'nodeSpecific'>): string {
  return p.mesh ? 'node-to-node mesh' : p.routeReflectorClient ? 'route reflector client' : p.nodeSpecific ? 'node specific' : 'global';
}

/** `kbgp config`: the configuration in force, after defaults, selectors and the mesh. */
export function configView(c: NodeConfig): Json {
  const communities = (cs: readonly number[]): string[] => cs.map(formatCommunity);
  const large = (cs: readonly LargeCommunity[]): string[] => cs.map(formatLargeCommunity);
  const view = {
    nodeName: c.nodeName,
    asNumber: c.asNumber,
    routerId: c.routerId,
    ipv4Address: c.ipv4Address ?? null,
    ipv6Address: c.ipv6Address ?? null,
    listen: { addresses: c.listenAddresses, port: c.listenPort },
    routeReflectorClusterID: c.clusterId ?? null,
    maxPaths: c.maxPaths,
    alwaysCompareMed: c.alwaysCompareMed,
    timers: c.timers,
    gracefulRestart: { ...c.gracefulRestart, nodeMeshMaxRestartTime: c.meshRestartTime },
    serviceClusterIPs: c.serviceCidrs.clusterIPs.map(formatPrefix),
    serviceExternalIPs: c.serviceCidrs.externalIPs.map(formatPrefix),
    serviceLoadBalancerIPs: c.serviceCidrs.loadBalancerIPs.map(formatPrefix),
    serviceLoadBalancerAggregation: c.serviceCidrs.aggregation ? 'Enabled' : 'Disabled',
    services: c.services,
    prefixAdvertisements: c.prefixAdvertisements.map((a) => ({ cidr: formatPrefix(a.cidr), communities: communities(a.communities), largeCommunities: large(a.largeCommunities) })),
    originate: c.originate.map((r) => ({ prefix: formatPrefix(r.prefix), communities: communities(r.communities), largeCommunities: large(r.largeCommunities) })),
    metricsAddress: c.metricsAddress === undefined ? null : `${c.metricsAddress.host}:${c.metricsAddress.port}`,
    cluster: { ...c.cluster },
    peers: c.peers.map((p) => ({
      name: p.name,
      address: p.address,
      port: p.port,
      asNumber: p.asNumber,
      localASNumber: p.localAsNumber ?? null,
      type: peerTypeName(p),
      passive: p.passive,
      nextHopMode: p.nextHopMode,
      addPath: p.addPath,
      maxRestartTime: p.maxRestartTime,
      keepaliveTime: p.keepaliveTime ?? null,
      holdTime: p.holdTime ?? null,
      sourceAddress: p.sourceAddress ?? null,
      numAllowedLocalASNumbers: p.allowedLocalAs,
      maxPrefixes: p.maxPrefixes === undefined ? null : { ...p.maxPrefixes },
      filters: p.filters.map((f) => f.name),
    })),
  };
  return view as unknown as Json;
}
