/**
 * What every router driver shares: the public types, the child process that runs a daemon (by PID,
 * bounded stop), bounded polling, command execution with a timeout, and address normalisation.
 *
 * Policy: a daemon never outlives its test. Each one runs in its own mkdtemp directory, is recorded
 * in a module-level registry the moment it is spawned, and `stopAllRouters()` (for afterEach/afterAll)
 * stops whatever is left. If the test process itself exits, the 'exit' hook SIGKILLs the rest.
 */
import { normalizeAddress } from '../../../src/bgp/index.js';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../binaries.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type RouterKind = 'bird' | 'frr' | 'gobgp' | 'exabgp';
export type Family = 'ipv4' | 'ipv6';

export interface PeerSpec {
  readonly address: string;
  /** The peer's listening port, where this router connects to; default 179. */
  readonly port?: number;
  readonly asn: number;
  /** Never connect, only accept. */
  readonly passive?: boolean;
  /** RFC 7911: advertise ADD-PATH send (and send all paths) to this peer. */
  readonly addPathSend?: boolean;
  /** RFC 7911: advertise ADD-PATH receive to this peer. */
  readonly addPathReceive?: boolean;
  /**
   * false: do not advertise the RFC 6793 4-octet AS capability to this peer. Only BIRD
   * (`enable as4 off`) and ExaBGP (`asn4 disable`) can; FRR 8.4 and GoBGP 3.10 always advertise
   * it (FRR's only knob, `dont-capability-negotiate`, drops every capability), so they throw.
   */
  readonly fourOctetAs?: boolean;
  /** Proposed hold time in seconds (0 or >= 3); keepalive is a third of it. */
  readonly holdTime?: number;
  readonly routeReflectorClient?: boolean;
  /** Also exchange IPv6 unicast on this session (IPv4 unicast is always on). */
  readonly ipv6?: boolean;
}

export interface RouteSpec {
  /** IPv4 or IPv6 prefix, e.g. '10.1.0.0/24' or '2001:db8:1::/48'. */
  readonly prefix: string;
  /**
   * Explicit next hop. Needed on loopback where the default (the router's own address) is refused:
   * GoBGP refuses a 127/8 NEXT_HOP attribute, and BIRD refuses an IPv4-mapped IPv6 next hop, which
   * is what FRR and GoBGP send for IPv6 over an IPv4 session. BIRD cannot originate an IPv6 route
   * over an IPv4 session without one at all.
   */
  readonly nextHop?: string;
  /** 'a:b' */
  readonly communities?: readonly string[];
  /** 'a:b:c' */
  readonly largeCommunities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
}

export interface RouterSpec {
  readonly routerId: string;
  readonly asn: number;
  /** The address the router listens on and connects from: 127.x.y.z, ::1, or an address in `netns`. */
  readonly address: string;
  /** Listening port, default 179. */
  readonly port?: number;
  readonly peers: readonly PeerSpec[];
  /** Routes originated from the start (in the configuration where the daemon allows it). */
  readonly routes?: readonly RouteSpec[];
  readonly clusterId?: string;
  /** Run the daemon and its control commands inside this (test-created) network namespace. */
  readonly netns?: string;
  /**
   * Graceful restart (RFC 4724) towards every peer: restart time in seconds (the daemon's default
   * if absent), and whether to claim preserved forwarding state (the F bit) when it comes back.
   * FRR only so far; the other drivers ignore it.
   */
  readonly gracefulRestart?: { readonly restartTime?: number; readonly preserveForwardingState?: boolean };
}

/** Normalised session state; anything else is passed through raw. */
export type SessionState = 'Established' | 'Idle' | 'Active' | 'Connect' | 'OpenSent' | 'OpenConfirm' | (string & {});

export interface RouterRoute {
  readonly prefix: string;
  readonly pathId?: number;
  /** As the daemon reports it, normalised: IPv4-mapped as '::ffff:a.b.c.d'; unspecified for local routes. */
  readonly nextHop: string;
  /** AS_SEQUENCE and AS_SET members flattened in order; [] for local routes. */
  readonly asPath: number[];
  readonly origin?: 'igp' | 'egp' | 'incomplete';
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: string[];
  readonly largeCommunities: string[];
  readonly originatorId?: string;
  readonly clusterList?: string[];
  /** Session address of the peer it was learned from; undefined for locally originated routes. */
  readonly fromPeer?: string;
  readonly best?: boolean;
  /** Held from a restarting peer (RFC 4724 §4.2), not yet sent again. FRR only so far. */
  readonly stale?: boolean;
}

export interface RouterHandle {
  readonly kind: RouterKind;
  readonly pid: number;
  readonly version: string;
  readonly spec: RouterSpec;
  /** The daemon's temp directory (config, sockets, logs); removed by stop(). */
  readonly workDir: string;
  waitEstablished(peerAddress: string, timeoutMs: number): Promise<void>;
  sessionState(peerAddress: string): Promise<SessionState>;
  routes(family: Family): Promise<RouterRoute[]>;
  announce(route: RouteSpec): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /** SIGSTOP / SIGCONT, for hold-timer tests. */
  pause(): void;
  resume(): void;
  /** The last lines of the daemon's logs, for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Registry

const live = new Map<number, RouterHandle>();
const everStarted: number[] = [];
/** PIDs of helper processes (ExaBGP's API process) that belong to a router. */
const helperPids = new Map<number, number[]>();

export function register(h: RouterHandle): void {
  live.set(h.pid, h);
  everStarted.push(h.pid);
}
export function unregister(h: RouterHandle): void {
  live.delete(h.pid);
}
export function registerHelper(routerPid: number, pid: number): void {
  helperPids.set(routerPid, [...(helperPids.get(routerPid) ?? []), pid]);
  everStarted.push(pid);
}

/** Stops every router still running; safe to call from afterEach/afterAll at any time. */
export async function stopAllRouters(): Promise<void> {
  await Promise.allSettled([...live.values()].map((h) => h.stop()));
}

/** Every PID the harness ever spawned in this process (daemons and their helpers). */
export function startedPids(): readonly number[] {
  return everStarted;
}

process.once('exit', () => {
  for (const pid of [...live.keys(), ...[...helperPids.values()].flat()]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Processes

export function binary(name: string): string {
  const p = findBinary(name);
  if (p === undefined) throw new Error(`${name} not found in PATH, /usr/sbin or /usr/lib/frr`);
  return p;
}

export async function makeWorkDir(kind: RouterKind): Promise<string> {
  return mkdtemp(join(tmpdir(), `kbgp-${kind}-`));
}

export interface RunOptions {
  readonly netns?: string | undefined;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Resolve with stdout followed by stderr (for `bird --version`, which prints to stderr). */
  readonly withStderr?: boolean;
}

/** Wraps a command so that it runs inside `netns` when one is given. */
export function inNetns(netns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return netns === undefined ? [cmd, [...args]] : [binary('ip'), ['netns', 'exec', netns, cmd, ...args]];
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stdout: string,
    readonly stderr: string,
    cause: unknown,
  ) {
    super(`${command} failed: ${cause instanceof Error ? cause.message : String(cause)}\n${stderr}${stdout}`.trim());
    this.name = 'CommandError';
  }
}

/** Runs a control command (birdc, vtysh, gobgp) with a bounded time; resolves with its stdout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const [c, a] = inNetns(opts.netns, cmd, args);
  return new Promise((resolve, reject) => {
    execFile(
      c,
      a,
      { timeout: opts.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        if (err) reject(new CommandError(`${c} ${a.join(' ')}`, stdout, stderr, err));
        else resolve(opts.withStderr === true ? stdout + stderr : stdout);
      },
    );
  });
}

/**
 * A daemon child process. Its stdout and stderr go to `outFile`; it stays in the test process's
 * process group, so a Ctrl-C of the test run reaches it too.
 */
export class Daemon {
  readonly pid: number;
  private readonly child: ChildProcess;
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;
  private paused = false;

  constructor(cmd: string, args: readonly string[], opts: { netns?: string | undefined; env?: NodeJS.ProcessEnv; outFile: string }) {
    const [c, a] = inNetns(opts.netns, cmd, args);
    const fd = openSync(opts.outFile, 'a');
    try {
      this.child = spawn(c, a, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`could not start ${c}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      this.child.once('error', (e) => {
        this.exitInfo = `failed: ${e.message}`;
        resolve();
      });
    });
  }

  /** undefined while running, else how it ended. */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  pause(): void {
    if (this.exitInfo === undefined) process.kill(this.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.exitInfo === undefined) process.kill(this.pid, 'SIGCONT');
    this.paused = false;
  }

  /** SIGKILL at once, no chance to say goodbye (a crash, for graceful restart). Resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.exitInfo !== undefined) return;
    signal(this.pid, 'SIGKILL');
    if (!(await within(this.exited, 5_000))) throw new Error(`pid ${this.pid} survived SIGKILL`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once it has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitInfo !== undefined) return;
    signal(this.pid, 'SIGTERM');
    // A stopped process only acts on SIGTERM once continued.
    if (this.paused) signal(this.pid, 'SIGCONT');
    if (!(await within(this.exited, graceMs))) {
      signal(this.pid, 'SIGKILL');
      if (!(await within(this.exited, 5_000))) throw new Error(`pid ${this.pid} survived SIGKILL`);
    }
  }
}

/** Stops a process this harness did not spawn itself (a daemon's helper), by PID. */
export async function stopPid(pid: number, graceMs = 2_000): Promise<void> {
  if (!alive(pid)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) signal(pid, 'SIGKILL');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it has exited for our purposes.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined, or throws
 * once `timeoutMs` has passed; `describe` says what was awaited and what was last seen.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** Waits until a freshly started daemon answers `probe`, failing at once if it exits. */
export async function waitReady(d: Daemon, probe: () => Promise<unknown>, timeoutMs: number, what: string, tail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (d.exit !== undefined) throw new Error(`${what} ${d.exit} while starting\n${tail()}`);
    try {
      await probe();
      return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`${what} did not answer within ${timeoutMs} ms (${why})\n${tail()}`);
    }
    await sleep(100);
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for GoBGP's gRPC API). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tailFile(path: string, lines = 40): string {
  try {
    const all = readFileSync(path, 'utf8').trimEnd().split('\n');
    return `--- ${path}\n${all.slice(-lines).join('\n')}`;
  } catch {
    return `--- ${path} (none)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Session states

const STATES: Record<string, SessionState> = {
  established: 'Established',
  idle: 'Idle',
  active: 'Active',
  connect: 'Connect',
  opensent: 'OpenSent',
  openconfirm: 'OpenConfirm',
};

export function normaliseState(raw: string): SessionState {
  return STATES[raw.trim().toLowerCase().replace(/[^a-z]/g, '')] ?? raw.trim();
}

export async function waitEstablished(h: RouterHandle, peerAddress: string, timeoutMs: number): Promise<void> {
  let last = '(not queried)';
  await waitFor(
    async () => {
      last = await h.sessionState(peerAddress);
      return last === 'Established' ? true : undefined;
    },
    timeoutMs,
    () => `${h.kind} ${h.spec.address} → ${peerAddress} to be Established (last state: ${last})\n${h.logTail()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Addresses, prefixes, attributes

export function familyOf(prefixOrAddress: string): Family {
  return prefixOrAddress.includes(':') ? 'ipv6' : 'ipv4';
}

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * One spelling per address, whatever the daemon printed: IPv6 in RFC 5952 form (kbgp's own
 * formatter, which keeps IPv4-mapped addresses as '::ffff:a.b.c.d'; FRR prints '::ffff:7f00:103'),
 * and a bare IPv4 address for an IPv6 route (as GoBGP prints it) as IPv4-mapped.
 */
export function normaliseAddress(addr: string, family?: Family): string {
  const a = addr.trim().toLowerCase();
  const v4 = DOTTED.exec(a);
  if (v4 !== null && family === 'ipv6') return `::ffff:${normalizeAddress(a)}`;
  try {
    return normalizeAddress(a);
  } catch {
    throw new Error(`${addr} is not an IPv${a.includes(':') ? 6 : 4} address`);
  }
}

export function normalisePrefix(prefix: string): string {
  const [addr = '', len] = prefix.trim().split('/');
  if (len === undefined) throw new Error(`${prefix} is not a prefix`);
  return `${normaliseAddress(addr, familyOf(addr))}/${Number(len)}`;
}

export function unspecified(family: Family): string {
  return family === 'ipv4' ? '0.0.0.0' : '::';
}

export function parseCommunity(c: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(c.trim());
  if (!m) throw new Error(`community ${c} is not 'a:b'`);
  return [Number(m[1]), Number(m[2])];
}

export function parseLargeCommunity(c: string): [number, number, number] {
  const m = /^(\d+):(\d+):(\d+)$/.exec(c.trim());
  if (!m) throw new Error(`large community ${c} is not 'a:b:c'`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Checks a RouteSpec up front, so a typo fails here and not as a daemon's parse error. */
export function checkRoute(r: RouteSpec): void {
  normalisePrefix(r.prefix);
  if (r.nextHop !== undefined) normaliseAddress(r.nextHop);
  r.communities?.forEach(parseCommunity);
  r.largeCommunities?.forEach(parseLargeCommunity);
}

export function originName(raw: string | number | undefined): RouterRoute['origin'] {
  if (raw === undefined) return undefined;
  const s = String(raw).toLowerCase();
  if (s === '0' || s === 'igp' || s === 'i') return 'igp';
  if (s === '1' || s === 'egp' || s === 'e') return 'egp';
  if (s === '2' || s === 'incomplete' || s === '?') return 'incomplete';
  return undefined;
}

/** Keepalive is a third of the hold time (RFC 4271 §10's suggestion), at least 1 s. */
export function keepaliveFor(holdTime: number): number {
  return holdTime === 0 ? 0 : Math.max(1, Math.floor(holdTime / 3));
}

export function checkHoldTime(holdTime: number | undefined): void {
  if (holdTime !== undefined && holdTime !== 0 && !(holdTime >= 3 && holdTime <= 65535)) {
    throw new Error(`hold time ${holdTime}: RFC 4271 §4.2 allows 0 or 3..65535`);
  }
}

// ---------------------------------------------------------------------------------------------
// Narrowing JSON without casts

export function isObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function obj(v: unknown): { [k: string]: unknown } {
  return isObject(v) ? v : {};
}

/** Concatenated JSON documents (vtysh prints one per -c) split into parsed values. */
export function parseJsonSequence(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0 && start >= 0) {
        out.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return out;
}

/** Runs `--version`-style probes once per binary. */
const versions = new Map<string, Promise<string>>();
export function versionOf(key: string, probe: () => Promise<string>): Promise<string> {
  let v = versions.get(key);
  if (v === undefined) {
    v = probe().catch(() => 'unknown');
    versions.set(key, v);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// The part of a handle every driver shares

export abstract class BaseRouter implements RouterHandle {
  abstract readonly kind: RouterKind;
  readonly pid: number;
  private stopping: Promise<void> | undefined;

  protected constructor(
    readonly spec: RouterSpec,
    readonly workDir: string,
    readonly version: string,
    protected readonly daemon: Daemon,
    private readonly logFiles: readonly string[],
  ) {
    this.pid = daemon.pid;
    // Recorded before anything can fail, so that stopAllRouters() always finds it.
    register(this);
  }

  abstract sessionState(peerAddress: string): Promise<SessionState>;
  abstract routes(family: Family): Promise<RouterRoute[]>;
  /** Originates (or replaces) one route at runtime. */
  protected abstract doAnnounce(route: RouteSpec): Promise<void>;
  protected abstract doWithdraw(prefix: string): Promise<void>;

  /** Route changes run one at a time, in call order: each rewrites shared daemon config. */
  private changes: Promise<unknown> = Promise.resolve();

  announce(route: RouteSpec): Promise<void> {
    return this.serial(async () => {
      checkRoute(route);
      await this.doAnnounce(route);
    });
  }

  withdraw(prefix: string): Promise<void> {
    return this.serial(() => this.doWithdraw(normalisePrefix(prefix)));
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.changes.then(fn);
    this.changes = next.catch(() => undefined);
    return next;
  }

  waitEstablished(peerAddress: string, timeoutMs: number): Promise<void> {
    return waitEstablished(this, peerAddress, timeoutMs);
  }

  pause(): void {
    this.daemon.pause();
  }

  resume(): void {
    this.daemon.resume();
  }

  /** Waits until the freshly started daemon answers `probe`; fails fast if it exits. */
  untilAnswering(probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
    return waitReady(this.daemon, probe, timeoutMs, this.kind, () => this.logTail());
  }

  logTail(lines = 30): string {
    return this.logFiles.map((f) => tailFile(f, lines)).join('\n');
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  /** Processes that belong to the router besides the daemon (stopped after it). */
  protected async stopHelpers(): Promise<void> {}

  private async stopOnce(): Promise<void> {
    try {
      await this.daemon.stop();
      await this.stopHelpers();
    } finally {
      unregister(this);
      await removeWorkDir(this.workDir);
    }
  }
}

/** Builds a handle, then waits for it to be ready; on any failure the daemon is stopped again. */
export async function launch<H extends BaseRouter>(make: () => H, ready: (h: H) => Promise<void>): Promise<H> {
  const h = make();
  try {
    await ready(h);
    return h;
  } catch (e) {
    await h.stop().catch(() => undefined);
    throw e;
  }
}

/** Validation shared by every driver; each adds what it cannot do. */
export function checkSpec(spec: RouterSpec): void {
  checkAsn(spec.asn);
  for (const p of spec.peers) {
    checkAsn(p.asn);
    checkHoldTime(p.holdTime);
  }
  spec.routes?.forEach(checkRoute);
}

function checkAsn(asn: number): void {
  if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) throw new Error(`AS ${asn} is not a valid 4-octet AS number`);
}
