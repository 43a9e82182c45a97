/**
 * Live configuration reload, seen from real routers: `kbgp run -f FILE` as its own process, the
 * file rewritten (write and rename, as an editor or a ConfigMap does) and SIGHUP sent, then each
 * router's own view of its session compared before and after. A reload touches only what changed:
 *
 * 1. kbgp peers with FRR A, BIRD B and FRR C over eBGP and originates two prefixes with
 *    communities; B and C originate one each, which kbgp passes on.
 * 2. D (BIRD) added: D comes up and gets the table; A, B and C are untouched, and receive nothing.
 * 3. C removed: C is told Cease / Peer De-configured (RFC 4486), hardened to Hard Reset since C
 *    negotiated RFC 8538's N bit; C's route is withdrawn at A, B and D, whose sessions stay.
 * 4. B's AS changed (and BIRD's own configuration with it, `birdc configure`): B alone is reset
 *    with Cease / Other Configuration Change (BIRD has no N bit: a plain Cease); A and D untouched,
 *    and B's route reaches them with the new AS in its path.
 * 5. The communities of one originated prefix changed, by the file watch alone (no SIGHUP): every
 *    router has the new communities from one UPDATE, and no session anywhere is reset.
 *
 * "Untouched" is each side's own record of the session: FRR's `show bgp neighbors json`
 * (bgpState, bgpTimerUpEstablishedEpoch, connectionsEstablished, connectionsDropped, and
 * messageStats.updatesRecv where nothing is to be sent), BIRD's `show protocols all` (state, the
 * Since time within its print jitter, the import counters), and kbgp's (the control socket's status view:
 * state and since; its log: the 'session established' and 'session down' lines per peer). Each
 * reload's outcome is kbgp's 'configuration reloaded' line: {added, removed, reset, updated}.
 *
 * What the routers print, on Debian 12 (FRR 8.4.4, BIRD 2.0.12): FRR shows a Hard Reset as
 * `lastNotificationReason: "Cease/Peer De-configured"` with `lastNotificationHardReset: true`, and
 * with `bgp log-neighbor-changes` logs `%NOTIFICATION(Hard Reset): received from neighbor X 6/3
 * (Cease/Peer De-configured)`; its `notificationsRecv` counts that one message twice, so it is not
 * asserted. BIRD logs `<RMT> <protocol>: Received: Other configuration change`; its "Last error"
 * does not keep it, since BIRD reconnects at once with the old AS and is told Bad Peer AS.
 *
 * Addresses 127.0.15.10 (kbgp) to .14 (D), each listening on port 12000 + its last octet.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/control-client.js';
import { defaultControlSocket } from '../../src/ops/socket-path.js';
import type { PeerView, StatusView } from '../../src/ops/views.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type KbgpPeerSpec, type KbgpSpec, kbgpYaml } from '../helpers/kbgp.js';
import { type KbgpLogLine, type KbgpProcess, removeKbgpProcessLogs, startKbgpProcess, stopAllKbgpProcesses } from '../helpers/kbgp-process.js';
import { ROUTER_BINARIES, type RouteSpec, type RouterSpec, alive, startBird, startFrr, stopAllRouters, waitFor } from '../helpers/routers.js';
import { birdConfig, birdProtocolName, sameBirdMoment } from '../helpers/routers/bird.js';
import { num, obj, str } from '../helpers/routers/common.js';

type Frr = Awaited<ReturnType<typeof startFrr>>;
type Bird = Awaited<ReturnType<typeof startBird>>;

const KBGP_AS = 64512;
const NODE = 'reload-test';
const K = '127.0.15.10';
const KBGP_PORT = 12010;
const portOf = (address: string): number => 12000 + Number(address.split('.')[3]);
const A = { name: 'a', address: '127.0.15.11', port: portOf('127.0.15.11'), asn: 65111 } satisfies KbgpPeerSpec;
const B = { name: 'b', address: '127.0.15.12', port: portOf('127.0.15.12'), asn: 65112 } satisfies KbgpPeerSpec;
const C = { name: 'c', address: '127.0.15.13', port: portOf('127.0.15.13'), asn: 65113 } satisfies KbgpPeerSpec;
const D = { name: 'd', address: '127.0.15.14', port: portOf('127.0.15.14'), asn: 65114 } satisfies KbgpPeerSpec;
const B_NEW_AS = 65122;

const OURS: RouteSpec[] = [
  { prefix: '10.115.1.0/24', communities: ['64512:101'] },
  { prefix: '10.115.2.0/24', communities: ['64512:102'], largeCommunities: ['64512:2:1'] },
];
const OURS_CHANGED: RouteSpec[] = [OURS[0] as RouteSpec, { prefix: '10.115.2.0/24', communities: ['64512:202', '64512:203'], largeCommunities: ['64512:2:1'] }];
const B_ROUTE: RouteSpec = { prefix: '10.115.12.0/24' };
const C_ROUTE: RouteSpec = { prefix: '10.115.13.0/24' };

/** Bounds on each wait: a session coming up, a route arriving, a reload being logged. */
const UP_MS = 15_000;
const ROUTE_MS = 10_000;
const RELOAD_MS = 5_000;
/** For a log line whose event a router or the control socket has already shown. */
const LOG_MS = 2_000;
/** After the awaited change, before comparing: long enough for any stray UPDATE or reset to show. */
const SETTLE_MS = 1_500;
/**
 * kbgp's status view gives `since` as wall time derived from its monotonic clock at each call,
 * so the same instant can read a millisecond or two apart; a new session is 100 ms at the least
 * (kbgp's connect delay) and seconds in practice.
 */
const SINCE_TOLERANCE_MS = 20;

const kbgpSpec = (peers: readonly KbgpPeerSpec[], originate: readonly RouteSpec[]): KbgpSpec => ({
  name: 'reload',
  nodeName: NODE,
  address: K,
  port: KBGP_PORT,
  asn: KBGP_AS,
  routerId: K,
  ipv4Address: K,
  peers,
  originate,
});

const routerSpec = (p: KbgpPeerSpec, asn: number, routes: readonly RouteSpec[]): RouterSpec => ({
  routerId: p.address,
  asn,
  address: p.address,
  port: p.port,
  routes,
  peers: [{ address: K, port: KBGP_PORT, asn: KBGP_AS }],
});

// ---------------------------------------------------------------------------------------------
// Each side's view of its session with the other

interface FrrSessionView {
  readonly state: string;
  readonly establishedEpoch: number | undefined;
  readonly connectionsEstablished: number | undefined;
  readonly connectionsDropped: number | undefined;
  readonly updatesRecv: number | undefined;
  readonly lastNotificationReason: string | undefined;
  readonly lastNotificationHardReset: unknown;
}

async function frrView(r: Frr): Promise<FrrSessionView> {
  const n = obj(obj(JSON.parse(await r.vtysh(`show bgp neighbors ${K} json`)))[K]);
  return {
    state: str(n.bgpState) ?? '?',
    establishedEpoch: num(n.bgpTimerUpEstablishedEpoch),
    connectionsEstablished: num(n.connectionsEstablished),
    connectionsDropped: num(n.connectionsDropped),
    updatesRecv: num(obj(n.messageStats).updatesRecv),
    lastNotificationReason: str(n.lastNotificationReason),
    lastNotificationHardReset: n.lastNotificationHardReset,
  };
}

/**
 * FRR's record of a session that stayed up: still Established, no connection made or dropped
 * since, no NOTIFICATION, and the same time of establishment. FRR derives that epoch at each query
 * from the current time and the uptime, both in whole seconds, so it may read one second apart.
 */
function expectFrrUntouched(before: FrrSessionView, after: FrrSessionView, who: string): void {
  const exact = (v: FrrSessionView): object => ({ state: v.state, connectionsEstablished: v.connectionsEstablished, connectionsDropped: v.connectionsDropped, lastNotificationReason: v.lastNotificationReason });
  expect(exact(after), `FRR ${who}'s view`).toEqual({ ...exact(before), state: 'Established' });
  expect(Math.abs((after.establishedEpoch ?? NaN) - (before.establishedEpoch ?? NaN)), `FRR ${who}'s bgpTimerUpEstablishedEpoch: ${before.establishedEpoch} then ${after.establishedEpoch}`).toBeLessThanOrEqual(1);
}

interface BirdSessionView {
  /** The protocol table's State, Since (HH:MM:SS.mmm) and Info columns. */
  readonly state: string;
  readonly since: string;
  readonly info: string;
  readonly neighborAs: number | undefined;
  readonly localAs: number | undefined;
  readonly lastError: string | undefined;
  readonly importUpdates: number | undefined;
  readonly importWithdraws: number | undefined;
}

async function birdView(r: Bird): Promise<BirdSessionView> {
  const name = birdProtocolName(K);
  const out = await r.birdc('show', 'protocols', 'all', name);
  const row = new RegExp(`^${name}\\s+BGP\\s+\\S+\\s+(\\S+)\\s+(\\S+)\\s*(.*)$`, 'm').exec(out);
  if (row === null) throw new Error(`BIRD has no protocol ${name}:\n${out}`);
  const field = (re: RegExp): string | undefined => re.exec(out)?.[1]?.trim();
  const count = (re: RegExp): number | undefined => {
    const v = field(re);
    return v === undefined ? undefined : Number(v);
  };
  return {
    state: row[1] ?? '?',
    since: row[2] ?? '?',
    info: (row[3] ?? '').trim(),
    neighborAs: count(/Neighbor AS:\s+(\d+)/),
    localAs: count(/Local AS:\s+(\d+)/),
    lastError: field(/Last error:\s+(.*)/),
    importUpdates: count(/Import updates:\s+(\d+)/),
    importWithdraws: count(/Import withdraws:\s+(\d+)/),
  };
}

/** BIRD's record of a session that stayed up: up and Established since the same moment (as BIRD prints it, see sessionSince), no error. */
function expectBirdUntouched(before: BirdSessionView, after: BirdSessionView, who: string): void {
  const session = (v: BirdSessionView): object => ({ state: v.state, info: v.info, lastError: v.lastError });
  expect(session(after), `BIRD ${who}'s view`).toEqual({ ...session(before), state: 'up', info: 'Established' });
  expect(sameBirdMoment(before.since, after.since), `BIRD ${who}'s Since: ${before.since} then ${after.since}`).toBe(true);
}

interface KbgpSessionView {
  readonly state: string;
  /** Wall-clock milliseconds of the last state change, from the control socket. */
  readonly since: number;
  readonly peerAs: number;
  /** 'session established' and 'session down' lines logged for this peer so far. */
  readonly established: number;
  readonly downs: number;
}

function peerLines(k: KbgpProcess, address: string, msg: (m: string) => boolean): KbgpLogLine[] {
  return k.log().filter((l) => l.peer === address && msg(l.msg));
}

/**
 * The peer's matching lines, once there are more than `count`. The log is written asynchronously:
 * a router or kbgp's control socket can show a session's change before kbgp's line about it is in
 * the file, so a test that saw the change there waits here before it counts or reads the lines.
 */
async function peerLinesBeyond(k: KbgpProcess, address: string, msg: (m: string) => boolean, count: number, what: string): Promise<KbgpLogLine[]> {
  await k.waitForLog(() => peerLines(k, address, msg).length > count, LOG_MS, what);
  return peerLines(k, address, msg);
}
const isDown = (m: string): boolean => m.startsWith('session down');
const isEstablished = (m: string): boolean => m === 'session established';

async function kbgpStatus(): Promise<StatusView> {
  return call<StatusView>(defaultControlSocket(NODE), '/v1/status', 'GET', 5_000);
}

async function kbgpView(k: KbgpProcess, address: string): Promise<KbgpSessionView> {
  const p: PeerView | undefined = (await kbgpStatus()).peers.find((x) => x.address === address);
  if (p === undefined) throw new Error(`kbgp's status has no peer ${address}`);
  return {
    state: p.state,
    since: Date.parse(p.since),
    peerAs: p.peerAs,
    established: peerLines(k, address, isEstablished).length,
    downs: peerLines(k, address, isDown).length,
  };
}

/** Learned from kbgp, by prefix: AS path and communities, as the router's own CLI shows them. */
async function learned(r: Frr | Bird): Promise<Record<string, { asPath: number[]; communities: string[]; largeCommunities: string[] }>> {
  const out: Record<string, { asPath: number[]; communities: string[]; largeCommunities: string[] }> = {};
  for (const route of await r.routes('ipv4')) {
    if (route.fromPeer !== K) continue;
    out[route.prefix] = { asPath: route.asPath, communities: [...route.communities].sort(), largeCommunities: [...route.largeCommunities].sort() };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(requireBinaries(...ROUTER_BINARIES.frr, ...ROUTER_BINARIES.bird) === undefined)('live configuration reload against FRR and BIRD', () => {
  let k: KbgpProcess | undefined;
  let a: Frr | undefined;
  let b: Bird | undefined;
  let c: Frr | undefined;
  let d: Bird | undefined;
  /** bgpd leaves /var/tmp/frr/bgpd.<pid> behind when it does not exit cleanly. */
  const frrPids: number[] = [];

  const started = (): { k: KbgpProcess; a: Frr; b: Bird; c: Frr } => {
    if (k === undefined || a === undefined || b === undefined || c === undefined) throw new Error('kbgp and the routers did not start: see the first test');
    return { k, a, b, c };
  };
  const withD = (): { k: KbgpProcess; a: Frr; b: Bird; c: Frr; d: Bird } => {
    if (d === undefined) throw new Error('D was not started: see the test that adds it');
    return { ...started(), d };
  };
  const ctx = (): string => [k?.logTail(40), a?.logTail(15), b?.logTail(15), c?.logTail(15), d?.logTail(15)].filter((x) => x !== undefined).join('\n');

  const reloads = (): KbgpLogLine[] => (k?.log() ?? []).filter((l) => l.msg === 'configuration reloaded' || l.msg.startsWith('configuration not reloaded'));

  /**
   * Writes the new configuration as an editor does (write, then rename over the file) and, unless
   * `how` is 'file', sends SIGHUP; resolves with the reload's outcome once kbgp has logged it.
   * The file watch sees the rename as well; it reloads only when the text differs from what SIGHUP
   * already loaded, so any further line must be an empty reload.
   */
  async function reload(spec: KbgpSpec, how: 'SIGHUP' | 'file'): Promise<{ result: object; others: object[] }> {
    const { k } = started();
    const before = reloads().length;
    const next = `${k.configFile}.next`;
    writeFileSync(next, kbgpYaml(spec));
    renameSync(next, k.configFile);
    if (how === 'SIGHUP') process.kill(k.pid, 'SIGHUP');
    await k.waitForLog(() => reloads().length > before, RELOAD_MS, `the reload (${how})`);
    // Past the file watch's 200 ms debounce.
    await new Promise((r) => setTimeout(r, 400));
    const lines = reloads().slice(before);
    const outcome = (l: KbgpLogLine): object => (l.msg === 'configuration reloaded' ? { added: l.added, removed: l.removed, reset: l.reset, updated: l.updated } : { refused: l.msg, err: l.err });
    const [first, ...rest] = lines.map(outcome);
    return { result: first ?? {}, others: rest };
  }
  const EMPTY_RELOAD = { added: [], removed: [], reset: [], updated: [] };

  /** kbgp's own record of an untouched session: same state, same since, no new line about it. */
  function expectKbgpUntouched(before: KbgpSessionView, after: KbgpSessionView, who: string): void {
    expect({ state: after.state, established: after.established, downs: after.downs }, `kbgp's view of ${who}`).toEqual({ state: 'Established', established: before.established, downs: before.downs });
    expect(Math.abs(after.since - before.since), `kbgp's since for ${who}: ${new Date(before.since).toISOString()} then ${new Date(after.since).toISOString()}`).toBeLessThanOrEqual(SINCE_TOLERANCE_MS);
  }

  beforeAll(async () => {
    k = await startKbgpProcess(kbgpSpec([A, B, C], OURS));
    a = await startFrr(routerSpec(A, A.asn, []));
    frrPids.push(a.pid);
    b = await startBird(routerSpec(B, B.asn, [B_ROUTE]));
    c = await startFrr(routerSpec(C, C.asn, [C_ROUTE]));
    frrPids.push(c.pid);
    // For the failure messages, and for C's record of the NOTIFICATION it receives.
    for (const [r, asn] of [[a, A.asn], [c, C.asn]] as const) await r.vtysh('configure terminal', `router bgp ${asn}`, 'bgp log-neighbor-changes', 'end');
  }, 60_000);

  afterAll(async () => {
    await stopAllRouters();
    await stopAllKbgpProcesses();
    removeKbgpProcessLogs();
    for (const pid of frrPids) if (!alive(pid)) rmSync(join('/var/tmp/frr', `bgpd.${pid}`), { recursive: true, force: true });
  });

  it('brings up A, B and C, each holding both originated prefixes with their communities and the other routers\' routes', { timeout: 30_000 }, async () => {
    const { a, b, c } = started();
    await a.waitEstablished(K, UP_MS);
    await b.waitEstablished(K, UP_MS);
    await c.waitEstablished(K, UP_MS);
    const ours = { '10.115.1.0/24': { asPath: [KBGP_AS], communities: ['64512:101'], largeCommunities: [] }, '10.115.2.0/24': { asPath: [KBGP_AS], communities: ['64512:102'], largeCommunities: ['64512:2:1'] } };
    const fromB = { '10.115.12.0/24': { asPath: [KBGP_AS, B.asn], communities: [], largeCommunities: [] } };
    const fromC = { '10.115.13.0/24': { asPath: [KBGP_AS, C.asn], communities: [], largeCommunities: [] } };
    for (const [r, want] of [[a, { ...ours, ...fromB, ...fromC }], [b, { ...ours, ...fromC }], [c, { ...ours, ...fromB }]] as const) {
      let last: object = {};
      await waitFor(async () => {
        last = await learned(r);
        return isDeepStrictEqual(last, want) ? true : undefined;
      }, ROUTE_MS, () => `${r.kind} ${r.spec.address} to hold ${JSON.stringify(want)}; has ${JSON.stringify(last)}\n${ctx()}`);
      expect(last).toEqual(want);
    }
    const status = await kbgpStatus();
    expect(status.peers.map((p) => [p.address, p.state, p.peerAs])).toEqual([[A.address, 'Established', A.asn], [B.address, 'Established', B.asn], [C.address, 'Established', C.asn]]);
  });

  it('a peer added (D, BIRD) comes up and gets the table; A, B and C are untouched and are sent nothing', { timeout: 30_000 }, async () => {
    const { k, a, b, c } = started();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = { a: await frrView(a), b: await birdView(b), c: await frrView(c), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kc: await kbgpView(k, C.address) };
    const reloaded = await reload(kbgpSpec([A, B, C, D], OURS), 'SIGHUP');
    expect(reloaded.result, ctx()).toEqual({ ...EMPTY_RELOAD, added: [D.address] });
    expect(reloaded.others).toEqual(reloaded.others.map(() => EMPTY_RELOAD));
    d = await startBird(routerSpec(D, D.asn, []));
    const dr = d;
    await dr.waitEstablished(K, UP_MS);
    const want = { '10.115.1.0/24': [KBGP_AS], '10.115.2.0/24': [KBGP_AS], '10.115.12.0/24': [KBGP_AS, B.asn], '10.115.13.0/24': [KBGP_AS, C.asn] };
    const asPaths = async (): Promise<Record<string, number[]>> => Object.fromEntries(Object.entries(await learned(dr)).map(([p, v]) => [p, v.asPath]));
    await waitFor(async () => (isDeepStrictEqual(await asPaths(), want) ? true : undefined), ROUTE_MS, () => `D to hold the table\n${ctx()}`);
    expect((await kbgpView(k, D.address)).state).toBe('Established');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = { a: await frrView(a), b: await birdView(b), c: await frrView(c), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kc: await kbgpView(k, C.address) };
    expectFrrUntouched(before.a, after.a, 'A');
    expectFrrUntouched(before.c, after.c, 'C');
    expectBirdUntouched(before.b, after.b, 'B');
    // D brought nothing new: not one UPDATE to the others.
    expect([after.a.updatesRecv, after.c.updatesRecv, after.b.importUpdates, after.b.importWithdraws]).toEqual([before.a.updatesRecv, before.c.updatesRecv, before.b.importUpdates, before.b.importWithdraws]);
    expectKbgpUntouched(before.ka, after.ka, 'A');
    expectKbgpUntouched(before.kb, after.kb, 'B');
    expectKbgpUntouched(before.kc, after.kc, 'C');
  });

  it('a peer removed (C, FRR) is told Cease / Peer De-configured (as Hard Reset: N bit), its route is withdrawn, and A, B and D are otherwise untouched', { timeout: 30_000 }, async () => {
    const { k, a, b, c, d } = withD();
    const before = { a: await frrView(a), b: await birdView(b), d: await birdView(d), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kd: await kbgpView(k, D.address) };
    const cDowns = peerLines(k, C.address, isDown).length;
    const reloaded = await reload(kbgpSpec([A, B, D], OURS), 'SIGHUP');
    expect(reloaded.result, ctx()).toEqual({ ...EMPTY_RELOAD, removed: [C.address] });
    expect(reloaded.others).toEqual(reloaded.others.map(() => EMPTY_RELOAD));
    // C's own record. A bgpd that dies on the message is a failure of its own, said as such.
    const told = await waitFor(
      async () => {
        if (!alive(c.pid)) return { crashed: c.logTail(60).split('\n').filter((l) => /assert|signal|NOTIFICATION/.test(l)).join('\n') };
        const v = await frrView(c);
        return v.lastNotificationReason !== undefined ? { view: v } : undefined;
      },
      ROUTE_MS,
      () => `FRR C to record kbgp's NOTIFICATION\n${ctx()}`,
    );
    const sent = (await peerLinesBeyond(k, C.address, isDown, cDowns, "kbgp's 'session down' for C")).at(cDowns)?.msg;
    expect(told.crashed, `FRR C's bgpd (pid ${c.pid}) died on kbgp's NOTIFICATION; kbgp logged "${sent ?? '-'}"; bgpd:\n${told.crashed ?? ''}`).toBeUndefined();
    expect(told.view).toMatchObject({ lastNotificationReason: 'Cease/Peer De-configured', lastNotificationHardReset: true, connectionsDropped: 1 });
    expect(told.view?.state).not.toBe('Established');
    expect(c.logTail(200), 'C\'s log').toMatch(/%NOTIFICATION\(Hard Reset\): received from neighbor 127\.0\.15\.10 6\/3 \(Cease\/Peer De-configured\)/);
    // kbgp's side: the reason it logged, and C gone from its status (C's reconnects are refused).
    expect(sent).toMatch(/^session down: stopped: peer removed from the configuration; sent Cease \/ Hard Reset \(Peer De-configured\)/);
    expect((await kbgpStatus()).peers.map((p) => p.address)).toEqual([A.address, B.address, D.address]);
    // C's route leaves A, B and D: one withdrawal each, nothing else.
    for (const r of [a, b, d]) await waitFor(async () => ((await learned(r))[C_ROUTE.prefix] === undefined ? true : undefined), ROUTE_MS, () => `${C_ROUTE.prefix} withdrawn at ${r.spec.address}\n${ctx()}`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = { a: await frrView(a), b: await birdView(b), d: await birdView(d), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kd: await kbgpView(k, D.address) };
    expectFrrUntouched(before.a, after.a, 'A');
    expectBirdUntouched(before.b, after.b, 'B');
    expectBirdUntouched(before.d, after.d, 'D');
    expect([(after.a.updatesRecv ?? 0) - (before.a.updatesRecv ?? 0), (after.b.importUpdates ?? 0) - (before.b.importUpdates ?? 0), (after.d.importUpdates ?? 0) - (before.d.importUpdates ?? 0)], 'UPDATEs: A; announcements: B, D').toEqual([1, 0, 0]);
    expect([(after.b.importWithdraws ?? 0) - (before.b.importWithdraws ?? 0), (after.d.importWithdraws ?? 0) - (before.d.importWithdraws ?? 0)], 'withdrawals: B, D').toEqual([1, 1]);
    expectKbgpUntouched(before.ka, after.ka, 'A');
    expectKbgpUntouched(before.kb, after.kb, 'B');
    expectKbgpUntouched(before.kd, after.kd, 'D');
  });

  it('B\'s AS changed: B alone is reset with Cease / Other Configuration Change and comes back with the new AS; A and D are untouched', { timeout: 30_000 }, async () => {
    const { k, a, b, d } = withD();
    const before = { a: await frrView(a), b: await birdView(b), d: await birdView(d), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kd: await kbgpView(k, D.address) };
    const b2 = { ...B, asn: B_NEW_AS };
    const reloaded = await reload(kbgpSpec([A, b2, D], OURS), 'SIGHUP');
    expect(reloaded.result, ctx()).toEqual({ ...EMPTY_RELOAD, reset: [B.address] });
    expect(reloaded.others).toEqual(reloaded.others.map(() => EMPTY_RELOAD));
    // BIRD's record: its log keeps the NOTIFICATION (its Last error is soon Bad Peer AS, as it
    // reconnects with the AS it still has). No N bit with BIRD 2.0, so a plain Cease.
    const birdLog = join(b.workDir, 'bird.log');
    await waitFor(async () => ((await readFile(birdLog, 'utf8')).includes(`${birdProtocolName(K)}: Received: Other configuration change`) ? true : undefined), ROUTE_MS, () => `BIRD B to log the Cease (${birdLog})\n${ctx()}`);
    expect((await peerLinesBeyond(k, B.address, isDown, before.kb.downs, "kbgp's 'session down' for B")).at(before.kb.downs)?.msg).toBe('session down: stopped: peer configuration changed; sent Cease / Other Configuration Change');
    // BIRD takes the new AS, by its own reconfiguration.
    await writeFile(join(b.workDir, 'bird.conf'), birdConfig(routerSpec(B, B_NEW_AS, [B_ROUTE]), [B_ROUTE], b.workDir));
    expect(await b.birdc('configure')).toMatch(/Reconfigured|Reconfiguration in progress/);
    await b.waitEstablished(K, UP_MS);
    const kb = await waitFor(async () => {
      const v = await kbgpView(k, B.address);
      return v.state === 'Established' ? v : undefined;
    }, UP_MS, () => `kbgp to have B up again\n${ctx()}`);
    const established = await peerLinesBeyond(k, B.address, isEstablished, before.kb.established, "kbgp's 'session established' for B");
    expect({ peerAs: kb.peerAs, established: established.length }).toEqual({ peerAs: B_NEW_AS, established: before.kb.established + 1 });
    expect(await birdView(b)).toMatchObject({ state: 'up', info: 'Established', neighborAs: KBGP_AS, localAs: B_NEW_AS });
    // B's route reaches A and D with B's new AS.
    for (const r of [a, d]) await waitFor(async () => (isDeepStrictEqual((await learned(r))[B_ROUTE.prefix]?.asPath, [KBGP_AS, B_NEW_AS]) ? true : undefined), ROUTE_MS, () => `${B_ROUTE.prefix} via AS ${B_NEW_AS} at ${r.spec.address}\n${ctx()}`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = { a: await frrView(a), d: await birdView(d), ka: await kbgpView(k, A.address), kd: await kbgpView(k, D.address) };
    expectFrrUntouched(before.a, after.a, 'A');
    expectBirdUntouched(before.d, after.d, 'D');
    expectKbgpUntouched(before.ka, after.ka, 'A');
    expectKbgpUntouched(before.kd, after.kd, 'D');
  });

  it('the communities of an originated prefix changed (file watch, no SIGHUP): every router has the new ones from one UPDATE, and no session is reset', { timeout: 30_000 }, async () => {
    const { k, a, b, d } = withD();
    const b2 = { ...B, asn: B_NEW_AS };
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = { a: await frrView(a), b: await birdView(b), d: await birdView(d), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kd: await kbgpView(k, D.address) };
    const reloaded = await reload(kbgpSpec([A, b2, D], OURS_CHANGED), 'file');
    // Originations are not per peer: nothing added, removed, reset or updated.
    expect({ result: reloaded.result, others: reloaded.others }, ctx()).toEqual({ result: EMPTY_RELOAD, others: [] });
    const changed = { asPath: [KBGP_AS], communities: ['64512:202', '64512:203'], largeCommunities: ['64512:2:1'] };
    const unchanged = { asPath: [KBGP_AS], communities: ['64512:101'], largeCommunities: [] };
    for (const r of [a, b, d]) {
      let last: object | undefined;
      await waitFor(async () => {
        const l = await learned(r);
        last = l['10.115.2.0/24'];
        return isDeepStrictEqual(last, changed) ? true : undefined;
      }, ROUTE_MS, () => `${r.kind} ${r.spec.address} to see 10.115.2.0/24 with ${JSON.stringify(changed)}; has ${JSON.stringify(last)}\n${ctx()}`);
      expect((await learned(r))['10.115.1.0/24'], `10.115.1.0/24 at ${r.spec.address}`).toEqual(unchanged);
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = { a: await frrView(a), b: await birdView(b), d: await birdView(d), ka: await kbgpView(k, A.address), kb: await kbgpView(k, B.address), kd: await kbgpView(k, D.address) };
    expectFrrUntouched(before.a, after.a, 'A');
    expectBirdUntouched(before.b, after.b, 'B');
    expectBirdUntouched(before.d, after.d, 'D');
    // The difference only: one UPDATE (one route) to each, no withdrawal.
    expect({
      a: (after.a.updatesRecv ?? 0) - (before.a.updatesRecv ?? 0),
      b: [(after.b.importUpdates ?? 0) - (before.b.importUpdates ?? 0), (after.b.importWithdraws ?? 0) - (before.b.importWithdraws ?? 0)],
      d: [(after.d.importUpdates ?? 0) - (before.d.importUpdates ?? 0), (after.d.importWithdraws ?? 0) - (before.d.importWithdraws ?? 0)],
    }).toEqual({ a: 1, b: [1, 0], d: [1, 0] });
    expectKbgpUntouched(before.ka, after.ka, 'A');
    expectKbgpUntouched(before.kb, after.kb, 'B');
    expectKbgpUntouched(before.kd, after.kd, 'D');
  });
});
