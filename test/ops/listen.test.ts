/**
 * Binding the operations endpoint: a metrics address that cannot be bound says which field, which
 * address and why. The words for each bind error are the same for every listener kbgp opens.
 * Address 127.0.17.1.
 */
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpsServer } from '../../src/ops/http.js';
import { bindProblem, listenOn } from '../../src/ops/listen.js';

const HOST = '127.0.17.1';
const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('listeners', () => {
  it('a metrics address already taken: the field, the address and the cause', async () => {
    const taken = createServer();
    open.push(taken);
    await listenOn(taken, { host: HOST, port: 0 });
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : NaN;
    const endpoints = { registry: new Registry(), readiness: () => ({ ready: true, detail: 'ok' }) };
    await expect(startOpsServer(HOST, port, endpoints)).rejects.toThrow(`cannot serve metrics on ${HOST} port ${port} (KbgpConfiguration metricsAddress): the port is in use`);
    // The one it could bind serves.
    const ops = await startOpsServer(HOST, 0, endpoints);
    open.push(ops);
    expect(ops.listening).toBe(true);
  });

  it('words each bind error as its cause', () => {
    const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`listen ${code}`), { code });
    expect(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'EINVAL'].map((c) => bindProblem(err(c)))).toEqual([
      'the port is in use',
      'no permission to bind (ports below 1024 need CAP_NET_BIND_SERVICE)',
      'the address is not on this host',
      'listen EINVAL',
    ]);
  });
});
