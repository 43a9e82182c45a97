/**
 * The decision process (RFC 4271 §9.1.2) as an ordered list of named steps, with the tie-breakers
 * every major implementation adds. Comparing two routes says which is preferred and which step
 * decided, so `kbgp routes` can show why a path won.
 *
 * RFC says / kbgp does:
 * - A route without LOCAL_PREF (learned over eBGP, or originated) counts as the default, 100.
 * - MED is compared only between routes from the same neighbouring AS (§9.1.2.2 c), unless
 *   `alwaysCompareMed`; a missing MED counts as 0, the best value, as §9.1.2.2 c says.
 * - There is no IGP metric step: kbgp has no IGP, every next hop costs the same.
 * - ORIGINATOR_ID stands in for the BGP Identifier of a reflected route (RFC 4456 §9), and a
 *   shorter CLUSTER_LIST wins after it.
 * - Two routes equal on every step are the same path from the same peer: that is a bug in the
 *   caller, so it throws rather than pick one silently.
 */
import { AsPathSegmentType, asPathLength, parseIpv4, parseIpv6 } from '../bgp/index.js';
import type { Route } from './route.js';

export interface DecisionOptions {
  /** Compare MED between routes from different neighbouring ASes too (`always-compare-med`). */
  readonly alwaysCompareMed?: boolean;
  readonly defaultLocalPref?: number;
}

export type DecisionStep =
  | 'local-pref'
  | 'locally-originated'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'router-id'
  | 'cluster-list-length'
  | 'peer-address'
  | 'path-id';

export interface Comparison {
  /** -1: a is preferred; 1: b is preferred. */
  readonly order: -1 | 1;
  readonly decidedBy: DecisionStep;
}

type StepCompare = (a: Route, b: Route, o: DecisionOptions) => number;

const localPref = (r: Route, o: DecisionOptions): number => r.attributes.localPref ?? o.defaultLocalPref ?? 100;

/** The AS the route was learned from: the first AS of the first AS_SEQUENCE (RFC 4271 §9.1.2.2 c). */
export function neighbourAs(r: Route): number | undefined {
  const first = r.attributes.asPath?.find((s) => s.type === AsPathSegmentType.AsSequence || s.type === AsPathSegmentType.AsSet);
  return first?.type === AsPathSegmentType.AsSequence ? first.asns[0] : undefined;
}

/** ORIGINATOR_ID if reflected (RFC 4456 §9), else the peer's BGP Identifier; local routes lowest. */
function routerId(r: Route): number {
  if (r.source.kind === 'local') return 0;
  return parseIpv4(r.attributes.originatorId ?? r.source.bgpIdentifier);
}

/** Peer addresses compared as numbers (IPv4 before IPv6), never as text. */
function addressKey(r: Route): bigint {
  if (r.source.kind === 'local') return -1n;
  const a = r.source.address;
  if (!a.includes(':')) return BigInt(parseIpv4(a));
  let n = 0n;
  for (const octet of parseIpv6(a)) n = (n << 8n) | BigInt(octet);
  return n + (1n << 32n);
}

const sign = (x: number | bigint): number => (x < 0 ? -1 : x > 0 ? 1 : 0);

/** Each step returns < 0 when a is preferred. Order matters: this is the decision process. */
export const DECISION_STEPS: readonly { readonly step: DecisionStep; readonly compare: StepCompare }[] = [
  // §9.1.1: the degree of preference, for iBGP the received LOCAL_PREF. Higher wins.
  { step: 'local-pref', compare: (a, b, o) => localPref(b, o) - localPref(a, o) },
  // What this node originates beats what it learned (every implementation's "weight"/"local" step).
  { step: 'locally-originated', compare: (a, b) => (a.source.kind === 'local' ? 0 : 1) - (b.source.kind === 'local' ? 0 : 1) },
  // §9.1.2.2 a: fewer ASes wins; AS_SET counts 1, confederation segments 0 (RFC 5065 §5.3).
  { step: 'as-path-length', compare: (a, b) => asPathLength(a.attributes.asPath ?? []) - asPathLength(b.attributes.asPath ?? []) },
  // §9.1.2.2 b: IGP < EGP < INCOMPLETE.
  { step: 'origin', compare: (a, b) => (a.attributes.origin ?? 2) - (b.attributes.origin ?? 2) },
  // §9.1.2.2 c: lower MED wins, between routes from the same neighbouring AS.
  {
    step: 'med',
    compare: (a, b, o) => {
      if (o.alwaysCompareMed !== true && neighbourAs(a) !== neighbourAs(b)) return 0;
      return sign((a.attributes.med ?? 0) - (b.attributes.med ?? 0));
    },
  },
  // §9.1.2.2 d: a route learned over eBGP beats one learned over iBGP.
  {
    step: 'ebgp-over-ibgp',
    compare: (a, b) => {
      const rank = (r: Route): number => (r.source.kind === 'peer' && r.source.ebgp ? 0 : 1);
      return rank(a) - rank(b);
    },
  },
  // §9.1.2.2 f: lowest BGP Identifier (ORIGINATOR_ID for reflected routes).
  { step: 'router-id', compare: (a, b) => sign(routerId(a) - routerId(b)) },
  // RFC 4456 §9: shorter CLUSTER_LIST.
  { step: 'cluster-list-length', compare: (a, b) => (a.attributes.clusterList?.length ?? 0) - (b.attributes.clusterList?.length ?? 0) },
  // §9.1.2.2 g: lowest peer address (two originations of one prefix: by the name of their set).
  {
    step: 'peer-address',
    compare: (a, b) => {
      if (a.source.kind === 'local' && b.source.kind === 'local') return a.source.name < b.source.name ? -1 : a.source.name > b.source.name ? 1 : 0;
      return sign(addressKey(a) - addressKey(b));
    },
  },
  // Two paths of one prefix from one ADD-PATH peer: the lower path identifier it gave (as FRR).
  { step: 'path-id', compare: (a, b) => sign((a.pathId ?? 0) - (b.pathId ?? 0)) },
];

/** Which of two routes for the same prefix is preferred, and the step that decided. */
export function compareRoutes(a: Route, b: Route, o: DecisionOptions = {}): Comparison {
  for (const { step, compare } of DECISION_STEPS) {
    const c = compare(a, b, o);
    if (c !== 0) return { order: c < 0 ? -1 : 1, decidedBy: step };
  }
  throw new Error('two routes are equal on every decision step: the same path was offered twice');
}

/**
 * Routes equal down to (not including) the router-ID step are equally good: the multipath set
 * that lets a ToR install ECMP over every node's next hop.
 */
export function equalForMultipath(a: Route, b: Route, o: DecisionOptions = {}): boolean {
  for (const { step, compare } of DECISION_STEPS) {
    if (step === 'router-id') return true;
    if (compare(a, b, o) !== 0) return false;
  }
  return true;
}

export interface Ranking<R extends Route> {
  /** Best first, then the rest of the multipath set, then every other route. */
  readonly ordered: readonly R[];
  /** How many of the first routes form the multipath set (at least 1 when there is a route). */
  readonly multipath: number;
}

/**
 * The RFC 4271 §9.1.2.2 procedure: step by step, remove the routes that are not the most preferred
 * on that step. Done pairwise, MED is not transitive (A beats B on MED, B beats C on router ID, C
 * beats A on router ID with A and C from different ASes), so sorting would make the best route
 * depend on arrival order; elimination does not. The routes left before the router-ID step are the
 * multipath set. The rest follow in a total order (MED compared across ASes), only so that the list
 * reads the same whatever order routes arrived in.
 */
export function rankRoutes<R extends Route>(candidates: readonly R[], maxPaths = 1, o: DecisionOptions = {}): Ranking<R> {
  if (candidates.length <= 1) return { ordered: candidates, multipath: candidates.length };
  let left: readonly R[] = candidates;
  let multipathSet: readonly R[] | undefined;
  for (const { step, compare } of DECISION_STEPS) {
    if (step === 'router-id') multipathSet = left;
    if (left.length === 1) break;
    left = step === 'med' && o.alwaysCompareMed !== true ? bestMedPerNeighbourAs(left) : keepBest(left, (a, b) => compare(a, b, o));
  }
  if (left.length !== 1) throw new Error('two routes are equal on every decision step: the same path was offered twice');
  const best = left[0] as R;
  const total = { ...o, alwaysCompareMed: true };
  const byTotal = (a: R, b: R): number => (a === best ? -1 : b === best ? 1 : compareRoutes(a, b, total).order);
  const multipath = [...(multipathSet ?? [best])].sort(byTotal).slice(0, Math.max(1, maxPaths));
  const rest = candidates.filter((r) => !multipath.includes(r)).sort(byTotal);
  return { ordered: [...multipath, ...rest], multipath: multipath.length };
}

/** The routes that no other route beats on a single (transitive) step. */
function keepBest<R extends Route>(routes: readonly R[], compare: (a: R, b: R) => number): R[] {
  let best = routes[0] as R;
  for (const r of routes) if (compare(r, best) < 0) best = r;
  return routes.filter((r) => compare(r, best) === 0);
}

/** §9.1.2.2 c: within each neighbouring AS, only the routes with the lowest MED stay. */
function bestMedPerNeighbourAs<R extends Route>(routes: readonly R[]): R[] {
  const lowest = new Map<number | undefined, number>();
  for (const r of routes) {
    const as = neighbourAs(r);
    const med = r.attributes.med ?? 0;
    const seen = lowest.get(as);
    if (seen === undefined || med < seen) lowest.set(as, med);
  }
  return routes.filter((r) => (r.attributes.med ?? 0) === lowest.get(neighbourAs(r)));
}

export interface Selection {
  readonly best: Route;
  /** The best route first, then the others equal to it for multipath, up to `maxPaths`. */
  readonly multipath: readonly Route[];
  /** Why the best beat the runner-up (undefined with a single candidate). */
  readonly decidedBy?: DecisionStep;
}

/** The best route among candidates for one prefix, and its multipath set. */
export function selectBest(candidates: readonly Route[], maxPaths = 1, o: DecisionOptions = {}): Selection | undefined {
  if (candidates.length === 0) return undefined;
  const { ordered, multipath } = rankRoutes(candidates, maxPaths, o);
  const best = ordered[0] as Route;
  const runnerUp = ordered[1];
  return runnerUp === undefined ? { best, multipath: ordered.slice(0, multipath) } : { best, multipath: ordered.slice(0, multipath), decidedBy: compareRoutes(best, runnerUp, o).decidedBy };
}
