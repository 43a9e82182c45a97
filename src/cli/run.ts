/** `kbgp run`: load the configuration, start the daemon(s), stop cleanly on SIGINT/SIGTERM. */
import { mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type NodeConfig } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import { Daemon } from '../daemon.js';
import { describeAttributes, formatPrefix } from '../bgp/index.js';
import { systemClock } from '../fsm/clock.js';
import { KubernetesApiSource, loadKubeConfig } from '../k8s/api-source.js';
import { ManifestDirectorySource } from '../k8s/manifest-source.js';
import type { ClusterSource } from '../k8s/source.js';
import { defaultControlSocket } from '../ops/socket-path.js';
import { DEMO_CLUSTER, DEMO_CONFIG, DEMO_NODES } from './demo-config.js';

export interface RunOptions {
  readonly file?: string;
  readonly node?: string;
  readonly logLevel?: string;
  /** Follow the Kubernetes API (kubeconfig from this file, or the default search when true). */
  readonly kubernetes?: boolean;
  readonly kubeconfig?: string;
  /** Follow a directory of Service, EndpointSlice and Node manifests instead. */
  readonly manifests?: string;
  /** On SIGTERM/SIGINT, drain (RFC 8326) for `drainWait` seconds before stopping. */
  readonly drainOnStop?: boolean;
  readonly drainWait?: number;
}

/**
 * Live reload: SIGHUP, or the file changing (watched through its directory, so an editor's
 * write-and-rename and a ConfigMap's symlink swap are seen). An invalid file, or a change that
 * needs a restart, is logged and the configuration in force stays.
 */
function watchConfiguration(file: string, node: string | undefined, daemon: Daemon, logger: Logger): void {
  let timer: NodeJS.Timeout | undefined;
  let last = readFileSync(file, 'utf8');
  const reload = (why: string): void => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      logger.error({ file, why, err: (e as Error).message }, 'configuration not reloaded: cannot read the file; keeping the one in force');
      return;
    }
    if (why !== 'SIGHUP' && text === last) return;
    last = text;
    try {
      daemon.reconfigure(loadConfig(text, node));
    } catch (e) {
      logger.error({ file, why, err: e instanceof Error ? e.message : String(e) }, 'configuration not reloaded: keeping the one in force');
    }
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  try {
    const w = watch(dirname(file), (_event, name) => {
      if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(() => reload('file changed'), 200);
    });
    w.unref();
  } catch (e) {
    logger.warn({ file, err: (e as Error).message }, 'cannot watch the configuration file: reload with SIGHUP');
  }
}

/** The demo's cluster: its manifests written to a fresh directory, which the demo then follows. */
function demoManifests(logger: Logger): string {
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-demo-cluster-'));
  for (const [name, text] of Object.entries(DEMO_CLUSTER)) writeFileSync(join(dir, name), text);
  logger.info({ directory: dir }, 'demo cluster: edit these manifests and watch the routes change');
  return dir;
}

function clusterFor(o: RunOptions, manifests: string | undefined, nodeName: string, logger: Logger): ClusterSource | undefined {
  if (manifests !== undefined) return new ManifestDirectorySource({ directory: manifests, nodeName, clock: systemClock, logger });
  if (o.kubernetes !== true && o.kubeconfig === undefined) return undefined;
  return new KubernetesApiSource({ kubeConfig: loadKubeConfig(o.kubeconfig), nodeName, clock: systemClock, random: Math.random, logger });
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
  if (o.manifests !== undefined && (o.kubernetes === true || o.kubeconfig !== undefined)) throw new Error('--manifests and --kubernetes/--kubeconfig are two sources: choose one');
  const manifests = o.manifests ?? (o.file === undefined ? demoManifests(root) : undefined);
  const daemons: Daemon[] = [];
  for (const c of configs) {
    const logger = root.child({ node: c.nodeName });
    const cluster = clusterFor(o, manifests, c.nodeName, logger.child({ component: 'cluster' }));
    const d = new Daemon(c, { logger, controlSocket: c.controlSocket ?? defaultControlSocket(c.nodeName), ...(cluster === undefined ? {} : { cluster }) });
    // Daemon.start says which listener failed and why, in an operator's words.
    await d.start();
    daemons.push(d);
    if (o.file === undefined) {
      // The demo shows what each node learned once its sessions have had time to come up.
      setTimeout(() => logRoutes(logger, d), 3000).unref();
    }
  }
  const file = o.file;
  if (file !== undefined) watchConfiguration(file, o.node, daemons[0] as Daemon, root);
  const stop = (signal: string): void => {
    root.info({ signal, drain: o.drainOnStop === true }, 'stopping');
    // The demo's cluster was ours to write, and is ours to remove.
    if (o.file === undefined && o.manifests === undefined && manifests !== undefined) rmSync(manifests, { recursive: true, force: true });
    // By default a restart-friendly stop: Cease / Administrative Reset, so peers with graceful
    // restart keep our routes while the new kbgp starts. --drain-on-stop moves traffic away first.
    const stopping = daemons.map(async (d) => {
      if (o.drainOnStop === true) await d.drain(undefined, o.drainWait ?? 30, `kbgp stopping (${signal})`);
      await d.stop(`kbgp received ${signal}`);
    });
    void Promise.all(stopping).then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return daemons;
}
