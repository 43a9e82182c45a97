/**
 * The Reflector against a scripted list and watch: paging, resuming from the last resourceVersion
 * or bookmark, renewing watches the server ends or that go silent, relisting by difference on 410,
 * and backing off without losing anything while the API is away. Time is a fake clock.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/k8s/objects.js';
import { type ListPage, Reflector } from '../../src/k8s/reflector.js';
import { FakeClock } from '../helpers/fake-clock.js';

const svc = (name: string, rv: string): Service => ({ metadata: { namespace: 'default', name, resourceVersion: rv }, spec: { clusterIP: '10.96.0.1' } });

interface OpenWatch {
  readonly query: Record<string, unknown>;
  readonly event: (type: string, object: unknown) => void;
  readonly end: (err: unknown) => void;
  aborted: boolean;
}

/** A list that serves `pages` (scripted per call), and watches the test drives by hand. */
function harness(o: { pages: () => ListPage<Service>[] | Error; silenceMs?: number }) {
  const clock = new FakeClock();
  const watches: OpenWatch[] = [];
  const lists: (string | undefined)[] = [];
  let changes = 0;
  let listCall = 0;
  let script: ListPage<Service>[] = [];
  const r = new Reflector<Service>(
    {
      name: 'services',
      clock,
      random: () => 0.5,
      logger: pino({ level: 'silent' }),
      pageSize: 2,
      backoffMinMs: 1000,
      backoffMaxMs: 8000,
      watchTimeoutSeconds: 60,
      ...(o.silenceMs === undefined ? {} : { silenceMs: o.silenceMs }),
      list: async (p) => {
        lists.push(p.continue);
        if (p.continue === undefined) {
          const next = o.pages();
          if (next instanceof Error) throw next;
          script = next;
          listCall = 0;
        }
        const page = script[listCall++];
        if (page === undefined) throw new Error('no such page');
        return page;
      },
      watch: async (query, event, end) => {
        const w: OpenWatch = { query, event, end, aborted: false };
        watches.push(w);
        return { abort: () => (w.aborted = true) };
      },
    },
    () => changes++,
  );
  return { r, clock, watches, lists, changes: () => changes };
}

/** Lets the reflector's promise chains run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('Reflector', () => {
  it('lists page by page, then watches from the list\'s resourceVersion with bookmarks asked for', async () => {
    const h = harness({ pages: () => [{ items: [svc('a', '5'), svc('b', '6')], resourceVersion: '10', continue: 'tok' }, { items: [svc('c', '7')], resourceVersion: '10' }] });
    h.r.start();
    await settle();
    expect(h.lists).toEqual([undefined, 'tok']);
    expect([...h.r.store.keys()]).toEqual(['default/a', 'default/b', 'default/c']);
    expect(h.r.status).toMatchObject({ synced: true, watching: true, resourceVersion: '10', objects: 3 });
    expect(h.changes()).toBe(1);
    expect(h.watches).toHaveLength(1);
    expect(h.watches[0]?.query).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true });
    expect(h.watches[0]?.query.timeoutSeconds).toBeGreaterThanOrEqual(60);
    h.r.stop();
  });

  it('follows ADDED, MODIFIED and DELETED; a BOOKMARK moves the resourceVersion only; a watch the server ends resumes from there', async () => {
    const h = harness({ pages: () => [{ items: [svc('a', '5')], resourceVersion: '10' }] });
    h.r.start();
    await settle();
    const w = h.watches[0] as OpenWatch;
    w.event('ADDED', svc('b', '11'));
    w.event('MODIFIED', svc('a', '12'));
    w.event('DELETED', svc('b', '13'));
    expect([...h.r.store.entries()].map(([k, v]) => [k, v.metadata?.resourceVersion])).toEqual([['default/a', '12']]);
    expect(h.changes()).toBe(4);
    w.event('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '20' } });
    expect(h.changes()).toBe(4);
    w.end(null);
    await settle();
    expect(h.watches).toHaveLength(2);
    expect(h.watches[1]?.query.resourceVersion).toBe('20');
    expect(h.lists).toEqual([undefined]);
    h.r.stop();
  });

  it('relists on 410 Gone and replaces the store by difference: unchanged objects stay as they were, only real changes are reported', async () => {
    let round = 0;
    const pages = (): ListPage<Service>[] => {
      round++;
      if (round === 1) return [{ items: [svc('a', '5'), svc('b', '6')], resourceVersion: '10' }];
      if (round === 2) return [{ items: [svc('a', '5'), svc('b', '6')], resourceVersion: '40' }];
      return [{ items: [svc('a', '5'), svc('c', '41')], resourceVersion: '50' }];
    };
    const h = harness({ pages });
    h.r.start();
    await settle();
    const a = h.r.store.get('default/a');
    // The API server's way of saying the resourceVersion is too old: an ERROR event with a 410 Status.
    h.watches[0]?.event('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' });
    await settle();
    expect(h.r.status).toMatchObject({ relists: 2, resourceVersion: '40', watching: true });
    expect(h.r.store.get('default/a')).toBe(a);
    expect(h.changes()).toBe(1);
    expect(h.watches.at(-1)?.query.resourceVersion).toBe('40');
    // A watch request refused with HTTP 410 relists too.
    h.watches.at(-1)?.end(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await settle();
    expect([...h.r.store.keys()]).toEqual(['default/a', 'default/c']);
    expect(h.r.store.get('default/a')).toBe(a);
    expect(h.changes()).toBe(2);
    h.r.stop();
  });

  it('keeps everything while the API server is away, retrying with a growing, bounded backoff; back, it resumes the watch', async () => {
    const h = harness({ pages: () => [{ items: [svc('a', '5')], resourceVersion: '10' }] });
    h.r.start();
    await settle();
    const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const waits: number[] = [];
    let at = h.clock.now();
    for (let i = 0; i < 6; i++) {
      h.watches.at(-1)?.end(refused());
      await settle();
      const before = h.watches.length;
      for (let step = 0; step < 200 && h.watches.length === before; step++) {
        h.clock.advance(100);
        await settle();
      }
      waits.push(h.clock.now() - at);
      at = h.clock.now();
    }
    // Half fixed, half random (0.5 here): 750 (seen at 100 ms steps as 800), 1500, 3000, 6000, and no
    // more once the backoff reaches its 8000 ms cap.
    expect(waits).toEqual([800, 1500, 3000, 6000, 6000, 6000]);
    expect(h.r.status).toMatchObject({ failures: 6, objects: 1, synced: true });
    expect(h.r.status.lastError).toContain('ECONNREFUSED');
    expect(h.lists).toEqual([undefined]);
    expect(h.watches.at(-1)?.query.resourceVersion).toBe('10');
    h.r.stop();
  });

  it('retries a failed list with backoff, and is synced only once a list succeeds', async () => {
    let calls = 0;
    const h = harness({ pages: () => (++calls <= 2 ? new Error('503 Service Unavailable') : [{ items: [svc('a', '5')], resourceVersion: '10' }]) });
    h.r.start();
    await settle();
    expect(h.r.status.synced).toBe(false);
    expect(h.changes()).toBe(0);
    for (let step = 0; step < 100 && !h.r.status.synced; step++) {
      h.clock.advance(250);
      await settle();
    }
    expect(calls).toBe(3);
    expect(h.r.status).toMatchObject({ synced: true, failures: 2, objects: 1 });
    expect(h.changes()).toBe(1);
    h.r.stop();
  });

  it('renews a watch that has said nothing for too long (a half-open connection)', async () => {
    const h = harness({ pages: () => [{ items: [svc('a', '5')], resourceVersion: '10' }], silenceMs: 5000 });
    h.r.start();
    await settle();
    h.clock.advance(4000);
    h.watches[0]?.event('BOOKMARK', { metadata: { resourceVersion: '15' } });
    h.clock.advance(4000);
    await settle();
    expect(h.watches).toHaveLength(1);
    h.clock.advance(1500);
    await settle();
    expect(h.watches).toHaveLength(2);
    expect(h.watches[0]?.aborted).toBe(true);
    expect(h.watches[1]?.query.resourceVersion).toBe('15');
    // Events from the abandoned watch change nothing.
    h.watches[0]?.event('ADDED', svc('ghost', '99'));
    expect(h.r.store.has('default/ghost')).toBe(false);
    h.r.stop();
  });

  it('stops: no timer left, no watch renewed', async () => {
    const h = harness({ pages: () => [{ items: [], resourceVersion: '1' }] });
    h.r.start();
    await settle();
    h.r.stop();
    expect(h.watches[0]?.aborted).toBe(true);
    h.watches[0]?.end(null);
    await settle();
    h.clock.advance(60_000);
    expect(h.watches).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });
});
