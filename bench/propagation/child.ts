/**
 * A forked child seen from the harness: typed commands out over IPC, typed reports in, and every
 * wait bounded by an absolute deadline (`performance.now()` milliseconds). A report of type 'error'
 * or the child's exit ends any wait with an exception. Used by both forked benches
 * (propagation.bench.ts and sessions.bench.ts).
 */
import type { ChildProcess } from 'node:child_process';

export class DeadlineError extends Error {}

interface Report {
  readonly type: string;
  readonly message?: string;
}

export class Child<C extends object, R extends Report> {
  private readonly inbox: R[] = [];
  private wake: (() => void) | undefined;
  private exitedWith: string | undefined;
  /** The last report of each type, also those already taken. */
  readonly latest = new Map<string, R>();

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: unknown) => {
      const r = m as R; // our own child, over our own channel
      this.inbox.push(r);
      this.latest.set(r.type, r);
      this.wake?.();
    });
    proc.on('exit', (code, signal) => {
      this.exitedWith = signal ?? `code ${code}`;
      this.wake?.();
    });
    proc.on('error', (e) => {
      this.exitedWith = e.message;
      this.wake?.();
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get exited(): boolean {
    return this.exitedWith !== undefined;
  }

  send(c: C): void {
    if (!this.exited && this.proc.connected) this.proc.send(c);
  }

  /** A queued report of `type`, if one has arrived; throws as `next` does on an error or an exit. */
  take<K extends R['type']>(type: K): Extract<R, { type: K }> | undefined {
    const is = (m: R): m is Extract<R, { type: K }> => m.type === type;
    const i = this.inbox.findIndex(is);
    if (i >= 0) {
      const [m] = this.inbox.splice(i, 1);
      if (m !== undefined && is(m)) return m;
    }
    const err = this.inbox.find((m) => m.type === 'error');
    if (err !== undefined) throw new Error(`${this.name}: ${err.message ?? 'error'}`);
    if (this.exitedWith !== undefined) throw new Error(`${this.name} exited (${this.exitedWith})`);
    return undefined;
  }

  /** The next report of `type` (earlier reports of other types stay queued). */
  async next<K extends R['type']>(type: K, deadline: number): Promise<Extract<R, { type: K }>> {
    for (;;) {
      const m = this.take(type);
      if (m !== undefined) return m;
      const left = deadline - performance.now();
      if (left <= 0) throw new DeadlineError(`${this.name}: no '${type}' before the deadline`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** A command and its one answer. */
  async ask<K extends R['type']>(c: C, type: K, deadline: number): Promise<Extract<R, { type: K }>> {
    this.send(c);
    return this.next(type, deadline);
  }

  /** Asks politely, waits up to `graceMs` for the exit, then SIGKILLs the PID. */
  async stop(command: C, graceMs: number): Promise<void> {
    this.send(command);
    const until = performance.now() + graceMs;
    while (!this.exited && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.kill();
  }

  kill(): void {
    if (this.exited || this.proc.pid === undefined) return;
    try {
      process.kill(this.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * The child's side of a forked kbgp: `start` with its configuration, `sample` (after a GC when
 * asked), `stop`; failures are reported as 'error', and a parent gone stops the child.
 */
export function serveKbgpChild<S extends { readonly type: 'start' }, T>(h: {
  readonly start: (c: S) => Promise<void>;
  readonly sample: (gc: boolean) => T;
  readonly stop: () => Promise<void>;
}): void {
  const send = (r: object): void => void process.send?.(r);
  process.on('message', (raw: unknown) => {
    const c = raw as S | { readonly type: 'sample'; readonly gc: boolean } | { readonly type: 'stop' }; // our own parent, over our own channel
    const fail = (e: unknown): void => send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    if (c.type === 'start') h.start(c as S).catch(fail);
    else if (c.type === 'sample') send({ type: 'sample', sample: h.sample((c as { gc: boolean }).gc) });
    else h.stop().catch(fail);
  });
  process.on('disconnect', () => void h.stop());
  send({ type: 'ready' });
}
