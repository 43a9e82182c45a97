/**
 * Binding a listener: the BGP port, the control socket and the metrics address all bind this way,
 * and say why they could not in words an operator can act on.
 */
import type { ListenOptions, Server } from 'node:net';

/** Resolves once `server` listens; rejects with the bind error itself (for `bindProblem`). */
export function listenOn(server: Server, where: ListenOptions | string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (typeof where === 'string') server.listen(where, listening);
    else server.listen(where, listening);
  });
}

/** The cause of a bind error, as the operator fixes it (not the errno). */
export function bindProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return 'the port is in use';
  if (code === 'EACCES') return 'no permission to bind (ports below 1024 need CAP_NET_BIND_SERVICE)';
  if (code === 'EADDRNOTAVAIL') return 'the address is not on this host';
  return e instanceof Error ? e.message : String(e);
}
