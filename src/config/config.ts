/**
 * The daemon's configuration: a multi-document YAML file in Calico's shape (projectcalico.org/v3
 * BGPConfiguration, BGPPeer, BGPFilter, Node) plus one kbgp kind for the daemon itself. `loadConfig` resolves
 * it for one node: its AS, router ID, addresses, peers and what it originates.
 *
 * Which fields each kind has, and why kbgp refuses some, is src/config/schema.ts: the cursor that
 * reads each object (fields.ts) takes its accepted names and refusal reasons from there, and the
 * README's configuration reference is rendered from it. Anything present that kbgp does not
 * honour is an error that says so, never ignored.
 */
import { isIP } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { type LargeCommunity, type Prefix, normalizeAddress, parseCommunity, parseLargeCommunity, parsePrefix } from '../bgp/index.js';
import { NEXT_HOP_MODES, type NextHopMode } from '../rib/export.js';
import type { BgpFilter } from '../rib/filter.js';
import type { OriginatedRoute, PrefixAdvertisement } from '../rib/origination.js';
import { type Community, parseBgpFilter, parseCommunityValue } from './bgp-filter.js';
import { parseSelector } from './selector.js';
import { ConfigError, Fields, type Json, asNumberValue, parseDuration } from './fields.js';
import {
  ADD_PATH_SETTINGS,
  BIND_MODES,
  CALICO_RESOURCES,
  CLUSTER_SOURCES,
  DOCUMENT,
  KINDS,
  LOAD_BALANCER_AGGREGATIONS,
  LOG_SEVERITIES,
  PER_NODE_BGP_CONFIGURATION,
  REVERSE_PEERINGS,
  SOURCE_ADDRESSES,
  kindSpec,
} from './schema.js';


export interface PeerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly asNumber: number;
  readonly keepaliveTime?: number;
  /** Source address for outgoing connections: the node's address (Calico UseNodeIP) or none. */
  readonly sourceAddress?: string;
  readonly passive: boolean;
  readonly holdTime?: number;
  /** BGPPeer localASNumber: the AS kbgp speaks as towards this peer (default: the node's). */
  readonly localAsNumber?: number;
  /** BGPPeer nextHopMode (keepOriginalNextHop: true is Keep, for eBGP peers only, as in Calico). */
  readonly nextHopMode: NextHopMode;
  /** BGPPeer numAllowedLocalASNumbers: how often our AS may appear in a path from this peer. */
  readonly allowedLocalAs: number;
  /** BGPPeer maxRestartTime: the graceful restart (RFC 4724) time announced to this peer, seconds. */
  readonly maxRestartTime: number;
  /**
   * RFC 4456 client of this node: this node has a cluster ID and the peer is iBGP without the same
   * cluster ID (Calico's rule; a peer's cluster ID is known when it is one of the Node documents).
   */
  readonly routeReflectorClient: boolean;
  /** The BGPPeer names this node (`node`), rather than every node. */
  readonly nodeSpecific: boolean;
  /** A node-to-node mesh peering (no BGPPeer: another Node, with nodeToNodeMeshEnabled). */
  readonly mesh: boolean;
  /** BGPPeer filters: the BGPFilters run, in order, on routes from and to this peer. */
  readonly filters: readonly BgpFilter[];
  /** ADD-PATH (RFC 7911) directions offered to this peer; Calico's BIRD template has `add paths on`. */
  readonly addPath: AddPathSetting;
  /** Most prefixes accepted per family from this peer (RFC 4486), and what happens beyond. */
  readonly maxPrefixes?: MaxPrefixes;
}

export interface MaxPrefixes {
  readonly limit: number;
  /** Seconds before the session starts again after tripping; 0: stays down until restarted. */
  readonly restartAfter: number;
  /** Only log a warning: the session stays up. */
  readonly warningOnly: boolean;
}

/**
 * The service ranges of BGPConfiguration: advertised from every node, allow-lists for external and
 * load balancer IPs, and never accepted from peers (another node's /32 must not take local traffic).
 */
export interface ServiceCidrs {
  readonly clusterIPs: readonly Prefix[];
  readonly externalIPs: readonly Prefix[];
  readonly loadBalancerIPs: readonly Prefix[];
  /** serviceLoadBalancerAggregation Enabled (the default): the LB range, not a /32 per service. */
  readonly aggregation: boolean;
}

/** KbgpConfiguration services: how the Kubernetes side turns changes into routes. */
export interface ServiceSettings {
  /** A burst of changes within this window reaches the RIB as one difference (seconds). */
  readonly coalesceWindow: number;
  /** A service /32 changes at most once per this interval (seconds; 0: no hold-down). */
  readonly minFlapInterval: number;
  /** Also advertise this node's spec.podCIDRs. */
  readonly advertisePodCIDRs: boolean;
}

/** KbgpConfiguration gracefulRestart: the two waits RFC 4724 leaves to configuration. */
export interface GracefulRestartTimes {
  /**
   * Helper: after a restarted peer is back, how long its stale routes wait for its End-of-RIB
   * (FRR's stalepath-time, 360 s).
   */
  readonly stalePathTime: number;
  /**
   * Restarting: how long kbgp waits for its peers' End-of-RIB before sending its own (RFC 4724
   * §4.1 selection deferral; BIRD's `graceful restart wait`, 240 s).
   */
  readonly selectionDeferralTime: number;
}

/** KbgpConfiguration spec.cluster: where the cluster's state and Calico's resources come from. */
export interface ClusterSettings {
  /** Services, EndpointSlices and this Node: none, the Kubernetes API, or a directory of manifests (`kbgp run` flags override). */
  readonly source: (typeof CLUSTER_SOURCES)[number];
  /** With Kubernetes: a kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster). */
  readonly kubeconfig?: string;
  /** With Manifests: the directory. */
  readonly manifests?: string;
  /**
   * BGPConfiguration, BGPPeer, BGPFilter and the Nodes: from this file, or live from the cluster
   * (crd.projectcalico.org/v1 and the Nodes' Calico annotations), as Calico itself reads them.
   */
  readonly calicoResources: (typeof CALICO_RESOURCES)[number];
}

export type { PrefixAdvertisement };
export type AddPathSetting = (typeof ADD_PATH_SETTINGS)[number];

export interface NodeConfig {
  readonly nodeName: string;
  readonly asNumber: number;
  readonly routerId: string;
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  /** Where BGP listens: one address, or with bindMode NodeIP the node's address in each family. */
  readonly listenAddresses: readonly string[];
  readonly listenPort: number;
  readonly peers: readonly PeerConfig[];
  readonly originate: readonly OriginatedRoute[];
  readonly logLevel: string;
  /** Node routeReflectorClusterID: this node is a route reflector for its iBGP clients. */
  readonly clusterId?: string;
  /** BGPConfiguration prefixAdvertisements: communities for originated prefixes inside a cidr. */
  readonly prefixAdvertisements: readonly PrefixAdvertisement[];
  /** Most paths in a prefix's multipath set (what ADD-PATH sends); 1 turns multipath off. */
  readonly maxPaths: number;
  /** Compare MED between routes from different neighbouring ASes too. */
  readonly alwaysCompareMed: boolean;
  /** BGPConfiguration serviceClusterIPs, serviceExternalIPs, serviceLoadBalancerIPs, serviceLoadBalancerAggregation. */
  readonly serviceCidrs: ServiceCidrs;
  readonly services: ServiceSettings;
  /** KbgpConfiguration controlSocket: the CLI's Unix socket (default: /run/kbgp/<node>.sock, or the temp directory when not root). */
  readonly controlSocket?: string;
  /** KbgpConfiguration metricsAddress: where /metrics, /healthz and /readyz are served (off unless set). */
  readonly metricsAddress?: { readonly host: string; readonly port: number };
  /** BGPConfiguration nodeMeshMaxRestartTime: the restart time announced on node-to-node mesh sessions, seconds. */
  readonly meshRestartTime: number;
  readonly gracefulRestart: GracefulRestartTimes;
  readonly cluster: ClusterSettings;
  /** Seconds; unset ones take Calico's defaults (connect delay 2, retry 5, error wait 5..30). */
  readonly timers: Partial<Record<'connectDelay' | 'connectRetryTime' | 'errorWaitMin' | 'errorWaitMax' | 'holdTime', number>>;
}

/** Calico's BIRD announces graceful restart to every peer with BIRD's default restart time. */
const DEFAULT_RESTART_TIME = 120;
/** RFC 4724 §3: the restart time has 12 bits. */
const RESTART_TIME_MAX = 4095;

/** An ASNumber field (see `asNumberValue`). */
function asNumber(f: Fields, field: string): number | undefined {
  const v = f.raw(field);
  if (v === undefined || v === null) return undefined;
  const asn = asNumberValue(v);
  if (asn === undefined) throw f.error(field, `${JSON.stringify(v)} is not a valid AS number`);
  return asn;
}

/** `10.0.0.1`, `10.0.0.1:1790`, `[2001:db8::1]:1790` or `2001:db8::1`. */
function peerIp(f: Fields, field: string, defaultPort: number): { address: string; port: number } {
  const v = f.string(field);
  if (v === undefined || v === '') throw f.error(field, 'is required without peerSelector');
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  const v4port = /^([\d.]+):(\d+)$/.exec(v);
  const [address, port] = bracket ? [bracket[1] as string, bracket[2]] : v4port ? [v4port[1] as string, v4port[2]] : [v, undefined];
  if (isIP(address) === 0) throw f.error(field, `${JSON.stringify(v)} is not an IP address with an optional port`);
  const p = port === undefined ? defaultPort : Number(port);
  if (!(p >= 1 && p <= 65535)) throw f.error(field, `port ${port} is not 1..65535`);
  // Canonical text (RFC 5952), as sockets report addresses: a peer is matched by it.
  return { address: normalizeAddress(address), port: p };
}

function cidrAddress(f: Fields, field: string, family: 4 | 6): string | undefined {
  const v = f.string(field);
  if (v === undefined) return undefined;
  const address = v.split('/')[0] ?? '';
  if (isIP(address) !== family) throw f.error(field, `${JSON.stringify(v)} is not an IPv${family} address (with optional /length)`);
  return normalizeAddress(address);
}

interface Doc {
  readonly kind: string;
  readonly name: string;
  readonly label: string;
  readonly spec: Fields;
  readonly labels: Readonly<Record<string, string>>;
  readonly fromCluster: boolean;
}

/** A configuration file's documents, as values (YAML errors name the document). */
export function parseDocuments(text: string): unknown[] {
  const out: unknown[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    // The yaml library's message ends with a code frame over several lines: one line, with the line
    // and column in the file, suits a log line and `kbgp validate` alike.
    if (d.errors.length > 0) throw new ConfigError(`document ${i + 1}`, 'yaml', (d.errors[0]?.message ?? 'invalid YAML').split('\n')[0]?.replace(/:$/, '') ?? 'invalid YAML');
    out.push(d.toJS());
  });
  return out;
}

/** `node.<node name>`: a BGPConfiguration of one node's overrides. */
function isPerNodeName(name: string): boolean {
  return name.startsWith('node.') && name.length > 'node.'.length;
}

/**
 * A configuration document as values, and where it came from: `document 3` of the file, or the
 * cluster object it was read from. The cluster's Calico resources (crd.projectcalico.org/v1) and
 * Nodes come in already shaped as projectcalico.org/v3 documents.
 */
export interface SourcedDocument {
  readonly value: unknown;
  /** For errors before the document's kind and name are known, e.g. `document 3`. */
  readonly origin: string;
  /** Read from the cluster, not from the file. */
  readonly fromCluster?: boolean;
}

/** `BGPPeer tor` for a document that has a kind and a name, before either is checked. */
function peekLabel(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const kind: unknown = Reflect.get(value, 'kind');
  const metadata: unknown = Reflect.get(value, 'metadata');
  const name: unknown = typeof metadata === 'object' && metadata !== null ? Reflect.get(metadata, 'name') : undefined;
  return typeof kind === 'string' && kind !== '' && typeof name === 'string' && name !== '' ? `${kind} ${name}` : undefined;
}

function documents(sourced: readonly SourcedDocument[]): Doc[] {
  const out: Doc[] = [];
  for (const { value, origin, fromCluster } of sourced) {
    if (value === null || value === undefined) continue;
    // Errors name the document by kind and name as soon as it has both, its place in the file before.
    const top = Fields.of(peekLabel(value) ?? origin, '', value as Json, DOCUMENT);
    const kind = top.requiredString('kind');
    const apiVersion = top.requiredString('apiVersion');
    const metadata = top.object('metadata');
    const name = metadata.requiredString('name');
    const label = `${kind} ${name}`;
    const schema = kindSpec(kind);
    if (schema === undefined) throw new ConfigError(label, 'kind', `${kind} is not a kind kbgp reads (${KINDS.map((k) => k.kind).join(', ')})`);
    if (apiVersion !== schema.apiVersion) throw new ConfigError(label, 'apiVersion', `must be ${schema.apiVersion} for ${kind}`);
    // One document per kind and name, as in Calico; a second would be silently ignored.
    const twin = out.find((d) => d.kind === kind && d.name === name);
    if (twin !== undefined) {
      throw new ConfigError(label, 'metadata.name', twin.fromCluster === (fromCluster === true) ? `a second ${kind} named ${JSON.stringify(name)}` : `${kind} ${JSON.stringify(name)} is both in the file and in the cluster: keep one`);
    }
    const labelsRaw = metadata.raw('labels');
    const labels: Record<string, string> = {};
    if (labelsRaw !== undefined && labelsRaw !== null) {
      if (typeof labelsRaw !== 'object' || Array.isArray(labelsRaw)) throw new ConfigError(label, 'metadata.labels', 'must be a mapping of strings');
      for (const [k, v] of Object.entries(labelsRaw)) {
        if (typeof v !== 'string') throw new ConfigError(label, `metadata.labels.${k}`, `must be a string, not ${JSON.stringify(v)}`);
        labels[k] = v;
      }
    }
    for (const unread of ['annotations', 'uid', 'resourceVersion', 'creationTimestamp', 'generation']) metadata.raw(unread);
    metadata.done();
    // A `node.<name>` BGPConfiguration may set only Calico's per-node fields.
    const specSchema = kind === 'BGPConfiguration' && isPerNodeName(name) ? PER_NODE_BGP_CONFIGURATION : schema.spec;
    const spec = Fields.of(label, 'spec', top.raw('spec'), specSchema);
    top.done();
    out.push({ kind, name, label, spec, labels, fromCluster: fromCluster === true });
  }
  return out;
}

/**
 * What a DaemonSet tells kbgp about its node: $NODE_NAME (the pod's spec.nodeName) and $NODE_IP
 * (status.hostIP). Passed in rather than read from process.env, so a resolution depends on its
 * arguments alone: the CLI passes process.env, and anything else sees only what it passes.
 */
export interface NodeEnvironment {
  readonly NODE_NAME?: string | undefined;
  readonly NODE_IP?: string | undefined;
}

/**
 * Parses and resolves the configuration for `nodeName` (default: $NODE_NAME of `environment`, else
 * the KbgpConfiguration's).
 */
export function loadConfig(text: string, nodeName?: string, environment: NodeEnvironment = {}): NodeConfig {
  return resolveConfig(
    parseDocuments(text).map((value, i) => ({ value, origin: `document ${i + 1}` })),
    nodeName,
    environment,
  );
}

/**
 * Resolves the configuration for `nodeName` (default as loadConfig's) from documents: the file's,
 * and with `calicoResources: Cluster` the cluster's Calico resources and Nodes beside them.
 */
export function resolveConfig(sourced: readonly SourcedDocument[], nodeName?: string, environment: NodeEnvironment = {}): NodeConfig {
  const docs = documents(sourced);
  const filters = new Map<string, BgpFilter>();
  for (const d of docs.filter((x) => x.kind === 'BGPFilter')) filters.set(d.name, parseBgpFilter(d.name, d.spec));

  const daemons = docs.filter((d) => d.kind === 'KbgpConfiguration');
  const only = daemons.length === 1 ? daemons[0] : undefined;
  const name = nodeName ?? environment.NODE_NAME ?? only?.spec.string('nodeName');
  if (name === undefined) {
    // spec.nodeName names the node only in a file with one KbgpConfiguration.
    const how = daemons.length > 1 ? `set $NODE_NAME or --node (spec.nodeName is used only when there is one KbgpConfiguration, and there are ${daemons.length})` : 'set spec.nodeName, $NODE_NAME or --node';
    throw new ConfigError(only?.label ?? 'KbgpConfiguration', 'spec.nodeName', `no node name: ${how}`);
  }
  // This node's own KbgpConfiguration, else the one named `default` (every node's, in a DaemonSet).
  const daemon =
    daemons.find((d) => (d.spec.has('nodeName') ? d.spec.string('nodeName') : d.name) === name) ?? daemons.find((d) => d.name === 'default' && !d.spec.has('nodeName'));

  // Calico reads a BGPConfiguration by these names only: one in the file by another name would be
  // silently unused. (One in the cluster is Calico's business, and unused here as there.)
  const stray = docs.find((d) => d.kind === 'BGPConfiguration' && !d.fromCluster && d.name !== 'default' && !isPerNodeName(d.name));
  if (stray !== undefined) throw new ConfigError(stray.label, 'metadata.name', 'must be default, or node.<node name> for one node\'s overrides (Calico reads no other)');
  const global = docs.find((d) => d.kind === 'BGPConfiguration' && d.name === 'default');
  let globalAs = 64512;
  let listenPort = 179;
  let logLevel = 'info';
  let prefixAdvertisements: PrefixAdvertisement[] = [];
  let meshRestartTime = DEFAULT_RESTART_TIME;
  let meshEnabled = true;
  let bindNodeIp = false;
  let serviceCidrs: ServiceCidrs = { clusterIPs: [], externalIPs: [], loadBalancerIPs: [], aggregation: true };
  let namedCommunities = new Map<string, Community>();
  if (global !== undefined) {
    globalAs = asNumber(global.spec, 'asNumber') ?? globalAs;
    listenPort = global.spec.integer('listenPort', 1, 65535) ?? listenPort;
    logLevel = logSeverity(global.spec) ?? logLevel;
    namedCommunities = communityNames(global.spec);
    prefixAdvertisements = advertisements(global.spec, namedCommunities);
    meshRestartTime = Math.round(parseDuration(global.spec, 'nodeMeshMaxRestartTime') ?? meshRestartTime);
    if (meshRestartTime > RESTART_TIME_MAX) throw global.spec.error('nodeMeshMaxRestartTime', `${meshRestartTime} s is more than the ${RESTART_TIME_MAX} s graceful restart can announce`);
    serviceCidrs = {
      clusterIPs: cidrList(global.spec, 'serviceClusterIPs'),
      externalIPs: cidrList(global.spec, 'serviceExternalIPs'),
      loadBalancerIPs: cidrList(global.spec, 'serviceLoadBalancerIPs'),
      aggregation: true,
    };
    const aggregation = global.spec.oneOf('serviceLoadBalancerAggregation', LOAD_BALANCER_AGGREGATIONS) ?? 'Enabled';
    serviceCidrs = { ...serviceCidrs, aggregation: aggregation === 'Enabled' };
    meshEnabled = global.spec.boolean('nodeToNodeMeshEnabled') ?? meshEnabled;
    const bind = global.spec.oneOf('bindMode', BIND_MODES) ?? 'None';
    bindNodeIp = bind === 'NodeIP';
    global.spec.done();
  }
  // Calico's per-node BGPConfiguration may set only these three, each replacing the default's.
  const perNode = docs.find((d) => d.kind === 'BGPConfiguration' && d.name === `node.${name}`);
  if (perNode !== undefined) {
    // Its schema (PER_NODE_BGP_CONFIGURATION) refuses every other field.
    const n = perNode.spec;
    listenPort = n.integer('listenPort', 1, 65535) ?? listenPort;
    logLevel = logSeverity(n) ?? logLevel;
    if (n.has('prefixAdvertisements')) prefixAdvertisements = advertisements(n, namedCommunities);
    n.done();
  }

  const nodeDoc = docs.find((d) => d.kind === 'Node' && d.name === name);
  const bgp = nodeDoc?.spec.object('bgp');
  // Without a Calico Node document, a DaemonSet passes the node's address as $NODE_IP (status.hostIP).
  const envIp = environment.NODE_IP;
  const ipv4Address = (bgp === undefined ? undefined : cidrAddress(bgp, 'ipv4Address', 4)) ?? (envIp !== undefined && isIP(envIp) === 4 ? envIp : undefined);
  const ipv6Address = (bgp === undefined ? undefined : cidrAddress(bgp, 'ipv6Address', 6)) ?? (envIp !== undefined && isIP(envIp) === 6 ? normalizeAddress(envIp) : undefined);
  const nodeAs = (bgp === undefined ? undefined : asNumber(bgp, 'asNumber')) ?? globalAs;
  const clusterId = bgp === undefined ? undefined : clusterIdOf(bgp);
  if (bgp !== undefined) bgp.done();
  nodeDoc?.spec.done();
  // Other nodes' addresses and cluster IDs, for Calico's route reflector client rule and peerSelector.
  const otherNodes: { name: string; labels: Readonly<Record<string, string>>; ipv4?: string; ipv6?: string; asNumber: number; clusterId?: string }[] = [];
  for (const d of docs.filter((x) => x.kind === 'Node' && x.name !== name)) {
    const b = d.spec.object('bgp');
    const id = clusterIdOf(b);
    const ipv4 = cidrAddress(b, 'ipv4Address', 4);
    const ipv6 = cidrAddress(b, 'ipv6Address', 6);
    const otherAs = asNumber(b, 'asNumber');
    b.done();
    d.spec.done();
    otherNodes.push({ name: d.name, labels: d.labels, ...(ipv4 === undefined ? {} : { ipv4 }), ...(ipv6 === undefined ? {} : { ipv6 }), asNumber: otherAs ?? globalAs, ...(id === undefined ? {} : { clusterId: id }) });
  }
  const ownLabels = nodeDoc?.labels ?? {};
  /**
   * Calico's route reflector client rule: this node reflects (it has a cluster ID) to an iBGP peer
   * unless the peer is a node with the same cluster ID (a fellow reflector).
   */
  const reflects = (ibgp: boolean, peerClusterId: string | undefined): boolean => clusterId !== undefined && ibgp && peerClusterId !== clusterId;
  /** The families both this node and `n` have an address in: a session each (as Calico does). */
  const sharedFamilies = (n: { ipv4?: string; ipv6?: string; name: string }): { theirs: string; ours: string; suffix: string }[] => [
    ...(n.ipv4 !== undefined && ipv4Address !== undefined ? [{ theirs: n.ipv4, ours: ipv4Address, suffix: '' }] : []),
    ...(n.ipv6 !== undefined && ipv6Address !== undefined ? [{ theirs: n.ipv6, ours: ipv6Address, suffix: n.ipv4 !== undefined && ipv4Address !== undefined ? '/ipv6' : '' }] : []),
  ];
  /** A peering with another node that no BGPPeer spells out (mesh, reverse peering): Calico's defaults. */
  const nodePeering = (
    peerName: string,
    n: { asNumber: number },
    theirs: string,
    ours: string,
    o: Partial<Pick<PeerConfig, 'passive' | 'maxRestartTime' | 'routeReflectorClient' | 'nodeSpecific' | 'mesh'>>,
  ): PeerConfig => ({
    name: peerName,
    address: theirs,
    port: listenPort,
    asNumber: n.asNumber,
    passive: o.passive ?? false,
    nextHopMode: 'Auto',
    allowedLocalAs: 0,
    maxRestartTime: o.maxRestartTime ?? DEFAULT_RESTART_TIME,
    routeReflectorClient: o.routeReflectorClient ?? false,
    nodeSpecific: o.nodeSpecific ?? false,
    mesh: o.mesh ?? false,
    filters: [],
    addPath: 'Both',
    sourceAddress: ours,
  });

  const peerSettings = new Map<string, { passive: boolean; holdTime?: number; addPath?: AddPathSetting; maxPrefixes?: MaxPrefixes; at: string }>();
  let maxPaths = 16;
  let alwaysCompareMed = false;
  let gracefulRestart: GracefulRestartTimes = { stalePathTime: 360, selectionDeferralTime: 240 };
  let services: ServiceSettings = { coalesceWindow: 0.1, minFlapInterval: 5, advertisePodCIDRs: false };
  const timers: Partial<Record<'connectDelay' | 'connectRetryTime' | 'errorWaitMin' | 'errorWaitMax' | 'holdTime', number>> = {};
  let routerId = ipv4Address;
  let listenAddress: string | undefined;
  let metricsAddress: { host: string; port: number } | undefined;
  let controlSocket: string | undefined;
  let cluster: ClusterSettings = { source: 'None', calicoResources: 'File' };
  const originate: OriginatedRoute[] = [];
  if (daemon !== undefined) {
    const s = daemon.spec;
    s.string('nodeName');
    const id = s.string('routerId');
    if (id !== undefined && isIP(id) !== 4) throw s.error('routerId', `${JSON.stringify(id)} is not a dotted-quad router ID`);
    routerId = id ?? routerId;
    const listen = s.string('listenAddress');
    if (listen !== undefined && isIP(listen) === 0) throw s.error('listenAddress', `${JSON.stringify(listen)} is not an IP address`);
    listenAddress = listen;
    controlSocket = s.string('controlSocket');
    const metrics = s.string('metricsAddress');
    if (metrics !== undefined) {
      metricsAddress = parseMetricsAddress(metrics);
      if (metricsAddress === undefined) throw s.error('metricsAddress', `${JSON.stringify(metrics)} is not host:port (e.g. 0.0.0.0:9179, [::1]:9179, :9179)`);
    }
    s.objects('peerSettings').forEach((p) => {
      const peer = p.requiredString('peer');
      const holdTime = parseDuration(p, 'holdTime');
      if (holdTime !== undefined && holdTime !== 0 && holdTime < 3) throw p.error('holdTime', 'must be 0 or at least 3 seconds (RFC 4271 §4.2)');
      const addPath = p.oneOf('addPath', ADD_PATH_SETTINGS);
      let maxPrefixes: MaxPrefixes | undefined;
      if (p.has('maxPrefixes')) {
        const m = p.object('maxPrefixes');
        const limit = m.integer('limit', 1, 0xffffffff);
        if (limit === undefined) throw m.error('limit', 'is required');
        maxPrefixes = { limit, restartAfter: parseDuration(m, 'restartAfter') ?? 60, warningOnly: m.boolean('warningOnly') ?? false };
        m.done();
      }
      peerSettings.set(peer, {
        passive: p.boolean('passive') ?? false,
        ...(holdTime === undefined ? {} : { holdTime }),
        ...(addPath === undefined ? {} : { addPath }),
        ...(maxPrefixes === undefined ? {} : { maxPrefixes }),
        at: p.at('peer'),
      });
      p.done();
    });
    maxPaths = s.integer('maxPaths', 1, 256) ?? maxPaths;
    alwaysCompareMed = s.boolean('alwaysCompareMed') ?? alwaysCompareMed;
    const gr = s.object('gracefulRestart');
    gracefulRestart = {
      stalePathTime: parseDuration(gr, 'stalePathTime') ?? gracefulRestart.stalePathTime,
      selectionDeferralTime: parseDuration(gr, 'selectionDeferralTime') ?? gracefulRestart.selectionDeferralTime,
    };
    gr.done();
    const sv = s.object('services');
    services = {
      coalesceWindow: parseDuration(sv, 'coalesceWindow') ?? services.coalesceWindow,
      minFlapInterval: parseDuration(sv, 'minFlapInterval') ?? services.minFlapInterval,
      advertisePodCIDRs: sv.boolean('advertisePodCIDRs') ?? services.advertisePodCIDRs,
    };
    sv.done();
    cluster = clusterSettings(s.object('cluster'));
    const t = s.object('timers');
    for (const [field, key] of [['connectDelay', 'connectDelay'], ['connectRetryTime', 'connectRetryTime'], ['errorWaitMin', 'errorWaitMin'], ['errorWaitMax', 'errorWaitMax'], ['holdTime', 'holdTime']] as const) {
      const v = parseDuration(t, field);
      if (v !== undefined) timers[key] = v;
    }
    t.done();
    s.objects('originate').forEach((r) => {
      const prefix = r.requiredParsed('prefix', parsePrefix);
      const parseEach = <T>(field: string, parse: (s: string) => T): T[] =>
        r.list(field).map((c, j) => {
          if (typeof c !== 'string') throw r.error(`${field}[${j}]`, 'must be a string');
          return r.parsedText(`${field}[${j}]`, c, parse);
        });
      originate.push({ prefix, communities: parseEach('communities', parseCommunity), largeCommunities: parseEach('largeCommunities', parseLargeCommunity) });
      r.done();
    });
    s.done();
  }
  // Where to listen: KbgpConfiguration listenAddress (this node's own setting) before Calico's
  // bindMode NodeIP (the node's address in each family, as Calico's BIRD binds), before every address.
  const nodeIps = [ipv4Address, ipv6Address].filter((a): a is string => a !== undefined);
  if (listenAddress === undefined && bindNodeIp && nodeIps.length === 0) {
    throw new ConfigError(global?.label ?? 'BGPConfiguration default', 'spec.bindMode', `NodeIP needs the node's address: give Node ${name} spec.bgp.ipv4Address or ipv6Address, or set $NODE_IP`);
  }
  const listenAddresses = listenAddress !== undefined ? [listenAddress] : bindNodeIp ? nodeIps : ['::'];
  if (routerId === undefined) {
    throw new ConfigError(daemon?.label ?? `KbgpConfiguration ${name}`, 'spec.routerId', 'no router ID: set it, give the Node an IPv4 address (spec.bgp.ipv4Address), or set $NODE_IP to the node\'s IPv4 address');
  }

  // With the cluster's resources, the Nodes are the cluster's: the file's BGP kinds join its own.
  if (cluster.calicoResources === 'Cluster') {
    const local = docs.find((d) => d.kind === 'Node' && !d.fromCluster);
    if (local !== undefined) throw new ConfigError(local.label, 'kind', 'Node is read from the cluster (KbgpConfiguration spec.cluster.calicoResources is Cluster): remove it from the file');
  }

  const peers: PeerConfig[] = [];
  const usedSettings = new Set<string>();
  const selector = (f: Fields, field: string): ((labels: Readonly<Record<string, string>>) => boolean) | undefined =>
    // Calico: an empty selector is a selector not set.
    f.parsed(field, (text) => (text === '' ? undefined : parseSelector(text).matches));

  for (const d of docs.filter((x) => x.kind === 'BGPPeer')) {
    const s = d.spec;
    // Checked on every BGPPeer here; the reverse peerings below act on it.
    s.oneOf('reversePeering', REVERSE_PEERINGS);
    const scope = s.string('node');
    const nodeSelector = selector(s, 'nodeSelector');
    if (scope !== undefined && nodeSelector !== undefined) throw s.error('nodeSelector', 'cannot be combined with node');
    const peerSelector = selector(s, 'peerSelector');
    if (peerSelector !== undefined && s.has('peerIP')) throw s.error('peerSelector', 'cannot be combined with peerIP');
    if (peerSelector !== undefined && s.has('asNumber')) throw s.error('asNumber', 'must be empty with peerSelector (each selected node\'s own AS is used)');
    // Peerings for some other node are checked all the same (one file serves every node, and
    // `kbgp validate` on one node must catch what another would refuse), but not made here.
    const forThisNode = !((scope !== undefined && scope !== name) || (nodeSelector !== undefined && !nodeSelector(ownLabels)));
    // peerIP, or every other node the peerSelector picks (each family both ends have, as Calico).
    const targets: { address: string; port: number; remoteAs: number; suffix: string }[] = [];
    if (peerSelector === undefined) {
      const { address, port } = peerIp(s, 'peerIP', listenPort);
      const remoteAs = asNumber(s, 'asNumber');
      if (remoteAs === undefined) throw s.error('asNumber', 'is required with peerIP');
      targets.push({ address, port, remoteAs, suffix: '' });
    } else {
      for (const n of otherNodes.filter((x) => peerSelector(x.labels))) {
        for (const f of sharedFamilies(n)) targets.push({ address: f.theirs, port: listenPort, remoteAs: n.asNumber, suffix: `/${n.name}${f.suffix}` });
      }
    }
    const keepaliveTime = parseDuration(s, 'keepaliveTime');
    const source = s.oneOf('sourceAddress', SOURCE_ADDRESSES) ?? 'UseNodeIP';
    const localAsNumber = asNumber(s, 'localASNumber');
    const mode = s.oneOf('nextHopMode', NEXT_HOP_MODES);
    const keepOriginal = s.boolean('keepOriginalNextHop');
    if (keepOriginal !== undefined && mode !== undefined) throw s.error('keepOriginalNextHop', 'cannot be combined with nextHopMode');
    const allowedLocalAs = s.integer('numAllowedLocalASNumbers', 0, 10) ?? 0;
    // Graceful restart is on for every peer, as Calico's BIRD has it; RFC 4724 §3 gives it 12 bits of seconds.
    const maxRestartTime = parseDuration(s, 'maxRestartTime') ?? DEFAULT_RESTART_TIME;
    if (maxRestartTime > RESTART_TIME_MAX) throw s.error('maxRestartTime', `${maxRestartTime} s is more than the ${RESTART_TIME_MAX} s graceful restart can announce`);
    const peerFilters = s.list('filters').map((v, i) => {
      const f = typeof v === 'string' ? filters.get(v) : undefined;
      if (f === undefined) throw s.error(`filters[${i}]`, `no BGPFilter named ${JSON.stringify(v)}`);
      return f;
    });
    s.done();
    if (!forThisNode) continue;
    const local = peerSettings.get(d.name);
    usedSettings.add(d.name);
    const passive = local?.passive ?? false;
    const holdTime = local?.holdTime;
    for (const { address, port, remoteAs, suffix } of targets) {
      // A global BGPPeer naming this node itself is not a peering (as Calico skips it). The port
      // counts too: on one host's loopback, two speakers share an address.
      if ((address === ipv4Address || address === ipv6Address) && port === listenPort) continue;
      const ebgp = remoteAs !== (localAsNumber ?? nodeAs);
      const nextHopMode: NextHopMode = mode ?? (keepOriginal === true && ebgp ? 'Keep' : 'Auto');
      const routeReflectorClient = reflects(!ebgp, otherNodes.find((n) => n.ipv4 === address || n.ipv6 === address)?.clusterId);
      const nodeIp = isIP(address) === 4 ? ipv4Address : ipv6Address;
      peers.push({
        name: `${d.name}${suffix}`,
        address,
        port,
        asNumber: remoteAs,
        passive,
        nextHopMode,
        allowedLocalAs,
        maxRestartTime: Math.round(maxRestartTime),
        routeReflectorClient,
        nodeSpecific: scope !== undefined,
        mesh: false,
        filters: peerFilters,
        addPath: local?.addPath ?? 'Both',
        ...(local?.maxPrefixes === undefined ? {} : { maxPrefixes: local.maxPrefixes }),
        ...(localAsNumber === undefined ? {} : { localAsNumber }),
        ...(keepaliveTime === undefined ? {} : { keepaliveTime }),
        ...(holdTime === undefined ? {} : { holdTime }),
        ...(source === 'UseNodeIP' && nodeIp !== undefined ? { sourceAddress: nodeIp } : {}),
      });
    }
  }

  // reversePeering Auto (Calico's default): a BGPPeer whose peerSelector picks this node makes this
  // node peer back with every node the BGPPeer applies to, so one BGPPeer configures both ends.
  for (const d of docs.filter((x) => x.kind === 'BGPPeer')) {
    const s = d.spec;
    const picks = selector(s, 'peerSelector');
    if (picks === undefined || (s.oneOf('reversePeering', REVERSE_PEERINGS) ?? 'Auto') !== 'Auto' || !picks(ownLabels)) continue;
    const scope = s.string('node');
    const nodeSelector = selector(s, 'nodeSelector');
    const present = new Set(peers.map((p) => p.address));
    for (const n of otherNodes.filter((x) => (scope !== undefined ? x.name === scope : nodeSelector === undefined || nodeSelector(x.labels)))) {
      for (const { theirs, ours, suffix } of sharedFamilies(n)) {
        if (present.has(theirs)) continue;
        const ibgp = n.asNumber === nodeAs;
        peers.push(nodePeering(`${d.name}/reverse/${n.name}${suffix}`, n, theirs, ours, { routeReflectorClient: reflects(ibgp, n.clusterId), nodeSpecific: scope !== undefined }));
      }
    }
  }

  // Node-to-node mesh (Calico's default): every other node without a cluster ID is an iBGP peer in
  // each family both ends have, unless a BGPPeer already names its address. Of each pair, the node
  // with the lexically greater address (Calico compares the text) is passive, so a reconnect from
  // the helper side cannot abort a graceful restart. A route reflector leaves the mesh.
  if (meshEnabled && clusterId === undefined) {
    const explicit = new Set(peers.map((p) => p.address));
    for (const n of otherNodes) {
      if (n.clusterId !== undefined) continue;
      for (const { theirs, ours, suffix } of sharedFamilies(n)) {
        if (explicit.has(theirs)) continue;
        peers.push(nodePeering(`mesh/${n.name}${suffix}`, n, theirs, ours, { passive: ours > theirs, maxRestartTime: meshRestartTime, mesh: true }));
      }
    }
  }

  for (const [peer, settings] of peerSettings) {
    if (usedSettings.has(peer)) continue;
    // The `default` KbgpConfiguration serves every node: a peer some nodes do not have is no error.
    const peerExists = docs.some((d) => d.kind === 'BGPPeer' && d.name === peer);
    if (daemon?.name === 'default' && peerExists) continue;
    throw new ConfigError(daemon?.label ?? `KbgpConfiguration ${name}`, settings.at, `no BGPPeer named ${JSON.stringify(peer)} for node ${name}`);
  }

  return {
    nodeName: name,
    timers,
    asNumber: nodeAs,
    routerId,
    ...(ipv4Address === undefined ? {} : { ipv4Address }),
    ...(ipv6Address === undefined ? {} : { ipv6Address }),
    listenAddresses,
    listenPort,
    peers,
    originate,
    logLevel,
    maxPaths,
    alwaysCompareMed,
    prefixAdvertisements,
    meshRestartTime,
    gracefulRestart,
    serviceCidrs,
    services,
    cluster,
    ...(metricsAddress === undefined ? {} : { metricsAddress }),
    ...(controlSocket === undefined ? {} : { controlSocket }),
    ...(clusterId === undefined ? {} : { clusterId }),
  };
}

/** A Calico `[]{cidr}` list (serviceClusterIPs and the like). */
function cidrList(spec: Fields, field: string): Prefix[] {
  return spec.objects(field).map((c) => {
    const p = c.requiredParsed('cidr', parsePrefix);
    c.done();
    return p;
  });
}

/** BGPConfiguration communities: names for standard (aa:nn) or large (aa:nn:mm) values; at most 500. */
function communityNames(spec: Fields): Map<string, Community> {
  const names = new Map<string, Community>();
  const list = spec.objects('communities');
  if (list.length > 500) throw spec.error('communities', `${list.length} entries; Calico allows at most 500`);
  list.forEach((c) => {
    const name = c.requiredString('name');
    if (names.has(name)) throw c.error('name', `${JSON.stringify(name)} is named twice`);
    names.set(name, c.requiredParsed('value', parseCommunityValue));
    c.done();
  });
  return names;
}

/** prefixAdvertisements: the communities (names or literal values) for originated prefixes inside each cidr. */
function advertisements(spec: Fields, names: ReadonlyMap<string, Community>): PrefixAdvertisement[] {
  return spec.objects('prefixAdvertisements').map((a) => {
    const cidr = a.requiredParsed('cidr', parsePrefix);
    const communities: number[] = [];
    const largeCommunities: LargeCommunity[] = [];
    a.list('communities').forEach((v, j) => {
      if (typeof v !== 'string') throw a.error(`communities[${j}]`, 'must be a string: a name from spec.communities or a value aa:nn / aa:nn:mm');
      const c = names.get(v) ?? (/^\d+(:\d+){1,2}$/.test(v) ? a.parsedText(`communities[${j}]`, v, parseCommunityValue) : undefined);
      if (c === undefined) throw a.error(`communities[${j}]`, `${JSON.stringify(v)} is neither a name in spec.communities nor a community value`);
      if ('standard' in c) communities.push(c.standard);
      else largeCommunities.push(c.large);
    });
    a.done();
    return { cidr, communities, largeCommunities };
  });
}

function clusterSettings(c: Fields): ClusterSettings {
  const source = c.oneOf('source', CLUSTER_SOURCES) ?? 'None';
  const calicoResources = c.oneOf('calicoResources', CALICO_RESOURCES) ?? 'File';
  const kubeconfig = c.string('kubeconfig');
  const manifests = c.string('manifests');
  if (kubeconfig !== undefined && source !== 'Kubernetes') throw c.error('kubeconfig', 'needs source Kubernetes');
  if (source === 'Manifests' && (manifests === undefined || manifests === '')) throw c.error('manifests', 'is required with source Manifests: the directory to follow');
  if (manifests !== undefined && source !== 'Manifests') throw c.error('manifests', 'needs source Manifests');
  if (calicoResources === 'Cluster' && source !== 'Kubernetes') throw c.error('calicoResources', 'Cluster needs source Kubernetes: the resources are read from the API server');
  c.done();
  return { source, calicoResources, ...(kubeconfig === undefined ? {} : { kubeconfig }), ...(manifests === undefined ? {} : { manifests }) };
}

/** The pino level of each of Calico's logSeverityScreen values. */
const LOG_LEVELS: Readonly<Record<(typeof LOG_SEVERITIES)[number], string>> = {
  Debug: 'debug',
  Info: 'info',
  Warning: 'warn',
  Error: 'error',
  Fatal: 'fatal',
};

/** BGPConfiguration logSeverityScreen as a pino level (pino has no `warning`: it would throw at start). */
function logSeverity(f: Fields): string | undefined {
  const v = f.oneOf('logSeverityScreen', LOG_SEVERITIES);
  return v === undefined ? undefined : LOG_LEVELS[v];
}

/** Node spec.bgp.routeReflectorClusterID: a dotted quad, as Calico requires. */
function clusterIdOf(bgp: Fields): string | undefined {
  const v = bgp.string('routeReflectorClusterID');
  if (v !== undefined && isIP(v) !== 4) throw bgp.error('routeReflectorClusterID', `${JSON.stringify(v)} is not an IPv4 dotted-quad cluster ID`);
  return v;
}

/**
 * KbgpConfiguration metricsAddress (`host:port`, `[v6]:port`, or `:port` for every address), or
 * undefined if it is not one. Exported for the start-up path that serves /healthz before the
 * configuration can be resolved.
 */
export function parseMetricsAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || (host !== '' && isIP(host) === 0) || !(port >= 1 && port <= 65535)) return undefined;
  return { host: host === '' ? '::' : host, port };
}
