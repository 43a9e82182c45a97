/**
 * `decide()` kept up to date by difference. At 10,000 services a full decision takes tens of
 * milliseconds, and a busy cluster changes something every few: deciding everything per coalescing
 * window would put that cost on every change. `ServiceDecider` decides again only the services
 * whose object or endpoint slices changed, and reports only the prefixes whose intent changed.
 *
 * Changes are found by object identity: both sources replace an object when it changes (a watch
 * event, a relist, a file read), never edit it in place. One `update` walks every service and slice
 * once with a map lookup each, and parses nothing that did not change. A change of the node-wide
 * context (this node's exclusion or pod CIDRs, the configured ranges) decides everything again.
 *
 * The result equals `decide()` on the same input, whatever the history (a property test holds it
 * to that); the sorted `decision` is built only when asked for (the CLI, metrics).
 */
import { type Prefix, comparePrefixes } from '../bgp/index.js';
import { type Claim, type DecisionInput, type NodeContext, type Outcome, intentOf, nodeContext, nodeOutcome, serviceKey, serviceOutcome, sliceServiceKey, sortedRefusals } from './decide.js';
import type { Decision, Intent, IntentChanges } from './intent.js';
import type { EndpointSlice, Service } from './objects.js';

interface Seen {
  /** The update that last saw the object. */
  round: number;
}

interface ServiceEntry extends Seen {
  readonly key: string | undefined;
  readonly outcome: Outcome;
}

interface SliceEntry extends Seen {
  readonly owner: string | undefined;
}

interface PrefixClaims {
  readonly prefix: Prefix;
  /** By who claims: a service entry, or the node's own outcome (an array: almost always one owner). */
  claims: { readonly owner: object; readonly claim: Claim }[];
}

const NO_OUTCOME: Outcome = { claims: [], refusals: [], problems: [] };

export class ServiceDecider {
  private context: NodeContext | undefined;
  /** The claims of the node's own ranges, keyed as an owner like a service entry. */
  private readonly nodeOwner = {};
  private nodeResult: Outcome = NO_OUTCOME;
  private readonly services = new Map<Service, ServiceEntry>();
  private readonly slices = new Map<EndpointSlice, SliceEntry>();
  private readonly slicesOf = new Map<string, EndpointSlice[]>();
  private readonly claims = new Map<string, PrefixClaims>();
  private readonly intents = new Map<string, Intent>();
  private round = 0;
  private built: Decision | undefined;
  private problemLines: readonly string[] | undefined;

  /** Brings the decision up to date with `input`; returns what changed since the last update. */
  update(input: DecisionInput): IntentChanges {
    this.round++;
    const dirty = new Set<string>();
    const context = nodeContext(input);
    const everything = this.context === undefined || this.context.signature !== context.signature;
    this.context = context;
    if (everything) {
      this.withdrawClaims(this.nodeOwner, this.nodeResult, dirty);
      this.nodeResult = nodeOutcome(context);
      this.addClaims(this.nodeOwner, this.nodeResult, dirty);
    }
    const touched = this.followSlices(input.endpointSlices);
    let changed = everything || touched.size > 0;

    let seen = 0;
    for (const svc of arrayOf<Service>(input.services)) {
      if (typeof svc !== 'object' || svc === null) continue;
      const entry = this.services.get(svc);
      if (entry !== undefined && entry.round === this.round) continue; // listed twice
      seen++;
      if (entry !== undefined && !everything && (entry.key === undefined || !touched.has(entry.key))) {
        entry.round = this.round;
        continue;
      }
      if (entry !== undefined) this.withdrawClaims(entry, entry.outcome, dirty);
      const key = serviceKey(svc.metadata);
      const outcome = key === undefined ? NO_OUTCOME : serviceOutcome(svc, key, this.slicesOf.get(key) ?? [], context);
      const next: ServiceEntry = { key, outcome, round: this.round };
      this.services.set(svc, next);
      this.addClaims(next, outcome, dirty);
      changed = true;
      // Problems are rare: their list is rebuilt only when a service that has or had one changes.
      if (outcome.problems.length > 0 || (entry?.outcome.problems.length ?? 0) > 0) this.problemLines = undefined;
    }
    if (seen < this.services.size) {
      for (const [svc, entry] of this.services) {
        if (entry.round === this.round) continue;
        this.services.delete(svc);
        this.withdrawClaims(entry, entry.outcome, dirty);
        changed = true;
        if (entry.outcome.problems.length > 0) this.problemLines = undefined;
      }
    }
    if (changed) this.built = undefined;
    return this.settle(dirty);
  }

  /** The whole decision, as `decide()` gives it (sorted; built once per change). */
  get decision(): Decision {
    if (this.built === undefined) {
      const intents = [...this.intents.values()].sort((a, b) => comparePrefixes(a.prefix, b.prefix));
      const refusals = [...this.nodeResult.refusals];
      for (const e of this.services.values()) for (const r of e.outcome.refusals) refusals.push(r);
      this.built = { intents, notAdvertised: sortedRefusals(refusals) };
    }
    return this.built;
  }

  /** `annotationProblems()` of the services decided on. */
  problems(): readonly string[] {
    if (this.problemLines === undefined) {
      const lines = new Set<string>();
      for (const e of this.services.values()) for (const p of e.outcome.problems) lines.add(p);
      this.problemLines = [...lines].sort();
    }
    return this.problemLines;
  }

  /** Keeps the slices per service by difference; returns the services whose slices changed. */
  private followSlices(list: readonly EndpointSlice[]): Set<string> {
    const touched = new Set<string>();
    const regroup = (owner: string | undefined): void => {
      if (owner !== undefined) touched.add(owner);
    };
    let seen = 0;
    for (const slice of arrayOf<EndpointSlice>(list)) {
      if (typeof slice !== 'object' || slice === null) continue;
      const entry = this.slices.get(slice);
      if (entry !== undefined) {
        if (entry.round !== this.round) seen++;
        entry.round = this.round;
        continue;
      }
      seen++;
      const owner = sliceServiceKey(slice);
      this.slices.set(slice, { owner, round: this.round });
      if (owner === undefined) continue;
      // Copied, not pushed: a service decided earlier keeps the list it was decided on.
      this.slicesOf.set(owner, [...(this.slicesOf.get(owner) ?? []), slice]);
      regroup(owner);
    }
    if (seen < this.slices.size) {
      for (const [slice, entry] of this.slices) {
        if (entry.round === this.round) continue;
        this.slices.delete(slice);
        if (entry.owner === undefined) continue;
        const rest = (this.slicesOf.get(entry.owner) ?? []).filter((s) => s !== slice);
        if (rest.length === 0) this.slicesOf.delete(entry.owner);
        else this.slicesOf.set(entry.owner, rest);
        regroup(entry.owner);
      }
    }
    return touched;
  }

  private addClaims(owner: object, outcome: Outcome, dirty: Set<string>): void {
    for (const { key, prefix, claim } of outcome.claims) {
      const entry = this.claims.get(key);
      if (entry === undefined) this.claims.set(key, { prefix, claims: [{ owner, claim }] });
      else entry.claims.push({ owner, claim });
      dirty.add(key);
    }
  }

  private withdrawClaims(owner: object, outcome: Outcome, dirty: Set<string>): void {
    for (const { key } of outcome.claims) {
      const entry = this.claims.get(key);
      if (entry === undefined) continue;
      entry.claims = entry.claims.filter((c) => c.owner !== owner);
      if (entry.claims.length === 0) this.claims.delete(key);
      dirty.add(key);
    }
  }

  /** The intents of the prefixes whose claims changed, and which of them differ from before. */
  private settle(dirty: ReadonlySet<string>): IntentChanges {
    const changes = new Map<string, Intent | undefined>();
    for (const key of dirty) {
      const entry = this.claims.get(key);
      const before = this.intents.get(key);
      if (entry === undefined) {
        if (before === undefined) continue;
        this.intents.delete(key);
        changes.set(key, undefined);
        continue;
      }
      const after = intentOf(
        entry.prefix,
        entry.claims.map((c) => c.claim),
      );
      if (before !== undefined && sameIntent(before, after)) continue;
      this.intents.set(key, after);
      changes.set(key, after);
    }
    return changes;
  }
}

function sameIntent(a: Intent, b: Intent): boolean {
  return (
    a.gracefulShutdown === b.gracefulShutdown &&
    a.reasons.length === b.reasons.length &&
    a.reasons.every((r, i) => r.rule === b.reasons[i]?.rule && r.source === b.reasons[i]?.source) &&
    a.communities.length === b.communities.length &&
    a.communities.every((c, i) => c === b.communities[i]) &&
    a.largeCommunities.length === b.largeCommunities.length &&
    a.largeCommunities.every((c, i) => c.globalAdmin === b.largeCommunities[i]?.globalAdmin && c.localData1 === b.largeCommunities[i]?.localData1 && c.localData2 === b.largeCommunities[i]?.localData2)
  );
}

/** The array, or nothing for what is not one (decide() is total, and so is this); not copied: it is long. */
function arrayOf<T>(v: unknown): readonly T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}
