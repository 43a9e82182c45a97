/**
 * The cluster from a directory of manifests: Service, EndpointSlice and Node documents (and `List`s
 * of them) in `*.yaml`, `*.yml` or `*.json` files, in the shapes the API returns. The directory is
 * watched; a change is read after a short quiet time, so an editor's save or a `cp` of many files
 * is one change. A file that does not parse keeps what it held before (a half-written file must
 * not withdraw routes) and the problem is logged and shown in the status.
 */
import { type FSWatcher, readFileSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import type { Clock, TimerHandle } from '../fsm/clock.js';
import type { EndpointSlice, Node, Service } from './objects.js';
import type { ClusterSource, ClusterState, SourceStatus } from './source.js';

interface FileObjects {
  readonly services: Service[];
  readonly endpointSlices: EndpointSlice[];
  readonly nodes: Node[];
}

const MANIFEST = /\.(ya?ml|json)$/;

/** Every object of a manifest file, by kind; throws with the document's number on a bad one. */
export function parseManifests(text: string): FileObjects {
  const out: FileObjects = { services: [], endpointSlices: [], nodes: [] };
  const add = (o: unknown, where: string): void => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${where}: not an object`);
    const kind = (o as { kind?: unknown }).kind;
    if (kind === 'Service') out.services.push(o as Service);
    else if (kind === 'EndpointSlice') out.endpointSlices.push(o as EndpointSlice);
    else if (kind === 'Node') out.nodes.push(o as Node);
    else if (typeof kind === 'string' && kind.endsWith('List')) {
      const items = (o as { items?: unknown }).items;
      if (!Array.isArray(items)) throw new Error(`${where}: a ${kind} without items`);
      items.forEach((item, i) => add({ kind: kind.slice(0, -4), ...(item as object) }, `${where} item ${i + 1}`));
    }
    // Other kinds (Deployments, Pods...) may sit in the same folder: not ours to read.
  };
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length > 0) throw new Error(`document ${i + 1}: ${d.errors[0]?.message ?? 'invalid YAML'}`);
    const v: unknown = d.toJS();
    if (v !== null && v !== undefined) add(v, `document ${i + 1}`);
  });
  return out;
}

export interface ManifestSourceOptions {
  readonly directory: string;
  readonly nodeName: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Quiet time after a change before the directory is read again. */
  readonly settleMs?: number;
}

export class ManifestDirectorySource implements ClusterSource {
  private readonly files = new Map<string, FileObjects>();
  private readonly problems = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;
  private synced = false;
  private readable = false;
  private changed: () => void = () => undefined;

  constructor(private readonly o: ManifestSourceOptions) {}

  start(changed: () => void): void {
    this.changed = changed;
    try {
      this.watcher = watch(this.o.directory, () => this.schedule());
      this.watcher.on('error', (err) => {
        this.o.logger.warn({ err, directory: this.o.directory }, 'manifest directory watch failed');
        this.readable = false;
      });
    } catch (err) {
      this.o.logger.warn({ err, directory: this.o.directory }, 'cannot watch the manifest directory: reading it once');
    }
    this.read();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.timer?.cancel();
  }

  state(): ClusterState {
    const all = [...this.files.values()];
    const nodes = all.flatMap((f) => f.nodes);
    return {
      services: all.flatMap((f) => f.services),
      endpointSlices: all.flatMap((f) => f.endpointSlices),
      node: nodes.find((n) => n.metadata?.name === this.o.nodeName),
    };
  }

  status(): SourceStatus {
    const objects = [...this.files.values()].reduce((n, f) => n + f.services.length + f.endpointSlices.length + f.nodes.length, 0);
    const lastError = [...this.problems].map(([f, p]) => `${f}: ${p}`).join('; ');
    return {
      source: `manifests ${this.o.directory}`,
      synced: this.synced,
      healthy: this.readable && this.problems.size === 0,
      detail: [{ name: 'manifests', synced: this.synced, healthy: this.readable, objects, ...(lastError === '' ? {} : { lastError }) }],
    };
  }

  private schedule(): void {
    this.timer?.cancel();
    this.timer = this.o.clock.schedule(this.o.settleMs ?? 100, () => {
      this.timer = undefined;
      this.read();
    });
  }

  private read(): void {
    let names: string[];
    try {
      names = readdirSync(this.o.directory).filter((n) => MANIFEST.test(n)).sort();
      this.readable = true;
    } catch (err) {
      // Gone or unreadable: keep everything as it was, as for an API outage.
      this.readable = false;
      this.o.logger.warn({ err, directory: this.o.directory }, 'cannot read the manifest directory: keeping what was read before');
      return;
    }
    for (const f of [...this.files.keys()]) {
      if (names.includes(f)) continue;
      this.files.delete(f);
      this.problems.delete(f);
    }
    for (const name of names) {
      try {
        this.files.set(name, parseManifests(readFileSync(join(this.o.directory, name), 'utf8')));
        this.problems.delete(name);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        if (this.problems.get(name) !== why) this.o.logger.warn({ file: name, problem: why }, 'manifest not read: keeping what it held before');
        this.problems.set(name, why);
      }
    }
    const first = !this.synced;
    this.synced = true;
    if (first) this.o.logger.info({ directory: this.o.directory, files: names.length }, 'manifests read');
    this.changed();
  }
}
