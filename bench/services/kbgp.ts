/**
 * kbgp as the services bench runs it: a process of its own (forked by services.bench.ts with
 * --expose-gc, driven over IPC), so that its CPU, heap and RSS are kbgp's alone and the API server
 * and the peer do not share its event loop. It is what `kbgp run -f <yaml> --kubeconfig <file>`
 * builds (src/cli/run.ts): one Daemon, its cluster a KubernetesApiSource on client-node's KubeConfig,
 * with the production defaults for every reflector setting. The logger writes JSON to a file the
 * harness names, so warnings can be counted and quoted.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon.js';
import { systemClock } from '../../src/fsm/clock.js';
import { KubernetesApiSource } from '../../src/k8s/api-source.js';
import { serveKbgpChild } from '../propagation/child.js';

export type KbgpCommand =
  | { readonly type: 'start'; readonly yaml: string; readonly nodeName: string; readonly kubeconfigPath: string; readonly logFile: string; readonly logLevel: string }
  /** `gc`: collect first (the process runs with --expose-gc), so heap is what is retained. */
  | { readonly type: 'sample'; readonly gc: boolean }
  | { readonly type: 'stop' };

export interface KbgpSample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Objects in each reflector's store, as `kbgp show services` would report them. */
  readonly objects: Readonly<Record<string, number>>;
  readonly synced: boolean;
  /** Prefixes the service side hands to the RIB now. */
  readonly intents: number;
  /** Milliseconds the sample itself took (a busy event loop answers late). */
  readonly tookMs: number;
}

export type KbgpReport =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly baseline: KbgpSample }
  | { readonly type: 'sample'; readonly sample: KbgpSample }
  | { readonly type: 'error'; readonly message: string };

let daemon: Daemon | undefined;
let log: ReturnType<typeof pino.destination> | undefined;

function send(r: KbgpReport): void {
  process.send?.(r);
}

function sample(gc: boolean): KbgpSample {
  const t0 = performance.now();
  if (gc) globalThis.gc?.();
  const m = process.memoryUsage();
  const s = daemon?.services();
  const objects: Record<string, number> = {};
  for (const d of s?.source.detail ?? []) objects[d.name] = d.objects;
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    objects,
    synced: s?.source.synced ?? false,
    intents: s?.decision.intents.length ?? 0,
    tookMs: performance.now() - t0,
  };
}

async function start(c: Extract<KbgpCommand, { type: 'start' }>): Promise<void> {
  log = pino.destination({ dest: c.logFile, sync: false });
  const logger = pino({ level: c.logLevel }, log);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(c.kubeconfigPath);
  const cluster = new KubernetesApiSource({ kubeConfig, nodeName: c.nodeName, clock: systemClock, random: Math.random, logger: logger.child({ component: 'cluster' }) });
  const d = new Daemon(loadConfig(c.yaml, c.nodeName), { logger, cluster });
  daemon = d;
  await d.start();
  send({ type: 'listening', baseline: sample(true) });
}

async function stop(): Promise<void> {
  await daemon?.stop('bench over');
  try {
    log?.flushSync();
  } catch {
    // not open yet: nothing was written
  }
  // A normal exit, so that --cpu-prof writes its profile.
  process.exit(0);
}

serveKbgpChild<Extract<KbgpCommand, { type: 'start' }>, ReturnType<typeof sample>>({ start, sample, stop });
