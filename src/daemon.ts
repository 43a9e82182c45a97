/**
 * The composition root: configuration in, a running speaker out. It wires the listener, one
 * Session per configured peer, each peer's Adj-RIB-In, and the origination export. Nothing else
 * knows about more than one of these.
 */
import { type Server, type Socket, createServer, isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { Afi, IPV4_UNICAST, IPV6_UNICAST, formatPrefix } from './bgp/index.js';
import type { NodeConfig, PeerConfig } from './config/config.js';
import { type Clock, systemClock } from './fsm/clock.js';
import type { DownReason } from './fsm/down-reason.js';
import type { LocalCapabilities, Negotiated } from './fsm/negotiate.js';
import { Session } from './fsm/session.js';
import { DEFAULT_TIMERS, type SessionSettings, type State } from './fsm/state-machine.js';
import { AdjRibIn, type ReceivedRoute } from './rib/adj-rib-in.js';
import { type ExportTarget, type OriginatedRoute, originationUpdates, sameRoute, withdrawalUpdates } from './rib/origination.js';

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
}

interface Peer {
  readonly config: PeerConfig;
  readonly session: Session;
  readonly adjRibIn: AdjRibIn;
  /** Encoded UPDATEs not yet written: the session pulls from here as the socket allows. */
  outbound: Buffer[];
  /** Next unwritten index of `outbound` (an index, not Array.shift, which moves the whole queue per message). */
  outboundAt: number;
  /** What this peer holds from us, by prefix; only while Established. */
  advertised: Map<string, OriginatedRoute>;
  target?: ExportTarget;
}

/** `::ffff:192.0.2.1` (an IPv4 peer on a dual-stack socket) is `192.0.2.1`. */
function plainAddress(a: string | undefined): string {
  if (a === undefined) return '';
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** Appends without spreading: a large table is more messages than a call may take arguments. */
function enqueue(peer: Peer, messages: readonly Buffer[]): void {
  for (const m of messages) peer.outbound.push(m);
}

export class Daemon {
  private readonly peers = new Map<string, Peer>();
  private server: Server | undefined;
  private readonly clock: Clock;
  private originated: OriginatedRoute[];

  constructor(
    readonly config: NodeConfig,
    private readonly deps: DaemonDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.originated = [...config.originate];
    for (const p of config.peers) this.addPeer(p);
  }

  private capabilities(): LocalCapabilities {
    return {
      families: [
        { afi: Afi.Ipv4, safi: 1 },
        { afi: Afi.Ipv6, safi: 1 },
      ],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      extendedMessage: true,
      addPath: new Map([
        [IPV4_UNICAST, 'receive'],
        [IPV6_UNICAST, 'receive'],
      ]),
      hostname: { hostname: this.config.nodeName, domain: '' },
    };
  }

  private addPeer(p: PeerConfig): void {
    const c = this.config;
    const settings: SessionSettings = {
      ...DEFAULT_TIMERS,
      ...c.timers,
      ...(p.holdTime === undefined ? {} : { holdTime: p.holdTime }),
      ...(p.keepaliveTime === undefined ? {} : { keepaliveTime: p.keepaliveTime }),
      localAs: c.asNumber,
      peerAs: p.asNumber,
      bgpIdentifier: c.routerId,
      passive: p.passive,
      capabilities: this.capabilities(),
    };
    const ebgp = p.asNumber !== c.asNumber;
    const logger = this.deps.logger.child({ peer: p.address, peerAs: p.asNumber, peerName: p.name });
    const adjRibIn = new AdjRibIn();
    const session: Session = new Session(
      { address: p.address, port: p.port, ...(p.sourceAddress === undefined ? {} : { localAddress: p.sourceAddress }) },
      settings,
      ebgp,
      {
        established: (n) => this.exportTo(peer, n),
        update: (u) => {
          const r = adjRibIn.apply(u);
          if (u.treatAsWithdraw !== undefined) logger.warn({ problems: u.treatAsWithdraw.map((x) => x.reason) }, 'UPDATE treated as withdraw (RFC 7606)');
          if (u.endOfRib !== undefined) logger.info({ afi: u.endOfRib.afi, received: adjRibIn.size }, 'End-of-RIB received');
          else logger.debug({ announced: r.announced, withdrawn: r.withdrawn, total: adjRibIn.size }, 'UPDATE');
        },
        routeRefresh: () => this.exportTo(peer, session.negotiated),
        down: () => {
          adjRibIn.clear();
          peer.outbound = [];
          peer.outboundAt = 0;
          peer.advertised = new Map();
          delete peer.target;
        },
      },
      { clock: this.clock, random: this.deps.random ?? Math.random, logger },
    );
    const peer: Peer = { config: p, session, adjRibIn, outbound: [], outboundAt: 0, advertised: new Map() };
    this.peers.set(p.address, peer);
  }

  /** Queues our whole origination for a peer that just came up (or asked for a refresh). */
  private exportTo(peer: Peer, n: Negotiated | undefined): void {
    const ctx = peer.session.sendContext;
    if (n === undefined || ctx === undefined) return;
    const ebgp = peer.config.asNumber !== this.config.asNumber;
    const local = plainAddress(peer.session.localAddress);
    const target: ExportTarget = {
      localAs: this.config.asNumber,
      ebgp,
      families: n.families,
      ctx,
      ...(isIPv4(local) ? { nextHopV4: local } : this.config.ipv4Address === undefined ? {} : { nextHopV4: this.config.ipv4Address }),
      ...(this.config.ipv6Address !== undefined ? { nextHopV6: this.config.ipv6Address } : local.includes(':') ? { nextHopV6: local } : {}),
    };
    peer.target = target;
    peer.advertised = new Map(this.originated.map((r) => [formatPrefix(r.prefix), r]));
    enqueue(peer, originationUpdates(this.originated, target));
    peer.session.setOutbound(() => {
      if (peer.outboundAt < peer.outbound.length) return peer.outbound[peer.outboundAt++];
      // Drained: let the written messages go.
      peer.outbound = [];
      peer.outboundAt = 0;
      return undefined;
    });
  }

  /**
   * Replaces what this node originates; every Established peer gets only the difference
   * (withdrawals first, then what is new or changed). The RIB issue moves this into the RIB.
   */
  setOriginated(routes: readonly OriginatedRoute[]): void {
    this.originated = [...routes];
    const next = new Map(routes.map((r) => [formatPrefix(r.prefix), r]));
    for (const peer of this.peers.values()) {
      const target = peer.target;
      if (target === undefined) continue;
      const gone = [...peer.advertised].filter(([k]) => !next.has(k)).map(([, r]) => r.prefix);
      const changed = routes.filter((r) => {
        const before = peer.advertised.get(formatPrefix(r.prefix));
        return before === undefined || !sameRoute(before, r);
      });
      enqueue(peer, withdrawalUpdates(gone, target));
      enqueue(peer, originationUpdates(changed, target, false));
      peer.advertised = new Map(next);
      peer.session.pump();
    }
  }

  /** Starts listening and starts every session. Resolves once the listener is bound. */
  async start(): Promise<void> {
    const server = createServer((socket) => this.incoming(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.config.listenAddress, port: this.config.listenPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.deps.logger.error({ err: e }, 'listener error'));
    this.deps.logger.info({ address: this.config.listenAddress, port: this.listenPort, as: this.config.asNumber, routerId: this.config.routerId }, 'listening');
    for (const p of this.peers.values()) p.session.start();
  }

  /** The bound port (the configured one, or the kernel's choice for port 0). */
  get listenPort(): number {
    const a = this.server?.address();
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
    for (const p of this.peers.values()) p.session.stop(why);
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  status(): PeerStatus[] {
    return [...this.peers.values()].map(({ config, session, adjRibIn }) => ({
      name: config.name,
      address: config.address,
      port: config.port,
      peerAs: config.asNumber,
      state: session.state,
      since: session.since,
      received: adjRibIn.size,
      downHistory: session.downHistory,
      ...(session.lastDownReason === undefined ? {} : { lastDown: session.lastDownReason }),
      ...(session.negotiated === undefined ? {} : { negotiated: session.negotiated }),
    }));
  }

  received(peerAddress: string): ReceivedRoute[] {
    return this.peers.get(peerAddress)?.adjRibIn.routes() ?? [];
  }

  session(peerAddress: string): Session | undefined {
    return this.peers.get(peerAddress)?.session;
  }
}
