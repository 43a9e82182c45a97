/** The CLI's side of the control socket: one request, one JSON answer, errors in words. */
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { controlSocketDirectory, defaultControlSocket } from '../ops/socket-path.js';

export class CliError extends Error {}

/** `--socket`, else the node's default socket, else the only socket in the default directory. */
export function resolveSocket(o: { readonly socket?: string; readonly node?: string }): string {
  if (o.socket !== undefined) return o.socket;
  const node = o.node ?? process.env.NODE_NAME;
  if (node !== undefined) return defaultControlSocket(node);
  const dir = controlSocketDirectory();
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sock')) : [];
  if (found.length === 1) return join(dir, found[0] as string);
  if (found.length === 0) throw new CliError(`no kbgp control socket in ${dir}: is kbgp running? (or give --socket PATH)`);
  throw new CliError(`several kbgp nodes run here (${found.map((f) => f.slice(0, -5)).join(', ')}): say which with --node NAME`);
}

export function call<T>(socket: string, path: string, method = 'GET', timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          reject(new CliError(`kbgp answered ${res.statusCode ?? '?'} with something that is not JSON`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) reject(new CliError((parsed as { error?: string }).error ?? `kbgp answered ${res.statusCode ?? '?'}`));
        else resolve(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socket} within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is kbgp running?' : e.code === 'EACCES' ? 'permission denied (run as the daemon\'s user, or root)' : e.message;
      reject(new CliError(`cannot reach kbgp at ${socket}: ${why}`));
    });
    req.end();
  });
}
