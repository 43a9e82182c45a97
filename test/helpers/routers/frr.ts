/**
 * FRR bgpd driver: bgpd alone (`-Z`, no zebra), its vty socket, pid file and zserv path in the temp
 * dir, no vty TCP port (`-P 0`), listening on the spec's address only (`-l`). Queried and changed at
 * runtime with `vtysh --vty_socket DIR`.
 *
 * Knobs, learned on FRR 8.4.4 (see also shared/reference/interop-notes.md):
 * - `bgp allow-martian-nexthop` (127/8 next hops), `no bgp ebgp-requires-policy`,
 *   `no bgp network import-check`, `no bgp default ipv4-unicast` + explicit `activate`,
 *   `disable-connected-check` for eBGP without zebra, `advertisement-interval 0`, `timers connect 1`.
 * - Originated routes are `network` statements with a route-map per route for communities, large
 *   communities, MED and local preference.
 * - An explicit next hop is set by the OUTBOUND route-map KBGP-OUT (prefix-list match, `set ip
 *   next-hop` / `set ipv6 next-hop global`): on eBGP export FRR replaces a next hop that only the
 *   network route-map set with its own. (The network route-map sets it too, for FRR's own RIB.)
 * - Quirk: over an IPv4 session FRR has no IPv6 address of its own, and the first time it sends the
 *   peer an IPv6 route with itself as next hop it stores ::ffff:<own IPv4> as the session's IPv6
 *   next hop; from then on bpacket_reformat_for_peer() puts that mapped address into EVERY IPv6
 *   update to the peer, explicit next hops included (`IS_MAPPED_IPV6(&peer->nexthop.v6_global)`).
 *   BIRD refuses it. So toward BIRD, give every IPv6 route FRR sends an explicit next hop; the
 *   per-peer outbound route-map stops FRR from echoing the peer's own routes back to it (with a self
 *   next hop). IPv4 explicit next hops have no such trap.
 * - Without zebra FRR knows no IPv6 address of its own: its default IPv6 next hop over an IPv4 session
 *   is ::ffff:<own IPv4> (printed as ::ffff:7f00:103).
 * - The 4-octet AS capability cannot be suppressed per peer (`dont-capability-negotiate` drops every
 *   capability), so `fourOctetAs: false` is refused.
 * - `/var/tmp/frr/bgpd.<pid>/` (crash-log buffers) is created by every bgpd and removed on SIGTERM;
 *   there is no option to move it. A SIGKILLed bgpd leaves it behind, so kill() removes it.
 * - Graceful restart (RouterSpec.gracefulRestart) is the global `bgp graceful-restart` mode; a
 *   restart is kill() (SIGKILL) and a new startFrr() on the same address, with a new work dir.
 * - Quirk: a removed `network` can stay in a neighbor's Adj-RIB-Out with no withdrawal ever sent
 *   (now and then, under load). withdraw() therefore resolves only once no neighbor holds the
 *   prefix, and removes it once more if FRR keeps it (see untilWithdrawn).
 */
import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import {
  BaseRouter,
  Daemon,
  type Family,
  type PeerSpec,
  type RouteSpec,
  type RouterRoute,
  type RouterSpec,
  type SessionState,
  arr,
  binary,
  checkSpec,
  familyOf,
  isObject,
  keepaliveFor,
  makeWorkDir,
  normaliseAddress,
  normalisePrefix,
  normaliseState,
  num,
  obj,
  originName,
  parseCommunity,
  parseJsonSequence,
  parseLargeCommunity,
  run,
  launch,
  sleep,
  str,
  unspecified,
  versionOf,
} from './common.js';

const OUT_MAP = 'KBGP-OUT';
const OUT_MAP_LAST_SEQ = 65535;
/** Per-prefix detail queries per vtysh invocation. */
const DETAIL_BATCH = 50;

/**
 * RFC 1997 / IANA well-known communities by the names FRR 8.4 prints for them: camelCase in the
 * JSON `list`, dashed in the `string` (community_str); both are accepted.
 */
const FRR_COMMUNITY_NAMES: Record<string, string> = {
  internet: '0:0',
  gracefulShutdown: '65535:0',
  'graceful-shutdown': '65535:0',
  acceptown: '65535:1',
  'accept-own': '65535:1',
  routeFilterTranslatedV4: '65535:2',
  'route-filter-translated-v4': '65535:2',
  routeFilterV4: '65535:3',
  'route-filter-v4': '65535:3',
  routeFilterTranslatedV6: '65535:4',
  'route-filter-translated-v6': '65535:4',
  routeFilterV6: '65535:5',
  'route-filter-v6': '65535:5',
  llgrStale: '65535:6',
  'llgr-stale': '65535:6',
  noLlgr: '65535:7',
  'no-llgr': '65535:7',
  acceptownnexthop: '65535:8',
  'accept-own-nexthop': '65535:8',
  blackhole: '65535:666',
  noExport: '65535:65281',
  'no-export': '65535:65281',
  noAdvertise: '65535:65282',
  'no-advertise': '65535:65282',
  localAs: '65535:65283',
  'local-AS': '65535:65283',
  noPeer: '65535:65284',
  'no-peer': '65535:65284',
};

interface Originated {
  readonly index: number;
  readonly route: RouteSpec;
}

function afName(f: Family): string {
  return f === 'ipv4' ? 'ipv4 unicast' : 'ipv6 unicast';
}

/** The config lines that define one originated route's route-maps (global context). */
function routeMapLines(o: Originated): string[] {
  const r = o.route;
  const lines: string[] = [];
  const sets: string[] = [];
  if (r.communities?.length) sets.push(`set community ${r.communities.map((c) => parseCommunity(c).join(':')).join(' ')}`);
  if (r.largeCommunities?.length) sets.push(`set large-community ${r.largeCommunities.map((c) => parseLargeCommunity(c).join(':')).join(' ')}`);
  if (r.med !== undefined) sets.push(`set metric ${r.med}`);
  if (r.localPref !== undefined) sets.push(`set local-preference ${r.localPref}`);
  if (r.nextHop !== undefined) sets.push(`set ${familyOf(r.prefix) === 'ipv6' ? 'ipv6 next-hop global' : 'ip next-hop'} ${normaliseAddress(r.nextHop)}`);
  lines.push(`route-map KBGP-NET-${o.index} permit 10`, ...sets.map((s) => ` ${s}`), 'exit');
  if (r.nextHop !== undefined) {
    const v6 = familyOf(r.prefix) === 'ipv6';
    lines.push(
      `${v6 ? 'ipv6' : 'ip'} prefix-list KBGP-NH-${o.index} seq 5 permit ${normalisePrefix(r.prefix)}`,
      `route-map ${OUT_MAP} permit ${10 + o.index}`,
      ` match ${v6 ? 'ipv6' : 'ip'} address prefix-list KBGP-NH-${o.index}`,
      ` set ${v6 ? 'ipv6 next-hop global' : 'ip next-hop'} ${normaliseAddress(r.nextHop)}`,
      'exit',
    );
  }
  return lines;
}

function networkLine(o: Originated): string {
  return `network ${normalisePrefix(o.route.prefix)} route-map KBGP-NET-${o.index}`;
}

function neighborLines(spec: RouterSpec, p: PeerSpec): string[] {
  const n = ` neighbor ${p.address}`;
  const lines = [`${n} remote-as ${p.asn}`, `${n} update-source ${spec.address}`, `${n} timers connect 1`, `${n} advertisement-interval 0`];
  // eBGP without zebra knows no interfaces, so no peer is "connected".
  if (p.asn !== spec.asn) lines.push(`${n} disable-connected-check`);
  if (p.port !== undefined) lines.push(`${n} port ${p.port}`);
  if (p.holdTime !== undefined) lines.push(`${n} timers ${keepaliveFor(p.holdTime)} ${p.holdTime}`);
  if (p.passive) lines.push(`${n} passive`);
  return lines;
}

/**
 * Each peer's outbound route-map: first drop routes whose AS path holds the peer's AS, so that FRR
 * does not echo an eBGP peer's routes back to it (with its own next hop, which for IPv6 would pin
 * the session's next hop to ::ffff:<IPv4>; see the file head). `neighbor X
 * sender-as-path-loop-detection` is accepted by 8.4.4 but does not stop the echo. Then the shared
 * KBGP-OUT with the per-route next hops.
 */
function peerOutMapLines(spec: RouterSpec, p: PeerSpec, i: number): string[] {
  if (p.asn === spec.asn) return [`route-map KBGP-OUT-${i} permit 10`, ` call ${OUT_MAP}`, 'exit'];
  return [
    `bgp as-path access-list KBGP-LOOP-${i} seq 5 permit _${p.asn}_`,
    `route-map KBGP-OUT-${i} deny 5`,
    ` match as-path KBGP-LOOP-${i}`,
    'exit',
    `route-map KBGP-OUT-${i} permit 10`,
    ` call ${OUT_MAP}`,
    'exit',
  ];
}

function afLines(p: PeerSpec, i: number): string[] {
  const n = `  neighbor ${p.address}`;
  const lines = [`${n} activate`, `${n} route-map KBGP-OUT-${i} out`];
  if (p.routeReflectorClient) lines.push(`${n} route-reflector-client`);
  if (p.addPathSend) lines.push(`${n} addpath-tx-all-paths`);
  // FRR always advertises ADD-PATH receive; there is no knob to withhold it.
  return lines;
}

/**
 * Graceful restart for every peer (FRR's global mode; helper and restarting speaker). With
 * preserve-fw-state FRR sets the F bit per family in the OPEN it sends after a restart, which is
 * what lets a helper keep the stale routes until FRR's End-of-RIB (RFC 4724 §4.2).
 */
function gracefulRestartLines(spec: RouterSpec): string[] {
  const gr = spec.gracefulRestart;
  if (gr === undefined) return [];
  return [
    ' bgp graceful-restart',
    ...(gr.restartTime !== undefined ? [` bgp graceful-restart restart-time ${gr.restartTime}`] : []),
    ...(gr.preserveForwardingState === true ? [' bgp graceful-restart preserve-fw-state'] : []),
  ];
}

export function frrConfig(spec: RouterSpec, originated: readonly Originated[], dir: string): string {
  const byFamily = (f: Family): Originated[] => originated.filter((o) => familyOf(o.route.prefix) === f);
  const lines = [
    '! generated by test/helpers/routers/frr.ts',
    'frr defaults traditional',
    `hostname kbgp-frr-${spec.routerId}`,
    `log file ${join(dir, 'bgpd.log')}`,
    // Route-map changes are applied after this many seconds (default 5). Before the route-maps:
    // defining them at startup is a change too, and with the default FRR re-sends every route to
    // every peer up by then 5 s after it started (a duplicate UPDATE per route).
    'bgp route-map delay-timer 1',
    '!',
    ...originated.flatMap(routeMapLines),
    `route-map ${OUT_MAP} permit ${OUT_MAP_LAST_SEQ}`,
    'exit',
    ...spec.peers.flatMap((p, i) => peerOutMapLines(spec, p, i)),
    '!',
    `router bgp ${spec.asn}`,
    ` bgp router-id ${spec.routerId}`,
    ' bgp allow-martian-nexthop',
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ...(spec.clusterId !== undefined ? [` bgp cluster-id ${spec.clusterId}`] : []),
    ...gracefulRestartLines(spec),
    ...spec.peers.flatMap((p) => neighborLines(spec, p)),
  ];
  for (const f of ['ipv4', 'ipv6'] as const) {
    const peers = spec.peers.map((p, i) => [p, i] as const).filter(([p]) => f === 'ipv4' || p.ipv6);
    if (peers.length === 0 && byFamily(f).length === 0) continue;
    lines.push(
      ` address-family ${afName(f)}`,
      ...byFamily(f).map((o) => `  ${networkLine(o)}`),
      ...peers.flatMap(([p, i]) => afLines(p, i)),
      ' exit-address-family',
    );
  }
  lines.push('exit', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// JSON

function frrCommunity(c: string): string {
  return FRR_COMMUNITY_NAMES[c] ?? c;
}

/** One path of `show bgp <afi> unicast <prefix> json`. */
export function frrPath(prefix: string, p: unknown, family: Family): RouterRoute {
  const o = obj(p);
  const segments = arr(obj(o.aspath).segments);
  const asPath = segments.length > 0 ? segments.flatMap((s) => arr(obj(s).list).map(Number)) : [...(str(obj(o.aspath).string) ?? '').matchAll(/\d+/g)].map((m) => Number(m[0]));
  const nexthops = arr(o.nexthops).map(obj);
  const nh = str((nexthops.find((n) => str(n.scope) !== 'link-local') ?? nexthops[0] ?? {}).ip);
  const peerId = str(obj(o.peer).peerId);
  const fromPeer = peerId !== undefined && /^[0-9a-fA-F.:]+$/.test(peerId) && !/^(0\.0\.0\.0|::)$/.test(peerId) ? normaliseAddress(peerId) : undefined;
  const med = num(o.metric) ?? num(o.med);
  const localPref = num(o.locPrf) ?? num(o.localpref) ?? num(o.localPref);
  const origin = originName(str(o.origin));
  const pathId = num(o.addpathRxId) ?? num(o.remotePathId);
  const originatorId = str(o.originatorId);
  const cluster = arr(obj(o.clusterList).list).map(String);
  return {
    prefix: normalisePrefix(prefix),
    nextHop: nh !== undefined ? normaliseAddress(nh, family) : unspecified(family),
    asPath,
    communities: arr(obj(o.community).list).map((c) => frrCommunity(String(c))),
    largeCommunities: arr(obj(o.largeCommunity).list).map(String),
    best: obj(o.bestpath).overall === true,
    ...(origin !== undefined ? { origin } : {}),
    ...(med !== undefined ? { med } : {}),
    ...(localPref !== undefined ? { localPref } : {}),
    ...(pathId !== undefined && pathId !== 0 ? { pathId } : {}),
    ...(originatorId !== undefined ? { originatorId } : {}),
    ...(cluster.length > 0 ? { clusterList: cluster } : {}),
    ...(fromPeer !== undefined ? { fromPeer } : {}),
    // Only when set, so that views of ordinary routes compare as before.
    ...(o.stale === true ? { stale: true } : {}),
  };
}

// ---------------------------------------------------------------------------------------------

class FrrRouter extends BaseRouter {
  readonly kind = 'frr' as const;
  private readonly originated = new Map<string, Originated>();
  private nextIndex: number;

  constructor(spec: RouterSpec, dir: string, version: string, daemon: Daemon, initial: readonly Originated[]) {
    super(spec, dir, version, daemon, [join(dir, 'bgpd.out'), join(dir, 'bgpd.log')]);
    for (const o of initial) this.originated.set(normalisePrefix(o.route.prefix), o);
    this.nextIndex = initial.length;
  }

  /** Runs vtysh commands in one session (so `configure terminal` context carries over). */
  async vtysh(...commands: string[]): Promise<string> {
    const out = await run(binary('vtysh'), ['--vty_socket', this.workDir, ...commands.flatMap((c) => ['-c', c])], { netns: this.spec.netns });
    const err = out.split('\n').find((l) => /^% /.test(l) && !/^% (Network not in table|BGP instance not found)/.test(l));
    if (err !== undefined) throw new Error(`vtysh: ${err}\n${commands.join('\n')}`);
    return out;
  }

  /** FRR's UPDATE counters and session count for one neighbor (`show bgp neighbors X json`). */
  async messageStats(peer: string): Promise<{ updatesSent: number | undefined; updatesRecv: number | undefined; connectionsEstablished: number | undefined }> {
    const n = obj(obj(JSON.parse(await this.vtysh(`show bgp neighbors ${peer} json`)))[peer]);
    const m = obj(n.messageStats);
    return { updatesSent: num(m.updatesSent), updatesRecv: num(m.updatesRecv), connectionsEstablished: num(n.connectionsEstablished) };
  }

  async sessionState(peerAddress: string): Promise<SessionState> {
    const j: unknown = JSON.parse(await this.vtysh(`show bgp neighbors ${peerAddress} json`));
    const entry = obj(j)[peerAddress] ?? Object.values(obj(j)).find(isObject);
    const state = str(obj(entry).bgpState);
    if (state === undefined) throw new Error(`FRR has no neighbor ${peerAddress}: ${JSON.stringify(j)}`);
    return normaliseState(state);
  }

  async routes(family: Family): Promise<RouterRoute[]> {
    const af = afName(family);
    const table = obj(JSON.parse(await this.vtysh(`show bgp ${af} json`)));
    const prefixes = Object.keys(obj(table.routes));
    const out: RouterRoute[] = [];
    // The table view has no communities: ask for each prefix's detail, in batches.
    for (let i = 0; i < prefixes.length; i += DETAIL_BATCH) {
      const batch = prefixes.slice(i, i + DETAIL_BATCH);
      const docs = parseJsonSequence(await this.vtysh(...batch.map((p) => `show bgp ${af} ${p} json`)));
      for (const d of docs) {
        const prefix = str(obj(d).prefix);
        if (prefix === undefined) continue;
        for (const p of arr(obj(d).paths)) out.push(frrPath(prefix, p, family));
      }
    }
    return out;
  }

  /**
   * SIGKILL, as a crash: no NOTIFICATION and no TCP close beyond what the kernel does, so peers see
   * the connection drop (a graceful restart, RFC 4724 §4.2). The handle is finished afterwards;
   * start a new router with startFrr() to bring it back.
   */
  async kill(): Promise<void> {
    await this.daemon.kill();
    // bgpd removes its crash-log buffer directory only on a clean exit (see the file head).
    await rm(join('/var/tmp/frr', `bgpd.${this.pid}`), { recursive: true, force: true });
    await this.stop();
  }

  protected async doAnnounce(route: RouteSpec): Promise<void> {
    const key = normalisePrefix(route.prefix);
    if (this.originated.has(key)) await this.doWithdraw(key);
    const o: Originated = { index: this.nextIndex++, route };
    await this.vtysh(
      'configure terminal',
      ...routeMapLines(o),
      `router bgp ${this.spec.asn}`,
      `address-family ${afName(familyOf(key))}`,
      networkLine(o),
      'end',
    );
    this.originated.set(key, o);
  }

  protected async doWithdraw(key: string): Promise<void> {
    const o = this.originated.get(key);
    if (o === undefined) throw new Error(`FRR does not originate ${key}`);
    await this.removeNetwork(o);
    this.originated.delete(key);
    await this.untilWithdrawn(key, o);
  }

  /** The network statement goes, and the route-maps and prefix-list made for it. */
  private async removeNetwork(o: Originated): Promise<void> {
    const family = familyOf(o.route.prefix);
    const v6 = family === 'ipv6';
    await this.vtysh(
      'configure terminal',
      `router bgp ${this.spec.asn}`,
      `address-family ${afName(family)}`,
      `no ${networkLine(o)}`,
      'exit-address-family',
      'exit',
      ...(o.route.nextHop !== undefined ? [`no route-map ${OUT_MAP} permit ${10 + o.index}`, `no ${v6 ? 'ipv6' : 'ip'} prefix-list KBGP-NH-${o.index}`] : []),
      `no route-map KBGP-NET-${o.index}`,
      'end',
    );
  }

  /**
   * Resolves once no neighbor's Adj-RIB-Out holds `key`. FRR 8.4.4 now and then takes a removed
   * `network` out of its table but keeps it in a neighbor's Adj-RIB-Out, and never sends that
   * neighbor the withdrawal (seen under CPU load, in about one run of the kbgp ↔ frr sessions tests
   * in six; `show bgp ... advertised-routes` still listed it 15 s later). Configured again and
   * removed again, it is withdrawn. Throws, naming the neighbors, if even that leaves it there.
   */
  private async untilWithdrawn(key: string, o: Originated): Promise<void> {
    const family = familyOf(key);
    const neighbors = this.spec.peers.filter((p) => family === 'ipv4' || p.ipv6).map((p) => p.address);
    const holding = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const n of neighbors) {
        const j = obj(JSON.parse(await this.vtysh(`show bgp ${afName(family)} neighbors ${n} advertised-routes json`)));
        if (Object.prototype.hasOwnProperty.call(obj(j.advertisedRoutes), key)) out.push(n);
      }
      return out;
    };
    for (let attempt = 1; attempt <= 2; attempt++) {
      for (let i = 0; i < 30; i++) {
        if ((await holding()).length === 0) return;
        await sleep(100);
      }
      if (attempt === 1) {
        const again: Originated = { index: this.nextIndex++, route: o.route };
        await this.vtysh('configure terminal', ...routeMapLines(again), `router bgp ${this.spec.asn}`, `address-family ${afName(family)}`, networkLine(again), 'end');
        await this.removeNetwork(again);
      }
    }
    throw new Error(`FRR ${this.spec.address} removed ${key} twice and still holds it in the Adj-RIB-Out to ${(await holding()).join(', ')}`);
  }
}

export async function startFrr(spec: RouterSpec): Promise<FrrRouter> {
  checkSpec(spec);
  const refused = spec.peers.find((p) => p.fourOctetAs === false);
  if (refused !== undefined) {
    throw new Error(`FRR cannot withhold only the 4-octet AS capability (peer ${refused.address}); use BIRD or ExaBGP`);
  }
  const version = await versionOf('frr', async () => {
    const out = await run(binary('bgpd'), ['--version']);
    return /bgpd version (\S+)/.exec(out)?.[1] ?? out.split('\n')[0] ?? 'unknown';
  });
  const dir = await makeWorkDir('frr');
  const initial = (spec.routes ?? []).map((route, index) => ({ index, route }));
  await writeFile(join(dir, 'bgpd.conf'), frrConfig(spec, initial, dir));
  const args = [
    '-f', join(dir, 'bgpd.conf'),
    '-Z', // no zebra
    '-n', // no kernel routes
    '-S', // do not drop privileges (the temp dir belongs to the test user)
    '-l', spec.address,
    '-p', String(spec.port ?? 179),
    '-i', join(dir, 'bgpd.pid'),
    '-z', join(dir, 'zserv.api'),
    '--vty_socket', dir,
    '-A', '127.0.0.1',
    '-P', '0', // no vty TCP port
  ];
  return launch(
    () => new FrrRouter(spec, dir, version, new Daemon(binary('bgpd'), args, { netns: spec.netns, outFile: join(dir, 'bgpd.out') }), initial),
    async (h) => {
      await h.untilAnswering(() => h.vtysh('show bgp summary json'), 15_000);
      // bgpd reads its config line by line and goes on after a bad one: fail loudly instead.
      // FRR 8.4 logs e.g. "[EC 100663304] No such command on config line 19:  bgp cluster-id x".
      const bad = h.logTail(200).split('\n').find((l) => /on config line \d+|Error occurred during reading|% (Unknown|Invalid|Command incomplete)/.test(l));
      if (bad !== undefined) throw new Error(`FRR rejected its config: ${bad}\n${h.logTail()}`);
    },
  );
}
