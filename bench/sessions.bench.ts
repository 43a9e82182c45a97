/**
 * Session scale: N peers on loopback aliases reach Established against one kbgp; prints the time
 * to establish them all, kbgp's RSS and heap, and the CPU that idle KEEPALIVEs cost per minute.
 *
 * Three processes, so that each figure belongs to kbgp alone:
 *   - this one, which only orchestrates and prints;
 *   - kbgp (this file again, `--kbgp-child`): one Daemon on 127.0.5.1, N configured peers, a
 *     silent logger; it reports `process.cpuUsage()` and `process.memoryUsage()` over IPC;
 *   - the peers (`session-peers.ts`): N raw speakers, each bound to its own 127.0.5.x address.
 * By default kbgp is passive and the peers connect in (`--mode active`: kbgp connects out with
 * connectDelay 0 and the peers listen). One fresh pair of processes per hold time.
 *
 * Time to Established runs from the call to `Daemon.start()` to the last session's state change
 * as `status()` reports it; the peers are told to connect when the listener is bound (one IPC
 * hop later). The idle window starts SETTLE_MS after that and samples kbgp's CPU at both ends.
 * kbgp runs with --expose-gc: the "before" sample (configured, not yet listening) and the window's
 * start sample collect first, so heap per session is what is retained; the window's end does not.
 * `--hold 0` (no KEEPALIVEs at all) measures the floor: Established sessions and no traffic.
 *
 * Prints figures; asserts nothing. Bounded: a global deadline, after which it prints what it has,
 * kills both children by PID and exits 1. Loopback aliases need Linux (127.0.0.0/8 on `lo`).
 *   npm run bench:sessions -- [--peers 200] [--window 30] [--hold 30,9] [--deadline S]
 *                             [--mode passive|active] [--port 11190] [--cpu-prof DIR] [--log-level silent]
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { Daemon } from '../src/daemon.js';
import type { PeerCounters, PeersCommand, PeersReport } from './session-peers.js';
import { Child, DeadlineError, serveKbgpChild } from './propagation/child.js';

const KBGP_CHILD = '--kbgp-child';
const LISTEN_ADDRESS = '127.0.5.1';
const LOCAL_AS = 64512;
const PEER_AS = 65001;
/** After the last Established, before the window opens: the last OPENCONFIRM KEEPALIVEs settle. */
const SETTLE_MS = 2000;
/**
 * How often the kbgp child looks at `status()` while sessions come up. The time reported comes from
 * each session's `since`, so this only sets how soon we notice; each look costs ~1 ms at N=1000.
 */
const POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// IPC between this process and the kbgp child

type KbgpCommand =
  | { readonly type: 'start'; readonly yaml: string; readonly nodeName: string; readonly logLevel: string; readonly deadlineMs: number }
  /** `gc`: collect first (the child runs with --expose-gc), so heap figures are what is retained. */
  | { readonly type: 'sample'; readonly gc: boolean }
  | { readonly type: 'stop' };

interface Cpu {
  readonly user: number;
  readonly system: number;
}

interface KbgpSample {
  /** `process.cpuUsage()` read before and after gathering the rest, microseconds. */
  readonly cpuBefore: Cpu;
  readonly cpuAfter: Cpu;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly established: number;
  /** Summed over every session's current connection, as kbgp counts them. */
  readonly messagesIn: number;
  readonly messagesOut: number;
}

type KbgpReport =
  | { readonly type: 'ready' }
  /** `baseline`: configured, collected, before the listener is bound. */
  | { readonly type: 'listening'; readonly baseline: KbgpSample }
  | { readonly type: 'progress'; readonly elapsedMs: number; readonly states: Record<string, number> }
  | { readonly type: 'established'; readonly firstMs: number; readonly lastMs: number; readonly sample: KbgpSample }
  | { readonly type: 'sample'; readonly sample: KbgpSample }
  | { readonly type: 'error'; readonly message: string };

// ---------------------------------------------------------------------------------------------
// The kbgp child

function runKbgpChild(): void {
  let daemon: Daemon | undefined;
  const send = (r: KbgpReport): void => void process.send?.(r);

  const sample = (gc: boolean): KbgpSample => {
    if (gc) globalThis.gc?.();
    const cpuBefore = process.cpuUsage();
    const status = daemon?.status() ?? [];
    let messagesIn = 0;
    let messagesOut = 0;
    for (const p of status) {
      const c = daemon?.session(p.address)?.counters;
      messagesIn += c?.messagesIn ?? 0;
      messagesOut += c?.messagesOut ?? 0;
    }
    const mem = process.memoryUsage();
    return {
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      established: status.filter((p) => p.state === 'Established').length,
      messagesIn,
      messagesOut,
      cpuBefore,
      cpuAfter: process.cpuUsage(),
    };
  };

  const start = async (c: Extract<KbgpCommand, { type: 'start' }>): Promise<void> => {
    const logger = c.logLevel === 'silent' ? pino({ level: 'silent' }) : pino({ level: c.logLevel }, pino.destination({ dest: '/dev/null', sync: false }));
    const d = new Daemon(loadConfig(c.yaml, c.nodeName), { logger });
    daemon = d;
    const baseline = sample(true);
    const t0 = performance.now();
    await d.start();
    send({ type: 'listening', baseline });
    // Bounded by count: the parent's remaining time divided by the poll interval.
    const polls = Math.ceil(c.deadlineMs / POLL_MS);
    let lastProgress = t0;
    for (let i = 0; i < polls; i++) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const status = d.status();
      const up = status.filter((p) => p.state === 'Established');
      if (up.length === status.length) {
        // `since` is the clock time of the last state change: exact, unlike the poll.
        const sinces = up.map((p) => p.since);
        send({ type: 'established', firstMs: Math.min(...sinces) - t0, lastMs: Math.max(...sinces) - t0, sample: sample(false) });
        return;
      }
      if (performance.now() - lastProgress >= 1000) {
        lastProgress = performance.now();
        const states: Record<string, number> = {};
        for (const p of status) states[p.state] = (states[p.state] ?? 0) + 1;
        send({ type: 'progress', elapsedMs: lastProgress - t0, states });
      }
    }
  };

  const stop = async (): Promise<void> => {
    await daemon?.stop('bench over');
    // A normal exit, so that --cpu-prof writes its profile.
    process.exit(0);
  };

  serveKbgpChild<Extract<KbgpCommand, { type: 'start' }>, ReturnType<typeof sample>>({ start, sample, stop });
}

// ---------------------------------------------------------------------------------------------
// The orchestrator

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  readonly peers: number;
  readonly windowS: number;
  readonly holdTimes: readonly number[];
  readonly deadlineS: number;
  readonly mode: 'passive' | 'active';
  readonly port: number;
  readonly cpuProfDir?: string;
  readonly logLevel: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: '200' },
      window: { type: 'string', default: '30' },
      hold: { type: 'string', default: '30,9' },
      deadline: { type: 'string' },
      mode: { type: 'string', default: 'passive' },
      port: { type: 'string', default: '11190' },
      'cpu-prof': { type: 'string' },
      'log-level': { type: 'string', default: 'silent' },
    },
  });
  const peers = Number(values.peers);
  const windowS = Number(values.window);
  const holdTimes = values.hold.split(',').map(Number);
  const port = Number(values.port);
  if (!Number.isInteger(peers) || peers < 1 || peers > 5000) throw new Error(`--peers ${values.peers}: 1..5000`);
  if (!(windowS > 0 && windowS <= 600)) throw new Error(`--window ${values.window}: seconds, 0..600`);
  // Hold time 0 (no KEEPALIVEs at all) measures the floor: Established sessions, no traffic.
  if (holdTimes.some((h) => !Number.isInteger(h) || (h !== 0 && h < 3) || h > 65535)) throw new Error(`--hold ${values.hold}: seconds, each 0 or 3..65535 (RFC 4271 §4.2)`);
  if (values.mode !== 'passive' && values.mode !== 'active') throw new Error(`--mode ${values.mode}: passive or active`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port ${values.port}: 1..65535`);
  // Enough for every window plus establishment, but never less than two minutes.
  const deadlineS = values.deadline === undefined ? Math.max(120, holdTimes.length * (windowS + 25) + 10) : Number(values.deadline);
  if (!(deadlineS > 0)) throw new Error(`--deadline ${values.deadline}: seconds`);
  return {
    peers,
    windowS,
    holdTimes,
    deadlineS,
    mode: values.mode,
    port,
    logLevel: values['log-level'],
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  };
}

/** 127.0.5.2, 127.0.5.3, ...: the i-th peer's loopback alias (carries into the third octet past .255). */
function peerAddress(i: number): string {
  const n = ((127 << 24) >>> 0) + (5 << 8) + 2 + i;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** The configuration file a test would write (see test/daemon.test.ts), for N peers. */
function configYaml(o: Options, holdTime: number): string {
  const passive = o.mode === 'passive';
  const peers = Array.from({ length: o.peers }, (_, i) => ({ name: `peer-${i}`, address: peerAddress(i) }));
  return [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${LOCAL_AS}, listenPort: ${o.port}}`,
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: bench}\nspec: {bgp: {ipv4Address: ${LISTEN_ADDRESS}/32}}`,
    ...peers.map((p) => `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${p.name}}\nspec: {peerIP: "${p.address}:${o.port}", asNumber: ${PEER_AS}}`),
    `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: bench}\nspec:\n  nodeName: bench\n  listenAddress: ${LISTEN_ADDRESS}\n` +
      // Active: connect at once rather than after Calico's 2 s (jittered) connect delay.
      (passive ? '' : '  timers: {connectDelay: 0s}\n') +
      `  peerSettings: [${peers.map((p) => `{peer: ${p.name}, passive: ${passive}, holdTime: ${holdTime}s}`).join(', ')}]`,
  ].join('\n---\n');
}

interface Row {
  readonly holdTime: number;
  /** Configured and collected, before the listener is bound. */
  readonly baseline?: KbgpSample;
  readonly established?: Extract<KbgpReport, { type: 'established' }>;
  readonly peersLastEstablishedMs?: number;
  readonly windowS?: number;
  /** Window start (collected first) and end. */
  readonly start?: KbgpSample;
  readonly end?: KbgpSample;
  readonly peersStart?: PeerCounters;
  readonly peersEnd?: PeerCounters;
  readonly progress?: Extract<KbgpReport, { type: 'progress' }>;
  readonly error?: string;
}

const cpuUs = (c: Cpu): number => c.user + c.system;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const COLUMNS: readonly [string, number][] = [
  ['hold/ka', 8],
  ['up', 9],
  ['to Established', 15],
  ['CPU to est.', 12],
  ['RSS before', 11],
  ['RSS est.', 10],
  ['heap est.', 10],
  ['heap/session', 13],
  ['window', 7],
  ['CPU in window', 14],
  ['CPU/min', 12],
  ['KA kbgp→peers', 20],
  ['KA peers→kbgp', 20],
];

function line(cells: readonly string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i]?.[1] ?? 0) : c.padStart(COLUMNS[i]?.[1] ?? 0))).join(' ');
}

/** kbgp's KEEPALIVE interval for a hold time both sides offer (negotiate.ts: a third, at least 1 s). */
const keepaliveOf = (holdTime: number): number => (holdTime === 0 ? 0 : Math.max(1, Math.floor(holdTime / 3)));

/** `lo..hi`, or one figure when they agree. */
const range = (lo: number, hi: number): string => (lo === hi ? `${lo}` : `${lo}..${hi}`);

function formatRow(o: Options, r: Row): string {
  const keepalive = keepaliveOf(r.holdTime);
  const est = r.established;
  const cells = [`${r.holdTime}/${keepalive} s`];
  cells.push(`${est?.sample.established ?? r.progress?.states['Established'] ?? '?'}/${o.peers}`);
  cells.push(est === undefined ? 'not all' : `${est.lastMs.toFixed(0)} ms`);
  cells.push(est === undefined || r.baseline === undefined ? '-' : `${((cpuUs(est.sample.cpuBefore) - cpuUs(r.baseline.cpuAfter)) / 1000).toFixed(0)} ms`);
  cells.push(r.baseline === undefined ? '-' : mb(r.baseline.rss));
  cells.push(r.start === undefined ? '-' : mb(r.start.rss));
  cells.push(r.start === undefined ? '-' : mb(r.start.heapUsed));
  cells.push(r.start === undefined || r.baseline === undefined ? '-' : `${((r.start.heapUsed - r.baseline.heapUsed) / 1024 / o.peers).toFixed(1)} KB`);
  if (r.start === undefined || r.end === undefined || r.windowS === undefined || r.peersStart === undefined || r.peersEnd === undefined) {
    return line([...cells, '-', '-', '-', '-', '-']);
  }
  const cpuMs = (cpuUs(r.end.cpuBefore) - cpuUs(r.start.cpuAfter)) / 1000;
  // What a window of W seconds can hold per session: kbgp jitters its KEEPALIVE interval K to
  // 0.75..1 × K (RFC 4271 §10), the peers send every hold/3 exactly.
  const w = r.windowS;
  const peerInterval = r.holdTime / 3;
  const out = r.peersEnd.keepalivesReceived - r.peersStart.keepalivesReceived;
  const inn = r.peersEnd.keepalivesSent - r.peersStart.keepalivesSent;
  cells.push(`${w.toFixed(1)} s`, `${cpuMs.toFixed(0)} ms`, `${((cpuMs / w) * 60).toFixed(0)} ms/min`);
  const expected = (lo: number, hi: number): string => (r.holdTime === 0 ? '0' : range(o.peers * Math.floor(lo), o.peers * Math.ceil(hi)));
  cells.push(`${out} (${expected(w / keepalive, w / (0.75 * keepalive))})`);
  cells.push(`${inn} (${expected(w / peerInterval, w / peerInterval)})`);
  return line(cells);
}

function notes(o: Options, r: Row): string[] {
  const out: string[] = [];
  const tag = `hold ${r.holdTime} s:`;
  if (r.established !== undefined) {
    out.push(
      `${tag} first Established at ${r.established.firstMs.toFixed(0)} ms, last at ${r.established.lastMs.toFixed(0)} ms (kbgp's clock, from Daemon.start())` +
        (r.peersLastEstablishedMs === undefined ? '' : `; the peers saw their last ${r.peersLastEstablishedMs.toFixed(0)} ms after their start command`),
    );
  } else if (r.progress !== undefined) {
    out.push(`${tag} after ${(r.progress.elapsedMs / 1000).toFixed(1)} s kbgp's sessions were ${JSON.stringify(r.progress.states)}`);
  }
  if (r.start !== undefined && r.end !== undefined && r.windowS !== undefined) {
    const user = (r.end.cpuBefore.user - r.start.cpuAfter.user) / 1000;
    const system = (r.end.cpuBefore.system - r.start.cpuAfter.system) / 1000;
    const messages = r.end.messagesOut - r.start.messagesOut + r.end.messagesIn - r.start.messagesIn;
    out.push(
      `${tag} window: user ${user.toFixed(0)} ms + system ${system.toFixed(0)} ms; kbgp counted ${r.end.messagesOut - r.start.messagesOut} messages out, ` +
        `${r.end.messagesIn - r.start.messagesIn} in (${messages > 0 ? (((user + system) * 1000) / messages).toFixed(0) : '-'} µs CPU per message); ` +
        `RSS ${mb(r.start.rss)} → ${mb(r.end.rss)}, heap ${mb(r.start.heapUsed)} → ${mb(r.end.heapUsed)}; ${r.end.established}/${o.peers} still Established`,
    );
  }
  const p = r.peersEnd;
  if (p !== undefined) {
    out.push(
      `${tag} peers: ${p.established} Established, ${p.failures} failures${p.lastFailure === undefined ? '' : ` (last: ${p.lastFailure})`}, ` +
        `${p.notificationsReceived} NOTIFICATIONs, ${p.updatesReceived} UPDATEs received (kbgp originates nothing here: End-of-RIB)`,
    );
  }
  if (r.error !== undefined) out.push(`${tag} stopped: ${r.error}`);
  return out;
}

async function runOne(o: Options, holdTime: number, deadline: number, children: Set<{ kill(): void }>, rows: Row[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const peersFile = fileURLToPath(new URL('./session-peers.js', import.meta.url));
  const execArgv = ['--expose-gc', ...(o.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`, `--cpu-prof-name=kbgp-hold${holdTime}-${process.pid}.cpuprofile`])];
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
  const kbgp = new Child<KbgpCommand, KbgpReport>('kbgp', fork(self, [KBGP_CHILD], { execArgv, stdio: [...stdio] }));
  const peers = new Child<PeersCommand, PeersReport>('peers', fork(peersFile, [], { execArgv: [], stdio: [...stdio], env: { ...process.env, KBGP_BENCH_PEERS_DEADLINE_MS: String(Math.ceil(deadline - performance.now() + 10_000)) } }));
  children.add(kbgp);
  children.add(peers);
  let row: Row = { holdTime };
  const peerStart: PeersCommand = {
    type: 'start',
    mode: o.mode === 'passive' ? 'connect' : 'listen',
    host: LISTEN_ADDRESS,
    port: o.port,
    addresses: Array.from({ length: o.peers }, (_, i) => peerAddress(i)),
    asn: PEER_AS,
    holdTime,
  };
  try {
    await kbgp.next('ready', deadline);
    await peers.next('ready', deadline);
    if (o.mode === 'active') {
      peers.send(peerStart);
      await peers.next('started', deadline);
    }
    kbgp.send({ type: 'start', yaml: configYaml(o, holdTime), nodeName: 'bench', logLevel: o.logLevel, deadlineMs: deadline - performance.now() });
    row = { ...row, baseline: (await kbgp.next('listening', deadline)).baseline };
    if (o.mode === 'passive') peers.send(peerStart);
    const established = await kbgp.next('established', deadline);
    row = { ...row, established };
    await sleep(Math.min(SETTLE_MS, Math.max(0, deadline - performance.now())));
    kbgp.send({ type: 'sample', gc: true });
    peers.send({ type: 'sample' });
    const start = (await kbgp.next('sample', deadline)).sample;
    const peersStart = (await peers.next('sample', deadline)).counters;
    const t0 = performance.now();
    row = { ...row, start, peersStart, ...(peersStart.lastEstablishedMs === undefined ? {} : { peersLastEstablishedMs: peersStart.lastEstablishedMs }) };
    if (t0 + o.windowS * 1000 > deadline) throw new DeadlineError(`no room left for a ${o.windowS} s window`);
    await sleep(o.windowS * 1000);
    kbgp.send({ type: 'sample', gc: false });
    peers.send({ type: 'sample' });
    const end = (await kbgp.next('sample', deadline)).sample;
    const peersEnd = (await peers.next('sample', deadline)).counters;
    row = { ...row, end, peersEnd, windowS: (performance.now() - t0) / 1000 };
  } catch (e) {
    const progress = kbgp.latest.get('progress');
    row = { ...row, error: e instanceof Error ? e.message : String(e), ...(progress?.type === 'progress' ? { progress } : {}) };
    throw e;
  } finally {
    rows.push(row);
    // kbgp first, so the peers see a Cease rather than kbgp seeing 200 lost connections.
    await kbgp.stop({ type: 'stop' }, o.cpuProfDir === undefined ? 3000 : 10_000);
    await peers.stop({ type: 'stop' }, 3000);
    children.delete(kbgp);
    children.delete(peers);
  }
}

async function main(): Promise<void> {
  const o = options();
  const began = performance.now();
  const deadline = began + o.deadlineS * 1000;
  const children = new Set<{ kill(): void }>();
  const killAll = (): void => {
    for (const c of children) c.kill();
  };
  process.on('exit', killAll);
  process.on('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  // Should a child ignore everything, this still ends the run.
  setTimeout(() => {
    console.error('hard deadline: killing children');
    killAll();
    process.exit(1);
  }, o.deadlineS * 1000 + 15_000).unref();

  const cpu = cpus();
  console.log(`kbgp session scale: node ${process.version}, ${process.platform} ${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`);
  console.log(
    `N=${o.peers} peers ${peerAddress(0)}..${peerAddress(o.peers - 1)} ↔ kbgp ${LISTEN_ADDRESS}:${o.port}, ` +
      (o.mode === 'passive' ? 'kbgp passive (the peers connect in)' : 'kbgp active, connectDelay 0 (kbgp connects out)') +
      `; hold times ${o.holdTimes.map((h) => `${h} s (keepalive ${keepaliveOf(h)} s)`).join(', ')}; ` +
      `idle window ${o.windowS} s after ${SETTLE_MS / 1000} s settle; deadline ${o.deadlineS} s; kbgp log level ${o.logLevel}`,
  );
  console.log('kbgp and the peers are separate processes; CPU and memory are kbgp\'s own (process.cpuUsage/memoryUsage), CPU = user + system.');
  console.log('');
  console.log(line(COLUMNS.map(([name]) => name)));

  const rows: Row[] = [];
  let failed = false;
  let timedOut = false;
  for (const h of o.holdTimes) {
    try {
      await runOne(o, h, deadline, children, rows);
    } catch (e) {
      failed = true;
      console.error(`hold ${h} s: ${e instanceof Error ? e.message : String(e)}`);
      // After the deadline there is no time for the next configuration.
      if (e instanceof DeadlineError) timedOut = true;
    }
    const r = rows.at(-1);
    if (r !== undefined) console.log(formatRow(o, r));
    if (timedOut) break;
  }
  console.log('');
  for (const r of rows) for (const n of notes(o, r)) console.log(n);
  if (o.cpuProfDir !== undefined) console.log(`kbgp CPU profiles: ${o.cpuProfDir}/kbgp-hold*-${process.pid}.cpuprofile`);
  console.log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
  killAll();
  if (failed) process.exitCode = 1;
}

if (process.argv[2] === KBGP_CHILD) {
  runKbgpChild();
} else {
  await main();
}
