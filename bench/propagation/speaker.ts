/**
 * The injector and the monitors of the propagation bench: raw BGP speakers in a process of their
 * own (forked by `propagation.bench.ts`, driven over IPC), so that their CPU is charged to neither
 * the harness nor the DUT. One process plays the injector, another all M monitors; the code is the
 * same, only the commands differ.
 *
 * Each session sends its OPEN when TCP is up, answers the peer's OPEN with a KEEPALIVE, and from then
 * on sends a KEEPALIVE every negotiated hold time / 3 (RFC 4271 §4.4) from a timer. Every session
 * counts what it receives in a PrefixTable (UPDATE bytes scanned in place, no decoding), and records
 * the longest silence from its peer. It never enforces the hold timer itself: a DUT that is slow to
 * send is measured, not dropped (the longest silence is reported instead).
 *
 * Times are `process.hrtime` (CLOCK_MONOTONIC, the same clock in every process on the machine), in
 * milliseconds, so the harness can subtract the injector's first write from a monitor's last count.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import {
  Afi,
  AsPathSegmentType,
  Framer,
  KEEPALIVE,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Origin,
  Safi,
  decodeMessage,
  encodeMessage,
  packAnnouncements,
  packWithdrawals,
} from '../../src/bgp/index.js';
import { buildOpen } from '../../src/fsm/negotiate.js';
import { PrefixTable, generatedPrefixes } from './prefix-table.js';

export interface SessionSpec {
  /** The speaker's own address (127.0.8.x), also its BGP identifier. */
  readonly local: string;
  readonly asn: number;
}

export type SpeakerCommand =
  /** Injector: encode the N announcements and N withdrawals now, before any clock starts. */
  | { readonly type: 'prepare'; readonly n: number; readonly asn: number; readonly nextHop: string; readonly mpReach: boolean }
  /** Connect out to `host:port`, one session per spec; retry refused or dropped attempts until Established or `deadlineMs`. */
  | { readonly type: 'connect'; readonly host: string; readonly port: number; readonly sessions: readonly SessionSpec[]; readonly holdTime: number; readonly n: number; readonly deadlineMs: number }
  /** Accept `expect` sessions on `address:port` (the injector, when there is no DUT). */
  | { readonly type: 'listen'; readonly address: string; readonly port: number; readonly speaker: SessionSpec; readonly expect: number; readonly holdTime: number; readonly n: number }
  /** Report `reached` once every session holds all N prefixes ('all') or none ('none'). */
  | { readonly type: 'watch'; readonly goal: 'all' | 'none' }
  /** Injector: write the prepared UPDATEs to every Established session. */
  | { readonly type: 'send'; readonly what: 'announce' | 'withdraw' }
  | { readonly type: 'sample' }
  | { readonly type: 'stop' };

export interface SessionSample {
  readonly local: string;
  readonly state: string;
  readonly held: number;
  readonly announced: number;
  readonly withdrawn: number;
  readonly foreign: number;
  readonly updates: number;
  readonly octetsIn: number;
  /** The longest time between two messages from the peer while Established. */
  readonly maxSilenceMs: number;
  readonly holdTime: number;
  readonly failure?: string;
}

export interface Encoded {
  readonly messages: number;
  readonly octets: number;
}

export type SpeakerReport =
  | { readonly type: 'ready' }
  | { readonly type: 'prepared'; readonly announce: Encoded; readonly withdraw: Encoded; readonly ms: number }
  | { readonly type: 'listening' }
  /** Every session Established; `at` is when the last one got there. */
  | { readonly type: 'established'; readonly at: number }
  | { readonly type: 'watching' }
  | { readonly type: 'reached'; readonly goal: 'all' | 'none'; readonly at: number }
  /** `firstAt`: just before the first UPDATE was written; `flushedAt`: the last one handed to the kernel. */
  | { readonly type: 'sent'; readonly what: 'announce' | 'withdraw'; readonly firstAt: number; readonly flushedAt: number }
  | { readonly type: 'sample'; readonly sessions: readonly SessionSample[] }
  | { readonly type: 'error'; readonly message: string };

/** The process never outlives this, whatever the parent does. */
const SELF_DEADLINE_MS = Number(process.env['KBGP_BENCH_SPEAKER_DEADLINE_MS'] ?? 1_800_000);
/** Between connection attempts to a DUT that is not accepting yet. */
const RETRY_MS = 250;
const KEEPALIVE_BYTES = encodeMessage(KEEPALIVE);
/** No Extended Message capability is offered, so every UPDATE is at most 4096 octets (RFC 4271 §4). */
const CONTEXT = { fourOctetAs: true, maxMessageLength: MAX_MESSAGE_LENGTH };

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const report = (m: SpeakerReport): void => void process.send?.(m);

interface SessionEvents {
  established(s: Session): void;
  /** After a chunk of input has been applied to the table. */
  received(s: Session): void;
  /** Closed before reaching Established: the caller may try again. */
  failedEarly(s: Session, why: string): void;
}

class Session {
  state: 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed' = 'OpenSent';
  readonly table: PrefixTable;
  holdTime = 0;
  updates = 0;
  octetsIn = 0;
  maxSilenceMs = 0;
  failure: string | undefined;
  private lastRx = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private readonly framer = new Framer(65535);

  constructor(
    readonly socket: Socket,
    readonly spec: SessionSpec,
    proposedHoldTime: number,
    n: number,
    private readonly events: SessionEvents,
  ) {
    this.table = new PrefixTable(n);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => this.close(e.code ?? e.message));
    socket.on('close', () => this.close('connection closed by the peer'));
    socket.write(encodeMessage(buildOpen(spec.asn, spec.local, proposedHoldTime, { families: [{ afi: Afi.Ipv4, safi: Safi.Unicast }] })));
    this.holdTime = proposedHoldTime;
  }

  private receive(chunk: Buffer): void {
    this.octetsIn += chunk.length;
    const t = now();
    if (this.state === 'Established' && t - this.lastRx > this.maxSilenceMs) this.maxSilenceMs = t - this.lastRx;
    this.lastRx = t;
    try {
      for (const msg of this.framer.push(chunk)) this.message(msg);
    } catch (e) {
      this.close(`bad input: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.events.received(this);
  }

  private message(msg: Buffer): void {
    switch (msg[18]) {
      case MessageType.Update:
        this.updates++;
        this.table.scanUpdate(msg);
        return;
      case MessageType.Keepalive:
        if (this.state === 'OpenConfirm') {
          this.state = 'Established';
          this.lastRx = now();
          this.events.established(this);
        }
        return;
      case MessageType.Open: {
        const open = decodeMessage(msg);
        if (open.type !== MessageType.Open) return;
        // RFC 4271 §4.2: the smaller hold time of the two OPENs; KEEPALIVEs every third of it.
        this.holdTime = Math.min(this.holdTime, open.holdTime);
        this.socket.write(KEEPALIVE_BYTES);
        this.state = 'OpenConfirm';
        if (this.holdTime > 0) {
          this.keepaliveTimer = setInterval(() => this.socket.write(KEEPALIVE_BYTES), (1000 * this.holdTime) / 3);
          this.keepaliveTimer.unref();
        }
        return;
      }
      case MessageType.Notification: {
        const m = decodeMessage(msg);
        this.close(m.type === MessageType.Notification ? `NOTIFICATION ${m.code}/${m.subcode}${m.data.length > 0 ? ` data ${m.data.toString('hex')}` : ''}` : 'NOTIFICATION');
        return;
      }
      default:
        return;
    }
  }

  close(why: string): void {
    if (this.state === 'Closed') return;
    const wasEstablished = this.state === 'Established';
    this.state = 'Closed';
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    this.socket.destroy();
    if (stopping) return;
    if (wasEstablished) this.failure = why;
    else this.events.failedEarly(this, why);
  }

  sample(): SessionSample {
    const t = this.table;
    return {
      local: this.spec.local,
      state: this.state,
      held: t.held,
      announced: t.announced,
      withdrawn: t.withdrawn,
      foreign: t.foreign,
      updates: this.updates,
      octetsIn: this.octetsIn,
      maxSilenceMs: Math.max(this.maxSilenceMs, this.state === 'Established' ? now() - this.lastRx : 0),
      holdTime: this.holdTime,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The process: its sessions, what it waits for, what it sends

/** One entry per configured session; `current` is the connection in use. */
const sessions: { spec: SessionSpec; current?: Session; lastFailure?: string }[] = [];
let expected = 0;
let established = 0;
let stopping = false;
let server: Server | undefined;
let prepared: { announce: Buffer[]; withdraw: Buffer[] } | undefined;
let watch: { goal: number; name: 'all' | 'none'; pending: Set<Session>; lastAt: number } | undefined;
let tableSize = 0;

function live(): Session[] {
  return sessions.flatMap((s) => (s.current === undefined ? [] : [s.current]));
}

function checkWatch(s: Session): void {
  const w = watch;
  if (w === undefined || !w.pending.has(s) || s.table.held !== w.goal) return;
  w.pending.delete(s);
  w.lastAt = now();
  if (w.pending.size > 0) return;
  watch = undefined;
  report({ type: 'reached', goal: w.name, at: w.lastAt });
}

function eventsFor(entry: (typeof sessions)[number], retry: (() => void) | undefined): SessionEvents {
  return {
    established: () => {
      if (++established === expected) report({ type: 'established', at: now() });
    },
    received: checkWatch,
    failedEarly: (_s, why) => {
      entry.lastFailure = why;
      delete entry.current;
      retry?.();
    },
  };
}

function dial(c: Extract<SpeakerCommand, { type: 'connect' }>, entry: (typeof sessions)[number], until: number): void {
  const retry = (): void => {
    if (!stopping && performance.now() + RETRY_MS < until) setTimeout(() => dial(c, entry, until), RETRY_MS).unref();
    else if (!stopping) report({ type: 'error', message: `${entry.spec.local} → ${c.host}:${c.port}: not Established before the deadline (last: ${entry.lastFailure ?? 'none'})` });
  };
  const socket = connect({ host: c.host, port: c.port, localAddress: entry.spec.local });
  socket.once('connect', () => {
    entry.current = new Session(socket, entry.spec, c.holdTime, c.n, eventsFor(entry, retry));
  });
  socket.once('error', (e: NodeJS.ErrnoException) => {
    if (!socket.connecting) return;
    entry.lastFailure = `connect: ${e.code ?? e.message}`;
    socket.destroy();
    retry();
  });
}

function prepare(c: Extract<SpeakerCommand, { type: 'prepare' }>): void {
  const t = performance.now();
  const prefixes = generatedPrefixes(c.n);
  const attributes = {
    origin: Origin.Igp,
    asPath: [{ type: AsPathSegmentType.AsSequence, asns: [c.asn] }],
    ...(c.mpReach ? {} : { nextHop: c.nextHop }),
  };
  const announce = packAnnouncements(Afi.Ipv4, Safi.Unicast, attributes, prefixes, CONTEXT, c.mpReach ? { nextHop: c.nextHop } : undefined);
  const withdraw = packWithdrawals(Afi.Ipv4, Safi.Unicast, prefixes, CONTEXT);
  prepared = { announce, withdraw };
  const size = (b: Buffer[]): Encoded => ({ messages: b.length, octets: b.reduce((a, m) => a + m.length, 0) });
  report({ type: 'prepared', announce: size(announce), withdraw: size(withdraw), ms: performance.now() - t });
}

function send(what: 'announce' | 'withdraw'): void {
  const messages = prepared?.[what];
  const targets = live().filter((s) => s.state === 'Established');
  if (messages === undefined || messages.length === 0 || targets.length === 0) {
    report({ type: 'error', message: `nothing to send (${messages === undefined ? 'not prepared' : `${targets.length} sessions Established`})` });
    return;
  }
  let unflushed = targets.length;
  const firstAt = now();
  for (const s of targets) {
    // Everything is queued at once; Node hands it to the kernel as fast as the peer reads, and a
    // KEEPALIVE due meanwhile simply follows it on the stream.
    s.socket.cork();
    for (let i = 0; i < messages.length - 1; i++) s.socket.write(messages[i] as Buffer);
    s.socket.write(messages[messages.length - 1] as Buffer, () => {
      if (--unflushed === 0) report({ type: 'sent', what, firstAt, flushedAt: now() });
    });
    s.socket.uncork();
  }
}

function stop(): void {
  stopping = true;
  for (const s of live()) s.close('stopping');
  server?.close();
  process.disconnect?.();
  // Anything still holding the loop open is not worth waiting for.
  setTimeout(() => process.exit(0), 300).unref();
}

function handle(c: SpeakerCommand): void {
  switch (c.type) {
    case 'prepare':
      prepare(c);
      return;
    case 'connect': {
      const until = performance.now() + c.deadlineMs;
      expected = c.sessions.length;
      tableSize = c.n;
      for (const spec of c.sessions) {
        const entry = { spec };
        sessions.push(entry);
        dial(c, entry, until);
      }
      return;
    }
    case 'listen': {
      expected = c.expect;
      tableSize = c.n;
      const srv = createServer((socket) => {
        const entry: (typeof sessions)[number] = { spec: c.speaker };
        sessions.push(entry);
        entry.current = new Session(socket, c.speaker, c.holdTime, c.n, eventsFor(entry, undefined));
      });
      server = srv;
      srv.on('error', (e) => report({ type: 'error', message: `listen ${c.address}:${c.port}: ${e.message}` }));
      srv.listen({ host: c.address, port: c.port }, () => report({ type: 'listening' }));
      return;
    }
    case 'watch': {
      const goal = c.goal === 'all' ? tableSize : 0;
      watch = { goal, name: c.goal, pending: new Set(live()), lastAt: now() };
      report({ type: 'watching' });
      for (const s of live()) checkWatch(s);
      return;
    }
    case 'send':
      send(c.what);
      return;
    case 'sample':
      report({ type: 'sample', sessions: live().map((s) => s.sample()) });
      return;
    case 'stop':
      stop();
      return;
  }
}

process.on('message', (raw: unknown) => {
  const c = raw as SpeakerCommand; // our own parent, over our own channel
  try {
    handle(c);
  } catch (e) {
    report({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
process.on('disconnect', () => {
  if (!stopping) stop();
});
setTimeout(() => {
  console.error(`propagation speaker: own deadline of ${SELF_DEADLINE_MS} ms reached; exiting`);
  process.exit(2);
}, SELF_DEADLINE_MS).unref();
report({ type: 'ready' });
