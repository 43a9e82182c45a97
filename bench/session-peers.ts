/**
 * The peer side of the session-scale bench: N minimal raw BGP speakers in one process of their
 * own, so that their CPU is not charged to kbgp. Forked by `sessions.bench.ts`; driven over IPC.
 *
 * Each speaker owns one loopback address (all of 127.0.0.0/8 is on `lo` on Linux, nothing is added
 * to any interface). It either connects from that address to kbgp (kbgp passive) or listens on it
 * (kbgp active); either way it sends its OPEN as soon as the TCP connection is up, answers kbgp's
 * OPEN with a KEEPALIVE, and from Established on sends a KEEPALIVE every negotiated hold time / 3
 * (RFC 4271 §4.4, no jitter). It never reconnects and never sends an UPDATE: it only counts what it
 * receives. All timers are unref'd; the IPC channel is what keeps the process alive, and the
 * process exits on `stop`, on a closed channel, or after its own deadline.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { type BgpMessage, Framer, KEEPALIVE, MessageType, decodeMessage, encodeMessage } from '../src/bgp/index.js';
import { buildOpen } from '../src/fsm/negotiate.js';

export interface PeerCounters {
  /** TCP connections up (connected out or accepted). */
  readonly connected: number;
  /** Sessions that reached Established, ever. */
  readonly established: number;
  /** Sessions Established right now. */
  readonly up: number;
  readonly keepalivesSent: number;
  readonly keepalivesReceived: number;
  readonly updatesReceived: number;
  readonly notificationsReceived: number;
  /** Connections that failed to open or were closed by the other side. */
  readonly failures: number;
  /** The last failure, for the report. */
  readonly lastFailure?: string;
  /** Milliseconds from the start command to the last session reaching Established (peer's view). */
  readonly lastEstablishedMs?: number;
}

export type PeersCommand =
  | {
      readonly type: 'start';
      readonly mode: 'connect' | 'listen';
      /** kbgp's address and port (connect mode) or the port to listen on (listen mode). */
      readonly host: string;
      readonly port: number;
      readonly addresses: readonly string[];
      readonly asn: number;
      readonly holdTime: number;
    }
  | { readonly type: 'sample' }
  | { readonly type: 'stop' };

export type PeersReport =
  | { readonly type: 'ready' }
  /** Every listener bound (listen mode) or every connect issued (connect mode). */
  | { readonly type: 'started' }
  | { readonly type: 'sample'; readonly counters: PeerCounters }
  | { readonly type: 'error'; readonly message: string };

/** The process never outlives this, whatever the parent does. */
const SELF_DEADLINE_MS = Number(process.env['KBGP_BENCH_PEERS_DEADLINE_MS'] ?? 600_000);

interface Counters {
  connected: number;
  established: number;
  up: number;
  keepalivesSent: number;
  keepalivesReceived: number;
  updatesReceived: number;
  notificationsReceived: number;
  failures: number;
  lastFailure?: string;
  lastEstablishedMs?: number;
}

const counters: Counters = {
  connected: 0,
  established: 0,
  up: 0,
  keepalivesSent: 0,
  keepalivesReceived: 0,
  updatesReceived: 0,
  notificationsReceived: 0,
  failures: 0,
};
const sockets = new Set<Socket>();
const servers: Server[] = [];
const KEEPALIVE_BYTES = encodeMessage(KEEPALIVE);
let startedAt = 0;
let stopping = false;

function report(m: PeersReport): void {
  process.send?.(m);
}

function fail(why: string): void {
  counters.failures++;
  counters.lastFailure = why;
}

/** One speaker on one connection: OpenSent → OpenConfirm → Established, nothing more. */
function speak(socket: Socket, address: string, asn: number, holdTime: number): void {
  sockets.add(socket);
  counters.connected++;
  socket.setNoDelay(true);
  const framer = new Framer(65535);
  let state: 'OpenSent' | 'OpenConfirm' | 'Established' = 'OpenSent';
  let keepaliveTimer: NodeJS.Timeout | undefined;
  let closed = false;
  socket.write(encodeMessage(buildOpen(asn, address, holdTime, { families: [{ afi: 1, safi: 1 }] })));

  const close = (why: string): void => {
    if (closed) return;
    closed = true;
    if (keepaliveTimer !== undefined) clearInterval(keepaliveTimer);
    if (state === 'Established') counters.up--;
    sockets.delete(socket);
    socket.destroy();
    if (!stopping) fail(`${address}: ${why}`);
  };
  socket.on('error', (e: NodeJS.ErrnoException) => close(e.code ?? e.message));
  socket.on('close', () => close('closed by kbgp'));
  socket.on('data', (chunk: Buffer) => {
    let messages: Buffer[];
    try {
      messages = framer.push(chunk);
    } catch (e) {
      close(`framing: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const raw of messages) {
      let m: BgpMessage;
      try {
        m = decodeMessage(raw);
      } catch (e) {
        close(`decoding: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      switch (m.type) {
        case MessageType.Open: {
          // RFC 4271 §4.2: the smaller hold time of the two OPENs; KEEPALIVEs every third of it.
          const negotiated = Math.min(holdTime, m.holdTime);
          socket.write(KEEPALIVE_BYTES);
          counters.keepalivesSent++;
          state = 'OpenConfirm';
          if (negotiated > 0) {
            keepaliveTimer = setInterval(() => {
              if (state !== 'Established') return;
              socket.write(KEEPALIVE_BYTES);
              counters.keepalivesSent++;
            }, (1000 * negotiated) / 3);
            keepaliveTimer.unref();
          }
          break;
        }
        case MessageType.Keepalive:
          counters.keepalivesReceived++;
          if (state === 'OpenConfirm') {
            state = 'Established';
            counters.established++;
            counters.up++;
            counters.lastEstablishedMs = performance.now() - startedAt;
          }
          break;
        case MessageType.Update:
          counters.updatesReceived++;
          break;
        case MessageType.Notification:
          counters.notificationsReceived++;
          close(`NOTIFICATION ${m.code}/${m.subcode}`);
          return;
        case MessageType.RouteRefresh:
          break;
      }
    }
  });
}

function start(c: Extract<PeersCommand, { type: 'start' }>): void {
  startedAt = performance.now();
  if (c.mode === 'connect') {
    for (const address of c.addresses) {
      const socket = connect({ host: c.host, port: c.port, localAddress: address });
      socket.once('connect', () => speak(socket, address, c.asn, c.holdTime));
      socket.once('error', (e: NodeJS.ErrnoException) => {
        if (socket.connecting) fail(`${address}: connect ${e.code ?? e.message}`);
      });
    }
    report({ type: 'started' });
    return;
  }
  let bound = 0;
  for (const address of c.addresses) {
    const server = createServer((socket) => speak(socket, address, c.asn, c.holdTime));
    servers.push(server);
    server.on('error', (e) => report({ type: 'error', message: `listen ${address}:${c.port}: ${e.message}` }));
    server.listen({ host: address, port: c.port }, () => {
      if (++bound === c.addresses.length) report({ type: 'started' });
    });
  }
}

function stop(): void {
  stopping = true;
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers) s.close();
  process.disconnect?.();
  // Anything still holding the loop open is not worth waiting for.
  setTimeout(() => process.exit(0), 500).unref();
}

process.on('message', (raw: unknown) => {
  const c = raw as PeersCommand; // our own parent, over our own channel
  switch (c.type) {
    case 'start':
      start(c);
      break;
    case 'sample':
      report({ type: 'sample', counters: { ...counters } });
      break;
    case 'stop':
      stop();
      break;
  }
});
process.on('disconnect', () => {
  if (!stopping) stop();
});
setTimeout(() => {
  console.error(`session-peers: own deadline of ${SELF_DEADLINE_MS} ms reached; exiting`);
  process.exit(2);
}, SELF_DEADLINE_MS).unref();
report({ type: 'ready' });
