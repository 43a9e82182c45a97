/**
 * The advertiser between a cluster source and the RIB: nothing before the source is complete, the
 * first complete set at once (the restart waits for it), later changes through the coalescing
 * window, and an outage of the source changing nothing.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/bgp/index.js';
import type { ServiceCidrs } from '../../src/config/config.js';
import { EmptySource, ServiceAdvertiser } from '../../src/k8s/advertiser.js';
import type { EndpointSlice, Service } from '../../src/k8s/objects.js';
import type { ClusterSource, ClusterState, SourceStatus } from '../../src/k8s/source.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { recordingSink } from '../helpers/service-sink.js';

class ScriptedSource implements ClusterSource {
  state_: ClusterState = { services: [], endpointSlices: [], node: undefined };
  synced = false;
  healthy = true;
  private changed: () => void = () => undefined;
  start(changed: () => void): void {
    this.changed = changed;
  }
  stop(): void {}
  state(): ClusterState {
    return this.state_;
  }
  status(): SourceStatus {
    return { source: 'scripted', synced: this.synced, healthy: this.healthy, detail: [] };
  }
  set(s: Partial<ClusterState>, synced = this.synced): void {
    this.state_ = { ...this.state_, ...s };
    this.synced = synced;
    this.changed();
  }
}

const CIDRS: ServiceCidrs = { clusterIPs: [parsePrefix('10.96.0.0/12')], externalIPs: [], loadBalancerIPs: [parsePrefix('203.0.113.0/24')], aggregation: true };
const lb = (name: string, ip: string): Service => ({
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local' },
  status: { loadBalancer: { ingress: [{ ip }] } },
});
const slice = (service: string, node: string): EndpointSlice => ({
  metadata: { name: `${service}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.244.0.5'], nodeName: node, conditions: { ready: true } }],
});

function harness(source: ClusterSource) {
  const clock = new FakeClock();
  const { sink, sets, completed } = recordingSink();
  const a = new ServiceAdvertiser(source, { nodeName: 'n1', serviceCidrs: CIDRS, settings: { coalesceWindow: 0.1, minFlapInterval: 0, advertisePodCIDRs: false }, clock, logger: pino({ level: 'silent' }) }, sink);
  return { a, clock, sets, completed };
}

describe('ServiceAdvertiser', () => {
  it('hands over nothing until the source is complete, then the first set at once and says so', () => {
    const s = new ScriptedSource();
    const h = harness(s);
    h.a.start();
    s.set({ services: [lb('web', '203.0.113.10')] });
    s.set({ endpointSlices: [slice('web', 'n1')] });
    expect(h.sets).toEqual([]);
    expect(h.completed()).toBe(0);
    s.set({}, true);
    expect(h.sets).toEqual([['10.96.0.0/12', '10.96.0.10/32', '203.0.113.0/24', '203.0.113.10/32']]);
    expect(h.completed()).toBe(1);
  });

  it('coalesces later changes within the window, and keeps everything while the source is away', () => {
    const s = new ScriptedSource();
    const h = harness(s);
    h.a.start();
    s.set({ services: [lb('web', '203.0.113.10')], endpointSlices: [slice('web', 'n1')] }, true);
    // The pod moves away and comes back within the window: nothing to hand over.
    s.set({ endpointSlices: [slice('web', 'n2')] });
    s.set({ endpointSlices: [slice('web', 'n1')] });
    h.clock.advance(200);
    expect(h.sets).toHaveLength(1);
    s.set({ endpointSlices: [] });
    expect(h.sets).toHaveLength(1);
    h.clock.advance(100);
    expect(h.sets.at(-1)).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
    expect(h.a.decision.notAdvertised.map((n) => [n.address, n.reason])).toContainEqual(['203.0.113.10', 'no-local-serving-endpoint']);
    // The API goes away: the source keeps its state and says so; nothing is handed over.
    s.healthy = false;
    h.clock.advance(60_000);
    expect(h.sets).toHaveLength(2);
    expect(h.a.status.healthy).toBe(false);
    expect(h.completed()).toBe(1);
  });

  it('without a cluster, announces the configured ranges and is complete at start', () => {
    const h = harness(new EmptySource());
    h.a.start();
    expect(h.sets).toEqual([['10.96.0.0/12', '203.0.113.0/24']]);
    expect(h.completed()).toBe(1);
  });
});
