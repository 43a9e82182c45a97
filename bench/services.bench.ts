/**
 * Kubernetes services through kbgp to a router, end to end: the in-repo API server
 * (test/helpers/k8s-api-server.ts) → kbgp's watcher (KubernetesApiSource, client-node list+watch)
 * → decision, coalescing window, RIB → an UPDATE on the wire to a raw BGP peer. Prints:
 *
 *   1. bulk: N LoadBalancer services (externalTrafficPolicy Local, one of E endpoints on this node)
 *      created as fast as the harness can write them, each followed by its EndpointSlice; the time
 *      from the first create to the last /32 at the peer, and from the last create (the last API
 *      event) to the last /32. Target: under 2 s after the last event.
 *   2. steady churn: R changes a second for S seconds, each toggling the ready condition of one
 *      random service's local endpoint (ready → not ready: the /32 is withdrawn; back: announced);
 *      the latency from the API write to the UPDATE (or withdrawal) read at the peer, p50/p90/p99/max,
 *      and p99 minus the coalescing window. Target: p99 under 50 ms beyond the window. A service is
 *      touched again only after max(1 s, 3 windows), so every change is its own UPDATE and each
 *      UPDATE matches one change.
 *   3. kbgp's heap (after a forced GC) and RSS with N services and N×E endpoints, against the same
 *      process with an empty cluster.
 *   4. for comparison (--no-restart skips it): a fresh kbgp started against the same cluster, which
 *      it reads with one paginated list per kind instead of an event per object: start → last /32.
 *      With --preload the services are created before kbgp starts: (1) is skipped, (4) is that
 *      first kbgp's sync, and (3) and (2) follow on it (to measure (2) when (1) takes too long).
 *
 * Processes, so that each figure belongs to one party:
 *   - this one: the API server (its writes and watch streams), the pacing, /proc reads, printing;
 *   - kbgp (bench/services/kbgp.ts, --expose-gc): a Daemon with a KubernetesApiSource, as
 *     `kbgp run --kubeconfig` builds them, production reflector settings; KbgpConfiguration
 *     services {coalesceWindow: --window, minFlapInterval: 0s}: the flap damping is off so that the
 *     bench measures the pipeline, not the hold-down;
 *   - the peer (bench/services/peer.ts): one raw BGP speaker that decodes every UPDATE and stamps
 *     it when its TCP chunk is read.
 * Times are CLOCK_MONOTONIC in every process (bench/services/clock.ts). A change's time is taken
 * just before the harness calls the API server's update(), which writes the watch event to kbgp's
 * open watch at once; the peer's time is when the chunk holding the UPDATE was read.
 *
 * Addresses: kbgp 127.0.12.1:--port (11700), the API server 127.0.12.1:--port+1, the peer 127.0.12.2;
 * only 127.0.12.0/24 and ports 11700..11799. Every wait is bounded (phase timeouts, a stall rule, a
 * global deadline), every process is stopped by PID at the end, also on error and Ctrl-C. Prints
 * figures; asserts nothing.
 *
 * Bounds: (1) and (4) end at --timeout (1800 s), or when for --stall (30 s) neither the peer's count
 * moved nor kbgp used CPU; (2) paces by count and stops at twice its length, then waits for the
 * peer until every change is seen, kbgp has been idle with the peer silent for 5 s, or --drain
 * (300 s). The defaults leave room for a kbgp that recomputes everything per event.
 *   npm run bench:services -- [--services 10000] [--endpoints-per-service 5] [--rate 200] [--seconds 10]
 *     [--window 100] [--cluster-ips] [--timeout 1800] [--stall 30] [--drain 300] [--batch 100]
 *     [--hold 90] [--port 11700] [--no-restart] [--preload] [--cpu-prof DIR] [--log-level info] [--keep]
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type K8sApiServer, startK8sApiServer } from '../test/helpers/k8s-api-server.js';
import { Child, DeadlineError } from './propagation/child.js';
import { cpuSeconds } from './propagation/duts.js';
import { monoMs } from './services/clock.js';
import { CLUSTER_FIRST, CLUSTER_RANGE, LB_FIRST, LB_RANGE, MAX_ENDPOINTS, MAX_SERVICES, NODE_NAME, endpointSlice, otherNode, service } from './services/cluster.js';
import type { KbgpCommand, KbgpReport, KbgpSample } from './services/kbgp.js';
import type { ExpectedRange, PeerCommand, PeerEvent, PeerReport, PeerSample } from './services/peer.js';

const KBGP_ADDRESS = '127.0.12.1';
const PEER_ADDRESS = '127.0.12.2';
const LOCAL_AS = 64512;
const PEER_AS = 65001;
/** How often a waiting phase looks at the peer and kbgp's CPU. */
const SAMPLE_MS = 1000;
/** kbgp CPU below this over a stall window counts as idle (a synced, quiet kbgp uses far less). */
const IDLE_CPU_S = 0.2;
/** Before the steady phase (and the memory sample): kbgp under this share of a core over a second. */
const QUIET_SHARE = 0.05;
const QUIET_MAX_MS = 60_000;
/** Tries to find a service not touched recently, per change; a miss skips that change. */
const PICK_TRIES = 64;

type Kbgp = Child<KbgpCommand, KbgpReport>;
type Peer = Child<PeerCommand, PeerReport>;

interface Options {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly rate: number;
  readonly seconds: number;
  readonly windowMs: number;
  readonly clusterIps: boolean;
  readonly timeoutS: number;
  readonly stallS: number;
  readonly drainS: number;
  readonly batch: number;
  readonly holdTime: number;
  readonly port: number;
  readonly cpuProfDir?: string;
  readonly logLevel: string;
  readonly keep: boolean;
  readonly noRestart: boolean;
  readonly preload: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '10000' },
      'endpoints-per-service': { type: 'string', default: '5' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '10' },
      window: { type: 'string', default: '100' },
      'cluster-ips': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '1800' },
      stall: { type: 'string', default: '30' },
      drain: { type: 'string', default: '300' },
      batch: { type: 'string', default: '100' },
      hold: { type: 'string', default: '90' },
      port: { type: 'string', default: '11700' },
      'cpu-prof': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      keep: { type: 'boolean', default: false },
      'no-restart': { type: 'boolean', default: false },
      preload: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, text: string, lo: number, hi: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${name} ${text}: an integer, ${lo}..${hi}`);
    return n;
  };
  const services = int('services', values.services, 1, MAX_SERVICES);
  const endpointsPerService = int('endpoints-per-service', values['endpoints-per-service'], 1, 100);
  if (services * endpointsPerService > MAX_ENDPOINTS) throw new Error(`--services × --endpoints-per-service: at most ${MAX_ENDPOINTS} endpoints`);
  const hold = int('hold', values.hold, 0, 65535);
  if (hold !== 0 && hold < 3) throw new Error(`--hold ${values.hold}: 0 or 3..65535 seconds (RFC 4271 §4.2)`);
  // kbgp on port, the API server on port + 1: both inside the bench's 11700..11799.
  const port = int('port', values.port, 11700, 11798);
  return {
    services,
    endpointsPerService,
    rate: int('rate', values.rate, 1, 10_000),
    seconds: int('seconds', values.seconds, 1, 600),
    windowMs: int('window', values.window, 0, 10_000),
    clusterIps: values['cluster-ips'],
    timeoutS: int('timeout', values.timeout, 10, 3600),
    stallS: int('stall', values.stall, 5, 600),
    drainS: int('drain', values.drain, 1, 600),
    batch: int('batch', values.batch, 1, MAX_SERVICES),
    holdTime: hold,
    port,
    logLevel: values['log-level'],
    keep: values.keep,
    noRestart: values['no-restart'],
    preload: values.preload,
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  };
}

/** The configuration a user would write (see test/helpers/kbgp.ts), Calico-shaped. */
function configYaml(o: Options): string {
  const cidrs = [`serviceLoadBalancerIPs: [{cidr: ${LB_RANGE}}]`, ...(o.clusterIps ? [`serviceClusterIPs: [{cidr: ${CLUSTER_RANGE}}]`] : [])].join(', ');
  return [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${LOCAL_AS}, listenPort: ${o.port}, ${cidrs}}`,
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${NODE_NAME}}\nspec: {bgp: {ipv4Address: ${KBGP_ADDRESS}/32}}`,
    `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: router}\nspec: {peerIP: "${PEER_ADDRESS}:${o.port}", asNumber: ${PEER_AS}}`,
    `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: ${NODE_NAME}}\nspec:\n  nodeName: ${NODE_NAME}\n  listenAddress: ${KBGP_ADDRESS}\n` +
      `  peerSettings: [{peer: router, passive: true, holdTime: ${o.holdTime}s}]\n` +
      `  services: {coalesceWindow: ${o.windowMs}ms, minFlapInterval: 0s}`,
  ].join('\n---\n');
}

/** The /32s the peer tracks: the load-balancer IPs first (index i is service i), then the cluster IPs. */
function expectedRanges(o: Options): ExpectedRange[] {
  return [{ first: LB_FIRST, count: o.services }, ...(o.clusterIps ? [{ first: CLUSTER_FIRST, count: o.services }] : [])];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const secs = (ms: number): string => (Math.abs(ms) < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------------------------
// The parties: one kbgp and one peer, forked fresh for each kbgp run

interface Parties {
  readonly o: Options;
  readonly api: K8sApiServer;
  readonly kbgp: Kbgp;
  readonly peer: Peer;
  readonly deadline: number;
  readonly logFile: string;
}

/** Every child ever forked, for the exit and SIGINT hooks (killing an exited child is a no-op). */
const children: { kill(): void }[] = [];

async function launch(o: Options, api: K8sApiServer, deadline: number, logFile: string, name: string): Promise<Parties> {
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
  const profile = o.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`, `--cpu-prof-name=kbgp-services-${name}-${process.pid}.cpuprofile`];
  const kbgp: Kbgp = new Child('kbgp', fork(fileURLToPath(new URL('./services/kbgp.js', import.meta.url)), [], { execArgv: ['--expose-gc', ...profile], stdio: [...stdio] }));
  const env = { ...process.env, KBGP_BENCH_PEER_DEADLINE_MS: String(Math.ceil(deadline - performance.now() + 10_000)) };
  const peer: Peer = new Child('peer', fork(fileURLToPath(new URL('./services/peer.js', import.meta.url)), [], { execArgv: [], stdio: [...stdio], env }));
  children.push(kbgp, peer);
  await kbgp.next('ready', deadline);
  await peer.next('ready', deadline);
  return { o, api, kbgp, peer, deadline, logFile };
}

/** kbgp starts and listens; the peer connects; resolves when the session is Established. */
async function connect(p: Parties): Promise<void> {
  const { o } = p;
  p.kbgp.send({ type: 'start', yaml: configYaml(o), nodeName: NODE_NAME, kubeconfigPath: p.api.kubeconfigPath, logFile: p.logFile, logLevel: o.logLevel });
  await p.kbgp.next('listening', p.deadline);
  p.peer.send({ type: 'connect', host: KBGP_ADDRESS, port: o.port, local: PEER_ADDRESS, asn: PEER_AS, holdTime: o.holdTime, ranges: expectedRanges(o), until: monoMs() + 20_000 });
  await p.peer.next('established', Math.min(p.deadline, performance.now() + 30_000));
}

/** kbgp first, so the peer sees a Cease rather than kbgp a lost connection; both by PID after a grace. */
async function stopParties(p: Parties): Promise<void> {
  await p.kbgp.stop({ type: 'stop' }, p.o.cpuProfDir === undefined ? 5000 : 20_000);
  await p.peer.stop({ type: 'stop' }, 2000);
}

async function kbgpCpu(p: Parties): Promise<number> {
  return p.kbgp.pid === undefined ? NaN : ((await cpuSeconds([p.kbgp.pid])) ?? NaN);
}

/** The peer's counters; throws once its session has failed, unless `failed` is true. */
async function peerSample(p: Parties, failed = false): Promise<PeerSample> {
  const s = (await p.peer.ask({ type: 'sample' }, 'sample', Math.min(p.deadline, performance.now() + 10_000))).sample;
  if (s.failure !== undefined && !failed) throw new Error(`peer: ${s.failure}`);
  return s;
}

async function kbgpSample(p: Parties, gc: boolean): Promise<KbgpSample> {
  return (await p.kbgp.ask({ type: 'sample', gc }, 'sample', p.deadline)).sample;
}

/** Until kbgp has used under QUIET_SHARE of a core for a second (bounded); returns the wait. */
async function quiet(p: Parties): Promise<number> {
  const t0 = performance.now();
  let prev = await kbgpCpu(p);
  for (let i = 0; i < QUIET_MAX_MS / SAMPLE_MS && performance.now() < p.deadline; i++) {
    await sleep(SAMPLE_MS);
    const cpu = await kbgpCpu(p);
    if (cpu - prev < QUIET_SHARE * (SAMPLE_MS / 1000)) break;
    prev = cpu;
  }
  return performance.now() - t0;
}

/**
 * Until the peer holds `goal` tracked /32s (it was told to watch for it), bounded by --timeout and
 * by the stall rule: --stall seconds in which neither the peer's count moved nor kbgp used
 * IDLE_CPU_S of CPU. `origin` (monoMs) is what the progress lines count from.
 */
async function waitForGoal(p: Parties, goal: number, origin: number): Promise<{ at?: number; timeout?: string }> {
  const { o } = p;
  const limit = Math.min(p.deadline, performance.now() + o.timeoutS * 1000);
  let lastHeld = -1;
  let lastCpu = await kbgpCpu(p);
  const cpu0 = lastCpu;
  let lastMove = performance.now();
  let lastProgress = performance.now();
  for (let i = 0; i <= o.timeoutS * (1000 / SAMPLE_MS) + 1; i++) {
    try {
      return { at: (await p.peer.next('reached', Math.min(limit, performance.now() + SAMPLE_MS))).at };
    } catch (e) {
      if (!(e instanceof DeadlineError)) throw e;
    }
    if (p.kbgp.exited) throw new Error('kbgp exited');
    const s = await peerSample(p, true);
    const cpu = await kbgpCpu(p);
    const t = performance.now();
    if (s.held !== lastHeld || !(cpu - lastCpu < IDLE_CPU_S)) {
      lastHeld = s.held;
      lastCpu = cpu;
      lastMove = t;
    }
    const at = `${((monoMs() - origin) / 1000).toFixed(1)} s in`;
    // The peer never reconnects: a session kbgp reset ends the wait.
    if (s.failure !== undefined) return { timeout: `session lost ${at}: ${s.failure}; the peer held ${s.held}/${goal}` };
    if (t - lastProgress >= 10_000) {
      lastProgress = t;
      console.error(`  ${at}: the peer holds ${s.held}/${goal}, kbgp CPU ${(cpu - cpu0).toFixed(1)} s so far`);
    }
    if (t >= limit) return { timeout: `timeout ${at}: the peer holds ${s.held}/${goal}` };
    if (t - lastMove >= o.stallS * 1000) {
      return { timeout: `stalled ${at}: the peer holds ${s.held}/${goal}, and for ${o.stallS} s neither that count moved nor kbgp used ${IDLE_CPU_S} s CPU` };
    }
  }
  return { timeout: 'no answer' };
}

// ---------------------------------------------------------------------------------------------
// The phases

interface Bulk {
  readonly createMs: number;
  /** First create → the peer holding every /32. */
  readonly totalMs?: number;
  /** Last create → the same. */
  readonly afterLastMs?: number;
  readonly timeout?: string;
  readonly kbgpCpuS: number;
  readonly harnessCpuS: number;
  readonly updates: number;
  readonly held: number;
}

/** Phase 1: every service and slice created; waits for the peer to hold every tracked /32. */
async function bulk(p: Parties, expected: number): Promise<Bulk> {
  const { o, api, peer } = p;
  peer.send({ type: 'watch', goal: expected });
  const before = await peerSample(p);
  const cpu0 = await kbgpCpu(p);
  const h0 = process.cpuUsage();
  const first = monoMs();
  for (let i = 0; i < o.services; i++) {
    api.create('Service', service(i));
    api.create('EndpointSlice', endpointSlice(i, o.endpointsPerService, true));
    // Let the watch streams flush now and then, as a real API server's would.
    if ((i + 1) % o.batch === 0) await yieldTurn();
  }
  const last = monoMs();
  const hc = process.cpuUsage(h0);
  console.error(`created ${o.services} services and ${o.services} EndpointSlices in ${secs(last - first)}; waiting for ${expected} /32s at the peer ...`);
  const r = await waitForGoal(p, expected, first);
  const after = await peerSample(p, true);
  const cpu1 = await kbgpCpu(p);
  return {
    createMs: last - first,
    ...(r.at === undefined ? { timeout: r.timeout ?? 'no answer' } : { totalMs: r.at - first, afterLastMs: r.at - last }),
    kbgpCpuS: cpu1 - cpu0,
    harnessCpuS: (hc.user + hc.system) / 1e6,
    updates: after.updates - before.updates,
    held: after.held,
  };
}

interface Change {
  readonly index: number;
  readonly announce: boolean;
  readonly at: number;
}

interface Matched {
  readonly latencies: readonly number[];
  /** Changes with no event at the peer... */
  readonly unmatched: number;
  /** ...of which in pairs, a toggle and its undoing, that kbgp saw inside one window (nothing to send). */
  readonly cancelled: number;
  /** Changes of a tracked /32 at the peer that no API change explains. */
  readonly unexpected: number;
}

interface Steady extends Matched {
  /** API writes, and the /32 changes they should cause at the peer (two each with --cluster-ips). */
  readonly changes: number;
  readonly expected: number;
  readonly skipped: number;
  readonly elapsedMs: number;
  /** The worst lateness of a change against its schedule. */
  readonly maxLateMs: number;
  readonly kbgpCpuS: number;
  /** From the last change to the last event at the peer. */
  readonly drainMs: number;
  /** Why the wait for the peer ended. */
  readonly drainEnd: string;
}

/**
 * Phase 2: `rate` toggles a second for `seconds`; each matched to the peer's first event for that
 * /32 after it. `ready` (one byte per service, 1 = local endpoint ready) is kept up to date.
 */
async function steady(p: Parties, ready: Uint8Array): Promise<Steady> {
  const { o, api, peer } = p;
  const n = o.services;
  const total = o.rate * o.seconds;
  const interval = 1000 / o.rate;
  const spacing = Math.max(1000, 3 * o.windowMs);
  const touched = new Float64Array(n).fill(-Infinity);
  const changes: Change[] = [];
  let apiChanges = 0;
  let skipped = 0;
  let maxLate = 0;
  peer.send({ type: 'log', on: true });
  const cpu0 = await kbgpCpu(p);
  const start = monoMs() + 20;
  const hardStop = start + 2 * o.seconds * 1000 + 5000;
  for (let k = 0; k < total; k++) {
    const due = start + k * interval;
    const wait = due - monoMs();
    if (wait > 0) await sleep(wait);
    const now = monoMs();
    if (now > hardStop) break;
    maxLate = Math.max(maxLate, now - due);
    let index = -1;
    for (let t = 0; t < PICK_TRIES; t++) {
      const i = Math.floor(Math.random() * n);
      if (now - (touched[i] as number) >= spacing) {
        index = i;
        break;
      }
    }
    if (index < 0) {
      skipped++;
      continue;
    }
    const announce = ready[index] === 0;
    ready[index] = announce ? 1 : 0;
    touched[index] = now;
    const at = monoMs();
    api.update('EndpointSlice', endpointSlice(index, o.endpointsPerService, announce));
    // The peer's index i is the load-balancer /32 of service i; n + i its clusterIP /32.
    changes.push({ index, announce, at });
    if (o.clusterIps) changes.push({ index: n + index, announce, at });
    apiChanges++;
  }
  const lastAt = monoMs();
  const elapsedMs = lastAt - start;

  // Drain: until every change is matched, or kbgp has been idle and the peer silent for a while
  // (what is missing then is not coming), or --drain seconds.
  const drainUntil = lastAt + o.windowMs + o.drainS * 1000;
  const events: PeerEvent[] = [];
  let result = match(changes, events);
  let drainEnd = `--drain ${o.drainS} s over`;
  let prevCpu = await kbgpCpu(p);
  let lastActive = monoMs();
  for (let i = 0; i < (o.drainS * 1000 + o.windowMs) / DRAIN_POLL_MS + 2; i++) {
    const log = await peer.ask({ type: 'take-log', from: events.length }, 'log', p.deadline);
    events.push(...log.events);
    result = match(changes, events);
    const cpu = await kbgpCpu(p);
    const now = monoMs();
    if (log.events.length > 0 || !(cpu - prevCpu < DRAIN_BUSY_CPU_S)) lastActive = now;
    prevCpu = cpu;
    if (result.unmatched === 0) {
      drainEnd = 'every change seen';
      break;
    }
    if (now - lastActive >= DRAIN_IDLE_MS && now >= lastAt + o.windowMs + 1000) {
      drainEnd = `kbgp idle and the peer silent for ${DRAIN_IDLE_MS / 1000} s`;
      break;
    }
    if (now >= drainUntil) break;
    await sleep(DRAIN_POLL_MS);
  }
  const cpu1 = await kbgpCpu(p);
  peer.send({ type: 'log', on: false });
  const lastEvent = events.reduce((a, e) => Math.max(a, e.at), lastAt);
  return { changes: apiChanges, expected: changes.length, skipped, elapsedMs, maxLateMs: maxLate, ...result, kbgpCpuS: cpu1 - cpu0, drainMs: lastEvent - lastAt, drainEnd };
}

const DRAIN_POLL_MS = 200;
/** kbgp CPU within one poll above which it counts as still working. */
const DRAIN_BUSY_CPU_S = 0.02;
const DRAIN_IDLE_MS = 5000;

/**
 * Per /32, the API changes and the peer's events in time order: each change takes the first event
 * after it in its direction; events skipped over, or left over, are unexpected (a flap the API did
 * not ask for). Two unmatched changes in a row on one /32 (a toggle and its undoing) cancel: kbgp
 * saw both inside one coalescing window, so there was nothing to send.
 */
function match(changes: readonly Change[], events: readonly PeerEvent[]): Matched {
  const byIndex = new Map<number, PeerEvent[]>();
  for (const e of events) {
    const list = byIndex.get(e.index);
    if (list === undefined) byIndex.set(e.index, [e]);
    else list.push(e);
  }
  const cursor = new Map<number, number>();
  const pendingMiss = new Map<number, boolean>();
  const latencies: number[] = [];
  let unmatched = 0;
  let cancelled = 0;
  let unexpected = 0;
  for (const c of changes) {
    const list = byIndex.get(c.index) ?? [];
    let j = cursor.get(c.index) ?? 0;
    while (j < list.length && ((list[j] as PeerEvent).at < c.at || (list[j] as PeerEvent).announced !== c.announce)) {
      unexpected++;
      j++;
    }
    const e = list[j];
    if (e === undefined) {
      unmatched++;
      if (pendingMiss.get(c.index) === true) {
        cancelled += 2;
        pendingMiss.set(c.index, false);
      } else pendingMiss.set(c.index, true);
    } else {
      latencies.push(e.at - c.at);
      pendingMiss.set(c.index, false);
      j++;
    }
    cursor.set(c.index, j);
  }
  for (const [index, list] of byIndex) unexpected += list.length - (cursor.get(index) ?? 0);
  return { latencies, unmatched, cancelled, unexpected };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

interface Restart {
  /** The start command → the listener bound. */
  readonly listeningMs: number;
  /** The start command → the peer holding every /32. */
  readonly totalMs?: number;
  readonly timeout?: string;
  readonly kbgpCpuS: number;
  readonly sample?: KbgpSample;
}

/**
 * A kbgp that starts against the cluster as it is: start → the peer holding every /32, then (once
 * kbgp is quiet) a sample after a GC. `baseline` is kbgp's sample as its listener bound, before the
 * first list was in.
 */
async function sync(p: Parties, expected: number): Promise<Restart & { readonly baseline: KbgpSample }> {
  const { o } = p;
  const cpu0 = await kbgpCpu(p);
  const t0 = monoMs();
  p.kbgp.send({ type: 'start', yaml: configYaml(o), nodeName: NODE_NAME, kubeconfigPath: p.api.kubeconfigPath, logFile: p.logFile, logLevel: o.logLevel });
  const { baseline } = await p.kbgp.next('listening', p.deadline);
  const listeningMs = monoMs() - t0;
  p.peer.send({ type: 'connect', host: KBGP_ADDRESS, port: o.port, local: PEER_ADDRESS, asn: PEER_AS, holdTime: o.holdTime, ranges: expectedRanges(o), until: monoMs() + 20_000 });
  p.peer.send({ type: 'watch', goal: expected });
  const r = await waitForGoal(p, expected, t0);
  const cpu1 = await kbgpCpu(p);
  if (r.at === undefined) return { baseline, listeningMs, timeout: r.timeout ?? 'no answer', kbgpCpuS: cpu1 - cpu0 };
  await quiet(p);
  return { baseline, listeningMs, totalMs: r.at - t0, kbgpCpuS: cpu1 - cpu0, sample: await kbgpSample(p, true) };
}

/** Phase 4, for comparison: a fresh kbgp (and peer) against the cluster as it is, every local endpoint ready again. */
async function restart(o: Options, api: K8sApiServer, deadline: number, logFile: string, ready: Uint8Array, expected: number): Promise<Restart> {
  for (let i = 0; i < o.services; i++) if (ready[i] === 0) api.update('EndpointSlice', endpointSlice(i, o.endpointsPerService, true));
  ready.fill(1);
  const p = await launch(o, api, deadline, logFile, 'restart');
  try {
    return await sync(p, expected);
  } finally {
    await stopParties(p);
  }
}

// ---------------------------------------------------------------------------------------------

function versionLine(): string {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  let version = '?';
  try {
    version = String((JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version?: unknown }).version);
  } catch {
    // left as '?'
  }
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a checkout
  }
  const cpu = cpus();
  return `kbgp ${version} (commit ${commit}, working tree as built), node ${process.version}, ${process.platform} ${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`;
}

/** kbgp's log lines at warn or above before `until` (epoch ms; the stops are ours): count per message. */
function logProblems(file: string, until: number): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const j = JSON.parse(line) as { level?: unknown; msg?: unknown; kind?: unknown; time?: unknown };
      if (typeof j.level !== 'number' || j.level < 40 || (typeof j.time === 'number' && j.time >= until)) continue;
      const key = `${j.level >= 50 ? 'error' : 'warn'}: ${String(j.msg)}${typeof j.kind === 'string' ? ` (${j.kind})` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // a partial last line
    }
  }
  return [...counts].map(([k, v]) => `${v} × ${k}`);
}

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

function printBulk(o: Options, expected: number, b: Bulk | undefined, quietMs: number): void {
  if (o.preload) {
    console.log(`(1) bulk: not run (--preload: the services existed before kbgp started; see (4))`);
    return;
  }
  console.log(`(1) bulk: ${o.services} services + ${o.services} EndpointSlices created in ${b === undefined ? '-' : secs(b.createMs)} (the harness yields to its event loop every ${o.batch} services)`);
  if (b === undefined) {
    console.log('    not run');
    return;
  }
  if (b.timeout !== undefined) console.log(`    ${b.timeout}   (target < 2 s after the last event: MISSED)`);
  else {
    console.log(`    first create → last /32 at the peer     ${secs(b.totalMs ?? NaN)}`);
    console.log(`    last API event → last /32 at the peer   ${secs(b.afterLastMs ?? NaN)}   (target < 2 s: ${verdict((b.afterLastMs ?? Infinity) < 2000)})`);
  }
  console.log(
    `    kbgp CPU ${b.kbgpCpuS.toFixed(2)} s (${((b.kbgpCpuS * 1e6) / (2 * o.services)).toFixed(0)} µs per API event); the harness (API server) used ${b.harnessCpuS.toFixed(2)} s CPU creating; ` +
      `${b.updates} UPDATEs to the peer; the peer holds ${b.held}/${expected}${b.timeout === undefined ? `; kbgp quiet ${secs(quietMs)} later` : ''}`,
  );
}

function printSteady(o: Options, s: Steady | undefined): void {
  console.log(`(2) steady churn: ${o.rate} changes/s for ${o.seconds} s, each the local endpoint of a random service going not-ready (withdraw) or ready again (announce)`);
  if (s === undefined) {
    console.log('    not run');
    return;
  }
  const l = [...s.latencies].sort((x, y) => x - y);
  const p99 = percentile(l, 0.99);
  console.log(
    `    ${s.changes} changes in ${secs(s.elapsedMs)} (${((s.changes * 1000) / s.elapsedMs).toFixed(0)}/s, worst lateness ${secs(s.maxLateMs)}${s.skipped > 0 ? `, ${s.skipped} skipped: no service untouched for a second` : ''}); ` +
      `${s.expected > s.changes ? `${s.expected} /32 changes expected, ` : ''}${l.length} seen at the peer, ${s.unmatched} never seen${s.cancelled > 0 ? ` (${s.cancelled} of them toggles that kbgp saw undone inside one window)` : ''}, ${s.unexpected} unexpected /32 changes; ` +
      `wait ended: ${s.drainEnd}, last UPDATE ${secs(s.drainMs)} after the last change`,
  );
  if (l.length > 0) {
    const mean = l.reduce((a, x) => a + x, 0) / l.length;
    const f = (x: number | undefined): string => (x === undefined ? '-' : x < 10_000 ? `${x.toFixed(1)} ms` : `${(x / 1000).toFixed(2)} s`);
    console.log(`    API write → UPDATE at the peer${s.expected > s.changes ? ' (per /32)' : ''}: min ${f(l[0])}, p50 ${f(percentile(l, 0.5))}, p90 ${f(percentile(l, 0.9))}, p99 ${f(p99)}, max ${f(l[l.length - 1])}, mean ${f(mean)}`);
    console.log(`    p99 − coalescing window (${o.windowMs} ms) = ${f(p99 - o.windowMs)}   (target < 50 ms: ${verdict(p99 - o.windowMs < 50 && s.unmatched === 0)})`);
  }
  const busyMs = Math.max(1, s.elapsedMs + s.drainMs);
  console.log(`    kbgp CPU ${s.kbgpCpuS.toFixed(2)} s from the first change to the last UPDATE (${((s.kbgpCpuS * 1000) / busyMs).toFixed(2)} of a core; ${s.changes > 0 ? ((s.kbgpCpuS * 1e3) / s.changes).toFixed(2) : '-'} ms per change)`);
}

function printMemory(o: Options, empty: KbgpSample | undefined, loaded: KbgpSample | undefined, r: Restart | undefined): void {
  const e = o.endpointsPerService;
  console.log('(3) kbgp memory, after a forced GC (heap used; RSS as the kernel counts it)');
  const at = o.preload ? 'before the first list was in' : 'empty cluster, session up';
  if (empty !== undefined) console.log(`    ${at}: heap ${mib(empty.heapUsed)}, RSS ${mib(empty.rss)}`);
  if (loaded === undefined) console.log('    with every service: not measured');
  else {
    const objs = Object.entries(loaded.objects).map(([k, v]) => `${v} ${k}`).join(', ');
    console.log(`    ${o.services} services, ${o.services * e} endpoints (${o.services} on this node), ${o.preload ? 'synced from the lists' : 'after (1)'}: heap ${mib(loaded.heapUsed)}, RSS ${mib(loaded.rss)} (heap total ${mib(loaded.heapTotal)}, external ${mib(loaded.external)})`);
    if (empty !== undefined) console.log(`    difference: heap ${mib(loaded.heapUsed - empty.heapUsed)} (${((loaded.heapUsed - empty.heapUsed) / 1024 / o.services).toFixed(1)} KiB per service with its slice of ${e}), RSS ${mib(loaded.rss - empty.rss)}`);
    console.log(`    kbgp's stores: ${objs}; ${loaded.intents} prefixes originated (the /32s and the ${LB_RANGE} range)`);
  }
  if (r?.sample !== undefined && !o.preload) {
    const objs = Object.entries(r.sample.objects).map(([k, v]) => `${v} ${k}`).join(', ');
    console.log(`    the same cluster in a fresh kbgp, from one list (4): heap ${mib(r.sample.heapUsed)}, RSS ${mib(r.sample.rss)} (${objs}; ${r.sample.intents} prefixes)`);
  }
}

function printRestart(o: Options, expected: number, r: Restart | undefined): void {
  console.log(
    `(4) ${o.preload ? '' : 'for comparison: '}a fresh kbgp started against the ${o.services} services already there (one paginated list per kind, not an event per object)` +
      (o.preload ? '; (2) ran on this kbgp afterwards' : ''),
  );
  if (r === undefined) {
    console.log('    not run');
    return;
  }
  const end = r.timeout ?? `start → last of ${expected} /32s at the peer ${secs(r.totalMs ?? NaN)}`;
  console.log(`    ${end} (listening after ${secs(r.listeningMs)}); kbgp CPU ${r.kbgpCpuS.toFixed(2)} s`);
}

async function main(): Promise<void> {
  const o = options();
  const began = performance.now();
  const budgetS = 180 + 2 * o.timeoutS + 2 * QUIET_MAX_MS / 1000 + 2 * o.seconds + 5 + o.drainS;
  const deadline = began + budgetS * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-bench-services-'));
  const logFile = join(dir, 'kbgp.log');
  const killAll = (): void => {
    for (const c of children) c.kill();
  };
  process.on('exit', killAll);
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    killAll();
    process.exit(143);
  });
  setTimeout(() => {
    console.error('hard deadline: killing kbgp and the peer');
    killAll();
    process.exit(1);
  }, (budgetS + 30) * 1000).unref();

  const expected = o.services * (o.clusterIps ? 2 : 1);
  const e = o.endpointsPerService;
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  console.log(`kbgp Kubernetes services: ${versionLine()}`);
  console.log(
    `${o.services} LoadBalancer services, externalTrafficPolicy Local, ingress IPs from 10.200.0.1 (serviceLoadBalancerIPs ${LB_RANGE})` +
      (o.clusterIps ? `, clusterIP /32s too (serviceClusterIPs ${CLUSTER_RANGE})` : ', clusterIPs not advertised (no serviceClusterIPs)') +
      `; one EndpointSlice each with ${e} ready endpoints: 1 on this node (${NODE_NAME})${e > 1 ? `, ${e - 1} on ${otherNode(1)}..${otherNode(e - 1)}` : ''}` +
      ` = ${o.services * e} endpoints; ${expected} /32s expected at the peer`,
  );
  console.log(
    `kbgp ${KBGP_ADDRESS}:${o.port} in its own process (--expose-gc); the API server (test/helpers/k8s-api-server.ts) in this one on ${KBGP_ADDRESS}:${o.port + 1}; ` +
      `the peer ${PEER_ADDRESS} AS ${PEER_AS} in a third. coalesceWindow ${o.windowMs} ms, minFlapInterval 0 s (damping off: this measures the pipeline); hold time ${o.holdTime} s`,
  );

  const api = await startK8sApiServer({ host: KBGP_ADDRESS, port: o.port + 1, bookmarkIntervalMs: 1000, historyLimit: 4 * o.services + 2 * o.rate * o.seconds + 1000 });
  api.create('Node', { metadata: { name: NODE_NAME, labels: {} } });
  for (let j = 1; j < e; j++) api.create('Node', { metadata: { name: otherNode(j), labels: {} } });

  let failed = false;
  let empty: KbgpSample | undefined;
  let loaded: KbgpSample | undefined;
  let b: Bulk | undefined;
  let s: Steady | undefined;
  let r: Restart | undefined;
  let quietMs = 0;
  let peerEnd: PeerSample | undefined;
  let stoppedAt = Date.now();
  const ready = new Uint8Array(o.services).fill(1);
  try {
    if (o.preload) {
      console.error(`--preload: creating ${o.services} services before kbgp starts ...`);
      for (let i = 0; i < o.services; i++) {
        api.create('Service', service(i));
        api.create('EndpointSlice', endpointSlice(i, o.endpointsPerService, true));
      }
    }
    const p = await launch(o, api, deadline, logFile, o.preload ? 'preload' : 'events');
    try {
      let steadyOk = false;
      if (o.preload) {
        // (4) on this kbgp: it syncs from the lists; (3) is its sample once quiet; then (2).
        const first = await sync(p, expected);
        r = first;
        empty = first.baseline;
        if (first.sample !== undefined) loaded = first.sample;
        steadyOk = first.timeout === undefined;
      } else {
        await connect(p);
        // kbgp's End-of-RIB: its watcher has synced (an empty cluster) and its restart is over.
        for (let i = 0; i < 100 && (await peerSample(p)).endOfRibAt === undefined; i++) await sleep(100);
        await quiet(p);
        empty = await kbgpSample(p, true);
        console.error(`phase 1: creating ${o.services} services ...`);
        b = await bulk(p, expected);
        if (b.timeout === undefined) {
          quietMs = await quiet(p);
          loaded = await kbgpSample(p, true);
          steadyOk = true;
        }
      }
      if (steadyOk) {
        console.error(`phase 2: ${o.rate} changes/s for ${o.seconds} s ...`);
        s = await steady(p, ready);
      }
      peerEnd = await peerSample(p, true);
    } finally {
      stoppedAt = Date.now();
      await stopParties(p);
    }
    // Every object exists even when (1) did not finish: (4) still says what one list costs.
    if (!o.preload && b !== undefined && !o.noRestart) {
      console.error('phase 4: a fresh kbgp against the full cluster ...');
      r = await restart(o, api, deadline, logFile, ready, expected);
    }
  } catch (err) {
    failed = true;
    console.error(`stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    killAll();
    await api.close();
  }

  console.log('');
  printBulk(o, expected, b, quietMs);
  console.log('');
  printSteady(o, s);
  console.log('');
  printMemory(o, empty, loaded, r);
  console.log('');
  printRestart(o, expected, r);
  if (peerEnd !== undefined) {
    console.log('');
    console.log(
      `the peer, over (1)-(2)${o.preload ? ' (here (4)-(2))' : ''}: ${peerEnd.updates} UPDATEs, ${peerEnd.announcements} announcements and ${peerEnd.withdrawals} withdrawals of tracked /32s ` +
        `(${peerEnd.duplicates} of a /32 already held), other prefixes ${peerEnd.other.join(' ') || 'none'}; longest silence from kbgp ${secs(peerEnd.maxSilenceMs)}` +
        (peerEnd.failure === undefined ? '' : `; session failed: ${peerEnd.failure}`),
    );
  }
  const problems = logProblems(logFile, stoppedAt);
  if (problems.length > 0) {
    console.log('');
    console.log(`kbgp logged at warn or above before the bench stopped it (${logFile}${o.keep ? '' : ', removed'}):`);
    for (const x of problems.slice(0, 10)) console.log(`    ${x}`);
  }
  if (o.cpuProfDir !== undefined) console.log(`kbgp CPU profiles: ${o.cpuProfDir}/kbgp-services-{events,restart,preload}-${process.pid}.cpuprofile`);
  if (o.keep) console.log(`work directory kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  console.log(`load average (1 min) at the start ${load0}, at the end ${loadavg()[0]?.toFixed(2) ?? '?'}: other work on the machine shows in every figure`);
  console.log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
  if (failed || b?.timeout !== undefined || r?.timeout !== undefined) process.exitCode = 1;
}

await main();
