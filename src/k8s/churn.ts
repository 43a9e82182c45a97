/**
 * Churn control between the Kubernetes decisions and the RIB. `IntentSmoother` takes the intents
 * that changed (`change`; `update` takes a complete decision and works out the difference) and
 * passes the RIB what changed, damped in two ways. (The advertiser coalesces changes before it
 * decides, so it runs this with `windowMs` 0; the window is for callers that decide per event.)
 *
 * - Window. The first update after quiet starts a timer of `windowMs`; later updates only replace
 *   the desired state, and at expiry one emit carries the latest one. The window is never extended,
 *   so a change waits at most `windowMs` however busy the cluster is. A prefix that comes and goes
 *   inside one window never reaches the RIB. `windowMs` 0 still coalesces a synchronous burst (the
 *   timer is `schedule(0)`).
 * - Minimum interval. A prefix's advertised/withdrawn state changes at most once per
 *   `minIntervalMs`, so a /32 whose only endpoint is a crash-looping pod cannot make the routers
 *   flap faster than that. When the desired state flips sooner, the prefix keeps its emitted state
 *   until the interval since its last transition has passed, then takes whatever is desired then.
 *   OUR choices: only announce ↔ withdraw transitions are limited; attribute changes of an
 *   advertised prefix (communities, graceful shutdown) go through at the next emit, since a
 *   graceful-shutdown community is exactly what must not wait. The first announcement of a prefix
 *   never waits (nothing to flap yet), nor does any transition more than `minIntervalMs` after the
 *   previous one. `minIntervalMs` 0 turns this off.
 *
 * Emits only when the set differs from the last emitted one by prefix, communities, large
 * communities or graceful shutdown; a change of reasons alone updates `current` without an emit.
 * `flush()` (the initial sync) emits at once and always, so the caller learns origination is
 * complete even when the set is empty; the minimum interval still applies to it.
 */
import type { Clock, TimerHandle } from '../fsm/clock.js';
import { Afi, type LargeCommunity, type Prefix, comparePrefixes, formatIpv4, formatIpv6, formatPrefix } from '../bgp/index.js';
import { type Decision, type Intent, type IntentChanges, type NotAdvertised, prefixKey } from './intent.js';

export interface ChurnOptions {
  /** How long a burst of changes is gathered into one emit (ms, ≥ 0). */
  readonly windowMs: number;
  /** Shortest time between two announce/withdraw transitions of one prefix (ms, ≥ 0; 0 disables). */
  readonly minIntervalMs: number;
}

export interface HeldDown {
  readonly prefix: Prefix;
  /** What the latest decision wants; the prefix keeps the opposite until `until`. */
  readonly wanted: 'advertise' | 'withdraw';
  /** Clock time (ms) at which the prefix may change. */
  readonly until: number;
}

const NOTHING_REFUSED = (): readonly NotAdvertised[] => [];

export class IntentSmoother {
  /** The latest desired state, by prefix key. */
  private readonly desired = new Map<string, Intent>();
  /** Desired prefixes changed since the last evaluation: the only ones it needs to look at (with the held ones). */
  private dirty = new Set<string>();
  /** The not-advertised list of the latest update, and of the one the last evaluation worked from (what `current` shows). */
  private pendingRefusals: () => readonly NotAdvertised[] = NOTHING_REFUSED;
  private refusals: () => readonly NotAdvertised[] = NOTHING_REFUSED;
  /** What the RIB holds: the intents last emitted (with reasons refreshed by later evaluations). */
  private readonly emitted = new Map<string, Intent>();
  /** `emitted` in prefix order, until it changes. */
  private sorted: readonly Intent[] | undefined;
  /** Clock time of each prefix's last announce/withdraw transition, while it still limits the next one. */
  private readonly lastTransition = new Map<string, number>();
  private held = new Map<string, HeldDown>();
  private windowTimer: TimerHandle | undefined;
  private holdTimer: TimerHandle | undefined;
  private emitting = false;
  private rerun = false;
  private stopped = false;

  /**
   * `emit` gets the prefixes whose route changed (undefined: withdrawn), or with `complete` every
   * prefix to advertise (the caller replaces what it holds). The map is valid during the call only.
   */
  constructor(
    private options: ChurnOptions,
    private readonly clock: Clock,
    private readonly emit: (changes: IntentChanges, complete: boolean) => void,
  ) {
    checkOptions(options);
  }

  /** New options (a configuration reload); what is emitted and held stays, the next evaluation uses them. */
  reconfigure(options: ChurnOptions): void {
    checkOptions(options);
    this.options = options;
  }

  /** The latest desired state, complete (the difference from the last one is worked out here). */
  update(decision: Decision): void {
    const next = new Map(decision.intents.map((i) => [prefixKey(i.prefix), i] as const));
    const changes = new Map<string, Intent | undefined>();
    for (const key of this.desired.keys()) if (!next.has(key)) changes.set(key, undefined);
    for (const [key, intent] of next) if (this.desired.get(key) !== intent) changes.set(key, intent);
    this.change(changes, () => decision.notAdvertised);
  }

  /** The latest desired state, as the prefixes that changed; `notAdvertised` is read when `current` is asked for. */
  change(changes: IntentChanges, notAdvertised: () => readonly NotAdvertised[]): void {
    if (this.stopped) return;
    for (const [key, intent] of changes) {
      if (intent === undefined) this.desired.delete(key);
      else this.desired.set(key, intent);
      this.dirty.add(key);
    }
    this.pendingRefusals = notAdvertised;
    // Started by the first change after quiet and never pushed back: bounded latency.
    this.windowTimer ??= this.clock.schedule(this.options.windowMs, () => {
      this.windowTimer = undefined;
      this.evaluate(false);
    });
  }

  /** Emit now whatever is pending, skipping the window (used at initial sync and reloads). Always emits, complete. */
  flush(): void {
    if (this.stopped) return;
    this.windowTimer?.cancel();
    this.windowTimer = undefined;
    this.evaluate(true);
  }

  /** Prefixes whose change is being held back by the minimum interval: for the CLI. */
  heldDown(): readonly HeldDown[] {
    return [...this.held.values()].sort((a, b) => comparePrefixes(a.prefix, b.prefix));
  }

  /** The intents last emitted, in prefix order. */
  advertised(): readonly Intent[] {
    this.sorted ??= [...this.emitted.values()].sort((a, b) => comparePrefixes(a.prefix, b.prefix));
    return this.sorted;
  }

  /**
   * The intents last emitted, and the not-advertised list of the decision they came from plus one
   * `held-down` entry per held prefix: held withdrawn ("advertisement held back …") and also held
   * advertised ("withdrawal held back …"; that prefix is in `intents` too, and this entry says why).
   */
  get current(): Decision {
    const now = this.clock.now();
    const heldEntries: NotAdvertised[] = this.heldDown().map((h) => {
      const key = prefixKey(h.prefix);
      const intent = h.wanted === 'advertise' ? this.desired.get(key) : this.emitted.get(key);
      const sources = [...new Set(intent?.reasons.map((r) => r.source) ?? [])];
      const services = [...new Set(intent?.reasons.flatMap((r) => (r.service === undefined ? [] : [r.service])) ?? [])];
      const left = Math.max(0, h.until - now) / 1000;
      return {
        address: formatAddress(h.prefix),
        source: sources.length > 0 ? sources.join(', ') : 'node',
        services,
        reason: 'held-down',
        detail:
          `${h.wanted === 'advertise' ? 'advertisement' : 'withdrawal'} held back ${left.toFixed(1)} s ` +
          `(flapping; minimum interval ${formatSeconds(this.options.minIntervalMs)} s)`,
      };
    });
    return { intents: this.advertised(), notAdvertised: [...this.refusals(), ...heldEntries] };
  }

  /** Cancels every timer; later calls emit nothing. */
  stop(): void {
    this.stopped = true;
    this.windowTimer?.cancel();
    this.windowTimer = undefined;
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    this.held = new Map();
  }

  /**
   * Works out what the RIB should hold now, emits what changed (everything if `force`), re-arms the
   * hold timer. Only the prefixes changed since the last evaluation and the held ones are looked at.
   */
  private evaluate(force: boolean): void {
    if (this.emitting) {
      // Called from inside `emit` (the callback flushed): run once more when it returns, without forcing.
      this.rerun = true;
      return;
    }
    this.rerun = false;
    const now = this.clock.now();
    const min = this.options.minIntervalMs;
    for (const [key, at] of this.lastTransition) if (now - at >= min) this.lastTransition.delete(key);

    const keys = this.dirty;
    for (const key of this.held.keys()) keys.add(key);
    this.dirty = new Set();
    const changes = new Map<string, Intent | undefined>();
    const held = new Map<string, HeldDown>();
    for (const key of keys) {
      const want = this.desired.get(key);
      const have = this.emitted.get(key);
      if ((want !== undefined) === (have !== undefined)) {
        // No transition: an advertised prefix takes the new attributes and reasons at once.
        if (want === undefined || have === undefined || want === have) continue;
        this.emitted.set(key, want);
        this.sorted = undefined;
        if (!sameRoute(want, have)) changes.set(key, want);
        continue;
      }
      const last = this.lastTransition.get(key);
      if (last === undefined) {
        if (want !== undefined) this.emitted.set(key, want);
        else this.emitted.delete(key);
        this.sorted = undefined;
        changes.set(key, want);
        if (min > 0) this.lastTransition.set(key, now);
        continue;
      }
      // Held: keep the emitted state until the interval since the last transition has passed.
      const prefix = (want ?? have)?.prefix;
      if (prefix === undefined) continue; // unreachable: exactly one of want/have is defined
      held.set(key, { prefix, wanted: want !== undefined ? 'advertise' : 'withdraw', until: last + min });
    }

    this.refusals = this.pendingRefusals;
    this.held = held;
    this.armHoldTimer(now);
    if (!force && changes.size === 0) return;
    this.emitting = true;
    try {
      this.emit(force ? new Map(this.emitted) : changes, force);
    } finally {
      this.emitting = false;
    }
    if (this.rerun && !this.stopped) {
      // A flush from inside emit skipped the window, so the window it would have cancelled goes too.
      this.windowTimer?.cancel();
      this.windowTimer = undefined;
      this.evaluate(false);
    }
  }

  private armHoldTimer(now: number): void {
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    if (this.held.size === 0 || this.stopped) return;
    let until = Infinity;
    for (const h of this.held.values()) until = Math.min(until, h.until);
    this.holdTimer = this.clock.schedule(Math.max(0, until - now), () => {
      this.holdTimer = undefined;
      // A pending window evaluates everything within windowMs anyway, and emitting now would let a
      // change still inside its window (maybe gone by expiry) through early.
      if (this.windowTimer === undefined) this.evaluate(false);
    });
  }
}

function checkOptions(options: ChurnOptions): void {
  for (const [name, v] of Object.entries(options)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`churn ${name} must be a finite number ≥ 0, not ${String(v)}`);
  }
}

function sameRoute(x: Intent, y: Intent): boolean {
  const large = (c: LargeCommunity): string => `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
  return (
    x.gracefulShutdown === y.gracefulShutdown &&
    sameSet(x.communities.map(String), y.communities.map(String)) &&
    sameSet(x.largeCommunities.map(large), y.largeCommunities.map(large))
  );
}

/** Communities are a set on the wire; a reordering is no change. */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

/** A host route as its address (as the other not-advertised entries name service IPs), a range in CIDR form. */
function formatAddress(p: Prefix): string {
  const host = p.length === (p.afi === Afi.Ipv4 ? 32 : 128);
  if (!host) return formatPrefix(p);
  return p.afi === Afi.Ipv4 ? formatIpv4(p.address) : formatIpv6(p.address);
}

function formatSeconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}
