/**
 * The router side of the services bench: one raw BGP speaker in a process of its own (forked by
 * services.bench.ts, driven over IPC), so that its CPU and its receive timestamps belong to neither
 * the harness (which runs the API server) nor kbgp.
 *
 * It connects from its own loopback address to kbgp (kbgp is passive), sends an OPEN for IPv4
 * unicast only (no graceful restart, no ADD-PATH, no extended messages: kbgp then waits for nothing
 * from it and sends plain 4096-octet UPDATEs), answers kbgp's OPEN with a KEEPALIVE and sends a
 * KEEPALIVE every hold time / 3 (RFC 4271 §4.4). It never enforces the hold timer: a kbgp that is
 * slow to talk is measured, and the longest silence is reported instead.
 *
 * What it tracks: the /32s of the expected ranges (the load-balancer IPs 10.200.0.1.., and the
 * cluster IPs with --cluster-ips), one bit each by index, set by an announcement and cleared by a
 * withdrawal, in the IPv4 NLRI/Withdrawn Routes fields or MP_REACH/MP_UNREACH. Every UPDATE is decoded
 * in full (a few thousand a second at most here). Each change of a bit can be logged with the
 * time its TCP chunk was read (monoMs), for the harness to match against its API writes.
 */
import { type Socket, connect } from 'node:net';
import { Afi, type BgpMessage, Framer, KEEPALIVE, MessageType, type Prefix, type UpdateMessage, decodeMessage, encodeMessage, errorName } from '../../src/bgp/index.js';
import { buildOpen } from '../../src/fsm/negotiate.js';
import { monoMs } from './clock.js';

/** A block of consecutive /32s the harness expects: `first` (a 32-bit address) and `count`. */
export interface ExpectedRange {
  readonly first: number;
  readonly count: number;
}

/** One change of a tracked /32 as the peer saw it: the index across all ranges, announced or not, when. */
export interface PeerEvent {
  readonly index: number;
  readonly announced: boolean;
  readonly at: number;
}

export interface PeerSample {
  readonly state: 'Idle' | 'Connecting' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';
  /** Tracked /32s announced now. */
  readonly held: number;
  readonly updates: number;
  readonly announcements: number;
  readonly withdrawals: number;
  /** Announcements of a tracked /32 already held (no change; attribute changes would show here). */
  readonly duplicates: number;
  /** Prefixes outside the tracked /32s (the service ranges kbgp originates, anything else). */
  readonly other: readonly string[];
  /** monoMs of the last change of a tracked bit, and of the End-of-RIB. */
  readonly lastChangeAt?: number;
  readonly endOfRibAt?: number;
  /** The longest time between two messages from kbgp while Established. */
  readonly maxSilenceMs: number;
  readonly failure?: string;
}

export type PeerCommand =
  | {
      readonly type: 'connect';
      readonly host: string;
      readonly port: number;
      readonly local: string;
      readonly asn: number;
      readonly holdTime: number;
      readonly ranges: readonly ExpectedRange[];
      /** Absolute monoMs: connection attempts stop here. */
      readonly until: number;
    }
  /** Report `reached` once `held` is `goal` (at once if it is already). */
  | { readonly type: 'watch'; readonly goal: number }
  /** Start (true) or stop logging bit changes; starting clears the log. */
  | { readonly type: 'log'; readonly on: boolean }
  /** The log from entry `from` on. */
  | { readonly type: 'take-log'; readonly from: number }
  | { readonly type: 'sample' }
  | { readonly type: 'stop' };

export type PeerReport =
  | { readonly type: 'ready' }
  | { readonly type: 'established'; readonly at: number }
  | { readonly type: 'reached'; readonly at: number; readonly held: number }
  | { readonly type: 'log'; readonly events: readonly PeerEvent[]; readonly total: number }
  | { readonly type: 'sample'; readonly sample: PeerSample }
  | { readonly type: 'error'; readonly message: string };

/** The process never outlives this, whatever the parent does. */
const SELF_DEADLINE_MS = Number(process.env['KBGP_BENCH_PEER_DEADLINE_MS'] ?? 900_000);
const RETRY_MS = 100;

function report(r: PeerReport): void {
  process.send?.(r);
}

class TrackedPeer {
  state: PeerSample['state'] = 'Idle';
  private socket: Socket | undefined;
  private readonly framer = new Framer(65535);
  private ranges: readonly ExpectedRange[] = [];
  private bits = new Uint8Array(0);
  private held = 0;
  private updates = 0;
  private announcements = 0;
  private withdrawals = 0;
  private duplicates = 0;
  private readonly other = new Set<string>();
  private lastChangeAt: number | undefined;
  private endOfRibAt: number | undefined;
  private lastMessageAt = 0;
  private maxSilenceMs = 0;
  private failure: string | undefined;
  private goal: number | undefined;
  private logging = false;
  private readonly events: PeerEvent[] = [];
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  start(c: Extract<PeerCommand, { type: 'connect' }>): void {
    this.ranges = c.ranges;
    this.bits = new Uint8Array(c.ranges.reduce((a, r) => a + r.count, 0));
    this.attempt(c);
  }

  /** Connects; a refused or dropped attempt before Established is retried until `c.until`. */
  private attempt(c: Extract<PeerCommand, { type: 'connect' }>): void {
    this.state = 'Connecting';
    const s = connect({ host: c.host, port: c.port, localAddress: c.local });
    this.socket = s;
    s.setNoDelay(true);
    let ended = false;
    // 'error' is followed by 'close': one retry per attempt.
    const retry = (why: string): void => {
      if (ended || this.stopping) return;
      ended = true;
      if (this.state === 'Established') {
        this.fail(`session lost: ${why}`);
        return;
      }
      s.destroy();
      if (monoMs() + RETRY_MS > c.until) {
        this.fail(`no session with ${c.host}:${c.port} before the deadline (${why})`);
        return;
      }
      setTimeout(() => this.attempt(c), RETRY_MS).unref();
    };
    s.on('error', (e: NodeJS.ErrnoException) => retry(e.code ?? e.message));
    s.on('close', () => retry('closed by kbgp'));
    s.once('connect', () => {
      this.state = 'OpenSent';
      s.write(encodeMessage(buildOpen(c.asn, c.local, c.holdTime, { families: [{ afi: Afi.Ipv4, safi: 1 }] })));
    });
    s.on('data', (chunk: Buffer) => this.data(chunk, c.holdTime));
  }

  private fail(why: string): void {
    this.state = 'Closed';
    this.failure ??= why;
    clearInterval(this.keepaliveTimer);
    this.socket?.destroy();
  }

  private data(chunk: Buffer, holdTime: number): void {
    const at = monoMs();
    if (this.state === 'Established') this.maxSilenceMs = Math.max(this.maxSilenceMs, at - this.lastMessageAt);
    this.lastMessageAt = at;
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      this.fail(`framing: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const raw of messages) {
      let m: BgpMessage;
      try {
        m = decodeMessage(raw, { fourOctetAs: true, maxMessageLength: 65535 });
      } catch (e) {
        this.fail(`decoding: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      switch (m.type) {
        case MessageType.Open: {
          // RFC 4271 §4.2: the smaller hold time of the two; a KEEPALIVE every third of it.
          const negotiated = Math.min(holdTime, m.holdTime);
          this.socket?.write(encodeMessage(KEEPALIVE));
          this.state = 'OpenConfirm';
          if (negotiated > 0) {
            this.keepaliveTimer = setInterval(() => this.socket?.write(encodeMessage(KEEPALIVE)), (negotiated * 1000) / 3);
            this.keepaliveTimer.unref();
          }
          break;
        }
        case MessageType.Keepalive:
          if (this.state === 'OpenConfirm') {
            this.state = 'Established';
            report({ type: 'established', at });
          }
          break;
        case MessageType.Update:
          this.update(m, at);
          break;
        case MessageType.Notification:
          this.fail(`NOTIFICATION ${errorName(m.code, m.subcode)} (${m.code}/${m.subcode}) from kbgp`);
          return;
        default:
          break;
      }
    }
    this.checkGoal(at);
  }

  private update(u: UpdateMessage, at: number): void {
    this.updates++;
    if (u.endOfRib !== undefined) {
      this.endOfRibAt ??= at;
      return;
    }
    for (const p of u.withdrawnRoutes) this.change(p, false, at);
    if (u.mpUnreach?.afi === Afi.Ipv4) for (const p of u.mpUnreach.withdrawnRoutes) this.change(p, false, at);
    // RFC 7606 treat-as-withdraw: the routes it carries are gone, as a router would take it.
    const announced = u.treatAsWithdraw === undefined || u.treatAsWithdraw.length === 0;
    for (const p of u.nlri) this.change(p, announced, at);
    if (u.mpReach?.afi === Afi.Ipv4) for (const p of u.mpReach.nlri) this.change(p, announced, at);
  }

  private indexOf(p: Prefix): number {
    if (p.afi !== Afi.Ipv4 || p.length !== 32) return -1;
    let base = 0;
    for (const r of this.ranges) {
      const i = p.address - r.first;
      if (i >= 0 && i < r.count) return base + i;
      base += r.count;
    }
    return -1;
  }

  private change(p: Prefix, announced: boolean, at: number): void {
    const i = this.indexOf(p);
    if (i < 0) {
      if (this.other.size < 100) this.other.add(`${announced ? '+' : '-'}${p.afi === Afi.Ipv4 ? `${p.address >>> 24}.${(p.address >>> 16) & 0xff}.${(p.address >>> 8) & 0xff}.${p.address & 0xff}` : 'ipv6'}/${p.length}`);
      return;
    }
    if (announced) this.announcements++;
    else this.withdrawals++;
    const was = this.bits[i] === 1;
    if (was === announced) {
      if (announced) this.duplicates++;
      return;
    }
    this.bits[i] = announced ? 1 : 0;
    this.held += announced ? 1 : -1;
    this.lastChangeAt = at;
    if (this.logging) this.events.push({ index: i, announced, at });
  }

  watch(goal: number): void {
    this.goal = goal;
    this.checkGoal(monoMs());
  }

  private checkGoal(at: number): void {
    if (this.goal === undefined || this.held !== this.goal) return;
    this.goal = undefined;
    report({ type: 'reached', at: this.lastChangeAt ?? at, held: this.held });
  }

  log(on: boolean): void {
    if (on) this.events.length = 0;
    this.logging = on;
  }

  takeLog(from: number): void {
    report({ type: 'log', events: this.events.slice(from), total: this.events.length });
  }

  sample(): PeerSample {
    return {
      state: this.state,
      held: this.held,
      updates: this.updates,
      announcements: this.announcements,
      withdrawals: this.withdrawals,
      duplicates: this.duplicates,
      other: [...this.other],
      maxSilenceMs: this.maxSilenceMs,
      ...(this.lastChangeAt === undefined ? {} : { lastChangeAt: this.lastChangeAt }),
      ...(this.endOfRibAt === undefined ? {} : { endOfRibAt: this.endOfRibAt }),
      ...(this.failure === undefined ? {} : { failure: this.failure }),
    };
  }

  stop(): void {
    this.stopping = true;
    clearInterval(this.keepaliveTimer);
    this.socket?.destroy();
  }
}

const peer = new TrackedPeer();

function exit(): void {
  peer.stop();
  process.exit(0);
}

process.on('message', (raw: unknown) => {
  const c = raw as PeerCommand; // our own parent, over our own channel
  try {
    switch (c.type) {
      case 'connect':
        peer.start(c);
        break;
      case 'watch':
        peer.watch(c.goal);
        break;
      case 'log':
        peer.log(c.on);
        break;
      case 'take-log':
        peer.takeLog(c.from);
        break;
      case 'sample':
        report({ type: 'sample', sample: peer.sample() });
        break;
      case 'stop':
        exit();
        break;
    }
  } catch (e) {
    report({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
process.on('disconnect', exit);
setTimeout(exit, SELF_DEADLINE_MS).unref();
report({ type: 'ready' });
