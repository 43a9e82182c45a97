/**
 * The control socket: HTTP/1.1 with JSON bodies on a Unix socket (mode 0600, so only the node's
 * root or the daemon's user can drive it), as the CLI's only way into a running daemon.
 * `GET /v1/status`, `/v1/routes`, `/v1/explain`, `POST /v1/drain`: the handlers are the daemon's.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { dirname } from 'node:path';
import { listenOn } from './listen.js';
import type { Json } from './views.js';

export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type ControlHandler = (query: URLSearchParams, method: string) => Json | Promise<Json>;

/** Is something answering on this socket? A stale file from a crashed daemon is not. */
function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function startControlServer(path: string, handlers: Readonly<Record<string, ControlHandler>>): Promise<Server> {
  if (existsSync(path)) {
    if (await inUse(path)) throw new Error(`control socket ${path} is in use: is another kbgp running for this node?`);
    unlinkSync(path);
  }
  mkdirSync(dirname(path), { recursive: true });
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://kbgp');
    const handler = handlers[url.pathname];
    const reply = (status: number, body: Json): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    };
    if (handler === undefined) {
      reply(404, { error: `no such endpoint ${url.pathname}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(url.searchParams, req.method ?? 'GET'))
      .then(
        (body) => reply(200, body),
        (err: unknown) => reply(err instanceof ControlError ? err.status : 500, { error: err instanceof Error ? err.message : String(err) }),
      );
  });
  await listenOn(server, path);
  chmodSync(path, 0o600);
  server.on('close', () => {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  });
  return server;
}
