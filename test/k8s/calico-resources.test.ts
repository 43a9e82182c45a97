/**
 * Calico's resources read live from the cluster (CalicoResourceSource, through client-node against
 * the in-repo API server): BGPConfiguration, BGPPeer and BGPFilter as crd.projectcalico.org/v1
 * custom resources and every Node with Calico's annotations, resolved together with the file's
 * KbgpConfiguration into the node's configuration: its AS from its Node annotation, peers from the
 * BGPPeers whose nodeSelector picks its labels, the mesh from the other Nodes.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type NodeConfig, type SourcedDocument, parseDocuments, resolveConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/fsm/clock.js';
import { CalicoResourceSource, nodeDocument } from '../../src/k8s/calico-resources.js';
import { type K8sApiServer, startK8sApiServer } from '../helpers/k8s-api-server.js';
import { until } from '../helpers/raw-peer.js';

const servers: K8sApiServer[] = [];
const sources: CalicoResourceSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) s.stop();
  for (const s of servers.splice(0)) await s.close();
});

const FILE = `
apiVersion: kbgp.io/v1alpha1
kind: KbgpConfiguration
metadata: { name: default }
spec:
  cluster: { source: Kubernetes, calicoResources: Cluster }
`;

const node = (name: string, labels: Record<string, string>, annotations: Record<string, string>, internalIp?: string) => ({
  metadata: { name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...annotations } },
  status: internalIp === undefined ? {} : { addresses: [{ type: 'InternalIP', address: internalIp }, { type: 'Hostname', address: name }] },
});

async function cluster(): Promise<{ api: K8sApiServer; calico: CalicoResourceSource; resolve: (name: string) => NodeConfig; changes: () => number }> {
  const api = await startK8sApiServer({ bookmarkIntervalMs: 200 });
  servers.push(api);
  api.create('BGPConfiguration', { metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 1790, serviceLoadBalancerIPs: [{ cidr: '203.0.113.0/24' }] } });
  api.create('BGPPeer', { metadata: { name: 'rack1-tor' }, spec: { nodeSelector: "rack == 'r1'", peerIP: '192.0.2.1', asNumber: 65001 } });
  api.create('BGPPeer', { metadata: { name: 'rack2-tor' }, spec: { nodeSelector: "rack == 'r2'", peerIP: '192.0.2.2', asNumber: 65002, filters: ['no-default'] } });
  api.create('BGPFilter', { metadata: { name: 'no-default' }, spec: { exportV4: [{ action: 'Reject', matchOperator: 'Equal', cidr: '0.0.0.0/0' }] } });
  api.create('Node', node('worker-1', { rack: 'r1' }, { 'projectcalico.org/IPv4Address': '10.0.1.11/24', 'projectcalico.org/ASNumber': '64513' }));
  api.create('Node', node('worker-2', { rack: 'r2' }, { 'projectcalico.org/IPv4Address': '10.0.2.12/24' }));
  // No Calico annotations: kbgp peers with it on its InternalIP.
  api.create('Node', node('worker-3', { rack: 'r1' }, {}, '10.0.1.13'));
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  let changes = 0;
  const calico = new CalicoResourceSource({ kubeConfig: kc, clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }), backoffMinMs: 100, backoffMaxMs: 400 });
  sources.push(calico);
  calico.start(() => changes++);
  await until(() => calico.status().synced, 5000, 'the Calico resources listed');
  const file: SourcedDocument[] = parseDocuments(FILE).map((value, i) => ({ value, origin: `document ${i + 1}` }));
  return { api, calico, resolve: (name) => resolveConfig([...file, ...calico.documents()], name), changes: () => changes };
}

const peersOf = (c: NodeConfig): string[] => c.peers.map((p) => `${p.name} ${p.address}:${p.port} AS${p.asNumber}${p.mesh ? ' mesh' : ''}${p.passive ? ' passive' : ''}${p.filters.length > 0 ? ` filters=${p.filters.length}` : ''}`);

describe('Calico resources from the cluster', () => {
  it('resolve with the file into each node’s AS, addresses, selected peers and mesh', async () => {
    const { resolve, calico } = await cluster();
    expect(calico.status().detail.map((d) => [d.name, d.objects])).toEqual([
      ['bgpconfigurations', 1],
      ['bgppeers', 2],
      ['bgpfilters', 1],
      ['nodes', 3],
    ]);
    const w1 = resolve('worker-1');
    expect({ as: w1.asNumber, routerId: w1.routerId, port: w1.listenPort, lb: w1.serviceCidrs.loadBalancerIPs.length }).toEqual({ as: 64513, routerId: '10.0.1.11', port: 1790, lb: 1 });
    // worker-1 is 10.0.1.11: passive towards 10.0.1.13 ("10.0.1.11" < "10.0.1.13": the greater is passive).
    expect(peersOf(w1)).toEqual(['rack1-tor 192.0.2.1:1790 AS65001', 'mesh/worker-2 10.0.2.12:1790 AS64512 mesh', 'mesh/worker-3 10.0.1.13:1790 AS64512 mesh']);
    expect(peersOf(resolve('worker-2'))).toEqual(['rack2-tor 192.0.2.2:1790 AS65002 filters=1', 'mesh/worker-1 10.0.1.11:1790 AS64513 mesh passive', 'mesh/worker-3 10.0.1.13:1790 AS64512 mesh passive']);
    expect(resolve('worker-3').routerId).toBe('10.0.1.13');
  });

  it('follow changes: a BGPPeer added and deleted, a node relabelled into another rack, a route reflector cluster ID set', async () => {
    const { api, resolve, changes } = await cluster();
    const before = changes();
    api.create('BGPPeer', { metadata: { name: 'rr' }, spec: { node: 'worker-1', peerIP: '10.0.9.9', asNumber: 64512 } });
    await until(() => resolve('worker-1').peers.some((p) => p.name === 'rr'), 5000, 'the new BGPPeer');
    expect(changes()).toBeGreaterThan(before);
    api.delete('BGPPeer', { metadata: { name: 'rack1-tor' } });
    await until(() => !resolve('worker-1').peers.some((p) => p.name === 'rack1-tor'), 5000, 'the BGPPeer deleted');
    api.update('Node', node('worker-1', { rack: 'r2' }, { 'projectcalico.org/IPv4Address': '10.0.1.11/24', 'projectcalico.org/ASNumber': '64513' }));
    await until(() => resolve('worker-1').peers.some((p) => p.name === 'rack2-tor'), 5000, 'worker-1 in rack 2');
    api.update('Node', node('worker-2', { rack: 'r2' }, { 'projectcalico.org/IPv4Address': '10.0.2.12/24', 'projectcalico.org/RouteReflectorClusterID': '224.0.0.1' }));
    // A route reflector leaves the mesh; worker-1 is its client now (no cluster ID of its own).
    await until(() => !resolve('worker-1').peers.some((p) => p.name === 'mesh/worker-2'), 5000, 'worker-2 out of the mesh');
    expect(resolve('worker-2').clusterId).toBe('224.0.0.1');
    expect(peersOf(resolve('worker-1'))).toEqual(['rack2-tor 192.0.2.2:1790 AS65002 filters=1', 'rr 10.0.9.9:1790 AS64512', 'mesh/worker-3 10.0.1.13:1790 AS64512 mesh']);
  });

  it("a Node's status report is no change; a label is one", async () => {
    const { api, changes } = await cluster();
    const before = changes();
    const reported = (addresses: { type: string; address: string }[], labels: Record<string, string>) => ({
      metadata: { name: 'worker-2', labels, annotations: { 'projectcalico.org/IPv4Address': '10.0.2.12/24' } },
      status: { addresses, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString() }] },
    });
    api.update('Node', reported([{ type: 'InternalIP', address: '10.0.2.12' }], { rack: 'r2' }));
    api.update('Node', reported([{ type: 'InternalIP', address: '10.0.2.12' }], { rack: 'r2' }));
    // A marker after them: once it is seen, the status reports before it have been too.
    api.update('Node', reported([{ type: 'InternalIP', address: '10.0.2.12' }], { rack: 'r2', marker: 'x' }));
    await until(() => changes() > before, 5000, 'the relabelled Node');
    expect(changes()).toBe(before + 1);
  });

  it('a broken resource in the cluster is a configuration error naming it, as it would be in the file', async () => {
    const { api, resolve } = await cluster();
    api.create('BGPPeer', { metadata: { name: 'broken' }, spec: { peerIP: '192.0.2.77', asNumber: 4294967296 } });
    await until(() => {
      try {
        resolve('worker-1');
        return false;
      } catch {
        return true;
      }
    }, 5000, 'the broken BGPPeer');
    expect(() => resolve('worker-1')).toThrow('BGPPeer broken: spec.asNumber: 4294967296 is not a valid AS number');
  });

  it("the file's BGP kinds join the cluster's; the same name in both, or a Node in the file, is refused", async () => {
    const { calico } = await cluster();
    const resolveWith = (extra: string): NodeConfig => {
      const docs = parseDocuments(`${FILE}\n---\n${extra}`).map((value, i) => ({ value, origin: `document ${i + 1}` }));
      return resolveConfig([...docs, ...calico.documents()], 'worker-1');
    };
    const local = 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: local }\nspec: { peerIP: 192.0.2.9, asNumber: 65009 }\n';
    expect(peersOf(resolveWith(local))).toContain('local 192.0.2.9:1790 AS65009');
    expect(peersOf(resolveWith(local))).toContain('rack1-tor 192.0.2.1:1790 AS65001');
    expect(() => resolveWith(local.replace('name: local', 'name: rack1-tor'))).toThrow('BGPPeer rack1-tor: metadata.name: BGPPeer "rack1-tor" is both in the file and in the cluster: keep one');
    expect(() => resolveWith('apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: worker-9 }\nspec: {}\n')).toThrow(
      'Node worker-9: kind: Node is read from the cluster (KbgpConfiguration spec.cluster.calicoResources is Cluster): remove it from the file',
    );
  });

  it('without Calico installed (its resources not served), the Nodes still make the mesh; once they are served, they count', async () => {
    const api = await startK8sApiServer({ bookmarkIntervalMs: 200, serves: ['Node', 'Service', 'EndpointSlice'] });
    servers.push(api);
    api.create('Node', node('a', {}, {}, '10.0.0.1'));
    api.create('Node', node('b', {}, {}, '10.0.0.2'));
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const calico = new CalicoResourceSource({ kubeConfig: kc, clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }), backoffMinMs: 100, backoffMaxMs: 400, absentRecheckMs: 200 });
    sources.push(calico);
    calico.start(() => undefined);
    await until(() => calico.status().synced, 5000, 'listed, the Calico kinds as none');
    expect(calico.status().healthy).toBe(true);
    expect(calico.status().detail.find((d) => d.name === 'bgppeers')?.lastError).toMatch(/^not served by the API server \(404\)/);
    const file = `${FILE}\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64600 }\n`;
    const resolve = (): NodeConfig => resolveConfig([...parseDocuments(file).map((value, i) => ({ value, origin: `document ${i + 1}` })), ...calico.documents()], 'a');
    expect(peersOf(resolve())).toEqual(['mesh/b 10.0.0.2:179 AS64600 mesh']);
    // Calico installed later: its resources are found without a restart.
    api.serve(['Node', 'Service', 'EndpointSlice', 'BGPConfiguration', 'BGPPeer', 'BGPFilter']);
    api.create('BGPPeer', { metadata: { name: 'tor' }, spec: { peerIP: '10.0.0.254', asNumber: 65000 } });
    await until(() => resolve().peers.some((p) => p.name === 'tor'), 5000, 'the BGPPeer once served');
    expect(calico.status().detail.find((d) => d.name === 'bgppeers')?.lastError).toBeUndefined();
  });
});

describe('nodeDocument', () => {
  it("reads Calico's annotations into spec.bgp, the AS as a number (asdot kept as text)", () => {
    expect(
      nodeDocument({
        metadata: {
          name: 'n',
          labels: { a: 'b' },
          annotations: { 'projectcalico.org/IPv4Address': '10.0.0.1/24', 'projectcalico.org/IPv6Address': 'fd00::1/64', 'projectcalico.org/ASNumber': '1.10', 'projectcalico.org/RouteReflectorClusterID': '224.0.0.1' },
        },
        status: { addresses: [{ type: 'InternalIP', address: '10.9.9.9' }] },
      }),
    ).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n', labels: { a: 'b' } },
      spec: { bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', asNumber: '1.10', routeReflectorClusterID: '224.0.0.1' } },
    });
    expect(nodeDocument({ metadata: { name: 'n', annotations: { 'projectcalico.org/ASNumber': '65000' } } })).toEqual({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { asNumber: 65000 } } });
  });

  it('without them, takes the InternalIP of each family; without any address, no spec.bgp', () => {
    expect(nodeDocument({ metadata: { name: 'n' }, status: { addresses: [{ type: 'ExternalIP', address: '198.51.100.1' }, { type: 'InternalIP', address: '10.0.0.5' }, { type: 'InternalIP', address: 'fd00::5' }] } })).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n' },
      spec: { bgp: { ipv4Address: '10.0.0.5', ipv6Address: 'fd00::5' } },
    });
    expect(nodeDocument({ metadata: { name: 'n' } })).toEqual({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' } });
  });
});
