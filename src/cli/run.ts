/** `kbgp run`: load the configuration, start the daemon(s), stop cleanly on SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { loadConfig, type NodeConfig } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import { Daemon } from '../daemon.js';
import { describeAttributes, formatPrefix } from '../bgp/index.js';
import { DEMO_CONFIG, DEMO_NODES } from './demo-config.js';

export interface RunOptions {
  readonly file?: string;
  readonly node?: string;
  readonly logLevel?: string;
}

/** One config per daemon to start: the named node of a file, or both demo nodes. */
export function configsFor(o: RunOptions): NodeConfig[] {
  if (o.file === undefined) return DEMO_NODES.map((n) => loadConfig(DEMO_CONFIG, n));
  return [loadConfig(readFileSync(o.file, 'utf8'), o.node)];
}

function logRoutes(logger: Logger, d: Daemon): void {
  for (const p of d.status()) {
    for (const r of d.received(p.address)) {
      logger.info({ peer: p.address, prefix: formatPrefix(r.prefix), nextHop: r.nextHop, ...describeAttributes(r.attributes) }, 'route received');
    }
  }
}

export async function run(o: RunOptions): Promise<Daemon[]> {
  let configs: NodeConfig[];
  try {
    configs = configsFor(o);
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`invalid configuration: ${e.message}`);
    throw e;
  }
  const root = pino({ level: o.logLevel ?? configs[0]?.logLevel ?? 'info', base: { pid: process.pid } });
  const daemons: Daemon[] = [];
  for (const c of configs) {
    const logger = root.child({ node: c.nodeName });
    const d = new Daemon(c, { logger });
    try {
      await d.start();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const hint = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'no permission to bind (port 179 needs CAP_NET_BIND_SERVICE)' : err.message;
      throw new Error(`cannot listen on ${c.listenAddress} port ${c.listenPort}: ${hint}`);
    }
    daemons.push(d);
    if (o.file === undefined) {
      // The demo shows what each node learned once its sessions have had time to come up.
      setTimeout(() => logRoutes(logger, d), 3000).unref();
    }
  }
  const stop = (signal: string): void => {
    root.info({ signal }, 'stopping');
    void Promise.all(daemons.map((d) => d.stop(`kbgp received ${signal}`))).then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return daemons;
}
