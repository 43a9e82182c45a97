/**
 * The shell around the pure state machine for one configured peer: it owns the connections, the
 * timers (through the injected clock) and the outgoing connection attempts, performs the actions
 * `step()` returns, and resolves connection collisions (RFC 4271 §6.8), which need two
 * connections at once and so cannot live in `step()`.
 *
 * Collision handling: while one connection is past Connect/Active, an incoming connection becomes
 * a candidate with an FSM of its own. When an OPEN arrives and both exist, the connection opened
 * by the speaker with the higher BGP Identifier is kept (for equal identifiers, RFC 6286 §2.3: the
 * one opened by the larger AS) and the other gets Cease / Connection Collision Resolution. A new
 * connection while Established is refused the same way, unless the peer announces graceful restart
 * in its OPEN: then it has restarted, and the old session is declared down (RFC 4724 §4.2).
 */
import { type Socket, connect } from 'node:net';
import type { Logger } from 'pino';
import { CeaseSubcode, ErrorCode, type MessageContext, MessageType, type NotificationMessage, type OpenMessage, type RouteRefreshMessage, RouteRefreshSubtype, type UpdateMessage, familyKey, parseIpv4 } from '../bgp/index.js';
import type { Clock } from './clock.js';
import { Connection, type Direction } from './connection.js';
import { type DownReason, formatDownReason } from './down-reason.js';
import { type Negotiated, familyKeyName, receiveContext, sendContext } from './negotiate.js';
import { type Action, type FsmEvent, type SessionSettings, type SessionState, type State, type TimerName, initialState, step } from './state-machine.js';
import { SessionTimers } from './timers.js';

export interface PeerEndpoint {
  /** Peer address, IPv4 or IPv6 text. */
  readonly address: string;
  readonly port: number;
  /** Source address for outgoing connections. */
  readonly localAddress?: string;
}

/** What the session hands to the rest of kbgp; plain data in, nothing back. */
export interface SessionHooks {
  established(negotiated: Negotiated): void;
  update(update: UpdateMessage): void;
  routeRefresh(refresh: RouteRefreshMessage): void;
  down(reason: DownReason, wasEstablished: boolean): void;
}

/** Pulled while the socket can take more: the next encoded UPDATE, or undefined when none is due. */
export type OutboundSource = () => Buffer | undefined;

export interface SessionDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly connect?: (endpoint: PeerEndpoint) => Socket;
}

interface Instance {
  fsm: SessionState;
  readonly timers: SessionTimers;
  conn?: Connection;
  direction?: Direction;
  /** An outgoing attempt not yet connected. */
  pending?: Socket;
}

const DOWN_HISTORY = 10;

/** Message types by their code (RFC 4271 §4.1, RFC 2918), for counters. */
export const MESSAGE_TYPE_NAMES = ['', 'open', 'update', 'notification', 'keepalive', 'route_refresh'] as const;

/** Counters of one peer over every connection it has had: plain numbers, for metrics and the CLI. */
export interface SessionStats {
  /** By message type code (index 1..5). */
  readonly received: number[];
  readonly sent: number[];
  /** By `code/subcode`. */
  readonly notificationsReceived: Map<string, number>;
  readonly notificationsSent: Map<string, number>;
  /** State changes of the session, and how often it reached Established. */
  transitions: number;
  establishments: number;
}

const EVENT_MESSAGE_TYPE: Partial<Record<FsmEvent['type'], number>> = { BgpOpen: 1, UpdateMsg: 2, NotifMsg: 3, KeepAliveMsg: 4, RouteRefreshMsg: 5 };

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function defaultConnect(e: PeerEndpoint): Socket {
  return connect({ host: e.address, port: e.port, ...(e.localAddress === undefined ? {} : { localAddress: e.localAddress }) });
}

export class Session {
  private main: Instance;
  private candidate: Instance | undefined;
  private outbound: OutboundSource | undefined;
  private stateSince: number;
  private lastDown: DownReason | undefined;
  private readonly history: { at: number; reason: DownReason }[] = [];
  private readonly connectSocket: (e: PeerEndpoint) => Socket;
  readonly stats: SessionStats = { received: [0, 0, 0, 0, 0, 0], sent: [0, 0, 0, 0, 0, 0], notificationsReceived: new Map(), notificationsSent: new Map(), transitions: 0, establishments: 0 };

  constructor(
    readonly endpoint: PeerEndpoint,
    private settings: SessionSettings,
    readonly ebgp: boolean,
    private readonly hooks: SessionHooks,
    private readonly deps: SessionDeps,
  ) {
    this.main = this.instance(initialState(settings));
    this.stateSince = deps.clock.now();
    this.connectSocket = deps.connect ?? defaultConnect;
  }

  /** New settings for the OPENs still to come (the current connection keeps what it negotiated). */
  reconfigure(settings: SessionSettings): void {
    this.settings = settings;
  }

  get state(): State {
    return this.main.fsm.state;
  }

  get negotiated(): Negotiated | undefined {
    return this.main.fsm.state === 'Established' ? this.main.fsm.negotiated : undefined;
  }

  /** Milliseconds (clock time) since the state last changed. */
  get since(): number {
    return this.stateSince;
  }

  get lastDownReason(): DownReason | undefined {
    return this.lastDown;
  }

  /** The most recent down reasons, oldest first, with the clock time of each. */
  get downHistory(): readonly { readonly at: number; readonly reason: DownReason }[] {
    return this.history;
  }

  /** Octets written to the socket but not yet taken by the kernel: bounded by the backpressure rule. */
  get queuedBytes(): number {
    return this.main.conn?.socket.writableLength ?? 0;
  }

  get counters(): Connection['counters'] | undefined {
    return this.main.conn?.counters;
  }

  start(): void {
    this.dispatch(this.main, { type: 'ManualStart' });
  }

  stop(why: string, notification?: NotificationMessage): void {
    if (this.candidate !== undefined) this.dropCandidate();
    this.dispatch(this.main, notification === undefined ? { type: 'ManualStop', why } : { type: 'ManualStop', why, notification });
  }

  /** Sets where UPDATEs come from once Established; the session pulls while the peer keeps up. */
  setOutbound(source: OutboundSource | undefined): void {
    this.outbound = source;
    this.pump();
  }

  /** Something new may be waiting in the outbound source. */
  pump(): void {
    const conn = this.main.conn;
    if (this.main.fsm.state !== 'Established' || conn === undefined || this.outbound === undefined) return;
    // Produce only while the socket takes it without queueing: a large table then waits in the
    // RIB, not in front of the next KEEPALIVE.
    while (conn.writable) {
      const next = this.outbound();
      if (next === undefined) return;
      // Octet 18 is the message type: UPDATEs, and the ROUTE-REFRESH markers around a refresh.
      const type = next[18] ?? 0;
      if (type < 6) (this.stats.sent[type] as number)++;
      conn.write(next);
    }
  }

  /**
   * Asks the peer for its routes again (RFC 2918), in families it agreed to refresh. Returns
   * whether it was sent: only an Established session whose peer announced route refresh can.
   */
  requestRefresh(afi: number, safi: number): boolean {
    const n = this.negotiated;
    if (n === undefined || !n.routeRefresh || !n.families.has(familyKey(afi, safi))) return false;
    this.main.conn?.send({ type: MessageType.RouteRefresh, afi, safi, subtype: RouteRefreshSubtype.Normal });
    (this.stats.sent[MessageType.RouteRefresh] as number)++;
    return true;
  }

  get sendContext(): MessageContext | undefined {
    return this.main.conn?.sendContext;
  }

  /** Our address on the current connection: the natural next hop towards this peer. */
  get localAddress(): string | undefined {
    return this.main.conn?.socket.localAddress;
  }

  /** An incoming TCP connection from this peer's address. */
  acceptIncoming(socket: Socket): void {
    const state = this.main.fsm.state;
    if (state === 'Idle' || this.candidate !== undefined) {
      this.deps.logger.info({ state }, 'refusing incoming connection');
      socket.destroy();
      return;
    }
    if (state === 'Connect' || state === 'Active') {
      // Our own attempt may already be accepted at the peer, which may keep it and drop this one:
      // cancelling it could leave neither. It goes on as a candidate; collision detection then
      // keeps one of the two, the same one at both ends.
      const pending = this.main.pending;
      if (pending !== undefined) {
        const candidate = this.instance({ ...initialState(this.settings), state: 'Connect' });
        this.candidate = candidate;
        this.main.pending = undefined;
        pending.removeAllListeners('connect');
        pending.removeAllListeners('error');
        this.watchPending(candidate, pending);
      }
      this.attach(this.main, socket, 'in');
      this.dispatch(this.main, { type: 'TcpConnectionConfirmed' });
      return;
    }
    // A second connection: it runs its own FSM until an OPEN settles which one stays.
    const candidate = this.instance({ ...initialState(this.settings), state: 'Active' });
    this.candidate = candidate;
    this.attach(candidate, socket, 'in');
    this.dispatch(candidate, { type: 'TcpConnectionConfirmed' });
  }

  private instance(fsm: SessionState): Instance {
    const inst: Instance = { fsm, timers: new SessionTimers(this.deps.clock, this.deps.random, (t) => this.onTimer(inst, t)) };
    return inst;
  }

  private onTimer(inst: Instance, timer: TimerName): void {
    if (inst !== this.main && inst !== this.candidate) return;
    const events: Record<TimerName, FsmEvent> = {
      ConnectRetry: { type: 'ConnectRetryTimerExpires' },
      Hold: { type: 'HoldTimerExpires' },
      Keepalive: { type: 'KeepaliveTimerExpires' },
      IdleHold: { type: 'IdleHoldTimerExpires' },
      Stable: { type: 'StableTimerExpires' },
    };
    this.dispatch(inst, events[timer]);
  }

  private attach(inst: Instance, socket: Socket, direction: Direction): void {
    inst.direction = direction;
    inst.conn = new Connection(
      socket,
      direction,
      (e) => this.fromConnection(inst, socket, e),
      () => this.pump(),
      this.deps.clock,
    );
  }

  /** Events from a connection; stale ones (from a connection since replaced) are dropped. */
  private fromConnection(inst: Instance, socket: Socket, e: FsmEvent): void {
    if (inst.conn?.socket !== socket) return;
    const type = EVENT_MESSAGE_TYPE[e.type];
    if (type !== undefined) (this.stats.received[type] as number)++;
    if (e.type === 'NotifMsg') bump(this.stats.notificationsReceived, `${e.notification.code}/${e.notification.subcode}`);
    try {
      if (e.type === 'BgpOpen' && this.resolveCollision(inst, e.open)) return;
      this.dispatch(inst, e);
    } catch (err) {
      // A bug behind this session (a hook, the RIB) must end this session only, never the process.
      this.deps.logger.error({ err, event: e.type }, 'internal error handling a message: session reset');
      if (inst.conn?.socket !== socket) return;
      this.dispatch(inst, {
        type: 'AutomaticStop',
        why: `internal error: ${err instanceof Error ? err.message : String(err)}`,
        notification: { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.Unspecific, data: Buffer.alloc(0) },
      });
    }
  }

  /**
   * Returns true when `inst` lost the collision and was dumped (its OPEN must not be processed).
   */
  private resolveCollision(inst: Instance, open: OpenMessage): boolean {
    const other = inst === this.main ? this.candidate : this.main;
    if (other === undefined || other.conn === undefined || !other.conn.open) return false;
    if (other.fsm.state === 'Established') {
      // Only a connection the peer opened says it restarted; an answer to ours says nothing.
      const restarted = inst.direction === 'in' && open.capabilities.some((c) => c.kind === 'graceful-restart');
      if (!restarted) {
        this.dump(inst);
        return true;
      }
      this.deps.logger.info('peer reconnected with graceful restart: the old session is down');
      this.dispatch(other, { type: 'TcpConnectionFails', error: 'peer restarted (new connection with graceful restart)' });
      this.promote(inst);
      return false;
    }
    if (other.fsm.state !== 'OpenSent' && other.fsm.state !== 'OpenConfirm') return false;
    const local = parseIpv4(this.settings.bgpIdentifier);
    const remote = parseIpv4(open.bgpIdentifier);
    // The connection to keep is the one opened by the higher identifier (or, equal, the larger AS).
    const localWins = local !== remote ? local > remote : this.settings.localAs > this.settings.peerAs;
    const keep: Direction = localWins ? 'out' : 'in';
    if (inst.direction === keep) {
      this.dump(other);
      if (inst !== this.main) this.promote(inst);
      return false;
    }
    this.dump(inst);
    if (inst === this.main) this.promote(other);
    return true;
  }

  /** The losing connection gets Cease / Connection Collision Resolution; the session lives on. */
  private dump(inst: Instance): void {
    const { actions } = step(this.settings, inst.fsm, { type: 'OpenCollisionDump' });
    for (const a of actions) if (a.type === 'send' || a.type === 'dropConnection') this.perform(inst, a);
    inst.timers.stopAll();
    inst.conn = undefined;
    if (inst === this.candidate) this.candidate = undefined;
    this.deps.logger.debug({ direction: inst.direction }, 'connection collision: dropped one connection');
  }

  private promote(inst: Instance): void {
    this.main.timers.stopAll();
    this.main = inst;
    this.candidate = undefined;
    this.stateSince = this.deps.clock.now();
  }

  /** Stops everything an instance that is no longer wanted still runs. */
  private retire(inst: Instance): void {
    inst.timers.stopAll();
    this.abortPending(inst);
    inst.conn?.close();
    inst.conn = undefined;
    if (this.candidate === inst) this.candidate = undefined;
  }

  private dropCandidate(): void {
    if (this.candidate !== undefined) this.retire(this.candidate);
  }

  private abortPending(inst: Instance): void {
    inst.pending?.removeAllListeners();
    inst.pending?.on('error', () => undefined);
    inst.pending?.destroy();
    inst.pending = undefined;
  }

  private dispatch(inst: Instance, e: FsmEvent): void {
    const before = inst.fsm.state;
    const { next, actions } = step(this.settings, inst.fsm, e);
    inst.fsm = next;
    const isMain = inst === this.main;
    if (isMain && before !== next.state) {
      this.stateSince = this.deps.clock.now();
      this.stats.transitions++;
      if (next.state === 'Established') this.stats.establishments++;
      this.deps.logger.debug({ from: before, to: next.state, event: e.type }, 'state');
    } else if (!isMain && before !== next.state) {
      this.deps.logger.debug({ from: before, to: next.state, event: e.type, direction: inst.direction }, 'second connection state');
    }
    // Negotiated on OPEN: the very next message may already need the new context.
    if (next.negotiated !== undefined && inst.conn !== undefined && before === 'OpenSent') {
      inst.conn.setContexts(receiveContext(next.negotiated, this.ebgp), sendContext(next.negotiated, this.ebgp));
    }
    for (const a of actions) {
      if (!isMain && a.type === 'down') {
        // A second connection that fails just goes away, timers and all: left to the FSM it would
        // fall back to Active and later connect out on its own, and a connection that reaches the
        // peer while its session is up reads there as our restart (BIRD and FRR with graceful
        // restart end the working session for it).
        this.retire(inst);
        return;
      }
      if (!isMain && a.type === 'startTimer' && a.timer === 'IdleHold') continue;
      this.perform(inst, a);
    }
    // The peer may resolve a collision first and close our connection while its own is still
    // being opened: that connection is then the session, not a candidate behind an idle one.
    if (isMain && next.state === 'Idle' && this.candidate !== undefined) {
      const c = this.candidate;
      if (c.conn === undefined) {
        this.dropCandidate();
      } else {
        this.deps.logger.debug({ direction: c.direction, state: c.fsm.state }, 'the other connection carries on as the session');
        this.promote(c);
      }
    }
  }

  private perform(inst: Instance, a: Action): void {
    switch (a.type) {
      case 'connect':
        this.connectOut(inst);
        break;
      case 'send':
        if (inst.conn !== undefined) {
          (this.stats.sent[a.message.type] as number)++;
          if (a.message.type === MessageType.Notification) bump(this.stats.notificationsSent, `${a.message.code}/${a.message.subcode}`);
        }
        inst.conn?.send(a.message);
        break;
      case 'startTimer':
        inst.timers.start(a.timer, a.seconds, a.jitter);
        break;
      case 'stopTimer':
        inst.timers.stop(a.timer);
        break;
      case 'dropConnection':
        this.abortPending(inst);
        inst.conn?.close();
        inst.conn = undefined;
        break;
      case 'established':
        this.deps.logger.info(
          { holdTime: a.negotiated.holdTime, families: [...a.negotiated.families].map(familyKeyName), direction: inst.direction },
          'session established',
        );
        this.hooks.established(a.negotiated);
        this.pump();
        break;
      case 'deliver':
        if (a.message.type === 2) this.hooks.update(a.message);
        else this.hooks.routeRefresh(a.message);
        break;
      case 'down':
        this.lastDown = a.reason;
        this.history.push({ at: this.deps.clock.now(), reason: a.reason });
        // Enough to see a flapping pattern without growing without bound.
        if (this.history.length > DOWN_HISTORY) this.history.shift();
        this.outbound = undefined;
        if (a.wasEstablished) this.deps.logger.warn({ reason: a.reason.kind }, `session down: ${formatDownReason(a.reason)}`);
        else this.deps.logger.info({ reason: a.reason.kind }, `session not established: ${formatDownReason(a.reason)}`);
        this.hooks.down(a.reason, a.wasEstablished);
        break;
    }
  }

  private connectOut(inst: Instance): void {
    this.abortPending(inst);
    this.watchPending(inst, this.connectSocket(this.endpoint));
  }

  private watchPending(inst: Instance, socket: Socket): void {
    inst.pending = socket;
    socket.once('connect', () => {
      if (inst.pending !== socket) return;
      inst.pending = undefined;
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      // A candidate attempt that connects after the session is up would only look like a restart.
      const late = inst === this.candidate && this.main.fsm.state === 'Established';
      if (late || (inst.fsm.state !== 'Connect' && inst.fsm.state !== 'Active')) {
        socket.destroy();
        if (late) this.dropCandidate();
        return;
      }
      this.attach(inst, socket, 'out');
      this.dispatch(inst, { type: 'TcpCrAcked' });
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (inst.pending !== socket) return;
      inst.pending = undefined;
      socket.destroy();
      // A candidate attempt that fails just goes: the session is the main one's.
      if (inst === this.candidate) this.dropCandidate();
      else if (inst === this.main) this.dispatch(inst, { type: 'TcpConnectionFails', error: e.code ?? e.message });
    });
  }
}
