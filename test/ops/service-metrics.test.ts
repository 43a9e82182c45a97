/**
 * kbgp_service_prefixes: the prefixes a real decision originates, counted by the kind of address
 * and the rule that wants them. The kind comes from each reason's own field, for every kind and
 * rule there is.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/bgp/index.js';
import { decide } from '../../src/k8s/decide.js';
import type { EndpointSlice, Service } from '../../src/k8s/objects.js';
import { createMetrics } from '../../src/ops/metrics.js';

const HERE = 'node-1';

function service(name: string, policy: 'Local' | 'Cluster', addresses: { clusterIP: string; externalIP: string; ingress: string }): Service {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { type: 'LoadBalancer', clusterIP: addresses.clusterIP, clusterIPs: [addresses.clusterIP], externalIPs: [addresses.externalIP], externalTrafficPolicy: policy },
    status: { loadBalancer: { ingress: [{ ip: addresses.ingress }] } },
  } as Service;
}

function endpointOn(serviceName: string, nodeName: string): EndpointSlice {
  return {
    metadata: { name: `${serviceName}-1`, namespace: 'shop', labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], nodeName, conditions: { ready: true } }],
  } as EndpointSlice;
}

describe('kbgp_service_prefixes', () => {
  it('counts each originated prefix under the kind of its address and the rule that wants it', async () => {
    const decision = decide({
      nodeName: HERE,
      node: { metadata: { name: HERE }, spec: { podCIDRs: ['10.244.1.0/24'] } },
      // web is Local with an endpoint here: a /32 of each kind; web2 shares its addresses, and each
      // /32 is still counted once. api is Cluster, its endpoint elsewhere: the ranges cover its
      // clusterIP and externalIP, its LB IP is per service.
      services: [
        service('web', 'Local', { clusterIP: '10.96.0.10', externalIP: '192.0.2.7', ingress: '203.0.113.10' }),
        service('web2', 'Local', { clusterIP: '10.96.0.10', externalIP: '192.0.2.7', ingress: '203.0.113.10' }),
        service('api', 'Cluster', { clusterIP: '10.96.0.11', externalIP: '192.0.2.8', ingress: '203.0.113.11' }),
      ],
      endpointSlices: [endpointOn('web', HERE), endpointOn('web2', HERE), endpointOn('api', 'node-2')],
      serviceCidrs: { clusterIPs: [parsePrefix('10.96.0.0/12')], externalIPs: [parsePrefix('192.0.2.0/24')], loadBalancerIPs: [parsePrefix('203.0.113.0/24')], aggregation: false },
      aggregation: false,
      advertisePodCidrs: true,
    });
    const metrics = createMetrics(
      {
        peers: () => [],
        locRib: () => ({ ipv4: 0, ipv6: 0 }),
        services: () => ({ decision, source: { source: 'test', synced: true, healthy: true, detail: [] } }),
      },
      { processMetrics: false },
    );
    // The shared /32s are wanted twice (reference-counted).
    expect(decision.intents.find((i) => i.reasons.length === 2)?.reasons.map((r) => r.service)).toEqual(['shop/web', 'shop/web2']);
    const text = await metrics.registry.metrics();
    const samples = text
      .split('\n')
      .filter((l) => l.startsWith('kbgp_service_prefixes{'))
      .sort();
    expect(samples).toEqual([
      'kbgp_service_prefixes{kind="clusterIP",reason="local-endpoint"} 1',
      'kbgp_service_prefixes{kind="clusterIP",reason="service-cidr"} 1',
      'kbgp_service_prefixes{kind="externalIP",reason="local-endpoint"} 1',
      'kbgp_service_prefixes{kind="externalIP",reason="service-cidr"} 1',
      'kbgp_service_prefixes{kind="loadBalancer",reason="local-endpoint"} 1',
      'kbgp_service_prefixes{kind="loadBalancer",reason="per-service"} 1',
      'kbgp_service_prefixes{kind="podCIDR",reason="pod-cidr"} 1',
    ]);
  });
});
