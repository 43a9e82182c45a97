/**
 * The Kubernetes side end to end: a cluster source's state, decided (decide.ts), smoothed
 * (churn.ts) and handed over as the complete set of prefixes this node originates. It speaks no BGP:
 * the sink is whatever takes originated routes (the daemon's RIB).
 *
 * Nothing is handed over before the source's initial lists are in: a restart never announces a
 * partial set, and `complete` (the restarting speaker's End-of-RIB) follows the first full set.
 * After that the source may go away for any length of time: its state stays as it was, and so does
 * everything advertised.
 */
import type { Logger } from 'pino';
import type { LargeCommunity, Prefix } from '../bgp/index.js';
import type { ServiceCidrs, ServiceSettings } from '../config/config.js';
import type { Clock, TimerHandle } from '../fsm/clock.js';
import { type ChurnOptions, IntentSmoother } from './churn.js';
import { serviceAddresses, serviceKey } from './decide.js';
import { ServiceDecider } from './decider.js';
import { type Decision, type Intent, type IntentChanges, prefixOfKey } from './intent.js';
import type { ClusterSource, ClusterState, SourceStatus } from './source.js';

/** What the RIB is given: a prefix with the communities the decision put on it. */
export interface ServiceRoute {
  readonly prefix: Prefix;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface AdvertiserSink {
  /**
   * The complete set this node should originate now, replacing what was handed over before (the
   * RIB sends the difference): the first set, and after a reload. `since`: the clock time of the
   * oldest cluster change it reflects, for the change-to-UPDATE latency.
   */
  originate(routes: readonly ServiceRoute[], since: number | undefined): void;
  /** Between complete sets, only what changed: routes announced or replaced, and prefixes withdrawn. */
  change(announce: readonly ServiceRoute[], withdraw: readonly Prefix[], since: number | undefined): void;
  /** The first complete set has been handed over. */
  complete(): void;
}

export interface AdvertiserOptions {
  readonly nodeName: string;
  readonly serviceCidrs: ServiceCidrs;
  readonly settings: ServiceSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A source with nothing in it, complete at once: a node without a cluster still announces its ranges. */
export class EmptySource implements ClusterSource {
  start(changed: () => void): void {
    changed();
  }
  stop(): void {}
  state(): ClusterState {
    return { services: [], endpointSlices: [], node: undefined };
  }
  status(): SourceStatus {
    return { source: 'none', synced: true, healthy: true, detail: [] };
  }
}

export class ServiceAdvertiser {
  private synced = false;
  private pending: TimerHandle | undefined;
  /** Clock time of the oldest change not decided on yet. */
  private firstChange: number | undefined;
  /** ... and of the one the last decision reflects, until it is handed over (or changes nothing). */
  private decidedSince: number | undefined;
  /** Annotation problems already logged, by service, so a service is warned about once per change of them. */
  private readonly problemsLogged = new Set<string>();
  /** The decider's problem list last looked at: the same list again needs no look. */
  private problemsSeen: readonly string[] | undefined;

  private readonly decider = new ServiceDecider();
  private readonly smoother: IntentSmoother;

  /**
   * The coalescing window is applied before deciding, not after: the decider walks every object
   * once per decision, so one per event would cost O(objects) per event. The smoother then only
   * holds flapping prefixes down.
   */
  constructor(
    private readonly source: ClusterSource,
    private o: AdvertiserOptions,
    private readonly sink: AdvertiserSink,
  ) {
    this.smoother = new IntentSmoother(churnOptions(o.settings), o.clock, (changes, complete) => this.handOver(changes, complete));
  }

  /** New ranges or settings (a configuration reload): decided again, and handed over complete at once. */
  reconfigure(o: Pick<AdvertiserOptions, 'serviceCidrs' | 'settings'>): void {
    this.o = { ...this.o, ...o };
    this.smoother.reconfigure(churnOptions(o.settings));
    if (!this.synced) return;
    this.decideNow();
    this.smoother.flush();
  }

  start(): void {
    this.source.start(() => this.changed());
  }

  stop(): void {
    this.source.stop();
    this.smoother.stop();
    this.pending?.cancel();
    this.pending = undefined;
  }

  /** What is advertised now and why, and what is not and why (for the CLI). */
  get decision(): Decision {
    return this.smoother.current;
  }

  /** How many prefixes are handed over now (without building the whole decision). */
  get advertised(): number {
    return this.smoother.advertised().length;
  }

  get status(): SourceStatus {
    return this.source.status();
  }

  /** The IPs of a service (`namespace/name`, or `name` in `default`), as the decision names them; undefined if unknown. */
  addressesOf(service: string): string[] | undefined {
    const key = service.includes('/') ? service : `default/${service}`;
    const svc = this.source.state().services.find((s) => serviceKey(s.metadata) === key);
    return svc === undefined ? undefined : serviceAddresses(svc);
  }

  private changed(): void {
    if (this.synced) {
      this.firstChange ??= this.o.clock.now();
      // Within the window every change is folded into one decision, taken at its end.
      this.pending ??= this.o.clock.schedule(this.o.settings.coalesceWindow * 1000, () => {
        this.pending = undefined;
        this.decideNow();
      });
      return;
    }
    const status = this.source.status();
    // Until every initial list is in, the state is partial: deciding on it could withdraw routes.
    if (!status.synced) return;
    this.decideNow();
    this.synced = true;
    // The first complete set goes at once, not after the window: the restart waits for it.
    this.smoother.flush();
    this.o.logger.info({ source: status.source, prefixes: this.advertised }, 'cluster state synced: service routes handed to the RIB');
    this.sink.complete();
  }

  private decideNow(): void {
    // A decision that changes no route hands nothing over: its changes must not be counted
    // against the next one.
    this.decidedSince = this.firstChange;
    this.firstChange = undefined;
    const state = this.source.state();
    const changes = this.decider.update({
      nodeName: this.o.nodeName,
      node: state.node,
      services: state.services,
      endpointSlices: state.endpointSlices,
      serviceCidrs: this.o.serviceCidrs,
      aggregation: this.o.serviceCidrs.aggregation,
      advertisePodCidrs: this.o.settings.advertisePodCIDRs,
    });
    this.logProblems();
    const decider = this.decider;
    this.smoother.change(changes, () => decider.decision.notAdvertised);
  }

  /** Each annotation problem once, when it first appears (the rest of each service is used). */
  private logProblems(): void {
    const now = this.decider.problems();
    if (now === this.problemsSeen) return;
    this.problemsSeen = now;
    const fresh = now.filter((p) => !this.problemsLogged.has(p));
    this.problemsLogged.clear();
    for (const p of now) this.problemsLogged.add(p);
    if (fresh.length > 0) this.o.logger.warn({ problems: fresh.join('; ') }, 'service annotations not understood (the rest of each service is used)');
  }

  private handOver(changes: IntentChanges, complete: boolean): void {
    const since = this.decidedSince;
    this.decidedSince = undefined;
    if (complete) {
      this.sink.originate([...changes.values()].filter((i): i is Intent => i !== undefined).map(routeOf), since);
      return;
    }
    const announce: ServiceRoute[] = [];
    const withdraw: Prefix[] = [];
    for (const [key, intent] of changes) {
      if (intent !== undefined) announce.push(routeOf(intent));
      else withdraw.push(prefixOfKey(key));
    }
    this.sink.change(announce, withdraw, since);
  }
}

function routeOf(i: Intent): ServiceRoute {
  return { prefix: i.prefix, communities: i.communities, largeCommunities: i.largeCommunities };
}

function churnOptions(s: ServiceSettings): ChurnOptions {
  return { windowMs: 0, minIntervalMs: s.minFlapInterval * 1000 };
}
