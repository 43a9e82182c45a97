/**
 * An in-repo Kubernetes API server for tests: node:http on 127.0.0.1 (ephemeral port), an
 * in-memory MVCC store of Services (v1), EndpointSlices (discovery.k8s.io/v1) and Nodes (v1), and
 * the real list/watch protocol, so the watcher in src/k8s runs against @kubernetes/client-node
 * unchanged.
 *
 *   const api = await startK8sApiServer({ bookmarkIntervalMs: 100 });
 *   const kc = new KubeConfig();
 *   kc.loadFromFile(api.kubeconfigPath);            // http://127.0.0.1:<port>, bearer token checked
 *   api.create('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
 *   await api.waitForWatches(1);                    // the code under test is watching
 *   api.compact(); api.closeWatches();              // its next watch from an old resourceVersion gets 410
 *   await api.stop(); await api.start();            // gone, then back on the same port, store intact
 *   afterEach(() => api.close());
 *
 * Controls: create/update/delete(kind, obj), get, list, compact(), closeWatches(), stop()/start()
 * (same port, store kept), close(), pause()/resume() (accept, never answer), requests (method,
 * path, query) and clearRequests(), watchCount, waitForWatches(n), waitForRequest(match),
 * setBookmarkInterval(ms), resourceVersion, kubeconfig (YAML) and kubeconfigPath (a temp file).
 *
 * What the server does, as kube-apiserver does it:
 * - resourceVersion is one counter for all kinds (etcd's revision); a DELETED event carries the
 *   deletion's revision. List items carry no kind/apiVersion (the real server leaves them out too);
 *   single GETs and watch event objects do.
 * - List: `limit` + opaque `continue` served from the first page's snapshot (a consistent list);
 *   a continue token older than the last compaction is 410 Expired. `resourceVersion` unset,
 *   "0" or with `resourceVersionMatch=NotOlderThan` lists now; "0" ignores `limit` (served from the
 *   watch cache); `resourceVersionMatch=Exact` lists the store as it was (410 once compacted); a
 *   resourceVersion ahead of the store is 504 "Too large resource version".
 * - Watch (`watch=1|true`): HTTP 200, chunked, one JSON event per chunk and line. resourceVersion
 *   unset or "0" (or sendInitialEvents=true) starts with a synthetic ADDED for every object that
 *   exists now; any other value replays the changes after it; one older than the last compaction
 *   gets a single ERROR event carrying Status 410 Expired "too old resource version: X (Y)" and the
 *   stream ends. BOOKMARKs every `bookmarkIntervalMs` with allowWatchBookmarks=true; timeoutSeconds
 *   ends the stream cleanly. Selectors (label: k=v, k==v, k!=v, k, !k, k in (..), k notin (..);
 *   field: metadata.name, metadata.namespace with = == !=) filter events with the cacher's
 *   transitions: an object leaving the selector is DELETED, one entering it is ADDED.
 * - Errors are Status bodies: 400 BadRequest, 401 Unauthorized, 404 NotFound, 405, 410 Expired,
 *   504 Timeout.
 *
 * What @kubernetes/client-node 1.4.0 does with it (each point pinned in test/k8s/api-server.test.ts):
 * - KubeConfig refuses an http: server unless the cluster has insecure-skip-tls-verify: true
 *   (set in this kubeconfig); it then sends the user's bearer token over plain http.
 * - Watch.watch(path, query, callback, done) does not reject for network or HTTP trouble: it all
 *   goes to `done`, once. A 410 from a compacted resourceVersion is NOT an error to Watch: it
 *   arrives as callback('ERROR', status) with status.code === 410 (the raw Status JSON), then
 *   done(null) when the stream ends. A clean server close (timeoutSeconds, closeWatches) is
 *   done(null) too. A server dying mid-stream (stop) is done(err), err a plain Error 'Premature
 *   close' with code 'ERR_STREAM_PREMATURE_CLOSE'; connection refused is done(FetchError) with
 *   code 'ECONNREFUSED'; a non-200 answer is done(Error(statusText)) with err.statusCode; aborting
 *   the returned controller is done(AbortError).
 * - Watch has no timeout (its 30 s AbortSignal is overwritten) and hands back its AbortController
 *   only once the response headers are in: against a server that accepts and never answers
 *   (pause()), the watch() promise stays pending and there is nothing to abort.
 * - The generated APIs (CoreV1Api...) reject with ApiException: err.code is the HTTP status and
 *   err.body the Status as unparsed JSON text; refused connections reject with FetchError.
 * - ListWatch (what makeInformer returns): an ERROR event with code 410 clears its
 *   resourceVersion, and the end of that stream then relists (objects missing from the new list
 *   get 'delete' callbacks) and watches again. Any clean end reconnects at once, from the last
 *   resourceVersion, with a 'connect' callback and no delay. Any done(err) (server gone,
 *   connection refused, list failure) goes to the 'error' callbacks and the informer stays
 *   stopped until start() is called again. It never asks for BOOKMARKs nor sets timeoutSeconds,
 *   so its resourceVersion only moves with events of its own kind: after a compaction a quiet
 *   kind relists on its next reconnect. makeInformer passes no fieldSelector; `new
 *   ListWatch(path, new Watch(kc), listFn, false, labelSelector, fieldSelector)` does. stop()
 *   aborts the open watch, and the abort reaches the 'error' callbacks as an AbortError; stop()
 *   while a watch request is still unanswered aborts nothing: that watch opens later and keeps
 *   delivering events until its stream ends.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ResourceKind = 'Service' | 'EndpointSlice' | 'Node' | 'BGPConfiguration' | 'BGPPeer' | 'BGPFilter';

/** What a test hands to create/update/delete: any object with the metadata the store keys on. */
export interface ObjectMetaInput {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
export interface KubeObjectInput {
  readonly metadata?: ObjectMetaInput;
}

/** An object as stored and served (JSON). */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: StoredMeta;
  [field: string]: unknown;
}
export interface StoredMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** One request as it arrived (recorded even while paused). */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly watch: boolean;
}

export interface K8sApiServerOptions {
  readonly host?: string;
  /** 0 (the default) takes an ephemeral port, kept across stop()/start(). */
  readonly port?: number;
  /** The bearer token the kubeconfig carries and every request must present; false: no auth. */
  readonly token?: string | false;
  /** Interval of BOOKMARK events on watches that allow them. Default 1000 ms. */
  readonly bookmarkIntervalMs?: number;
  /** Changes kept for watch replay; past it the oldest are compacted away (watch cache size). */
  readonly historyLimit?: number;
  /** The kinds served; the others' paths are 404, as a custom resource whose definition is not installed. Default: all. */
  readonly serves?: readonly ResourceKind[];
}

export const DEFAULT_TOKEN = 'kbgp-test-token';

interface ResourceType {
  readonly kind: ResourceKind;
  readonly apiVersion: string;
  /** '/api/v1' or '/apis/<group>/<version>'. */
  readonly root: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const RESOURCES: Readonly<Record<ResourceKind, ResourceType>> = {
  Service: { kind: 'Service', apiVersion: 'v1', root: '/api/v1', plural: 'services', namespaced: true },
  EndpointSlice: {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    root: '/apis/discovery.k8s.io/v1',
    plural: 'endpointslices',
    namespaced: true,
  },
  Node: { kind: 'Node', apiVersion: 'v1', root: '/api/v1', plural: 'nodes', namespaced: false },
  // Calico's resources on the Kubernetes datastore: cluster-scoped custom resources.
  BGPConfiguration: { kind: 'BGPConfiguration', apiVersion: 'crd.projectcalico.org/v1', root: '/apis/crd.projectcalico.org/v1', plural: 'bgpconfigurations', namespaced: false },
  BGPPeer: { kind: 'BGPPeer', apiVersion: 'crd.projectcalico.org/v1', root: '/apis/crd.projectcalico.org/v1', plural: 'bgppeers', namespaced: false },
  BGPFilter: { kind: 'BGPFilter', apiVersion: 'crd.projectcalico.org/v1', root: '/apis/crd.projectcalico.org/v1', plural: 'bgpfilters', namespaced: false },
};

// ---------------------------------------------------------------------------------------------
// Status bodies

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly code: number;
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details && { details }), code };
}

class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
    this.name = new.target.name;
  }
}

const badRequest = (message: string): StatusError => new StatusError(status(400, 'BadRequest', message));
const expired = (message: string): StatusError => new StatusError(status(410, 'Expired', message));
const tooLarge = (rv: number, current: number): StatusError =>
  new StatusError(
    status(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  );

// ---------------------------------------------------------------------------------------------
// Selectors

type LabelRequirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] };
interface FieldRequirement {
  readonly field: 'metadata.name' | 'metadata.namespace';
  readonly equal: boolean;
  readonly value: string;
}
interface Selector {
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
}

const LABEL_KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const LABEL_VALUE = String.raw`[-A-Za-z0-9_.]*`;

/** Splits on commas outside parentheses: `a in (x,y),b` is two requirements. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelSelector(s: string): LabelRequirement[] {
  return splitTop(s).map((term) => {
    let m = new RegExp(`^!\\s*(${LABEL_KEY})$`).exec(term);
    if (m?.[1] !== undefined) return { op: 'notexists', key: m[1] };
    m = new RegExp(`^(${LABEL_KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(term);
    if (m?.[1] !== undefined && m[3] !== undefined) {
      const values = m[3].split(',').map((v) => v.trim());
      return { op: m[2] === 'in' ? 'in' : 'notin', key: m[1], values };
    }
    m = new RegExp(`^(${LABEL_KEY})\\s*(==|=|!=)\\s*(${LABEL_VALUE})$`).exec(term);
    if (m?.[1] !== undefined && m[3] !== undefined) return { op: m[2] === '!=' ? 'notin' : 'in', key: m[1], values: [m[3]] };
    m = new RegExp(`^(${LABEL_KEY})$`).exec(term);
    if (m?.[1] !== undefined) return { op: 'exists', key: m[1] };
    throw badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
}

function parseFieldSelector(s: string, type: ResourceType): FieldRequirement[] {
  return splitTop(s).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m?.[1] === undefined || m[3] === undefined) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = m[1];
    if (field !== 'metadata.name' && !(field === 'metadata.namespace' && type.namespaced)) {
      throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
    return { field, equal: m[2] !== '!=', value: m[3] };
  });
}

function matches(sel: Selector, o: StoredObject): boolean {
  const labels = o.metadata.labels ?? {};
  const labelsOk = sel.labels.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return v !== undefined;
      case 'notexists':
        return v === undefined;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
    }
  });
  return (
    labelsOk &&
    sel.fields.every((r) => {
      const v = r.field === 'metadata.name' ? o.metadata.name : (o.metadata.namespace ?? '');
      return (v === r.value) === r.equal;
    })
  );
}

// ---------------------------------------------------------------------------------------------
// The store: every revision of every key since the last compaction, as etcd keeps them.

interface Revision {
  readonly rv: number;
  /** undefined: a tombstone. */
  readonly object: StoredObject | undefined;
}

interface Change {
  readonly rv: number;
  readonly kind: ResourceKind;
  /** The new state; undefined for a deletion. */
  readonly object: StoredObject | undefined;
  /** The state before; undefined for a creation. */
  readonly prev: StoredObject | undefined;
}

class MvccStore {
  /** The last revision written (etcd starts at 1). */
  revision = 1;
  /** Revisions up to this one are gone: watches and exact lists must start at or after it. */
  compacted = 1;
  readonly changes: Change[] = [];
  private readonly keys = new Map<ResourceKind, Map<string, Revision[]>>();

  constructor(private readonly historyLimit: number) {}

  current(kind: ResourceKind, key: string): StoredObject | undefined {
    const revs = this.keys.get(kind)?.get(key);
    return revs?.[revs.length - 1]?.object;
  }

  /** The objects of one kind as they were at `rv`, in key order. */
  snapshot(kind: ResourceKind, rv: number): { key: string; object: StoredObject }[] {
    const out: { key: string; object: StoredObject }[] = [];
    for (const [key, revs] of this.keys.get(kind) ?? []) {
      let found: Revision | undefined;
      for (const r of revs) if (r.rv <= rv) found = r;
      if (found?.object !== undefined) out.push({ key, object: found.object });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Writes the next revision of `key`; the object's resourceVersion is stamped here. */
  write(kind: ResourceKind, key: string, object: StoredObject | undefined): Change {
    const rv = ++this.revision;
    if (object !== undefined) object.metadata.resourceVersion = String(rv);
    let byKey = this.keys.get(kind);
    if (byKey === undefined) this.keys.set(kind, (byKey = new Map()));
    let revs = byKey.get(key);
    if (revs === undefined) byKey.set(key, (revs = []));
    const prev = revs[revs.length - 1]?.object;
    revs.push({ rv, object });
    const change = { rv, kind, object, prev };
    this.changes.push(change);
    const excess = this.changes.length - this.historyLimit;
    const last = this.changes[excess - 1];
    if (excess > 0 && last !== undefined) this.compact(last.rv);
    return change;
  }

  compact(upTo: number): void {
    if (upTo <= this.compacted) return;
    this.compacted = upTo;
    const keep = this.changes.findIndex((c) => c.rv > upTo);
    this.changes.splice(0, keep === -1 ? this.changes.length : keep);
    for (const byKey of this.keys.values()) {
      for (const [key, revs] of byKey) {
        let last = -1;
        revs.forEach((r, i) => {
          if (r.rv <= upTo) last = i;
        });
        // Keep the newest revision at or before the compaction point (the state as of it), unless
        // it is a tombstone, which etcd drops.
        if (last > 0) revs.splice(0, last);
        if (revs[0] !== undefined && revs[0].rv <= upTo && revs[0].object === undefined) revs.shift();
        if (revs.length === 0) byKey.delete(key);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One open watch: writes events as chunks, or holds them while the server is paused.

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: unknown;
}

class WatchStream {
  private readonly held: (string | null)[] = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  ended = false;

  constructor(
    readonly type: ResourceType,
    readonly namespace: string | undefined,
    readonly selector: Selector,
    readonly bookmarks: boolean,
    private readonly res: ServerResponse,
    private readonly paused: () => boolean,
  ) {}

  send(event: WatchEvent): void {
    this.out(JSON.stringify(event) + '\n');
  }

  /** Ends the stream cleanly (the terminating chunk), as the server does on timeout. */
  end(): void {
    this.dispose();
    this.out(null);
  }

  /** Ends it now, paused or not; output held by a pause is dropped. */
  endNow(): void {
    this.dispose();
    this.held.length = 0;
    this.write(null);
  }

  /** Writes what was held while paused. */
  flush(): void {
    for (const line of this.held.splice(0)) this.write(line);
  }

  scheduleBookmarks(intervalMs: number, bookmark: () => WatchEvent): void {
    clearInterval(this.bookmarkTimer);
    if (!this.bookmarks || this.ended) return;
    this.bookmarkTimer = setInterval(() => {
      if (!this.paused()) this.send(bookmark());
    }, intervalMs);
  }

  scheduleTimeout(seconds: number): void {
    this.timeoutTimer = setTimeout(() => this.end(), seconds * 1000);
  }

  dispose(): void {
    this.ended = true;
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
  }

  private out(line: string | null): void {
    if (this.paused()) this.held.push(line);
    else this.write(line);
  }

  private write(line: string | null): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (line === null) this.res.end();
    else this.res.write(line);
  }
}

// ---------------------------------------------------------------------------------------------
// Routing

interface Route {
  readonly type: ResourceType;
  readonly namespace?: string;
  readonly name?: string;
}

function route(pathname: string): Route | undefined {
  for (const type of Object.values(RESOURCES)) {
    if (!pathname.startsWith(type.root + '/')) continue;
    let segs: string[];
    try {
      segs = pathname.slice(type.root.length + 1).split('/').map(decodeURIComponent);
    } catch {
      return undefined;
    }
    const [a, b, c, d] = segs;
    if (a === type.plural && segs.length === 1) return { type };
    if (a === type.plural && segs.length === 2 && !type.namespaced && b) return { type, name: b };
    if (type.namespaced && a === 'namespaces' && b && c === type.plural) {
      if (segs.length === 3) return { type, namespace: b };
      if (segs.length === 4 && d) return { type, namespace: b, name: d };
    }
  }
  return undefined;
}

function keyOf(type: ResourceType, name: string, namespace: string | undefined): string {
  return type.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function parseRv(s: string): number {
  if (!/^\d+$/.test(s)) throw badRequest(`invalid resource version: ${JSON.stringify(s)}`);
  return Number(s);
}

interface ContinueToken {
  readonly rv: number;
  /** Resume at the first key >= start (the last key returned plus "\0", as the real server does). */
  readonly start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && 'rv' in parsed && 'start' in parsed) {
    const { rv, start } = parsed;
    if (typeof rv === 'number' && typeof start === 'string') return { rv, start };
  }
  throw badRequest(`continue key is not valid: ${s}`);
}

/** A JSON deep copy: what the wire would carry (Dates become strings, undefined fields vanish). */
function jsonCopy(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cloneStored(o: StoredObject): StoredObject {
  return structuredClone(o);
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

export async function startK8sApiServer(options: K8sApiServerOptions = {}): Promise<K8sApiServer> {
  const s = new K8sApiServer(options);
  await s.start();
  return s;
}

export class K8sApiServer {
  readonly host: string;
  readonly token: string | false;
  private portNumber: number;
  private bookmarkMs: number;
  private server: Server | undefined;
  private paused = false;
  private readonly heldRequests: (() => void)[] = [];
  private readonly watches = new Set<WatchStream>();
  private readonly log: RequestRecord[] = [];
  private readonly store: MvccStore;
  private served: Set<ResourceKind>;
  private dir: string | undefined;

  constructor(options: K8sApiServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.portNumber = options.port ?? 0;
    this.token = options.token ?? DEFAULT_TOKEN;
    this.bookmarkMs = options.bookmarkIntervalMs ?? 1000;
    this.store = new MvccStore(options.historyLimit ?? 1000);
    this.served = new Set(options.serves ?? (Object.keys(RESOURCES) as ResourceKind[]));
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://${this.host}:${this.portNumber}`;
  }

  /** The store's current revision (the resourceVersion a list would carry now). */
  get resourceVersion(): string {
    return String(this.store.revision);
  }

  /** Watches and exact lists from a resourceVersion below this one get 410. */
  get compactedResourceVersion(): string {
    return String(this.store.compacted);
  }

  get watchCount(): number {
    return this.watches.size;
  }

  get requests(): readonly RequestRecord[] {
    return this.log;
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  get bookmarkIntervalMs(): number {
    return this.bookmarkMs;
  }

  /** Changes the BOOKMARK interval for open watches too. */
  setBookmarkInterval(ms: number): void {
    this.bookmarkMs = ms;
    for (const w of this.watches) w.scheduleBookmarks(ms, () => this.bookmark(w.type));
  }

  /** From now on serve these kinds only (a custom resource definition installed or removed). */
  serve(kinds: readonly ResourceKind[]): void {
    this.served = new Set(kinds);
  }

  /** A kubeconfig (YAML) for this server: one cluster, one context, the bearer token. */
  get kubeconfig(): string {
    const user = this.token === false ? '{}' : `\n    token: ${this.token}`;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: kbgp-test',
      '  cluster:',
      `    server: ${this.url}`,
      // client-node 1.4.0 refuses an http: server unless this is set ("HTTP protocol is not
      // allowed when skipTLSVerify is not set or false"), though there is no TLS to skip.
      '    insecure-skip-tls-verify: true',
      'contexts:',
      '- name: kbgp-test',
      '  context:',
      '    cluster: kbgp-test',
      '    user: kbgp-test',
      'current-context: kbgp-test',
      'users:',
      '- name: kbgp-test',
      `  user: ${user}`,
      '',
    ].join('\n');
  }

  /** The kubeconfig written to a temp directory (removed by close()). */
  get kubeconfigPath(): string {
    if (this.dir === undefined) throw new Error('the API server was never started');
    return join(this.dir, 'kubeconfig');
  }

  // --- the store -------------------------------------------------------------------------------

  /** Adds an object: uid, resourceVersion and creationTimestamp assigned; namespace defaults to "default". */
  create<T extends KubeObjectInput>(kind: ResourceKind, obj: T): StoredObject {
    const type = RESOURCES[kind];
    const { name, namespace, key } = this.identify(type, obj);
    if (this.store.current(kind, key) !== undefined) throw new Error(`${type.plural} "${name}" already exists`);
    const stored = this.normalise(type, obj, name, namespace, randomUUID(), new Date());
    this.publish(this.store.write(kind, key, stored));
    return cloneStored(stored);
  }

  /** Replaces an object; a resourceVersion given must be the current one (optimistic concurrency). */
  update<T extends KubeObjectInput>(kind: ResourceKind, obj: T): StoredObject {
    const type = RESOURCES[kind];
    const { name, namespace, key } = this.identify(type, obj);
    const current = this.store.current(kind, key);
    if (current === undefined) throw new Error(`${type.plural} "${name}" not found`);
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      throw new Error(`Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified`);
    }
    const stored = this.normalise(type, obj, name, namespace, current.metadata.uid, new Date(current.metadata.creationTimestamp));
    this.publish(this.store.write(kind, key, stored));
    return cloneStored(stored);
  }

  /** Removes an object; returns it as the DELETED event carries it (with the deletion's resourceVersion). */
  delete<T extends KubeObjectInput>(kind: ResourceKind, obj: T): StoredObject {
    const type = RESOURCES[kind];
    const { name, key } = this.identify(type, obj);
    const current = this.store.current(kind, key);
    if (current === undefined) throw new Error(`${type.plural} "${name}" not found`);
    const change = this.store.write(kind, key, undefined);
    this.publish(change);
    return this.deletedObject(current, change.rv);
  }

  get(kind: ResourceKind, name: string, namespace?: string): StoredObject | undefined {
    const type = RESOURCES[kind];
    const o = this.store.current(kind, keyOf(type, name, type.namespaced ? (namespace ?? 'default') : undefined));
    return o && cloneStored(o);
  }

  list(kind: ResourceKind): StoredObject[] {
    return this.store.snapshot(kind, this.store.revision).map((e) => cloneStored(e.object));
  }

  /** Drops all history up to now (or `upTo`): older resourceVersions and continue tokens get 410. */
  compact(upTo?: string): string {
    this.store.compact(upTo === undefined ? this.store.revision : parseRv(upTo));
    return String(this.store.compacted);
  }

  // --- the server's life -----------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => this.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('the API server has no TCP address');
    this.portNumber = addr.port;
    this.server = server;
    if (this.dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'kbgp-k8s-'));
      writeFileSync(this.kubeconfigPath, this.kubeconfig);
    }
  }

  /**
   * The server goes away: the listener closes and every connection is destroyed (open watches end
   * without the terminating chunk, held requests get no answer). The store is kept for start().
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.paused = false;
    this.heldRequests.length = 0;
    for (const w of this.watches) w.dispose();
    this.watches.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** stop() and remove the temp directory: for afterEach. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Ends every open watch cleanly, as the API server does on timeout or shutdown; at once, even
   * while paused (what the pause held for those watches is dropped).
   */
  closeWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.endNow();
    this.watches.clear();
    return n;
  }

  /**
   * Connections are still accepted but nothing is answered and nothing is written to open watches
   * (no BOOKMARKs either) until resume(): a hung or unreachable server as a client sees it.
   * stop() ends a pause (what was held is lost with the connections).
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const w of [...this.watches]) w.flush();
    for (const h of this.heldRequests.splice(0)) h();
  }

  /** Resolves once exactly `count` watches are open. */
  async waitForWatches(count: number, timeoutMs = 5000): Promise<void> {
    await this.until(() => this.watches.size === count, timeoutMs, () => `${count} open watches (have ${this.watches.size})`);
  }

  /** Resolves with the first request logged from now on (or already logged, if `since` is given) that matches. */
  async waitForRequest(match: (r: RequestRecord) => boolean, timeoutMs = 5000, since = this.log.length): Promise<RequestRecord> {
    let found: RequestRecord | undefined;
    await this.until(
      () => (found = this.log.slice(since).find(match)) !== undefined,
      timeoutMs,
      () => 'a matching request',
    );
    if (found === undefined) throw new Error('unreachable');
    return found;
  }

  // --- internals -------------------------------------------------------------------------------

  private async until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
      await sleep(5);
    }
  }

  private identify(type: ResourceType, obj: KubeObjectInput): { name: string; namespace: string | undefined; key: string } {
    const name = obj.metadata?.name;
    if (name === undefined || name === '') throw new Error(`a ${type.kind} needs metadata.name`);
    const namespace = type.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    return { name, namespace, key: keyOf(type, name, namespace) };
  }

  private normalise(type: ResourceType, obj: KubeObjectInput, name: string, namespace: string | undefined, uid: string, created: Date): StoredObject {
    const copy = jsonCopy(obj);
    if (!isRecord(copy)) throw new Error(`a ${type.kind} must be an object`);
    const meta = isRecord(copy.metadata) ? copy.metadata : {};
    delete meta.namespace;
    const metadata: StoredMeta = {
      ...meta,
      name,
      ...(namespace !== undefined && { namespace }),
      uid,
      resourceVersion: '',
      // RFC 3339 with whole seconds, as the API server writes timestamps.
      creationTimestamp: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    return { ...copy, apiVersion: type.apiVersion, kind: type.kind, metadata };
  }

  private deletedObject(last: StoredObject, rv: number): StoredObject {
    const o = cloneStored(last);
    o.metadata.resourceVersion = String(rv);
    return o;
  }

  /** A BOOKMARK: the kind and the store's revision, nothing else. */
  private bookmark(type: ResourceType, annotations?: Record<string, string>): WatchEvent {
    const metadata = { resourceVersion: String(this.store.revision), ...(annotations && { annotations }) };
    return { type: 'BOOKMARK', object: { kind: type.kind, apiVersion: type.apiVersion, metadata } };
  }

  /** The event one watch sees for one change, with the cacher's selector transitions. */
  private eventFor(w: WatchStream, c: Change): WatchEvent | undefined {
    const inScope = (o: StoredObject | undefined): o is StoredObject =>
      o !== undefined && (w.namespace === undefined || o.metadata.namespace === w.namespace) && matches(w.selector, o);
    const now = inScope(c.object);
    const before = inScope(c.prev);
    if (now && c.object !== undefined) return { type: before ? 'MODIFIED' : 'ADDED', object: c.object };
    // Leaving the selector (or deleted): the previous content, at the change's resourceVersion.
    if (before && c.prev !== undefined) return { type: 'DELETED', object: this.deletedObject(c.prev, c.rv) };
    return undefined;
  }

  private publish(c: Change): void {
    for (const w of this.watches) {
      if (w.type.kind !== c.kind) continue;
      const e = this.eventFor(w, c);
      if (e !== undefined) w.send(e);
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    this.log.push({ method: req.method ?? '', path: url.pathname, query, watch: isTrue(url.searchParams.get('watch')) });
    if (this.paused) this.heldRequests.push(() => this.dispatch(req, res, url));
    else this.dispatch(req, res, url);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (res.destroyed || req.socket.destroyed) return;
    try {
      if (this.token !== false && req.headers.authorization !== `Bearer ${this.token}`) {
        throw new StatusError(status(401, 'Unauthorized', 'Unauthorized'));
      }
      const r = route(url.pathname);
      if (r === undefined || !this.served.has(r.type.kind)) throw new StatusError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
      if (req.method !== 'GET') {
        throw new StatusError(status(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported by this test server`));
      }
      const q = url.searchParams;
      if (isTrue(q.get('watch'))) this.watch(res, r, q);
      else if (r.name !== undefined) this.getOne(res, r);
      else this.listAll(res, r, q);
    } catch (e) {
      const s = e instanceof StatusError ? e.status : status(500, 'InternalError', e instanceof Error ? e.message : String(e));
      sendJson(res, s.code, s);
    }
  }

  private selector(r: Route, q: URLSearchParams): Selector {
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '', r.type);
    return {
      labels: parseLabelSelector(q.get('labelSelector') ?? ''),
      // A watch on one object's path is a watch with its name as field selector.
      fields: r.name === undefined ? fields : [...fields, { field: 'metadata.name', equal: true, value: r.name }],
    };
  }

  private getOne(res: ServerResponse, r: Route): void {
    const name = r.name ?? '';
    const o = this.store.current(r.type.kind, keyOf(r.type, name, r.namespace));
    if (o === undefined) {
      throw new StatusError(status(404, 'NotFound', `${r.type.plural} "${name}" not found`, { name, kind: r.type.plural }));
    }
    sendJson(res, 200, o);
  }

  private listAll(res: ServerResponse, r: Route, q: URLSearchParams): void {
    const sel = this.selector(r, q);
    const rvParam = q.get('resourceVersion') ?? '';
    const match = q.get('resourceVersionMatch') ?? '';
    const cont = q.get('continue') ?? '';
    const limitParam = q.get('limit');
    let limit = limitParam === null || limitParam === '' ? 0 : parseRv(limitParam);
    const current = this.store.revision;
    let at = current;
    let start = '';
    if (match !== '' && rvParam === '') throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') throw badRequest(`unsupported resourceVersionMatch: ${match}`);
    if (cont !== '') {
      if (rvParam !== '') throw badRequest('specifying resource version is not allowed when using continue');
      const t = decodeContinue(cont);
      if (t.rv < this.store.compacted) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. ' +
            'You can start a new list without the continue parameter.',
        );
      }
      at = t.rv;
      start = t.start;
    } else if (rvParam !== '') {
      const rv = parseRv(rvParam);
      if (rv > current) throw tooLarge(rv, current);
      if (match === 'Exact') {
        if (rv < this.store.compacted) throw expired(`too old resource version: ${rv} (${this.store.compacted})`);
        at = rv;
      } else if (rv === 0) {
        // Served from the watch cache, which ignores limit.
        limit = 0;
      }
    }
    const all = this.store
      .snapshot(r.type.kind, at)
      .filter((e) => e.key >= start && (r.namespace === undefined || e.object.metadata.namespace === r.namespace) && matches(sel, e.object));
    const page = limit > 0 ? all.slice(0, limit) : all;
    const last = page[page.length - 1];
    const more = page.length < all.length && last !== undefined;
    const metadata: Record<string, string | number> = { resourceVersion: String(at) };
    if (more) {
      metadata.continue = encodeContinue({ rv: at, start: last.key + '\u0000' });
      metadata.remainingItemCount = all.length - page.length;
    }
    const items = page.map((e) => {
      // List items carry no kind/apiVersion, as kube-apiserver sends them.
      const { kind: _k, apiVersion: _a, ...rest } = e.object;
      return rest;
    });
    sendJson(res, 200, { kind: `${r.type.kind}List`, apiVersion: r.type.apiVersion, metadata, items });
  }

  private watch(res: ServerResponse, r: Route, q: URLSearchParams): void {
    const sel = this.selector(r, q);
    const rvParam = q.get('resourceVersion') ?? '';
    const rv = rvParam === '' ? undefined : parseRv(rvParam);
    const timeoutParam = q.get('timeoutSeconds');
    const timeoutSeconds = timeoutParam === null || timeoutParam === '' ? 0 : parseRv(timeoutParam);
    const initial = rv === undefined || rv === 0 || isTrue(q.get('sendInitialEvents'));

    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w = new WatchStream(r.type, r.namespace, sel, isTrue(q.get('allowWatchBookmarks')), res, () => this.paused);

    if (!initial && rv !== undefined && rv < this.store.compacted) {
      // kube-apiserver answers 200 and sends the 410 as the one event of the stream.
      w.send({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${rv} (${this.store.compacted})`) });
      w.end();
      return;
    }
    if (initial) {
      for (const { object } of this.store.snapshot(r.type.kind, this.store.revision)) {
        const e = this.eventFor(w, { rv: this.store.revision, kind: r.type.kind, object, prev: undefined });
        if (e !== undefined) w.send(e);
      }
      // The streaming list (KEP-3157): a BOOKMARK marks the end of the initial events.
      if (isTrue(q.get('sendInitialEvents')) && w.bookmarks) w.send(this.bookmark(r.type, { 'k8s.io/initial-events-end': 'true' }));
    } else {
      for (const c of this.store.changes) {
        if (rv !== undefined && c.rv <= rv) continue;
        if (c.kind !== r.type.kind) continue;
        const e = this.eventFor(w, c);
        if (e !== undefined) w.send(e);
      }
    }
    this.watches.add(w);
    res.on('close', () => {
      w.dispose();
      this.watches.delete(w);
    });
    w.scheduleBookmarks(this.bookmarkMs, () => this.bookmark(r.type));
    if (timeoutSeconds > 0) w.scheduleTimeout(timeoutSeconds);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
