/**
 * The composition root: configuration in, a running speaker out. It wires the listener, one
 * Session per configured peer, each peer's Adj-RIB-In, and the origination export. Nothing else
 * knows about more than one of these.
 */
import { networkInterfaces } from 'node:os';
import { type Server, type Socket, createServer, isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { Afi, CeaseSubcode, ErrorCode, IPV4_UNICAST, IPV6_UNICAST, MessageType, type NotificationMessage, type Prefix, formatPrefix, hardReset, prefixCovers, RouteRefreshSubtype, Safi, familyKey, shutdownNotification, ipv4Prefix, ipv6Prefix, parseIpv4, parseIpv6 } from './bgp/index.js';
import type { NodeConfig, PeerConfig } from './config/config.js';
import { type Clock, type TimerHandle, systemClock } from './fsm/clock.js';
import type { DownReason } from './fsm/down-reason.js';
import { type LocalCapabilities, type Negotiated, familyKeyName } from './fsm/negotiate.js';
import { Session } from './fsm/session.js';
import { DEFAULT_TIMERS, type SessionSettings, type State } from './fsm/state-machine.js';
import type { ExportPolicy } from './rib/export.js';
import { type OriginatedRoute, localRoute } from './rib/origination.js';
import { type BgpFilter, applyFilters } from './rib/filter.js';
import { type ImportPolicy, type LocRibEntry, type ReceivedRoute, Rib } from './rib/rib.js';
import type { AdvertisedRoute, ExportFilter } from './rib/update-group.js';
import { EmptySource, ServiceAdvertiser } from './k8s/advertiser.js';
import type { Decision, Intent } from './k8s/intent.js';
import type { ClusterSource, SourceStatus } from './k8s/source.js';
import type { Server as HttpServer } from 'node:http';
import { type Readiness, startOpsServer } from './ops/http.js';
import { type Metrics, type MetricsView, createMetrics } from './ops/metrics.js';
import { startControlServer } from './ops/control.js';
import { bindProblem, listenOn } from './ops/listen.js';
import { controlApi } from './ops/control-api.js';
import { type ExplainView, type StatusView, explainView, peerTypeName, lastErrorView, negotiatedView, wallTime } from './ops/views.js';

export interface PeerStatus {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly peerAs: number;
  readonly state: State;
  /** Clock milliseconds at the last state change. */
  readonly since: number;
  readonly lastDown?: DownReason;
  /** Recent down reasons, oldest first. */
  readonly downHistory: readonly { readonly at: number; readonly reason: DownReason }[];
  readonly received: number;
  readonly negotiated?: Negotiated;
}

export interface DaemonDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * Something else originates too and is not complete at start: End-of-RIB also waits for
   * `originationComplete()`.
   */
  readonly waitForOrigination?: boolean;
  /**
   * The cluster (Kubernetes API or a manifest directory) whose services this node advertises;
   * without one, the node still announces its configured service ranges.
   */
  readonly cluster?: ClusterSource;
  /** Where the control socket (the CLI's way in) listens; none without. */
  readonly controlSocket?: string;
  /** Where the configuration's Calico resources come from, when from the cluster: its watches show in status and metrics. */
  readonly configSource?: { status(): SourceStatus };
}

interface Peer {
  config: PeerConfig;
  readonly session: Session;
  /** In the RIB (Adj-RIB-In source and update group member) while Established. */
  up: boolean;
  /** Warning-only max-prefix: over the limit now, per family (IPv4, IPv6), to warn once a crossing. */
  overLimit: [boolean, boolean];
  /** The restart after a max-prefix stop. */
  restartTimer?: NodeJS.Timeout;
  /** A max-prefix stop is queued. */
  stopping?: boolean;
  /** Being drained (RFC 8326): its routes carry GRACEFUL_SHUTDOWN. */
  draining?: boolean;
  /** What the last session negotiated (graceful restart outlives the session). */
  negotiated?: Negotiated;
  /** Graceful restart: the peer's restart time, after which its stale routes go. */
  staleTimer?: NodeJS.Timeout;
  /** Families (AFI) whose End-of-RIB the peer has sent on this session. */
  endOfRib: Set<number>;
}

/** `::ffff:192.0.2.1` (an IPv4 peer on a dual-stack socket) is `192.0.2.1`. */
function plainAddress(a: string | undefined): string {
  if (a === undefined) return '';
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** The subnets of the interface holding `address`: next hops on them may be passed on as they are. */
function subnetsOf(address: string): Prefix[] {
  const out: Prefix[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.address !== address || i.cidr === null) continue;
      const length = Number(i.cidr.slice(i.cidr.lastIndexOf('/') + 1));
      // The constructors clear the host bits.
      out.push(i.family === 'IPv4' ? ipv4Prefix(parseIpv4(i.address), length) : ipv6Prefix(parseIpv6(i.address), length));
    }
  }
  return out;
}

/**
 * Whether a session that ended this way keeps the peer's routes for a graceful restart: a lost
 * connection always (RFC 4724 §4.2); a NOTIFICATION either way, or an expired hold timer, only with
 * RFC 8538's N bit, and never Cease / Hard Reset. Not our own stops.
 */
function keepsRoutes(reason: DownReason, gr: NonNullable<Negotiated['gracefulRestart']>): boolean {
  if (gr.restartTime === 0) return false;
  switch (reason.kind) {
    case 'connection-closed':
    case 'connect-failed':
      return true;
    case 'hold-timer-expired':
      return gr.notification;
    case 'notification-received':
    case 'notification-sent':
      return gr.notification && !(reason.notification.code === ErrorCode.Cease && reason.notification.subcode === CeaseSubcode.HardReset);
    default:
      return false;
  }
}

/** BGPConfiguration's service CIDRs, each once. */
function rangesOf(c: NodeConfig): Prefix[] {
  const s = c.serviceCidrs;
  const ranges = new Map<string, Prefix>();
  for (const p of [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIPs]) ranges.set(formatPrefix(p), p);
  return [...ranges.values()];
}

/**
 * Session settings as comparable text. The capabilities hold a Map (ADD-PATH mode per family),
 * which JSON.stringify alone prints as {} whatever its content.
 */
function settingsKey(s: SessionSettings): string {
  return JSON.stringify(s, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v));
}

/** Quiet time after the last RIB change before emptied prefixes are deleted from the trie. */
const PRUNE_AFTER_MS = 1000;

const ADD_PATH_MODE = { Both: 'both', Receive: 'receive', Send: 'send' } as const;

export class Daemon {
  private readonly peers = new Map<string, Peer>();
  private servers: Server[] = [];
  private readonly clock: Clock;
  readonly rib: Rib;
  /** Sessions with something new to pull, pumped together once the current event is done. */
  private readonly toPump = new Set<Peer>();
  private pumpScheduled = false;
  /** A RIB change since the last flush: every session pulls, and a prune is (re)scheduled. */
  private pumpEveryone = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  /**
   * RFC 4724 §4.1, kbgp as the restarting speaker: from start until its End-of-RIB goes out,
   * announced with the Restart State bit. Every start counts, since a peer may hold our routes
   * from before it.
   */
  private restarting = true;
  /** Origination not complete yet: End-of-RIB waits while any is listed. */
  private readonly originationPending = new Set<string>(['services']);
  private readonly advertiser: ServiceAdvertiser;
  private metrics: Metrics | undefined;
  /** Cluster changes handed to the RIB, waiting for the flush that writes their UPDATEs. */
  private latencyFrom: number[] = [];
  private ops: HttpServer | undefined;
  private control: HttpServer | undefined;
  /** The selection deferral time ran out: peers' End-of-RIB are no longer waited for. */
  private deferralOver = false;
  private deferralTimer: TimerHandle | undefined;
  /** BGPConfiguration's service CIDRs, each once. */
  private serviceRanges: readonly Prefix[];

  constructor(
    private current: NodeConfig,
    private readonly deps: DaemonDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.rib = new Rib(
      {
        localAs: current.asNumber,
        routerId: current.routerId,
        maxPaths: current.maxPaths,
        alwaysCompareMed: current.alwaysCompareMed,
        ...(current.clusterId === undefined ? {} : { clusterId: current.clusterId }),
        ownAddresses: [current.ipv4Address, current.ipv6Address].filter((a): a is string => a !== undefined),
      },
      (members) => {
        for (const m of members) this.schedulePump(m as Peer);
      },
    );
    this.rib.setOriginated('static', current.originate.map((r) => localRoute(r, current.prefixAdvertisements)));
    this.serviceRanges = rangesOf(current);
    if (deps.waitForOrigination === true) this.originationPending.add('external');
    this.advertiser = new ServiceAdvertiser(
      deps.cluster ?? new EmptySource(),
      { nodeName: current.nodeName, serviceCidrs: current.serviceCidrs, settings: current.services, clock: this.clock, logger: deps.logger.child({ component: 'services' }) },
      {
        originate: (routes, since) => {
          this.setOriginated(routes, 'services');
          if (since !== undefined) this.latencyFrom.push(since);
        },
        change: (announce, withdraw, since) => {
          const advertisements = this.config.prefixAdvertisements;
          this.rib.changeOriginated(
            'services',
            announce.map((r) => localRoute(r, advertisements)),
            withdraw,
          );
          this.pumpAll();
          if (since !== undefined) this.latencyFrom.push(since);
        },
        complete: () => this.originationComplete('services'),
      },
    );
    this.rib.holdEndOfRib(true);
    for (const p of current.peers) this.addPeer(p);
  }

  private capabilities(p: PeerConfig): LocalCapabilities {
    const mode = p.addPath === 'Off' ? undefined : ADD_PATH_MODE[p.addPath];
    return {
      families: [
        { afi: Afi.Ipv4, safi: 1 },
        { afi: Afi.Ipv6, safi: 1 },
      ],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      extendedMessage: true,
      ...(mode === undefined
        ? {}
        : {
            addPath: new Map([
              [IPV4_UNICAST, mode],
              [IPV6_UNICAST, mode],
            ]),
          }),
      // Helper and restarting speaker: RFC 4724 with RFC 8538's N bit. Forwarding state is kept
      // across a kbgp restart: the node's kernel (kube-proxy) forwards the service traffic, and
      // kbgp installs nothing of its own that would go with it.
      gracefulRestart: { restartTime: p.maxRestartTime, restarting: this.restarting, notification: true, forwardingState: true },
      hostname: { hostname: this.current.nodeName, domain: '' },
    };
  }

  private schedulePump(peer: Peer): void {
    this.toPump.add(peer);
    this.scheduleFlush();
  }

  /**
   * After a RIB change every session may have something to pull. Called per UPDATE, so it only
   * sets a flag: the peers are walked once per turn of the event loop, not once per message.
   */
  private pumpAll(): void {
    this.pumpEveryone = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the current chunk of input: many UPDATEs applied, then one drain per update group.
    setImmediate(() => {
      this.pumpScheduled = false;
      const peers = this.pumpEveryone ? [...this.peers.values()] : [...this.toPump];
      if (this.pumpEveryone) this.schedulePrune();
      this.pumpEveryone = false;
      this.toPump.clear();
      for (const p of peers) if (p.up) p.session.pump();
      if (this.latencyFrom.length > 0) {
        const now = this.clock.now();
        for (const since of this.latencyFrom) this.metrics?.observeServiceLatency((now - since) / 1000);
        this.latencyFrom = [];
      }
    });
  }

  /** Emptied prefixes leave the trie once changes have paused for a moment (see Rib.prune). */
  private schedulePrune(): void {
    if (this.pruneTimer !== undefined) this.pruneTimer.refresh();
    else {
      this.pruneTimer = setTimeout(() => {
        this.pruneTimer = undefined;
        if (this.rib.prunable > 0) this.rib.prune();
      }, PRUNE_AFTER_MS);
      this.pruneTimer.unref();
    }
  }

  /** The configuration in force (the last good one after a reload). */
  get config(): NodeConfig {
    return this.current;
  }

  /**
   * A new configuration, live: only what changed is touched. A peer added starts; a peer removed
   * stops with Cease / Peer De-configured; a peer whose session parameters changed (AS, port,
   * timers, capabilities, source address) restarts with Cease / Other Configuration Change, and no
   * other; filters, next hop mode, max-prefix and originated prefixes or their communities change
   * by difference, sessions untouched. What cannot change without a restart is refused, naming it,
   * and the configuration in force stays as it was.
   */
  reconfigure(next: NodeConfig): { readonly added: string[]; readonly removed: string[]; readonly reset: string[]; readonly updated: string[] } {
    const before = this.current;
    const fixed: [string, unknown, unknown][] = [
      ['asNumber', before.asNumber, next.asNumber],
      ['routerId', before.routerId, next.routerId],
      ['listenAddress (or bindMode)', before.listenAddresses.join(', '), next.listenAddresses.join(', ')],
      ['listenPort', before.listenPort, next.listenPort],
      ['clusterId (Node routeReflectorClusterID)', before.clusterId, next.clusterId],
      ['maxPaths', before.maxPaths, next.maxPaths],
      ['alwaysCompareMed', before.alwaysCompareMed, next.alwaysCompareMed],
      ['ipv4Address', before.ipv4Address, next.ipv4Address],
      ['ipv6Address', before.ipv6Address, next.ipv6Address],
      ['metricsAddress', JSON.stringify(before.metricsAddress), JSON.stringify(next.metricsAddress)],
      ['controlSocket', before.controlSocket, next.controlSocket],
      ['cluster (KbgpConfiguration spec.cluster)', JSON.stringify(before.cluster), JSON.stringify(next.cluster)],
    ];
    const needRestart = fixed.filter(([, a, b]) => a !== b).map(([name]) => name);
    if (needRestart.length > 0) throw new Error(`these change only with a restart of kbgp: ${needRestart.join(', ')}; the configuration in force is kept`);
    // Each session's parameters under the configuration in force, taken before it changes: global
    // settings (KbgpConfiguration timers) feed them too, so they cannot be recomputed from `next`.
    const inForce = new Map([...this.peers].map(([address, peer]) => [address, settingsKey(this.sessionSettings(peer.config))]));
    this.current = next;
    const result = { added: [] as string[], removed: [] as string[], reset: [] as string[], updated: [] as string[] };
    const wanted = new Map(next.peers.map((p) => [p.address, p]));
    for (const [address, peer] of [...this.peers]) {
      const p = wanted.get(address);
      if (p === undefined) {
        this.removePeer(peer, 'peer removed from the configuration', CeaseSubcode.PeerDeconfigured);
        result.removed.push(address);
      } else if (settingsKey(this.sessionSettings(p)) !== inForce.get(address) || p.port !== peer.config.port || p.sourceAddress !== peer.config.sourceAddress || p.allowedLocalAs !== peer.config.allowedLocalAs || p.routeReflectorClient !== peer.config.routeReflectorClient) {
        // The session's own parameters: only a new session can carry them.
        this.removePeer(peer, 'peer configuration changed', CeaseSubcode.OtherConfigurationChange);
        this.addPeer(p);
        if (this.servers.length > 0) this.peers.get(address)?.session.start();
        result.reset.push(address);
      } else if (JSON.stringify(p) !== JSON.stringify(peer.config)) {
        const filtersChanged = JSON.stringify(p.filters) !== JSON.stringify(peer.config.filters);
        peer.config = p;
        if (filtersChanged) this.setFilters(address, p.filters);
        else if (peer.up && peer.session.negotiated !== undefined) this.joinGroup(peer, peer.session.negotiated);
        result.updated.push(address);
      }
    }
    for (const [address, p] of wanted) {
      if (this.peers.has(address)) continue;
      this.addPeer(p);
      if (this.servers.length > 0) this.peers.get(address)?.session.start();
      result.added.push(address);
    }
    // Status and the CLI list peers in the order of the configuration.
    const ordered = next.peers.map((p) => this.peers.get(p.address)).filter((x): x is Peer => x !== undefined);
    this.peers.clear();
    for (const peer of ordered) this.peers.set(peer.config.address, peer);
    // Routes from peers inside the service ranges: refused or let in by the new ranges.
    const ranges = rangesOf(next);
    if (JSON.stringify(ranges.map(formatPrefix)) !== JSON.stringify(this.serviceRanges.map(formatPrefix))) {
      this.serviceRanges = ranges;
      for (const peer of this.peers.values()) if (peer.up) this.rib.setImportPolicy(peer.config.address, this.importPolicy(peer));
    }
    // Originated prefixes and their communities: by difference.
    this.setOriginated(next.originate);
    this.advertiser.reconfigure({ serviceCidrs: next.serviceCidrs, settings: next.services });
    this.pumpAll();
    this.deps.logger.info(result, 'configuration reloaded');
    return result;
  }

  /** The peer leaves: its session ends with `subcode` (as Hard Reset where the N bit was negotiated), its routes go. */
  private removePeer(peer: Peer, why: string, subcode: number): void {
    clearTimeout(peer.restartTimer);
    this.stopStaleTimer(peer);
    peer.session.stop(why, this.hardened(peer, { type: MessageType.Notification, code: ErrorCode.Cease, subcode, data: Buffer.alloc(0) }));
    this.rib.leave(peer);
    this.rib.peerDown(peer.config.address);
    peer.up = false;
    this.peers.delete(peer.config.address);
    this.toPump.delete(peer);
  }

  private sessionSettings(p: PeerConfig): SessionSettings {
    const c = this.config;
    return {
      ...DEFAULT_TIMERS,
      ...c.timers,
      ...(p.holdTime === undefined ? {} : { holdTime: p.holdTime }),
      ...(p.keepaliveTime === undefined ? {} : { keepaliveTime: p.keepaliveTime }),
      localAs: p.localAsNumber ?? c.asNumber,
      peerAs: p.asNumber,
      bgpIdentifier: c.routerId,
      passive: p.passive,
      capabilities: this.capabilities(p),
    };
  }

  private addPeer(p: PeerConfig): void {
    const localAs = p.localAsNumber ?? this.config.asNumber;
    const settings = this.sessionSettings(p);
    const ebgp = p.asNumber !== localAs;
    const logger = this.deps.logger.child({ peer: p.address, peerAs: p.asNumber, peerName: p.name });
    const session: Session = new Session(
      { address: p.address, port: p.port, ...(p.sourceAddress === undefined ? {} : { localAddress: p.sourceAddress }) },
      settings,
      ebgp,
      {
        established: (n) => this.peerUp(peer, n),
        update: (u) => {
          const r = this.rib.apply(p.address, u);
          if (u.treatAsWithdraw !== undefined) logger.warn({ problems: u.treatAsWithdraw.map((x) => x.reason) }, 'UPDATE treated as withdraw (RFC 7606)');
          if (u.endOfRib !== undefined) {
            logger.info({ afi: u.endOfRib.afi, received: this.rib.receivedCount(p.address) }, 'End-of-RIB received');
            const afi = u.endOfRib.afi;
            if ((afi === Afi.Ipv4 || afi === Afi.Ipv6) && this.rib.hasStale(p.address, afi)) {
              logger.info({ afi, swept: this.rib.endRefresh(p.address, afi) }, 'graceful restart: stale routes the peer did not send again swept');
            }
            peer.endOfRib.add(afi);
            this.endRestartWhenReady();
          }
          else if (logger.isLevelEnabled('debug')) logger.debug({ announced: r.announced, withdrawn: r.withdrawn }, 'UPDATE');
          if (peer.config.maxPrefixes !== undefined && r.announced > 0) this.checkMaxPrefixes(peer, logger);
          this.pumpAll();
        },
        routeRefresh: (m) => {
          const enhanced = session.negotiated?.enhancedRouteRefresh === true;
          if (m.subtype === RouteRefreshSubtype.Normal) {
            logger.info({ afi: m.afi, safi: m.safi, enhanced }, 'ROUTE-REFRESH received: sending our routes again');
            this.rib.refresh(peer, familyKey(m.afi, m.safi), enhanced);
            session.pump();
          } else if (m.safi === Safi.Unicast && (m.afi === Afi.Ipv4 || m.afi === Afi.Ipv6) && enhanced) {
            // RFC 7313 §4: the peer re-sends its routes between BoRR and EoRR; what it did not re-send goes.
            if (m.subtype === RouteRefreshSubtype.BeginningOfRouteRefresh) this.rib.beginRefresh(p.address, m.afi);
            else if (m.subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
              const swept = this.rib.endRefresh(p.address, m.afi);
              logger.info({ afi: m.afi, swept }, 'EoRR received: stale routes swept');
              this.pumpAll();
            }
          }
        },
        down: (reason) => {
          if (!peer.up) return;
          peer.up = false;
          this.rib.leave(peer);
          const gr = peer.negotiated?.gracefulRestart;
          // RFC 4724 §4.2: only the families the peer's capability named are kept.
          const retained = new Set<Afi>([...(gr?.families ?? [])].filter((f) => (f & 0xff) === Safi.Unicast).map((f) => f >> 8 as Afi));
          if (gr !== undefined && retained.size > 0 && keepsRoutes(reason, gr)) {
            logger.info({ restartTime: gr.restartTime, families: [...gr.families].map(familyKeyName) }, 'graceful restart: keeping the peer\'s routes, stale, until it is back');
            this.rib.peerRestarting(p.address, retained);
            this.startStaleTimer(peer, gr.restartTime, logger);
          } else {
            this.stopStaleTimer(peer);
            this.rib.peerDown(p.address);
          }
          this.pumpAll();
        },
      },
      { clock: this.clock, random: this.deps.random ?? Math.random, logger },
    );
    const peer: Peer = { config: p, session, up: false, overLimit: [false, false], endOfRib: new Set() };
    this.peers.set(p.address, peer);
  }

  /**
   * RFC 4486: past a peer's limit in a family, Cease / Maximum Number of Prefixes Reached with the
   * family and the limit as data, and a restart after the configured time; or, in warning-only
   * mode, a warning each time the count crosses the limit.
   */
  private checkMaxPrefixes(peer: Peer, logger: Logger): void {
    const max = peer.config.maxPrefixes;
    if (max === undefined) return;
    for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) {
      const count = this.rib.receivedCount(peer.config.address, afi);
      const over = count > max.limit;
      const family = afi === Afi.Ipv4 ? 'ipv4-unicast' : 'ipv6-unicast';
      if (max.warningOnly) {
        if (over && !peer.overLimit[afi - 1]) logger.warn({ family, count, limit: max.limit }, 'maximum prefixes exceeded (warning only)');
        peer.overLimit[afi - 1] = over;
        continue;
      }
      if (!over) continue;
      const data = Buffer.alloc(7);
      data.writeUInt16BE(afi, 0);
      data.writeUInt8(Safi.Unicast, 2);
      data.writeUInt32BE(max.limit, 3);
      const why = `maximum prefixes exceeded: ${count} ${family} routes, limit ${max.limit}`;
      if (peer.stopping) return;
      peer.stopping = true;
      // After the message being handled: the session is mid-dispatch of this UPDATE.
      if (max.restartAfter > 0) logger.warn({ family, count, limit: max.limit, restartAfter: max.restartAfter }, `${why}: session stopped, restarting after ${max.restartAfter} s`);
      else logger.warn({ family, count, limit: max.limit }, `${why}: session stopped until kbgp restarts`);
      queueMicrotask(() => {
        peer.stopping = false;
        peer.session.stop(why, this.hardened(peer, { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumNumberOfPrefixesReached, data }));
        if (max.restartAfter <= 0) return;
        // Counted from the stop itself.
        clearTimeout(peer.restartTimer);
        peer.restartTimer = setTimeout(() => {
          peer.restartTimer = undefined;
          if (this.servers.length > 0) peer.session.start();
        }, max.restartAfter * 1000);
        peer.restartTimer.unref();
      });
      return;
    }
  }

  /**
   * Graceful shutdown (RFC 8326) of one peer, or of all: every route goes to it again with
   * GRACEFUL_SHUTDOWN (and LOCAL_PREF 0 over iBGP) so that it moves its traffic to other paths;
   * after `waitSeconds` the session ends with Cease / Administrative Shutdown carrying `reason`
   * (RFC 9003). Resolves once every drained session is down. The peer stays stopped.
   */
  async drain(peerAddress: string | undefined, waitSeconds: number, reason: string): Promise<void> {
    const peers = [...this.peers.values()].filter((p) => peerAddress === undefined || p.config.address === peerAddress);
    if (peerAddress !== undefined && peers.length === 0) throw new Error(`no peer ${peerAddress}`);
    for (const p of peers) {
      p.draining = true;
      if (p.up && p.session.negotiated !== undefined) this.joinGroup(p, p.session.negotiated);
      p.session.pump();
    }
    this.deps.logger.info({ peers: peers.map((p) => p.config.address), waitSeconds, reason }, 'graceful shutdown: routes re-sent with GRACEFUL_SHUTDOWN');
    await new Promise((r) => setTimeout(r, waitSeconds * 1000));
    for (const p of peers) p.session.stop(`graceful shutdown: ${reason}`, this.hardened(p, shutdownNotification(CeaseSubcode.AdministrativeShutdown, reason)));
  }

  /**
   * RFC 8538 §5: a stop meant to last (drain, max-prefix) goes as Hard Reset to a peer that
   * negotiated the N bit; a plain Cease would have it keep our routes for a restart.
   */
  private hardened(peer: Peer, n: NotificationMessage): NotificationMessage {
    return peer.session.negotiated?.gracefulRestart?.notification === true ? hardReset(n) : n;
  }

  /** A session is Established: its routes may come in, and it joins its update group for ours. */
  private peerUp(peer: Peer, n: Negotiated): void {
    const p = peer.config;
    const localAs = p.localAsNumber ?? this.config.asNumber;
    this.rib.peerUp({
      address: p.address,
      asn: n.peerAs,
      bgpIdentifier: n.peerBgpIdentifier,
      ebgp: p.asNumber !== localAs,
      routeReflectorClient: p.routeReflectorClient,
      localAs,
      allowedLocalAs: p.allowedLocalAs,
    });
    peer.up = true;
    peer.negotiated = n;
    peer.endOfRib = new Set();
    this.rib.setImportPolicy(p.address, this.importPolicy(peer));
    this.sweepUnpreserved(peer, n);
    this.joinGroup(peer, n);
    peer.session.setOutbound(() => this.rib.next(peer));
    this.endRestartWhenReady();
  }

  /**
   * What kbgp originates is complete (the Kubernetes watcher has synced): once the peers' tables
   * are in too, End-of-RIB goes out and the restart is over.
   */
  originationComplete(source = 'external'): void {
    if (!this.originationPending.delete(source)) return;
    this.deps.logger.info({ source }, 'origination complete');
    this.endRestartWhenReady();
  }

  /** What the metrics read when scraped. */
  private metricsView(): MetricsView {
    return {
      peers: () =>
        [...this.peers.values()].map((p) => ({
          address: p.config.address,
          peerAs: p.config.asNumber,
          peerType: peerTypeName(p.config),
          state: p.session.state,
          stats: p.session.stats,
          received: { ipv4: this.rib.receivedCount(p.config.address, Afi.Ipv4), ipv6: this.rib.receivedCount(p.config.address, Afi.Ipv6) },
          accepted: { ipv4: this.rib.acceptedCount(p.config.address, Afi.Ipv4), ipv6: this.rib.acceptedCount(p.config.address, Afi.Ipv6) },
          advertised: this.rib.advertisedCount(p),
        })),
      locRib: () => this.rib.locRib,
      services: () => this.services(),
    };
  }

  /** Ready: listening, and the cluster source synced and followed now. */
  readiness(): Readiness {
    if (this.servers.length === 0) return { ready: false, detail: 'not listening' };
    const s = this.sourceStatus();
    if (!s.synced) return { ready: false, detail: `${s.source}: initial lists not in yet` };
    if (!s.healthy) {
      const down = s.detail.filter((d) => !d.healthy).map((d) => `${d.name}${d.lastError === undefined ? '' : ` (${d.lastError})`}`);
      return { ready: false, detail: `${s.source}: not followed now: ${down.join(', ')}; routes already advertised stay` };
    }
    return { ready: true, detail: `listening; ${s.source} followed` };
  }

  /** The service routes: what is advertised and why, what is not and why, and the cluster source's state. */
  services(): { readonly decision: Decision; readonly source: SourceStatus } {
    return { decision: this.advertiser.decision, source: this.sourceStatus() };
  }

  /** The cluster source's watches, and those of the Calico resources when they come from the cluster. */
  private sourceStatus(): SourceStatus {
    const services = this.advertiser.status;
    const config = this.deps.configSource?.status();
    if (config === undefined) return services;
    return {
      source: services.source === 'none' ? config.source : `${services.source}; ${config.source}`,
      synced: services.synced && config.synced,
      healthy: services.healthy && config.healthy,
      detail: [...services.detail, ...config.detail],
    };
  }

  /**
   * RFC 4724 §4.1: a restarting speaker defers its End-of-RIB until its own table is complete and
   * every peer has sent its End-of-RIB (peers without graceful restart, or restarting themselves,
   * are not waited for), or the selection deferral time is over. Then the routes are final: End-of-RIB
   * goes to every peer, and later OPENs no longer say we are restarting.
   */
  private endRestartWhenReady(): void {
    if (!this.restarting || this.originationPending.size > 0 || this.servers.length === 0) return;
    const waitingFor = this.deferralOver ? [] : [...this.peers.values()].filter((p) => !this.peerSynced(p)).map((p) => p.config.address);
    if (waitingFor.length > 0) return;
    this.restarting = false;
    this.deferralTimer?.cancel();
    this.deferralTimer = undefined;
    for (const p of this.peers.values()) p.session.reconfigure(this.sessionSettings(p.config));
    this.rib.holdEndOfRib(false);
    this.deps.logger.info({ deferralOver: this.deferralOver }, 'restart complete: End-of-RIB sent to every peer');
    this.pumpAll();
  }

  /** The peer has sent what it holds, or is not one to wait for. */
  private peerSynced(peer: Peer): boolean {
    const n = peer.session.negotiated;
    if (!peer.up || n === undefined) return false;
    const gr = n.gracefulRestart;
    if (gr === undefined || gr.restarting) return true;
    for (const family of n.families) if (!peer.endOfRib.has(family >> 8)) return false;
    return true;
  }

  /**
   * Back from a restart: RFC 4724 §4.2, stale routes of a family the new OPEN does not keep
   * forwarding for (F bit clear, or the family or the capability gone) go now; the others wait
   * for that family's End-of-RIB, or the restart time once more.
   */
  private sweepUnpreserved(peer: Peer, n: Negotiated): void {
    const a = peer.config.address;
    let waiting = false;
    for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) {
      if (!this.rib.hasStale(a, afi)) continue;
      const key = familyKey(afi, Safi.Unicast);
      const gr = n.gracefulRestart;
      if (gr === undefined || !gr.families.has(key) || !gr.forwardingState.has(key)) this.rib.endRefresh(a, afi);
      else waiting = true;
    }
    this.stopStaleTimer(peer);
    if (waiting) this.startStaleTimer(peer, this.config.gracefulRestart.stalePathTime, this.deps.logger.child({ peer: a }));
  }

  /** Gives up on a restarting peer after its restart time: its stale routes go. */
  private startStaleTimer(peer: Peer, seconds: number, logger: Logger): void {
    this.stopStaleTimer(peer);
    peer.staleTimer = setTimeout(() => {
      peer.staleTimer = undefined;
      const a = peer.config.address;
      if (!peer.up) this.rib.peerDown(a);
      else for (const afi of [Afi.Ipv4, Afi.Ipv6] as const) if (this.rib.hasStale(a, afi)) this.rib.endRefresh(a, afi);
      logger.info({ seconds }, 'graceful restart: restart time over, stale routes swept');
      this.pumpAll();
    }, seconds * 1000);
    peer.staleTimer.unref();
  }

  private stopStaleTimer(peer: Peer): void {
    clearTimeout(peer.staleTimer);
    peer.staleTimer = undefined;
  }

  /**
   * Asks a peer to send its routes again (RFC 2918; the operator's "soft in"), in every family it
   * agreed to refresh. kbgp keeps each peer's Adj-RIB-In as received, so its own policy changes never
   * need this; it is for checking what a peer sends now. Returns the families asked for.
   */
  requestRefresh(peerAddress: string): string[] {
    const peer = this.peers.get(peerAddress);
    if (peer === undefined) throw new Error(`no peer ${peerAddress}`);
    const asked = [...(peer.session.negotiated?.families ?? [])].filter((f) => peer.session.requestRefresh(f >> 8, f & 0xff)).map(familyKeyName);
    this.deps.logger.info({ peer: peerAddress, families: asked }, 'ROUTE-REFRESH sent');
    return asked;
  }

  /**
   * New BGPFilters for a peer: what it sent is filtered again from Adj-RIB-In and what it is sent
   * changes by the difference only; the session stays up and nothing is asked of the peer.
   */
  setFilters(peerAddress: string, filters: readonly BgpFilter[]): void {
    const peer = this.peers.get(peerAddress);
    if (peer === undefined) throw new Error(`no peer ${peerAddress}`);
    // The configuration in force is what kbgp config shows and what a reload compares with.
    peer.config = { ...peer.config, filters };
    const config = peer.config;
    this.current = { ...this.current, peers: this.current.peers.map((x) => (x.address === peerAddress ? config : x)) };
    this.deps.logger.info({ peer: peerAddress, filters: filters.map((f) => f.name) }, 'BGPFilters changed');
    if (!peer.up || peer.session.negotiated === undefined) return;
    this.rib.setImportPolicy(peerAddress, this.importPolicy(peer));
    this.joinGroup(peer, peer.session.negotiated);
    this.pumpAll();
  }

  private peerType(peer: Peer): 'eBGP' | 'iBGP' {
    return peer.config.asNumber !== (peer.config.localAsNumber ?? this.config.asNumber) ? 'eBGP' : 'iBGP';
  }

  /**
   * The peer's import policy as the RIB runs it: nothing inside this node's service ranges, then
   * its BGPFilters. None when there is neither.
   */
  private importPolicy(peer: Peer): ImportPolicy | undefined {
    const filters = peer.config.filters.filter((f) => f.importV4.length > 0 || f.importV6.length > 0);
    // A route reflector passes its clients' service routes on (the leaves' ECMP depends on it),
    // as Calico's reflectors do; kbgp programs no kernel routes, so reflecting them takes no
    // traffic from the node itself.
    const services = this.current.clusterId === undefined ? this.serviceRanges : [];
    if (filters.length === 0 && services.length === 0) return undefined;
    const ctx = { direction: 'import', peerType: this.peerType(peer) } as const;
    return (prefix, received) => {
      // Before any filter, which cannot let it in: a learned route inside a service range (another
      // node's /32) would draw this node's own service traffic away.
      for (const range of services) if (prefixCovers(range, prefix)) return 'service-cidr';
      if (filters.length === 0) return received;
      const r = applyFilters(filters, prefix, { attributes: received, local: false }, ctx);
      return r.action === 'Reject' ? 'filtered' : r.attributes;
    };
  }

  /** The peer's export filters for its update group; none when no filter has export rules. */
  private exportFilter(peer: Peer): ExportFilter | undefined {
    const filters = peer.config.filters.filter((f) => f.exportV4.length > 0 || f.exportV6.length > 0);
    if (filters.length === 0) return undefined;
    const peerType = this.peerType(peer);
    return { key: JSON.stringify([peerType, filters]), filters, peerType };
  }

  /** Puts the peer in the update group of its export policy now (again, when the policy changed). */
  private joinGroup(peer: Peer, n: Negotiated): void {
    const p = peer.config;
    const c = this.config;
    const ctx = peer.session.sendContext;
    if (ctx === undefined) return;
    const localAs = p.localAsNumber ?? c.asNumber;
    const ebgp = p.asNumber !== localAs;
    const local = plainAddress(peer.session.localAddress);
    const selfV4 = isIPv4(local) ? local : c.ipv4Address;
    const selfV6 = c.ipv6Address ?? (local.includes(':') ? local : undefined);
    const subnets = subnetsOf(local);
    const policy: ExportPolicy = {
      localAs,
      ebgp,
      routeReflectorClient: p.routeReflectorClient,
      ...(c.clusterId === undefined || ebgp ? {} : { clusterId: c.clusterId }),
      nextHopMode: p.nextHopMode,
      ...(selfV4 === undefined ? {} : { selfV4 }),
      ...(selfV6 === undefined ? {} : { selfV6 }),
      ...(subnets.length === 0 ? {} : { sharedSubnets: subnets }),
      extendedNextHopV4: n.extendedNextHop.has(IPV4_UNICAST),
      ...(peer.draining ? { gracefulShutdown: true } : {}),
    };
    this.rib.join(peer, p.address, policy, { ctx, families: n.families, addPathSend: n.addPathSend }, this.exportFilter(peer));
  }

  /**
   * Replaces what this node originates under `source` (default: the configuration's static
   * prefixes); the RIB sends every Established peer only the difference.
   */
  setOriginated(routes: readonly OriginatedRoute[], source = 'static'): void {
    this.rib.setOriginated(source, routes.map((r) => localRoute(r, this.config.prefixAdvertisements)));
    this.pumpAll();
  }

  /** One listener; a second one takes the port the first was given (port 0 in tests). */
  private async listen(address: string, first: ReturnType<Server['address']> | undefined): Promise<Server> {
    const port = first !== undefined && first !== null && typeof first === 'object' ? first.port : this.config.listenPort;
    const server = createServer((socket) => this.incoming(socket));
    try {
      await listenOn(server, { host: address, port });
    } catch (e) {
      throw new Error(`cannot listen on ${address} port ${port}: ${bindProblem(e)}`);
    }
    server.on('error', (e) => this.deps.logger.error({ err: e, address }, 'listener error'));
    return server;
  }

  /** Starts listening and starts every session. Resolves once every listener is bound. */
  async start(): Promise<void> {
    const servers: Server[] = [];
    try {
      for (const address of this.config.listenAddresses) servers.push(await this.listen(address, servers[0]?.address()));
    } catch (e) {
      for (const s of servers) s.close();
      throw e;
    }
    this.servers = servers;
    this.deps.logger.info({ address: this.config.listenAddresses.join(', '), port: this.listenPort, as: this.config.asNumber, routerId: this.config.routerId }, 'listening');
    const deferral = this.config.gracefulRestart.selectionDeferralTime;
    this.deferralTimer = this.clock.schedule(deferral * 1000, () => {
      this.deferralTimer = undefined;
      this.deferralOver = true;
      const waitingFor = [...this.peers.values()].filter((p) => !this.peerSynced(p)).map((p) => p.config.address);
      this.deps.logger.info({ seconds: deferral, waitingFor }, 'graceful restart: selection deferral time over, no longer waiting for End-of-RIB from peers');
      this.endRestartWhenReady();
    });
    for (const p of this.peers.values()) p.session.start();
    this.advertiser.start();
    const m = this.config.metricsAddress;
    if (m !== undefined) {
      this.metrics = createMetrics(this.metricsView());
      this.ops = await startOpsServer(m.host, m.port, { registry: this.metrics.registry, readiness: () => this.readiness() });
      this.deps.logger.info({ address: m.host, port: m.port }, 'serving /metrics, /healthz, /readyz');
    }
    if (this.deps.controlSocket !== undefined) {
      this.control = await startControlServer(this.deps.controlSocket, controlApi(this));
      this.deps.logger.info({ path: this.deps.controlSocket }, 'control socket ready (kbgp status, routes, explain)');
    }
    this.endRestartWhenReady();
  }

  /** `kbgp explain`: each address of the service, advertised or not and why, and to which peers it went. */
  explain(service: string): ExplainView {
    const sentTo = (intent: Intent): { peer: string; sent: boolean; why?: string }[] =>
      [...this.peers.values()].map((p) => {
        const peer = p.config.address;
        if (!p.up) return { peer, sent: false, why: 'session not Established' };
        if (this.rib.advertisedAt(p, intent.prefix).length > 0) return { peer, sent: true };
        return { peer, sent: false, why: this.keptBack(p, intent) };
      });
    return explainView(service, this.advertiser.addressesOf(service), this.advertiser.decision, sentTo);
  }

  /** Why an Established peer does not hold a prefix this node originates: the BGPFilter rule, else the export rules. */
  private keptBack(peer: Peer, intent: Intent): string {
    const filter = this.exportFilter(peer);
    if (filter !== undefined) {
      const route = localRoute({ prefix: intent.prefix, communities: intent.communities, largeCommunities: intent.largeCommunities }, this.config.prefixAdvertisements);
      const r = applyFilters(filter.filters, intent.prefix, { attributes: route.attributes, local: true }, { direction: 'export', peerType: filter.peerType });
      if (r.action === 'Reject') return `filtered: BGPFilter ${r.filter} ${intent.prefix.afi === Afi.Ipv4 ? 'exportV4' : 'exportV6'}[${r.rule}] rejects it`;
    }
    return 'kept back by the export rules, or not sent yet';
  }

  hasPeer(address: string): boolean {
    return this.peers.has(address);
  }

  peerAddresses(): string[] {
    return [...this.peers.keys()];
  }

  /** `kbgp status`. */
  statusView(): StatusView {
    const now = this.clock.now();
    const services = this.sourceStatus();
    return {
      node: this.config.nodeName,
      asNumber: this.config.asNumber,
      routerId: this.config.routerId,
      listen: `${this.config.listenAddresses.join(', ')} port ${this.listenPort}`,
      peers: this.metricsView()
        .peers()
        .map((m) => {
          const p = this.peers.get(m.address) as Peer;
          const lastError = lastErrorView(p.session.downHistory, now);
          const negotiated = negotiatedView(p.session.negotiated);
          return {
            name: p.config.name,
            address: m.address,
            port: p.config.port,
            peerAs: m.peerAs,
            localAs: p.config.localAsNumber ?? this.config.asNumber,
            peerType: m.peerType,
            state: m.state,
            since: wallTime(p.session.since, now),
            prefixes: { received: m.received.ipv4 + m.received.ipv6, accepted: m.accepted.ipv4 + m.accepted.ipv6, advertised: m.advertised.ipv4 + m.advertised.ipv6 },
            ...(lastError === undefined ? {} : { lastError }),
            ...(negotiated === undefined ? {} : { negotiated }),
          };
        }),
      services: { source: services.source, synced: services.synced, healthy: services.healthy, advertised: this.advertiser.advertised, detail: services.detail },
      locRib: this.rib.locRib,
    };
  }

  /** The bound port (the configured one, or the kernel's choice for port 0). */
  get listenPort(): number {
    const a = this.servers[0]?.address();
    return a !== null && typeof a === 'object' ? a.port : this.config.listenPort;
  }

  private incoming(socket: Socket): void {
    socket.on('error', () => undefined);
    const from = plainAddress(socket.remoteAddress);
    const peer = this.peers.get(from);
    if (peer === undefined) {
      // Only configured peers may talk to us: closed before any OPEN is read.
      this.deps.logger.warn({ from, port: socket.remotePort }, 'connection from an address that is not a configured peer: closed');
      socket.destroy();
      return;
    }
    peer.session.acceptIncoming(socket);
  }

  async stop(why = 'kbgp stopping'): Promise<void> {
    this.advertiser.stop();
    for (const server of [this.ops, this.control]) if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.ops = undefined;
    this.control = undefined;
    clearTimeout(this.pruneTimer);
    this.deferralTimer?.cancel();
    for (const p of this.peers.values()) {
      clearTimeout(p.restartTimer);
      this.stopStaleTimer(p);
    }
    // Administrative Reset, not a Hard Reset: peers with graceful restart keep our routes while
    // kbgp restarts (a rolling update of the DaemonSet drops no traffic).
    for (const p of this.peers.values()) p.session.stop(why, shutdownNotification(CeaseSubcode.AdministrativeReset, why));
    const servers = this.servers;
    this.servers = [];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  status(): PeerStatus[] {
    return [...this.peers.values()].map(({ config, session }) => ({
      name: config.name,
      address: config.address,
      port: config.port,
      peerAs: config.asNumber,
      state: session.state,
      since: session.since,
      received: this.rib.receivedCount(config.address),
      downHistory: session.downHistory,
      ...(session.lastDownReason === undefined ? {} : { lastDown: session.lastDownReason }),
      ...(session.negotiated === undefined ? {} : { negotiated: session.negotiated }),
    }));
  }

  /** The peer's Adj-RIB-In (or its paths for one prefix): what it sent, with the reason a route is not eligible. */
  received(peerAddress: string, prefix?: Prefix): ReceivedRoute[] {
    return this.rib.received(peerAddress, prefix);
  }

  /** Loc-RIB: every prefix with its candidate paths, best first. */
  routes(prefix?: Prefix): LocRibEntry[] {
    return this.rib.routes(prefix);
  }

  /** The peer's Adj-RIB-Out (or its paths for one prefix): what it holds from us. */
  advertised(peerAddress: string, prefix?: Prefix): AdvertisedRoute[] {
    const peer = this.peers.get(peerAddress);
    if (peer === undefined) return [];
    return prefix === undefined ? this.rib.advertised(peer) : this.rib.advertisedAt(peer, prefix);
  }

  session(peerAddress: string): Session | undefined {
    return this.peers.get(peerAddress)?.session;
  }
}
