/**
 * examples/, checked so they cannot rot, with no cluster and no network.
 *
 * - Every configuration is loaded with kbgp's own loadConfig for every node it is written for, the
 *   way that node's daemon would ($NODE_NAME and $NODE_IP passed where the example relies on
 *   them), and the peers it resolves to are compared whole with what the topology intends: a
 *   change in kbgp's configuration semantics, or a typo in an example, fails here.
 * - Between nodes, every session must be configured at both ends, with each end's AS, and with at
 *   most one end passive.
 * - The switch snippets (frr.conf, bird.conf) are read simply, comments dropped, and their AS
 *   numbers, addresses and prefix lists compared with what the kbgp side resolves to. Where FRR
 *   and BIRD are installed (always under CI=true) they must accept the files: `vtysh --dryrun`
 *   and `bird -p`, each also shown refusing a broken copy, so the check cannot pass vacuously.
 * - examples/service-advertisement/cluster/ is read by the same ManifestDirectorySource that
 *   `kbgp run --manifests` uses, decided for each node with the example's ranges, given the
 *   example's prefixAdvertisements as the daemon does, and compared with both tables of its
 *   README; the manifests themselves are checked against the Kubernetes API models.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { formatLargeCommunity, formatPrefix, parseCommunity, parseLargeCommunity, parsePrefix, prefixContains } from '../../src/bgp/index.js';
import { type NodeConfig, type PeerConfig, loadConfig } from '../../src/config/config.js';
import { decide } from '../../src/k8s/decide.js';
import type { Decision } from '../../src/k8s/intent.js';
import { ManifestDirectorySource } from '../../src/k8s/manifest-source.js';
import { localRoute } from '../../src/rib/origination.js';
import { requireBinaries } from '../helpers/binaries.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ROUTER_BINARIES } from '../helpers/routers.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const read = (path: string): string => readFileSync(join(EXAMPLES, path), 'utf8');

/** A resolved peer with kbgp's defaults for everything the example does not set. */
function peer(p: Pick<PeerConfig, 'name' | 'address' | 'asNumber' | 'sourceAddress'> & Partial<PeerConfig>): PeerConfig {
  return {
    port: 179,
    passive: false,
    nextHopMode: 'Auto',
    allowedLocalAs: 0,
    maxRestartTime: 120,
    routeReflectorClient: false,
    nodeSpecific: false,
    mesh: false,
    filters: [],
    addPath: 'Both',
    ...p,
  };
}

const byName = (peers: readonly PeerConfig[]): PeerConfig[] => [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
const ranges = (c: NodeConfig): string[] => [...c.serviceCidrs.clusterIPs, ...c.serviceCidrs.externalIPs, ...c.serviceCidrs.loadBalancerIPs].map(formatPrefix);

/**
 * Every session between two nodes of the example is configured at both ends: each end names the
 * other's address and AS, and they cannot both wait for the other to connect.
 */
function expectSessionsMatch(configs: readonly NodeConfig[]): number {
  const byAddress = new Map(configs.map((c) => [c.ipv4Address, c]));
  let sessions = 0;
  for (const a of configs) {
    for (const p of a.peers) {
      const b = byAddress.get(p.address);
      if (b === undefined) continue;
      sessions++;
      const back = b.peers.filter((q) => q.address === a.ipv4Address);
      expect(back, `${b.nodeName} peers with ${a.nodeName} (${a.ipv4Address}), as ${a.nodeName}'s ${p.name} expects`).toHaveLength(1);
      const q = back[0] as PeerConfig;
      expect([p.asNumber, q.asNumber], `${a.nodeName} <-> ${b.nodeName}: each end has the other's AS`).toEqual([b.asNumber, a.asNumber]);
      expect(p.passive && q.passive, `${a.nodeName} <-> ${b.nodeName}: both ends passive`).toBe(false);
      expect(p.routeReflectorClient && q.routeReflectorClient, `${a.nodeName} <-> ${b.nodeName}: each the other's client`).toBe(false);
    }
  }
  return sessions;
}

/** The configuration's statements: comment lines (and BIRD's trailing comments) dropped, trimmed. */
function statements(text: string, comment: '!' | '#'): string[] {
  return text
    .split('\n')
    .map((l) => (comment === '#' ? (l.split('#')[0] ?? '') : l).trim())
    .filter((l) => l !== '' && !l.startsWith(comment));
}

/** The comment lines' text run together, for claims made in words. */
function prose(text: string, comment: '!' | '#'): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(comment))
    .map((l) => l.slice(1).trim())
    .join(' ');
}

/** For every statement that matches, its captures joined by a space. */
function captures(lines: readonly string[], re: RegExp): string[] {
  return lines.flatMap((l) => {
    const m = re.exec(l);
    return m === null ? [] : [m.slice(1).join(' ')];
  });
}

/** The captures of the one statement that matches. */
function single(lines: readonly string[], re: RegExp): string {
  const found = captures(lines, re);
  expect(found, `one statement matching ${re}`).toHaveLength(1);
  return found[0] ?? '';
}

/** A prefix list's ranges, as FRR writes them for "the range and everything inside it". */
const frrServiceRanges = (lines: readonly string[], list: string): string[] => captures(lines, new RegExp(`^ip prefix-list ${list} seq \\d+ permit (\\S+) le 32$`)).sort();
const birdServiceRanges = (lines: readonly string[]): string[] =>
  single(lines, /^define KBGP_SERVICES = \[(.*)\];$/)
    .split(',')
    .map((s) => s.trim())
    .map((s) => {
      expect(s, 'a BIRD prefix set entry with its more specifics (+)').toMatch(/\+$/);
      return s.slice(0, -1);
    })
    .sort();

// ------------------------------------------------------------------------------------------------

describe('examples/tor-peering.yaml: one node, one ToR', () => {
  it('resolves node-1 to its ToR and its static originations', () => {
    const c = loadConfig(read('tor-peering.yaml'), 'node-1');
    expect([c.nodeName, c.asNumber, c.routerId, c.listenPort]).toEqual(['node-1', 64512, '192.0.2.11', 179]);
    expect(c.peers).toEqual([peer({ name: 'rack1-tor', address: '192.0.2.1', asNumber: 65001, sourceAddress: '192.0.2.11', keepaliveTime: 20 })]);
    expect(c.originate.map((r) => formatPrefix(r.prefix))).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
  });
});

describe('examples/tor-peering/: every node peers eBGP with its rack\'s ToR', () => {
  const TEXT = read('tor-peering/kbgp.yaml');
  // The nodes and their addresses ($NODE_IP) as the file's head and the README give them.
  const NODES = [
    { node: 'node-1', ip: '10.0.1.11', rack: 'rack-1', tor: { name: 'tor-rack-1', address: '10.0.1.1', asNumber: 65001 } },
    { node: 'node-2', ip: '10.0.1.12', rack: 'rack-1', tor: { name: 'tor-rack-1', address: '10.0.1.1', asNumber: 65001 } },
    { node: 'node-3', ip: '10.0.2.13', rack: 'rack-2', tor: { name: 'tor-rack-2', address: '10.0.2.1', asNumber: 65002 } },
    { node: 'node-4', ip: '10.0.2.14', rack: 'rack-2', tor: { name: 'tor-rack-2', address: '10.0.2.1', asNumber: 65002 } },
  ] as const;

  /** As the DaemonSet runs it: no --node, $NODE_NAME and $NODE_IP from the pod. */
  const resolve = (node: string, ip: string): NodeConfig => loadConfig(TEXT, undefined, { NODE_NAME: node, NODE_IP: ip });

  it.each(NODES)('$node ($ip) peers only with $tor.name, connecting from $NODE_IP', ({ node, ip, tor }) => {
    const c = resolve(node, ip);
    expect([c.nodeName, c.asNumber, c.routerId, c.ipv4Address, c.listenPort, c.clusterId]).toEqual([node, 64512, ip, ip, 179, undefined]);
    expect(c.peers).toEqual([peer({ ...tor, sourceAddress: ip })]);
    expect(ranges(c)).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
    expect(c.metricsAddress).toEqual({ host: '0.0.0.0', port: 9179 });
    expect(c.originate).toEqual([]);
  });

  it('a node without a rack label (no Node document here) peers with nothing', () => {
    expect(resolve('node-9', '10.0.3.19').peers).toEqual([]);
  });

  it('the mesh is off: given every node\'s address in its Node document, a node still peers only with its ToR', () => {
    let text = TEXT;
    for (const n of NODES) {
      const from = `name: ${n.node}\n  labels:\n    rack: ${n.rack}\nspec: {}`;
      expect(text.split(from), `${n.node}'s Node document`).toHaveLength(2);
      text = text.replace(from, from.replace('spec: {}', `spec: {bgp: {ipv4Address: ${n.ip}/24}}`));
    }
    for (const n of NODES) expect(loadConfig(text, n.node).peers).toEqual([peer({ ...n.tor, sourceAddress: n.ip })]);
  });

  const rack1 = NODES.filter((n) => n.rack === 'rack-1');
  const others = NODES.filter((n) => n.rack !== 'rack-1');

  it('frr.conf and bird.conf say rightly how tor-rack-2 differs: its AS, router ID and the rack\'s subnet', () => {
    const tor = resolve('node-3', '10.0.2.13').peers[0];
    const rack2 = NODES.filter((n) => n.rack === 'rack-2');
    for (const [file, comment, rangeWord] of [['tor-peering/frr.conf', '!', 'listen range'], ['tor-peering/bird.conf', '#', 'neighbor range']] as const) {
      const m = new RegExp(`tor-rack-2 is the same with AS (\\d+), router ID (\\S+) and ${rangeWord} (\\S+)\\.`).exec(prose(read(file), comment));
      expect(m, `${file} says how tor-rack-2 differs`).not.toBeNull();
      expect([Number(m?.[1]), m?.[2]], file).toEqual([tor?.asNumber, tor?.address]);
      for (const n of rack2) expect(prefixContains(parsePrefix(m?.[3] ?? ''), n.ip), `${file}: ${n.node} inside ${m?.[3] ?? ''}`).toBe(true);
    }
  });

  it('frr.conf is tor-rack-1 as the nodes see it: its AS and address, the nodes\' AS and subnet, the service ranges, ECMP', () => {
    const c = resolve('node-1', '10.0.1.11');
    const tor = c.peers[0] as PeerConfig;
    const lines = statements(read('tor-peering/frr.conf'), '!');
    expect(Number(single(lines, /^router bgp (\d+)$/))).toBe(tor.asNumber);
    expect(single(lines, /^bgp router-id (\S+)$/)).toBe(tor.address);
    expect(Number(single(lines, /^neighbor NODES remote-as (\d+)$/))).toBe(c.asNumber);
    const range = parsePrefix(single(lines, /^bgp listen range (\S+) peer-group NODES$/));
    for (const n of rack1) expect(prefixContains(range, n.ip), `${n.node} ${n.ip} inside ${formatPrefix(range)}`).toBe(true);
    for (const n of others) expect(prefixContains(range, n.ip), `${n.node} ${n.ip} outside ${formatPrefix(range)}`).toBe(false);
    expect(frrServiceRanges(lines, 'KBGP-SERVICES')).toEqual(ranges(c).sort());
    expect(captures(lines, /^neighbor NODES route-map (\S+ in)$/)).toEqual(['FROM-NODES in']);
    expect(Number(single(lines, /^maximum-paths (\d+)$/))).toBeGreaterThanOrEqual(rack1.length);
    // BFD stays a suggestion: kbgp does not speak it.
    expect(captures(lines, /(bfd)/)).toEqual([]);
  });

  it('bird.conf is tor-rack-1 as the nodes see it: its AS and address, the nodes\' AS and subnet, the service ranges, ECMP', () => {
    const c = resolve('node-1', '10.0.1.11');
    const tor = c.peers[0] as PeerConfig;
    const lines = statements(read('tor-peering/bird.conf'), '#');
    expect(single(lines, /^router id (\S+);$/)).toBe(tor.address);
    expect(single(lines, /^local (\S+ as \d+);$/)).toBe(`${tor.address} as ${tor.asNumber}`);
    const [range, as] = single(lines, /^neighbor range (\S+) as (\d+);$/).split(' ') as [string, string];
    expect(Number(as)).toBe(c.asNumber);
    for (const n of rack1) expect(prefixContains(parsePrefix(range), n.ip), `${n.node} ${n.ip} inside ${range}`).toBe(true);
    for (const n of others) expect(prefixContains(parsePrefix(range), n.ip), `${n.node} ${n.ip} outside ${range}`).toBe(false);
    expect(birdServiceRanges(lines)).toEqual(ranges(c).sort());
    expect(lines).toContain('merge paths on;');
    expect(lines).toContain('import filter from_nodes;');
    expect(captures(lines, /(bfd)/)).toEqual([]);
  });
});

describe('examples/route-reflectors/: reflectors per rack, eBGP to the leaves', () => {
  const TEXT = read('route-reflectors/kbgp.yaml');
  const LEAF_LIMIT = { limit: 10000, restartAfter: 60, warningOnly: false };
  const reflector = (name: string, address: string, asNumber: number, sourceAddress: string): PeerConfig => peer({ name, address, asNumber, sourceAddress });
  const client = (name: string, address: string, asNumber: number, sourceAddress: string): PeerConfig =>
    peer({ name, address, asNumber, sourceAddress, passive: true, routeReflectorClient: true });
  const leaf = (name: string, address: string, asNumber: number, sourceAddress: string): PeerConfig => peer({ name, address, asNumber, sourceAddress, addPath: 'Send', maxPrefixes: LEAF_LIMIT });

  // The table in examples/route-reflectors/README.md.
  const NODES: readonly { node: string; ip: string; as: number; clusterId?: string; peers: PeerConfig[] }[] = [
    {
      node: 'node-1a', ip: '10.0.1.11', as: 64512, clusterId: '244.0.1.1',
      peers: [
        reflector('rack-1-to-reflectors/node-1b', '10.0.1.12', 64512, '10.0.1.11'),
        client('rack-1-reflectors-to-clients/node-1c', '10.0.1.13', 64512, '10.0.1.11'),
        client('rack-1-reflectors-to-clients/node-1d', '10.0.1.14', 64512, '10.0.1.11'),
        leaf('rack-1-reflectors-to-leaf', '10.0.1.1', 65009, '10.0.1.11'),
      ],
    },
    {
      node: 'node-1b', ip: '10.0.1.12', as: 64512, clusterId: '244.0.1.1',
      peers: [
        reflector('rack-1-to-reflectors/node-1a', '10.0.1.11', 64512, '10.0.1.12'),
        client('rack-1-reflectors-to-clients/node-1c', '10.0.1.13', 64512, '10.0.1.12'),
        client('rack-1-reflectors-to-clients/node-1d', '10.0.1.14', 64512, '10.0.1.12'),
        leaf('rack-1-reflectors-to-leaf', '10.0.1.1', 65009, '10.0.1.12'),
      ],
    },
    ...(['node-1c', 'node-1d'] as const).map((node, i) => {
      const ip = `10.0.1.${13 + i}`;
      return { node, ip, as: 64512, peers: [reflector('rack-1-to-reflectors/node-1a', '10.0.1.11', 64512, ip), reflector('rack-1-to-reflectors/node-1b', '10.0.1.12', 64512, ip)] };
    }),
    {
      node: 'node-2a', ip: '10.0.2.11', as: 64513, clusterId: '244.0.2.1',
      peers: [
        client('rack-2-reflectors-to-clients/node-2b', '10.0.2.12', 64513, '10.0.2.11'),
        client('rack-2-reflectors-to-clients/node-2c', '10.0.2.13', 64513, '10.0.2.11'),
        leaf('rack-2-reflectors-to-leaf', '10.0.2.1', 65010, '10.0.2.11'),
      ],
    },
    ...(['node-2b', 'node-2c'] as const).map((node, i) => {
      const ip = `10.0.2.${12 + i}`;
      return { node, ip, as: 64513, peers: [reflector('rack-2-to-reflectors/node-2a', '10.0.2.11', 64513, ip)] };
    }),
  ];
  const resolved = (): NodeConfig[] => NODES.map((n) => loadConfig(TEXT, n.node));

  it.each(NODES)('$node ($ip, AS $as) resolves to exactly its peerings', ({ node, ip, as, clusterId, peers }) => {
    const c = loadConfig(TEXT, node);
    expect([c.nodeName, c.asNumber, c.routerId, c.ipv4Address, c.clusterId]).toEqual([node, as, ip, ip, clusterId]);
    expect(byName(c.peers)).toEqual(byName(peers));
    expect(c.metricsAddress).toEqual({ host: '0.0.0.0', port: 9179 });
    expect(ranges(c)).toEqual(['10.96.0.0/12', '203.0.113.0/24']);
  });

  it('$NODE_NAME picks the node as --node does', () => {
    expect(loadConfig(TEXT, undefined, { NODE_NAME: 'node-2a' })).toEqual(loadConfig(TEXT, 'node-2a'));
  });

  it('every session between nodes is configured at both ends, one end active, one side the reflector', () => {
    const sessions = expectSessionsMatch(resolved());
    // rack-1: 1a-1b, 2 reflectors x 2 clients; rack-2: 1 reflector x 2 clients; each counted from both ends.
    expect(sessions).toBe(2 * (1 + 4 + 2));
  });

  it('only the reflectors peer outside the cluster, and only with their own rack\'s leaf', () => {
    const nodeAddresses = new Set(NODES.map((n) => n.ip));
    const outside = resolved().flatMap((c) => c.peers.filter((p) => !nodeAddresses.has(p.address)).map((p) => `${c.nodeName} ${p.address} ${p.asNumber}`));
    expect(outside).toEqual(['node-1a 10.0.1.1 65009', 'node-1b 10.0.1.1 65009', 'node-2a 10.0.2.1 65010']);
  });

  /** The nodes that peer with `leaf`, as `address as AS`, sorted. */
  const neighboursOf = (leafAddress: string): { leafAs: number; neighbours: string[] } => {
    const towards = resolved().flatMap((c) => c.peers.filter((p) => p.address === leafAddress).map((p) => ({ c, p })));
    expect(towards.length).toBeGreaterThan(0);
    expect(new Set(towards.map(({ p }) => p.asNumber)).size, 'one AS for the leaf').toBe(1);
    return { leafAs: towards[0]?.p.asNumber ?? 0, neighbours: towards.map(({ c }) => `${c.ipv4Address} as ${c.asNumber}`).sort() };
  };

  it('frr.conf and bird.conf say rightly how leaf-2 differs: its AS, router ID and one neighbour', () => {
    const { leafAs, neighbours } = neighboursOf('10.0.2.1');
    for (const [file, comment] of [['route-reflectors/frr.conf', '!'], ['route-reflectors/bird.conf', '#']] as const) {
      const m = /leaf-2 is the same with AS (\d+), router ID (\S+) and one neighbor, node-2a (\S+) \(AS (\d+)\)\./.exec(prose(read(file), comment));
      expect(m, `${file} says how leaf-2 differs`).not.toBeNull();
      expect([Number(m?.[1]), m?.[2], [`${m?.[3] ?? ''} as ${m?.[4] ?? ''}`]], file).toEqual([leafAs, '10.0.2.1', neighbours]);
    }
  });

  it('frr.conf is leaf-1 as rack-1\'s reflectors see it: its AS and address, each reflector, the service ranges, ECMP', () => {
    const { leafAs, neighbours } = neighboursOf('10.0.1.1');
    const lines = statements(read('route-reflectors/frr.conf'), '!');
    expect(Number(single(lines, /^router bgp (\d+)$/))).toBe(leafAs);
    expect(single(lines, /^bgp router-id (\S+)$/)).toBe('10.0.1.1');
    const groupAs = single(lines, /^neighbor RACK-1 remote-as (\d+)$/);
    expect(captures(lines, /^neighbor (\d+\.\d+\.\d+\.\d+) peer-group RACK-1$/).map((a) => `${a} as ${groupAs}`).sort()).toEqual(neighbours);
    expect(frrServiceRanges(lines, 'KBGP-SERVICES')).toEqual(ranges(loadConfig(TEXT, 'node-1a')).sort());
    expect(Number(single(lines, /^maximum-paths (\d+)$/))).toBeGreaterThan(1);
    expect(captures(lines, /(bfd)/)).toEqual([]);
  });

  it('bird.conf is leaf-1 as rack-1\'s reflectors see it, receiving ADD-PATH', () => {
    const { leafAs, neighbours } = neighboursOf('10.0.1.1');
    const lines = statements(read('route-reflectors/bird.conf'), '#');
    expect(single(lines, /^router id (\S+);$/)).toBe('10.0.1.1');
    expect(single(lines, /^local (\S+ as \d+);$/)).toBe(`10.0.1.1 as ${leafAs}`);
    expect(captures(lines, /^neighbor (\S+ as \d+);$/).sort()).toEqual(neighbours);
    expect(birdServiceRanges(lines)).toEqual(ranges(loadConfig(TEXT, 'node-1a')).sort());
    expect(lines).toContain('add paths rx;');
    expect(lines).toContain('merge paths on;');
    expect(captures(lines, /(bfd)/)).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe('examples/service-advertisement/: what each node announces', () => {
  const TEXT = read('service-advertisement/kbgp.yaml');
  const CLUSTER = join(EXAMPLES, 'service-advertisement', 'cluster');
  const README = read('service-advertisement/README.md');
  const NODES = [
    ['node-1', '10.0.0.11'],
    ['node-2', '10.0.0.12'],
    ['node-3', '10.0.0.13'],
  ] as const;

  it.each(NODES)('%s (%s) peers with the ToR, and has the ranges, communities and service settings of the file', (node, ip) => {
    const c = loadConfig(TEXT, node);
    expect([c.nodeName, c.asNumber, c.routerId]).toEqual([node, 64512, ip]);
    expect(c.peers).toEqual([peer({ name: 'tor', address: '10.0.0.1', asNumber: 65000, sourceAddress: ip, maxPrefixes: { limit: 100000, restartAfter: 60, warningOnly: false } })]);
    expect({
      clusterIPs: c.serviceCidrs.clusterIPs.map(formatPrefix),
      externalIPs: c.serviceCidrs.externalIPs.map(formatPrefix),
      loadBalancerIPs: c.serviceCidrs.loadBalancerIPs.map(formatPrefix),
      aggregation: c.serviceCidrs.aggregation,
    }).toEqual({ clusterIPs: ['10.96.0.0/12'], externalIPs: ['198.51.100.0/24'], loadBalancerIPs: ['203.0.113.0/24', '192.0.2.53/32'], aggregation: true });
    expect(c.prefixAdvertisements.map((a) => [formatPrefix(a.cidr), a.communities.map(community), a.largeCommunities.map(formatLargeCommunity)])).toEqual([
      ['10.96.0.0/12', ['64512:100'], []],
      ['198.51.100.0/24', ['64512:200'], []],
      ['203.0.113.0/24', ['64512:300'], []],
      ['192.0.2.53/32', ['64512:300'], ['64512:53:1']],
    ]);
    expect(c.services).toEqual({ coalesceWindow: 0.1, minFlapInterval: 5, advertisePodCIDRs: false });
    expect(c.originate).toEqual([]);
  });

  /** The decision for `node` on cluster/, read as `kbgp run --manifests` reads it, with the node's configuration. */
  function decisionFor(node: string): { config: NodeConfig; decision: Decision } {
    const config = loadConfig(TEXT, node);
    const source = new ManifestDirectorySource({ directory: CLUSTER, nodeName: node, clock: new FakeClock(), logger: pino({ level: 'silent' }) });
    let changes = 0;
    source.start(() => changes++);
    try {
      expect(changes, 'the directory was read').toBe(1);
      expect(source.status()).toMatchObject({ synced: true, healthy: true });
      const state = source.state();
      expect(state.node?.metadata?.name, `cluster/ has a Node ${node}`).toBe(node);
      const decision = decide({
        nodeName: node,
        node: state.node,
        services: state.services,
        endpointSlices: state.endpointSlices,
        serviceCidrs: config.serviceCidrs,
        aggregation: config.serviceCidrs.aggregation,
        advertisePodCidrs: config.services.advertisePodCIDRs,
      });
      return { config, decision };
    } finally {
      source.stop();
    }
  }

  it('announces exactly the README\'s "What each node announces", with those communities and reasons', () => {
    const rows = table(README, '## What each node announces');
    expect(rows.length).toBeGreaterThan(0);
    for (const [node] of NODES) {
      const { config, decision } = decisionFor(node);
      // What the daemon hands the RIB: each intent with the prefixAdvertisements communities added.
      const got = decision.intents.map((i) => {
        const attributes = localRoute(i, config.prefixAdvertisements).attributes;
        return { prefix: formatPrefix(i.prefix), communities: [...(attributes.communities ?? []).map(community), ...(attributes.largeCommunities ?? []).map(formatLargeCommunity)].sort(), reasons: i.reasons };
      });
      const claimed = rows.filter((r) => cellList(r[1]).includes(node));
      expect(got.map((g) => [g.prefix, g.communities]).sort(), `${node}: prefixes and communities`).toEqual(
        claimed.map((r) => [plain(r[0]), cellList(r[3]).map(normalizeCommunity).sort()]).sort(),
      );
      for (const r of claimed) {
        const prefix = plain(r[0]);
        expect(got.find((x) => x.prefix === prefix)?.reasons.map((x) => x.source), `${node} ${prefix}: the reason "${r[2] ?? ''}"`).toEqual([whySource(r[2] ?? '', prefix)]);
      }
    }
  });

  it('refuses exactly the README\'s "What is not announced, and why"', () => {
    const rows = table(README, '## What is not announced, and why');
    expect(rows.length).toBeGreaterThan(0);
    const claimed = rows.flatMap((r) => cellList(r[1]).map((node) => `${node} ${plain(r[2])} ${plain(r[0])} ${plain(r[3]).split(' ')[0] ?? ''}`)).sort();
    const got = NODES.flatMap(([node]) => decisionFor(node).decision.notAdvertised.map((n) => `${node} ${n.source} ${n.address} ${n.reason}`)).sort();
    expect(got).toEqual(claimed);
  });

  it('every manifest in cluster/ is a valid Kubernetes object (API models of @kubernetes/client-node), and they refer to each other', () => {
    const files = readdirSync(CLUSTER).sort();
    expect(files.length).toBeGreaterThan(0);
    const objects: { file: string; o: Record<string, unknown> }[] = [];
    for (const file of files) {
      expect(file, 'cluster/ holds manifests only (kbgp run --manifests reads *.yaml, *.yml, *.json)').toMatch(/\.ya?ml$/);
      for (const d of parseAllDocuments(readFileSync(join(CLUSTER, file), 'utf8'))) {
        expect(d.errors, file).toEqual([]);
        const o: unknown = d.toJS();
        if (isObject(o)) objects.push({ file, o });
      }
    }
    const problems: string[] = [];
    for (const { file, o } of objects) {
      const kind = KINDS[String(o.kind)];
      if (kind === undefined) {
        problems.push(`${file}: kind ${String(o.kind)} is not one kbgp reads`);
        continue;
      }
      if (o.apiVersion !== kind.apiVersion) problems.push(`${file}: ${String(o.kind)} must be ${kind.apiVersion}`);
      checkAgainstModel(o, kind.model, `${file} ${String(o.kind)}`, problems);
    }
    expect(problems).toEqual([]);
    const named = (kind: string): string[] => objects.filter(({ o }) => o.kind === kind).map(({ o }) => String((o.metadata as Record<string, unknown> | undefined)?.name));
    expect(named('Node').sort()).toEqual(NODES.map(([n]) => n));
    const nodes = new Set(named('Node'));
    const services = new Set(named('Service'));
    for (const { file, o } of objects.filter((x) => x.o.kind === 'EndpointSlice')) {
      const slice = o as { metadata?: { labels?: Record<string, string> }; endpoints?: { nodeName?: string }[] };
      expect(services.has(slice.metadata?.labels?.['kubernetes.io/service-name'] ?? ''), `${file}: the slice's service exists`).toBe(true);
      for (const ep of slice.endpoints ?? []) expect(nodes.has(ep.nodeName ?? ''), `${file}: endpoint on a known node`).toBe(true);
    }
  });
});

// README tables ----------------------------------------------------------------------------------

/** The rows (cells, trimmed) of the first table after `heading`. */
function table(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `README section ${heading}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  let i = start + 1;
  while (i < lines.length && !(lines[i] ?? '').startsWith('|')) i++;
  i += 2; // header and separator
  for (; i < lines.length && (lines[i] ?? '').startsWith('|'); i++) rows.push((lines[i] ?? '').split('|').slice(1, -1).map((c) => c.trim()));
  return rows;
}

const plain = (cell: string | undefined): string => (cell ?? '').replace(/`/g, '');
const cellList = (cell: string | undefined): string[] => plain(cell).split(',').map((s) => s.trim()).filter((s) => s !== '');
const community = (c: number): string => `${c >>> 16}:${c & 0xffff}`;
const normalizeCommunity = (text: string): string => (text.split(':').length === 3 ? formatLargeCommunity(parseLargeCommunity(text)) : community(parseCommunity(text)));

/**
 * The intent reason a README "why" names: "`shop` cluster IP: ..." is default/shop's clusterIP,
 * "serviceClusterIPs range" the range of that field.
 */
function whySource(why: string, prefix: string): string {
  const service = /^`([^`]+)` (cluster IP|load-balancer IP|externalIP)\b/.exec(why);
  if (service !== null) {
    const kind = { 'cluster IP': 'clusterIP', 'load-balancer IP': 'loadBalancer', externalIP: 'externalIP' }[service[2] as 'cluster IP' | 'load-balancer IP' | 'externalIP'];
    return `default/${service[1] ?? ''} ${kind}`;
  }
  const range = /^(serviceClusterIPs|serviceExternalIPs|serviceLoadBalancerIPs) range\b/.exec(why);
  if (range !== null) return `${range[1] ?? ''} ${prefix}`;
  return `unrecognised "why": ${why}`;
}

// The Kubernetes API models -----------------------------------------------------------------------

const KINDS: Readonly<Partial<Record<string, { readonly apiVersion: string; readonly model: string }>>> = {
  Service: { apiVersion: 'v1', model: 'V1Service' },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', model: 'V1EndpointSlice' },
  Node: { apiVersion: 'v1', model: 'V1Node' },
};
const MODELS: Readonly<Record<string, unknown>> = k8s;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A model's fields, JSON name to type, from the generated class's attributeTypeMap. */
function fieldsOf(model: string): Map<string, string> | undefined {
  const cls = MODELS[model];
  const map: unknown = typeof cls === 'function' ? Reflect.get(cls, 'attributeTypeMap') : undefined;
  if (!Array.isArray(map)) return undefined;
  const attributes: readonly unknown[] = map;
  const out = new Map<string, string>();
  for (const a of attributes) if (isObject(a) && typeof a.baseName === 'string' && typeof a.type === 'string') out.set(a.baseName, a.type);
  return out;
}

/** Unknown fields and wrong types, as `kubectl apply --validate=strict` would refuse them. */
function checkAgainstModel(v: unknown, type: string, path: string, problems: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(v)) problems.push(`${path}: must be a list`);
    else v.forEach((x, i) => checkAgainstModel(x, array[1] ?? '', `${path}[${i}]`, problems));
    return;
  }
  switch (type) {
    case 'string':
      if (typeof v !== 'string') problems.push(`${path}: must be a string, not ${JSON.stringify(v)}`);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isInteger(v)) problems.push(`${path}: must be an integer, not ${JSON.stringify(v)}`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') problems.push(`${path}: must be true or false, not ${JSON.stringify(v)}`);
      return;
    case 'IntOrString':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) problems.push(`${path}: must be an integer or a string`);
      return;
    case '{ [key: string]: string; }':
      if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) problems.push(`${path}: must map names to strings (quote "" and "true")`);
      return;
  }
  const fields = fieldsOf(type);
  if (fields === undefined) {
    problems.push(`${path}: type ${type} is not checked here`);
    return;
  }
  if (!isObject(v)) {
    problems.push(`${path}: must be an object`);
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    const t = fields.get(k);
    if (t === undefined) problems.push(`${path}.${k}: not a field of ${type}`);
    else checkAgainstModel(x, t, `${path}.${k}`, problems);
  }
}

// The switches' own parsers ------------------------------------------------------------------------

/** Every file under `path` (a file or a folder of examples/), relative to examples/. */
function filesUnder(path: string): string[] {
  const p = join(EXAMPLES, path);
  return statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => filesUnder(join(path, f))) : [relative(EXAMPLES, p)];
}

/** The examples this file checks; other folders of examples/ have tests of their own. */
const CHECKED = ['tor-peering.yaml', 'tor-peering', 'route-reflectors', 'service-advertisement'];
const FILES = CHECKED.flatMap((p) => filesUnder(p)).sort();
const FRR_FILES = FILES.filter((f) => f.endsWith('frr.conf'));
const BIRD_FILES = FILES.filter((f) => f.endsWith('bird.conf'));

describe('examples/: the files these tests know', () => {
  it('every file of these examples is one checked here (a new file needs its test)', () => {
    expect(FILES).toEqual(
      [
        'tor-peering.yaml',
        'tor-peering/README.md',
        'tor-peering/kbgp.yaml',
        'tor-peering/frr.conf',
        'tor-peering/bird.conf',
        'route-reflectors/README.md',
        'route-reflectors/kbgp.yaml',
        'route-reflectors/frr.conf',
        'route-reflectors/bird.conf',
        'service-advertisement/README.md',
        'service-advertisement/kbgp.yaml',
        'service-advertisement/cluster/nodes.yaml',
        'service-advertisement/cluster/web.yaml',
        'service-advertisement/cluster/shop.yaml',
        'service-advertisement/cluster/dns.yaml',
        'service-advertisement/cluster/legacy.yaml',
      ].sort(),
    );
    expect(FRR_FILES).toEqual(['route-reflectors/frr.conf', 'tor-peering/frr.conf']);
    expect(BIRD_FILES).toEqual(['route-reflectors/bird.conf', 'tor-peering/bird.conf']);
  });
});

/** Runs a checker on `file`, and on a copy with `breakIt` applied, which it must refuse. */
function expectAcceptedAndBrokenRefused(run: (path: string) => { status: number | null; output: string }, file: string, breakIt: (text: string) => string): void {
  const ok = run(join(EXAMPLES, file));
  expect(ok.status, `${file}:\n${ok.output}`).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-examples-'));
  try {
    const text = read(file);
    const broken = breakIt(text);
    expect(broken, 'the break changed the file').not.toBe(text);
    const copy = join(dir, 'broken.conf');
    writeFileSync(copy, broken);
    expect(run(copy).status, `a broken copy of ${file} is refused`).not.toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const frr = requireBinaries(...ROUTER_BINARIES.frr);
describe.skipIf(frr === undefined)('FRR accepts every frr.conf (vtysh --dryrun)', () => {
  it.each(FRR_FILES)('%s', (file) => {
    const vtysh = frr?.vtysh ?? 'vtysh';
    expectAcceptedAndBrokenRefused(
      (path) => {
        const r = spawnSync(vtysh, ['--dryrun', '-f', path], { encoding: 'utf8', timeout: 20_000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
      },
      file,
      (text) => text.replace(/^(\s*)maximum-paths /m, '$1maximum-pathz '),
    );
  });
});

const bird = requireBinaries(...ROUTER_BINARIES.bird);
describe.skipIf(bird === undefined)('BIRD accepts every bird.conf (bird -p)', () => {
  it.each(BIRD_FILES)('%s', (file) => {
    const birdPath = bird?.bird ?? 'bird';
    expectAcceptedAndBrokenRefused(
      (path) => {
        const r = spawnSync(birdPath, ['-p', '-c', path], { encoding: 'utf8', timeout: 20_000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
      },
      file,
      (text) => text.replace(/^(\s*)merge paths on;/m, '$1merge pathz on;'),
    );
  });
});
