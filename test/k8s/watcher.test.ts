/**
 * The production watcher (KubernetesApiSource: client-node's KubeConfig, typed lists and Watch,
 * through the Reflector) against the in-repo API server, feeding the ServiceAdvertiser: every set
 * handed to the RIB is recorded, so a withdrawal that should not happen, even for a moment, shows.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/bgp/index.js';
import { systemClock } from '../../src/fsm/clock.js';
import { ServiceAdvertiser } from '../../src/k8s/advertiser.js';
import { KubernetesApiSource } from '../../src/k8s/api-source.js';
import { type K8sApiServer, startK8sApiServer } from '../helpers/k8s-api-server.js';
import { until } from '../helpers/raw-peer.js';
import { recordingSink } from '../helpers/service-sink.js';

const servers: K8sApiServer[] = [];
const advertisers: ServiceAdvertiser[] = [];
afterEach(async () => {
  for (const a of advertisers.splice(0)) a.stop();
  for (const s of servers.splice(0)) await s.close();
});

const NODE = 'node-1';
const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

const lbService = (name: string, lbIp: string, clusterIp: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', clusterIP: clusterIp, clusterIPs: [clusterIp], externalTrafficPolicy: 'Local', selector: { app: name } },
  status: { loadBalancer: { ingress: [{ ip: lbIp }] } },
});
const slice = (service: string, endpoints: { node: string; ready?: boolean; serving?: boolean; terminating?: boolean }[]) => ({
  metadata: { name: `${service}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e, i) => ({ addresses: [`10.244.0.${i + 10}`], nodeName: e.node, conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false } })),
});

async function setup(): Promise<{ api: K8sApiServer; sets: string[][]; latest: () => string[]; source: KubernetesApiSource; advertiser: ServiceAdvertiser; completed: () => number }> {
  const api = await startK8sApiServer({ bookmarkIntervalMs: 200 });
  servers.push(api);
  api.create('Node', { metadata: { name: NODE, labels: {} } });
  api.create('Node', { metadata: { name: 'node-2', labels: {} } });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const logger = pino({ level: 'silent' });
  const source = new KubernetesApiSource({ kubeConfig: kc, nodeName: NODE, clock: systemClock, random: Math.random, logger, backoffMinMs: 100, backoffMaxMs: 400, silenceMs: 3000, watchTimeoutSeconds: 30, listTimeoutMs: 2000 });
  const { sink, sets, completed } = recordingSink();
  const advertiser = new ServiceAdvertiser(
    source,
    {
      nodeName: NODE,
      serviceCidrs: { clusterIPs: [parsePrefix('10.96.0.0/12')], externalIPs: [], loadBalancerIPs: [parsePrefix('203.0.113.0/24')], aggregation: true },
      settings: { coalesceWindow: 0.05, minFlapInterval: 0, advertisePodCIDRs: false },
      clock: systemClock,
      logger,
    },
    sink,
  );
  advertisers.push(advertiser);
  advertiser.start();
  await until(() => completed() === 1, 5000, 'the initial sync');
  return { api, sets, latest: () => sets.at(-1) ?? [], source, advertiser, completed };
}

const RANGES = ['10.96.0.0/12', '203.0.113.0/24'];
const WEB = ['10.96.0.10/32', '203.0.113.10/32'];

describe('Kubernetes watcher against the test API server', () => {
  it('follows services and endpoints: a /32 while a local endpoint serves, gone when it scales away or the service goes', async () => {
    const h = await setup();
    expect(h.sets).toEqual([RANGES]);
    h.api.create('Service', lbService('web', '203.0.113.10', '10.96.0.10'));
    h.api.create('EndpointSlice', slice('web', [{ node: 'node-2' }]));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.latest()).toEqual(RANGES);
    // A pod on this node becomes ready.
    h.api.update('EndpointSlice', slice('web', [{ node: 'node-2' }, { node: NODE }]));
    await until(() => h.latest().length === 4, 3000, 'the /32s');
    expect(h.latest()).toEqual([...RANGES.slice(0, 1), ...WEB.slice(0, 1), ...RANGES.slice(1), ...WEB.slice(1)]);
    // Scaled down to the other node only.
    h.api.update('EndpointSlice', slice('web', [{ node: 'node-2' }]));
    await until(() => h.latest().length === 2, 3000, 'the /32s withdrawn');
    h.api.update('EndpointSlice', slice('web', [{ node: NODE }]));
    await until(() => h.latest().length === 4, 3000, 'the /32s back');
    h.api.delete('Service', { metadata: { name: 'web', namespace: 'default' } });
    await until(() => h.latest().length === 2, 3000, 'the service gone');
    expect(h.source.status()).toMatchObject({ synced: true, healthy: true });
  });

  it('relists after 410 Gone without handing over a set that lacks a route', async () => {
    const h = await setup();
    h.api.create('Service', lbService('web', '203.0.113.10', '10.96.0.10'));
    h.api.create('EndpointSlice', slice('web', [{ node: NODE }]));
    await until(() => h.latest().length === 4, 3000, 'the /32s');
    const from = h.sets.length;
    const lists = (): number => h.api.requests.filter((r) => !r.watch).length;
    const listsBefore = lists();
    // Bookmarks keep each watch's resourceVersion current: compaction and closed watches cost no relist.
    await new Promise((r) => setTimeout(r, 400));
    h.api.compact();
    h.api.closeWatches();
    await h.api.waitForWatches(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(lists()).toBe(listsBefore);
    // Without bookmarks, changes elsewhere move the server past every watch's resourceVersion; once
    // that history is compacted, each kind's next watch gets 410 Gone and relists.
    h.api.setBookmarkInterval(3_600_000);
    await new Promise((r) => setTimeout(r, 300));
    h.api.create('Node', { metadata: { name: 'node-3' } });
    h.api.create('Node', { metadata: { name: 'node-4' } });
    h.api.compact();
    h.api.closeWatches();
    await until(() => lists() >= listsBefore + 3, 5000, 'three relists');
    await h.api.waitForWatches(3);
    await new Promise((r) => setTimeout(r, 300));
    // Relisted by difference: nothing changed, so nothing was handed over at all.
    expect(h.sets).toHaveLength(from);
    expect(h.latest()).toHaveLength(4);
    // And it follows changes after the relist.
    h.api.delete('EndpointSlice', { metadata: { name: 'web-abc', namespace: 'default' } });
    await until(() => h.latest().length === 2, 3000, 'the /32s withdrawn after the relist');
  });

  it('keeps every route through an API server outage, says the watch is down, and catches up when it returns', async () => {
    const h = await setup();
    h.api.create('Service', lbService('web', '203.0.113.10', '10.96.0.10'));
    h.api.create('EndpointSlice', slice('web', [{ node: NODE }]));
    await until(() => h.latest().length === 4, 3000, 'the /32s');
    const count = h.sets.length;
    await h.api.stop();
    await until(() => h.source.status().healthy === false, 5000, 'the watch reported down');
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.sets).toHaveLength(count);
    expect(h.source.status().detail.some((d) => d.lastError !== undefined)).toBe(true);
    // Meanwhile the pod went away; the server comes back.
    h.api.update('EndpointSlice', slice('web', [{ node: 'node-2' }]));
    await h.api.start();
    await until(() => h.latest().length === 2, 8000, 'caught up after the outage');
    await until(() => h.source.status().healthy, 5000, 'the watch back');
    expect(h.completed()).toBe(1);
  });

  it('withdraws everything when its node is labelled excluded, and announces it all again when the label goes', async () => {
    const h = await setup();
    h.api.create('Service', lbService('web', '203.0.113.10', '10.96.0.10'));
    h.api.create('EndpointSlice', slice('web', [{ node: NODE }]));
    await until(() => h.latest().length === 4, 3000, 'the /32s');
    h.api.update('Node', { metadata: { name: NODE, labels: { [EXCLUDE]: '' } } });
    await until(() => h.latest().length === 0, 3000, 'nothing advertised');
    expect(h.advertiser.decision.notAdvertised.some((n) => n.reason === 'node-excluded')).toBe(true);
    h.api.update('Node', { metadata: { name: NODE, labels: { [EXCLUDE]: 'false' } } });
    await until(() => h.latest().length === 4, 3000, 'everything back');
  });
});
