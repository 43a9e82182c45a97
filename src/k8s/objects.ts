/**
 * The parts of the Kubernetes objects kbgp reads, as the API serves them (JSON field names), so the
 * same shapes come from the API server, from the client library and from a directory of manifests.
 * Everything is optional that the API may leave out: decisions must cope with any of it missing.
 */

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string | Date;
}

export interface Service {
  readonly metadata?: ObjectMeta;
  readonly spec?: {
    readonly type?: string; // ClusterIP | NodePort | LoadBalancer | ExternalName
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly externalIPs?: readonly string[];
    readonly externalTrafficPolicy?: string; // Cluster | Local
    readonly selector?: Readonly<Record<string, string>>;
    readonly ipFamilies?: readonly string[];
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] };
  };
}

export interface EndpointConditions {
  /** nil means ready (discovery.k8s.io/v1). */
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
}

export interface Endpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: EndpointConditions;
  readonly nodeName?: string;
}

export interface EndpointSlice {
  readonly metadata?: ObjectMeta;
  /** IPv4 | IPv6 | FQDN */
  readonly addressType?: string;
  readonly endpoints?: readonly Endpoint[] | null;
}

export interface Node {
  readonly metadata?: ObjectMeta;
  readonly spec?: { readonly podCIDR?: string; readonly podCIDRs?: readonly string[] };
}

/** The EndpointSlice label naming its Service (set by the controller, or by hand for selectorless services). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Nodes with this label advertise no service prefixes (its presence, whatever the value but "false"). */
export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
