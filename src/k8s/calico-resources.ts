/**
 * Calico's BGP configuration read live from the cluster, so kbgp can take over from Calico's BIRD
 * in a cluster already configured for it: BGPConfiguration, BGPPeer and BGPFilter as Calico stores
 * them on the Kubernetes datastore (crd.projectcalico.org/v1, the same spec as projectcalico.org/v3),
 * and every Node, whose BGP settings Calico keeps in annotations. Each reaches the configuration as
 * the projectcalico.org/v3 document a file would hold; the configuration resolves them.
 *
 * OUR choice: a Node without Calico's address annotation takes its InternalIP addresses (one per
 * family), so the node-to-node mesh forms in a cluster where kbgp runs without Calico. Calico
 * would leave such a node out of BGP.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../fsm/clock.js';
import type { ObjectMeta } from './objects.js';
import { statusOf, tuning, typedPage, untypedPage, watchesOf } from './client.js';
import { Reflector } from './reflector.js';
import type { SourceStatus } from './source.js';

export const CALICO_CRD_GROUP = 'crd.projectcalico.org';
export const CALICO_CRD_VERSION = 'v1';

/** Calico's annotations on a Kubernetes Node (libcalico-go, k8s backend). */
export const NODE_ANNOTATIONS = {
  ipv4Address: 'projectcalico.org/IPv4Address',
  ipv6Address: 'projectcalico.org/IPv6Address',
  asNumber: 'projectcalico.org/ASNumber',
  routeReflectorClusterID: 'projectcalico.org/RouteReflectorClusterID',
} as const;

/** A document for the configuration: its value and where it came from (for errors). */
export interface ClusterDocument {
  readonly value: unknown;
  readonly origin: string;
  readonly fromCluster: true;
}

interface CalicoObject {
  readonly metadata?: ObjectMeta;
  readonly spec?: unknown;
}

interface NodeObject {
  readonly metadata?: ObjectMeta;
  readonly status?: { readonly addresses?: readonly { readonly type?: string; readonly address?: string }[] };
}

const KINDS = [
  { kind: 'BGPConfiguration', plural: 'bgpconfigurations' },
  { kind: 'BGPPeer', plural: 'bgppeers' },
  { kind: 'BGPFilter', plural: 'bgpfilters' },
] as const;

export interface CalicoResourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Reflector tuning (tests make these short). */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly silenceMs?: number;
  readonly listTimeoutMs?: number;
  readonly absentRecheckMs?: number;
}

export class CalicoResourceSource {
  private readonly crds: { readonly kind: string; readonly reflector: Reflector<CalicoObject> }[];
  private readonly nodes: Reflector<NodeObject>;
  private changed: () => void = () => undefined;

  constructor(o: CalicoResourceOptions) {
    const custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    const watchOn = watchesOf(o.kubeConfig);
    const common = { clock: o.clock, random: o.random, logger: o.logger, ...tuning(o) };
    const changed = (): void => this.changed();
    this.crds = KINDS.map(({ kind, plural }) => ({
      kind,
      reflector: new Reflector<CalicoObject>(
        {
          ...common,
          name: plural,
          list: async (p) =>
            untypedPage<CalicoObject>(
              await custom.listClusterCustomObject({ group: CALICO_CRD_GROUP, version: CALICO_CRD_VERSION, plural, limit: p.limit, ...(p.continue === undefined ? {} : { _continue: p.continue }) }),
            ),
          watch: watchOn(`/apis/${CALICO_CRD_GROUP}/${CALICO_CRD_VERSION}/${plural}`),
          keep: keepCalicoObject,
          same: (a, b) => sameDocument(calicoDocument(kind, a), calicoDocument(kind, b)),
          // A cluster without Calico has no such resources: its Nodes still make the mesh.
          absentIsEmpty: true,
          ...(o.absentRecheckMs === undefined ? {} : { absentRecheckMs: o.absentRecheckMs }),
        },
        changed,
      ),
    }));
    this.nodes = new Reflector<NodeObject>(
      {
        ...common,
        name: 'nodes',
        list: async (p) => typedPage<NodeObject>(await core.listNode({ limit: p.limit, ...(p.continue === undefined ? {} : { _continue: p.continue }) })),
        watch: watchOn('/api/v1/nodes'),
        keep: keepNode,
        // A kubelet's status report every few minutes, per node: nothing the configuration reads.
        same: (a, b) => sameDocument(nodeDocument(a), nodeDocument(b)),
      },
      changed,
    );
  }

  /** `changed` after every change of any of them (and once each is first listed). */
  start(changed: () => void): void {
    this.changed = changed;
    for (const r of this.reflectors()) r.start();
  }

  /** From now on, `changed` is told instead (the daemon takes over from whoever waited for the first lists). */
  listen(changed: () => void): void {
    this.changed = changed;
  }

  stop(): void {
    for (const r of this.reflectors()) r.stop();
  }

  /** Every resource as a projectcalico.org/v3 document, in a stable order (kind, then name). */
  documents(): ClusterDocument[] {
    const out: ClusterDocument[] = [];
    for (const { kind, reflector } of this.crds) {
      for (const key of [...reflector.store.keys()].sort()) {
        const o = reflector.store.get(key) as CalicoObject;
        out.push({ value: calicoDocument(kind, o), origin: `${kind} ${o.metadata?.name ?? '(no name)'} (${CALICO_CRD_GROUP}/${CALICO_CRD_VERSION})`, fromCluster: true });
      }
    }
    for (const key of [...this.nodes.store.keys()].sort()) {
      const n = this.nodes.store.get(key) as NodeObject;
      out.push({ value: nodeDocument(n), origin: `Node ${n.metadata?.name ?? '(no name)'} (v1)`, fromCluster: true });
    }
    return out;
  }

  status(): SourceStatus {
    return statusOf('kubernetes (Calico resources)', this.reflectors());
  }

  private reflectors(): readonly Reflector<CalicoObject | NodeObject>[] {
    return [...this.crds.map((c) => c.reflector), this.nodes] as readonly Reflector<CalicoObject | NodeObject>[];
  }
}

/** A Calico CRD object as the projectcalico.org/v3 document it stands for. */
export function calicoDocument(kind: string, o: CalicoObject): unknown {
  const labels = o.metadata?.labels;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: { name: o.metadata?.name, ...(labels === undefined ? {} : { labels }) },
    ...(o.spec === undefined ? {} : { spec: o.spec }),
  };
}

/**
 * A Kubernetes Node as a Calico Node document: its labels (for nodeSelector and peerSelector), and
 * spec.bgp from Calico's annotations, or its InternalIP addresses when it has none (see the file head).
 */
export function nodeDocument(n: NodeObject): unknown {
  const a = n.metadata?.annotations ?? {};
  const internal = (family: 4 | 6): string | undefined =>
    n.status?.addresses?.find((x) => x.type === 'InternalIP' && typeof x.address === 'string' && x.address.includes(':') === (family === 6))?.address;
  const calico = a[NODE_ANNOTATIONS.ipv4Address] !== undefined || a[NODE_ANNOTATIONS.ipv6Address] !== undefined;
  const ipv4Address = calico ? a[NODE_ANNOTATIONS.ipv4Address] : internal(4);
  const ipv6Address = calico ? a[NODE_ANNOTATIONS.ipv6Address] : internal(6);
  const as = a[NODE_ANNOTATIONS.asNumber];
  const clusterId = a[NODE_ANNOTATIONS.routeReflectorClusterID];
  const bgp = {
    ...(ipv4Address === undefined ? {} : { ipv4Address }),
    ...(ipv6Address === undefined ? {} : { ipv6Address }),
    // The annotation is text; the configuration reads a number, or asdot text.
    ...(as === undefined ? {} : { asNumber: /^\d+$/.test(as) ? Number(as) : as }),
    ...(clusterId === undefined ? {} : { routeReflectorClusterID: clusterId }),
  };
  const labels = n.metadata?.labels;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: n.metadata?.name, ...(labels === undefined ? {} : { labels }) },
    ...(Object.keys(bgp).length === 0 ? {} : { spec: { bgp } }),
  };
}

/** Of a CRD object, what the document needs: name, labels, spec (and the watch's resourceVersion). */
function keepCalicoObject(o: CalicoObject): CalicoObject {
  const m = o.metadata;
  return { metadata: { ...pick(m, ['name', 'labels', 'resourceVersion']) }, ...(o.spec === undefined ? {} : { spec: o.spec }) };
}

/** Of a Node: name, labels, Calico's annotations and its addresses (not its status' images and conditions). */
function keepNode(n: NodeObject): NodeObject {
  const m = n.metadata;
  const annotations: Record<string, string> = {};
  for (const name of Object.values(NODE_ANNOTATIONS)) {
    const v = m?.annotations?.[name];
    if (typeof v === 'string') annotations[name] = v;
  }
  const addresses = n.status?.addresses;
  return {
    metadata: { ...pick(m, ['name', 'labels', 'resourceVersion']), annotations },
    ...(Array.isArray(addresses) ? { status: { addresses: addresses.map((x) => ({ type: x.type, address: x.address })) } } : {}),
  };
}

function pick<T extends object, K extends keyof T>(o: T | undefined, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  if (o === undefined) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function sameDocument(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
