/**
 * The cluster from the Kubernetes API: Services and EndpointSlices of every namespace and this
 * node's Node, each followed by a Reflector through @kubernetes/client-node (kubeconfig, auth,
 * typed lists, watches), keeping of each object only what the decision reads (projection.ts).
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../fsm/clock.js';
import type { EndpointSlice, Node, Service } from './objects.js';
import { projectEndpointSlice, projectNode, projectService } from './projection.js';
import { statusOf, tuning, typedPage, watchesOf } from './client.js';
import { Reflector } from './reflector.js';
import type { ClusterSource, ClusterState, SourceStatus } from './source.js';

/**
 * `--kubeconfig` if given; otherwise client-node's default search: $KUBECONFIG, ~/.kube/config,
 * then the in-cluster service account (a DaemonSet's usual case).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path === undefined) kc.loadFromDefault();
  else kc.loadFromFile(path);
  if (kc.getCurrentCluster() === null) throw new Error(path === undefined ? 'no Kubernetes cluster found: set KUBECONFIG, pass --kubeconfig, or run in a pod' : `${path}: no current cluster in this kubeconfig`);
  return kc;
}

export interface ApiSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Reflector tuning (tests make these short). */
  readonly watchTimeoutSeconds?: number;
  readonly silenceMs?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly listTimeoutMs?: number;
  readonly pageSize?: number;
}

export class KubernetesApiSource implements ClusterSource {
  private readonly services: Reflector<Service>;
  private readonly slices: Reflector<EndpointSlice>;
  private readonly node: Reflector<Node>;
  private changed: () => void = () => undefined;

  constructor(private readonly o: ApiSourceOptions) {
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = o.kubeConfig.makeApiClient(DiscoveryV1Api);
    const watchOn = watchesOf(o.kubeConfig);
    const common = { clock: o.clock, random: o.random, ...tuning(o) };
    const changed = (): void => this.changed();
    this.services = new Reflector<Service>(
      {
        ...common,
        name: 'services',
        logger: o.logger,
        keep: projectService,
        list: async (p) => typedPage(await core.listServiceForAllNamespaces({ limit: p.limit, ...(p.continue === undefined ? {} : { _continue: p.continue }) })),
        watch: watchOn('/api/v1/services'),
      },
      changed,
    );
    this.slices = new Reflector<EndpointSlice>(
      {
        ...common,
        name: 'endpointslices',
        logger: o.logger,
        keep: projectEndpointSlice,
        list: async (p) => typedPage(await discovery.listEndpointSliceForAllNamespaces({ limit: p.limit, ...(p.continue === undefined ? {} : { _continue: p.continue }) })),
        watch: watchOn('/apis/discovery.k8s.io/v1/endpointslices'),
      },
      changed,
    );
    // Only this node: its labels (exclusion) and pod CIDRs.
    const own = `metadata.name=${o.nodeName}`;
    this.node = new Reflector<Node>(
      {
        ...common,
        name: 'node',
        logger: o.logger,
        keep: projectNode,
        list: async (p) => typedPage(await core.listNode({ fieldSelector: own, limit: p.limit, ...(p.continue === undefined ? {} : { _continue: p.continue }) })),
        watch: watchOn('/api/v1/nodes', { fieldSelector: own }),
      },
      changed,
    );
  }

  start(changed: () => void): void {
    this.changed = changed;
    for (const r of this.reflectors()) r.start();
  }

  stop(): void {
    for (const r of this.reflectors()) r.stop();
  }

  state(): ClusterState {
    return { services: [...this.services.store.values()], endpointSlices: [...this.slices.store.values()], node: this.node.store.get(this.o.nodeName) };
  }

  status(): SourceStatus {
    return statusOf('kubernetes', this.reflectors());
  }

  private reflectors(): readonly Reflector<Service | EndpointSlice | Node>[] {
    return [this.services, this.slices, this.node] as readonly Reflector<Service | EndpointSlice | Node>[];
  }
}
