/**
 * The bench's cluster, as plain Kubernetes objects for the test API server: service i is
 * `default/svc-<i>`, type LoadBalancer, externalTrafficPolicy Local, clusterIP 10.96.0.1 + i,
 * load-balancer ingress 10.200.0.1 + i; its one EndpointSlice `svc-<i>-1` holds E endpoints with pod
 * IPs from 10.128.0.1 on, endpoint 0 on this node and endpoint j > 0 on `node-<j>` (so 1 of E is
 * local, and the /32 depends on that one alone). Shapes as in test/k8s/watcher.test.ts.
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

export function service(i: number): object {
  const clusterIP = formatIp(CLUSTER_FIRST + i);
  return {
    metadata: { name: serviceName(i), namespace: 'default' },
    spec: { type: 'LoadBalancer', clusterIP, clusterIPs: [clusterIP], externalTrafficPolicy: 'Local', selector: { app: serviceName(i) } },
    status: { loadBalancer: { ingress: [{ ip: formatIp(LB_FIRST + i) }] } },
  };
}

/** Service i's slice with `perService` endpoints; the local one (endpoint 0) ready or not. */
export function endpointSlice(i: number, perService: number, localReady: boolean): object {
  return {
    metadata: { name: sliceName(i), namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName(i) } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: perService }, (_, j) => {
      const ready = j === 0 ? localReady : true;
      return {
        addresses: [formatIp(POD_FIRST + i * perService + j)],
        nodeName: j === 0 ? NODE_NAME : otherNode(j),
        conditions: { ready, serving: ready, terminating: false },
      };
    }),
  };
}
