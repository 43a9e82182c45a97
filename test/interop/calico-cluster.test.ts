/**
 * Taking over from Calico: a cluster already configured for Calico (its BGPConfiguration and
 * BGPPeers as crd.projectcalico.org/v1 resources, the node's AS and address in Calico's Node
 * annotations) in the in-repo API server; the real `kbgp run -f FILE` (a separate process) whose
 * file holds only a KbgpConfiguration with `calicoResources: Cluster`; two BIRDs as the rack's
 * ToRs. The session to each ToR comes from a BGPPeer, on the AS the Node annotation gives; a
 * service's /32 reaches them; a BGPPeer added in the cluster brings up the second ToR without
 * touching the first, and one deleted takes its session down with Cease / Peer De-configured.
 * And the start without an API server: kbgp waits, its liveness probe answering, and starts once
 * the server is back. Addresses 127.0.16.x, kbgp on port 12101, its metrics on 12102.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { requireBinaries } from '../helpers/binaries.js';
import { type K8sApiServer, startK8sApiServer } from '../helpers/k8s-api-server.js';
import { removeKbgpProcessLogs, startKbgpProcess, stopAllKbgpProcesses } from '../helpers/kbgp-process.js';
import { ROUTER_BINARIES, sameBirdMoment, startBird, stopAllRouters, waitFor } from '../helpers/routers.js';

const apis: K8sApiServer[] = [];
afterEach(async () => {
  await stopAllKbgpProcesses();
  await stopAllRouters();
  for (const a of apis.splice(0)) await a.close();
});
afterAll(removeKbgpProcessLogs);

const NODE = 'worker-1';
const K = '127.0.16.1';
const TOR1 = '127.0.16.2';
const TOR2 = '127.0.16.3';
const PORT = 12101;
const METRICS = 12102;

/** The file of a kbgp that reads the Calico resources from the cluster: kbgp's own settings only. */
function kbgpFile(kubeconfig: string, ...more: string[]): string {
  return [
    'apiVersion: kbgp.io/v1alpha1',
    'kind: KbgpConfiguration',
    'metadata: { name: default }',
    'spec:',
    `  listenAddress: ${K}`,
    `  cluster: { source: Kubernetes, kubeconfig: ${JSON.stringify(kubeconfig)}, calicoResources: Cluster }`,
    "  timers: { connectDelay: '0.1s', connectRetryTime: '1s', errorWaitMin: '0.5s', errorWaitMax: '1s' }",
    "  services: { coalesceWindow: '50ms', minFlapInterval: '0s' }",
    ...more,
  ].join('\n');
}
const SPEC = { name: 'calico-cluster', nodeName: NODE, address: K, port: PORT, asn: 0, routerId: K, peers: [] };

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird) === undefined)('Calico resources in the cluster → kbgp run → BIRD', () => {
  it('peers, AS and service routes from the cluster; a BGPPeer added or deleted there touches only its own session', { timeout: 90_000 }, async () => {
    const api = await startK8sApiServer({ bookmarkIntervalMs: 500 });
    apis.push(api);
    api.create('BGPConfiguration', { metadata: { name: 'default' }, spec: { asNumber: 64512, listenPort: PORT, nodeToNodeMeshEnabled: true, serviceLoadBalancerIPs: [{ cidr: '203.0.113.0/24' }] } });
    api.create('BGPPeer', { metadata: { name: 'tor-1' }, spec: { nodeSelector: "rack == 'r1'", peerIP: `${TOR1}:179`, asNumber: 65016 } });
    api.create('Node', { metadata: { name: NODE, labels: { rack: 'r1' }, annotations: { 'projectcalico.org/IPv4Address': `${K}/32`, 'projectcalico.org/ASNumber': '64513' } } });
    // Another node of the mesh, not running: its session only tries.
    api.create('Node', { metadata: { name: 'worker-2', labels: { rack: 'r1' }, annotations: { 'projectcalico.org/IPv4Address': '127.0.16.9/32' } } });
    api.create('Service', {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.5.5', clusterIPs: ['10.96.5.5'], externalTrafficPolicy: 'Local' },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.50' }] } },
    });
    api.create('EndpointSlice', {
      metadata: { name: 'web-x1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.3.9'], nodeName: NODE, conditions: { ready: true } }],
    });

    const tor1 = await startBird({ routerId: TOR1, asn: 65016, address: TOR1, peers: [{ address: K, port: PORT, asn: 64513 }] });
    const tor2 = await startBird({ routerId: TOR2, asn: 65017, address: TOR2, peers: [{ address: K, port: PORT, asn: 64513 }] });
    const k = await startKbgpProcess(SPEC, kbgpFile(api.kubeconfigPath));
    const ctx = (): string => `\n${k.logTail(30)}\n${tor1.logTail(10)}\n${tor2.logTail(10)}`;

    // The BGPPeer's session, on the AS of the Node annotation (BIRD expects 64513: it would refuse 64512).
    await waitFor(async () => ((await tor1.sessionState(K)) === 'Established' ? true : undefined), 30_000, () => `tor-1 Established${ctx()}`);
    const atTor = async (bird: typeof tor1): Promise<string[]> => (await bird.routes('ipv4')).map((r) => r.prefix).sort();
    await waitFor(async () => ((await atTor(tor1)).includes('203.0.113.50/32') ? true : undefined), 10_000, () => `the service /32 at tor-1${ctx()}`);
    expect(await atTor(tor1)).toEqual(['203.0.113.0/24', '203.0.113.50/32']);
    // No BGPPeer selects tor-2 yet.
    expect(await tor2.sessionState(K)).not.toBe('Established');
    // tor-1's session, in both records: BIRD's Since and kbgp's 'session established' lines.
    const tor1Since = await tor1.sessionSince(K);
    const establishedWithTor1 = (): number => k.log().filter((l) => l.msg === 'session established' && l.peer === TOR1).length;
    // kbgp's log is written asynchronously: BIRD can show the session before kbgp's line is in the file.
    await k.waitForLog(() => establishedWithTor1() > 0, 2_000, "'session established' for tor-1");
    expect(establishedWithTor1()).toBe(1);

    // A second ToR, added in the cluster: kbgp reloads, tor-1's session is not touched.
    api.create('BGPPeer', { metadata: { name: 'tor-2' }, spec: { nodeSelector: "rack == 'r1'", peerIP: `${TOR2}:179`, asNumber: 65017 } });
    await waitFor(async () => ((await tor2.sessionState(K)) === 'Established' ? true : undefined), 30_000, () => `tor-2 Established${ctx()}`);
    await waitFor(async () => ((await atTor(tor2)).includes('203.0.113.50/32') ? true : undefined), 10_000, () => `the service /32 at tor-2${ctx()}`);
    expect(await tor1.sessionState(K)).toBe('Established');
    const tor1SinceLater = await tor1.sessionSince(K);
    expect(sameBirdMoment(tor1SinceLater, tor1Since), `BIRD tor-1's Since moved (${tor1Since} ms of the day, then ${tor1SinceLater}): a new session`).toBe(true);
    expect(establishedWithTor1()).toBe(1);
    await k.waitForLog((l) => l.msg === 'configuration reloaded', 2_000, "'configuration reloaded'");

    // tor-1's BGPPeer deleted: its session ends with Cease / Peer De-configured; tor-2 stays.
    api.delete('BGPPeer', { metadata: { name: 'tor-1' } });
    await waitFor(async () => ((await tor1.sessionState(K)) !== 'Established' ? true : undefined), 15_000, () => `tor-1 down${ctx()}`);
    const tor1Log = await tor1.birdc('show', 'protocols', 'all');
    expect(tor1Log).toMatch(/Received: Peer de-configured/i);
    expect(await tor2.sessionState(K)).toBe('Established');
  });
});

describe('Calico resources in the cluster, the API server away at start', () => {
  it('starts without an API server: /healthz answers while it waits, /readyz says for what; it comes up when the server is back', { timeout: 60_000 }, async () => {
    const api = await startK8sApiServer({ bookmarkIntervalMs: 500 });
    apis.push(api);
    api.create('BGPConfiguration', { metadata: { name: 'default' }, spec: { asNumber: 64512, listenPort: PORT } });
    // The node's address is only in the cluster: the file alone cannot be resolved.
    api.create('Node', { metadata: { name: NODE, annotations: { 'projectcalico.org/IPv4Address': `${K}/32` } } });
    await api.stop();
    const k = await startKbgpProcess({ ...SPEC, name: 'calico-cluster-no-api' }, kbgpFile(api.kubeconfigPath, `  metricsAddress: ${K}:${METRICS}`), { until: 'Kubernetes API request failed' });
    const get = async (path: string): Promise<{ status: number; text: string } | undefined> => {
      try {
        const r = await fetch(`http://${K}:${METRICS}${path}`);
        return { status: r.status, text: await r.text() };
      } catch {
        return undefined;
      }
    };
    const ctx = (): string => `\n${k.logTail(30)}`;
    // A liveness probe must not restart kbgp because the API server is away.
    expect(await waitFor(() => get('/healthz'), 10_000, () => `/healthz while waiting${ctx()}`)).toEqual({ status: 200, text: 'ok\n' });
    const waiting = await get('/readyz');
    expect(waiting?.status).toBe(503);
    expect(waiting?.text).toMatch(/^waiting for Calico resources from the API server: .*nodes \(/);
    // Still waiting after retries, not gone: 'listening' only comes with the resources.
    const failures = (): number => k.log().filter((l) => l.msg.startsWith('Kubernetes API request failed') && l.kind === 'nodes').length;
    await k.waitForLog(() => failures() >= 3, 15_000, 'three failed reads of the nodes');
    expect(k.exit).toBeUndefined();
    expect(k.log().some((l) => l.msg === 'listening')).toBe(false);
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });

    await api.start();
    await k.waitForLog((l) => l.msg === 'listening' && l.pid === k.pid, 30_000, "'listening' once the API server is back");
    // The daemon now serves the metrics address: ready, with its own metrics.
    const ready = await waitFor(async () => {
      const r = await get('/readyz');
      return r?.status === 200 ? r : undefined;
    }, 15_000, () => `/readyz to turn ready${ctx()}`);
    expect(ready.text).toContain('listening');
    expect((await get('/metrics'))?.text).toMatch(/^kbgp_k8s_watch_up\{resource="services"\} 1$/m);
  });
});
