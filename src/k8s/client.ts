/**
 * What the two API-backed sources (the services' and Calico's resources) share: client-node's
 * Watch as a reflector's WatchFn, the reflector tuning they pass through, list pages as reflectors
 * take them, and their reflectors' status as a SourceStatus.
 */
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import type { ListPage, Reflector, ReflectorOptions, WatchFn } from './reflector.js';
import type { SourceStatus } from './source.js';

/** `watchOn(path, extraQuery)`: a watch of one API path through client-node. */
export function watchesOf(kubeConfig: KubeConfig): (path: string, extra?: Record<string, string>) => WatchFn {
  const watcher = new Watch(kubeConfig);
  return (path, extra = {}) =>
    async (query, onEvent, done) => {
      const controller = await watcher.watch(path, { ...query, ...extra }, (type: string, object: unknown) => onEvent(type, object), done);
      return { abort: () => controller.abort() };
    };
}

export type ReflectorTuning = Partial<Pick<ReflectorOptions<unknown>, 'watchTimeoutSeconds' | 'silenceMs' | 'backoffMinMs' | 'backoffMaxMs' | 'listTimeoutMs' | 'pageSize'>>;

/** The tuning that is set, and nothing for what is not (exactOptionalPropertyTypes). */
export function tuning(o: ReflectorTuning): ReflectorTuning {
  const out: Record<string, number> = {};
  for (const k of ['watchTimeoutSeconds', 'silenceMs', 'backoffMinMs', 'backoffMaxMs', 'listTimeoutMs', 'pageSize'] as const) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A typed list (client-node's V1ServiceList and the like) as a page. */
export function typedPage<T>(l: { readonly items: readonly T[]; readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string } }): ListPage<T> {
  const c = l.metadata?._continue;
  return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '', ...(c === undefined || c === '' ? {} : { continue: c }) };
}

/** An untyped list (custom objects are plain JSON: items, metadata.resourceVersion, metadata.continue) as a page. */
export function untypedPage<T>(l: unknown): ListPage<T> {
  const list = (typeof l === 'object' && l !== null ? l : {}) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
  const items = Array.isArray(list.items) ? (list.items as T[]) : [];
  const rv = typeof list.metadata?.resourceVersion === 'string' ? list.metadata.resourceVersion : '';
  const c = typeof list.metadata?.continue === 'string' && list.metadata.continue !== '' ? list.metadata.continue : undefined;
  return { items, resourceVersion: rv, ...(c === undefined ? {} : { continue: c }) };
}

/** The reflectors' state as a source's: synced and healthy when each one is. */
export function statusOf(source: string, reflectors: readonly Pick<Reflector<never>, 'status'>[]): SourceStatus {
  const detail = reflectors.map((r) => {
    const s = r.status;
    return { name: s.name, synced: s.synced, healthy: s.watching, objects: s.objects, events: s.events, ...(s.lastError === undefined ? {} : { lastError: s.lastError }) };
  });
  return { source, synced: detail.every((d) => d.synced), healthy: detail.every((d) => d.healthy), detail };
}
