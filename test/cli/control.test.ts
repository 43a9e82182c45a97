/**
 * The CLI against a running daemon over its control socket: status, routes (Loc-RIB, received,
 * advertised), explain and drain, as tables and as JSON; errors in words. The daemon runs in
 * process with a manifest-directory cluster; the CLI's own entry point is run once as a child.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MessageType, formatPrefix, parsePrefix } from '../../src/bgp/index.js';
import { CliError, call } from '../../src/cli/control-client.js';
import { renderExplain, renderRoutes, renderStatus } from '../../src/cli/render.js';
import { systemClock } from '../../src/fsm/clock.js';
import { ManifestDirectorySource } from '../../src/k8s/manifest-source.js';
import type { ExplainView, RouteView, StatusView } from '../../src/ops/views.js';
import { type Kbgp, removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import { RawPeer, isType, until } from '../helpers/raw-peer.js';
import { MANDATORY_4, update } from '../helpers/bytes.js';

const dirs: string[] = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await stopAllKbgp();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(removeKbgpLogs);

const K = '127.0.14.11';
const PEER = '127.0.14.12';
const PORT = 11911;

const CLUSTER = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, clusterIP: 10.96.7.7, externalTrafficPolicy: Local}
status: {loadBalancer: {ingress: [{ip: 203.0.113.77}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.0.9], nodeName: cli-node, conditions: {ready: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: batch, namespace: shop}
spec: {type: LoadBalancer, clusterIP: 10.96.7.8, externalTrafficPolicy: Local}
status: {loadBalancer: {ingress: [{ip: 203.0.113.78}]}}
`;

async function setup(): Promise<{ socket: string; peer: RawPeer; k: Kbgp }> {
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-cli-'));
  dirs.push(dir);
  const manifests = join(dir, 'cluster');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'shop.yaml'), CLUSTER);
  const socket = join(dir, 'kbgp.sock');
  const k = await startKbgp({
    name: 'cli',
    nodeName: 'cli-node',
    address: K,
    port: PORT,
    asn: 64512,
    routerId: K,
    ipv4Address: K,
    controlSocket: socket,
    bgpConfiguration: { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }], serviceLoadBalancerIPs: [{ cidr: '203.0.113.0/24' }] },
    peers: [{ address: PEER, port: 179, asn: 65015, passive: true }],
    cluster: (logger) => new ManifestDirectorySource({ directory: manifests, nodeName: 'cli-node', clock: systemClock, logger }),
  });
  const peer = await RawPeer.connect(K, PORT, PEER);
  peers.push(peer);
  peer.open(65015, PEER);
  await peer.waitFor(isType(MessageType.Open));
  await until(() => k.status().state === 'Established', 5000, 'Established');
  peer.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 15, 1] }));
  await until(() => k.daemon.received(PEER).length === 1, 3000, 'the peer\'s route');
  return { socket, peer, k };
}

describe('kbgp CLI over the control socket', () => {
  it('status: the calicoctl table, and the same as JSON', async () => {
    const { socket } = await setup();
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const s = await call<StatusView>(socket, '/v1/status');
    expect(s).toMatchObject({ node: 'cli-node', asNumber: 64512, routerId: K, locRib: { ipv4: 5, ipv6: 0 } });
    expect(s.peers).toEqual([
      expect.objectContaining({ address: PEER, peerAs: 65015, peerType: 'global', state: 'Established', prefixes: { received: 1, accepted: 1, advertised: 4 } }),
    ]);
    const text = renderStatus(s);
    expect(text).toMatch(/\| PEER ADDRESS \| PEER TYPE \| PEER AS \| STATE \| SINCE +\| INFO +\| RECEIVED\/ACCEPTED\/ADVERTISED \|/);
    expect(text).toMatch(new RegExp(`\\| ${PEER.replace(/\./g, '\\.')} +\\| global +\\| 65015 +\\| up +\\| \\d\\d:\\d\\d:\\d\\d \\| Established \\| 1/1/4 +\\|`));
    expect(text).toContain('Services: manifests ');
    const config = await call<{ nodeName: string; serviceClusterIPs: string[]; peers: { name: string; type: string; maxRestartTime: number }[] }>(socket, '/v1/config');
    expect(config).toMatchObject({ nodeName: 'cli-node', serviceClusterIPs: ['10.96.0.0/12'], peers: [{ name: `peer-${PEER.replace(/\./g, '-')}`, type: 'global', maxRestartTime: 120 }] });
  });

  it('routes: Loc-RIB with the best marked, a peer\'s received and advertised views, one prefix', async () => {
    const { socket } = await setup();
    const loc = await call<RouteView[]>(socket, '/v1/routes');
    expect(loc.map((r) => r.prefix)).toEqual(['10.15.1.0/24', '10.96.0.0/12', '10.96.7.7/32', '203.0.113.0/24', '203.0.113.77/32']);
    const one = await call<RouteView[]>(socket, '/v1/routes?prefix=10.15.1.0%2F24');
    expect(renderRoutes(one)).toBe(['10.15.1.0/24             unicast [127.0.14.12] *', '\tvia 192.0.2.1', '\tBGP.origin: IGP', '\tBGP.as_path: 65001', '\tBGP.next_hop: 192.0.2.1'].join('\n'));
    const advertised = await call<RouteView[]>(socket, `/v1/routes?view=advertised&peer=${PEER}`);
    expect(advertised.map((r) => r.prefix)).toEqual(['10.96.0.0/12', '10.96.7.7/32', '203.0.113.0/24', '203.0.113.77/32']);
    expect(advertised[0]?.paths[0]?.from).toBe(`to ${PEER}`);
    const received = await call<RouteView[]>(socket, `/v1/routes?view=received&peer=${PEER}&prefix=10.15.1.0`);
    expect(received).toEqual([]);
    // One prefix of each view: that prefix's entry, nothing else.
    const receivedOne = await call<RouteView[]>(socket, `/v1/routes?view=received&peer=${PEER}&prefix=10.15.1.0%2F24`);
    expect(receivedOne.map((r) => [r.prefix, r.paths.map((p) => p.nextHop)])).toEqual([['10.15.1.0/24', ['192.0.2.1']]]);
    const advertisedOne = await call<RouteView[]>(socket, `/v1/routes?view=advertised&peer=${PEER}&prefix=203.0.113.77%2F32`);
    expect(advertisedOne).toEqual(advertised.filter((r) => r.prefix === '203.0.113.77/32'));
    expect(advertisedOne).toHaveLength(1);
    await expect(call(socket, '/v1/routes?view=received')).rejects.toThrow('which peer? (peer=ADDRESS)');
    await expect(call(socket, '/v1/routes?view=advertised&peer=192.0.2.99')).rejects.toThrow('no peer 192.0.2.99');
    await expect(call(socket, '/v1/routes?prefix=10.1.2.3/99')).rejects.toThrow(CliError);
    await expect(call(socket, '/v1/routes?prefix=10.1.2.3/99')).rejects.toThrow(/10\.1\.2\.3\/99/);
  });

  it('explain: advertised and why, not advertised and why, and which peers hold it', async () => {
    const { socket } = await setup();
    const web = await call<ExplainView>(socket, '/v1/explain?service=shop/web');
    expect(renderExplain(web)).toBe(
      [
        'shop/web:',
        '  10.96.7.7: advertised as 10.96.7.7/32',
        '    why: local-endpoint: shop/web clusterIP',
        `    to ${PEER}: sent`,
        '  203.0.113.77: advertised as 203.0.113.77/32',
        '    why: local-endpoint: shop/web loadBalancer',
        `    to ${PEER}: sent`,
      ].join('\n'),
    );
    const batch = await call<ExplainView>(socket, '/v1/explain?service=shop/batch');
    expect(batch.addresses.map((a) => [a.address, a.advertised, a.prefix, a.why])).toEqual([
      ['10.96.7.8', true, '10.96.0.0/12', 'inside serviceClusterIPs 10.96.0.0/12, advertised from every node; no /32 of its own: no-local-serving-endpoint (clusterIP: no ready or terminating-serving IPv4 endpoint on cli-node)'],
      ['203.0.113.78', true, '203.0.113.0/24', 'inside serviceLoadBalancerIPs 203.0.113.0/24, advertised from every node; no /32 of its own: no-local-serving-endpoint (loadBalancer: no ready or terminating-serving IPv4 endpoint on cli-node)'],
    ]);
    expect(renderExplain(await call<ExplainView>(socket, '/v1/explain?service=shop/nope'))).toBe("no service shop/nope in this node's view of the cluster");
  });

  it('explain names the BGPFilter rule that keeps a /32 from a peer, and a peer that is down', async () => {
    const { socket, peer, k } = await setup();
    k.daemon.setFilters(PEER, [
      { name: 'no-lb', importV4: [], exportV4: [{ cidr: parsePrefix('10.0.0.0/8'), matchOperator: 'In', action: 'Accept' }, { cidr: parsePrefix('203.0.113.77/32'), matchOperator: 'Equal', action: 'Reject' }], importV6: [], exportV6: [] },
    ]);
    await until(() => k.daemon.advertised(PEER).every((r) => formatPrefix(r.prefix) !== '203.0.113.77/32'), 3000, 'the /32 withdrawn from the peer');
    // The filters in force are what kbgp config shows.
    expect((await call<{ peers: { filters: string[] }[] }>(socket, '/v1/config')).peers[0]?.filters).toEqual(['no-lb']);
    const lines = renderExplain(await call<ExplainView>(socket, '/v1/explain?service=shop/web')).split('\n');
    expect(lines).toContain(`    to ${PEER}: sent`);
    expect(lines).toContain(`    to ${PEER}: not sent: filtered: BGPFilter no-lb exportV4[1] rejects it`);
    peer.close();
    await until(() => k.status().state !== 'Established', 3000, 'the session down');
    const down = await call<ExplainView>(socket, '/v1/explain?service=shop/web');
    expect(down.addresses.flatMap((a) => a.peers ?? [])).toEqual([
      { peer: PEER, sent: false, why: 'session not Established' },
      { peer: PEER, sent: false, why: 'session not Established' },
    ]);
  });

  it('the kbgp command itself: status as JSON, and a clear error with exit 1 when no daemon answers', { timeout: 30_000 }, async () => {
    const { socket } = await setup();
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile('node_modules/.bin/vite-node', ['src/cli/main.ts', ...args], { timeout: 25_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }));
      });
    const ok = await run(['status', '--socket', socket, '--json']);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as StatusView).peers[0]?.state).toBe('Established');
    const gone = await run(['status', '--socket', join(tmpdir(), 'kbgp-no-such.sock')]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('cannot reach kbgp at');
    expect(gone.stderr).toContain('is kbgp running?');
  });
});
