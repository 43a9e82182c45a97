/**
 * decide(): Services, EndpointSlices and the Node in, intents and refusals out, as tables. Every
 * expectation is written out (prefix, reasons, communities, graceful shutdown; address, source and
 * reason of each refusal); nothing is computed by the code under test.
 *
 * Throughout: this node is node-1, the ranges are
 *   serviceClusterIPs      10.96.0.0/12     fd00:96::/108
 *   serviceExternalIPs     192.0.2.0/24     2001:db8:e::/64
 *   serviceLoadBalancerIPs 203.0.113.0/24   2001:db8:1b::/64
 * and a service's addresses are 10.96.0.10 / fd00:96::a (clusterIP), 192.0.2.10 (externalIP),
 * 203.0.113.10 / 2001:db8:1b::a (load balancer) unless a row says otherwise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Prefix, parsePrefix, formatPrefix, prefixContains } from '../../src/bgp/index.js';
import type { ServiceCidrs } from '../../src/config/config.js';
import { type DecisionInput, annotationProblems, decide, serviceAddresses, serviceKey } from '../../src/k8s/decide.js';
import { ServiceDecider } from '../../src/k8s/decider.js';
import { projectEndpointSlice, projectNode, projectService } from '../../src/k8s/projection.js';
import { type Decision, type Intent, prefixKey } from '../../src/k8s/intent.js';
import type { Endpoint, EndpointConditions, EndpointSlice, Node, Service } from '../../src/k8s/objects.js';

// ------------------------------------------------------------------------------------------------
// Builders

const HERE = 'node-1';
const OTHER = 'node-2';
const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

function cidrs(c: { clusterIPs?: string[]; externalIPs?: string[]; loadBalancerIPs?: string[] }): ServiceCidrs {
  return {
    clusterIPs: (c.clusterIPs ?? []).map((s) => parsePrefix(s)),
    externalIPs: (c.externalIPs ?? []).map((s) => parsePrefix(s)),
    loadBalancerIPs: (c.loadBalancerIPs ?? []).map((s) => parsePrefix(s)),
    // decide reads DecisionInput.aggregation; this copy is the config's and is not consulted.
    aggregation: true,
  };
}

const CIDRS = cidrs({
  clusterIPs: ['10.96.0.0/12', 'fd00:96::/108'],
  externalIPs: ['192.0.2.0/24', '2001:db8:e::/64'],
  loadBalancerIPs: ['203.0.113.0/24', '2001:db8:1b::/64'],
});

const R = {
  c4: '10.96.0.0/12 <- service-cidr serviceClusterIPs 10.96.0.0/12',
  e4: '192.0.2.0/24 <- service-cidr serviceExternalIPs 192.0.2.0/24',
  l4: '203.0.113.0/24 <- service-cidr serviceLoadBalancerIPs 203.0.113.0/24',
  e6: '2001:db8:e::/64 <- service-cidr serviceExternalIPs 2001:db8:e::/64',
  l6: '2001:db8:1b::/64 <- service-cidr serviceLoadBalancerIPs 2001:db8:1b::/64',
  c6: 'fd00:96::/108 <- service-cidr serviceClusterIPs fd00:96::/108',
};
/** The ranges, in prefix order (IPv4 first; 2001:db8:e:: sorts before 2001:db8:1b::). */
const ALL_RANGES = [R.c4, R.e4, R.l4, R.e6, R.l6, R.c6];
/** Aggregation off: the load-balancer ranges are not advertised as ranges. */
const NO_LB_RANGES = [R.c4, R.e4, R.e6, R.c6];

const CONDITIONS = {
  ready: { ready: true, serving: true, terminating: false },
  'nil conditions': {},
  'no conditions field': undefined,
  'null conditions': { ready: null, serving: null, terminating: null },
  'terminating, serving': { ready: false, serving: true, terminating: true },
  'terminating, not serving': { ready: false, serving: false, terminating: true },
  'not ready': { ready: false, serving: false, terminating: false },
  'not ready, serving nil': { ready: false },
  'terminating, not ready, serving nil (serving is then ready)': { ready: false, terminating: true },
  'ready and terminating (publishNotReadyAddresses)': { ready: true, serving: true, terminating: true },
} as const satisfies Record<string, EndpointConditions | undefined>;
type Cond = keyof typeof CONDITIONS;

/** An endpoint on `nodeName`; the slice gives it an address of its family unless one is given. */
function ep(nodeName: string | undefined, cond: Cond = 'ready', addresses?: string[]): Endpoint {
  const conditions = CONDITIONS[cond];
  return {
    ...(addresses !== undefined ? { addresses } : {}),
    ...(conditions !== undefined ? { conditions } : {}),
    ...(nodeName !== undefined ? { nodeName } : {}),
  };
}

let sliceSeq = 0;
function slice(service: string, family: 'IPv4' | 'IPv6' | 'FQDN', endpoints: Endpoint[] | null, ns = 'default'): EndpointSlice {
  const address = family === 'IPv4' ? '10.244.1.5' : family === 'IPv6' ? 'fd00:244::5' : 'pod.example.com';
  return {
    metadata: { name: `${service}-${++sliceSeq}`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: family,
    endpoints: endpoints === null ? null : endpoints.map((e) => (e.addresses === undefined ? { addresses: [address], ...e } : e)),
  };
}
const v4 = (service: string, ...eps: Endpoint[]): EndpointSlice => slice(service, 'IPv4', eps);
const v6 = (service: string, ...eps: Endpoint[]): EndpointSlice => slice(service, 'IPv6', eps);

interface SvcOptions {
  readonly ns?: string;
  /** null: no type field at all. */
  readonly type?: string | null;
  readonly policy?: 'Cluster' | 'Local';
  readonly clusterIP?: string;
  readonly clusterIPs?: string[];
  readonly externalIPs?: string[];
  readonly ingress?: string[];
  readonly annotations?: Record<string, string>;
}
/** A LoadBalancer service with clusterIP 10.96.0.10 and ingress 203.0.113.10 unless told otherwise. */
function svc(name: string, o: SvcOptions = {}): Service {
  const type = o.type === undefined ? 'LoadBalancer' : o.type;
  return {
    metadata: { name, namespace: o.ns ?? 'default', ...(o.annotations !== undefined ? { annotations: o.annotations } : {}) },
    spec: {
      ...(type !== null ? { type } : {}),
      ...(o.clusterIP !== undefined ? { clusterIP: o.clusterIP } : {}),
      ...(o.clusterIP === undefined || o.clusterIPs !== undefined ? { clusterIPs: o.clusterIPs ?? ['10.96.0.10'] } : {}),
      ...(o.externalIPs !== undefined ? { externalIPs: o.externalIPs } : {}),
      ...(o.policy !== undefined ? { externalTrafficPolicy: o.policy } : {}),
    },
    status: { loadBalancer: { ingress: (o.ingress ?? (type === 'LoadBalancer' ? ['203.0.113.10'] : [])).map((ip) => ({ ip })) } },
  };
}
const local = (name: string, o: SvcOptions = {}): Service => svc(name, { policy: 'Local', ...o });

function node(labels?: Record<string, string>, spec?: Node['spec']): Node {
  return { metadata: { name: HERE, ...(labels !== undefined ? { labels } : {}) }, ...(spec !== undefined ? { spec } : {}) };
}

function input(o: Partial<DecisionInput>): DecisionInput {
  return {
    nodeName: HERE,
    node: node(),
    services: [],
    endpointSlices: [],
    serviceCidrs: CIDRS,
    aggregation: true,
    advertisePodCidrs: false,
    ...o,
  };
}

// ------------------------------------------------------------------------------------------------
// Views: one line per intent and per refusal, so a row reads as the CLI would show it.

const community = (c: number): string => `${c >>> 16}:${c & 0xffff}`;

function intentLines(d: Decision): string[] {
  return d.intents.map((i) => {
    let line = `${formatPrefix(i.prefix)} <- ${i.reasons.map((r) => `${r.rule} ${r.source}`).join(', ')}`;
    if (i.communities.length > 0) line += ` | c ${i.communities.map(community).join(' ')}`;
    if (i.largeCommunities.length > 0) line += ` | lc ${i.largeCommunities.map((l) => `${l.globalAdmin}:${l.localData1}:${l.localData2}`).join(' ')}`;
    if (i.gracefulShutdown) line += ' | gshut';
    return line;
  });
}

function refusalLines(d: Decision): string[] {
  return d.notAdvertised.map((n) => `${n.address} ${n.source} ${n.reason}`);
}

/** The intents that are only the configured ranges, and the rest. */
function split(d: Decision): { ranges: string[]; intents: string[] } {
  const lines = intentLines(d);
  const pure = d.intents.map((i) => i.reasons.every((r) => r.rule === 'service-cidr'));
  return { ranges: lines.filter((_, k) => pure[k]), intents: lines.filter((_, k) => !pure[k]) };
}

interface Row {
  readonly services: Service[];
  readonly slices?: EndpointSlice[];
  /** null: no Node object. */
  readonly node?: Node | null;
  readonly aggregation?: boolean;
  readonly cidrs?: ServiceCidrs;
  /** Intents other than the pure configured ranges. */
  readonly intents: string[];
  readonly notAdvertised: string[];
  /** The pure configured ranges; ALL_RANGES unless given. */
  readonly ranges?: string[];
}

function check(row: Row): void {
  const d = decide(
    input({
      services: row.services,
      endpointSlices: row.slices ?? [],
      ...(row.node !== undefined ? { node: row.node ?? undefined } : {}),
      ...(row.aggregation !== undefined ? { aggregation: row.aggregation } : {}),
      ...(row.cidrs !== undefined ? { serviceCidrs: row.cidrs } : {}),
    }),
  );
  const { ranges, intents } = split(d);
  expect(intents).toEqual(row.intents);
  // Node-wide entries (excluded, not aggregated) have their own tests below.
  expect(refusalLines(d).filter((l) => !l.endsWith(' node node-excluded') && !l.endsWith(' node not-aggregated'))).toEqual(row.notAdvertised);
  expect(ranges).toEqual(row.ranges ?? ALL_RANGES);
}

// ------------------------------------------------------------------------------------------------
// Endpoint conditions × where the endpoint is × traffic policy

/** What each condition set means for advertising: an explicit table, not derived from the code. */
const SERVES: Record<Cond, 'ready' | 'draining' | 'none'> = {
  ready: 'ready',
  'nil conditions': 'ready',
  'no conditions field': 'ready',
  'null conditions': 'ready',
  'terminating, serving': 'draining',
  'terminating, not serving': 'none',
  'not ready': 'none',
  'not ready, serving nil': 'none',
  'terminating, not ready, serving nil (serving is then ready)': 'none',
  'ready and terminating (publishNotReadyAddresses)': 'draining',
};

describe('endpoint conditions × location × traffic policy (LoadBalancer web, one IPv4 endpoint)', () => {
  const conds = Object.keys(CONDITIONS) as Cond[];
  const rows: [string, Row][] = [];
  for (const cond of conds) {
    for (const where of [HERE, OTHER]) {
      const serves = SERVES[cond];
      const gshut = serves === 'draining' ? ' | c 65535:0 | gshut' : '';
      const slices = [v4('web', ep(where, cond))];
      const localServes = where === HERE && serves !== 'none';
      rows.push([
        `Local, ${cond}, on ${where}`,
        {
          services: [local('web')],
          slices,
          intents: localServes ? [`10.96.0.10/32 <- local-endpoint default/web clusterIP${gshut}`, `203.0.113.10/32 <- local-endpoint default/web loadBalancer${gshut}`] : [],
          notAdvertised: localServes ? [] : ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
        },
      ]);
      rows.push([`Cluster, aggregation on, ${cond}, on ${where}`, { services: [svc('web', { policy: 'Cluster' })], slices, intents: [], notAdvertised: [] }]);
      rows.push([
        `Cluster, aggregation off, ${cond}, on ${where}`,
        {
          services: [svc('web', { policy: 'Cluster' })],
          slices,
          aggregation: false,
          ranges: NO_LB_RANGES,
          intents: serves !== 'none' ? [`203.0.113.10/32 <- per-service default/web loadBalancer${gshut}`] : [],
          notAdvertised: serves !== 'none' ? [] : ['203.0.113.10 default/web no-serving-endpoint'],
        },
      ]);
    }
  }

  it('has every combination', () => {
    expect(rows.length).toBe(10 * 2 * 3);
  });

  it.each(rows)('%s', (_, row) => check(row));
});

// ------------------------------------------------------------------------------------------------
// The main table

const T: [string, Row][] = [
  // --- Local: which endpoints count
  [
    'Local LoadBalancer with an allowed externalIP: clusterIP, externalIP and ingress /32s',
    {
      services: [local('web', { externalIPs: ['192.0.2.10'] })],
      slices: [v4('web', ep(HERE))],
      intents: [
        '10.96.0.10/32 <- local-endpoint default/web clusterIP',
        '192.0.2.10/32 <- local-endpoint default/web externalIP',
        '203.0.113.10/32 <- local-endpoint default/web loadBalancer',
      ],
      notAdvertised: [],
    },
  ],
  [
    'Local NodePort with an externalIP (no ingress)',
    {
      services: [local('np', { type: 'NodePort', externalIPs: ['192.0.2.20'] })],
      slices: [v4('np', ep(HERE))],
      intents: ['10.96.0.10/32 <- local-endpoint default/np clusterIP', '192.0.2.20/32 <- local-endpoint default/np externalIP'],
      notAdvertised: [],
    },
  ],
  [
    'Local ClusterIP with externalIPs (the API allows eTP there): honoured',
    {
      services: [local('cip', { type: 'ClusterIP', externalIPs: ['192.0.2.30'] })],
      slices: [v4('cip', ep(OTHER))],
      intents: [],
      notAdvertised: ['10.96.0.10 default/cip no-local-serving-endpoint', '192.0.2.30 default/cip no-local-serving-endpoint'],
    },
  ],
  [
    'Local: one ready and one terminating-serving endpoint here: no graceful shutdown',
    {
      services: [local('web')],
      slices: [v4('web', ep(HERE, 'terminating, serving'), ep(HERE, 'ready'))],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP', '203.0.113.10/32 <- local-endpoint default/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'Local: ready elsewhere, only terminating-serving here: graceful shutdown (only local endpoints count)',
    {
      services: [local('web', { clusterIPs: ['10.96.0.10'] })],
      slices: [v4('web', ep(OTHER, 'ready'), ep(HERE, 'terminating, serving'))],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP | c 65535:0 | gshut', '203.0.113.10/32 <- local-endpoint default/web loadBalancer | c 65535:0 | gshut'],
      notAdvertised: [],
    },
  ],
  [
    'Local: the serving endpoint is in a second slice of the service',
    {
      services: [local('web')],
      slices: [v4('web', ep(HERE, 'not ready')), v4('web', ep(HERE, 'ready'))],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP', '203.0.113.10/32 <- local-endpoint default/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'Local: an endpoint without nodeName is not local',
    {
      services: [local('web')],
      slices: [v4('web', ep(undefined, 'ready'))],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'Local: an endpoint without addresses serves nothing',
    {
      services: [local('web')],
      slices: [v4('web', ep(HERE, 'ready', []))],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'Local: no EndpointSlice at all',
    {
      services: [local('web')],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'Local: a slice with endpoints null',
    {
      services: [local('web')],
      slices: [slice('web', 'IPv4', null)],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'Local: a slice of the same name in another namespace does not count',
    {
      services: [local('web')],
      slices: [slice('web', 'IPv4', [ep(HERE)], 'other')],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'Local in another namespace, with its own slice',
    {
      services: [local('web', { ns: 'shop' })],
      slices: [slice('web', 'IPv4', [ep(HERE)], 'shop'), v4('web')],
      intents: ['10.96.0.10/32 <- local-endpoint shop/web clusterIP', '203.0.113.10/32 <- local-endpoint shop/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'Local: an FQDN slice is ignored',
    {
      services: [local('web')],
      slices: [slice('web', 'FQDN', [ep(HERE)])],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],

  // --- configured ranges: membership
  [
    'Local, serviceClusterIPs empty: the clusterIP is outside, the ingress still advertised',
    {
      services: [local('web')],
      slices: [v4('web', ep(HERE))],
      cidrs: cidrs({ loadBalancerIPs: ['203.0.113.0/24'] }),
      ranges: [R.l4],
      intents: ['203.0.113.10/32 <- local-endpoint default/web loadBalancer'],
      notAdvertised: ['10.96.0.10 default/web outside-configured-cidrs'],
    },
  ],
  [
    'Local: ingress and externalIP outside their ranges (an externalIP in the LB range does not count)',
    {
      services: [local('web', { externalIPs: ['203.0.113.50'], ingress: ['198.51.100.10'] })],
      slices: [v4('web', ep(HERE))],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP'],
      notAdvertised: ['198.51.100.10 default/web outside-configured-cidrs', '203.0.113.50 default/web outside-configured-cidrs'],
    },
  ],
  [
    'Cluster: an address outside every range is reported even with no /32 wanted',
    {
      services: [svc('web', { policy: 'Cluster', clusterIPs: ['10.200.0.1'], externalIPs: ['192.0.2.10'] })],
      slices: [v4('web', ep(HERE))],
      intents: [],
      notAdvertised: ['10.200.0.1 default/web outside-configured-cidrs'],
    },
  ],
  [
    'Cluster, single-IP entry in serviceLoadBalancerIPs: per-service /32 with a ready endpoint elsewhere; the /32 entry is no range',
    {
      services: [svc('web', { ingress: ['198.51.100.7'] })],
      slices: [v4('web', ep(OTHER))],
      cidrs: cidrs({ clusterIPs: ['10.96.0.0/12'], loadBalancerIPs: ['203.0.113.0/24', '198.51.100.7/32'] }),
      ranges: ['10.96.0.0/12 <- service-cidr serviceClusterIPs 10.96.0.0/12', '203.0.113.0/24 <- service-cidr serviceLoadBalancerIPs 203.0.113.0/24'],
      intents: ['198.51.100.7/32 <- per-service default/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'Cluster, single-IP entry inside a wider entry: still per-service',
    {
      services: [svc('web', { ingress: ['203.0.113.77'] })],
      slices: [v4('web', ep(OTHER))],
      cidrs: cidrs({ loadBalancerIPs: ['203.0.113.0/24', '203.0.113.77/32'] }),
      ranges: [R.l4],
      intents: ['203.0.113.77/32 <- per-service default/web loadBalancer'],
      notAdvertised: ['10.96.0.10 default/web outside-configured-cidrs'],
    },
  ],
  [
    'Cluster, single-IP entry, no endpoint anywhere: withdrawn',
    {
      services: [svc('web', { ingress: ['198.51.100.7'] })],
      slices: [v4('web', ep(OTHER, 'not ready'))],
      cidrs: cidrs({ loadBalancerIPs: ['198.51.100.7/32'] }),
      ranges: [],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web outside-configured-cidrs', '198.51.100.7 default/web no-serving-endpoint'],
    },
  ],
  [
    'Local with a single-IP entry: local-endpoint only, not from every node',
    {
      services: [local('web', { ingress: ['198.51.100.7'] })],
      slices: [v4('web', ep(OTHER))],
      cidrs: cidrs({ clusterIPs: ['10.96.0.0/12'], loadBalancerIPs: ['198.51.100.7/32'] }),
      ranges: [R.c4],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '198.51.100.7 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'single-IP entry in serviceExternalIPs: advertised as a range, and with a Local service as one intent',
    {
      services: [local('web', { externalIPs: ['198.51.100.9'] })],
      slices: [v4('web', ep(HERE, 'terminating, serving'))],
      cidrs: cidrs({ externalIPs: ['198.51.100.9/32'] }),
      ranges: [],
      intents: ['198.51.100.9/32 <- service-cidr serviceExternalIPs 198.51.100.9/32, local-endpoint default/web externalIP'],
      notAdvertised: ['10.96.0.10 default/web outside-configured-cidrs', '203.0.113.10 default/web outside-configured-cidrs'],
    },
  ],

  // --- Cluster policy and service types
  [
    'Cluster ClusterIP with externalIPs: the ranges cover it',
    {
      services: [svc('cip', { type: 'ClusterIP', externalIPs: ['192.0.2.10'] })],
      slices: [v4('cip', ep(HERE))],
      intents: [],
      notAdvertised: [],
    },
  ],
  [
    'no type means ClusterIP; eTP unset means Cluster',
    { services: [svc('plain', { type: null, ingress: [] })], slices: [v4('plain', ep(HERE))], intents: [], notAdvertised: [] },
  ],
  [
    'a stale ingress on a ClusterIP service is not a load-balancer IP',
    {
      services: [local('was-lb', { type: 'ClusterIP', ingress: ['203.0.113.10'] })],
      slices: [v4('was-lb', ep(HERE))],
      intents: ['10.96.0.10/32 <- local-endpoint default/was-lb clusterIP'],
      notAdvertised: [],
    },
  ],
  [
    'aggregation off: clusterIP and externalIP of a Cluster service get no /32',
    {
      services: [svc('web', { policy: 'Cluster', externalIPs: ['192.0.2.10'] })],
      slices: [v4('web', ep(OTHER))],
      aggregation: false,
      ranges: NO_LB_RANGES,
      intents: ['203.0.113.10/32 <- per-service default/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'aggregation off: a Local service stays local-endpoint',
    {
      services: [local('web')],
      slices: [v4('web', ep(OTHER))],
      aggregation: false,
      ranges: NO_LB_RANGES,
      intents: [],
      notAdvertised: ['10.96.0.10 default/web no-local-serving-endpoint', '203.0.113.10 default/web no-local-serving-endpoint'],
    },
  ],
  [
    'aggregation off: no slice is no serving endpoint',
    {
      services: [svc('web')],
      aggregation: false,
      ranges: NO_LB_RANGES,
      intents: [],
      notAdvertised: ['203.0.113.10 default/web no-serving-endpoint'],
    },
  ],

  // --- node exclusion (the range refusals are checked in their own table)
  ...(
    [
      ['absent', undefined, false],
      ['""', '', true],
      ['"true"', 'true', true],
      ['"false"', 'false', false],
      ['"yes"', 'yes', true],
      ['"False" (only exactly "false" keeps the node in)', 'False', true],
    ] as const
  ).flatMap(([name, value, excluded]): [string, Row][] => {
    const n = node(value === undefined ? { 'kubernetes.io/os': 'linux' } : { [EXCLUDE]: value });
    return [
      [
        `exclusion label ${name}: Local service`,
        {
          services: [local('web', { externalIPs: ['192.0.2.10'] })],
          slices: [v4('web', ep(HERE))],
          node: n,
          ranges: excluded ? [] : ALL_RANGES,
          intents: excluded
            ? []
            : ['10.96.0.10/32 <- local-endpoint default/web clusterIP', '192.0.2.10/32 <- local-endpoint default/web externalIP', '203.0.113.10/32 <- local-endpoint default/web loadBalancer'],
          notAdvertised: excluded ? ['10.96.0.10 default/web node-excluded', '192.0.2.10 default/web node-excluded', '203.0.113.10 default/web node-excluded'] : [],
        },
      ],
      [
        `exclusion label ${name}: Cluster service, aggregation off`,
        {
          services: [svc('web')],
          slices: [v4('web', ep(OTHER))],
          node: n,
          aggregation: false,
          ranges: excluded ? [] : NO_LB_RANGES,
          intents: excluded ? [] : ['203.0.113.10/32 <- per-service default/web loadBalancer'],
          notAdvertised: excluded ? ['203.0.113.10 default/web node-excluded'] : [],
        },
      ],
    ];
  }),
  [
    'excluded, but outside the ranges: outside is the reason',
    {
      services: [local('web', { ingress: ['198.51.100.1'] })],
      slices: [v4('web', ep(HERE))],
      node: node({ [EXCLUDE]: 'true' }),
      ranges: [],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web node-excluded', '198.51.100.1 default/web outside-configured-cidrs'],
    },
  ],
  [
    'no Node object: not excluded',
    { services: [local('web')], slices: [v4('web', ep(HERE))], node: null, intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP', '203.0.113.10/32 <- local-endpoint default/web loadBalancer'], notAdvertised: [] },
  ],

  // --- families
  [
    'IPv6 single stack, Local, IPv6 slice ready here: /128s',
    {
      services: [local('v6', { clusterIPs: ['fd00:96::a'], ingress: ['2001:db8:1b::a'], externalIPs: ['2001:db8:e::a'] })],
      slices: [v6('v6', ep(HERE))],
      intents: ['2001:db8:e::a/128 <- local-endpoint default/v6 externalIP', '2001:db8:1b::a/128 <- local-endpoint default/v6 loadBalancer', 'fd00:96::a/128 <- local-endpoint default/v6 clusterIP'],
      notAdvertised: [],
    },
  ],
  [
    'IPv6 service with only an IPv4 slice: not served',
    {
      services: [local('v6', { clusterIPs: ['fd00:96::a'], ingress: ['2001:db8:1b::a'] })],
      slices: [v4('v6', ep(HERE))],
      intents: [],
      notAdvertised: ['2001:db8:1b::a default/v6 no-local-serving-endpoint', 'fd00:96::a default/v6 no-local-serving-endpoint'],
    },
  ],
  [
    'dual stack, only an IPv4 slice: IPv4 advertised, IPv6 not',
    {
      services: [local('dual', { clusterIPs: ['10.96.0.20', 'fd00:96::14'], ingress: ['203.0.113.20', '2001:db8:1b::14'] })],
      slices: [v4('dual', ep(HERE))],
      intents: ['10.96.0.20/32 <- local-endpoint default/dual clusterIP', '203.0.113.20/32 <- local-endpoint default/dual loadBalancer'],
      notAdvertised: ['2001:db8:1b::14 default/dual no-local-serving-endpoint', 'fd00:96::14 default/dual no-local-serving-endpoint'],
    },
  ],
  [
    'dual stack, IPv4 terminating-serving and IPv6 ready: only IPv4 drains',
    {
      services: [local('dual', { clusterIPs: ['10.96.0.20', 'fd00:96::14'], ingress: ['203.0.113.20', '2001:db8:1b::14'] })],
      slices: [v4('dual', ep(HERE, 'terminating, serving')), v6('dual', ep(HERE, 'ready'))],
      intents: [
        '10.96.0.20/32 <- local-endpoint default/dual clusterIP | c 65535:0 | gshut',
        '203.0.113.20/32 <- local-endpoint default/dual loadBalancer | c 65535:0 | gshut',
        '2001:db8:1b::14/128 <- local-endpoint default/dual loadBalancer',
        'fd00:96::14/128 <- local-endpoint default/dual clusterIP',
      ],
      notAdvertised: [],
    },
  ],
  [
    'dual stack, Cluster, aggregation off, IPv6 slice only: the IPv6 ingress only',
    {
      services: [svc('dual', { clusterIPs: ['10.96.0.20', 'fd00:96::14'], ingress: ['203.0.113.20', '2001:db8:1b::14'] })],
      slices: [v6('dual', ep(OTHER))],
      aggregation: false,
      ranges: NO_LB_RANGES,
      intents: ['2001:db8:1b::14/128 <- per-service default/dual loadBalancer'],
      notAdvertised: ['203.0.113.20 default/dual no-serving-endpoint'],
    },
  ],
  [
    'clusterIPs absent: spec.clusterIP is used',
    {
      services: [local('old', { clusterIP: '10.96.0.30' })],
      slices: [v4('old', ep(HERE))],
      intents: ['10.96.0.30/32 <- local-endpoint default/old clusterIP', '203.0.113.10/32 <- local-endpoint default/old loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'IPv6 addresses in any spelling come out in RFC 5952 form',
    {
      services: [local('v6', { clusterIPs: ['FD00:96:0:0:0:0:0:A'], ingress: ['2001:DB8:1B::A'] })],
      slices: [v6('v6', ep(HERE))],
      intents: ['2001:db8:1b::a/128 <- local-endpoint default/v6 loadBalancer', 'fd00:96::a/128 <- local-endpoint default/v6 clusterIP'],
      notAdvertised: [],
    },
  ],

  // --- annotations
  [
    'communities and large communities on the /32s, not on the ranges',
    {
      services: [local('web', { annotations: { 'kbgp.io/communities': '64512:100, no-export', 'kbgp.io/large-communities': '64512:1:1' } })],
      slices: [v4('web', ep(HERE))],
      intents: [
        '10.96.0.10/32 <- local-endpoint default/web clusterIP | c 64512:100 65535:65281 | lc 64512:1:1',
        '203.0.113.10/32 <- local-endpoint default/web loadBalancer | c 64512:100 65535:65281 | lc 64512:1:1',
      ],
      notAdvertised: [],
    },
  ],
  [
    'communities sorted, with 65535:0 while draining',
    {
      services: [local('web', { clusterIPs: [], annotations: { 'kbgp.io/communities': 'no-export,65535:5,1:1' } })],
      slices: [v4('web', ep(HERE, 'terminating, serving'))],
      intents: ['203.0.113.10/32 <- local-endpoint default/web loadBalancer | c 1:1 65535:0 65535:5 65535:65281 | gshut'],
      notAdvertised: [],
    },
  ],
  [
    'malformed community values are skipped, the rest kept',
    {
      services: [local('web', { clusterIPs: [], annotations: { 'kbgp.io/communities': '64512:100, banana, 70000:1,,', 'kbgp.io/large-communities': '1:2, 1:2:3:4, 7:8:9' } })],
      slices: [v4('web', ep(HERE))],
      intents: ['203.0.113.10/32 <- local-endpoint default/web loadBalancer | c 64512:100 | lc 7:8:9'],
      notAdvertised: [],
    },
  ],
  [
    'kbgp.io/advertise "false": opted out',
    {
      services: [local('web', { annotations: { 'kbgp.io/advertise': 'false' } })],
      slices: [v4('web', ep(HERE))],
      intents: [],
      notAdvertised: ['10.96.0.10 default/web opted-out', '203.0.113.10 default/web opted-out'],
    },
  ],
  [
    'projectcalico.org/exportBgpServiceRoutes "false": opted out',
    {
      services: [svc('web', { annotations: { 'projectcalico.org/exportBgpServiceRoutes': 'false' } })],
      slices: [v4('web', ep(HERE))],
      aggregation: false,
      ranges: NO_LB_RANGES,
      intents: [],
      notAdvertised: ['203.0.113.10 default/web opted-out'],
    },
  ],
  [
    'kbgp.io/advertise "true" and a nonsense value: advertised',
    {
      services: [local('a', { clusterIPs: [], annotations: { 'kbgp.io/advertise': 'true' } }), local('b', { clusterIPs: [], ingress: ['203.0.113.11'], annotations: { 'kbgp.io/advertise': 'nope' } })],
      slices: [v4('a', ep(HERE)), v4('b', ep(HERE))],
      intents: ['203.0.113.10/32 <- local-endpoint default/a loadBalancer', '203.0.113.11/32 <- local-endpoint default/b loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'opted out Cluster service under aggregation: the range still covers it, nothing to report',
    { services: [svc('web', { annotations: { 'kbgp.io/advertise': 'false' } })], slices: [v4('web', ep(HERE))], intents: [], notAdvertised: [] },
  ],

  // --- headless, ExternalName, garbage
  [
    'headless (clusterIP None)',
    { services: [svc('db', { type: 'ClusterIP', clusterIP: 'None', ingress: [] })], slices: [v4('db', ep(HERE))], intents: [], notAdvertised: ['None default/db headless'] },
  ],
  [
    'headless (clusterIPs [None]) with an externalIP',
    {
      services: [local('db', { type: 'ClusterIP', clusterIPs: ['None'], externalIPs: ['192.0.2.10'] })],
      slices: [v4('db', ep(HERE))],
      intents: [],
      notAdvertised: ['192.0.2.10 default/db headless', 'None default/db headless'],
    },
  ],
  [
    'ExternalName: nothing at all',
    { services: [local('ext', { type: 'ExternalName', clusterIPs: [], externalIPs: ['192.0.2.10'] })], slices: [], intents: [], notAdvertised: [] },
  ],
  [
    'garbage addresses are skipped, good ones kept',
    {
      services: [local('web', { clusterIPs: ['banana', '10.96.0.10'], externalIPs: ['192.0.2.999', '', '192.0.2.10/32'], ingress: ['300.1.1.1', '203.0.113.10'] })],
      slices: [v4('web', ep(HERE))],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP', '203.0.113.10/32 <- local-endpoint default/web loadBalancer'],
      notAdvertised: [],
    },
  ],
  [
    'a service without a name is skipped',
    { services: [{ metadata: { namespace: 'default' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIPs: ['10.96.0.10'] } }], slices: [v4('', ep(HERE))], intents: [], notAdvertised: [] },
  ],
  [
    'an absent namespace is default, on services and slices alike',
    {
      services: [{ metadata: { name: 'web' }, spec: { type: 'NodePort', externalTrafficPolicy: 'Local', clusterIPs: ['10.96.0.10'] } }],
      slices: [{ metadata: { labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: HERE }] }],
      intents: ['10.96.0.10/32 <- local-endpoint default/web clusterIP'],
      notAdvertised: [],
    },
  ],
  [
    'a selectorless service with a hand-made slice counts the same',
    {
      services: [{ metadata: { name: 'ext-db', namespace: 'default' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIPs: ['10.96.0.40'] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.40' }] } } }],
      slices: [{ metadata: { name: 'ext-db-manual', namespace: 'default', labels: { 'kubernetes.io/service-name': 'ext-db' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.2.3'], nodeName: HERE }] }],
      intents: ['10.96.0.40/32 <- local-endpoint default/ext-db clusterIP', '203.0.113.40/32 <- local-endpoint default/ext-db loadBalancer'],
      notAdvertised: [],
    },
  ],
];

describe('decide: services', () => {
  it('has its rows', () => {
    expect(T.length).toBe(62);
  });
  it.each(T)('%s', (_, row) => check(row));
});

// ------------------------------------------------------------------------------------------------
// One IP, several services: one intent, every reason, present while any service wants it

describe('shared IPs (reference counting)', () => {
  const shared = (name: string, annotations?: Record<string, string>): Service => local(name, { clusterIPs: [], ingress: ['203.0.113.10'], ...(annotations !== undefined ? { annotations } : {}) });

  it.each<[string, Row]>([
    [
      'both serve here: one intent, both reasons, communities merged',
      {
        services: [shared('b', { 'kbgp.io/communities': '64512:2,64512:1' }), shared('a', { 'kbgp.io/communities': '64512:1', 'kbgp.io/large-communities': '9:9:9' })],
        slices: [v4('a', ep(HERE)), v4('b', ep(HERE))],
        intents: ['203.0.113.10/32 <- local-endpoint default/a loadBalancer, local-endpoint default/b loadBalancer | c 64512:1 64512:2 | lc 9:9:9'],
        notAdvertised: [],
      },
    ],
    [
      'one serves, the other has no local endpoint: present, and the other refusal listed',
      {
        services: [shared('a'), shared('b')],
        slices: [v4('a', ep(OTHER)), v4('b', ep(HERE))],
        intents: ['203.0.113.10/32 <- local-endpoint default/b loadBalancer'],
        notAdvertised: ['203.0.113.10 default/a no-local-serving-endpoint'],
      },
    ],
    [
      'neither serves: withdrawn',
      {
        services: [shared('a'), shared('b')],
        slices: [v4('a', ep(OTHER)), v4('b', ep(HERE, 'not ready'))],
        intents: [],
        notAdvertised: ['203.0.113.10 default/a no-local-serving-endpoint', '203.0.113.10 default/b no-local-serving-endpoint'],
      },
    ],
    [
      'one ready, one draining: no graceful shutdown',
      {
        services: [shared('a'), shared('b')],
        slices: [v4('a', ep(HERE, 'terminating, serving')), v4('b', ep(HERE, 'ready'))],
        intents: ['203.0.113.10/32 <- local-endpoint default/a loadBalancer, local-endpoint default/b loadBalancer'],
        notAdvertised: [],
      },
    ],
    [
      'both draining: graceful shutdown',
      {
        services: [shared('a'), shared('b')],
        slices: [v4('a', ep(HERE, 'terminating, serving')), v4('b', ep(HERE, 'terminating, serving'))],
        intents: ['203.0.113.10/32 <- local-endpoint default/a loadBalancer, local-endpoint default/b loadBalancer | c 65535:0 | gshut'],
        notAdvertised: [],
      },
    ],
    [
      'one opted out, the other serving: present for the other',
      {
        services: [shared('a', { 'kbgp.io/advertise': 'false' }), shared('b')],
        slices: [v4('a', ep(HERE)), v4('b', ep(HERE))],
        intents: ['203.0.113.10/32 <- local-endpoint default/b loadBalancer'],
        notAdvertised: ['203.0.113.10 default/a opted-out'],
      },
    ],
    [
      'the same IP as externalIP and ingress of one service: two reasons, one intent',
      {
        services: [local('web', { clusterIPs: [], externalIPs: ['192.0.2.10', '192.0.2.10'], ingress: ['192.0.2.10'] })],
        slices: [v4('web', ep(HERE))],
        cidrs: cidrs({ externalIPs: ['192.0.2.0/24'], loadBalancerIPs: ['192.0.2.0/24'] }),
        ranges: ['192.0.2.0/24 <- service-cidr serviceExternalIPs 192.0.2.0/24, service-cidr serviceLoadBalancerIPs 192.0.2.0/24'],
        intents: ['192.0.2.10/32 <- local-endpoint default/web externalIP, local-endpoint default/web loadBalancer'],
        notAdvertised: [],
      },
    ],
  ])('%s', (_, row) => check(row));
});

// ------------------------------------------------------------------------------------------------
// Node-wide: ranges, exclusion, pod CIDRs

describe('node-wide decisions', () => {
  it('an excluded node lists each range it does not advertise, with the label', () => {
    const d = decide(input({ node: node({ [EXCLUDE]: '' }), aggregation: true }));
    expect(d.intents).toEqual([]);
    expect(d.notAdvertised).toEqual([
      { address: '10.96.0.0/12', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
      { address: '192.0.2.0/24', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
      { address: '203.0.113.0/24', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
      { address: '2001:db8:e::/64', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
      { address: '2001:db8:1b::/64', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
      { address: 'fd00:96::/108', source: 'node', reason: 'node-excluded', detail: `label ${EXCLUDE}=""` },
    ]);
  });

  it('says why a load-balancer range is not advertised as a range: aggregation Disabled, or an entry of one address', () => {
    const off = decide(input({ aggregation: false }));
    expect(off.notAdvertised).toEqual([
      { address: '203.0.113.0/24', source: 'node', reason: 'not-aggregated', detail: 'serviceLoadBalancerAggregation Disabled: a /32 per service instead' },
      { address: '2001:db8:1b::/64', source: 'node', reason: 'not-aggregated', detail: 'serviceLoadBalancerAggregation Disabled: a /32 per service instead' },
    ]);
    const single = decide(input({ serviceCidrs: cidrs({ loadBalancerIPs: ['198.51.100.7/32', '198.51.100.0/25'] }) }));
    expect(single.notAdvertised).toEqual([{ address: '198.51.100.7/32', source: 'node', reason: 'not-aggregated', detail: 'serviceLoadBalancerIPs entry of one address: a /32 per service instead' }]);
    expect(intentLines(single)).toEqual(['198.51.100.0/25 <- service-cidr serviceLoadBalancerIPs 198.51.100.0/25']);
  });

  it('a range in two lists is one intent with both reasons', () => {
    const d = decide(input({ serviceCidrs: cidrs({ clusterIPs: ['10.0.0.0/8'], externalIPs: ['10.0.0.0/8'] }) }));
    expect(intentLines(d)).toEqual(['10.0.0.0/8 <- service-cidr serviceClusterIPs 10.0.0.0/8, service-cidr serviceExternalIPs 10.0.0.0/8']);
  });

  it('nothing configured, nothing given: nothing', () => {
    expect(decide(input({ serviceCidrs: cidrs({}) }))).toEqual({ intents: [], notAdvertised: [] });
  });

  it.each<[string, Node | undefined, boolean, string[]]>([
    ['off by default', node(undefined, { podCIDRs: ['10.244.1.0/24'] }), false, []],
    ['podCIDRs, both families', node(undefined, { podCIDR: '10.9.9.0/24', podCIDRs: ['fd00:244:1::/64', '10.244.1.0/24'] }), true, ['10.244.1.0/24 <- pod-cidr podCIDRs 10.244.1.0/24', 'fd00:244:1::/64 <- pod-cidr podCIDRs fd00:244:1::/64']],
    ['podCIDR when podCIDRs is absent', node(undefined, { podCIDR: '10.244.2.0/24' }), true, ['10.244.2.0/24 <- pod-cidr podCIDRs 10.244.2.0/24']],
    ['an excluded node still advertises its pod CIDRs', node({ [EXCLUDE]: 'true' }, { podCIDRs: ['10.244.3.0/24'] }), true, ['10.244.3.0/24 <- pod-cidr podCIDRs 10.244.3.0/24']],
    ['garbage pod CIDRs are skipped', node(undefined, { podCIDRs: ['10.244.4.1/24', 'banana', '10.244.5.0/24'] }), true, ['10.244.5.0/24 <- pod-cidr podCIDRs 10.244.5.0/24']],
    ['no Node: no pod CIDRs', undefined, true, []],
  ])('pod CIDRs: %s', (_, n, on, want) => {
    const d = decide(input({ node: n, advertisePodCidrs: on, serviceCidrs: cidrs({}) }));
    expect(intentLines(d)).toEqual(want);
  });
});

// ------------------------------------------------------------------------------------------------
// Order, details, annotation problems

describe('output form', () => {
  it('intents in prefix order: IPv4 before IPv6, then address, then length; refusals node first, then by service and address', () => {
    const d = decide(
      input({
        node: node({ [EXCLUDE]: 'true' }, { podCIDRs: ['fd00:244:1::/64', '10.244.1.0/24', '10.244.0.0/16'] }),
        advertisePodCidrs: true,
        serviceCidrs: cidrs({ loadBalancerIPs: ['203.0.113.0/24'], externalIPs: ['2001:db8::/64'] }),
        services: [local('z', { ingress: ['203.0.113.2'] }), local('a', { ingress: ['203.0.113.9', '203.0.113.10'] })],
      }),
    );
    expect(d.intents.map((i) => formatPrefix(i.prefix))).toEqual(['10.244.0.0/16', '10.244.1.0/24', 'fd00:244:1::/64']);
    expect(refusalLines(d)).toEqual([
      '203.0.113.0/24 node node-excluded',
      '2001:db8::/64 node node-excluded',
      '10.96.0.10 default/a outside-configured-cidrs',
      '203.0.113.9 default/a node-excluded',
      '203.0.113.10 default/a node-excluded',
      '10.96.0.10 default/z outside-configured-cidrs',
      '203.0.113.2 default/z node-excluded',
    ]);
  });

  it('the refusal details name the label, the annotation, the ranges and the node', () => {
    const d = decide(
      input({
        serviceCidrs: cidrs({ loadBalancerIPs: ['203.0.113.0/24', '198.51.100.0/24'] }),
        services: [local('web'), local('off', { clusterIPs: [], ingress: ['203.0.113.5'], annotations: { 'kbgp.io/advertise': 'False' } }), local('v6', { clusterIPs: [], ingress: ['2001:db8:1b::1'] })],
      }),
    );
    expect(d.notAdvertised).toEqual([
      { address: '203.0.113.5', source: 'default/off', reason: 'opted-out', detail: 'annotation kbgp.io/advertise="False"' },
      { address: '2001:db8:1b::1', source: 'default/v6', reason: 'outside-configured-cidrs', detail: 'loadBalancer: not inside serviceLoadBalancerIPs 203.0.113.0/24, 198.51.100.0/24' },
      { address: '10.96.0.10', source: 'default/web', reason: 'outside-configured-cidrs', detail: 'clusterIP: serviceClusterIPs is empty' },
      { address: '203.0.113.10', source: 'default/web', reason: 'no-local-serving-endpoint', detail: 'loadBalancer: no ready or terminating-serving IPv4 endpoint on node-1' },
    ]);
    const off = decide(input({ aggregation: false, services: [svc('web', { clusterIPs: [] })], node: node({ [EXCLUDE]: 'false' }) }));
    expect(off.notAdvertised).toEqual([
      { address: '203.0.113.0/24', source: 'node', reason: 'not-aggregated', detail: 'serviceLoadBalancerAggregation Disabled: a /32 per service instead' },
      { address: '2001:db8:1b::/64', source: 'node', reason: 'not-aggregated', detail: 'serviceLoadBalancerAggregation Disabled: a /32 per service instead' },
      { address: '203.0.113.10', source: 'default/web', reason: 'no-serving-endpoint', detail: 'loadBalancer: no ready or terminating-serving IPv4 endpoint on any node' },
    ]);
  });

  it('a Decision is plain data: the prefixes are the bgp Prefix shapes', () => {
    const d = decide(input({ serviceCidrs: cidrs({ clusterIPs: ['10.96.0.0/12', 'fd00:96::/108'] }) }));
    expect(d.intents.map((i) => i.prefix)).toEqual([parsePrefix('10.96.0.0/12'), parsePrefix('fd00:96::/108')]);
    expect(d.intents[0]).toEqual({ prefix: parsePrefix('10.96.0.0/12'), reasons: [{ rule: 'service-cidr', kind: 'clusterIP', source: 'serviceClusterIPs 10.96.0.0/12' }], communities: [], largeCommunities: [], gracefulShutdown: false });
  });

  it('annotationProblems names each skipped value, sorted by service', () => {
    const services = [
      local('web', { annotations: { 'kbgp.io/communities': '64512:100, banana', 'kbgp.io/large-communities': '1:2' } }),
      local('api', { ns: 'shop', annotations: { 'kbgp.io/advertise': 'nope', 'projectcalico.org/exportBgpServiceRoutes': 'true' } }),
      local('fine', { annotations: { 'kbgp.io/communities': 'no-export, GRACEFUL_SHUTDOWN', 'kbgp.io/advertise': 'false' } }),
    ];
    expect(annotationProblems(services)).toEqual([
      'default/web: kbgp.io/communities: "banana" is not a community (expected aa:nn with both parts 0..65535, or a well-known name); skipped',
      'default/web: kbgp.io/large-communities: "1:2" is not a large community (expected a:b:c, each 0..4294967295); skipped',
      'shop/api: kbgp.io/advertise "nope" is neither "true" nor "false"; ignored',
    ]);
    expect(annotationProblems([])).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// Properties: total on any partial object, and independent of the order of services and slices

const ip = fc.constantFrom('10.96.0.10', '10.96.0.11', '203.0.113.10', '203.0.113.11', '192.0.2.10', '198.51.100.1', 'fd00:96::a', '2001:db8:1b::a', '2001:db8:e::a', 'None', '', 'banana', '::ffff:10.96.0.10', '1.2.3.4.5');
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined | null> => fc.oneof(a, fc.constant(undefined), fc.constant(null));
const junk = fc.anything({ maxDepth: 2 });
const names = fc.constantFrom('a', 'b', 'c');
const nss = fc.constantFrom('default', 'shop', '');

const conditionsArb = fc.record({ ready: maybe(fc.boolean()), serving: maybe(fc.boolean()), terminating: maybe(fc.boolean()) }, { requiredKeys: [] });
const endpointArb = fc.record(
  { addresses: maybe(fc.array(fc.oneof(ip, fc.constant('fd00:244::5')), { maxLength: 2 })), conditions: maybe(conditionsArb), nodeName: maybe(fc.constantFrom(HERE, OTHER, '')) },
  { requiredKeys: [] },
);
const metaArb = (labels: fc.Arbitrary<Record<string, string> | undefined | null>): fc.Arbitrary<object> =>
  fc.record(
    {
      name: maybe(names),
      namespace: maybe(nss),
      labels,
      annotations: maybe(
        fc.dictionary(fc.constantFrom('kbgp.io/advertise', 'projectcalico.org/exportBgpServiceRoutes', 'kbgp.io/communities', 'kbgp.io/large-communities'), fc.constantFrom('false', 'true', '64512:1, no-export', '1:2:3', 'x,,y', '')),
      ),
    },
    { requiredKeys: [] },
  );
const serviceArb = fc.record(
  {
    metadata: maybe(metaArb(fc.constant(undefined))),
    spec: maybe(
      fc.record(
        {
          type: maybe(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Weird')),
          clusterIP: maybe(ip),
          clusterIPs: maybe(fc.array(ip, { maxLength: 3 })),
          externalIPs: maybe(fc.array(ip, { maxLength: 3 })),
          externalTrafficPolicy: maybe(fc.constantFrom('Cluster', 'Local')),
        },
        { requiredKeys: [] },
      ),
    ),
    status: maybe(fc.record({ loadBalancer: maybe(fc.record({ ingress: maybe(fc.array(fc.record({ ip: maybe(ip), hostname: maybe(fc.constant('lb.example.com')) }, { requiredKeys: [] }), { maxLength: 2 })) }, { requiredKeys: [] })) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const sliceArb = fc.record(
  {
    metadata: maybe(metaArb(maybe(fc.record({ 'kubernetes.io/service-name': names })))),
    addressType: maybe(fc.constantFrom('IPv4', 'IPv6', 'FQDN', 'ipv4')),
    endpoints: maybe(fc.array(maybe(endpointArb), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const nodeArb = maybe(
  fc.record(
    {
      metadata: maybe(fc.record({ labels: maybe(fc.dictionary(fc.constantFrom(EXCLUDE, 'other'), fc.constantFrom('', 'true', 'false'))) }, { requiredKeys: [] })),
      spec: maybe(fc.record({ podCIDR: maybe(fc.constantFrom('10.244.1.0/24', 'bad')), podCIDRs: maybe(fc.array(fc.constantFrom('10.244.1.0/24', 'fd00:244::/64', '10.244.1.1/24', 'x'), { maxLength: 2 })) }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  ),
);
const configArb = fc.record({
  serviceCidrs: fc.constantFrom(CIDRS, cidrs({}), cidrs({ loadBalancerIPs: ['203.0.113.10/32', '0.0.0.0/0', '::/0'], clusterIPs: ['10.96.0.0/12'] })),
  aggregation: fc.boolean(),
  advertisePodCidrs: fc.boolean(),
});

/** Objects shaped like the API's, with any field missing, null or of the wrong type. */
const worldArb = fc.record({
  services: fc.array(fc.oneof({ weight: 8, arbitrary: serviceArb }, { weight: 1, arbitrary: junk }), { maxLength: 5 }),
  slices: fc.array(fc.oneof({ weight: 8, arbitrary: sliceArb }, { weight: 1, arbitrary: junk }), { maxLength: 6 }),
  node: fc.oneof({ weight: 8, arbitrary: nodeArb }, { weight: 1, arbitrary: junk }),
  config: configArb,
});

/** Few names and few addresses, all inside the ranges: services share IPs and refusals collide. */
const crowdedArb = fc.record({
  services: fc.array(
    fc.record({
      name: names,
      policy: fc.constantFrom<'Local' | 'Cluster'>('Local', 'Local', 'Cluster'),
      ip: fc.constantFrom('203.0.113.10', '203.0.113.11', '2001:db8:1b::a'),
      communities: fc.constantFrom('', '64512:1', '64512:2, no-export', 'bad'),
      advertise: fc.constantFrom('true', 'false'),
    }),
    { maxLength: 6 },
  ).map((xs) => xs.map((x): unknown => local(x.name, { policy: x.policy, clusterIPs: [], ingress: [x.ip], annotations: { 'kbgp.io/communities': x.communities, 'kbgp.io/advertise': x.advertise } }))),
  slices: fc.array(
    fc.record({ name: names, family: fc.constantFrom<'IPv4' | 'IPv6'>('IPv4', 'IPv6'), where: fc.constantFrom(HERE, OTHER), cond: fc.constantFrom<Cond>('ready', 'terminating, serving', 'not ready') }),
    { maxLength: 6 },
  ).map((xs) => xs.map((x): unknown => slice(x.name, x.family, [ep(x.where, x.cond)]))),
  node: fc.constant<unknown>(node()),
  config: fc.record({ serviceCidrs: fc.constant(CIDRS), aggregation: fc.boolean(), advertisePodCidrs: fc.constant(false) }),
});

function run(w: { services: unknown[]; slices: unknown[]; node: unknown; config: Pick<DecisionInput, 'serviceCidrs' | 'aggregation' | 'advertisePodCidrs'> }): Decision {
  // The casts are the point: decide must cope with whatever a manifest or a broken client hands it.
  return decide({ nodeName: HERE, node: w.node as Node, services: w.services as Service[], endpointSlices: w.slices as EndpointSlice[], ...w.config });
}

describe('properties', () => {
  it('never throws, and gives one intent per prefix in prefix order, each with a reason', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const d = run(w);
        const prefixes = d.intents.map((i) => formatPrefix(i.prefix));
        expect(new Set(prefixes).size).toBe(prefixes.length);
        for (const i of d.intents) expect(i.reasons.length).toBeGreaterThan(0);
        // Family, then address octets, then length, as fixed-width hex: sorted as text.
        const key = (p: Prefix): string => [p.afi, ...(typeof p.address === 'number' ? [p.address >>> 24, (p.address >>> 16) & 0xff, (p.address >>> 8) & 0xff, p.address & 0xff] : [...p.address]), p.length].map((n) => n.toString(16).padStart(2, '0')).join('');
        const keys = d.intents.map((i) => key(i.prefix));
        expect(keys).toEqual([...keys].sort());
      }),
      { numRuns: 2000 },
    );
  });

  it("each reason's kind and service (what explain and the metrics read) agree with its rule, its words and the world", () => {
    const FIELD = { clusterIP: 'serviceClusterIPs', externalIP: 'serviceExternalIPs', loadBalancer: 'serviceLoadBalancerIPs' } as const;
    const RANGES = { clusterIP: 'clusterIPs', externalIP: 'externalIPs', loadBalancer: 'loadBalancerIPs' } as const;
    // Local services with an address of every kind, so every kind of per-service route occurs.
    const everyKindArb = crowdedArb.chain((w) =>
      fc.record({
        services: fc.tuple(...w.services.map(() => fc.tuple(fc.constantFrom('10.96.0.7', 'fd00:96::7'), fc.constantFrom('192.0.2.7', '2001:db8:e::7')))).map((extra) =>
          w.services.map((svc, i) => {
            const s = svc as Service;
            const [cluster = '', external = ''] = extra[i] ?? [];
            return { ...s, spec: { ...s.spec, clusterIPs: [cluster], externalIPs: [external] } };
          }),
        ),
        slices: fc.constant(w.slices),
        node: fc.constant(w.node),
        config: fc.constant(w.config),
      }),
    );
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.oneof(worldArb, crowdedArb, everyKindArb), (w) => {
        // The worlds may name two services alike; the decision takes both.
        const addressesOf = (key: string): string[] => (w.services as Service[]).filter((s) => serviceKey(s.metadata) === key).flatMap(serviceAddresses);
        for (const i of run(w).intents) {
          for (const r of i.reasons) {
            if (r.rule === 'pod-cidr') {
              expect([r.kind, r.service]).toEqual(['podCIDR', undefined]);
            } else if (r.rule === 'service-cidr') {
              expect(r.kind === 'podCIDR' ? undefined : FIELD[r.kind], r.source).toBe(r.source.split(' ')[0]);
              expect(r.service).toBeUndefined();
            } else {
              seen.add(r.kind);
              const address = formatPrefix(i.prefix).split('/')[0] ?? '';
              expect(r.service, `${r.rule}: ${r.source}`).toBeDefined();
              expect(r.source).toBe(`${r.service ?? ''} ${r.kind}`);
              expect(addressesOf(r.service ?? '')).toContain(address);
              // Advertised per service only inside a configured range of its own kind.
              expect(r.kind === 'podCIDR' ? false : w.config.serviceCidrs[RANGES[r.kind]].some((range) => prefixContains(range, address)), `${r.source} ${address}`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
    // The worlds hold per-service routes of every kind, so the branch above ran for each.
    expect([...seen].sort()).toEqual(['clusterIP', 'externalIP', 'loadBalancer']);
  });

  it('never throws on anything at all in the object lists', () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 4 }), fc.array(fc.anything(), { maxLength: 4 }), fc.anything(), (services, slices, n) => {
        run({ services, slices, node: n, config: { serviceCidrs: CIDRS, aggregation: false, advertisePodCidrs: true } });
        annotationProblems(services as Service[]);
      }),
      { numRuns: 500 },
    );
  });

  it('the order of services and slices does not matter', () => {
    fc.assert(
      fc.property(
        fc.oneof(worldArb, crowdedArb).chain((w) =>
          fc.record({
            w: fc.constant(w),
            services: fc.shuffledSubarray(w.services, { minLength: w.services.length, maxLength: w.services.length }),
            slices: fc.shuffledSubarray(w.slices, { minLength: w.slices.length, maxLength: w.slices.length }),
          }),
        ),
        ({ w, services, slices }) => {
          expect(run({ ...w, services, slices })).toEqual(run(w));
          expect(annotationProblems(services as Service[])).toEqual(annotationProblems(w.services as Service[]));
        },
      ),
      { numRuns: 1000 },
    );
  });
  /**
   * The incremental decider against the reference: a pool of objects, and a history of states each
   * keeping, dropping and bringing back objects of the pool (identity kept, as the watch stores
   * keep an unchanged object), with the node and the configuration switching between the pool's.
   */
  it('ServiceDecider decides as decide() does after every step of any history, and reports exactly the intents that changed', () => {
    const stepArb = fc.record({ services: fc.nat(), slices: fc.nat(), node: fc.nat(), config: fc.nat() });
    fc.assert(
      fc.property(fc.array(fc.oneof(worldArb, crowdedArb), { minLength: 1, maxLength: 3 }), fc.array(stepArb, { minLength: 1, maxLength: 8 }), (pool, steps) => {
        const services = pool.flatMap((w) => w.services);
        const slices = pool.flatMap((w) => w.slices);
        const pick = <T,>(xs: T[], mask: number): T[] => xs.filter((_, i) => ((mask >>> i % 30) & 1) === 1);
        const decider = new ServiceDecider();
        const held = new Map<string, Intent>();
        for (const step of steps) {
          const world = {
            services: pick(services, step.services),
            slices: pick(slices, step.slices),
            node: (pool[step.node % pool.length] as (typeof pool)[number]).node,
            config: (pool[step.config % pool.length] as (typeof pool)[number]).config,
          };
          const changes = decider.update({ nodeName: HERE, node: world.node as Node, services: world.services as Service[], endpointSlices: world.slices as EndpointSlice[], ...world.config });
          const before = new Map(held);
          for (const [k, v] of changes) {
            if (v === undefined) held.delete(k);
            else held.set(k, v);
          }
          const expected = run(world);
          expect(decider.decision).toEqual(expected);
          expect(held).toEqual(new Map(expected.intents.map((i) => [prefixKey(i.prefix), i])));
          // Nothing reported that did not change.
          for (const [k, v] of changes) expect(v).not.toEqual(before.get(k));
          expect(decider.problems()).toEqual(annotationProblems(world.services as Service[]));
        }
      }),
      { numRuns: 1000 },
    );
  });
  it('what the watcher keeps of each object (projection.ts) decides as the whole object does', () => {
    fc.assert(
      fc.property(fc.oneof(worldArb, crowdedArb), (w) => {
        const kept = { ...w, services: w.services.map(projectService), slices: w.slices.map(projectEndpointSlice), node: projectNode(w.node) };
        expect(run(kept)).toEqual(run(w));
        expect(annotationProblems(kept.services)).toEqual(annotationProblems(w.services as Service[]));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('serviceAddresses (what kbgp explain looks up)', () => {
  it('names the addresses as the decision does: RFC 5952 text, clusterIP when clusterIPs is empty, ingress IPs only on a LoadBalancer, each once', () => {
    const svc = (type: string, extra: Record<string, unknown> = {}): Service =>
      ({ metadata: { name: 'a' }, spec: { type, clusterIP: '10.96.0.10', clusterIPs: [], externalIPs: ['2001:DB8:E:0::1', '192.0.2.10', '192.0.2.10'], ...extra }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { hostname: 'x' }] } } }) as Service;
    expect(serviceAddresses(svc('LoadBalancer'))).toEqual(['10.96.0.10', '2001:db8:e::1', '192.0.2.10', '203.0.113.10']);
    expect(serviceAddresses(svc('NodePort'))).toEqual(['10.96.0.10', '2001:db8:e::1', '192.0.2.10']);
    expect(serviceAddresses(svc('ClusterIP', { clusterIPs: ['None'], clusterIP: 'None' }))).toEqual(['2001:db8:e::1', '192.0.2.10']);
  });
});
