/**
 * Graceful restart (RFC 4724, with RFC 8538's N bit) against FRR 8.4 bgpd, in both roles, with real
 * crashes: SIGKILL by PID, so no NOTIFICATION and no Cease, only the TCP connection going away.
 *
 * A. kbgp restarts, FRR helps. kbgp runs as its own OS process (test/helpers/kbgp-process.ts),
 *    originating three /32s to FRR over eBGP. Once FRR holds them the process is SIGKILLed and a new
 *    one starts from the same configuration. FRR's view is sampled every ~200 ms from the kill until
 *    kbgp is back: the routes are there at every sample, stale while kbgp is away, fresh once FRR
 *    has kbgp's End-of-RIB, and FRR's table version never moves, so no withdrawal or sweep slipped
 *    in between two samples either. FRR's neighbor view then shows the capability kbgp sent after
 *    the restart: restart time 120, R and N bits, F bit for IPv4 and IPv6 unicast.
 * B. FRR restarts, kbgp helps. kbgp runs in-process; FRR (preserve-fw-state, so its new OPEN carries
 *    the F bit) announces three /32s, its bgpd is SIGKILLed and started again announcing two. kbgp
 *    holds all three, stale, while FRR is away and until FRR's End-of-RIB, then sweeps the third;
 *    Adj-RIB-In and Loc-RIB end with the two, fresh.
 * B'. The same without preserve-fw-state: FRR's new OPEN has no F bit, so kbgp drops the stale
 *    routes the moment the session is back (RFC 4724 §4.2), not at End-of-RIB.
 *
 * Addresses: 127.0.11.0/24 only, one block of ten per scenario (127.0.11.<10n+1>, <10n+2>); kbgp
 * listens on 11600 + the last octet of its address, FRR on port 179 of its own.
 *
 * FRR's JSON relied on (8.4.4): a path's `stale` (table and per-prefix views), the table's
 * `tableVersion`; per neighbor `bgpState`, `connectionsEstablished`,
 * `gracefulRestartInfo.{endOfRibRecv.ipv4Unicast, rBit, nBit, remoteGrMode, timers.receivedRestartTimer,
 * ipv4Unicast.fBit, ipv6Unicast.fBit}` and `neighborCapabilities.{gracefulRestart,
 * gracefulRestartRemoteTimerMsecs, addressFamiliesByPeer.<af>.preserved}`.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IPV4_UNICAST, formatPrefix } from '../../src/bgp/index.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type KbgpSpec, type Kbgp, removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import { type KbgpLogLine, type KbgpProcess, readKbgpLog, removeKbgpProcessLogs, startKbgpProcess, stopAllKbgpProcesses } from '../helpers/kbgp-process.js';
import { ROUTER_BINARIES, type RouteSpec, type RouterSpec, frrPath, startFrr, stopAllRouters, waitFor } from '../helpers/routers.js';
import { arr, num, obj, parseJsonSequence, sleep, str } from '../helpers/routers/common.js';

afterEach(async () => {
  await stopAllKbgpProcesses();
  await stopAllKbgp();
  await stopAllRouters();
});
afterAll(() => {
  removeKbgpLogs();
  removeKbgpProcessLogs();
});

type Frr = Awaited<ReturnType<typeof startFrr>>;

const KBGP_AS = 64512;
const FRR_AS = 65011;
const ROUTE_TIMEOUT = 20_000;
/** How often the helper's view is sampled while the other side restarts. */
const SAMPLE_MS = 200;
/** Samples taken while the restarting side is away, before it is started again. */
const DOWN_SAMPLES = 5;
/** Samples taken once it is back with its End-of-RIB: nothing may change after it either. */
const SETTLE_SAMPLES = 5;
/** Bounds on one sampling run: long enough for a vite-node start on a slow machine. */
const MAX_SAMPLES = 300;
const MAX_SAMPLING_MS = 45_000;

const kbgpPort = (address: string): number => 11600 + Number(address.split('.')[3]);

// ---------------------------------------------------------------------------------------------
// Sampling

/**
 * Calls `probe` every SAMPLE_MS until `done` holds for a sample, or MAX_SAMPLES / `maxMs` run out
 * (then `reached` is false and the caller fails with the samples in the message).
 */
async function sampleUntil<S>(probe: () => Promise<S>, done: (s: S) => boolean, maxMs = MAX_SAMPLING_MS): Promise<{ samples: S[]; reached: boolean }> {
  const samples: S[] = [];
  const deadline = Date.now() + maxMs;
  for (let i = 0; i < MAX_SAMPLES && Date.now() < deadline; i++) {
    const started = Date.now();
    const s = await probe();
    samples.push(s);
    if (done(s)) return { samples, reached: true };
    await sleep(Math.max(0, SAMPLE_MS - (Date.now() - started)));
  }
  return { samples, reached: false };
}

/** A `done` for sampleUntil: true once `pred` has held for `n` samples (not necessarily in a row). */
function nthTime<S>(n: number, pred: (s: S) => boolean): (s: S) => boolean {
  let seen = 0;
  return (s) => (seen += pred(s) ? 1 : 0) >= n;
}

/** Runs `action` in the background while sampling; its failure is rethrown once sampling is over. */
function inBackground<T>(action: () => Promise<T>): { settled: () => Promise<T> } {
  const p = action();
  // Observed now, so a failure during sampling is not an unhandled rejection; rethrown by settled().
  p.catch(() => undefined);
  return { settled: () => p };
}

// ---------------------------------------------------------------------------------------------
// A: FRR's view of kbgp's routes

interface FrrSample {
  /** Milliseconds since the kill. */
  readonly at: number;
  readonly state: string;
  readonly connections: number;
  /** FRR has kbgp's IPv4 End-of-RIB on the current session. */
  readonly eor: boolean;
  readonly tableVersion: number;
  /** Paths learned from kbgp, by prefix: whether FRR marks each stale, and whether it is best. */
  readonly routes: ReadonlyMap<string, { readonly stale: boolean; readonly best: boolean }>;
}

/**
 * One consistent look at FRR, in a single vtysh call: the table (for its version), the neighbor,
 * and each prefix's detail (through the driver's frrPath, which reads `stale`).
 */
async function sampleFrr(frr: Frr, kAddr: string, prefixes: readonly string[], t0: number): Promise<FrrSample> {
  const docs = parseJsonSequence(await frr.vtysh('show bgp ipv4 unicast json', `show bgp neighbors ${kAddr} json`, ...prefixes.map((p) => `show bgp ipv4 unicast ${p} json`)));
  const [table, neighbors, ...details] = docs;
  const n = obj(obj(neighbors)[kAddr]);
  const routes = new Map<string, { stale: boolean; best: boolean }>();
  for (const d of details) {
    const prefix = str(obj(d).prefix);
    if (prefix === undefined) continue;
    for (const p of arr(obj(d).paths)) {
      const r = frrPath(prefix, p, 'ipv4');
      if (r.fromPeer === kAddr) routes.set(r.prefix, { stale: r.stale === true, best: r.best === true });
    }
  }
  return {
    at: Date.now() - t0,
    state: str(n.bgpState) ?? '?',
    connections: num(n.connectionsEstablished) ?? 0,
    eor: obj(obj(n.gracefulRestartInfo).endOfRibRecv).ipv4Unicast === true,
    tableVersion: num(obj(table).tableVersion) ?? -1,
    routes,
  };
}

function showFrrSample(s: FrrSample): string {
  const routes = [...s.routes].map(([p, r]) => `${p}${r.stale ? '(stale)' : ''}${r.best ? '' : '(not best)'}`).join(' ');
  return `+${s.at}ms ${s.state} conn=${s.connections} eor=${s.eor} v=${s.tableVersion} [${routes}]`;
}

/** FRR's neighbor view of kbgp's graceful restart capability, reduced to what A checks. */
async function frrGrView(frr: Frr, kAddr: string): Promise<object> {
  const n = obj(obj(JSON.parse(await frr.vtysh(`show bgp neighbors ${kAddr} json`)))[kAddr]);
  const caps = obj(n.neighborCapabilities);
  const byPeer = obj(caps.addressFamiliesByPeer);
  const gr = obj(n.gracefulRestartInfo);
  return {
    capability: caps.gracefulRestart,
    remoteRestartTimerMsecs: caps.gracefulRestartRemoteTimerMsecs,
    receivedRestartTimer: obj(gr.timers).receivedRestartTimer,
    remoteGrMode: gr.remoteGrMode,
    rBit: gr.rBit,
    nBit: gr.nBit,
    fBit: { ipv4Unicast: obj(gr.ipv4Unicast).fBit, ipv6Unicast: obj(gr.ipv6Unicast).fBit },
    preserved: { ipv4Unicast: obj(byPeer.ipv4Unicast).preserved, ipv6Unicast: obj(byPeer.ipv6Unicast).preserved },
  };
}

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr) === undefined)('kbgp restarts, FRR helps', () => {
  it('FRR keeps kbgp\'s routes through a SIGKILL and a new kbgp process: present at every sample, stale while kbgp is away, fresh after its End-of-RIB, never withdrawn or swept', { timeout: 120_000 }, async () => {
    const kAddr = '127.0.11.1';
    const frrAddr = '127.0.11.2';
    const ours: RouteSpec[] = [{ prefix: '10.111.0.1/32' }, { prefix: '10.111.0.2/32' }, { prefix: '10.111.0.3/32' }];
    const prefixes = ours.map((r) => r.prefix);
    const spec: KbgpSpec = {
      name: 'gr-restarting',
      address: kAddr,
      port: kbgpPort(kAddr),
      asn: KBGP_AS,
      routerId: '10.11.0.1',
      ipv4Address: kAddr,
      peers: [{ address: frrAddr, port: 179, asn: FRR_AS, maxRestartTime: '120s' }],
      originate: ours,
    };
    let k: KbgpProcess = await startKbgpProcess(spec);
    // IPv6 unicast too, so that FRR reports kbgp's F bit for both families kbgp announces.
    const frr = await startFrr({ routerId: '10.11.0.2', asn: FRR_AS, address: frrAddr, gracefulRestart: {}, peers: [{ address: kAddr, port: kbgpPort(kAddr), asn: KBGP_AS, ipv6: true }] });
    const ctx = (): string => `\n${k.logTail(40)}\n${frr.logTail(20)}`;
    const t0 = Date.now();
    // FRR runs its best-path selection (and bumps the table version) from a work queue after the
    // UPDATE is stored: wait until the routes are best and the version holds still.
    const settled = (s: FrrSample): boolean => s.state === 'Established' && s.eor && s.routes.size === ours.length && [...s.routes.values()].every((r) => r.best);
    let previous: FrrSample | undefined;
    const first = await waitFor(
      async () => {
        const s = await sampleFrr(frr, kAddr, prefixes, t0);
        const steady = previous !== undefined && settled(previous) && settled(s) && previous.tableVersion === s.tableVersion;
        previous = s;
        return steady ? s : undefined;
      },
      ROUTE_TIMEOUT,
      () => `FRR to hold kbgp's ${ours.length} routes as best, with its End-of-RIB; last: ${previous === undefined ? '-' : showFrrSample(previous)}${ctx()}`,
    );
    expect([...first.routes.values()].some((r) => r.stale), 'nothing stale before the restart').toBe(false);

    const firstPid = k.pid;
    await k.kill('SIGKILL');
    const killedAt = Date.now();
    const sample = (): Promise<FrrSample> => sampleFrr(frr, kAddr, prefixes, killedAt);
    // Away: FRR has noticed (the session is no longer Established) for DOWN_SAMPLES samples.
    const away = await sampleUntil(sample, nthTime(DOWN_SAMPLES, (s) => s.state !== 'Established'));
    // Back: a new process, sampled until FRR has its End-of-RIB on the new session.
    const restart = inBackground(() => startKbgpProcess(spec));
    const back = await sampleUntil(sample, (s) => s.state === 'Established' && s.connections > first.connections && s.eor);
    k = await restart.settled();
    const settle = back.reached ? await sampleUntil(sample, nthTime(SETTLE_SAMPLES, () => true)) : { samples: [], reached: false };
    const samples = [...away.samples, ...back.samples, ...settle.samples];
    const log = (): string => `samples:\n${samples.map(showFrrSample).join('\n')}${ctx()}`;
    expect(away.reached && back.reached, `FRR to see kbgp away and back with its End-of-RIB; ${log()}`).toBe(true);

    const violations: string[] = [];
    for (const s of samples) {
      const missing = prefixes.filter((p) => !s.routes.has(p));
      if (missing.length > 0) violations.push(`${showFrrSample(s)}: ${missing.join(', ')} missing`);
      // The old session, until FRR has read the connection's end, may still show the routes fresh.
      const oldSession = s.state === 'Established' && s.connections === first.connections;
      if (s.state !== 'Established' && [...s.routes.values()].some((r) => !r.stale)) violations.push(`${showFrrSample(s)}: not stale while kbgp is away`);
      if (!oldSession && s.eor && [...s.routes.values()].some((r) => r.stale)) violations.push(`${showFrrSample(s)}: still stale after kbgp's End-of-RIB`);
      // Every best-path change bumps it: a withdrawal or sweep and the route learned again would
      // move it even if both fell between two samples.
      if (s.tableVersion !== first.tableVersion) violations.push(`${showFrrSample(s)}: table version moved from ${first.tableVersion}`);
    }
    expect(violations, log()).toEqual([]);
    expect(samples.filter((s) => s.state !== 'Established').length, 'samples while kbgp was away').toBeGreaterThanOrEqual(DOWN_SAMPLES);
    const last = samples[samples.length - 1];
    expect(last === undefined ? undefined : [...last.routes].map(([p, r]) => [p, r.stale]), log()).toEqual(prefixes.map((p) => [p, false]));

    // What FRR saw of kbgp's capability on the new session: its OPEN was sent while kbgp was
    // restarting (R), keeping forwarding state (F) for both unicast families.
    expect(await frrGrView(frr, kAddr), ctx()).toEqual({
      capability: 'advertisedAndReceived',
      remoteRestartTimerMsecs: 120_000,
      receivedRestartTimer: 120,
      remoteGrMode: 'Restart',
      rBit: true,
      nBit: true,
      fBit: { ipv4Unicast: true, ipv6Unicast: true },
      preserved: { ipv4Unicast: true, ipv6Unicast: true },
    });
    // One session per life: the new process did not flap on its way back. (Its log is written
    // asynchronously: FRR can show the session before the new process's line is in the file.)
    const newPid = k.pid;
    await k.waitForLog((l) => l.msg === 'session established' && l.pid === newPid, 2_000, "the new process's 'session established'");
    expect(k.log().filter((l) => l.msg === 'session established').map((l) => l.pid), ctx()).toEqual([firstPid, k.pid]);
  });
});

// ---------------------------------------------------------------------------------------------
// B: kbgp's view of FRR's routes

interface KbgpSample {
  readonly at: number;
  readonly state: string;
  /** The session FRR is on: the one before the kill (kbgp has not read its end yet), or the next. */
  readonly session: 'old' | 'new';
  /** Adj-RIB-In from FRR: prefix → stale. */
  readonly received: ReadonlyMap<string, boolean>;
  readonly locRib: readonly string[];
  /** FRR's End-of-RIB on the new session is in kbgp's log. */
  readonly eorLogged: boolean;
}

/**
 * Synchronous on purpose: kbgp runs in this process, so no message is handled between these reads
 * and the sample is one consistent state (the log is written synchronously, before the sweep).
 */
function sampleKbgp(k: Kbgp, frrAddr: string, t0: number): KbgpSample {
  const received = new Map(k.received(frrAddr).map((r) => [formatPrefix(r.prefix), r.stale === true] as const));
  const locRib = k.daemon.routes().map((e) => formatPrefix(e.prefix)).sort();
  const status = k.status(frrAddr);
  // The first session's End-of-RIB is the first line.
  return { at: Date.now() - t0, state: status.state, session: status.downHistory.length === 0 ? 'old' : 'new', received, locRib, eorLogged: eorLines(k).length > 1 };
}

function showKbgpSample(s: KbgpSample): string {
  return `+${s.at}ms ${s.state} (${s.session} session) eor=${s.eorLogged} adj-rib-in [${[...s.received].map(([p, stale]) => `${p}${stale ? '(stale)' : ''}`).join(' ')}] loc-rib [${s.locRib.join(' ')}]`;
}

const kbgpLog = (k: Kbgp): KbgpLogLine[] => readKbgpLog(k.logFile);
const eorLines = (k: Kbgp): KbgpLogLine[] => kbgpLog(k).filter((l) => l.msg === 'End-of-RIB received' && l.afi === 1);

/**
 * kbgp helping FRR through a SIGKILL: FRR announces three routes, is killed once kbgp has them and
 * its End-of-RIB, and comes back announcing the first two. kbgp's view is sampled from the kill
 * until it has FRR's new End-of-RIB and nothing stale, then a little longer.
 */
async function frrRestart(opts: { base: number; preserveForwardingState: boolean }): Promise<{ k: Kbgp; frr: Frr; samples: KbgpSample[]; reached: boolean; ctx: () => string }> {
  const kAddr = `127.0.11.${opts.base + 1}`;
  const frrAddr = `127.0.11.${opts.base + 2}`;
  const before: RouteSpec[] = [1, 2, 3].map((i) => ({ prefix: `10.112.${opts.base}.${i}/32` }));
  const frrSpec = (routes: RouteSpec[]): RouterSpec => ({
    routerId: `10.11.${opts.base}.2`,
    asn: FRR_AS,
    address: frrAddr,
    gracefulRestart: { restartTime: 90, preserveForwardingState: opts.preserveForwardingState },
    routes,
    peers: [{ address: kAddr, port: kbgpPort(kAddr), asn: KBGP_AS }],
  });
  const k = await startKbgp({
    name: `gr-helper-${opts.base}`,
    address: kAddr,
    port: kbgpPort(kAddr),
    asn: KBGP_AS,
    routerId: `10.11.${opts.base}.1`,
    ipv4Address: kAddr,
    peers: [{ address: frrAddr, port: 179, asn: FRR_AS, maxRestartTime: '120s' }],
  });
  let frr = await startFrr(frrSpec(before));
  const ctx = (): string => `\n${k.describe(40)}\n${frr.logTail(20)}`;
  await waitFor(async () => (k.received(frrAddr).length === before.length && eorLines(k).length === 1 ? true : undefined), ROUTE_TIMEOUT, () => `FRR's ${before.length} routes and End-of-RIB at kbgp${ctx()}`, 50);
  expect(k.received(frrAddr).some((r) => r.stale === true), 'nothing stale before the restart').toBe(false);
  // What FRR's first OPEN told kbgp: its restart time and (or not) the F bit.
  const gr = k.status(frrAddr).negotiated?.gracefulRestart;
  expect({ restartTime: gr?.restartTime, forwardingState: gr?.forwardingState.has(IPV4_UNICAST) }).toEqual({ restartTime: 90, forwardingState: opts.preserveForwardingState });

  await frr.kill();
  const t0 = Date.now();
  const sample = async (): Promise<KbgpSample> => sampleKbgp(k, frrAddr, t0);
  const away = await sampleUntil(sample, nthTime(DOWN_SAMPLES, (s) => s.state !== 'Established'));
  // The same address and router ID, one route fewer.
  const restart = inBackground(() => startFrr(frrSpec(before.slice(0, 2))));
  const back = await sampleUntil(sample, (s) => s.state === 'Established' && s.eorLogged && s.received.size === 2 && ![...s.received.values()].some(Boolean));
  frr = await restart.settled();
  const settle = back.reached ? await sampleUntil(sample, nthTime(SETTLE_SAMPLES, () => true)) : { samples: [], reached: false };
  return { k, frr, samples: [...away.samples, ...back.samples, ...settle.samples], reached: away.reached && back.reached, ctx };
}

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr) === undefined)('FRR restarts, kbgp helps', () => {
  it('with the F bit: kbgp keeps FRR\'s three routes, stale, through the SIGKILL and the new session until FRR\'s End-of-RIB, then sweeps the one not sent again', { timeout: 120_000 }, async () => {
    const { k, frr, samples, reached, ctx } = await frrRestart({ base: 10, preserveForwardingState: true });
    const [kept1, kept2, gone] = ['10.112.10.1/32', '10.112.10.2/32', '10.112.10.3/32'];
    const log = (): string => `samples:\n${samples.map(showKbgpSample).join('\n')}${ctx()}`;
    expect(reached, `FRR away and back with its End-of-RIB; ${log()}`).toBe(true);

    const violations: string[] = [];
    for (const s of samples) {
      const has = (p: string | undefined): boolean => p !== undefined && s.received.has(p) && s.locRib.includes(p);
      if (!has(kept1) || !has(kept2)) violations.push(`${showKbgpSample(s)}: a route FRR sends again is missing`);
      // FRR's End-of-RIB, and nothing before it, takes the third one.
      if (!s.eorLogged && !has(gone)) violations.push(`${showKbgpSample(s)}: ${gone} swept before FRR's End-of-RIB`);
      if (s.eorLogged && (s.received.has(gone) || s.locRib.includes(gone))) violations.push(`${showKbgpSample(s)}: ${gone} kept after FRR's End-of-RIB`);
      if (s.state !== 'Established' && [...s.received.values()].some((stale) => !stale)) violations.push(`${showKbgpSample(s)}: not stale while FRR is away`);
      if (s.eorLogged && [...s.received.values()].some(Boolean)) violations.push(`${showKbgpSample(s)}: still stale after FRR's End-of-RIB`);
    }
    expect(violations, log()).toEqual([]);
    expect(samples.filter((s) => s.state !== 'Established').length, 'samples while FRR was away').toBeGreaterThanOrEqual(DOWN_SAMPLES);

    // After the End-of-RIB: the two, fresh, in Adj-RIB-In and Loc-RIB; the third swept at it.
    expect(k.received(frr.spec.address).map((r) => [formatPrefix(r.prefix), r.stale === true]).sort(), log()).toEqual([[kept1, false], [kept2, false]]);
    expect(k.daemon.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual([kept1, kept2]);
    const sweeps = kbgpLog(k).filter((l) => l.msg === 'graceful restart: stale routes the peer did not send again swept');
    expect(sweeps.map((l) => ({ afi: l.afi, swept: l.swept })), log()).toEqual([{ afi: 1, swept: 1 }]);
    // The new OPEN kept the F bit and the restart time.
    const gr = k.status(frr.spec.address).negotiated?.gracefulRestart;
    expect({ restartTime: gr?.restartTime, forwardingState: gr?.forwardingState.has(IPV4_UNICAST) }).toEqual({ restartTime: 90, forwardingState: true });
  });

  it('without the F bit: kbgp drops FRR\'s stale routes as soon as the new session is up, not at End-of-RIB (RFC 4724 §4.2)', { timeout: 120_000 }, async () => {
    const { k, frr, samples, reached, ctx } = await frrRestart({ base: 20, preserveForwardingState: false });
    const gone = '10.112.20.3/32';
    const log = (): string => `samples:\n${samples.map(showKbgpSample).join('\n')}${ctx()}`;
    expect(reached, `FRR away and back with its End-of-RIB; ${log()}`).toBe(true);

    const violations: string[] = [];
    for (const s of samples) {
      if (s.state !== 'Established') {
        if (s.received.size !== 3 || [...s.received.values()].some((stale) => !stale)) violations.push(`${showKbgpSample(s)}: all three must be held, stale, while FRR is away`);
      } else if (s.session === 'new') {
        // Up again with F = 0: nothing stale is left, whatever FRR has re-sent so far.
        if ([...s.received.values()].some(Boolean) || s.received.has(gone) || s.locRib.includes(gone)) violations.push(`${showKbgpSample(s)}: stale routes kept on a session without the F bit`);
      }
    }
    expect(violations, log()).toEqual([]);
    expect(samples.filter((s) => s.state !== 'Established').length, 'samples while FRR was away').toBeGreaterThanOrEqual(DOWN_SAMPLES);
    expect(k.received(frr.spec.address).map((r) => [formatPrefix(r.prefix), r.stale === true]).sort(), log()).toEqual([['10.112.20.1/32', false], ['10.112.20.2/32', false]]);
    expect(k.daemon.routes().map((e) => formatPrefix(e.prefix)).sort()).toEqual(['10.112.20.1/32', '10.112.20.2/32']);
    // Nothing was left for the End-of-RIB to sweep.
    expect(kbgpLog(k).filter((l) => l.msg === 'graceful restart: stale routes the peer did not send again swept'), log()).toEqual([]);
  });
});
