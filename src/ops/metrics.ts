/**
 * Prometheus metrics (prom-client), read from the daemon's views when scraped: nothing on the hot
 * path counts for them. Labels stay bounded: per peer, per family, per message type or
 * NOTIFICATION code, per Kubernetes resource; never per prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MESSAGE_TYPE_NAMES, type SessionStats } from '../fsm/session.js';
import type { State } from '../fsm/state-machine.js';
import type { Decision } from '../k8s/intent.js';
import type { SourceStatus } from '../k8s/source.js';

const STATES: readonly State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

export interface PeerMetrics {
  readonly address: string;
  readonly peerAs: number;
  /** `global`, `node specific`, `route reflector client`, as calicoctl names them. */
  readonly peerType: string;
  readonly state: State;
  readonly stats: SessionStats;
  readonly received: { readonly ipv4: number; readonly ipv6: number };
  readonly accepted: { readonly ipv4: number; readonly ipv6: number };
  readonly advertised: { readonly ipv4: number; readonly ipv6: number };
}

/** What the metrics read, when scraped. */
export interface MetricsView {
  peers(): readonly PeerMetrics[];
  locRib(): { readonly ipv4: number; readonly ipv6: number };
  services(): { readonly decision: Decision; readonly source: SourceStatus };
}

const AFIS = ['ipv4', 'ipv6'] as const;

export interface Metrics {
  readonly registry: Registry;
  /** A Kubernetes change reached the peers' sockets this many seconds after it happened. */
  observeServiceLatency(seconds: number): void;
}

export function createMetrics(view: MetricsView, o: { readonly processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const latency = new Histogram({
    name: 'kbgp_service_change_to_update_seconds',
    help: 'From a Kubernetes change (the first of a coalesced burst) to the UPDATEs it caused being written to the peers\' sockets; includes the coalescing window.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
    registers: [registry],
  });
  // prom-client's own names (process_cpu_seconds_total, nodejs_heap_size_used_bytes) under kbgp's namespace.
  if (o.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'kbgp_' });
  // prom-client runs the collect() of every metric in one synchronous pass per scrape: the daemon
  // is read once for all of them, not once per metric.
  let snapshot: { readonly peers: readonly PeerMetrics[]; readonly services: ReturnType<MetricsView['services']> } | undefined;
  const scraped = (): NonNullable<typeof snapshot> => {
    if (snapshot === undefined) {
      snapshot = { peers: view.peers(), services: view.services() };
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const peerLabels = (p: PeerMetrics): { peer: string; peer_as: string; peer_type: string } => ({ peer: p.address, peer_as: String(p.peerAs), peer_type: p.peerType });

  new Gauge({
    name: 'kbgp_bgp_session_up',
    help: 'Whether the BGP session with the peer is Established (1) or not (0).',
    labelNames: ['peer', 'peer_as', 'peer_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of scraped().peers) this.set(peerLabels(p), p.state === 'Established' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kbgp_bgp_session_state',
    help: 'The session\'s RFC 4271 state: 1 for the current one, 0 for the others.',
    labelNames: ['peer', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of scraped().peers) for (const s of STATES) this.set({ peer: p.address, state: s }, p.state === s ? 1 : 0);
    },
  });
  new Counter({
    name: 'kbgp_bgp_session_transitions_total',
    help: 'State changes of the session.',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of scraped().peers) this.inc({ peer: p.address }, p.stats.transitions);
    },
  });
  new Counter({
    name: 'kbgp_bgp_session_established_total',
    help: 'Times the session reached Established.',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of scraped().peers) this.inc({ peer: p.address }, p.stats.establishments);
    },
  });
  for (const [direction, pick] of [
    ['received', (s: SessionStats) => s.received],
    ['sent', (s: SessionStats) => s.sent],
  ] as const) {
    new Counter({
      name: `kbgp_bgp_messages_${direction}_total`,
      help: `BGP messages ${direction}, by type.`,
      labelNames: ['peer', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of scraped().peers) {
          const counts = pick(p.stats);
          for (let t = 1; t < MESSAGE_TYPE_NAMES.length; t++) this.inc({ peer: p.address, type: MESSAGE_TYPE_NAMES[t] as string }, counts[t] ?? 0);
        }
      },
    });
  }
  for (const [direction, pick] of [
    ['received', (s: SessionStats) => s.notificationsReceived],
    ['sent', (s: SessionStats) => s.notificationsSent],
  ] as const) {
    new Counter({
      name: `kbgp_bgp_notifications_${direction}_total`,
      help: `NOTIFICATION messages ${direction}, by error code and subcode.`,
      labelNames: ['peer', 'code', 'subcode'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of scraped().peers) {
          for (const [key, n] of pick(p.stats)) {
            const [code, subcode] = key.split('/');
            this.inc({ peer: p.address, code: code ?? '', subcode: subcode ?? '' }, n);
          }
        }
      },
    });
  }
  for (const [what, help, pick] of [
    ['received', 'Paths in the peer\'s Adj-RIB-In.', (p: PeerMetrics) => p.received],
    ['accepted', 'Paths from the peer that are eligible (not filtered, no loop, usable next hop).', (p: PeerMetrics) => p.accepted],
    ['advertised', 'Paths in the Adj-RIB-Out of the peer\'s update group.', (p: PeerMetrics) => p.advertised],
  ] as const) {
    new Gauge({
      name: `kbgp_bgp_prefixes_${what}`,
      help,
      labelNames: ['peer', 'afi'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of scraped().peers) for (const afi of AFIS) this.set({ peer: p.address, afi }, pick(p)[afi]);
      },
    });
  }
  new Gauge({
    name: 'kbgp_rib_routes',
    help: 'Prefixes with a usable route, by table.',
    labelNames: ['table', 'afi'],
    registers: [registry],
    collect() {
      this.reset();
      const l = view.locRib();
      for (const afi of AFIS) this.set({ table: 'loc-rib', afi }, l[afi]);
    },
  });
  new Gauge({
    name: 'kbgp_k8s_watch_up',
    help: 'Whether the watch of the Kubernetes resource (or the manifest directory) is being followed now.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of scraped().services.source.detail) this.set({ resource: d.name }, d.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kbgp_k8s_synced',
    help: 'Whether the initial list of the resource is in.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of scraped().services.source.detail) this.set({ resource: d.name }, d.synced ? 1 : 0);
    },
  });
  new Counter({
    name: 'kbgp_k8s_events_total',
    help: 'Watch events received, by resource and type.',
    labelNames: ['resource', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of scraped().services.source.detail) for (const [type, n] of Object.entries(d.events ?? {})) this.inc({ resource: d.name, type }, n);
    },
  });
  new Gauge({
    name: 'kbgp_service_prefixes',
    help: 'Prefixes this node originates for services, by the kind of address (clusterIP, externalIP, loadBalancer, podCIDR) and the rule that wants them (a prefix wanted by two counts under each).',
    labelNames: ['kind', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { kind: string; reason: string; n: number }>();
      for (const i of scraped().services.decision.intents) {
        // Two services wanting one prefix by the same kind and rule count it once.
        const seen = new Set<string>();
        for (const r of i.reasons) {
          const key = `${r.kind} ${r.rule}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const c = counts.get(key) ?? { kind: r.kind, reason: r.rule, n: 0 };
          c.n++;
          counts.set(key, c);
        }
      }
      for (const { kind, reason, n } of counts.values()) this.set({ kind, reason }, n);
    },
  });
  new Gauge({
    name: 'kbgp_service_addresses_not_advertised',
    help: 'Service addresses this node decided not to advertise, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const n of scraped().services.decision.notAdvertised) counts.set(n.reason, (counts.get(n.reason) ?? 0) + 1);
      for (const [reason, n] of counts) this.set({ reason }, n);
    },
  });
  return { registry, observeServiceLatency: (seconds) => latency.observe(seconds) };
}
