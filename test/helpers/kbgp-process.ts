/**
 * kbgp as a separate OS process (`kbgp run -f <yaml> --node <name>` through vite-node, from the
 * sources), for tests that must really kill it: graceful restart needs a speaker that dies without
 * a NOTIFICATION or a clean TCP close, which an in-process Daemon cannot do.
 *
 *   const p = await startKbgpProcess(spec);          // resolves once it logs 'listening'
 *   await p.waitForLog((l) => l.msg === 'session established', 20_000, 'the session');
 *   await p.kill('SIGKILL');
 *   afterEach(stopAllKbgpProcesses);
 *
 * The configuration is the YAML test/helpers/kbgp.ts builds (kbgpYaml), written to a temp
 * directory with the process's JSON log (debug level). Policy as for the router harness: every
 * process is recorded by PID the moment it is spawned, stopAllKbgpProcesses() (afterEach) stops
 * what is left by PID, and if the test process itself exits the 'exit' hook SIGKILLs the rest.
 * vite-node runs kbgp in its own process but starts an esbuild service as a child; that child's
 * PID is recorded too and stopped by PID should it outlive its parent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KbgpSpec, kbgpYaml } from './kbgp.js';
import { alive, isObject, sleep } from './routers/common.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VITE_NODE = join(ROOT, 'node_modules/.bin/vite-node');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** vite-node transforms the sources before kbgp runs: a few seconds on a slow CI machine. */
const START_TIMEOUT_MS = 30_000;

/** One line of kbgp's pino JSON log; only the fields the tests read are typed. */
export interface KbgpLogLine {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly peer?: string;
  readonly [k: string]: unknown;
}

/**
 * The JSON lines of a kbgp log file (this helper's, or test/helpers/kbgp.ts's `logFile`); anything
 * else (vite-node's own output, a line still being written) is skipped.
 */
export function readKbgpLog(file: string): KbgpLogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: KbgpLogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(l);
      if (isObject(v) && typeof v.msg === 'string' && typeof v.level === 'number' && typeof v.time === 'number') out.push({ ...v, msg: v.msg, level: v.level, time: v.time });
    } catch {
      // a line still being written
    }
  }
  return out;
}

const live = new Map<number, KbgpProcess>();
/**
 * Children (vite-node's esbuild service) of each live process, by its PID, with their command
 * line: a child that has exited may have its PID reused by then, and only ours may be signalled.
 */
interface Child {
  readonly pid: number;
  readonly cmdline: string;
}
const childPids = new Map<number, Child[]>();

process.once('exit', () => {
  for (const pid of [...live.keys(), ...[...childPids.values()].flat().filter(stillOurs).map((c) => c.pid)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

function stillOurs(c: Child): boolean {
  return alive(c.pid) && cmdlineOf(c.pid) === c.cmdline;
}

/** The direct children of `pid`, from /proc (empty once it has gone). */
function childrenOf(pid: number): Child[] {
  let pids: number[];
  try {
    pids = readdirSync(`/proc/${pid}/task`).flatMap((t) => {
      try {
        return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
  return pids.flatMap((p) => {
    const cmdline = cmdlineOf(p);
    return cmdline === undefined ? [] : [{ pid: p, cmdline }];
  });
}

export class KbgpProcess {
  readonly pid: number;
  readonly configFile: string;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly spec: KbgpSpec,
    readonly dir: string,
    yaml: string = kbgpYaml(spec),
    /** `--log-level`; null: none, so the configuration's logSeverityScreen decides. */
    logLevel: string | null = 'debug',
  ) {
    this.configFile = join(dir, `${spec.name}.yaml`);
    this.logFile = join(dir, `${spec.name}.log`);
    writeFileSync(this.configFile, yaml);
    const fd = openSync(this.logFile, 'a');
    try {
      this.child = spawn(VITE_NODE, [MAIN, 'run', '-f', this.configFile, '--node', spec.nodeName ?? 'kbgp', ...(logLevel === null ? [] : ['--log-level', logLevel])], {
        cwd: ROOT,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`could not start kbgp ${spec.name}`);
    this.pid = this.child.pid;
    // Recorded before anything can fail, so that stopAllKbgpProcesses() always finds it.
    live.set(this.pid, this);
    this.exited = new Promise((res) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
        res();
      });
      this.child.once('error', (e) => {
        this.exitInfo = `failed: ${e.message}`;
        res();
      });
    });
  }

  /** undefined while running, else how it ended. */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  /**
   * Every complete JSON line logged so far, by this process and any earlier one with the same spec.
   * kbgp writes its log asynchronously (pino's default), so what a line reports can be visible at a
   * router or on the control socket before the line is in the file: wait for it with waitForLog.
   */
  log(): KbgpLogLine[] {
    return readKbgpLog(this.logFile);
  }

  /** Waits (bounded) until a logged line matches; fails at once if the process has exited. */
  async waitForLog(match: (l: KbgpLogLine) => boolean, timeoutMs: number, what: string): Promise<KbgpLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.log().find(match);
      if (hit !== undefined) return hit;
      if (this.exitInfo !== undefined) throw new Error(`kbgp ${this.spec.name} (pid ${this.pid}) ${this.exitInfo} before ${what}\n${this.logTail()}`);
      if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for kbgp ${this.spec.name} (pid ${this.pid}): ${what}\n${this.logTail()}`);
      await sleep(50);
    }
  }

  /**
   * Sends `sig` by PID and resolves once the process has exited (SIGTERM: kbgp's clean stop, with
   * a Cease to every peer; SIGKILL: a crash). Anything it had started is stopped by PID too.
   */
  async kill(sig: NodeJS.Signals): Promise<void> {
    const children = childrenOf(this.pid);
    childPids.set(this.pid, [...(childPids.get(this.pid) ?? []), ...children]);
    if (this.exitInfo === undefined) {
      try {
        process.kill(this.pid, sig);
      } catch {
        // already gone
      }
      if (!(await within(this.exited, 10_000))) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // gone just now
        }
        if (!(await within(this.exited, 5_000))) throw new Error(`kbgp pid ${this.pid} survived SIGKILL`);
      }
    }
    await stopChildren(childPids.get(this.pid) ?? []);
    childPids.delete(this.pid);
    live.delete(this.pid);
  }

  logTail(lines = 40): string {
    try {
      return `--- kbgp ${this.spec.name} pid ${this.pid} ${this.logFile}\n${readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `--- kbgp ${this.spec.name} ${this.logFile} (none)`;
    }
  }
}

/** esbuild's service leaves when its parent's pipe closes; give it a moment, then SIGKILL. */
async function stopChildren(children: readonly Child[]): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (children.some(stillOurs) && Date.now() < deadline) await sleep(50);
  for (const c of children.filter(stillOurs)) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((res) => {
    timer = setTimeout(() => res(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let dir: string | undefined;

export interface StartOptions {
  /** The message (its start) to wait for; default 'listening': its sessions start connecting then. */
  readonly until?: string;
  /** `--log-level` (default debug); null: none, so the configuration's logSeverityScreen decides. */
  readonly logLevel?: string | null;
}

/**
 * Writes the configuration (`yaml` if given, else the one built from the spec, whose name and
 * node name are used either way), spawns kbgp and resolves once it logs `until`. Processes share
 * one temp directory per test file; a restart with the same spec appends to the same log, so a
 * failure message shows both lives.
 */
export async function startKbgpProcess(spec: KbgpSpec, yaml?: string, o: StartOptions = {}): Promise<KbgpProcess> {
  dir ??= mkdtempSync(join(tmpdir(), 'kbgp-process-'));
  const until = o.until ?? 'listening';
  const p = new KbgpProcess(spec, dir, yaml, o.logLevel === undefined ? 'debug' : o.logLevel);
  try {
    // Its own pid on the line: an earlier life's line in the same log does not count.
    await p.waitForLog((l) => l.msg.startsWith(until) && l.pid === p.pid, START_TIMEOUT_MS, `'${until}'`);
    // The esbuild service is up by now; record it while its parent is alive to be asked.
    childPids.set(p.pid, childrenOf(p.pid));
  } catch (e) {
    await p.kill('SIGKILL').catch(() => undefined);
    throw e;
  }
  return p;
}

/** Stops every kbgp process still running, by PID (for afterEach); SIGTERM first, as a user would. */
export async function stopAllKbgpProcesses(): Promise<void> {
  await Promise.allSettled([...live.values()].map((p) => p.kill('SIGTERM')));
}

/** Deletes the configs and logs (for afterAll); KBGP_KEEP_LOGS=1 keeps them and says where. */
export function removeKbgpProcessLogs(): void {
  if (dir !== undefined && process.env.KBGP_KEEP_LOGS === '1') console.log(`kbgp process logs kept in ${dir}`);
  else if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}
