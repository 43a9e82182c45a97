/**
 * The decision: from this node's view of Services, EndpointSlices and its own Node, which prefixes it
 * originates and why, and every address it does not advertise and why. Pure and total: any input,
 * however partial or malformed, gives a Decision (garbage IPs and unknown values are skipped), and the
 * order of `services` and `endpointSlices` does not change the result.
 *
 * Calico says (confd routes.go, client.go), and kbgp does the same:
 * - the configured `serviceClusterIPs`, `serviceExternalIPs` and `serviceLoadBalancerIPs` ranges are
 *   advertised from every node that is not excluded (rule `service-cidr`); an address of a service
 *   counts only inside a range of its own kind (`outside-configured-cidrs` otherwise);
 * - externalTrafficPolicy Local: a /32 (/128) for every clusterIP (when `serviceClusterIPs` is set),
 *   allowed externalIP and allowed load-balancer ingress IP, only from a node with a local endpoint
 *   (rule `local-endpoint`); endpoint slices of the other family do not count;
 * - externalTrafficPolicy Cluster: nothing per service (the range covers it), except load-balancer IPs
 *   when `serviceLoadBalancerAggregation` is Disabled or the IP sits in a single-IP (/32, /128) entry of
 *   `serviceLoadBalancerIPs`: then a /32 from every node (rule `per-service`). Such single-IP entries,
 *   and every `serviceLoadBalancerIPs` range when aggregation is Disabled, are not advertised as ranges;
 * - the same prefix wanted by two services is one intent with both reasons (reference counting).
 *
 * OUR implementation differs where the issue asks:
 * - an endpoint counts while it is ready (nil ready is ready) *or* terminating and still serving (nil
 *   serving is ready), as MetalLB and kube-proxy do (KEP-1669); Calico withdraws at termination start.
 *   While every endpoint behind a /32 is terminating-but-serving, the /32 stays with
 *   `gracefulShutdown` and GRACEFUL_SHUTDOWN (65535:0, RFC 8326) so routers move new flows first;
 *   ready=false, serving=true without terminating is a contradiction in the API (ready is serving and
 *   not terminating) and is trusted on ready;
 * - `per-service` /32s are withdrawn when the service has no serving endpoint of that family anywhere
 *   (Calico keeps single-IP entries unconditionally), and drain (GRACEFUL_SHUTDOWN) when all of them
 *   are terminating, so anycast traffic moves to another site before the service goes;
 * - `per-service` applies to load-balancer ingress IPs only, not to the service's other addresses
 *   (Calico then also announces its clusterIP and externalIPs); ingress IPs count only on a service of
 *   type LoadBalancer (a stale status on a converted service is not forwarded by kube-proxy);
 * - node exclusion: the label node.kubernetes.io/exclude-from-external-load-balancers excludes by its
 *   presence with any value but exactly "false" (kubeadm sets it empty on control planes); Calico
 *   honours only "true". An excluded node advertises nothing service-related, ranges included, but
 *   still advertises its pod CIDRs (`advertisePodCidrs`): they are not service routes, and the label is
 *   about load balancers. A missing Node object excludes nothing, as in Calico;
 * - externalTrafficPolicy Local is honoured on any service type the API server lets carry it
 *   (LoadBalancer, NodePort, ClusterIP with externalIPs), since kube-proxy drops external traffic on a
 *   node without a local endpoint for all of them;
 * - per-service annotations: `kbgp.io/advertise: "false"` or Calico's
 *   `projectcalico.org/exportBgpServiceRoutes: "false"` opt the service's own /32s out (a range that
 *   covers its addresses is still advertised); `kbgp.io/communities` and `kbgp.io/large-communities`
 *   (comma-separated) add communities to its /32s, never to the ranges. A value that does not parse is
 *   skipped and reported by `annotationProblems`, never thrown.
 *
 * NotAdvertised lists an address per service where that service would want a /32 and does not get
 * one, or where the address is outside every configured range; an address the advertised range
 * already covers is not listed. On an excluded node each range is listed with source `node`.
 * EndpointSlices belong to a service by the `kubernetes.io/service-name` label and namespace (an
 * absent namespace is `default`, as kubectl applies it); FQDN slices and slices without a known
 * addressType are ignored; an endpoint without an address serves nothing.
 */
// Only the text and prefix helpers of src/bgp (no codec): the layer rule is about wire formats, and
// these are the one parser of addresses, prefixes and community names that configuration uses too.
import { Afi } from '../bgp/constants.js';
import { CommunitySyntaxError, type LargeCommunity, WellKnownCommunity, parseCommunity, parseLargeCommunity } from '../bgp/communities.js';
import { type Prefix, PrefixSyntaxError, comparePrefixes, formatIpv4, formatIpv6, formatPrefix, ipv4Prefix, ipv6Prefix, parseIpv4, parseIpv6, parsePrefix, prefixCovers } from '../bgp/prefix.js';
import type { ServiceCidrs } from '../config/config.js';
import { type AddressKind, type Decision, type Intent, type IntentReason, type NotAdvertised, prefixKey } from './intent.js';
import { EXCLUDE_LABEL, type EndpointSlice, type Node, SERVICE_NAME_LABEL, type Service } from './objects.js';

/** `"false"` opts the service's own /32s out. */
export const ADVERTISE_ANNOTATION = 'kbgp.io/advertise';
/** Calico-style opt-out, honoured the same way. */
export const CALICO_EXPORT_ANNOTATION = 'projectcalico.org/exportBgpServiceRoutes';
/** Comma-separated `aa:nn` or well-known names (`no-export`), added to the service's /32s. */
export const COMMUNITIES_ANNOTATION = 'kbgp.io/communities';
/** Comma-separated `a:b:c`, added to the service's /32s. */
export const LARGE_COMMUNITIES_ANNOTATION = 'kbgp.io/large-communities';

export interface DecisionInput {
  /** This node's name as EndpointSlices spell it (`endpoints[].nodeName`). */
  readonly nodeName: string;
  /** This node's Node object (labels; spec.podCIDRs); undefined while unknown. */
  readonly node: Node | undefined;
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly serviceCidrs: ServiceCidrs;
  /** BGPConfiguration serviceLoadBalancerAggregation: Enabled (the default) is true. This is the one read; `serviceCidrs.aggregation` is not. */
  readonly aggregation: boolean;
  /** Advertise the node's spec.podCIDRs (off by default). */
  readonly advertisePodCidrs: boolean;
}

type ServiceAddressKind = Exclude<AddressKind, 'podCIDR'>;

/** What serves behind a prefix: nothing, at least one ready endpoint, or only terminating-but-serving ones. */
type Serving = 'none' | 'ready' | 'draining';

interface FamilyServing {
  readonly here: Serving;
  readonly anywhere: Serving;
}

/** One rule's wish for one prefix. */
export interface Claim {
  readonly reason: IntentReason;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  /** The reason wants GRACEFUL_SHUTDOWN: every endpoint behind it is terminating but serving. */
  readonly draining: boolean;
}

/** What one service (or the node's own ranges) asks for, and what it is refused. */
export interface Outcome {
  readonly claims: readonly { readonly key: string; readonly prefix: Prefix; readonly claim: Claim }[];
  readonly refusals: readonly NotAdvertised[];
  /** Annotation values skipped, as `namespace/name: problem`. */
  readonly problems: readonly string[];
}

/** Everything in a decision that is not a service or an endpoint slice, read once. */
export interface NodeContext {
  readonly nodeName: string;
  /** Why this node is excluded, or undefined. */
  readonly excluded: string | undefined;
  readonly serviceCidrs: ServiceCidrs;
  readonly aggregation: boolean;
  readonly podCidrs: readonly Prefix[];
  /** Equal for two contexts that decide every service the same way. */
  readonly signature: string;
}

const SERVICE_TYPES: ReadonlySet<string> = new Set(['ClusterIP', 'NodePort', 'LoadBalancer']);
const RULE_ORDER: Readonly<Record<IntentReason['rule'], number>> = { 'service-cidr': 0, 'pod-cidr': 1, 'local-endpoint': 2, 'per-service': 3 };
/** The BGPConfiguration field that allows each kind of address, in the order the ranges are listed. */
const RANGE_FIELDS: Readonly<Record<ServiceAddressKind, { readonly field: string; readonly of: (c: ServiceCidrs) => readonly Prefix[] }>> = {
  clusterIP: { field: 'serviceClusterIPs', of: (c) => c.clusterIPs },
  externalIP: { field: 'serviceExternalIPs', of: (c) => c.externalIPs },
  loadBalancer: { field: 'serviceLoadBalancerIPs', of: (c) => c.loadBalancerIPs },
};
const ADDRESS_KINDS: readonly ServiceAddressKind[] = ['clusterIP', 'externalIP', 'loadBalancer'];

/**
 * What this node originates and why, and what it does not and why (see the file head). Total:
 * never throws, whatever the objects hold.
 */
export function decide(input: DecisionInput): Decision {
  const context = nodeContext(input);
  const outcomes = [nodeOutcome(context)];
  const slices = slicesByService(input.endpointSlices);
  for (const svc of list<Service>(input.services)) {
    const key = serviceKey(svc.metadata);
    if (key !== undefined) outcomes.push(serviceOutcome(svc, key, slices.get(key) ?? [], context));
  }
  const claims = new Map<string, { prefix: Prefix; claims: Claim[] }>();
  for (const o of outcomes) {
    for (const { key, prefix, claim } of o.claims) {
      const entry = claims.get(key);
      if (entry === undefined) claims.set(key, { prefix, claims: [claim] });
      else entry.claims.push(claim);
    }
  }
  const intents = [...claims.values()].map((c) => intentOf(c.prefix, c.claims)).sort((a, b) => comparePrefixes(a.prefix, b.prefix));
  return { intents, notAdvertised: sortedRefusals(outcomes.flatMap((o) => o.refusals)) };
}

/** The node-wide part of the input: this node's exclusion and pod CIDRs, and the configuration. */
export function nodeContext(input: Omit<DecisionInput, 'services' | 'endpointSlices'>): NodeContext {
  const excluded = exclusion(input.node);
  const podCidrList = input.advertisePodCidrs ? podCidrs(input.node) : [];
  const ranges = ADDRESS_KINDS.map((k) => prefixes(RANGE_FIELDS[k].of(input.serviceCidrs)).map(formatPrefix));
  return {
    nodeName: input.nodeName,
    excluded,
    serviceCidrs: input.serviceCidrs,
    aggregation: input.aggregation,
    podCidrs: podCidrList,
    signature: JSON.stringify([input.nodeName, excluded ?? null, input.aggregation, ranges, podCidrList.map(formatPrefix)]),
  };
}

/** The configured ranges (and pod CIDRs) this node advertises, or why not. */
export function nodeOutcome(context: NodeContext): Outcome {
  const claims: { key: string; prefix: Prefix; claim: Claim }[] = [];
  const refusals: NotAdvertised[] = [];
  const claim = (prefix: Prefix, c: Claim): void => {
    claims.push({ key: prefixKey(prefix), prefix, claim: c });
  };
  for (const kind of ADDRESS_KINDS) {
    const { field, of } = RANGE_FIELDS[kind];
    for (const range of prefixes(of(context.serviceCidrs))) {
      const cidr = formatPrefix(range);
      // Load-balancer IPs: single-IP entries are per-service, and with aggregation off so is the rest.
      if (kind === 'loadBalancer' && (!context.aggregation || isSingleIp(range))) {
        refusals.push({ address: cidr, source: 'node', reason: 'not-aggregated', detail: isSingleIp(range) ? `${field} entry of one address: a /32 per service instead` : 'serviceLoadBalancerAggregation Disabled: a /32 per service instead' });
        continue;
      }
      if (context.excluded !== undefined) refusals.push({ address: cidr, source: 'node', reason: 'node-excluded', detail: context.excluded });
      else claim(range, { reason: { rule: 'service-cidr', kind, source: `${field} ${cidr}` }, communities: [], largeCommunities: [], draining: false });
    }
  }
  for (const range of context.podCidrs) {
    claim(range, { reason: { rule: 'pod-cidr', kind: 'podCIDR', source: `podCIDRs ${formatPrefix(range)}` }, communities: [], largeCommunities: [], draining: false });
  }
  return { claims, refusals, problems: [] };
}

/**
 * What one service (`key`, its `namespace/name`) asks this node to advertise, given its endpoint
 * slices, and what it is refused.
 */
export function serviceOutcome(svc: Service, key: string, slices: readonly EndpointSlice[], context: NodeContext): Outcome {
  const annotations = readAnnotations(svc.metadata?.annotations);
  const claims: { key: string; prefix: Prefix; claim: Claim }[] = [];
  const refusals: NotAdvertised[] = [];
  const outcome = (): Outcome => compact(claims, refusals, annotations.problems.map((p) => `${key}: ${p}`));
  const type = text(svc.spec?.type) ?? 'ClusterIP';
  // ExternalName has no address of its own; unknown types are not forwarded by kube-proxy.
  if (!SERVICE_TYPES.has(type)) return outcome();
  const { clusterIPs, externalIPs, ingressIPs } = addressTexts(svc, type);

  if (clusterIPs.includes('None')) {
    refusals.push({ address: 'None', source: key, reason: 'headless', detail: 'clusterIP None: no virtual IP to advertise' });
    for (const a of [...externalIPs, ...ingressIPs]) {
      const host = hostPrefix(a);
      if (host !== undefined) refusals.push({ address: hostText(host), source: key, reason: 'headless', detail: 'clusterIP None: kube-proxy does not forward it' });
    }
    return outcome();
  }

  const addresses: { kind: ServiceAddressKind; text: string }[] = [
    ...clusterIPs.map((t) => ({ kind: 'clusterIP' as const, text: t })),
    ...externalIPs.map((t) => ({ kind: 'externalIP' as const, text: t })),
    ...ingressIPs.map((t) => ({ kind: 'loadBalancer' as const, text: t })),
  ];
  const local = svc.spec?.externalTrafficPolicy === 'Local';
  const serving = servingOf(slices, context.nodeName);

  for (const { kind, text: raw } of addresses) {
    const host = hostPrefix(raw);
    if (host === undefined) continue;
    const address = hostText(host);
    const field = RANGE_FIELDS[kind];
    const ranges = prefixes(field.of(context.serviceCidrs));
    const inside = ranges.filter((r) => prefixCovers(r, host));
    if (inside.length === 0) {
      const detail = ranges.length === 0 ? `${kind}: ${field.field} is empty` : `${kind}: not inside ${field.field} ${ranges.map(formatPrefix).join(', ')}`;
      refusals.push({ address, source: key, reason: 'outside-configured-cidrs', detail });
      continue;
    }
    let rule: 'local-endpoint' | 'per-service';
    if (local) rule = 'local-endpoint';
    else if (kind === 'loadBalancer' && (!context.aggregation || inside.some(isSingleIp))) rule = 'per-service';
    else continue; // the advertised range covers it
    if (annotations.optOut !== undefined) {
      refusals.push({ address, source: key, reason: 'opted-out', detail: annotations.optOut });
      continue;
    }
    if (context.excluded !== undefined) {
      refusals.push({ address, source: key, reason: 'node-excluded', detail: context.excluded });
      continue;
    }
    const family = host.afi === Afi.Ipv4 ? serving.v4 : serving.v6;
    const familyName = host.afi === Afi.Ipv4 ? 'IPv4' : 'IPv6';
    const state = rule === 'local-endpoint' ? family.here : family.anywhere;
    if (state === 'none') {
      refusals.push(
        rule === 'local-endpoint'
          ? { address, source: key, reason: 'no-local-serving-endpoint', detail: `${kind}: no ready or terminating-serving ${familyName} endpoint on ${context.nodeName}` }
          : { address, source: key, reason: 'no-serving-endpoint', detail: `${kind}: no ready or terminating-serving ${familyName} endpoint on any node` },
      );
      continue;
    }
    claims.push({ key: prefixKey(host), prefix: host, claim: { reason: { rule, kind, service: key, source: `${key} ${kind}` }, communities: annotations.communities, largeCommunities: annotations.largeCommunities, draining: state === 'draining' } });
  }
  return outcome();
}

const NONE: readonly never[] = Object.freeze([]);

/** Empty lists shared: the incremental decider keeps an outcome per service, ten thousand of them. */
function compact(claims: Outcome['claims'], refusals: Outcome['refusals'], problems: Outcome['problems']): Outcome {
  return { claims: exact(claims), refusals: exact(refusals), problems: exact(problems) };
}

/** A list built by push has room for more; kept for long, a copy of its exact length (or the shared empty one) is smaller. */
function exact<T>(xs: readonly T[]): readonly T[] {
  return xs.length === 0 ? NONE : xs.slice();
}

/** A service's addresses as its spec and status give them, unchecked; ingress IPs only on a LoadBalancer. */
function addressTexts(svc: Service, type: string): { clusterIPs: string[]; externalIPs: string[]; ingressIPs: string[] } {
  const declared = strings(svc.spec?.clusterIPs);
  return {
    clusterIPs: declared.length > 0 ? declared : strings([svc.spec?.clusterIP]),
    externalIPs: strings(svc.spec?.externalIPs),
    ingressIPs: type === 'LoadBalancer' ? strings(list<{ ip?: string }>(svc.status?.loadBalancer?.ingress).map((i) => i?.ip)) : [],
  };
}

/**
 * The addresses the decision reads of a service, as it names them (RFC 5952 text, each once): its
 * cluster IPs, external IPs and, on a LoadBalancer, its ingress IPs. For `kbgp explain`.
 */
export function serviceAddresses(svc: Service): string[] {
  const { clusterIPs, externalIPs, ingressIPs } = addressTexts(svc, text(svc.spec?.type) ?? 'ClusterIP');
  const out = new Set<string>();
  for (const a of [...clusterIPs, ...externalIPs, ...ingressIPs]) {
    const host = hostPrefix(a);
    if (host !== undefined) out.add(hostText(host));
  }
  return [...out];
}

/** Why this node is excluded, or undefined. */
function exclusion(node: Node | undefined): string | undefined {
  const labels: unknown = node?.metadata?.labels;
  if (typeof labels !== 'object' || labels === null || !Object.prototype.hasOwnProperty.call(labels, EXCLUDE_LABEL)) return undefined;
  const value: unknown = (labels as Record<string, unknown>)[EXCLUDE_LABEL];
  if (value === 'false') return undefined;
  return typeof value === 'string' ? `label ${EXCLUDE_LABEL}=${JSON.stringify(value)}` : `label ${EXCLUDE_LABEL} present`;
}

function podCidrs(node: Node | undefined): Prefix[] {
  const declared = strings(node?.spec?.podCIDRs);
  const texts = declared.length > 0 ? declared : strings([node?.spec?.podCIDR]);
  const out: Prefix[] = [];
  for (const t of texts) {
    const p = safePrefix(t);
    if (p !== undefined) out.push(p);
  }
  return out;
}

/** EndpointSlices by the `namespace/name` of the service their label names. */
function slicesByService(slices: readonly EndpointSlice[]): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const slice of list<EndpointSlice>(slices)) {
    const key = sliceServiceKey(slice);
    if (key === undefined) continue;
    const bucket = out.get(key);
    if (bucket === undefined) out.set(key, [slice]);
    else bucket.push(slice);
  }
  return out;
}

/** The `namespace/name` of the service an EndpointSlice belongs to (its `kubernetes.io/service-name` label), or undefined. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const labels: unknown = slice?.metadata?.labels;
  const name = typeof labels === 'object' && labels !== null && Object.prototype.hasOwnProperty.call(labels, SERVICE_NAME_LABEL) ? (labels as Record<string, unknown>)[SERVICE_NAME_LABEL] : undefined;
  return serviceKey({ name: typeof name === 'string' ? name : undefined, namespace: slice?.metadata?.namespace });
}

/** Per family, what serves the service here and anywhere; FQDN and unknown address types are ignored. */
function servingOf(slices: readonly EndpointSlice[], nodeName: string): { v4: FamilyServing; v6: FamilyServing } {
  const acc = { IPv4: { here: 'none' as Serving, anywhere: 'none' as Serving }, IPv6: { here: 'none' as Serving, anywhere: 'none' as Serving } };
  for (const slice of slices) {
    const type = slice?.addressType;
    if (type !== 'IPv4' && type !== 'IPv6') continue;
    const f = acc[type];
    for (const ep of list<NonNullable<EndpointSlice['endpoints']>[number]>(slice.endpoints)) {
      const state = endpointServing(ep);
      if (state === 'none') continue;
      f.anywhere = merge(f.anywhere, state);
      if (nodeName !== '' && ep.nodeName === nodeName) f.here = merge(f.here, state);
    }
  }
  return { v4: acc.IPv4, v6: acc.IPv6 };
}

/**
 * discovery.k8s.io/v1: nil ready is ready, nil serving is ready, nil terminating is not terminating.
 * Usable while ready, or terminating and still serving; terminating at all makes it draining (a
 * ready terminating endpoint is publishNotReadyAddresses at work, and is on its way out all the same).
 */
function endpointServing(ep: NonNullable<EndpointSlice['endpoints']>[number] | null | undefined): Serving {
  if (typeof ep !== 'object' || ep === null || strings(ep.addresses).length === 0) return 'none';
  const c = ep.conditions;
  const ready = typeof c?.ready === 'boolean' ? c.ready : true;
  const serving = typeof c?.serving === 'boolean' ? c.serving : ready;
  const terminating = c?.terminating === true;
  if (!(ready || (serving && terminating))) return 'none';
  return terminating ? 'draining' : 'ready';
}

function merge(a: Serving, b: Serving): Serving {
  if (a === 'ready' || b === 'ready') return 'ready';
  if (a === 'draining' || b === 'draining') return 'draining';
  return 'none';
}

interface ServiceAnnotations {
  /** The annotation that opts the service out, as words for the CLI. */
  readonly optOut: string | undefined;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly problems: readonly string[];
}

function readAnnotations(annotations: unknown): ServiceAnnotations {
  const get = (name: string): string | undefined => {
    if (typeof annotations !== 'object' || annotations === null || !Object.prototype.hasOwnProperty.call(annotations, name)) return undefined;
    const v: unknown = (annotations as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  let optOut: string | undefined;
  for (const name of [ADVERTISE_ANNOTATION, CALICO_EXPORT_ANNOTATION]) {
    const v = get(name);
    if (v === undefined) continue;
    const word = v.trim().toLowerCase();
    if (word === 'false') optOut ??= `annotation ${name}=${JSON.stringify(v)}`;
    else if (word !== 'true') problems.push(`${name} ${JSON.stringify(v)} is neither "true" nor "false"; ignored`);
  }
  const communities: number[] = [];
  for (const item of items(get(COMMUNITIES_ANNOTATION))) {
    try {
      const c = parseCommunity(item);
      if (!communities.includes(c)) communities.push(c);
    } catch (e) {
      if (!(e instanceof CommunitySyntaxError)) throw e;
      problems.push(`${COMMUNITIES_ANNOTATION}: ${e.message}; skipped`);
    }
  }
  const largeCommunities: LargeCommunity[] = [];
  for (const item of items(get(LARGE_COMMUNITIES_ANNOTATION))) {
    try {
      const c = parseLargeCommunity(item);
      if (!largeCommunities.some((x) => compareLarge(x, c) === 0)) largeCommunities.push(c);
    } catch (e) {
      if (!(e instanceof CommunitySyntaxError)) throw e;
      problems.push(`${LARGE_COMMUNITIES_ANNOTATION}: ${e.message}; skipped`);
    }
  }
  return { optOut, communities: communities.length === 0 ? NONE : communities, largeCommunities: largeCommunities.length === 0 ? NONE : largeCommunities, problems };
}

/**
 * The annotation values `decide` skipped, one line each as `namespace/name: problem`, for the caller
 * to log; sorted, so the same services give the same lines.
 */
export function annotationProblems(services: readonly Service[]): string[] {
  const out: string[] = [];
  for (const svc of list<Service>(services)) {
    const key = serviceKey(svc?.metadata);
    if (key === undefined) continue;
    for (const p of readAnnotations(svc.metadata?.annotations).problems) out.push(`${key}: ${p}`);
  }
  return [...new Set(out)].sort(compareText);
}

function items(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The intent for one prefix from every claim on it (in any order). */
export function intentOf(prefix: Prefix, cs: readonly Claim[]): Intent {
  const reasons: IntentReason[] = [];
  for (const c of cs) if (!reasons.some((r) => r.rule === c.reason.rule && r.source === c.reason.source)) reasons.push(c.reason);
  reasons.sort((a, b) => RULE_ORDER[a.rule] - RULE_ORDER[b.rule] || compareText(a.source, b.source));
  // RFC 8326: only when no reason has anything better to offer than terminating endpoints.
  const gracefulShutdown = cs.every((c) => c.draining);
  const communities = new Set(cs.flatMap((c) => c.communities));
  if (gracefulShutdown) communities.add(WellKnownCommunity.GRACEFUL_SHUTDOWN);
  const large: LargeCommunity[] = [];
  for (const c of cs.flatMap((x) => x.largeCommunities)) if (!large.some((x) => compareLarge(x, c) === 0)) large.push(c);
  return {
    prefix,
    reasons: exact(reasons),
    communities: communities.size === 0 ? NONE : [...communities].sort((a, b) => a - b),
    largeCommunities: exact(large.sort(compareLarge)),
    gracefulShutdown,
  };
}

/** Deduplicated and in the order the CLI shows them: node-wide first, then by service and address. */
export function sortedRefusals(refusals: readonly NotAdvertised[]): NotAdvertised[] {
  const seen = new Set<string>();
  const out: NotAdvertised[] = [];
  for (const r of refusals) {
    const k = `${r.source}\u0000${r.address}\u0000${r.reason}\u0000${r.detail ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  // Node-wide decisions first, then by service, address (as addresses), reason and detail. Each
  // address is parsed once, not once per comparison (10,000 refusals sort every window).
  const parsed = new Map<string, Prefix | undefined>();
  const parse = (t: string): Prefix | undefined => {
    if (parsed.has(t)) return parsed.get(t);
    const p = t.includes('/') ? safePrefix(t) : hostPrefix(t);
    parsed.set(t, p);
    return p;
  };
  return out.sort(
    (a, b) =>
      Number(a.source !== 'node') - Number(b.source !== 'node') ||
      compareText(a.source, b.source) ||
      compareAddressText(a.address, b.address, parse) ||
      compareText(a.reason, b.reason) ||
      compareText(a.detail ?? '', b.detail ?? ''),
  );
}

/** Addresses and prefixes in prefix order, before anything that is neither ("None"), which goes by text. */
function compareAddressText(a: string, b: string, parse: (t: string) => Prefix | undefined): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa !== undefined && pb !== undefined) return comparePrefixes(pa, pb) || compareText(a, b);
  if (pa !== undefined) return -1;
  if (pb !== undefined) return 1;
  return compareText(a, b);
}

function compareLarge(a: LargeCommunity, b: LargeCommunity): number {
  return a.globalAdmin - b.globalAdmin || a.localData1 - b.localData1 || a.localData2 - b.localData2;
}

/** Code-unit order: the same in every locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isSingleIp(p: Prefix): boolean {
  return p.length === (p.afi === Afi.Ipv4 ? 32 : 128);
}

/** The /32 or /128 of an address, or undefined for anything that is not one. */
function hostPrefix(s: string): Prefix | undefined {
  try {
    return s.includes(':') ? ipv6Prefix(parseIpv6(s), 128) : ipv4Prefix(parseIpv4(s), 32);
  } catch (e) {
    if (e instanceof PrefixSyntaxError) return undefined;
    throw e;
  }
}

function safePrefix(s: string): Prefix | undefined {
  try {
    return parsePrefix(s);
  } catch (e) {
    if (e instanceof PrefixSyntaxError) return undefined;
    throw e;
  }
}

function hostText(p: Prefix): string {
  return p.afi === Afi.Ipv4 ? formatIpv4(p.address) : formatIpv6(p.address);
}

/** `namespace/name`, with kubectl's `default` namespace; undefined without a name. */
export function serviceKey(meta: { readonly name?: unknown; readonly namespace?: unknown } | null | undefined): string | undefined {
  const name = meta?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  return `${ns}/${name}`;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

/** The array's object elements, whatever else it holds; nothing for a non-array. */
function list<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as T[]) : [];
}

/** The valid prefixes of a configured list (the config parser guarantees them; this keeps decide total). */
function prefixes(v: unknown): Prefix[] {
  return Array.isArray(v) ? v.filter((p): p is Prefix => typeof p === 'object' && p !== null && (p.afi === Afi.Ipv4 || p.afi === Afi.Ipv6) && typeof p.length === 'number') : [];
}
