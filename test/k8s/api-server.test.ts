/**
 * The test API server (test/helpers/k8s-api-server.ts) proven twice: on the wire, with raw HTTP
 * and a raw socket (status bodies, chunk framing, one JSON event per line), and through
 * @kubernetes/client-node 1.4.0 itself (CoreV1Api lists, Watch, ListWatch/makeInformer), whose
 * reactions to 410, a server close, a dead server and a hung one are pinned here because the
 * watcher in src/k8s is built on them.
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import {
  AbortError,
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  FetchError,
  KubeConfig,
  ListWatch,
  type V1Node,
  type V1Service,
  Watch,
  makeInformer,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, type K8sApiServer, type K8sApiServerOptions, startK8sApiServer } from '../helpers/k8s-api-server.js';

// --- bookkeeping: every server, watch and informer is ended after each test ---------------------

const servers: K8sApiServer[] = [];
const controllers: AbortController[] = [];
const informers: { stop(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  for (const c of controllers.splice(0)) c.abort();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function apiServer(options: K8sApiServerOptions = {}): Promise<K8sApiServer> {
  const s = await startK8sApiServer(options);
  servers.push(s);
  return s;
}

function kubeConfigFor(s: K8sApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(s.kubeconfigPath);
  return kc;
}

/**
 * A Service informer built as kbgp's watcher builds it, its callbacks as lines ('add a',
 * 'update a', 'delete a', 'connect', 'error') and its errors kept in order.
 */
function serviceInformer(s: K8sApiServer): { informer: ReturnType<typeof makeInformer<V1Service>>; log: string[]; errors: unknown[] } {
  const kc = kubeConfigFor(s);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
  const log: string[] = [];
  const errors: unknown[] = [];
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (o) => log.push(`${verb} ${o.metadata?.name}`));
  informer.on('connect', () => log.push('connect'));
  informer.on('error', (e: unknown) => {
    log.push('error');
    errors.push(e);
  });
  return { informer, log, errors };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

// --- reading unknown JSON without casts -------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path of keys, or undefined. */
function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const k of path) cur = isRecord(cur) ? cur[k] : undefined;
  return cur;
}

function str(v: unknown, ...path: string[]): string {
  const s = at(v, ...path);
  if (typeof s !== 'string') throw new Error(`no string at ${path.join('.')} in ${JSON.stringify(v)}`);
  return s;
}

function items(list: unknown): unknown[] {
  const i = at(list, 'items');
  if (!Array.isArray(i)) throw new Error(`not a list: ${JSON.stringify(list)}`);
  return i;
}

const names = (list: unknown): string[] => items(list).map((o) => str(o, 'metadata', 'name'));

// --- raw HTTP -----------------------------------------------------------------------------------

interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** One request with node:http; token null sends no Authorization header. */
function http(s: K8sApiServer, path: string, opts: { token?: string | null; method?: string } = {}): Promise<HttpAnswer> {
  const token = opts.token === undefined ? DEFAULT_TOKEN : opts.token;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: s.host, port: s.port, path, method: opts.method ?? 'GET', headers: token === null ? {} : { authorization: `Bearer ${token}` }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A watch read off a raw socket, so the chunk framing itself can be checked: the head, then each
 * chunk's payload as sent, and whether the terminating zero-length chunk came.
 */
class RawWatch {
  private data = Buffer.alloc(0);
  closed = false;

  private constructor(private readonly socket: ReturnType<typeof connect>) {
    socket.on('data', (c: Buffer) => {
      this.data = Buffer.concat([this.data, c]);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static open(s: K8sApiServer, path: string): Promise<RawWatch> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: s.host, port: s.port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${s.host}\r\nAuthorization: Bearer ${DEFAULT_TOKEN}\r\nConnection: close\r\n\r\n`);
        resolve(new RawWatch(socket));
      });
    });
  }

  get head(): string {
    const end = this.data.indexOf('\r\n\r\n');
    return end === -1 ? '' : this.data.subarray(0, end).toString('latin1');
  }

  /** The chunks so far (a partial one is left out) and whether the last-chunk was seen. */
  chunks(): { payloads: string[]; terminated: boolean } {
    const end = this.data.indexOf('\r\n\r\n');
    if (end === -1) return { payloads: [], terminated: false };
    let pos = end + 4;
    const payloads: string[] = [];
    for (;;) {
      const eol = this.data.indexOf('\r\n', pos);
      if (eol === -1) return { payloads, terminated: false };
      const size = parseInt(this.data.subarray(pos, eol).toString('latin1'), 16);
      if (size === 0) return { payloads, terminated: this.data.subarray(eol, eol + 4).toString('latin1') === '\r\n\r\n' };
      if (this.data.length < eol + 2 + size + 2) return { payloads, terminated: false };
      payloads.push(this.data.subarray(eol + 2, eol + 2 + size).toString('utf8'));
      if (this.data.subarray(eol + 2 + size, eol + 4 + size).toString('latin1') !== '\r\n') throw new Error('chunk not followed by CRLF');
      pos = eol + 4 + size;
    }
  }

  events(): unknown[] {
    return this.chunks().payloads.map((p): unknown => JSON.parse(p));
  }

  async waitForEvents(n: number, timeoutMs = 5000): Promise<unknown[]> {
    await until(() => this.chunks().payloads.length >= n, `${n} watch events`, timeoutMs);
    return this.events();
  }

  close(): void {
    this.socket.destroy();
  }
}

const rawWatches: RawWatch[] = [];
afterEach(() => {
  for (const w of rawWatches.splice(0)) w.close();
});

async function rawWatch(s: K8sApiServer, path: string): Promise<RawWatch> {
  const w = await RawWatch.open(s, path);
  rawWatches.push(w);
  return w;
}

const eventSummary = (e: unknown): string => `${str(e, 'type')} ${String(at(e, 'object', 'metadata', 'name') ?? at(e, 'object', 'metadata', 'resourceVersion'))}`;

// --- fixtures -------------------------------------------------------------------------------------

function service(name: string, namespace: string, labels?: Record<string, string>): { metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: { type: string; clusterIP: string } } {
  return { metadata: { name, namespace, ...(labels && { labels }) }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10' } };
}

// =================================================================================================

describe('lists over raw HTTP', () => {
  it('serves Services, EndpointSlices and Nodes at the API server paths, list items without kind', async () => {
    const s = await apiServer();
    const rvBefore = Number(s.resourceVersion);
    s.create('Service', service('web', 'b'));
    s.create('Service', service('db', 'a'));
    s.create('Service', service('api', 'a'));
    s.create('EndpointSlice', { metadata: { name: 'web-x1', namespace: 'b', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [] });
    s.create('Node', { metadata: { name: 'node-1', namespace: 'ignored' } });

    const all = await http(s, '/api/v1/services');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: s.resourceVersion } });
    expect(at(all.body, 'metadata', 'continue')).toBeUndefined();
    // etcd key order: namespace, then name.
    expect(names(all.body)).toEqual(['api', 'db', 'web']);
    const first = items(all.body)[0];
    expect(at(first, 'kind')).toBeUndefined();
    expect(at(first, 'apiVersion')).toBeUndefined();
    expect(str(first, 'metadata', 'uid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(str(first, 'metadata', 'creationTimestamp')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // One revision counter for every kind: web, db, api, the slice, the node.
    expect(items(all.body).map((o) => Number(str(o, 'metadata', 'resourceVersion')))).toEqual([rvBefore + 3, rvBefore + 2, rvBefore + 1]);
    expect(s.resourceVersion).toBe(String(rvBefore + 5));

    expect(names((await http(s, '/api/v1/namespaces/a/services')).body)).toEqual(['api', 'db']);
    expect(names((await http(s, '/api/v1/namespaces/zz/services')).body)).toEqual([]);
    const slices = await http(s, '/apis/discovery.k8s.io/v1/namespaces/b/endpointslices');
    expect(slices.body).toMatchObject({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', items: [{ metadata: { name: 'web-x1' }, addressType: 'IPv4' }] });
    expect(names((await http(s, '/apis/discovery.k8s.io/v1/endpointslices')).body)).toEqual(['web-x1']);
    expect((await http(s, '/api/v1/nodes')).body).toMatchObject({ kind: 'NodeList', apiVersion: 'v1', items: [{ metadata: { name: 'node-1' } }] });

    const node = await http(s, '/api/v1/nodes/node-1');
    expect(node.body).toMatchObject({ kind: 'Node', apiVersion: 'v1', metadata: { name: 'node-1', resourceVersion: String(rvBefore + 5) } });
    expect(at(node.body, 'metadata', 'namespace')).toBeUndefined();
    expect((await http(s, '/api/v1/namespaces/a/services/db')).body).toMatchObject({ kind: 'Service', metadata: { name: 'db', namespace: 'a' } });
    expect((await http(s, '/apis/discovery.k8s.io/v1/namespaces/b/endpointslices/web-x1')).body).toMatchObject({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' });
  });

  it.each<[string, string, { token?: string | null; method?: string }, number, string, string]>([
    ['unknown Service', '/api/v1/namespaces/a/services/nope', {}, 404, 'NotFound', 'services "nope" not found'],
    ['unknown Node', '/api/v1/nodes/nope', {}, 404, 'NotFound', 'nodes "nope" not found'],
    ['unknown resource', '/api/v1/pods', {}, 404, 'NotFound', 'the server could not find the requested resource'],
    ['Nodes are not namespaced', '/api/v1/namespaces/a/nodes', {}, 404, 'NotFound', 'the server could not find the requested resource'],
    ['no token', '/api/v1/services', { token: null }, 401, 'Unauthorized', 'Unauthorized'],
    ['wrong token', '/api/v1/services', { token: 'guess' }, 401, 'Unauthorized', 'Unauthorized'],
    ['bad label selector', '/api/v1/services?labelSelector=a%3D%3D%3Db', {}, 400, 'BadRequest', 'unable to parse requirement: "a===b"'],
    ['unsupported field', '/api/v1/nodes?fieldSelector=spec.foo%3Dx', {}, 400, 'BadRequest', '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['bad continue token', '/api/v1/services?continue=garbage', {}, 400, 'BadRequest', 'continue key is not valid: garbage'],
    ['resourceVersionMatch alone', '/api/v1/services?resourceVersionMatch=Exact', {}, 400, 'BadRequest', 'resourceVersionMatch is forbidden unless resourceVersion is provided'],
    ['resourceVersion from the future', '/api/v1/services?resourceVersion=999', {}, 504, 'Timeout', 'Too large resource version: 999, current: 1'],
    ['a write', '/api/v1/namespaces/a/services', { method: 'POST' }, 405, 'MethodNotAllowed', 'POST is not supported by this test server'],
  ])('%s (%s)', async (_name, path, opts, code, reason, message) => {
    const s = await apiServer();
    const a = await http(s, path, opts);
    expect(a.status).toBe(code);
    expect(a.headers['content-type']).toBe('application/json');
    expect(a.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message });
  });

  it('pages with limit/continue from the first page’s snapshot; a continue token from before a compaction is 410', async () => {
    const s = await apiServer();
    for (const n of ['a', 'b', 'c', 'd', 'e']) s.create('Service', service(n, 'ns'));
    const listRv = s.resourceVersion;
    const p1 = await http(s, '/api/v1/services?limit=2');
    expect(names(p1.body)).toEqual(['a', 'b']);
    expect(at(p1.body, 'metadata')).toMatchObject({ resourceVersion: listRv, remainingItemCount: 3 });
    const token = str(p1.body, 'metadata', 'continue');

    // Changes after the first page stay out of the rest of the list: a consistent snapshot.
    s.update('Service', { ...service('c', 'ns'), spec: { type: 'ClusterIP', clusterIP: '10.96.0.99' } });
    s.delete('Service', service('d', 'ns'));
    s.create('Service', service('f', 'ns'));
    const p2 = await http(s, `/api/v1/services?limit=2&continue=${encodeURIComponent(token)}`);
    expect(names(p2.body)).toEqual(['c', 'd']);
    expect(at(items(p2.body)[0], 'spec', 'clusterIP')).toBe('10.96.0.10');
    expect(str(p2.body, 'metadata', 'resourceVersion')).toBe(listRv);
    const p3 = await http(s, `/api/v1/services?limit=2&continue=${encodeURIComponent(str(p2.body, 'metadata', 'continue'))}`);
    expect(names(p3.body)).toEqual(['e']);
    expect(at(p3.body, 'metadata', 'continue')).toBeUndefined();

    // A fresh list sees the changes.
    expect(names((await http(s, '/api/v1/services')).body)).toEqual(['a', 'b', 'c', 'e', 'f']);

    s.compact();
    const gone = await http(s, `/api/v1/services?limit=2&continue=${encodeURIComponent(token)}`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    expect(str(gone.body, 'message')).toMatch(/^The provided continue parameter is too old/);
  });

  it('lists the past with resourceVersionMatch=Exact until compacted; resourceVersion=0 ignores limit', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'ns'));
    const rvA = s.resourceVersion;
    s.create('Service', service('b', 'ns'));
    s.delete('Service', service('a', 'ns'));

    const past = await http(s, `/api/v1/services?resourceVersion=${rvA}&resourceVersionMatch=Exact`);
    expect(names(past.body)).toEqual(['a']);
    expect(str(past.body, 'metadata', 'resourceVersion')).toBe(rvA);
    const notOlder = await http(s, `/api/v1/services?resourceVersion=${rvA}&resourceVersionMatch=NotOlderThan`);
    expect(names(notOlder.body)).toEqual(['b']);
    expect(str(notOlder.body, 'metadata', 'resourceVersion')).toBe(s.resourceVersion);

    s.create('Service', service('c', 'ns'));
    const zero = await http(s, '/api/v1/services?resourceVersion=0&limit=1');
    expect(names(zero.body)).toEqual(['b', 'c']);
    expect(at(zero.body, 'metadata', 'continue')).toBeUndefined();

    expect(s.compact()).toBe(s.resourceVersion);
    const gone = await http(s, `/api/v1/services?resourceVersion=${rvA}&resourceVersionMatch=Exact`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ code: 410, reason: 'Expired', message: `too old resource version: ${rvA} (${s.resourceVersion})` });
  });

  it.each<[string, string]>([
    ['labelSelector=app%3Dweb', 'web1,web2'],
    ['labelSelector=app%3D%3Dweb', 'web1,web2'],
    ['labelSelector=app%21%3Dweb', 'db,plain'],
    ['labelSelector=app', 'db,web1,web2'],
    ['labelSelector=%21app', 'plain'],
    ['labelSelector=tier%20in%20(front,back)', 'db,web1'],
    ['labelSelector=tier%20notin%20(front),app', 'db,web2'],
    ['labelSelector=app%3Dweb,tier%3Dfront', 'web1'],
    ['fieldSelector=metadata.name%3Dweb2', 'web2'],
    ['fieldSelector=metadata.name%21%3Dweb2,metadata.namespace%3Dns', 'db,plain,web1'],
    ['fieldSelector=metadata.name%3D%3Dweb1&labelSelector=app%3Dweb', 'web1'],
  ])('selects with %s', async (query, expected) => {
    const s = await apiServer();
    s.create('Service', service('web1', 'ns', { app: 'web', tier: 'front' }));
    s.create('Service', service('web2', 'ns', { app: 'web' }));
    s.create('Service', service('db', 'ns', { app: 'db', tier: 'back' }));
    s.create('Service', service('plain', 'ns'));
    const a = await http(s, `/api/v1/services?${query}`);
    expect(a.status).toBe(200);
    expect(names(a.body).join(',')).toBe(expected);
  });
});

describe('watch over raw HTTP', () => {
  it('is chunked application/json, one JSON event per chunk and line, ended by the last-chunk', async () => {
    const s = await apiServer();
    s.create('Node', { metadata: { name: 'node-1' } });
    const w = await rawWatch(s, `/api/v1/nodes?watch=1&resourceVersion=${s.resourceVersion}`);
    await s.waitForWatches(1);
    expect(w.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(w.head).toMatch(/\r\nContent-Type: application\/json\r\n/i);
    expect(w.head).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/i);
    expect(w.head).not.toMatch(/Content-Length/i);

    s.update('Node', { metadata: { name: 'node-1', labels: { zone: 'a' } } });
    s.create('Node', { metadata: { name: 'node-2' } });
    s.delete('Node', { metadata: { name: 'node-1' } });
    const events = await w.waitForEvents(3);
    expect(events.map(eventSummary)).toEqual(['MODIFIED node-1', 'ADDED node-2', 'DELETED node-1']);
    for (const p of w.chunks().payloads) {
      expect(p.endsWith('\n')).toBe(true);
      expect(p.indexOf('\n')).toBe(p.length - 1);
    }
    expect(events[0]).toMatchObject({ type: 'MODIFIED', object: { kind: 'Node', apiVersion: 'v1', metadata: { name: 'node-1', labels: { zone: 'a' } } } });
    // A DELETED object is the last state, at the deletion's resourceVersion.
    expect(events[2]).toMatchObject({ object: { metadata: { labels: { zone: 'a' }, resourceVersion: s.resourceVersion } } });
    expect(w.chunks().terminated).toBe(false);

    expect(s.closeWatches()).toBe(1);
    await until(() => w.chunks().terminated && w.closed, 'the last-chunk and the close');
    expect(s.watchCount).toBe(0);
  });

  it('without resourceVersion or with "0" starts with ADDED for every object; with one replays only what came after', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    const rvA = s.resourceVersion;
    s.create('Service', service('b', 'y'));
    s.create('Node', { metadata: { name: 'node-1' } });
    s.update('Service', { ...service('a', 'x'), spec: { type: 'LoadBalancer' } });

    for (const path of ['/api/v1/services?watch=true', '/api/v1/services?watch=1&resourceVersion=0']) {
      const w = await rawWatch(s, path);
      expect((await w.waitForEvents(2)).map(eventSummary)).toEqual(['ADDED a', 'ADDED b']);
    }
    const ns = await rawWatch(s, '/api/v1/namespaces/y/services?watch=1');
    expect((await ns.waitForEvents(1)).map(eventSummary)).toEqual(['ADDED b']);

    // Changes after rvA, of this kind only: the Node's revision is skipped.
    const replay = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${rvA}`);
    expect((await replay.waitForEvents(2)).map(eventSummary)).toEqual(['ADDED b', 'MODIFIED a']);
    const now = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${s.resourceVersion}`);
    await s.waitForWatches(5);
    s.create('Service', service('c', 'x'));
    expect((await now.waitForEvents(1)).map(eventSummary)).toEqual(['ADDED c']);
    await sleep(50);
    expect(now.events()).toHaveLength(1);
  });

  it('from a compacted resourceVersion sends one ERROR event with Status 410 Expired, then ends', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    const old = s.resourceVersion;
    s.create('Service', service('b', 'x'));
    const compacted = s.compact();
    const w = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${old}`);
    await until(() => w.chunks().terminated, 'the end of the stream');
    expect(w.head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(w.events()).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${compacted})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    // The compaction point itself is still watchable.
    const ok = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${compacted}`);
    await s.waitForWatches(1);
    expect(ok.events()).toEqual([]);
  });

  it('keeps historyLimit changes: older resourceVersions are compacted away as the watch cache drops them', async () => {
    const s = await apiServer({ historyLimit: 3 });
    const start = s.resourceVersion;
    for (const n of ['a', 'b', 'c', 'd']) s.create('Service', service(n, 'x'));
    expect(s.compactedResourceVersion).toBe(String(Number(start) + 1));
    const tooOld = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${start}`);
    expect((await tooOld.waitForEvents(1)).map(eventSummary)).toEqual(['ERROR undefined']);
    const w = await rawWatch(s, `/api/v1/services?watch=1&resourceVersion=${s.compactedResourceVersion}`);
    expect((await w.waitForEvents(3)).map(eventSummary)).toEqual(['ADDED b', 'ADDED c', 'ADDED d']);
  });

  it('follows selectors as the cacher does: leaving one is DELETED, entering one is ADDED; a field selector watches one Node', async () => {
    const s = await apiServer();
    s.create('Service', service('web', 'x', { app: 'web' }));
    const sel = await rawWatch(s, `/api/v1/services?watch=1&labelSelector=app%3Dweb&resourceVersion=${s.resourceVersion}`);
    s.create('Node', { metadata: { name: 'node-1' } });
    s.create('Node', { metadata: { name: 'node-2' } });
    const one = await rawWatch(s, '/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dnode-1');
    const byPath = await rawWatch(s, `/api/v1/nodes/node-2?watch=1&resourceVersion=${s.resourceVersion}`);
    await s.waitForWatches(3);

    s.update('Service', service('web', 'x', { app: 'other' }));
    const leftRv = s.resourceVersion;
    s.update('Service', service('web', 'x', { app: 'web', v: '2' }));
    s.create('Service', service('db', 'x', { app: 'db' }));
    s.update('Node', { metadata: { name: 'node-2', labels: { a: 'b' } } });
    s.update('Node', { metadata: { name: 'node-1', labels: { a: 'b' } } });

    const events = await sel.waitForEvents(2);
    expect(events.map(eventSummary)).toEqual(['DELETED web', 'ADDED web']);
    // The object that left is the one before the change, at the change's resourceVersion.
    expect(events[0]).toMatchObject({ object: { metadata: { labels: { app: 'web' }, resourceVersion: leftRv } } });
    expect((await one.waitForEvents(2)).map(eventSummary)).toEqual(['ADDED node-1', 'MODIFIED node-1']);
    expect((await byPath.waitForEvents(1)).map(eventSummary)).toEqual(['MODIFIED node-2']);
    await sleep(50);
    expect(sel.events()).toHaveLength(2);
    expect(one.events()).toHaveLength(2);
    expect(byPath.events()).toHaveLength(1);
  });

  it('sends BOOKMARKs only when allowed, with just kind, apiVersion and resourceVersion; ends at timeoutSeconds', async () => {
    const s = await apiServer({ bookmarkIntervalMs: 30 });
    s.create('EndpointSlice', { metadata: { name: 'x1', namespace: 'x' } });
    const started = Date.now();
    const marked = await rawWatch(s, `/apis/discovery.k8s.io/v1/endpointslices?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${s.resourceVersion}`);
    const plain = await rawWatch(s, `/apis/discovery.k8s.io/v1/endpointslices?watch=1&timeoutSeconds=1&resourceVersion=${s.resourceVersion}`);
    const events = await marked.waitForEvents(2);
    s.create('Node', { metadata: { name: 'node-1' } });
    expect(events[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(Number(s.resourceVersion) - 1) } } });
    // The bookmark follows the store's revision, whatever kind moved it.
    await until(() => marked.events().some((e) => at(e, 'object', 'metadata', 'resourceVersion') === s.resourceVersion), 'a bookmark at the new revision');

    await until(() => marked.chunks().terminated && plain.chunks().terminated, 'both watches to time out', 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(plain.events()).toEqual([]);
    expect(marked.events().every((e) => at(e, 'type') === 'BOOKMARK')).toBe(true);
  });

  it('with sendInitialEvents=true ends the initial ADDED events with an annotated BOOKMARK', async () => {
    const s = await apiServer({ bookmarkIntervalMs: 60_000 });
    s.create('Node', { metadata: { name: 'node-1' } });
    const w = await rawWatch(s, '/api/v1/nodes?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
    const events = await w.waitForEvents(2);
    expect(events.map(eventSummary)).toEqual(['ADDED node-1', `BOOKMARK ${s.resourceVersion}`]);
    expect(events[1]).toMatchObject({ object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  });

  it('pause() holds answers and watch output; resume() delivers them in order', async () => {
    const s = await apiServer({ bookmarkIntervalMs: 20 });
    const w = await rawWatch(s, `/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=${s.resourceVersion}`);
    await s.waitForWatches(1);
    s.pause();
    const before = w.chunks().payloads.length;
    s.create('Service', service('a', 'x'));
    let answered = false;
    const list = http(s, '/api/v1/services').then((a) => {
      answered = true;
      return a;
    });
    await s.waitForRequest((r) => r.path === '/api/v1/services' && !r.watch, 5000, 0);
    await sleep(100);
    expect(answered).toBe(false);
    expect(w.chunks().payloads.length).toBe(before);

    s.resume();
    expect(names((await list).body)).toEqual(['a']);
    const events = await w.waitForEvents(before + 1);
    expect(events.slice(before).map(eventSummary)[0]).toBe('ADDED a');
  });

  it('logs every request with its method, path and query', async () => {
    const s = await apiServer();
    await http(s, '/api/v1/nodes?limit=5&labelSelector=a%3Db');
    await http(s, '/api/v1/nodes/x', { token: null });
    expect(s.requests).toEqual([
      { method: 'GET', path: '/api/v1/nodes', query: { limit: '5', labelSelector: 'a=b' }, watch: false },
      { method: 'GET', path: '/api/v1/nodes/x', query: {}, watch: false },
    ]);
    s.clearRequests();
    expect(s.requests).toEqual([]);
  });
});

// =================================================================================================

interface WatchRecord {
  readonly events: { type: string; object: unknown }[];
  readonly done: unknown[];
}

/** A client-node Watch whose callbacks only record; the test asserts afterwards. */
async function clientWatch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>): Promise<WatchRecord> {
  const rec: WatchRecord = { events: [], done: [] };
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type: string, object: unknown) => rec.events.push({ type, object }),
    (err: unknown) => rec.done.push(err),
  );
  controllers.push(controller);
  return rec;
}

/** makeInformer is typed as Informer & ObjectCache but returns a ListWatch, which knows its resourceVersion. */
function latestResourceVersion(informer: unknown): string {
  if (!(informer instanceof ListWatch)) throw new Error('makeInformer did not return a ListWatch');
  return informer.latestResourceVersion();
}

const clientSummary = (e: { type: string; object: unknown }): string => eventSummary(e);

describe('@kubernetes/client-node 1.4.0 against it', () => {
  it('lists Services over every page with limit/continue, reads objects, and surfaces 404 and 410 as ApiException', async () => {
    const s = await apiServer();
    const expected: string[] = [];
    for (let i = 0; i < 7; i++) {
      s.create('Service', service(`svc-${i}`, i % 2 === 0 ? 'even' : 'odd'));
      expected.push(`${i % 2 === 0 ? 'even' : 'odd'}/svc-${i}`);
    }
    s.create('EndpointSlice', { metadata: { name: 'svc-0-abc', namespace: 'even' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.5'], nodeName: 'node-1' }] });
    s.create('Node', { metadata: { name: 'node-1' } });
    const kc = kubeConfigFor(s);
    const core = kc.makeApiClient(CoreV1Api);

    const seen: string[] = [];
    const pageRvs = new Set<string>();
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listServiceForAllNamespaces({ limit: 3, ...(cont !== undefined && { _continue: cont }) });
      pages++;
      for (const svc of page.items) seen.push(`${svc.metadata?.namespace}/${svc.metadata?.name}`);
      pageRvs.add(page.metadata?.resourceVersion ?? '');
      cont = page.metadata?._continue;
      if (pages === 1) s.create('Service', service('late', 'even'));
    } while (cont !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...expected].sort());
    expect([...pageRvs]).toEqual([String(Number(s.resourceVersion) - 1)]);

    const slices = await kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces();
    expect(slices.items.map((e) => e.endpoints?.[0]?.nodeName)).toEqual(['node-1']);
    const node = await core.readNode({ name: 'node-1' });
    expect(node.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect((await core.listNamespacedService({ namespace: 'odd' })).items).toHaveLength(3);

    const notFound = await core.readNamespacedService({ name: 'nope', namespace: 'odd' }).catch((e: unknown) => e);
    // ApiException carries the Status as unparsed JSON text, under "Unknown API Status Code!".
    expect(notFound).toBeInstanceOf(ApiException);
    expect(notFound).toMatchObject({ code: 404, message: expect.stringContaining('Unknown API Status Code!') });
    expect(JSON.parse(String(at(notFound, 'body')))).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'services "nope" not found' });

    const first = await core.listServiceForAllNamespaces({ limit: 2 });
    // Compaction at R keeps R readable (as etcd's does): the token goes stale once the store moves on.
    s.compact();
    expect((await core.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue ?? '' })).items).toHaveLength(2);
    s.create('Service', service('later', 'odd'));
    s.compact();
    const expired = await core.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue ?? '' }).catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(ApiException);
    expect(expired).toMatchObject({ code: 410 });
    expect(JSON.parse(String(at(expired, 'body')))).toMatchObject({ code: 410, reason: 'Expired' });
    // The kubeconfig's bearer token went with every request (the server refuses any other).
    expect(s.requests).toHaveLength(10);
  });

  it('Watch sees ADDED, MODIFIED and DELETED in order, with rising resourceVersions', async () => {
    const s = await apiServer();
    const kc = kubeConfigFor(s);
    const rec = await clientWatch(kc, '/api/v1/namespaces/x/services', { resourceVersion: s.resourceVersion });
    await s.waitForWatches(1);
    s.create('Service', service('a', 'x'));
    s.create('Service', service('other-ns', 'y'));
    s.update('Service', { ...service('a', 'x'), spec: { type: 'NodePort' } });
    s.create('Service', service('b', 'x'));
    s.delete('Service', service('a', 'x'));
    await until(() => rec.events.length >= 4, '4 events');
    expect(rec.events.map(clientSummary)).toEqual(['ADDED a', 'MODIFIED a', 'ADDED b', 'DELETED a']);
    const rvs = rec.events.map((e) => Number(str(e.object, 'metadata', 'resourceVersion')));
    expect([...rvs].sort((p, q) => p - q)).toEqual(rvs);
    expect(new Set(rvs).size).toBe(4);
    expect(rec.done).toEqual([]);
    expect(s.requests[0]).toMatchObject({ path: '/api/v1/namespaces/x/services', query: { watch: 'true', resourceVersion: '1' } });
  });

  it('Watch gets BOOKMARKs when it asks for them, at the interval set', async () => {
    const s = await apiServer({ bookmarkIntervalMs: 60_000 });
    const kc = kubeConfigFor(s);
    const marked = await clientWatch(kc, '/api/v1/nodes', { allowWatchBookmarks: true, resourceVersion: s.resourceVersion });
    const plain = await clientWatch(kc, '/api/v1/nodes', { resourceVersion: s.resourceVersion });
    await s.waitForWatches(2);
    await sleep(100);
    expect(marked.events).toEqual([]);
    s.setBookmarkInterval(20);
    expect(s.bookmarkIntervalMs).toBe(20);
    await until(() => marked.events.length >= 3, '3 bookmarks');
    expect(marked.events[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: s.resourceVersion } } });
    expect(plain.events).toEqual([]);
  });

  it('Watch from a compacted resourceVersion: the 410 comes as callback("ERROR", Status), then done(null)', async () => {
    expect.assertions(3);
    const s = await apiServer();
    const old = s.resourceVersion;
    s.create('Service', service('a', 'x'));
    const compacted = s.compact();
    const rec = await clientWatch(kubeConfigFor(s), '/api/v1/services', { resourceVersion: old });
    await until(() => rec.done.length > 0, 'done');
    expect(rec.events).toEqual([
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${compacted})`, reason: 'Expired', code: 410 },
      },
    ]);
    expect(rec.done).toEqual([null]);
    await sleep(50);
    expect(rec.done).toHaveLength(1);
  });

  it('Watch ends with done(null) when the server closes it (closeWatches, timeoutSeconds)', async () => {
    expect.assertions(5);
    const s = await apiServer();
    const kc = kubeConfigFor(s);
    const closed = await clientWatch(kc, '/api/v1/services', { resourceVersion: s.resourceVersion });
    await s.waitForWatches(1);
    expect(s.watchCount).toBe(1);
    expect(s.closeWatches()).toBe(1);
    await until(() => closed.done.length > 0, 'done after closeWatches');
    expect(closed.done).toEqual([null]);

    const timed = await clientWatch(kc, '/api/v1/services', { resourceVersion: s.resourceVersion, timeoutSeconds: 1 });
    await until(() => timed.done.length > 0, 'done after timeoutSeconds', 3000);
    expect(timed.done).toEqual([null]);
    expect(s.watchCount).toBe(0);
  });

  it('Watch gets done(Error) for a non-200 answer, with the status code on it', async () => {
    const s = await apiServer();
    const rec = await clientWatch(kubeConfigFor(s), '/api/v1/nodes', { fieldSelector: 'spec.unknown=x' });
    await until(() => rec.done.length > 0, 'done');
    expect(rec.done[0]).toBeInstanceOf(Error);
    expect(rec.done[0]).toMatchObject({ message: 'Bad Request', statusCode: 400 });
  });

  it('stop() ends the Watch with "Premature close", refuses connections, and start() serves the same store on the same port', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    const kc = kubeConfigFor(s);
    const core = kc.makeApiClient(CoreV1Api);
    const port = s.port;
    const rec = await clientWatch(kc, '/api/v1/services', { resourceVersion: s.resourceVersion });
    await s.waitForWatches(1);

    await s.stop();
    await until(() => rec.done.length > 0, 'done after stop');
    expect(rec.done[0]).toBeInstanceOf(Error);
    expect(rec.done[0]).not.toBeInstanceOf(FetchError);
    expect(rec.done[0]).toMatchObject({ message: 'Premature close', code: 'ERR_STREAM_PREMATURE_CLOSE' });

    const refused = await clientWatch(kc, '/api/v1/services', { resourceVersion: s.resourceVersion });
    await until(() => refused.done.length > 0, 'done when refused');
    expect(refused.done[0]).toBeInstanceOf(FetchError);
    expect(refused.done[0]).toMatchObject({ code: 'ECONNREFUSED', type: 'system' });
    const listErr = await core.listServiceForAllNamespaces().catch((e: unknown) => e);
    expect(listErr).toBeInstanceOf(FetchError);
    expect(listErr).toMatchObject({ code: 'ECONNREFUSED' });

    s.create('Service', service('b', 'x'));
    await s.start();
    expect(s.port).toBe(port);
    const list = await core.listServiceForAllNamespaces();
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['a', 'b']);
    const again = await clientWatch(kc, '/api/v1/services', { resourceVersion: list.metadata?.resourceVersion ?? '' });
    await s.waitForWatches(1);
    s.create('Service', service('c', 'x'));
    await until(() => again.events.length > 0, 'an event after start');
    expect(again.events.map(clientSummary)).toEqual(['ADDED c']);
  });

  it('against a paused server, Watch.watch() stays pending (no timeout, no controller) until resume()', async () => {
    const s = await apiServer();
    const kc = kubeConfigFor(s);
    s.pause();
    let settled = false;
    const rec: WatchRecord = { events: [], done: [] };
    const pending = new Watch(kc)
      .watch('/api/v1/services', { resourceVersion: s.resourceVersion }, (type: string, object: unknown) => rec.events.push({ type, object }), (err: unknown) => rec.done.push(err))
      .then((c) => {
        settled = true;
        controllers.push(c);
        return c;
      });
    await s.waitForRequest((r) => r.watch, 5000, 0);
    await sleep(300);
    expect(settled).toBe(false);
    expect(s.watchCount).toBe(0);

    s.resume();
    const controller = await pending;
    await s.waitForWatches(1);
    controller.abort();
    await until(() => rec.done.length > 0, 'done after abort');
    expect(rec.done[0]).toBeInstanceOf(AbortError);
  });

  it('makeInformer: lists, watches, and reconnects from its resourceVersion without a relist when the server closes the watch', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    s.create('Service', service('b', 'y'));
    const { informer, log } = serviceInformer(s);
    informers.push(informer);
    await informer.start();
    await s.waitForWatches(1);
    expect(log).toEqual(['connect', 'add a', 'add b']);
    expect(s.requests.map((r) => r.query)).toEqual([{}, { watch: 'true', resourceVersion: s.resourceVersion }]);

    s.update('Service', { ...service('a', 'x'), spec: { type: 'NodePort' } });
    s.delete('Service', service('b', 'y'));
    await until(() => log.length >= 5, 'update and delete');
    expect(log.slice(3)).toEqual(['update a', 'delete b']);
    expect(latestResourceVersion(informer)).toBe(s.resourceVersion);

    s.clearRequests();
    s.closeWatches();
    await s.waitForWatches(1);
    expect(log.slice(5)).toEqual(['connect']);
    expect(s.requests).toEqual([{ method: 'GET', path: '/api/v1/services', query: { watch: 'true', resourceVersion: s.resourceVersion }, watch: true }]);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a']);
  });

  it('makeInformer: a quiet kind’s resourceVersion falls behind a compaction; on reconnect the 410 makes it relist', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    const { informer, log } = serviceInformer(s);
    informers.push(informer);
    await informer.start();
    await s.waitForWatches(1);
    const informerRv = latestResourceVersion(informer);

    // Only Nodes change: the Service watch sees nothing and, without bookmarks, its RV stays put.
    s.create('Node', { metadata: { name: 'node-1' } });
    s.compact();
    s.clearRequests();
    s.closeWatches();
    await s.waitForRequest((r) => r.watch && r.query.resourceVersion === s.resourceVersion, 5000, 0);
    await s.waitForWatches(1);
    expect(s.requests.map((r) => r.query)).toEqual([{ watch: 'true', resourceVersion: informerRv }, {}, { watch: 'true', resourceVersion: s.resourceVersion }]);
    // Reconnect, then the relist after the 410; the same objects at the same versions: no callbacks.
    expect(log).toEqual(['connect', 'add a', 'connect', 'connect']);
    expect(latestResourceVersion(informer)).toBe(s.resourceVersion);
  });

  it('makeInformer: a dead server goes to "error" and the informer stays stopped; start() again relists after the 410; stop() reports an AbortError', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    s.create('Service', service('b', 'x'));
    // Not ended after the test: it stops itself, and that is what is tested.
    const { informer, log, errors } = serviceInformer(s);
    await informer.start();
    await s.waitForWatches(1);
    // An event through the watch: the informer holds the watch's controller by now (see below).
    s.update('Service', service('b', 'x'));
    await until(() => log.includes('update b'), 'the update');
    const rvBefore = latestResourceVersion(informer);

    await s.stop();
    await until(() => log.includes('error'), 'the error callback');
    expect(errors[0]).toMatchObject({ message: 'Premature close', code: 'ERR_STREAM_PREMATURE_CLOSE' });
    s.delete('Service', service('a', 'x'));
    s.create('Service', service('c', 'x'));
    s.compact();
    await s.start();
    await sleep(200);
    expect(s.requests.filter((r) => r.path === '/api/v1/services')).toHaveLength(2);
    expect(log).toEqual(['connect', 'add a', 'add b', 'update b', 'error']);

    s.clearRequests();
    await informer.start();
    await until(() => log.includes('add c') && s.watchCount === 1, 'the relist and a new watch');
    expect(s.requests.map((r) => r.query)).toEqual([{ watch: 'true', resourceVersion: rvBefore }, {}, { watch: 'true', resourceVersion: s.resourceVersion }]);
    expect(log.slice(5)).toEqual(['connect', 'connect', 'delete a', 'add c']);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['b', 'c']);
    s.create('Service', service('d', 'x'));
    await until(() => log.includes('add d'), 'an event on the new watch');

    await informer.stop();
    await until(() => errors.length === 2, 'the stop to reach the error callback');
    expect(errors[1]).toBeInstanceOf(AbortError);
  });

  it('makeInformer: stop() while its watch request is unanswered aborts nothing; the watch opens later and still delivers', async () => {
    const s = await apiServer();
    s.create('Service', service('a', 'x'));
    const { informer, log } = serviceInformer(s);
    await informer.start();
    await s.waitForWatches(1);

    s.pause();
    s.clearRequests();
    s.closeWatches();
    await s.waitForRequest((r) => r.watch, 5000, 0);
    await informer.stop();
    await sleep(50);
    expect(log).toEqual(['connect', 'add a', 'connect']);

    s.resume();
    await s.waitForWatches(1);
    s.create('Service', service('after-stop', 'x'));
    await until(() => log.includes('add after-stop'), 'the event after stop()');
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a', 'after-stop']);
    // Only the end of that stream stops it: a clean end now finds it stopped and stays quiet.
    s.closeWatches();
    await sleep(100);
    expect(s.watchCount).toBe(0);
    expect(log).toEqual(['connect', 'add a', 'connect', 'add after-stop']);
  });

  it('ListWatch with a fieldSelector watches one Node', async () => {
    const s = await apiServer();
    s.create('Node', { metadata: { name: 'node-1' } });
    s.create('Node', { metadata: { name: 'node-2' } });
    const kc = kubeConfigFor(s);
    const core = kc.makeApiClient(CoreV1Api);
    const selector = 'metadata.name=node-1';
    const lw = new ListWatch<V1Node>('/api/v1/nodes', new Watch(kc), () => core.listNode({ fieldSelector: selector }), false, undefined, selector);
    informers.push(lw);
    const log: string[] = [];
    lw.on('change', (o) => log.push(`${o.metadata?.name} ${o.metadata?.labels?.zone ?? '-'}`));
    await lw.start();
    await s.waitForWatches(1);
    s.update('Node', { metadata: { name: 'node-2', labels: { zone: 'b' } } });
    s.update('Node', { metadata: { name: 'node-1', labels: { zone: 'a' } } });
    await until(() => log.length >= 2, 'the update');
    expect(log).toEqual(['node-1 -', 'node-1 a']);
    expect(s.requests.map((r) => r.query)).toEqual([
      { fieldSelector: selector },
      { watch: 'true', resourceVersion: String(Number(s.resourceVersion) - 2), fieldSelector: selector },
    ]);
    expect(lw.list().map((n) => n.metadata?.name)).toEqual(['node-1']);
  });
});
