/**
 * List+watch of one kind of Kubernetes object into a local store, the way client-go's reflector
 * does it, on top of @kubernetes/client-node's KubeConfig and Watch (which does one watch request
 * and nothing more):
 *
 * - List in pages (`limit`/`continue`), then watch from the list's resourceVersion with
 *   BOOKMARK events requested, so a reconnect resumes where the last event or bookmark left off.
 * - A watch the server ends (its `timeoutSeconds`, a restart) is renewed at once from the last
 *   resourceVersion. A watch that says nothing for too long is taken for dead and renewed: client-node
 *   sets no read timeout, and a silent half-open connection would otherwise hang forever.
 * - 410 Gone (the resourceVersion is older than the server's history) relists, and the new list
 *   replaces the store by difference: objects unchanged keep their entries and nothing is reported
 *   gone that still exists, so a relist never looks like a withdraw-then-announce.
 * - Any other failure (connection refused, 5xx, timeouts) retries with exponential backoff and full
 *   jitter, for as long as it takes. The store is kept meanwhile: an API outage of any length changes
 *   nothing downstream.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../fsm/clock.js';
import type { ObjectMeta } from './objects.js';

export interface ListPage<T> {
  readonly items: readonly T[];
  readonly resourceVersion: string;
  readonly continue?: string;
}

/** One watch request: resolves with a way to abort it; `done` is called once when it ends. */
export type WatchFn = (
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, object: unknown) => void,
  done: (err: unknown) => void,
) => Promise<{ abort(): void }>;

export interface ReflectorOptions<T> {
  /** For logs and status: `services`, `endpointslices`, `node`. */
  readonly name: string;
  readonly list: (page: { readonly limit: number; readonly continue?: string }) => Promise<ListPage<T>>;
  readonly watch: WatchFn;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly pageSize?: number;
  /** Asked of the server per watch; jittered by up to a quarter so watches do not renew together. */
  readonly watchTimeoutSeconds?: number;
  /** A watch silent this long (no event, no bookmark) is renewed. */
  readonly silenceMs?: number;
  readonly backoffMinMs?: number;
  /** A list page not answered in this time is retried. */
  readonly listTimeoutMs?: number;
  readonly backoffMaxMs?: number;
  /** What is kept of each object listed or watched (default: all of it). */
  readonly keep?: (object: T) => T;
  /**
   * A resource the server does not serve (404 on the list: a custom resource whose definition is
   * not installed) is taken as none of it, synced, and listed again every `absentRecheckMs`
   * (default 60 s) until it is served. Without this, a 404 is retried as any failure.
   */
  readonly absentIsEmpty?: boolean;
  readonly absentRecheckMs?: number;
  /**
   * Whether a new version of an object means nothing new to the consumer (a Node's status report
   * when only its labels and annotations are read): it is stored, for its resourceVersion, but no
   * change is reported. Default: every new version is a change.
   */
  readonly same?: (held: T, next: T) => boolean;
}

export interface ReflectorStatus {
  readonly name: string;
  /** The first full list has been stored. */
  readonly synced: boolean;
  /** A watch is open and has not failed since. */
  readonly watching: boolean;
  readonly resourceVersion: string;
  readonly objects: number;
  readonly relists: number;
  readonly failures: number;
  readonly lastError?: string;
  /** Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). */
  readonly events: Readonly<Record<string, number>>;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(o: { readonly metadata?: ObjectMeta }): string {
  const m = o.metadata;
  return m?.namespace === undefined || m.namespace === '' ? (m?.name ?? '') : `${m.namespace}/${m.name ?? ''}`;
}

function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = statusCode(err);
    return code === undefined ? err.message : `${code} ${err.message}`;
  }
  return String(err);
}

class Gone extends Error {
  readonly code = 410;
}

export class Reflector<T extends { readonly metadata?: ObjectMeta }> {
  readonly store = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private watching = false;
  private running = false;
  private relists = 0;
  private failures = 0;
  private lastError: string | undefined;
  private readonly events: Record<string, number> = {};
  private backoffMs: number;
  private timer: TimerHandle | undefined;
  private silence: TimerHandle | undefined;
  /** Clock time the current watch last delivered anything (an event, a bookmark). */
  private lastHeard = 0;
  private current: { abort(): void } | undefined;
  /** Bumped per watch: events and ends of an abandoned watch are ignored. */
  private generation = 0;

  constructor(
    private readonly o: ReflectorOptions<T>,
    /** The store changed: `synced` tells whether it is complete. */
    private readonly changed: () => void,
  ) {
    this.backoffMs = o.backoffMinMs ?? 500;
  }

  private keep(object: T): T {
    return this.o.keep === undefined ? object : this.o.keep(object);
  }

  get status(): ReflectorStatus {
    return {
      name: this.o.name,
      synced: this.synced,
      watching: this.watching,
      resourceVersion: this.resourceVersion,
      objects: this.store.size,
      relists: this.relists,
      failures: this.failures,
      events: { ...this.events },
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.relist();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.timer?.cancel();
    this.silence?.cancel();
    this.current?.abort();
    this.current = undefined;
    this.watching = false;
  }

  private async relist(): Promise<void> {
    const generation = ++this.generation;
    try {
      const fresh = new Map<string, T>();
      let rv = '';
      let token: string | undefined;
      // Bounded: a server that hands out continue tokens forever is a server bug, not a reason to hang.
      for (let pages = 0; pages < 100_000; pages++) {
        const page = await this.withTimeout(this.o.list({ limit: this.o.pageSize ?? 500, ...(token === undefined ? {} : { continue: token }) }));
        if (generation !== this.generation) return;
        for (const item of page.items) fresh.set(objectKey(item), this.keep(item));
        rv = page.resourceVersion;
        token = page.continue === undefined || page.continue === '' ? undefined : page.continue;
        if (token === undefined) break;
      }
      this.relists++;
      if (this.lastError?.startsWith('not served') === true) this.lastError = undefined;
      const differs = this.replace(fresh);
      this.resourceVersion = rv;
      const first = !this.synced;
      this.synced = true;
      this.o.logger.info({ kind: this.o.name, objects: fresh.size, resourceVersion: rv, relist: !first }, first ? 'initial list synced' : 'relisted');
      if (differs || first) this.changed();
      this.watch();
    } catch (err) {
      if (generation !== this.generation) return;
      if (this.o.absentIsEmpty === true && statusCode(err) === 404) {
        this.absent();
        return;
      }
      this.fail(err, () => void this.relist());
    }
  }

  /** The server does not serve the resource: none of it, synced, and asked again later. */
  private absent(): void {
    const recheck = this.o.absentRecheckMs ?? 60_000;
    const differs = this.replace(new Map());
    const first = !this.synced;
    this.synced = true;
    this.watching = true;
    const why = `not served by the API server (404): none, asked again every ${recheck / 1000} s`;
    if (this.lastError !== why) this.o.logger.info({ kind: this.o.name }, `${this.o.name} ${why}`);
    this.lastError = why;
    if (differs || first) this.changed();
    this.timer?.cancel();
    this.timer = this.o.clock.schedule(recheck, () => {
      this.timer = undefined;
      if (this.running) void this.relist();
    });
  }

  /** A list request the server accepts but never answers must not stall the reflector. */
  private withTimeout<R>(p: Promise<R>): Promise<R> {
    const ms = this.o.listTimeoutMs ?? 60_000;
    return new Promise<R>((resolve, reject) => {
      const t = this.o.clock.schedule(ms, () => reject(new Error(`no answer to a list within ${ms} ms`)));
      p.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (e: unknown) => {
          t.cancel();
          reject(e);
        },
      );
    });
  }

  /** Replaces the store with `fresh`, entry by entry; true if anything differs. */
  private replace(fresh: Map<string, T>): boolean {
    let differs = false;
    for (const key of [...this.store.keys()]) {
      if (fresh.has(key)) continue;
      this.store.delete(key);
      differs = true;
    }
    for (const [key, item] of fresh) {
      const held = this.store.get(key);
      if (held !== undefined && held.metadata?.resourceVersion !== undefined && held.metadata.resourceVersion === item.metadata?.resourceVersion) continue;
      this.store.set(key, item);
      if (held === undefined || this.o.same?.(held, item) !== true) differs = true;
    }
    return differs;
  }

  private watch(): void {
    if (!this.running) return;
    const generation = ++this.generation;
    const timeout = this.o.watchTimeoutSeconds ?? 300;
    const query = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(timeout * (1 + this.o.random() / 4)),
    };
    const ended = (err: unknown): void => {
      if (generation !== this.generation || !this.running) return;
      this.silence?.cancel();
      this.current = undefined;
      this.watching = false;
      if (err instanceof Gone || statusCode(err) === 410) {
        this.o.logger.info({ kind: this.o.name, resourceVersion: this.resourceVersion }, 'watch expired (410 Gone): relisting');
        void this.relist();
      } else if (err === null || err === undefined) {
        // The server ended the watch (its timeout): renew from where it stopped.
        this.watch();
      } else {
        this.fail(err, () => this.watch());
      }
    };
    const onEvent = (type: string, object: unknown): void => {
      if (generation !== this.generation) return;
      this.lastHeard = this.o.clock.now();
      this.events[type] = (this.events[type] ?? 0) + 1;
      const o = object as T & { kind?: string; code?: number };
      if (type === 'ERROR') {
        // The API server reports an expired resourceVersion as an ERROR event carrying a Status.
        if (o.code === 410) ended(new Gone('resourceVersion expired'));
        else ended(new Error(`watch error: ${JSON.stringify(object)}`));
        return;
      }
      const rv = o.metadata?.resourceVersion;
      if (rv !== undefined && rv !== '') this.resourceVersion = rv;
      if (type === 'BOOKMARK') return;
      // A watch that delivers works: the next failure starts its backoff from the bottom again.
      this.backoffMs = this.o.backoffMinMs ?? 500;
      if (type === 'ADDED' || type === 'MODIFIED') {
        const key = objectKey(o);
        const held = this.store.get(key);
        const kept = this.keep(o);
        this.store.set(key, kept);
        if (held !== undefined && this.o.same?.(held, kept) === true) return;
      } else if (type === 'DELETED') this.store.delete(objectKey(o));
      else return;
      this.changed();
    };
    this.watching = true;
    this.lastHeard = this.o.clock.now();
    this.armSilence(generation);
    this.o.watch(query, onEvent, ended).then(
      (handle) => {
        if (generation !== this.generation) handle.abort();
        else this.current = handle;
      },
      (err: unknown) => ended(err),
    );
  }

  /**
   * One timer per watch, not one per event (a burst of 10,000 events would be 10,000 timers): it
   * looks at when the watch last said something and waits again for the rest of the time.
   */
  private armSilence(generation: number, wait?: number): void {
    this.silence?.cancel();
    const ms = this.o.silenceMs ?? ((this.o.watchTimeoutSeconds ?? 300) * 1.25 + 30) * 1000;
    this.silence = this.o.clock.schedule(wait ?? ms, () => {
      if (generation !== this.generation) return;
      const quiet = this.o.clock.now() - this.lastHeard;
      if (quiet < ms) {
        this.armSilence(generation, ms - quiet);
        return;
      }
      this.o.logger.warn({ kind: this.o.name, silentMs: ms }, 'watch silent too long: renewing it');
      this.current?.abort();
      this.current = undefined;
      this.watching = false;
      this.watch();
    });
  }

  private fail(err: unknown, retry: () => void): void {
    this.failures++;
    this.watching = false;
    this.lastError = describe(err);
    // Jittered (half fixed, half random) so that every node's reconnect after an API server outage
    // does not land at once, and none retries in a tight loop.
    const wait = Math.round(this.backoffMs / 2 + (this.o.random() * this.backoffMs) / 2);
    this.o.logger.warn({ kind: this.o.name, err: this.lastError, retryInMs: wait }, 'Kubernetes API request failed: keeping what is known, retrying');
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoffMaxMs ?? 30_000);
    this.timer?.cancel();
    this.timer = this.o.clock.schedule(wait, () => {
      this.timer = undefined;
      if (this.running) retry();
    });
  }
}
