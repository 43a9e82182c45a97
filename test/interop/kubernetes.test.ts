/**
 * End to end: the in-repo Kubernetes API server → kbgp (its production watcher, in process) → BIRD
 * on loopback. A LoadBalancer service with externalTrafficPolicy Local appears in BIRD as a /32
 * when an endpoint on kbgp's node becomes ready, carries GRACEFUL_SHUTDOWN while that endpoint is
 * only terminating-but-serving, and disappears when it is deleted; the configured ranges stay
 * throughout. Addresses 127.0.13.x, kbgp on 11800 + the last octet.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/fsm/clock.js';
import { KubernetesApiSource } from '../../src/k8s/api-source.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type K8sApiServer, startK8sApiServer } from '../helpers/k8s-api-server.js';
import { removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import { ROUTER_BINARIES, startBird, stopAllRouters, waitFor } from '../helpers/routers.js';

const apis: K8sApiServer[] = [];
afterEach(async () => {
  await stopAllKbgp();
  await stopAllRouters();
  for (const a of apis.splice(0)) await a.close();
});
afterAll(removeKbgpLogs);

const NODE = 'worker-1';

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird) === undefined)('Kubernetes API → kbgp → BIRD', () => {
  it('a Local LoadBalancer service reaches BIRD as a /32 while an endpoint on this node serves, and leaves when it is deleted', { timeout: 60_000 }, async () => {
    const kAddr = '127.0.13.1';
    const birdAddr = '127.0.13.2';
    const api = await startK8sApiServer({ bookmarkIntervalMs: 500 });
    apis.push(api);
    api.create('Node', { metadata: { name: NODE, labels: {} } });
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const k = await startKbgp({
      name: 'kubernetes',
      nodeName: NODE,
      address: kAddr,
      port: 11801,
      asn: 64512,
      routerId: kAddr,
      ipv4Address: kAddr,
      peers: [{ address: birdAddr, port: 179, asn: 65013 }],
      bgpConfiguration: { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }], serviceLoadBalancerIPs: [{ cidr: '203.0.113.0/24' }] },
      services: { coalesceWindow: '50ms', minFlapInterval: '0s' },
      cluster: (logger) => new KubernetesApiSource({ kubeConfig: kc, nodeName: NODE, clock: systemClock, random: Math.random, logger }),
    });
    const bird = await startBird({ routerId: birdAddr, asn: 65013, address: birdAddr, peers: [{ address: kAddr, port: 11801, asn: 64512 }] });
    const ctx = (): string => `\n${k.describe(30)}\n${bird.logTail(20)}`;
    const atBird = async (): Promise<Map<string, string[]>> => new Map((await bird.routes('ipv4')).map((r) => [r.prefix, r.communities]));
    await waitFor(async () => ((await atBird()).size === 2 ? true : undefined), 20_000, () => `BIRD to hold the two ranges${ctx()}`);
    expect([...(await atBird()).keys()].sort()).toEqual(['10.96.0.0/12', '203.0.113.0/24']);

    api.create('Service', {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.5.5', clusterIPs: ['10.96.5.5'], externalTrafficPolicy: 'Local', selector: { app: 'web' } },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.50' }] } },
    });
    const slice = (conditions: { ready: boolean; serving: boolean; terminating: boolean }) => ({
      metadata: { name: 'web-x1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.3.9'], nodeName: NODE, conditions }],
    });
    // The pod is scheduled here but not ready yet: nothing.
    api.create('EndpointSlice', slice({ ready: false, serving: false, terminating: false }));
    await new Promise((r) => setTimeout(r, 500));
    expect((await atBird()).has('203.0.113.50/32')).toBe(false);
    // Ready: the /32s of its LB IP and cluster IP.
    api.update('EndpointSlice', slice({ ready: true, serving: true, terminating: false }));
    await waitFor(async () => ((await atBird()).has('203.0.113.50/32') ? true : undefined), 10_000, () => `BIRD to hold the /32${ctx()}`);
    expect((await atBird()).has('10.96.5.5/32')).toBe(true);
    expect((await atBird()).get('203.0.113.50/32')).not.toContain('65535:0');
    // Terminating but still serving: kept, with GRACEFUL_SHUTDOWN.
    api.update('EndpointSlice', slice({ ready: false, serving: true, terminating: true }));
    await waitFor(async () => ((await atBird()).get('203.0.113.50/32')?.includes('65535:0') === true ? true : undefined), 10_000, () => `GRACEFUL_SHUTDOWN at BIRD${ctx()}`);
    // Deleted: gone; the ranges stay, and the session never dropped.
    api.delete('EndpointSlice', { metadata: { name: 'web-x1', namespace: 'shop' } });
    await waitFor(async () => ((await atBird()).has('203.0.113.50/32') ? undefined : true), 10_000, () => `the /32 withdrawn at BIRD${ctx()}`);
    expect([...(await atBird()).keys()].sort()).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
    expect(k.status().downHistory).toEqual([]);
  });
});
