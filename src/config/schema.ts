/**
 * Every kind and every field of the configuration kbgp reads, as data: what the parser accepts and
 * what the README's configuration reference says are both this table, so they cannot drift.
 *
 * - `Fields` (fields.ts) takes each object's accepted field names and refusal reasons from here: a
 *   field set in a document but not listed is "not a known field"; a listed field with `refused`
 *   is refused with that reason, never ignored; a field the parser reads must be listed as
 *   honoured here, or the read throws (a kbgp bug, caught by any test that loads such a document).
 * - Each honoured field has an `example` that test/config/schema.test.ts sets, alone, in a valid
 *   configuration: a listed field the parser never reads fails that test.
 * - reference.ts renders the tables (`npm run docs` writes them into README.md).
 * - An enum field's `values` are the one list of what it accepts: `Fields.oneOf` checks against
 *   them and its `type` words are made from them (`oneOf` below), so the two cannot disagree.
 *
 * Types and defaults are words for people; the parser checks values.
 */
import { NEXT_HOP_MODES } from '../rib/export.js';
import { FILTER_ACTIONS, MATCH_OPERATORS, MATCH_SOURCES, PEER_TYPES } from '../rib/filter.js';
import type { Json } from './fields.js';

export interface FieldSpec {
  readonly name: string;
  /** The value's type, in words: `duration`, `integer 1..65535`, `` `Auto`, `Self` or `Keep` ``. */
  readonly type: string;
  /** An enum: the only values accepted, case-sensitive as Calico's; `type` is their words (`oneOf`). */
  readonly values?: readonly string[];
  /** The value when unset, in words; absent: the field is optional and unset means none. */
  readonly default?: string;
  /** A document without it is refused. */
  readonly required?: boolean;
  /** One line: what kbgp does with it. */
  readonly description: string;
  /** A value kbgp accepts, shown in the reference; every honoured leaf field has one. */
  readonly example?: Json;
  /** Set: kbgp refuses a document that sets this field, for this reason (the error's text). */
  readonly refused?: string;
  /** A mapping: its fields. */
  readonly fields?: ObjectSpec;
  /** A list of mappings: the fields of each. */
  readonly items?: ObjectSpec;
  /** BGPConfiguration only: a `node.<name>` BGPConfiguration may set it too. */
  readonly perNode?: boolean;
}

export type ObjectSpec = readonly FieldSpec[];

export interface KindSpec {
  readonly kind: string;
  readonly apiVersion: string;
  /** What the kind is for, and how kbgp picks the documents of it that apply to a node. */
  readonly summary: string;
  readonly spec: ObjectSpec;
}

export const CALICO_API = 'projectcalico.org/v3';
export const KBGP_API = 'kbgp.io/v1alpha1';

const NOT_YET = 'is not supported by kbgp yet';
/** Node.js exposes neither TCP_MD5SIG nor IP_MINTTL on its sockets: these cannot be honoured, so they are refused. */
const MD5 = 'cannot be honoured: TCP MD5 signatures (RFC 2385) need the TCP_MD5SIG socket option, which Node.js does not expose; protect the session another way (a dedicated link, ACLs on the ToR) and leave this unset';
const GTSM = 'cannot be honoured: the TTL security check (RFC 5082) needs the IP_MINTTL socket option, which Node.js does not expose; leave this unset';
const NOT_MODELLED = 'is not supported by kbgp (Calico leaves it undocumented)';
/** Calico's BIRD programs the node's routes; kbgp only speaks BGP, so these have nothing to act on. */
const NO_KERNEL_ROUTES = 'is not supported by kbgp: it programs no kernel routes and originates no interface routes (Calico\'s BIRD does both)';

const AS_NUMBER = 'AS number: integer 1..4294967295, or asdot `a.b`';
const DURATION = 'duration (`20s`, `1m30s`, `500ms`; a number is seconds)';
const RESTART_DURATION = 'duration, at most 4095 s';
const PREFIX = 'prefix (`10.96.0.0/12`, `fd00::/108`), no host bits';
const SELECTOR = "Calico selector (`rack == 'r1'`, `all()`)";
const SECRET_REF = 'secretKeyRef `{name, key}`';

/*
 * Each enum's one list of values: the parser hands the same list to `Fields.oneOf`, which holds
 * it to the schema's and gives the value back typed as one of them.
 */
export const LOG_SEVERITIES = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;
export const LOAD_BALANCER_AGGREGATIONS = ['Enabled', 'Disabled'] as const;
export const BIND_MODES = ['None', 'NodeIP'] as const;
const PROGRAM_CLUSTER_ROUTES = ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const;
export const REVERSE_PEERINGS = ['Auto', 'Manual'] as const;
export const SOURCE_ADDRESSES = ['UseNodeIP', 'None'] as const;
export const ADD_PATH_SETTINGS = ['Both', 'Receive', 'Send', 'Off'] as const;
export const CLUSTER_SOURCES = ['None', 'Kubernetes', 'Manifests'] as const;
export const CALICO_RESOURCES = ['File', 'Cluster'] as const;

/** A mapping field, its `type` made from its fields' names (`{min, max}`). */
function mapping(spec: Omit<FieldSpec, 'type'> & { readonly fields: ObjectSpec }): FieldSpec {
  return { ...spec, type: `\`{${spec.fields.map((f) => f.name).join(', ')}}\`` };
}

/** An enum field's `values`, and its `type` made from them. */
function oneOf(values: readonly string[]): Pick<FieldSpec, 'type' | 'values'> {
  return { type: wordList(values.map((v) => `\`${v}\``), 'or'), values };
}

const CIDR_ITEM: ObjectSpec = [{ name: 'cidr', type: PREFIX, required: true, description: 'The range.', example: '10.96.0.0/12' }];

const BGP_CONFIGURATION: ObjectSpec = [
  { name: 'asNumber', type: AS_NUMBER, default: '`64512`', description: 'The AS of every node whose Node has no `spec.bgp.asNumber`.', example: 64513 },
  {
    name: 'listenPort',
    type: 'integer 1..65535',
    default: '`179`',
    perNode: true,
    description: 'The TCP port kbgp listens on, and the port of every peer given without one (a `peerIP` without a port, peerSelector and mesh peerings).',
    example: 1790,
  },
  { name: 'logSeverityScreen', ...oneOf(LOG_SEVERITIES), default: '`Info`', perNode: true, description: 'The log level (`kbgp run --log-level` overrides it).', example: 'Warning' },
  {
    name: 'nodeToNodeMeshEnabled',
    type: 'boolean',
    default: '`true`',
    description: 'Every other Node without a `routeReflectorClusterID` is an iBGP peer, in each family both have, the lexically greater address passive; a route reflector leaves the mesh.',
    example: false,
  },
  { name: 'nodeMeshMaxRestartTime', type: RESTART_DURATION, default: '`120s`', description: 'The graceful restart time announced on mesh sessions.', example: '90s' },
  {
    name: 'communities',
    type: 'list of `{name, value}`, at most 500',
    description: 'Names for community values, for `prefixAdvertisements`; a name alone advertises nothing.',
    items: [
      { name: 'name', type: 'string, unique', required: true, description: 'The name `prefixAdvertisements` use.', example: 'svc' },
      { name: 'value', type: 'community: standard `aa:nn` or large `aa:nn:mm`', required: true, description: 'The value.', example: '64512:100' },
    ],
  },
  {
    name: 'prefixAdvertisements',
    type: 'list of `{cidr, communities}`',
    perNode: true,
    description: 'Communities added to every prefix this node originates inside `cidr` (a `node.<name>` list replaces the default\'s, with the default\'s names).',
    items: [
      { name: 'cidr', type: PREFIX, required: true, description: 'Originated prefixes inside it (or equal) get the communities.', example: '10.96.0.0/12' },
      { name: 'communities', type: 'list of names from `spec.communities`, or values `aa:nn` / `aa:nn:mm`', description: 'The communities to add.', example: ['64512:100', '64512:1:2'] },
    ],
  },
  {
    name: 'serviceClusterIPs',
    type: 'list of `{cidr}`',
    description: 'Advertised from every node; also enables a /32 (/128) per cluster IP of `externalTrafficPolicy: Local` services, from nodes with a local endpoint. A route learned from a peer inside one is never used.',
    items: CIDR_ITEM,
  },
  {
    name: 'serviceExternalIPs',
    type: 'list of `{cidr}`',
    description: 'Advertised from every node, and the allow-list for Services\' `externalIPs` (an address outside every range is never advertised). A route learned from a peer inside one is never used.',
    items: CIDR_ITEM,
  },
  {
    name: 'serviceLoadBalancerIPs',
    type: 'list of `{cidr}`',
    description: 'Advertised from every node (a single-address entry as a /32 per service instead), and the allow-list for load-balancer ingress IPs. A route learned from a peer inside one is never used.',
    items: CIDR_ITEM,
  },
  {
    name: 'serviceLoadBalancerAggregation',
    ...oneOf(LOAD_BALANCER_AGGREGATIONS),
    default: '`Enabled`',
    description: '`Disabled`: a /32 (/128) per load-balancer IP from every node while the service has a serving endpoint anywhere, instead of the range.',
    example: 'Disabled',
  },
  { name: 'bindMode', ...oneOf(BIND_MODES), default: '`None`', description: 'Where BGP listens: `None`, every address; `NodeIP`, only the Node\'s `ipv4Address` and `ipv6Address` (one listener each). A KbgpConfiguration `listenAddress` overrides it.', example: 'NodeIP' },
  { name: 'nodeMeshPassword', type: SECRET_REF, description: 'Calico: TCP MD5 password of mesh sessions.', refused: MD5 },
  { name: 'ignoredInterfaces', type: 'list of interface globs', description: 'Calico: interfaces BIRD leaves out of its direct routes.', refused: NO_KERNEL_ROUTES },
  { name: 'localWorkloadPeeringIPV4', type: 'IPv4 address', description: 'Calico: the address for BGPPeer `localWorkloadSelector` sessions.', refused: NOT_YET },
  { name: 'localWorkloadPeeringIPV6', type: 'IPv6 address', description: 'Calico: the address for BGPPeer `localWorkloadSelector` sessions.', refused: NOT_YET },
  { name: 'ipv4NormalRoutePriority', type: 'integer 1..2147483646', description: 'Calico: the kernel priority of the routes BIRD programs.', refused: NO_KERNEL_ROUTES },
  { name: 'ipv6NormalRoutePriority', type: 'integer 1..2147483646', description: 'Calico: the kernel priority of the routes BIRD programs.', refused: NO_KERNEL_ROUTES },
  { name: 'programClusterRoutes', ...oneOf(PROGRAM_CLUSTER_ROUTES), description: 'Calico: whether BIRD or Felix programs cluster routes.', refused: NO_KERNEL_ROUTES },
];

const BGP_PEER: ObjectSpec = [
  { name: 'node', type: 'node name', default: 'every node', description: 'This peering is the named node\'s only.', example: 'n1' },
  { name: 'nodeSelector', type: SELECTOR, default: 'every node', description: 'This peering is for the nodes whose Node labels match; cannot be combined with `node`; empty is unset.', example: "rack == 'r1'" },
  {
    name: 'peerIP',
    type: 'IP address with an optional port: `192.0.2.1`, `192.0.2.1:1790`, `[2001:db8::1]:1790`',
    default: 'port: `listenPort`',
    description: 'The peer; required unless `peerSelector` is set, and cannot be combined with it.',
    example: '192.0.2.254:1790',
  },
  { name: 'asNumber', type: AS_NUMBER, description: 'The peer\'s AS; required with `peerIP`, and must be empty with `peerSelector`.', example: 65001 },
  {
    name: 'peerSelector',
    type: SELECTOR,
    description: 'Peers with every other Node it picks, in each family both have, with that Node\'s AS; empty is unset.',
    example: "role == 'rr'",
  },
  {
    name: 'reversePeering',
    ...oneOf(REVERSE_PEERINGS),
    default: '`Auto`',
    description: 'With `peerSelector`: `Auto` makes each picked node peer back with every node this BGPPeer applies to; `Manual` leaves that to another BGPPeer.',
    example: 'Manual',
  },
  { name: 'localASNumber', type: AS_NUMBER, default: 'the node\'s AS', description: 'The AS kbgp speaks as towards this peer.', example: 65100 },
  { name: 'keepaliveTime', type: DURATION, default: 'a third of the hold time', description: 'The keepalive interval (never more than a third of the negotiated hold time).', example: '20s' },
  {
    name: 'sourceAddress',
    ...oneOf(SOURCE_ADDRESSES),
    default: '`UseNodeIP`',
    description: '`UseNodeIP`: connect from the node\'s address of the peer\'s family; `None`: the kernel chooses.',
    example: 'None',
  },
  {
    name: 'nextHopMode',
    ...oneOf(NEXT_HOP_MODES),
    default: '`Auto`',
    description: '`Auto`: self towards eBGP unless the next hop is on the shared subnet, kept towards iBGP; cannot be combined with `keepOriginalNextHop`.',
    example: 'Self',
  },
  { name: 'keepOriginalNextHop', type: 'boolean', default: '`false`', description: '`true`: `Keep` towards eBGP peers (Calico\'s older field).', example: true },
  {
    name: 'numAllowedLocalASNumbers',
    type: 'integer 0..10',
    default: '`0`',
    description: 'How often this node\'s AS may appear in a path from this peer before it is a loop.',
    example: 1,
  },
  {
    name: 'maxRestartTime',
    type: RESTART_DURATION,
    default: '`120s`',
    description: 'The graceful restart time announced to this peer (RFC 4724, with RFC 8538\'s N bit).',
    example: '5m',
  },
  { name: 'filters', type: 'list of BGPFilter names', description: 'The BGPFilters run on routes from and to this peer, in order: the first rule that matches decides.', example: ['f'] },
  { name: 'password', type: SECRET_REF, description: 'Calico: TCP MD5 password of the session.', refused: MD5 },
  { name: 'ttlSecurity', type: 'integer (hops)', description: 'Calico: the GTSM hop count.', refused: GTSM },
  { name: 'reachableBy', type: 'IP address', description: 'Calico: the gateway of a static route to `peerIP`.', refused: NOT_YET },
  { name: 'localWorkloadSelector', type: SELECTOR, description: 'Calico: peer with this node\'s pods.', refused: NOT_YET },
];

const FILTER_RULE: ObjectSpec = [
  { name: 'action', ...oneOf(FILTER_ACTIONS), required: true, description: 'What happens to a route every condition of the rule matches.', example: 'Accept' },
  { name: 'cidr', type: 'prefix of the list\'s family', description: 'Compared with the route\'s prefix by `matchOperator` (each needs the other).', example: '10.0.0.0/8' },
  {
    name: 'matchOperator',
    ...oneOf(MATCH_OPERATORS),
    description: '`In`: the prefix is `cidr` or inside it (BIRD\'s `net ~ cidr`); `Equal`: the prefix is `cidr`.',
    example: 'In',
  },
  mapping({
    name: 'prefixLength',
    description: 'With `cidr`: the prefix\'s length must be within min..max too; a range that selects nothing is refused, as BIRD refuses it.',
    fields: [
      { name: 'min', type: 'integer 0..32 (0..128 in V6 lists)', default: 'the cidr\'s length', description: 'The shortest length.', example: 24 },
      { name: 'max', type: 'integer 0..32 (0..128 in V6 lists)', default: '32 (128)', description: 'The longest length.', example: 32 },
    ],
  }),
  { name: 'source', ...oneOf(MATCH_SOURCES), description: 'Only routes learned from peers, not those this node originates.', example: 'RemotePeers' },
  { name: 'interface', type: 'interface glob', description: 'kbgp\'s routes have no interface: BIRD matches the glob against "", so only `*` matches.', example: '*' },
  { name: 'peerType', ...oneOf(PEER_TYPES), description: 'The session with the peer the route comes from (import) or goes to (export).', example: 'eBGP' },
  mapping({
    name: 'communities',
    description: 'The route carries any of the values.',
    fields: [{ name: 'values', type: 'list of communities `aa:nn` or `aa:nn:mm`, at least one', description: 'The communities.', example: ['64512:7'] }],
  }),
  {
    name: 'operations',
    type: 'list, at most 10; each exactly one of `addCommunity`, `prependASPath`',
    description: 'Accept rules only: changes made to the route, in order.',
    items: [
      mapping({
        name: 'addCommunity',
        description: 'Adds a community (nothing if the route has it).',
        fields: [{ name: 'value', type: 'community `aa:nn` or `aa:nn:mm`', required: true, description: 'The community.', example: '64512:100' }],
      }),
      mapping({
        name: 'prependASPath',
        description: 'Puts ASes in front of the AS path.',
        fields: [{ name: 'prefix', type: 'list of 1 to 10 AS numbers (integers)', required: true, description: 'The ASes, first one first.', example: [64512, 64512] }],
      }),
      { name: 'setPriority', type: '`{value}`', description: 'Calico: the route\'s kernel priority.', refused: NOT_MODELLED },
    ],
  },
  { name: 'asPathPrefix', type: 'list of AS numbers', description: 'Calico: match the start of the AS path.', refused: NOT_MODELLED },
  { name: 'priority', type: 'integer', description: 'Calico: match the route\'s priority.', refused: NOT_MODELLED },
];

const filterList = (name: string, what: string): FieldSpec => ({ name, type: 'list of rules', description: `Rules for ${what}, in order.`, items: FILTER_RULE });

const BGP_FILTER: ObjectSpec = [
  filterList('exportV4', 'IPv4 routes sent to the peer'),
  filterList('importV4', 'IPv4 routes received from the peer'),
  filterList('exportV6', 'IPv6 routes sent to the peer'),
  filterList('importV6', 'IPv6 routes received from the peer'),
];

const NODE: ObjectSpec = [
  {
    name: 'bgp',
    type: 'mapping',
    description: 'The node\'s BGP settings.',
    fields: [
      {
        name: 'ipv4Address',
        type: 'IPv4 address, optional `/length`',
        default: '`$NODE_IP` (IPv4)',
        description: 'This node\'s router ID (unless KbgpConfiguration `routerId`), IPv4 source address and next hop; another Node\'s IPv4 peering address.',
        example: '192.0.2.1/24',
      },
      { name: 'ipv6Address', type: 'IPv6 address, optional `/length`', default: '`$NODE_IP` (IPv6)', description: 'This node\'s IPv6 source address and next hop; another Node\'s IPv6 peering address.', example: '2001:db8::1/64' },
      { name: 'asNumber', type: AS_NUMBER, default: 'BGPConfiguration `asNumber`', description: 'The node\'s AS.', example: '1.10' },
      {
        name: 'routeReflectorClusterID',
        type: 'IPv4 dotted quad',
        description: 'This node reflects routes (RFC 4456): an iBGP peer is its client unless it is a Node with the same cluster ID; it leaves the mesh.',
        example: '10.255.0.1',
      },
    ],
  },
];

const duration = (name: string, dflt: string, description: string, example: string): FieldSpec => ({ name, type: DURATION, default: dflt, description, example });

const KBGP_CONFIGURATION: ObjectSpec = [
  { name: 'nodeName', type: 'node name', default: '`metadata.name`', description: 'The node this configuration is for (and the node to run as, when only one KbgpConfiguration is given and no `--node`).', example: 'n1' },
  { name: 'routerId', type: 'IPv4 dotted quad', default: 'the node\'s IPv4 address (Node, else `$NODE_IP`)', description: 'The BGP identifier.', example: '192.0.2.1' },
  { name: 'listenAddress', type: 'IP address', default: '`::` (every address), or the Node\'s addresses with BGPConfiguration `bindMode: NodeIP`', description: 'The address BGP listens on.', example: '192.0.2.1' },
  { name: 'controlSocket', type: 'path', default: '`/run/kbgp/<node>.sock` as root, else `$TMPDIR/kbgp/<node>.sock`', description: 'The CLI\'s Unix socket (mode 0600).', example: '/run/kbgp/kbgp.sock' },
  {
    name: 'metricsAddress',
    type: 'host:port (`0.0.0.0:9179`, `[::1]:9179`, `:9179`)',
    default: 'off',
    description: 'Serves `/metrics`, `/healthz` and `/readyz` over HTTP.',
    example: '0.0.0.0:9179',
  },
  { name: 'maxPaths', type: 'integer 1..256', default: '`16`', description: 'Most paths in a prefix\'s multipath set (what ADD-PATH sends); 1 turns multipath off.', example: 4 },
  { name: 'alwaysCompareMed', type: 'boolean', default: '`false`', description: 'Compare MED between routes from different neighbouring ASes too.', example: true },
  {
    name: 'peerSettings',
    type: 'list',
    description: 'Per BGPPeer, what Calico\'s resource has no field for.',
    items: [
      { name: 'peer', type: 'BGPPeer name', required: true, description: 'A BGPPeer of this node (a `default` KbgpConfiguration may name BGPPeers only some nodes have).', example: 'p' },
      { name: 'passive', type: 'boolean', default: '`false`', description: 'Wait for the peer to connect.', example: true },
      { name: 'holdTime', type: 'duration: 0, or at least 3 s', default: '`timers.holdTime`', description: 'The hold time offered to this peer.', example: '90s' },
      {
        name: 'addPath',
        ...oneOf(ADD_PATH_SETTINGS),
        default: '`Both` (Calico\'s `add paths on`)',
        description: 'The ADD-PATH (RFC 7911) directions offered.',
        example: 'Receive',
      },
      mapping({
        name: 'maxPrefixes',
        description: 'Past `limit` prefixes in a family: Cease / Maximum Number of Prefixes Reached (RFC 4486), or only a warning.',
        fields: [
          { name: 'limit', type: 'integer 1..4294967295', required: true, description: 'Most prefixes accepted per family.', example: 1000 },
          duration('restartAfter', '`60s`', 'The session starts again this long after tripping; 0: never.', '2m'),
          { name: 'warningOnly', type: 'boolean', default: '`false`', description: 'Only log a warning; the session stays up.', example: true },
        ],
      }),
    ],
  },
  mapping({
    name: 'gracefulRestart',
    description: 'The two waits RFC 4724 leaves to configuration.',
    fields: [
      duration('stalePathTime', '`360s`', 'Helper: how long a restarted peer\'s stale routes wait for its End-of-RIB.', '5m'),
      duration('selectionDeferralTime', '`240s`', 'Restarting: how long kbgp waits for its peers\' End-of-RIB before sending its own.', '2m'),
    ],
  }),
  mapping({
    name: 'services',
    description: 'How Kubernetes changes become routes.',
    fields: [
      duration('coalesceWindow', '`100ms`', 'A burst of changes within this window reaches the RIB as one difference.', '250ms'),
      duration('minFlapInterval', '`5s`', 'A service /32 changes at most once per interval; 0: no hold-down.', '30s'),
      { name: 'advertisePodCIDRs', type: 'boolean', default: '`false`', description: 'Also advertise this node\'s `spec.podCIDRs`.', example: true },
    ],
  }),
  mapping({
    name: 'cluster',
    description: 'Where the cluster\'s state and Calico\'s resources come from (`kbgp run --kubernetes`, `--kubeconfig`, `--manifests` override `source`).',
    fields: [
      {
        name: 'source',
        ...oneOf(CLUSTER_SOURCES),
        default: '`None`',
        description: 'Services, EndpointSlices and this Node: from nowhere, the Kubernetes API, or a directory of manifests.',
        example: 'Kubernetes',
      },
      {
        name: 'kubeconfig',
        type: 'path',
        default: '`$KUBECONFIG`, `~/.kube/config`, then the pod\'s service account',
        description: 'With `source: Kubernetes` only: the kubeconfig file.',
        example: '/etc/kbgp/kubeconfig',
      },
      { name: 'manifests', type: 'directory', description: 'Required with `source: Manifests`, and only with it: the directory to follow.', example: '/etc/kbgp/cluster' },
      {
        name: 'calicoResources',
        ...oneOf(CALICO_RESOURCES),
        default: '`File`',
        description: '`Cluster` (needs `source: Kubernetes`): BGPConfiguration, BGPPeer and BGPFilter are read live from the cluster (crd.projectcalico.org/v1; none where Calico is not installed) beside the file\'s, and the Nodes only from the cluster (their labels, and their Calico annotations or InternalIP), so the mesh follows the cluster\'s nodes.',
        example: 'File',
      },
    ],
  }),
  {
    name: 'timers',
    type: 'mapping of durations',
    description: 'Session timers, every peer\'s.',
    fields: [
      duration('connectDelay', '`2s`', 'Before the first connection attempt.', '0.1s'),
      duration('connectRetryTime', '`5s`', 'Between connection attempts.', '1m30s'),
      duration('errorWaitMin', '`5s`', 'After a session error, before trying again; doubles after each error.', '1s'),
      duration('errorWaitMax', '`30s`', 'The most the wait after errors grows to.', '1m'),
      duration('holdTime', '`240s`', 'The hold time offered (RFC 4271 §4.2).', '90s'),
    ],
  },
  {
    name: 'originate',
    type: 'list of `{prefix, communities, largeCommunities}`',
    description: 'Prefixes this node originates, whatever the cluster holds.',
    items: [
      { name: 'prefix', type: PREFIX, required: true, description: 'The prefix.', example: '10.96.0.0/12' },
      { name: 'communities', type: 'list of `aa:nn` or well-known names (`no_export`)', description: 'Its communities.', example: ['64512:100', 'no_export'] },
      { name: 'largeCommunities', type: 'list of `aa:nn:mm`', description: 'Its large communities.', example: ['64512:1:2'] },
    ],
  },
];

export const KINDS: readonly KindSpec[] = [
  {
    kind: 'BGPConfiguration',
    apiVersion: CALICO_API,
    summary: 'The one named `default` applies to every node; one named `node.<name>` overrides it on that node, in the three fields Calico allows per node (below the table).',
    spec: BGP_CONFIGURATION,
  },
  {
    kind: 'BGPPeer',
    apiVersion: CALICO_API,
    summary: 'A peering, for every node unless `node` or `nodeSelector` narrows it: with `peerIP`, or with the other nodes `peerSelector` picks.',
    spec: BGP_PEER,
  },
  {
    kind: 'BGPFilter',
    apiVersion: CALICO_API,
    summary: 'Rules a BGPPeer\'s `filters` name, with BIRD\'s semantics as Calico renders them: the first matching rule of the first filter with one decides; no match accepts. Import filters run on routes as received (a refused route stays in Adj-RIB-In, shown as `filtered`); a change reaches the peer as the difference only, without a session reset.',
    spec: BGP_FILTER,
  },
  {
    kind: 'Node',
    apiVersion: CALICO_API,
    summary: 'The Node named like this node gives its addresses and AS; the other Nodes are mesh and peerSelector peers, and their labels are what selectors match.',
    spec: NODE,
  },
  {
    kind: 'KbgpConfiguration',
    apiVersion: KBGP_API,
    summary: 'kbgp\'s own settings for one node: the one whose `nodeName` (else name) is the node\'s, else the one named `default` without `nodeName`, which serves every node (a DaemonSet\'s case).',
    spec: KBGP_CONFIGURATION,
  },
];

/** Every document's envelope. */
export const DOCUMENT: ObjectSpec = [
  { name: 'apiVersion', type: `\`${CALICO_API}\`, or \`${KBGP_API}\` for KbgpConfiguration`, required: true, description: 'The kind\'s API version.', example: CALICO_API },
  { name: 'kind', type: wordList(KINDS.map((k) => `\`${k.kind}\``), 'or'), required: true, description: 'The kind.', example: 'BGPPeer' },
  {
    name: 'metadata',
    type: '`{name, labels, annotations, …}`',
    required: true,
    description: 'The document\'s identity.',
    fields: [
      { name: 'name', type: 'string', required: true, description: 'Errors name the document by kind and name; two documents of one kind may not share one.', example: 'p' },
      { name: 'labels', type: 'mapping of strings', description: 'On Nodes, what BGPPeer `nodeSelector` and `peerSelector` match; accepted on every kind.', example: { rack: 'r1' } },
      { name: 'annotations', type: 'mapping', description: 'Accepted and not read.', example: { owner: 'netops' } },
      // What `calicoctl get -o yaml` and `kubectl get -o yaml` print beside the name, so their output loads as it is.
      { name: 'uid', type: 'string', description: 'Accepted and not read (as `calicoctl get -o yaml` prints it).', example: '6f1c0a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b' },
      { name: 'resourceVersion', type: 'string', description: 'Accepted and not read.', example: '4711' },
      { name: 'creationTimestamp', type: 'timestamp', description: 'Accepted and not read.', example: '2026-11-01T00:00:00Z' },
      { name: 'generation', type: 'integer', description: 'Accepted and not read.', example: 1 },
    ],
  },
  { name: 'spec', type: 'mapping', description: 'The kind\'s fields, below.' },
];

export function kindSpec(kind: string): KindSpec | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** `a`, `a and b`, `a, b and c`. */
export function wordList(names: readonly string[], conjunction = 'and'): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} ${conjunction} ${names[names.length - 1]}`;
}

const perNodeNames = BGP_CONFIGURATION.filter((f) => f.perNode === true && f.refused === undefined)
  .map((f) => f.name)
  .sort();
export const PER_NODE_ONLY = `cannot be set per node (Calico allows only ${wordList(perNodeNames)} there)`;

/**
 * The spec of a `node.<name>` BGPConfiguration: the per-node fields as they are, every other
 * BGPConfiguration field refused (as Calico's validation refuses it).
 */
export const PER_NODE_BGP_CONFIGURATION: ObjectSpec = BGP_CONFIGURATION.map((f) => (f.perNode === true ? f : { ...f, refused: PER_NODE_ONLY }));
