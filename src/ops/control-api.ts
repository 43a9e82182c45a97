/**
 * The CLI's requests (`/v1/...` on the control socket), each answered from the daemon's read-only
 * views, or passed to drain and refresh. Only the request's words are handled here: which peer,
 * which prefix, which view; what the answer holds is the daemon's and views.ts's.
 */
import { type Prefix, normalizeAddress, parsePrefix } from '../bgp/index.js';
import type { NodeConfig } from '../config/config.js';
import type { LocRibEntry, ReceivedRoute } from '../rib/rib.js';
import type { AdvertisedRoute } from '../rib/update-group.js';
import { ControlError, type ControlHandler } from './control.js';
import { type ExplainView, type Json, type StatusView, advertisedView, configView, locRibView, receivedView } from './views.js';

/** What the control API needs of a running daemon. */
export interface ControlTarget {
  readonly config: NodeConfig;
  statusView(): StatusView;
  explain(service: string): ExplainView;
  /** Configured peers by address. */
  hasPeer(address: string): boolean;
  peerAddresses(): string[];
  received(peerAddress: string, prefix?: Prefix): ReceivedRoute[];
  advertised(peerAddress: string, prefix?: Prefix): AdvertisedRoute[];
  routes(prefix?: Prefix): LocRibEntry[];
  drain(peerAddress: string | undefined, waitSeconds: number, reason: string): Promise<void>;
  requestRefresh(peerAddress: string): string[];
}

export function controlApi(d: ControlTarget): Record<string, ControlHandler> {
  const peerOf = (q: URLSearchParams): string => {
    const a = q.get('peer');
    const address = a === null ? undefined : normalizeAddress(a);
    if (address === undefined || !d.hasPeer(address)) throw new ControlError(404, a === null ? 'which peer? (peer=ADDRESS)' : `no peer ${a}`);
    return address;
  };
  return {
    '/v1/status': () => d.statusView() as unknown as Json,
    '/v1/config': () => configView(d.config),
    '/v1/routes': (q) => {
      const view = q.get('view') ?? 'loc-rib';
      const prefix = prefixOf(q.get('prefix'));
      if (view === 'received') {
        const peer = peerOf(q);
        return receivedView(peer, d.received(peer, prefix)) as unknown as Json;
      }
      if (view === 'advertised') {
        const peer = peerOf(q);
        return advertisedView(peer, d.advertised(peer, prefix)) as unknown as Json;
      }
      if (view !== 'loc-rib') throw new ControlError(400, `no view ${view} (loc-rib, received, advertised)`);
      const all = locRibView(d.routes(prefix));
      const from = q.get('peer');
      return (from === null ? all : all.map((r) => ({ ...r, paths: r.paths.filter((p) => p.from === normalizeAddress(from)) })).filter((r) => r.paths.length > 0)) as unknown as Json;
    },
    '/v1/explain': (q) => {
      const service = q.get('service');
      if (service === null) throw new ControlError(400, 'which service? (service=NAMESPACE/NAME)');
      return d.explain(service) as unknown as Json;
    },
    '/v1/drain': async (q, method) => {
      if (method !== 'POST') throw new ControlError(405, 'drain is a POST');
      const peer = q.get('peer') ?? undefined;
      const wait = Number(q.get('wait') ?? '30');
      if (!(wait >= 0)) throw new ControlError(400, `wait=${q.get('wait') ?? ''} is not a number of seconds`);
      const address = peer === undefined ? undefined : normalizeAddress(peer);
      if (address !== undefined && !d.hasPeer(address)) throw new ControlError(404, `no peer ${peer ?? ''}`);
      await d.drain(address, wait, q.get('reason') ?? 'drained by the operator');
      return { drained: address === undefined ? d.peerAddresses() : [address] };
    },
    '/v1/refresh': (q, method) => {
      if (method !== 'POST') throw new ControlError(405, 'refresh is a POST');
      return { families: d.requestRefresh(peerOf(q)) };
    },
  };
}

/** `prefix=` as a prefix; a bare address is its host route. */
function prefixOf(text: string | null): Prefix | undefined {
  if (text === null) return undefined;
  try {
    return parsePrefix(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
  } catch (e) {
    throw new ControlError(400, e instanceof Error ? e.message : String(e));
  }
}
