/**
 * The bench's cluster, as plain Kubernetes objects for the test API server: service i is
 * `default/svc-<i>`, type LoadBalancer, externalTrafficPolicy Local, clusterIP 10.96.0.1 + i,
 * load-balancer ingress 10.200.0.1 + i; its one EndpointSlice `svc-<i>-1` holds E endpoints with pod
 * IPs from 10.128.0.1 on, endpoint 0 on this node and endpoint j > 0 on `node-<j>` (so 1 of E is
 * local, and the /32 depends on that one alone).
 *
 * The objects carry what a real API server serves beside the fields kbgp reads: managedFields,
 * the last-applied-configuration of a `kubectl apply`, ports, owner references, per endpoint a
 * targetRef and zone. kbgp's heap figure depends on what it keeps of them, so they are here.
 */

export const NODE_NAME = 'bench-node';
/** Other nodes' names: node-1 .. node-(E-1). */
export const otherNode = (j: number): string => `node-${j}`;

export const LB_RANGE = '10.200.0.0/16';
export const CLUSTER_RANGE = '10.96.0.0/12';
/** First address of each block, as 32-bit numbers. */
export const LB_FIRST = ip(10, 200, 0, 1);
export const CLUSTER_FIRST = ip(10, 96, 0, 1);
const POD_FIRST = ip(10, 128, 0, 1);
/** 10.200.0.1 .. 10.200.255.254. */
export const MAX_SERVICES = 65_534;
/** Pod IPs stay inside 10.128.0.0/9. */
export const MAX_ENDPOINTS = 8_000_000;

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export const serviceName = (i: number): string => `svc-${i}`;
export const sliceName = (i: number): string => `svc-${i}-1`;

const managedBy = (manager: string, operation: string, fields: object): object => ({
  manager,
  operation,
  apiVersion: 'v1',
  time: '2026-11-01T00:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: fields,
});

export function service(i: number): object {
  const clusterIP = formatIp(CLUSTER_FIRST + i);
  const name = serviceName(i);
  const spec = { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: 'default',
      uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { app: name, 'app.kubernetes.io/part-of': 'bench' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { app: name } }, spec }) },
      managedFields: [
        managedBy('kubectl-client-side-apply', 'Update', { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:externalTrafficPolicy': {}, 'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } }, 'f:selector': {}, 'f:type': {} } }),
        managedBy('metallb-controller', 'Update', { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } }),
      ],
    },
    spec: {
      ...spec,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30000 + (i % 2768) }],
      clusterIP,
      clusterIPs: [clusterIP],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      allocateLoadBalancerNodePorts: true,
      internalTrafficPolicy: 'Cluster',
      healthCheckNodePort: 32768 - (i % 2768),
    },
    status: { loadBalancer: { ingress: [{ ip: formatIp(LB_FIRST + i), ipMode: 'VIP' }] } },
  };
}

/** Service i's slice with `perService` endpoints; the local one (endpoint 0) ready or not. */
export function endpointSlice(i: number, perService: number, localReady: boolean): object {
  const name = serviceName(i);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(i),
      generateName: `${name}-`,
      namespace: 'default',
      uid: `00000000-0000-4000-9000-${i.toString(16).padStart(12, '0')}`,
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: name },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, controller: true, blockOwnerDeletion: true }],
      managedFields: [managedBy('kube-controller-manager', 'Update', { 'f:addressType': {}, 'f:endpoints': {}, 'f:metadata': { 'f:annotations': {}, 'f:generateName': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:ports': {} })],
    },
    addressType: 'IPv4',
    endpoints: Array.from({ length: perService }, (_, j) => {
      const ready = j === 0 ? localReady : true;
      return {
        addresses: [formatIp(POD_FIRST + i * perService + j)],
        conditions: { ready, serving: ready, terminating: false },
        nodeName: j === 0 ? NODE_NAME : otherNode(j),
        zone: `zone-${j % 3}`,
        targetRef: { kind: 'Pod', namespace: 'default', name: `${name}-${j}`, uid: `00000000-0000-4000-a000-${(i * perService + j).toString(16).padStart(12, '0')}` },
      };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}
