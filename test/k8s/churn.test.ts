import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import { IntentSmoother, type ChurnOptions } from '../../src/k8s/churn.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { type Decision, type Intent, type IntentChanges, type IntentReason, type NotAdvertised, prefixKey } from '../../src/k8s/intent.js';

interface IntentOptions {
  readonly gracefulShutdown?: boolean;
  readonly communities?: readonly number[];
  /** The service whose LoadBalancer IP wants it (`default/web` unless `range` is given). */
  readonly service?: string;
  /** A configured range that wants it, as the decision names it (`serviceClusterIPs 10.96.0.0/12`). */
  readonly range?: string;
}

function reasonOf(o: IntentOptions): IntentReason {
  if (o.range !== undefined) return { rule: 'service-cidr', kind: 'clusterIP', source: o.range };
  const service = o.service ?? 'default/web';
  return { rule: 'local-endpoint', kind: 'loadBalancer', service, source: `${service} loadBalancer` };
}

function intent(prefix: string, o: IntentOptions = {}): Intent {
  return {
    prefix: parsePrefix(prefix),
    reasons: [reasonOf(o)],
    communities: o.communities ?? [],
    largeCommunities: [],
    gracefulShutdown: o.gracefulShutdown ?? false,
  };
}

/** Family, then address octets, then length, as the decisions are sorted. */
function sortKey(i: Intent): string {
  const p = i.prefix;
  const octets = typeof p.address === 'number' ? [p.address >>> 24, (p.address >>> 16) & 0xff, (p.address >>> 8) & 0xff, p.address & 0xff] : [...p.address];
  return [p.afi, ...octets, p.length].map((n) => n.toString(16).padStart(2, '0')).join('');
}

function decision(...intents: Intent[]): Decision {
  return { intents: [...intents].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0)), notAdvertised: [] };
}

/** What the RIB would see from an emit: prefix and the attributes that reach it, in order. */
function routes(intents: readonly Intent[]): string[] {
  return intents.map((i) => `${formatPrefix(i.prefix)}${i.gracefulShutdown ? ' gshut' : ''}${i.communities.length > 0 ? ` c=${i.communities.join(',')}` : ''}`);
}

/**
 * A sink as the RIB is one: it applies each emit's changes (or replaces everything on a complete
 * one) and must then hold exactly what the smoother says it emitted.
 */
function sink(smoother: () => IntentSmoother) {
  const held = new Map<string, Intent>();
  return (changes: IntentChanges, complete: boolean): string[] => {
    if (complete) held.clear();
    for (const [key, i] of changes) {
      expect(complete && i === undefined).toBe(false);
      if (i === undefined) held.delete(key);
      else held.set(key, i);
    }
    const now = routes(sortedIntents(held.values()));
    expect(now).toEqual(routes(smoother().advertised()));
    return now;
  };
}

function sortedIntents(intents: Iterable<Intent>): Intent[] {
  return [...intents].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

function setup(options: ChurnOptions) {
  const clock = new FakeClock();
  const emits: { at: number; routes: string[] }[] = [];
  /** Per emit, what it carried: `complete`, or each changed prefix (`-prefix` withdrawn). */
  const carried: string[][] = [];
  const apply = sink(() => smoother);
  const smoother: IntentSmoother = new IntentSmoother(options, clock, (changes, complete) => {
    carried.push(complete ? ['complete'] : [...changes].map(([key, i]) => (i === undefined ? `-${key}` : (routes([i])[0] as string))));
    emits.push({ at: clock.now(), routes: apply(changes, complete) });
  });
  return { clock, emits, carried, smoother };
}

const heldEntries = (d: Decision): NotAdvertised[] => d.notAdvertised.filter((n) => n.reason === 'held-down');

describe('window', () => {
  it('gathers a burst of 100 updates into one emit with the final state', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    const all: Intent[] = [];
    for (let i = 0; i < 100; i++) {
      all.push(intent(`10.0.${i}.1/32`));
      // Every tenth update also drops the prefix added before it: only the final state matters.
      smoother.update(decision(...all.filter((_, j) => j % 10 !== 9 || j === i)));
    }
    clock.advance(99);
    expect(emits).toHaveLength(0);
    clock.advance(1);
    expect(emits).toHaveLength(1);
    expect(emits[0]?.at).toBe(100);
    expect(emits[0]?.routes).toEqual(routes(decision(...all.filter((_, j) => j % 10 !== 9 || j === 99)).intents));
    expect(emits[0]?.routes).toHaveLength(91);
    clock.advance(10_000);
    expect(emits).toHaveLength(1);
  });

  it('a prefix added and removed within the window causes no emit', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    const a = intent('10.0.0.1/32');
    smoother.update(decision(a));
    smoother.flush();
    expect(emits).toHaveLength(1);
    clock.advance(5000);
    smoother.update(decision(a, intent('10.0.0.2/32')));
    clock.advance(50);
    smoother.update(decision(a));
    clock.advance(5000);
    expect(emits).toHaveLength(1);
    // From nothing, too.
    const fresh = setup({ windowMs: 100, minIntervalMs: 1000 });
    fresh.smoother.update(decision(a));
    fresh.smoother.update(decision());
    fresh.clock.advance(5000);
    expect(fresh.emits).toHaveLength(0);
  });

  it('continuous updates still reach the RIB within windowMs of the first pending change', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 0 });
    const wanted: string[][] = [];
    for (let i = 0; i < 100; i++) {
      const d = decision(intent('10.0.0.1/32', { communities: [i] }));
      smoother.update(d);
      wanted.push(routes(d.intents));
      clock.advance(10);
    }
    expect(emits.length).toBeGreaterThanOrEqual(10);
    expect(emits[0]?.at).toBe(100);
    for (const [n, e] of emits.entries()) {
      expect(e.at).toBe(100 * (n + 1));
      // The state as of the expiry: the update made at e.at - 10 is the last before it.
      expect(e.routes).toEqual(wanted[e.at / 10 - 1]);
    }
  });

  it('after the complete first set, an emit carries only what changed', () => {
    const { clock, carried, smoother } = setup({ windowMs: 100, minIntervalMs: 0 });
    const steady = Array.from({ length: 50 }, (_, i) => intent(`10.1.${i}.1/32`));
    smoother.update(decision(...steady, intent('10.0.0.2/32'), intent('10.0.0.3/32')));
    smoother.flush();
    smoother.update(decision(...steady, intent('10.0.0.1/32'), intent('10.0.0.3/32', { communities: [7] })));
    clock.advance(100);
    expect(carried).toEqual([['complete'], [`-${prefixKey(parsePrefix('10.0.0.2/32'))}`, '10.0.0.1/32', '10.0.0.3/32 c=7']]);
  });

  it('a change of reasons alone does not emit but shows in current', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32', { service: 'default/web' })));
    clock.advance(100);
    expect(emits).toHaveLength(1);
    smoother.update(decision(intent('10.0.0.1/32', { service: 'default/api' })));
    clock.advance(100);
    expect(emits).toHaveLength(1);
    expect(smoother.current.intents[0]?.reasons).toEqual([{ rule: 'local-endpoint', kind: 'loadBalancer', service: 'default/api', source: 'default/api loadBalancer' }]);
  });

  it('reordered communities are no change', () => {
    const { clock, emits, smoother } = setup({ windowMs: 10, minIntervalMs: 0 });
    smoother.update(decision(intent('10.0.0.1/32', { communities: [1, 2] })));
    clock.advance(10);
    smoother.update(decision(intent('10.0.0.1/32', { communities: [2, 1] })));
    clock.advance(10);
    expect(emits).toHaveLength(1);
  });

  it('window 0 emits on the next tick, still as one emit for a synchronous burst', () => {
    const { clock, emits, smoother } = setup({ windowMs: 0, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32')));
    smoother.update(decision(intent('10.0.0.1/32'), intent('10.0.0.2/32')));
    expect(emits).toHaveLength(0);
    clock.advance(0);
    expect(emits).toEqual([{ at: 0, routes: ['10.0.0.1/32', '10.0.0.2/32'] }]);
  });
});

describe('flush', () => {
  it('emits at once, skipping the window, and cancels it', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32')));
    smoother.flush();
    expect(emits).toEqual([{ at: 0, routes: ['10.0.0.1/32'] }]);
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(emits).toHaveLength(1);
  });

  it('always emits, even an empty set, so the caller knows origination is complete', () => {
    const { emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    smoother.flush();
    expect(emits).toEqual([{ at: 0, routes: [] }]);
  });

  it('still honours the minimum interval', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32')));
    smoother.flush();
    clock.advance(10);
    smoother.update(decision());
    smoother.flush();
    expect(emits.map((e) => e.routes)).toEqual([['10.0.0.1/32'], ['10.0.0.1/32']]);
    clock.advance(990);
    expect(emits.at(-1)).toEqual({ at: 1000, routes: [] });
  });

  it('may be called from inside emit', () => {
    const clock = new FakeClock();
    const emits: string[][] = [];
    let calls = 0;
    const apply = sink(() => smoother);
    const smoother: IntentSmoother = new IntentSmoother({ windowMs: 100, minIntervalMs: 0 }, clock, (changes, complete) => {
      emits.push(apply(changes, complete));
      if (calls++ === 0) {
        smoother.update(decision(intent('10.0.0.2/32')));
        smoother.flush();
      }
    });
    smoother.update(decision(intent('10.0.0.1/32')));
    smoother.flush();
    expect(emits).toEqual([['10.0.0.1/32'], ['10.0.0.2/32']]);
    expect(clock.pending).toBe(0);
  });
});

describe('minimum interval', () => {
  it.each([
    ['ends up', true],
    ['ends down', false],
  ])('a /32 flapping every 100 ms for 5 s changes at most once a second, and %s right', (_name, endsUp) => {
    const { clock, emits, smoother } = setup({ windowMs: 50, minIntervalMs: 1000 });
    const up = decision(intent('10.0.0.1/32'));
    const down = decision();
    // 50 flips, 100 ms apart; the last one leaves it as endsUp says.
    let isUp = endsUp; // flipped 50 times (an even number), so the last state is endsUp
    for (let i = 0; i < 50; i++) {
      isUp = !isUp;
      smoother.update(isUp ? up : down);
      clock.advance(100);
    }
    expect(isUp).toBe(endsUp);
    clock.advance(2000);
    const transitions: number[] = [];
    let advertised = false;
    for (const e of emits) {
      const now = e.routes.includes('10.0.0.1/32');
      if (now !== advertised) transitions.push(e.at);
      advertised = now;
    }
    expect(transitions.length).toBeGreaterThan(0);
    expect(transitions.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < transitions.length; i++) expect((transitions[i] ?? 0) - (transitions[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(advertised).toBe(endsUp);
    expect(smoother.current.intents.length).toBe(endsUp ? 1 : 0);
    expect(smoother.heldDown()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('shows a held withdrawal with its reason and the time left', () => {
    const { clock, emits, smoother } = setup({ windowMs: 0, minIntervalMs: 10_000 });
    const web = intent('10.0.0.1/32', { service: 'default/web' });
    const gone: NotAdvertised = { address: '10.0.0.1', source: 'default/web', reason: 'no-local-serving-endpoint' };
    smoother.update(decision(web));
    clock.advance(0);
    expect(emits).toHaveLength(1);
    clock.advance(1000);
    smoother.update({ intents: [], notAdvertised: [gone] });
    clock.advance(0);
    expect(emits).toHaveLength(1);
    expect(smoother.heldDown()).toEqual([{ prefix: parsePrefix('10.0.0.1/32'), wanted: 'withdraw', until: 10_000 }]);
    clock.advance(4800);
    const current = smoother.current;
    expect(routes(current.intents)).toEqual(['10.0.0.1/32']);
    expect(current.notAdvertised).toEqual([
      gone,
      {
        address: '10.0.0.1',
        source: 'default/web loadBalancer',
        services: ['default/web'],
        reason: 'held-down',
        detail: 'withdrawal held back 4.2 s (flapping; minimum interval 10 s)',
      },
    ]);
    clock.advance(4200);
    expect(emits.at(-1)).toEqual({ at: 10_000, routes: [] });
    expect(smoother.heldDown()).toEqual([]);
    expect(smoother.current).toEqual({ intents: [], notAdvertised: [gone] });
  });

  it('shows a held advertisement in the not-advertised list', () => {
    const { clock, emits, smoother } = setup({ windowMs: 0, minIntervalMs: 1500 });
    const v6 = intent('2001:db8::a/128', { service: 'default/api' });
    smoother.update(decision(v6));
    clock.advance(0);
    smoother.update(decision());
    clock.advance(1500);
    expect(emits.map((e) => e.routes)).toEqual([['2001:db8::a/128'], []]);
    clock.advance(500);
    smoother.update(decision(v6));
    clock.advance(0);
    expect(emits).toHaveLength(2);
    expect(smoother.heldDown()).toEqual([{ prefix: parsePrefix('2001:db8::a/128'), wanted: 'advertise', until: 3000 }]);
    expect(smoother.current.intents).toEqual([]);
    expect(heldEntries(smoother.current)).toEqual([
      { address: '2001:db8::a', source: 'default/api loadBalancer', services: ['default/api'], reason: 'held-down', detail: 'advertisement held back 1.0 s (flapping; minimum interval 1.5 s)' },
    ]);
    clock.advance(1000);
    expect(emits.at(-1)).toEqual({ at: 3000, routes: ['2001:db8::a/128'] });
    expect(heldEntries(smoother.current)).toEqual([]);
  });

  it('names a held range in CIDR form', () => {
    const { clock, smoother } = setup({ windowMs: 0, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.96.0.0/12', { range: 'serviceClusterIPs 10.96.0.0/12' })));
    clock.advance(0);
    smoother.update(decision());
    clock.advance(0);
    expect(heldEntries(smoother.current).map((n) => [n.address, n.source, n.services])).toEqual([['10.96.0.0/12', 'serviceClusterIPs 10.96.0.0/12', []]]);
  });

  it('lets a graceful-shutdown toggle through at once: only announce/withdraw is limited', () => {
    const { clock, emits, smoother } = setup({ windowMs: 10, minIntervalMs: 10_000 });
    smoother.update(decision(intent('10.0.0.1/32')));
    clock.advance(10);
    smoother.update(decision(intent('10.0.0.1/32', { gracefulShutdown: true })));
    clock.advance(10);
    smoother.update(decision(intent('10.0.0.1/32')));
    clock.advance(10);
    expect(emits).toEqual([
      { at: 10, routes: ['10.0.0.1/32'] },
      { at: 20, routes: ['10.0.0.1/32 gshut'] },
      { at: 30, routes: ['10.0.0.1/32'] },
    ]);
    expect(smoother.heldDown()).toEqual([]);
    // The toggles were no transitions: the withdrawal waits for the announcement at 10, not the toggle at 30.
    smoother.update(decision());
    clock.advance(10);
    expect(smoother.heldDown()).toEqual([{ prefix: parsePrefix('10.0.0.1/32'), wanted: 'withdraw', until: 10_010 }]);
  });

  it('a held-advertised prefix keeps its last emitted attributes', () => {
    const { clock, emits, smoother } = setup({ windowMs: 0, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32', { gracefulShutdown: true }), intent('10.0.0.2/32')));
    clock.advance(0);
    smoother.update(decision(intent('10.0.0.2/32', { communities: [7] })));
    clock.advance(0);
    expect(emits.at(-1)?.routes).toEqual(['10.0.0.1/32 gshut', '10.0.0.2/32 c=7']);
  });

  it('minimum interval 0 lets every flip through and holds nothing', () => {
    const { clock, emits, smoother } = setup({ windowMs: 10, minIntervalMs: 0 });
    for (let i = 0; i < 20; i++) {
      smoother.update(i % 2 === 0 ? decision(intent('10.0.0.1/32')) : decision());
      clock.advance(10);
      expect(smoother.heldDown()).toEqual([]);
    }
    expect(emits).toHaveLength(20);
    expect(clock.pending).toBe(0);
  });
});

describe('lifecycle', () => {
  it('stop() cancels the window and hold-down timers, and later calls do nothing', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    smoother.update(decision(intent('10.0.0.1/32')));
    smoother.flush();
    smoother.update(decision());
    clock.advance(100); // withdrawal held: hold timer armed
    smoother.update(decision(intent('10.0.0.2/32'))); // window armed
    expect(clock.pending).toBe(2);
    smoother.stop();
    expect(clock.pending).toBe(0);
    expect(smoother.heldDown()).toEqual([]);
    smoother.update(decision(intent('10.0.0.3/32')));
    smoother.flush();
    smoother.stop();
    clock.advance(10_000);
    expect(clock.pending).toBe(0);
    expect(emits).toHaveLength(1);
  });

  it('every method is safe before any update', () => {
    const { clock, emits, smoother } = setup({ windowMs: 100, minIntervalMs: 1000 });
    expect(smoother.current).toEqual({ intents: [], notAdvertised: [] });
    expect(smoother.heldDown()).toEqual([]);
    smoother.stop();
    smoother.stop();
    clock.advance(1000);
    expect(emits).toHaveLength(0);
  });

  it.each([
    ['negative window', { windowMs: -1, minIntervalMs: 0 }],
    ['NaN interval', { windowMs: 0, minIntervalMs: NaN }],
    ['infinite window', { windowMs: Infinity, minIntervalMs: 0 }],
  ])('refuses a %s', (_name, options) => {
    expect(() => new IntentSmoother(options, new FakeClock(), () => undefined)).toThrow(RangeError);
  });
});

describe('property', () => {
  const pool = ['10.0.0.1/32', '10.0.0.2/32', '10.96.0.0/12', '2001:db8::1/128'];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('update' as const),
      members: fc.array(fc.record({ index: fc.nat(pool.length - 1), gracefulShutdown: fc.boolean() }), { maxLength: pool.length }),
    }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(1500) }),
    fc.record({ kind: fc.constant('flush' as const) }),
  );

  it('settles on the last desired set, and no prefix changes twice within the minimum interval', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(1000), fc.array(op, { maxLength: 60 }), (windowMs, minIntervalMs, ops) => {
        const { clock, emits, smoother } = setup({ windowMs, minIntervalMs });
        let last = decision();
        for (const o of ops) {
          if (o.kind === 'advance') clock.advance(o.ms);
          else if (o.kind === 'flush') smoother.flush();
          else {
            const byIndex = new Map(o.members.map((m) => [m.index, m] as const));
            last = decision(...[...byIndex.values()].map((m) => intent(pool[m.index] ?? '', { gracefulShutdown: m.gracefulShutdown })));
            smoother.update(last);
          }
        }
        clock.advance(minIntervalMs + windowMs);
        expect(emits.at(-1)?.routes ?? []).toEqual(routes(last.intents));
        expect(routes(smoother.current.intents)).toEqual(routes(last.intents));
        expect(smoother.heldDown()).toEqual([]);
        expect(clock.pending).toBe(0);

        const lastChange = new Map<string, number>();
        let before = new Set<string>();
        for (const e of emits) {
          const present = new Set(e.routes.map((r) => r.split(' ')[0] ?? ''));
          for (const p of pool) {
            if (present.has(p) === before.has(p)) continue;
            const prev = lastChange.get(p);
            if (prev !== undefined) expect(e.at - prev).toBeGreaterThanOrEqual(minIntervalMs);
            lastChange.set(p, e.at);
          }
          before = present;
        }
        smoother.stop();
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
