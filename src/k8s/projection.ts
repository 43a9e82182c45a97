/**
 * What kbgp keeps of each object it follows: the fields the decision reads, and the metadata the
 * watch needs (name, namespace, resourceVersion). An object as served carries much more: every
 * object its managedFields, a `kubectl apply`d Service its last-applied-configuration annotation
 * (a copy of itself), every endpoint a targetRef, zone and hints. A node follows every Service and
 * EndpointSlice of the cluster, so what it keeps of each is multiplied by tens of thousands.
 *
 * The values kept are copied as they came, unchecked: the decision is total over whatever the API
 * or a manifest holds, and a projection must not change what it decides (a property test holds it
 * to that). Only plain objects are projected; anything else is kept as it is.
 */
import { ADVERTISE_ANNOTATION, CALICO_EXPORT_ANNOTATION, COMMUNITIES_ANNOTATION, LARGE_COMMUNITIES_ANNOTATION } from './decide.js';
import type { EndpointSlice, Node, Service } from './objects.js';

type Json = Record<string, unknown>;

/** The annotations the decision reads; the rest (last-applied-configuration above all) is dropped. */
const SERVICE_ANNOTATIONS = [ADVERTISE_ANNOTATION, CALICO_EXPORT_ANNOTATION, COMMUNITIES_ANNOTATION, LARGE_COMMUNITIES_ANNOTATION];

export function projectService(o: unknown): Service {
  if (!isObject(o)) return o as Service;
  const spec = o['spec'];
  const status = o['status'];
  return shape({
    metadata: projectMeta(o['metadata'], SERVICE_ANNOTATIONS, false),
    spec: isObject(spec) ? pick(spec, ['type', 'clusterIP', 'clusterIPs', 'externalIPs', 'externalTrafficPolicy']) : spec,
    status: isObject(status) ? shape({ loadBalancer: projectLoadBalancer(status['loadBalancer']) }) : status,
  }) as Service;
}

export function projectEndpointSlice(o: unknown): EndpointSlice {
  if (!isObject(o)) return o as EndpointSlice;
  const endpoints = o['endpoints'];
  return shape({
    metadata: projectMeta(o['metadata'], [], true),
    addressType: o['addressType'],
    endpoints: Array.isArray(endpoints) ? endpoints.map(projectEndpoint) : endpoints,
  }) as EndpointSlice;
}

/** All its labels are kept: BGPPeer node selectors read them. */
export function projectNode(o: unknown): Node {
  if (!isObject(o)) return o as Node;
  const spec = o['spec'];
  return shape({
    metadata: projectMeta(o['metadata'], [], true),
    spec: isObject(spec) ? pick(spec, ['podCIDR', 'podCIDRs']) : spec,
  }) as Node;
}

function projectMeta(m: unknown, annotations: readonly string[], labels: boolean): unknown {
  if (!isObject(m)) return m;
  const a = m['annotations'];
  return shape({
    ...pick(m, ['name', 'namespace', 'resourceVersion']),
    ...(labels ? { labels: m['labels'] } : {}),
    annotations: isObject(a) ? (annotations.some((n) => Object.prototype.hasOwnProperty.call(a, n)) ? pick(a, annotations) : undefined) : a,
  });
}

function projectLoadBalancer(lb: unknown): unknown {
  if (!isObject(lb)) return lb;
  const ingress = lb['ingress'];
  return shape({ ingress: Array.isArray(ingress) ? ingress.map((i: unknown) => (isObject(i) ? pick(i, ['ip']) : i)) : ingress });
}

function projectEndpoint(e: unknown): unknown {
  if (!isObject(e)) return e;
  const c = e['conditions'];
  return shape({
    addresses: e['addresses'],
    nodeName: e['nodeName'],
    conditions: isObject(c) ? pick(c, ['ready', 'serving', 'terminating']) : c,
  });
}

/** The named fields that are present and not undefined. */
function pick(o: Json, names: readonly string[]): Json {
  const out: Json = {};
  for (const n of names) if (Object.prototype.hasOwnProperty.call(o, n) && o[n] !== undefined) out[n] = o[n];
  return out;
}

/**
 * Without the undefined fields (typed client objects have every field, most of them undefined).
 * Copied rather than deleted from: an object a field was deleted from is slower and larger in V8.
 */
function shape(o: Json): Json {
  const out: Json = {};
  for (const k of Object.keys(o)) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
