/**
 * The operations endpoint: `/metrics` (Prometheus text), `/healthz` (the process answers: a
 * liveness probe that never fails because the API server is away) and `/readyz` (kbgp listens and
 * follows its cluster source; 503 with the reason otherwise).
 */
import { type Server, createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { bindProblem, listenOn } from './listen.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in words; or what is fine. */
  readonly detail: string;
}

export interface OpsEndpoints {
  readonly registry: Registry;
  readonly readiness: () => Readiness;
}

export async function startOpsServer(host: string, port: number, e: OpsEndpoints): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      e.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': e.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = e.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.detail}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
    }
  });
  try {
    await listenOn(server, { host, port });
  } catch (err) {
    throw new Error(`cannot serve metrics on ${host} port ${port} (KbgpConfiguration metricsAddress): ${bindProblem(err)}`);
  }
  return server;
}
