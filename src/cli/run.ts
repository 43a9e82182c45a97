/** `kbgp run`: load the configuration, start the daemon(s), stop cleanly on SIGINT/SIGTERM. */
import { mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { type NodeConfig, type NodeEnvironment, type SourcedDocument, loadConfig, parseDocuments, parseMetricsAddress, resolveConfig } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import { Daemon } from '../daemon.js';
import { describeAttributes, formatPrefix } from '../bgp/index.js';
import { systemClock } from '../fsm/clock.js';
import { KubernetesApiSource, loadKubeConfig } from '../k8s/api-source.js';
import { CalicoResourceSource } from '../k8s/calico-resources.js';
import { ManifestDirectorySource } from '../k8s/manifest-source.js';
import type { ClusterSource } from '../k8s/source.js';
import { startOpsServer } from '../ops/http.js';
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

/** The file's documents, each named by its place in the file. */
function fileDocuments(text: string): SourcedDocument[] {
  return parseDocuments(text).map((value, i) => ({ value, origin: `document ${i + 1}` }));
}

/**
 * The configuration of a file, with the cluster's Calico resources beside it when the file asks
 * for them (`spec.cluster.calicoResources: Cluster`).
 */
class Configuration {
  constructor(
    readonly file: string,
    private readonly node: string | undefined,
    private readonly environment: NodeEnvironment,
    private calico: CalicoResourceSource | undefined = undefined,
  ) {}

  withCalico(calico: CalicoResourceSource): void {
    this.calico = calico;
  }

  resolve(text = readFileSync(this.file, 'utf8')): NodeConfig {
    return resolveConfig([...fileDocuments(text), ...(this.calico?.documents() ?? [])], this.node, this.environment);
  }
}

/**
 * Live reload: SIGHUP, the file changing (watched through its directory, so an editor's
 * write-and-rename and a ConfigMap's symlink swap are seen), or the cluster's Calico resources
 * changing. An invalid configuration, or a change that needs a restart, is logged and the
 * configuration in force stays.
 */
function watchConfiguration(config: Configuration, calico: CalicoResourceSource | undefined, daemon: Daemon, logger: Logger, applied: (c: NodeConfig) => void): void {
  const file = config.file;
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
    if (why === 'file changed' && text === last) return;
    last = text;
    try {
      const next = config.resolve(text);
      daemon.reconfigure(next);
      applied(next);
    } catch (e) {
      logger.error({ file, why, err: e instanceof Error ? e.message : String(e) }, 'configuration not reloaded: keeping the one in force');
    }
  };
  // A window from the first change, never pushed back: a steady trickle of changes cannot hold a
  // reload off for ever.
  const later = (why: string, ms: number): void => {
    timer ??= setTimeout(() => {
      timer = undefined;
      reload(why);
    }, ms);
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  // A burst of resource changes (a kubectl apply of several) is one reload.
  calico?.listen(() => later('Calico resources changed', 500));
  try {
    const w = watch(dirname(file), (_event, name) => {
      if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
      later('file changed', 200);
    });
    w.unref();
  } catch (e) {
    logger.warn({ file, err: (e as Error).message }, 'cannot watch the configuration file: reload with SIGHUP');
  }
}

/**
 * Waits, however long it takes, until the cluster's Calico resources are listed: the node's AS and
 * peers come from them. Meanwhile /healthz answers (the API server being away is no reason to
 * restart kbgp) and /readyz says what kbgp waits for.
 */
async function calicoResources(metricsAddress: NodeConfig['metricsAddress'], kubeconfig: string | undefined, logger: Logger): Promise<CalicoResourceSource> {
  const calico = new CalicoResourceSource({ kubeConfig: loadKubeConfig(kubeconfig), clock: systemClock, random: Math.random, logger: logger.child({ component: 'calico-resources' }) });
  const waiting = (): string => {
    const pending = calico.status().detail.filter((d) => !d.synced);
    return `waiting for Calico resources from the API server: ${pending.map((d) => `${d.name}${d.lastError === undefined ? '' : ` (${d.lastError})`}`).join(', ')}`;
  };
  const m = metricsAddress;
  const ops = m === undefined ? undefined : await startOpsServer(m.host, m.port, { registry: new Registry(), readiness: () => ({ ready: false, detail: waiting() }) });
  try {
    await new Promise<void>((resolve) => {
      let said = 0;
      const check = (): void => {
        if (calico.status().synced) {
          clearInterval(tick);
          resolve();
        }
      };
      const tick = setInterval(() => {
        if (++said % 10 === 0) logger.warn(waiting());
        check();
      }, 1000);
      calico.start(check);
    });
  } finally {
    await new Promise<void>((resolve) => (ops === undefined ? resolve() : ops.close(() => resolve())));
  }
  logger.info({ resources: calico.status().detail.map((d) => `${d.name}: ${d.objects}`).join(', ') }, 'Calico resources listed');
  return calico;
}

/** The demo's cluster: its manifests written to a fresh directory, which the demo then follows. */
function demoManifests(logger: Logger): string {
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-demo-cluster-'));
  for (const [name, text] of Object.entries(DEMO_CLUSTER)) writeFileSync(join(dir, name), text);
  logger.info({ directory: dir }, 'demo cluster: edit these manifests and watch the routes change');
  return dir;
}

/** The flags' source if any flag names one, else the configuration's (spec.cluster). */
function clusterFor(o: RunOptions, manifests: string | undefined, c: NodeConfig, logger: Logger): ClusterSource | undefined {
  const nodeName = c.nodeName;
  const flagged = manifests !== undefined || o.kubernetes === true || o.kubeconfig !== undefined;
  const directory = flagged ? manifests : c.cluster.source === 'Manifests' ? c.cluster.manifests : undefined;
  if (directory !== undefined) return new ManifestDirectorySource({ directory, nodeName, clock: systemClock, logger });
  if (flagged ? o.kubernetes !== true && o.kubeconfig === undefined : c.cluster.source !== 'Kubernetes') return undefined;
  return new KubernetesApiSource({ kubeConfig: loadKubeConfig(o.kubeconfig ?? c.cluster.kubeconfig), nodeName, clock: systemClock, random: Math.random, logger });
}

/**
 * One config per daemon to start: the named node of a file, or both demo nodes. The demo is
 * self-contained: a $NODE_IP meant for a real node must not become a demo node's address.
 */
export function configsFor(o: RunOptions, environment: NodeEnvironment): NodeConfig[] {
  if (o.file === undefined) return DEMO_NODES.map((n) => loadConfig(DEMO_CONFIG, n));
  return [new Configuration(o.file, o.node, environment).resolve()];
}

/**
 * logSeverityScreen, live. Every logger kbgp makes is a child of the root made without a level of
 * its own, and pino's children take the root's level from it while they have none of their own,
 * so setting the root's reaches them all. The change itself is said at info either way.
 */
function setLogLevel(root: Logger, level: string): void {
  if (root.level === level) return;
  const change = { from: root.level, to: level };
  if (root.isLevelEnabled('info')) {
    root.info(change, 'log level changed');
    root.level = level;
  } else {
    root.level = level;
    root.info(change, 'log level changed');
  }
}

function logRoutes(logger: Logger, d: Daemon): void {
  for (const p of d.status()) {
    for (const r of d.received(p.address)) {
      logger.info({ peer: p.address, prefix: formatPrefix(r.prefix), nextHop: r.nextHop, ...describeAttributes(r.attributes) }, 'route received');
    }
  }
}

/**
 * Whether the file asks for the cluster's Calico resources, read before it can be resolved: without
 * them the node may have no address or router ID yet. The resolution that follows is the judge.
 */
function wantsCalicoResources(file: string): { kubeconfig?: string; metricsAddress?: NodeConfig['metricsAddress'] } | undefined {
  for (const d of parseDocuments(readFileSync(file, 'utf8'))) {
    const doc = d as { kind?: unknown; spec?: { cluster?: { calicoResources?: unknown; kubeconfig?: unknown }; metricsAddress?: unknown } } | null;
    if (doc?.kind !== 'KbgpConfiguration' || doc.spec?.cluster?.calicoResources !== 'Cluster') continue;
    const k = doc.spec.cluster.kubeconfig;
    // /healthz while kbgp waits: a liveness probe must not restart it because the API server is away.
    const m = typeof doc.spec.metricsAddress === 'string' ? parseMetricsAddress(doc.spec.metricsAddress) : undefined;
    return { ...(typeof k === 'string' ? { kubeconfig: k } : {}), ...(m === undefined ? {} : { metricsAddress: m }) };
  }
  return undefined;
}

/** `environment`: the process's, which names the node and its address in a DaemonSet. */
export async function run(o: RunOptions, environment: NodeEnvironment): Promise<Daemon[]> {
  let configs: NodeConfig[] | undefined;
  const config = o.file === undefined ? undefined : new Configuration(o.file, o.node, environment);
  const invalid = (e: unknown): Error => (e instanceof ConfigError ? new Error(`invalid configuration: ${e.message}`) : (e as Error));
  let calicoWanted: ReturnType<typeof wantsCalicoResources>;
  try {
    configs = config === undefined ? configsFor(o, environment) : [config.resolve()];
  } catch (e) {
    calicoWanted = config !== undefined && e instanceof ConfigError ? wantsCalicoResources(config.file) : undefined;
    if (calicoWanted === undefined) throw invalid(e);
  }
  const first = configs?.[0];
  if (first !== undefined && first.cluster.calicoResources === 'Cluster') calicoWanted = { ...(first.cluster.kubeconfig === undefined ? {} : { kubeconfig: first.cluster.kubeconfig }), metricsAddress: first.metricsAddress };
  const root = pino({ level: o.logLevel ?? first?.logLevel ?? 'info', base: { pid: process.pid } });
  let calico: CalicoResourceSource | undefined;
  if (config !== undefined && calicoWanted !== undefined) {
    calico = await calicoResources(calicoWanted.metricsAddress, o.kubeconfig ?? calicoWanted.kubeconfig, root);
    config.withCalico(calico);
    try {
      configs = [config.resolve()];
    } catch (e) {
      calico.stop();
      throw invalid(e);
    }
  }
  if (configs === undefined) throw new Error('no configuration');
  const applyLogLevel = (c: NodeConfig): void => setLogLevel(root, o.logLevel ?? c.logLevel);
  // The cluster's BGPConfiguration may name a level the file alone could not give.
  if (configs[0] !== undefined) applyLogLevel(configs[0]);
  if (o.manifests !== undefined && (o.kubernetes === true || o.kubeconfig !== undefined)) throw new Error('--manifests and --kubernetes/--kubeconfig are two sources: choose one');
  const manifests = o.manifests ?? (o.file === undefined ? demoManifests(root) : undefined);
  const daemons: Daemon[] = [];
  for (const c of configs) {
    const logger = root.child({ node: c.nodeName });
    const cluster = clusterFor(o, manifests, c, logger.child({ component: 'cluster' }));
    const d = new Daemon(c, { logger, controlSocket: c.controlSocket ?? defaultControlSocket(c.nodeName), ...(cluster === undefined ? {} : { cluster }), ...(calico === undefined ? {} : { configSource: calico }) });
    // Daemon.start says which listener failed and why, in an operator's words.
    await d.start();
    daemons.push(d);
    if (o.file === undefined) {
      // The demo shows what each node learned once its sessions have had time to come up.
      setTimeout(() => logRoutes(logger, d), 3000).unref();
    }
  }
  if (config !== undefined) watchConfiguration(config, calico, daemons[0] as Daemon, root, applyLogLevel);
  const stop = (signal: string): void => {
    root.info({ signal, drain: o.drainOnStop === true }, 'stopping');
    // The demo's cluster was ours to write, and is ours to remove.
    if (o.file === undefined && o.manifests === undefined && manifests !== undefined) rmSync(manifests, { recursive: true, force: true });
    // By default a restart-friendly stop: Cease / Administrative Reset, so peers with graceful
    // restart keep our routes while the new kbgp starts. --drain-on-stop moves traffic away first.
    calico?.stop();
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
