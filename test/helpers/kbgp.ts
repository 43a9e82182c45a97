/**
 * kbgp's Daemon run in-process for interop tests, configured from the same multi-document YAML a
 * user writes (JSON is YAML, as test/daemon.test.ts writes it): a BGPConfiguration, this node's
 * Node, any other nodes' Node documents (Calico's route reflector client rule reads their addresses
 * and cluster IDs), one BGPPeer per peer and a KbgpConfiguration with each peer's settings.
 *
 *   const k = await startKbgp({ name: 'rr', address: '127.0.9.10', port: 11410, asn: 4200000900,
 *     routerId: '10.9.0.10', clusterId: '10.9.255.1', peers: [{ address: '127.0.9.11', port: 179, asn: 4200000900 }] });
 *   afterEach(stopAllKbgp);
 *
 * Each daemon logs at debug level (every state transition, collision and UPDATE) to its own file
 * in one temp directory per test file, for failure messages; removeKbgpLogs() (afterAll) deletes it.
 * Daemons are recorded the moment they are built, so stopAllKbgp() finds them even if start() fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import type { ClusterSource } from '../../src/k8s/source.js';
import { parseCommunity, parseLargeCommunity, parsePrefix } from '../../src/bgp/index.js';
import { type AddPathSetting, loadConfig } from '../../src/config/config.js';
import type { NextHopMode } from '../../src/rib/export.js';
import { Daemon, type PeerStatus } from '../../src/daemon.js';
import type { OriginatedRoute } from '../../src/rib/origination.js';
import type { RouteSpec } from './routers.js';

export interface KbgpPeerSpec {
  /** The BGPPeer's name (what peerSettings refer to); default `peer-<address>`. */
  readonly name?: string;
  readonly address: string;
  /** The peer's port: peerIP is `address:port`. */
  readonly port: number;
  readonly asn: number;
  /** peerSettings passive: never connect, only accept. */
  readonly passive?: boolean;
  /** peerSettings holdTime, seconds. */
  readonly holdTime?: number;
  /** peerSettings addPath; kbgp's default is Both. */
  readonly addPath?: AddPathSetting;
  /** peerSettings maxPrefixes, as the YAML takes it (restartAfter a duration text). */
  readonly maxPrefixes?: { readonly limit: number; readonly restartAfter?: string; readonly warningOnly?: boolean };
  readonly nextHopMode?: NextHopMode;
  /** BGPPeer sourceAddress None: let the kernel pick the source (the Node's addresses are then only next hops). */
  readonly noSourceAddress?: boolean;
  /** BGPPeer maxRestartTime, a duration text such as '120s': graceful restart with this peer. */
  readonly maxRestartTime?: string;
}

/** Another kbgp node's Node document, as this node's configuration sees it. */
export interface KbgpOtherNode {
  readonly name: string;
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  readonly clusterId?: string;
}

export interface KbgpSpec {
  /** Names the log file; unique within a test file. */
  readonly name: string;
  /** The Node's name; default 'kbgp'. */
  readonly nodeName?: string;
  /** Listening address (KbgpConfiguration listenAddress): 127.x.y.z or ::1. */
  readonly address: string;
  /** BGPConfiguration listenPort. */
  readonly port: number;
  readonly asn: number;
  readonly routerId: string;
  /** Node spec.bgp.ipv4Address: the source address towards IPv4 peers, and a next hop. */
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  /** Node spec.bgp.routeReflectorClusterID: this node reflects for its iBGP clients. */
  readonly clusterId?: string;
  readonly otherNodes?: readonly KbgpOtherNode[];
  readonly peers: readonly KbgpPeerSpec[];
  readonly originate?: readonly RouteSpec[];
  /** KbgpConfiguration maxPaths (multipath set size). */
  readonly maxPaths?: number;
  /** More BGPConfiguration fields (serviceClusterIPs, ...), as the YAML takes them. */
  readonly bgpConfiguration?: Record<string, unknown>;
  /** KbgpConfiguration services settings, as the YAML takes them. */
  readonly services?: Record<string, unknown>;
  /** The daemon's control socket path. */
  readonly controlSocket?: string;
  /** KbgpConfiguration metricsAddress (host:port). */
  readonly metricsAddress?: string;
  /** The cluster this node follows, built with the daemon's logger. */
  readonly cluster?: (logger: Logger) => ClusterSource;
}

/** One path of a peer's Adj-RIB-In, as `Daemon.received()` returns it. */
export type ReceivedRoute = ReturnType<Daemon['received']>[number];

let logDir: string | undefined;
const running: Kbgp[] = [];

function peerName(p: KbgpPeerSpec): string {
  return p.name ?? `peer-${p.address.replace(/[^0-9a-zA-Z]/g, '-')}`;
}

export class Kbgp {
  readonly daemon: Daemon;
  readonly logFile: string;
  private readonly log: ReturnType<typeof pino.destination>;

  constructor(readonly spec: KbgpSpec) {
    logDir ??= mkdtempSync(join(tmpdir(), 'kbgp-interop-'));
    this.logFile = join(logDir, `${spec.name}.log`);
    this.log = pino.destination({ dest: this.logFile, sync: true });
    const logger = pino({ level: 'debug' }, this.log);
    const cluster = spec.cluster?.(logger);
    this.daemon = new Daemon(loadConfig(kbgpYaml(spec), spec.nodeName ?? 'kbgp'), {
      logger,
      ...(cluster === undefined ? {} : { cluster }),
      ...(spec.controlSocket === undefined ? {} : { controlSocket: spec.controlSocket }),
    });
  }

  async stop(): Promise<void> {
    await this.daemon.stop('test over');
    this.log.end();
  }

  /** The peer's address; with none given, the only peer's. */
  private peerAddress(address?: string): string {
    if (address !== undefined) return address;
    const only = this.spec.peers[0];
    if (only === undefined || this.spec.peers.length !== 1) throw new Error(`kbgp ${this.spec.name} has ${this.spec.peers.length} peers: say which`);
    return only.address;
  }

  status(peerAddress?: string): PeerStatus {
    const a = this.peerAddress(peerAddress);
    const s = this.daemon.status().find((x) => x.address === a);
    if (s === undefined) throw new Error(`kbgp ${this.spec.name} has no peer ${a}`);
    return s;
  }

  /** Adj-RIB-In from the peer (the only one by default). */
  received(peerAddress?: string): ReceivedRoute[] {
    return this.daemon.received(this.peerAddress(peerAddress));
  }

  logTail(lines = 25): string {
    try {
      return `--- kbgp ${this.spec.name} ${this.logFile}\n${readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `--- kbgp ${this.spec.name} ${this.logFile} (none)`;
    }
  }

  /** Every peer's status and the log's last lines, for failure messages. */
  describe(lines = 25): string {
    const status = JSON.stringify(this.daemon.status(), (_k, v: unknown) => (v instanceof Set ? [...v] : typeof v === 'bigint' ? String(v) : v));
    return `kbgp ${this.spec.name} status: ${status}\n${this.logTail(lines)}`;
  }

  /** Lines of the debug log that say a connection collision was resolved. */
  collisions(): number {
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l.includes('connection collision')).length;
  }
}

export function toOriginated(r: RouteSpec): OriginatedRoute {
  return { prefix: parsePrefix(r.prefix), communities: (r.communities ?? []).map(parseCommunity), largeCommunities: (r.largeCommunities ?? []).map(parseLargeCommunity) };
}

const hostPort = (address: string, port: number): string => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/** The configuration as a multi-document YAML file. */
export function kbgpYaml(s: KbgpSpec): string {
  const node = s.nodeName ?? 'kbgp';
  const nodeDoc = (name: string, n: { ipv4Address?: string; ipv6Address?: string; clusterId?: string }): object => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name },
    spec: {
      bgp: {
        ...(n.ipv4Address !== undefined ? { ipv4Address: `${n.ipv4Address}/32` } : {}),
        ...(n.ipv6Address !== undefined ? { ipv6Address: `${n.ipv6Address}/128` } : {}),
        ...(n.clusterId !== undefined ? { routeReflectorClusterID: n.clusterId } : {}),
      },
    },
  });
  const docs = [
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: s.asn, listenPort: s.port, ...(s.bgpConfiguration ?? {}) } },
    nodeDoc(node, s),
    ...(s.otherNodes ?? []).map((n) => nodeDoc(n.name, n)),
    ...s.peers.map((p) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: peerName(p) },
      spec: {
        peerIP: hostPort(p.address, p.port),
        asNumber: p.asn,
        ...(p.noSourceAddress ? { sourceAddress: 'None' } : {}),
        ...(p.nextHopMode !== undefined ? { nextHopMode: p.nextHopMode } : {}),
        ...(p.maxRestartTime !== undefined ? { maxRestartTime: p.maxRestartTime } : {}),
      },
    })),
    {
      apiVersion: 'kbgp.io/v1alpha1',
      kind: 'KbgpConfiguration',
      metadata: { name: node },
      spec: {
        nodeName: node,
        routerId: s.routerId,
        listenAddress: s.address,
        timers: { connectDelay: '0.1s', connectRetryTime: '1s', errorWaitMin: '0.5s', errorWaitMax: '1s' },
        ...(s.maxPaths !== undefined ? { maxPaths: s.maxPaths } : {}),
        ...(s.services !== undefined ? { services: s.services } : {}),
        ...(s.metricsAddress !== undefined ? { metricsAddress: s.metricsAddress } : {}),
        peerSettings: s.peers.map((p) => ({
          peer: peerName(p),
          passive: p.passive ?? false,
          ...(p.holdTime !== undefined ? { holdTime: `${p.holdTime}s` } : {}),
          ...(p.addPath !== undefined ? { addPath: p.addPath } : {}),
          ...(p.maxPrefixes !== undefined ? { maxPrefixes: p.maxPrefixes } : {}),
        })),
        originate: (s.originate ?? []).map((r) => ({ prefix: r.prefix, communities: r.communities ?? [], largeCommunities: r.largeCommunities ?? [] })),
      },
    },
  ];
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

/** Builds and starts a daemon; resolves once it listens (its sessions start connecting then). */
export async function startKbgp(spec: KbgpSpec): Promise<Kbgp> {
  const k = new Kbgp(spec);
  running.push(k);
  await k.daemon.start();
  return k;
}

/** Stops every daemon started since the last call (for afterEach). */
export async function stopAllKbgp(): Promise<void> {
  await Promise.allSettled(running.splice(0).map((k) => k.stop()));
}

/** Deletes this test file's kbgp logs (for afterAll); KBGP_KEEP_LOGS=1 keeps them and says where. */
export function removeKbgpLogs(): void {
  if (logDir !== undefined && process.env.KBGP_KEEP_LOGS === '1') console.log(`kbgp logs kept in ${logDir}`);
  else if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
  logDir = undefined;
}
