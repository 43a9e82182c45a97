/**
 * Route propagation through a device under test (DUT), in the style of bgperf: one injector peer
 * sends N IPv4 prefixes through the DUT to M monitor peers, then withdraws them. The DUTs are kbgp,
 * BIRD 2, GoBGP and FRR bgpd, each a process of its own, run one after the other in the same
 * invocation; a fresh DUT for every size. `none` connects the injector straight to the M monitors
 * (the injector listens where the DUT would), to show what the load generator alone can do.
 *
 * Processes, so that each figure belongs to one party:
 *   - this one, which only orchestrates, reads /proc and prints;
 *   - the DUT (bench/propagation/duts.ts), passive towards everyone, eBGP to all (AS 64512);
 *   - the injector and the monitors (bench/propagation/speaker.ts), two forked processes: the
 *     injector (AS 65001, 127.0.8.2) and the M monitors (AS 65100+i, 127.0.8.10+i) connect to the
 *     DUT (127.0.8.1, port 11300 by default).
 *
 * What is timed. The injector encodes all N announcements (distinct /24s from 32.0.0.0, packed into
 * full 4096-octet UPDATEs by `packAnnouncements`) and all N withdrawals before anything starts. Once
 * every session is Established and a settle time has passed (FRR holds its first UPDATE to a new
 * peer back about a second), the monitors are told to watch, then the injector writes every UPDATE
 * at once. "announce" runs from just before the injector's first write to the moment the last
 * monitor's count reaches N; "withdraw" the same, down to 0, after another settle. Both ends are
 * `process.hrtime` in their own process (CLOCK_MONOTONIC, one clock for the machine). Monitors count
 * exactly: each keeps a bitmap by prefix number, filled by scanning UPDATE bytes in place
 * (bench/propagation/prefix-table.ts).
 *
 * What it costs. DUT CPU is utime + stime (+ cutime + cstime) from /proc/<pid>/stat, read just
 * before the injector is told to send and just after the phase ends (so it includes up to one poll
 * interval of idling). Peak RSS is VmHWM from /proc/<pid>/status once both phases are over: for FRR
 * that is bgpd alone (no zebra runs). The injector's and the monitors' CPU over the same windows are
 * printed too: if either is near the phase's wall time, it, not the DUT, was the limit.
 *
 * Bounded: each phase ends at its timeout (600 s for 1M×1 by default, in proportion to N, × M/2 for
 * M > 2, never under 60 s: GoBGP, which sends one prefix per UPDATE, needs most of it), or earlier when
 * the injector has flushed everything and for --stall seconds neither a monitor's count nor the
 * DUT's CPU time has moved: then the row says "timeout after X s, monitors hold a/N". Every process
 * is stopped by PID when its run ends, also on error and on Ctrl-C; a global deadline kills
 * whatever is left. Prints figures; asserts nothing. Uses only 127.0.8.0/24 and ports 11300..11399.
 *   npm run bench:propagation -- [--sizes 100k:1,1m:1,100k:10] [--duts none,kbgp,bird,gobgp,frr]
 *     [--hold 90] [--settle 3] [--timeout 600] [--stall 30] [--port 11300] [--no-build] [--keep]
 *     [--repeat 1] [--kbgp-log-level info]
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { binary, run } from '../test/helpers/routers/common.js';
import { Child, DeadlineError } from './propagation/child.js';
import { DRIVERS, DUT_NAMES, type DutDriver, type DutName, type DutPeer, KBGP_MAIN, type RunningDut, cpuSeconds, peakRss } from './propagation/duts.js';
import { MAX_PREFIXES } from './propagation/prefix-table.js';
import type { SessionSample, SessionSpec, SpeakerCommand, SpeakerReport } from './propagation/speaker.js';

const DUT_ADDRESS = '127.0.8.1';
const INJECTOR_ADDRESS = '127.0.8.2';
/** Monitor i is 127.0.8.(10 + i). */
const MONITOR_BASE = 10;
const MAX_MONITORS = 200;
const DUT_AS = 64512;
const INJECTOR_AS = 65001;
const MONITOR_AS = 65100;
/** How often a waiting phase looks at the monitors and the DUT's CPU. */
const SAMPLE_MS = 1000;
/** DUT CPU below this over a stall window counts as idle (kbgp idling with its sessions up uses far less). */
const IDLE_CPU_S = 0.2;

type Speaker = Child<SpeakerCommand, SpeakerReport>;
type DutChoice = DutName | 'none';

interface Size {
  readonly n: number;
  readonly m: number;
  readonly label: string;
}

interface Options {
  readonly sizes: readonly Size[];
  readonly duts: readonly DutChoice[];
  readonly holdTime: number;
  readonly settleS: number;
  readonly timeoutS: number;
  readonly stallS: number;
  readonly port: number;
  readonly build: boolean;
  readonly keep: boolean;
  readonly kbgpLogLevel: string;
  readonly repeat: number;
}

function count(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (m === null) return NaN;
  const unit = (m[2] ?? '').toLowerCase();
  return Math.round(Number(m[1]) * (unit === 'k' ? 1e3 : unit === 'm' ? 1e6 : 1));
}

const short = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

function options(): Options {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '100k:1,1m:1,100k:10' },
      duts: { type: 'string', default: ['none', ...DUT_NAMES].join(',') },
      hold: { type: 'string', default: '90' },
      settle: { type: 'string', default: '3' },
      timeout: { type: 'string', default: '600' },
      stall: { type: 'string', default: '30' },
      port: { type: 'string', default: '11300' },
      'no-build': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'kbgp-log-level': { type: 'string', default: 'info' },
      repeat: { type: 'string', default: '1' },
    },
  });
  const sizes = values.sizes.split(',').map((s) => {
    const [n, m] = s.split(':').map(count);
    if (n === undefined || m === undefined || !Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n > MAX_PREFIXES || m < 1 || m > MAX_MONITORS) {
      throw new Error(`--sizes ${s}: N:M with 1 ≤ N ≤ ${MAX_PREFIXES} and 1 ≤ M ≤ ${MAX_MONITORS} (100k:1, 1m:10, ...)`);
    }
    return { n, m, label: `${short(n)}×${m}` };
  });
  const duts = values.duts.split(',').map((d) => {
    if (d !== 'none' && !DUT_NAMES.includes(d as DutName)) throw new Error(`--duts ${d}: one of none, ${DUT_NAMES.join(', ')}`);
    return d as DutChoice;
  });
  const holdTime = Number(values.hold);
  const settleS = Number(values.settle);
  const timeoutS = Number(values.timeout);
  const stallS = Number(values.stall);
  const port = Number(values.port);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error(`--repeat ${values.repeat}: 1..20`);
  if (!Number.isInteger(holdTime) || holdTime < 3 || holdTime > 65535) throw new Error(`--hold ${values.hold}: seconds, 3..65535`);
  if (!(settleS >= 0 && settleS <= 60)) throw new Error(`--settle ${values.settle}: seconds, 0..60`);
  if (!(timeoutS >= 10 && timeoutS <= 3600)) throw new Error(`--timeout ${values.timeout}: seconds for N = 1M, 10..3600`);
  if (!(stallS >= 5 && stallS <= 600)) throw new Error(`--stall ${values.stall}: seconds, 5..600`);
  // The DUT listens on port, GoBGP's API on port + 1: both inside the bench's 11300..11399.
  if (!Number.isInteger(port) || port < 11300 || port > 11398) throw new Error(`--port ${values.port}: 11300..11398`);
  return { sizes, duts, holdTime, settleS, timeoutS, stallS, port, build: !values['no-build'], keep: values.keep, kbgpLogLevel: values['kbgp-log-level'], repeat };
}

const monitorAddress = (i: number): string => `127.0.8.${MONITOR_BASE + i}`;
/** Per phase: the --timeout given for 1M, in proportion to N and M, never under a minute. */
const phaseTimeoutS = (o: Options, s: Size): number => Math.max(60, (o.timeoutS * s.n * Math.max(1, s.m / 2)) / 1e6);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// One run: one DUT (or none), one size

interface Phase {
  /** From the injector's first write to the last monitor holding the goal. */
  readonly ms?: number;
  /** When the phase ended without every monitor at its goal. */
  readonly timeout?: string;
  /** How long the harness waited, in either case. */
  readonly elapsedMs: number;
  /** From the injector's first write until its last UPDATE was handed to the kernel. */
  readonly flushedMs?: number;
  readonly dutCpuS?: number;
  readonly injectorCpuS?: number;
  readonly monitorsCpuS?: number;
}

interface Row {
  readonly dut: DutChoice;
  readonly size: Size;
  /** 1.., or 0 for the median of every run. */
  readonly run: number;
  announce?: Phase;
  withdraw?: Phase;
  rss?: number;
  error?: string;
  readonly notes: string[];
}

/** Every process this bench started and has not yet seen stopped, for the exit and SIGINT hooks. */
const livePids = new Set<number>();

function killLive(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Set by Ctrl-C or SIGTERM: no further run starts. */
let interrupting = false;

/** Ctrl-C or SIGTERM: SIGTERM first (bgpd removes its /var/tmp/frr/bgpd.<pid> only then), SIGKILL after a grace. */
function interrupted(code: number): void {
  interrupting = true;
  console.error('interrupted: stopping every process the bench started');
  killLive('SIGTERM');
  setTimeout(() => {
    killLive();
    process.exit(code);
  }, 1500);
}

interface Parties {
  readonly injector: Speaker;
  readonly monitors: Speaker;
  readonly dut?: RunningDut;
}

const heldRange = (sessions: readonly SessionSample[]): [number, number] => [Math.min(...sessions.map((s) => s.held)), Math.max(...sessions.map((s) => s.held))];

function describeHeld(sessions: readonly SessionSample[], n: number): string {
  const [lo, hi] = heldRange(sessions);
  return `monitors hold ${lo === hi ? lo : `${lo}..${hi}`}/${n}`;
}

/** Announce or withdraw all N; bounded by the phase timeout and the stall rule. */
async function phase(o: Options, s: Size, p: Parties, what: 'announce' | 'withdraw'): Promise<Phase> {
  const started = performance.now();
  const limit = started + phaseTimeoutS(o, s) * 1000;
  const dutPids = p.dut?.pids ?? [];
  const cpu = async (pids: readonly number[]): Promise<number> => (pids.length === 0 ? NaN : ((await cpuSeconds(pids)) ?? NaN));
  const speakerPid = (c: Speaker): number[] => (c.pid === undefined ? [] : [c.pid]);
  await p.monitors.ask({ type: 'watch', goal: what === 'announce' ? 'all' : 'none' }, 'watching', limit);
  const [dut0, inj0, mon0] = [await cpu(dutPids), await cpu(speakerPid(p.injector)), await cpu(speakerPid(p.monitors))];
  p.injector.send({ type: 'send', what });

  let sent: Extract<SpeakerReport, { type: 'sent' }> | undefined;
  let reached: Extract<SpeakerReport, { type: 'reached' }> | undefined;
  let timeout: string | undefined;
  let lastHeld = '';
  let lastMove = performance.now();
  let lastDutCpu = dut0;
  // Bounded by count as well as by `limit`: one wait per sample interval.
  for (let i = 0; i <= Math.ceil((limit - started) / SAMPLE_MS) + 1; i++) {
    try {
      reached = await p.monitors.next('reached', Math.min(limit, performance.now() + SAMPLE_MS));
      break;
    } catch (e) {
      if (!(e instanceof DeadlineError)) throw e;
    }
    sent ??= p.injector.take('sent');
    if (p.dut?.exit !== undefined) throw new Error(`the DUT ${p.dut.exit} during ${what}\n${p.dut.logTail()}`);
    const sample = (await p.monitors.ask({ type: 'sample' }, 'sample', performance.now() + 10_000)).sessions;
    const injected = (await p.injector.ask({ type: 'sample' }, 'sample', performance.now() + 10_000)).sessions;
    const failed = [...injected, ...sample].find((x) => x.failure !== undefined);
    if (failed !== undefined) throw new Error(`session of ${failed.local}: ${failed.failure ?? ''} during ${what} (${describeHeld(sample, s.n)})`);
    const held = sample.map((x) => x.held).join(',');
    const dutCpu = await cpu(dutPids);
    const t = performance.now();
    if (held !== lastHeld || !(dutCpu - lastDutCpu < IDLE_CPU_S)) {
      lastHeld = held;
      lastDutCpu = dutCpu;
      lastMove = t;
    }
    const elapsed = ((t - started) / 1000).toFixed(1);
    if (t >= limit) {
      timeout = `timeout after ${elapsed} s, ${describeHeld(sample, s.n)}`;
      break;
    }
    if (sent !== undefined && t - lastMove >= o.stallS * 1000) {
      timeout = `timeout after ${elapsed} s, ${describeHeld(sample, s.n)} (for ${o.stallS} s no count moved and the DUT used < ${IDLE_CPU_S} s CPU)`;
      break;
    }
  }
  const [dut1, inj1, mon1] = [await cpu(dutPids), await cpu(speakerPid(p.injector)), await cpu(speakerPid(p.monitors))];
  sent ??= await p.injector.next('sent', performance.now() + 5_000).catch(() => undefined);
  if (reached === undefined && timeout === undefined) timeout = `timeout after ${((performance.now() - started) / 1000).toFixed(1)} s`;
  return {
    elapsedMs: performance.now() - started,
    ...(reached !== undefined && sent !== undefined ? { ms: reached.at - sent.firstAt } : {}),
    ...(timeout !== undefined ? { timeout } : reached !== undefined && sent === undefined ? { timeout: 'the injector never reported its first write' } : {}),
    ...(sent !== undefined ? { flushedMs: sent.flushedAt - sent.firstAt } : {}),
    ...(dutPids.length > 0 ? { dutCpuS: dut1 - dut0 } : {}),
    injectorCpuS: inj1 - inj0,
    monitorsCpuS: mon1 - mon0,
  };
}

function speaker(name: string, deadlineMs: number): Speaker {
  const file = fileURLToPath(new URL('./propagation/speaker.js', import.meta.url));
  const env = { ...process.env, KBGP_BENCH_SPEAKER_DEADLINE_MS: String(Math.ceil(deadlineMs)) };
  const c: Speaker = new Child(name, fork(file, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env }));
  if (c.pid !== undefined) livePids.add(c.pid);
  return c;
}

async function runOne(o: Options, choice: DutChoice, s: Size, row: Row): Promise<void> {
  const timeoutMs = phaseTimeoutS(o, s) * 1000;
  // Setup, two phases, two settles and stopping, with room to spare.
  const budgetMs = 2 * timeoutMs + 2 * o.settleS * 1000 + 120_000;
  const deadline = performance.now() + budgetMs;
  const dir = await mkdtemp(join(tmpdir(), `kbgp-bench-propagation-${choice}-`));
  const driver: DutDriver | undefined = choice === 'none' ? undefined : DRIVERS[choice];
  const injector = speaker('injector', budgetMs + 10_000);
  const monitors = speaker('monitors', budgetMs + 10_000);
  let dut: RunningDut | undefined;
  const peers: DutPeer[] = [
    { name: 'injector', address: INJECTOR_ADDRESS, asn: INJECTOR_AS },
    ...Array.from({ length: s.m }, (_, i) => ({ name: `monitor-${i}`, address: monitorAddress(i), asn: MONITOR_AS + i })),
  ];
  const monitorSpecs: SessionSpec[] = peers.slice(1).map((p) => ({ local: p.address, asn: p.asn }));
  try {
    // A DUT that is not installed is an error row at once, not a start that times out.
    for (const b of driver?.binaries ?? []) binary(b);
    await injector.next('ready', deadline);
    await monitors.next('ready', deadline);
    // GoBGP gets the next hop inside MP_REACH_NLRI (see duts.ts); every other DUT, and the
    // monitors, the plain NEXT_HOP attribute. The next hop is the injector's own address.
    const prepared = await injector.ask({ type: 'prepare', n: s.n, asn: INJECTOR_AS, nextHop: INJECTOR_ADDRESS, mpReach: driver?.mpReach ?? false }, 'prepared', deadline);
    row.notes.push(
      `injector: ${prepared.announce.messages} UPDATEs (${(prepared.announce.octets / 2 ** 20).toFixed(1)} MiB) to announce, ` +
        `${prepared.withdraw.messages} (${(prepared.withdraw.octets / 2 ** 20).toFixed(1)} MiB) to withdraw${driver?.mpReach === true ? ', IPv4 NLRI in MP_REACH_NLRI' : ''}, encoded in ${prepared.ms.toFixed(0)} ms before the clock`,
    );
    const connectMs = Math.min(60_000, deadline - performance.now());
    let target = { host: DUT_ADDRESS, port: o.port };
    if (driver === undefined) {
      // No DUT: the injector listens where the DUT would have, on its own address.
      target = { host: INJECTOR_ADDRESS, port: o.port };
      await injector.ask({ type: 'listen', address: INJECTOR_ADDRESS, port: o.port, speaker: { local: INJECTOR_ADDRESS, asn: INJECTOR_AS }, expect: s.m, holdTime: o.holdTime, n: s.n }, 'listening', deadline);
    } else {
      dut = await driver.start({ dir, address: DUT_ADDRESS, port: o.port, apiPort: o.port + 1, asn: DUT_AS, holdTime: o.holdTime, peers, logLevel: o.kbgpLogLevel });
      for (const pid of dut.pids) livePids.add(pid);
      injector.send({ type: 'connect', ...target, sessions: [{ local: INJECTOR_ADDRESS, asn: INJECTOR_AS }], holdTime: o.holdTime, n: s.n, deadlineMs: connectMs });
    }
    monitors.send({ type: 'connect', ...target, sessions: monitorSpecs, holdTime: o.holdTime, n: s.n, deadlineMs: connectMs });
    await injector.next('established', performance.now() + connectMs + 5_000);
    await monitors.next('established', performance.now() + connectMs + 5_000);
    await sleep(o.settleS * 1000);
    const parties: Parties = { injector, monitors, ...(dut === undefined ? {} : { dut }) };
    row.announce = await phase(o, s, parties, 'announce');
    if (row.announce.ms !== undefined) {
      await sleep(o.settleS * 1000);
      row.withdraw = await phase(o, s, parties, 'withdraw');
    }
    const sample = (await monitors.ask({ type: 'sample' }, 'sample', deadline)).sessions;
    const worst = Math.max(...sample.map((x) => x.maxSilenceMs));
    const hold = Math.min(...sample.map((x) => x.holdTime));
    const foreign = sample.reduce((a, x) => a + x.foreign, 0);
    const updates = sample.reduce((a, x) => a + x.updates, 0);
    row.notes.push(
      `monitors: ${updates} UPDATEs received in all (${(updates / s.m).toFixed(0)} per monitor), ${foreign} foreign prefixes, ` +
        `longest silence from their peer ${(worst / 1000).toFixed(1)} s (hold time ${hold} s)${worst > hold * 1000 ? ' — LONGER THAN THE HOLD TIME' : ''}`,
    );
    const back = (await injector.ask({ type: 'sample' }, 'sample', deadline)).sessions;
    const echoed = back.reduce((a, x) => a + x.announced, 0);
    if (driver !== undefined && echoed > 0) row.notes.push(`the DUT also sent ${echoed} announcements back to the injector`);
    if (dut !== undefined) {
      const rss = peakRss(dut.pids);
      if (rss !== undefined) row.rss = rss;
    }
  } catch (e) {
    row.error = e instanceof Error ? e.message : String(e);
    if (dut !== undefined) row.notes.push(dut.logTail());
  } finally {
    await injector.stop({ type: 'stop' }, 2_000);
    await monitors.stop({ type: 'stop' }, 2_000);
    for (const c of [injector, monitors]) if (c.pid !== undefined) livePids.delete(c.pid);
    if (dut !== undefined) {
      await dut.stop().catch((e: unknown) => row.notes.push(`stopping the DUT: ${e instanceof Error ? e.message : String(e)}`));
      for (const pid of dut.pids) livePids.delete(pid);
    }
    if (o.keep) row.notes.push(`work directory kept: ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

const COLUMNS: readonly [string, number][] = [
  ['DUT', 8],
  ['N×M', 8],
  ['announce', 14],
  ['withdraw', 14],
  ['DUT CPU ann/wd', 17],
  ['DUT peak RSS', 13],
  ['injector CPU', 14],
  ['monitors CPU', 14],
  ['injector flushed', 17],
];

function line(cells: readonly string[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(COLUMNS[i]?.[1] ?? 0) : c.padStart(COLUMNS[i]?.[1] ?? 0))).join(' ');
}

const secs = (ms: number | undefined): string => (ms === undefined ? '-' : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
const cpuS = (s: number | undefined): string => (s === undefined || Number.isNaN(s) ? '-' : s.toFixed(2));
const mib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)} MiB`);
const phaseCell = (p: Phase | undefined): string => (p === undefined ? '-' : p.ms !== undefined ? secs(p.ms) : `timeout ${(p.elapsedMs / 1000).toFixed(0)} s`);

function formatRow(r: Row): string {
  const a = r.announce;
  const w = r.withdraw;
  const pair = (x: number | undefined, y: number | undefined): string => `${cpuS(x)} / ${cpuS(y)}`;
  return line([
    r.run === 0 ? r.dut : `${r.dut}#${r.run}`,
    r.size.label,
    r.error !== undefined && a === undefined ? 'error' : phaseCell(a),
    phaseCell(w),
    r.dut === 'none' ? '-' : pair(a?.dutCpuS, w?.dutCpuS),
    mib(r.rss),
    pair(a?.injectorCpuS, w?.injectorCpuS),
    pair(a?.monitorsCpuS, w?.monitorsCpuS),
    `${secs(a?.flushedMs)} / ${secs(w?.flushedMs)}`,
  ]);
}

function rowNotes(r: Row): string[] {
  const tag = `${r.dut} ${r.size.label}${r.run > 0 ? ` #${r.run}` : ''}:`;
  const out: string[] = [];
  if (r.announce?.timeout !== undefined) out.push(`${tag} announce: ${r.announce.timeout}`);
  if (r.withdraw?.timeout !== undefined) out.push(`${tag} withdraw: ${r.withdraw.timeout}`);
  if (r.error !== undefined) out.push(`${tag} error: ${r.error}`);
  for (const n of r.notes) out.push(`${tag} ${n}`);
  return out;
}

/** "kbgp / other" for the time, CPU and RSS columns, per size. */
function ratios(rows: readonly Row[]): string[] {
  const out: string[] = [];
  const ratio = (k: number | undefined, x: number | undefined): string => {
    if (k === undefined || x === undefined || !(x > 0) || Number.isNaN(k)) return 'n/a';
    const r = k / x;
    return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
  };
  // A phase that timed out took at least as long as the harness waited: the ratio is a bound.
  const timeRatio = (k: Phase | undefined, x: Phase | undefined): string => {
    if (k?.ms !== undefined && x?.ms !== undefined) return ratio(k.ms, x.ms);
    if (k?.ms !== undefined && x?.timeout !== undefined) return `< ${ratio(k.ms, x.elapsedMs)}`;
    if (k?.timeout !== undefined && x?.ms !== undefined) return `> ${ratio(k.elapsedMs, x.ms)}`;
    return 'n/a';
  };
  const total = (r: Row, f: (p: Phase) => number | undefined): number | undefined => {
    const a = r.announce === undefined ? undefined : f(r.announce);
    const w = r.withdraw === undefined ? undefined : f(r.withdraw);
    return a === undefined || w === undefined ? undefined : a + w;
  };
  for (const k of rows.filter((r) => r.dut === 'kbgp')) {
    for (const x of rows.filter((r) => r.size === k.size && r.dut !== 'kbgp' && r.dut !== 'none')) {
      const late = [k, x].filter((r) => r.announce?.ms === undefined || r.withdraw?.ms === undefined).map((r) => r.dut);
      out.push(
        `kbgp / ${x.dut.padEnd(5)} ${k.size.label.padEnd(8)} announce ${timeRatio(k.announce, x.announce)}, withdraw ${timeRatio(k.withdraw, x.withdraw)}, ` +
          `DUT CPU ${ratio(total(k, (p) => p.dutCpuS), total(x, (p) => p.dutCpuS))}, peak RSS ${ratio(k.rss, x.rss)}` +
          (late.length > 0 ? ` (${late.join(' and ')} did not finish every phase: time ratios are bounds or n/a, CPU n/a)` : ''),
      );
    }
  }
  return out;
}

/** The middle value (the mean of the middle two for an even count); undefined if any is missing. */
function median(xs: readonly (number | undefined)[]): number | undefined {
  if (xs.length === 0 || xs.some((x) => x === undefined || Number.isNaN(x))) return undefined;
  const v = (xs as number[]).slice().sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Every run of a phase completed: the median of each figure; else the first run that did not. */
function medianPhase(ps: readonly (Phase | undefined)[]): Phase | undefined {
  const unfinished = ps.find((p) => p?.ms === undefined);
  if (unfinished !== undefined || ps.some((p) => p === undefined)) return unfinished;
  const done = ps as Phase[];
  const of = (f: (p: Phase) => number | undefined): number | undefined => median(done.map(f));
  return {
    elapsedMs: of((p) => p.elapsedMs) ?? 0,
    ms: of((p) => p.ms),
    flushedMs: of((p) => p.flushedMs),
    dutCpuS: of((p) => p.dutCpuS),
    injectorCpuS: of((p) => p.injectorCpuS),
    monitorsCpuS: of((p) => p.monitorsCpuS),
  };
}

function medianRow(runs: readonly Row[]): Row | undefined {
  const first = runs[0];
  if (first === undefined) return undefined;
  const announce = medianPhase(runs.map((r) => r.announce));
  const withdraw = medianPhase(runs.map((r) => r.withdraw));
  const rss = median(runs.map((r) => r.rss));
  const error = runs.find((r) => r.error !== undefined)?.error;
  return { dut: first.dut, size: first.size, run: 0, notes: [], ...(announce === undefined ? {} : { announce }), ...(withdraw === undefined ? {} : { withdraw }), ...(rss === undefined ? {} : { rss }), ...(error === undefined ? {} : { error }) };
}

// ---------------------------------------------------------------------------------------------

async function versions(duts: readonly DutChoice[]): Promise<string> {
  const out: string[] = [];
  for (const d of duts) {
    if (d === 'none') continue;
    out.push(`${d} ${await DRIVERS[d].version().catch((e: unknown) => `(unknown: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`)}`);
  }
  return out.join(', ');
}

async function main(): Promise<void> {
  const o = options();
  const began = performance.now();
  const totalS = o.sizes.reduce((a, s) => a + o.repeat * o.duts.length * (2 * phaseTimeoutS(o, s) + 2 * o.settleS + 150), 120);
  process.on('exit', () => killLive());
  process.once('SIGINT', () => interrupted(130));
  process.once('SIGTERM', () => interrupted(143));
  // Should anything ignore every other bound, this still ends the run.
  setTimeout(() => {
    console.error('hard deadline: killing every process the bench started');
    killLive();
    process.exit(1);
  }, totalS * 1000).unref();

  if (o.duts.includes('kbgp') && o.build) {
    // `npm run build`: the kbgp rows run dist/cli/main.js, as a user would.
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    console.error('building kbgp (tsc -p tsconfig.build.json) ...');
    await run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.build.json')], { timeoutMs: 300_000 }).catch((e: unknown) => {
      // tsc still emits on type errors; the kbgp rows then say whether what was built runs.
      console.error(`npm run build failed; the kbgp rows run whatever dist/ holds:\n${e instanceof Error ? e.message : String(e)}`);
    });
  }
  const cpu = cpus();
  console.log(`kbgp route propagation (bgperf-style): node ${process.version}, ${process.platform} ${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`);
  console.log(`DUTs: ${await versions(o.duts)}${o.duts.includes('kbgp') ? ` (${KBGP_MAIN})` : ''}`);
  console.log(
    `injector ${INJECTOR_ADDRESS} AS ${INJECTOR_AS} → DUT ${DUT_ADDRESS}:${o.port} AS ${DUT_AS} → monitors ${monitorAddress(0)}.. AS ${MONITOR_AS}+i; ` +
      `N distinct /24s from 32.0.0.0 in full 4096-octet UPDATEs; hold time ${o.holdTime} s; settle ${o.settleS} s; ` +
      `phase timeout ${o.timeoutS} s per 1M prefixes (×M/2 for M > 2, at least 60 s), or ${o.stallS} s without progress`,
  );
  console.log('announce/withdraw: injector\'s first write → last monitor holding all N / none. CPU = user + system seconds during each phase; peak RSS = VmHWM.');
  console.log('');
  console.log(line(COLUMNS.map(([name]) => name)));

  const rows: Row[] = [];
  // Repetitions interleave the DUTs, so that a busy minute on the machine does not land on one DUT's runs.
  for (const s of o.sizes) {
    for (let run = 1; run <= o.repeat; run++) {
      for (const d of o.duts) {
        if (interrupting) break;
        const row: Row = { dut: d, size: s, run: o.repeat === 1 ? 0 : run, notes: [] };
        rows.push(row);
        console.error(`running ${d} ${s.label}${o.repeat === 1 ? '' : ` #${run}`} ...`);
        await runOne(o, d, s, row);
        console.log(formatRow(row));
      }
    }
  }
  let summary = rows;
  if (o.repeat > 1) {
    summary = o.sizes.flatMap((s) => o.duts.flatMap((d) => medianRow(rows.filter((r) => r.size === s && r.dut === d)) ?? []));
    console.log('');
    console.log(`median of ${o.repeat} runs (a phase that did not finish in every run shows its first unfinished run):`);
    console.log(line(COLUMNS.map(([name]) => name)));
    for (const r of summary) console.log(formatRow(r));
  }
  console.log('');
  for (const r of rows) for (const n of rowNotes(r)) console.log(n);
  const rs = ratios(summary);
  if (rs.length > 0) {
    console.log('');
    for (const r of rs) console.log(r);
  }
  console.log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
  killLive();
  if (rows.some((r) => r.error !== undefined)) process.exitCode = 1;
}

await main();
