/**
 * BIRD 2 driver. Config from the spec; runtime announce/withdraw regenerate the config and run
 * `birdc configure` (BIRD reconciles the static protocols without touching the BGP sessions).
 *
 * Knobs, learned on BIRD 2.0.12:
 * - Originated routes are `static` blackhole routes whose attribute block sets bgp_community,
 *   bgp_large_community, bgp_med, bgp_local_pref and bgp_next_hop. On export to eBGP BIRD drops MED
 *   and overwrites the next hop with its own, unless the export filter itself wrote the attribute
 *   (EAF_FRESH), hence `bgp_next_hop = bgp_next_hop;` for static routes in `kbgp_export`.
 * - Over an IPv4 session BIRD has no IPv6 next hop of its own ("Missing next hop address"; the route
 *   is withdrawn), so an IPv6 route needs RouteSpec.nextHop. It also refuses an IPv4-mapped next hop
 *   for IPv6 ("mismatched address family"), which is what FRR and GoBGP send by default.
 * - `multihop` + `gateway recursive`: peers on lo are not "directly connected" for BIRD. Learned
 *   routes whose next hop does not resolve show as `unreachable` but stay in the table, best
 *   included, which is all routes() needs.
 * - `connect delay time` (default 5 s) and `error wait time` (default 60..300 s) are cut to 1 s so
 *   sessions come up, and back after a hold-timer test, quickly.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import {
  BaseRouter,
  Daemon,
  type Family,
  type PeerSpec,
  type RouteSpec,
  type RouterRoute,
  type RouterSpec,
  type SessionState,
  binary,
  checkSpec,
  familyOf,
  keepaliveFor,
  makeWorkDir,
  normaliseAddress,
  normalisePrefix,
  normaliseState,
  originName,
  parseCommunity,
  parseLargeCommunity,
  run,
  launch,
  unspecified,
  versionOf,
} from './common.js';

/**
 * How far apart two readings of one BIRD Since may print (see sessionSince). A new session is
 * further apart than this: kbgp's connect delay alone is 100 ms in the tests.
 */
const BIRD_SINCE_JITTER_MS = 20;
const DAY_MS = 86_400_000;

/** BIRD's HH:MM:SS.mmm as milliseconds of the day; undefined for any other form. */
function birdTimeOfDay(text: string): number | undefined {
  const m = /^(\d\d):(\d\d):(\d\d)\.(\d{3})$/.exec(text);
  if (m === null) return undefined;
  const [h, min, sec, ms] = m.slice(1).map(Number) as [number, number, number, number];
  return ((h * 60 + min) * 60 + sec) * 1000 + ms;
}

/**
 * Whether two readings of BIRD's Since (as printed, or from sessionSince) are one moment: within
 * BIRD_SINCE_JITTER_MS of each other, across midnight if need be. An unreadable one is never.
 */
export function sameBirdMoment(a: number | string, b: number | string): boolean {
  const [x, y] = [typeof a === 'string' ? birdTimeOfDay(a) : a, typeof b === 'string' ? birdTimeOfDay(b) : b];
  if (x === undefined || y === undefined) return false;
  const d = Math.abs(x - y) % DAY_MS;
  return Math.min(d, DAY_MS - d) <= BIRD_SINCE_JITTER_MS;
}

export function birdProtocolName(peerAddress: string): string {
  return `kbgp_${normaliseAddress(peerAddress).replace(/[^0-9a-zA-Z]/g, '_')}`;
}

function staticRoute(r: RouteSpec): string {
  const attrs: string[] = [];
  for (const c of r.communities ?? []) attrs.push(`bgp_community.add((${parseCommunity(c).join(',')}));`);
  for (const c of r.largeCommunities ?? []) attrs.push(`bgp_large_community.add((${parseLargeCommunity(c).join(',')}));`);
  if (r.med !== undefined) attrs.push(`bgp_med = ${r.med};`);
  if (r.localPref !== undefined) attrs.push(`bgp_local_pref = ${r.localPref};`);
  if (r.nextHop !== undefined) attrs.push(`bgp_next_hop = ${normaliseAddress(r.nextHop)};`);
  return `  route ${normalisePrefix(r.prefix)} blackhole${attrs.length > 0 ? ` { ${attrs.join(' ')} }` : ''};`;
}

function channel(family: Family, p: PeerSpec): string {
  const addPath = p.addPathSend && p.addPathReceive ? 'on' : p.addPathSend ? 'tx' : p.addPathReceive ? 'rx' : undefined;
  return `  ${family} { import all; export filter kbgp_export; gateway recursive;${addPath ? ` add paths ${addPath};` : ''} };`;
}

function bgpProtocol(spec: RouterSpec, p: PeerSpec): string {
  const ibgp = p.asn === spec.asn;
  const lines = [
    `protocol bgp ${birdProtocolName(p.address)} {`,
    `  local ${spec.address} port ${spec.port ?? 179} as ${spec.asn};`,
    `  neighbor ${p.address} port ${p.port ?? 179} as ${p.asn};`,
    // Listen on the local address only, so that many daemons can share port 179.
    '  strict bind yes;',
    ...(ibgp ? [] : ['  multihop;']),
    '  connect delay time 1;',
    '  connect retry time 2;',
    '  error wait time 1, 5;',
  ];
  if (p.holdTime !== undefined) lines.push(`  hold time ${p.holdTime};`, `  keepalive time ${keepaliveFor(p.holdTime)};`);
  if (p.passive) lines.push('  passive on;');
  if (p.fourOctetAs === false) lines.push('  enable as4 off;');
  if (p.routeReflectorClient) lines.push('  rr client;');
  if (ibgp && spec.clusterId !== undefined) lines.push(`  rr cluster id ${spec.clusterId};`);
  lines.push(channel('ipv4', p));
  if (p.ipv6) lines.push(channel('ipv6', p));
  lines.push('}');
  return lines.join('\n');
}

export function birdConfig(spec: RouterSpec, routes: readonly RouteSpec[], dir: string): string {
  const of = (f: Family): string[] => routes.filter((r) => familyOf(r.prefix) === f).map(staticRoute);
  return [
    `# generated by test/helpers/routers/bird.ts`,
    `router id ${spec.routerId};`,
    `log "${join(dir, 'bird.log')}" all;`,
    'protocol device { scan time 10; }',
    'protocol static kbgp_static4 {',
    '  ipv4;',
    ...of('ipv4'),
    '}',
    'protocol static kbgp_static6 {',
    '  ipv6;',
    ...of('ipv6'),
    '}',
    'filter kbgp_export {',
    // Re-assigning marks the attribute as set by the export filter, which is what makes BIRD keep
    // an explicit next hop and a MED on eBGP export.
    '  if source = RTS_STATIC then {',
    '    if defined(bgp_next_hop) then bgp_next_hop = bgp_next_hop;',
    '    if defined(bgp_med) then bgp_med = bgp_med;',
    '  }',
    '  accept;',
    '}',
    ...spec.peers.map((p) => bgpProtocol(spec, p)),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// `birdc show route all` text

interface RawBirdRoute {
  prefix: string;
  protocol: string;
  from?: string;
  best: boolean;
  attrs: Map<string, string>;
}

/**
 * Parses `show route all` output. A route starts on a line at column 0 (with its prefix) or, for
 * further routes to the same prefix, on a line indented with spaces; its attributes follow on
 * tab-indented `Name: value` lines; a long community list continues on lines indented with two tabs.
 */
export function parseBirdRoutes(text: string, family: Family): RouterRoute[] {
  const raw: RawBirdRoute[] = [];
  let prefix: string | undefined;
  let current: RawBirdRoute | undefined;
  let lastAttr: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^BIRD \S+ ready\.$/.test(line) || /^Table \S+:$/.test(line)) continue;
    if (line.startsWith('\t\t')) {
      if (current !== undefined && lastAttr !== undefined) current.attrs.set(lastAttr, `${current.attrs.get(lastAttr) ?? ''} ${line.trim()}`);
      continue;
    }
    if (line.startsWith('\t')) {
      const m = /^\t([A-Za-z0-9_.]+):\s?(.*)$/.exec(line);
      if (m?.[1] !== undefined && current !== undefined) {
        lastAttr = m[1];
        current.attrs.set(m[1], m[2] ?? '');
      } else {
        lastAttr = undefined; // `via X on IF` lines of a resolved next hop
      }
      continue;
    }
    const head = /^(\S*)\s+.*?\[(\S+)(?: [^\]]*?)?(?: from (\S+))?\]\s*(\*)?/.exec(line);
    if (head === null) continue;
    if (head[1] !== undefined && head[1] !== '') prefix = head[1];
    if (prefix === undefined || head[2] === undefined) continue;
    current = { prefix, protocol: head[2], best: head[4] === '*', attrs: new Map() };
    if (head[3] !== undefined) current.from = head[3];
    lastAttr = undefined;
    raw.push(current);
  }
  return raw.map((r) => toRoute(r, family));
}

function toRoute(r: RawBirdRoute, family: Family): RouterRoute {
  const a = r.attrs;
  const nh = a.get('BGP.next_hop')?.split(/\s+/)[0];
  const med = a.get('BGP.med');
  const lp = a.get('BGP.local_pref');
  const origin = originName(a.get('BGP.origin'));
  const route: RouterRoute = {
    prefix: normalisePrefix(r.prefix),
    nextHop: nh !== undefined && nh !== '' ? normaliseAddress(nh, family) : unspecified(family),
    asPath: [...(a.get('BGP.as_path') ?? '').matchAll(/\d+/g)].map((m) => Number(m[0])),
    communities: [...(a.get('BGP.community') ?? '').matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`),
    largeCommunities: [...(a.get('BGP.large_community') ?? '').matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map(
      (m) => `${m[1]}:${m[2]}:${m[3]}`,
    ),
    best: r.best,
    ...(origin !== undefined ? { origin } : {}),
    ...(med !== undefined ? { med: Number(med) } : {}),
    ...(lp !== undefined ? { localPref: Number(lp) } : {}),
    ...(a.has('BGP.originator_id') ? { originatorId: (a.get('BGP.originator_id') ?? '').trim() } : {}),
    ...(a.has('BGP.cluster_list') ? { clusterList: (a.get('BGP.cluster_list') ?? '').trim().split(/\s+/) } : {}),
    ...(r.from !== undefined ? { fromPeer: normaliseAddress(r.from) } : {}),
  };
  return route;
}

// ---------------------------------------------------------------------------------------------

class BirdRouter extends BaseRouter {
  readonly kind = 'bird' as const;
  private readonly originated: Map<string, RouteSpec>;

  constructor(spec: RouterSpec, dir: string, version: string, daemon: Daemon) {
    super(spec, dir, version, daemon, [join(dir, 'bird.out'), join(dir, 'bird.log')]);
    this.originated = new Map((spec.routes ?? []).map((r) => [normalisePrefix(r.prefix), r]));
  }

  get socket(): string {
    return join(this.workDir, 'bird.ctl');
  }

  birdc(...args: string[]): Promise<string> {
    return run(binary('birdc'), ['-s', this.socket, ...args], { netns: this.spec.netns });
  }

  /** Import updates received from the peer, the first column of `show protocols all`'s "Import updates" row. */
  async importUpdatesReceived(peerAddress: string): Promise<number | undefined> {
    const out = await this.birdc('show', 'protocols', 'all', birdProtocolName(peerAddress));
    const m = /Import updates:\s+(\d+)/.exec(out);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  }

  /**
   * The protocol's Since column (HH:MM:SS.mmm) as milliseconds of the day. BIRD keeps the moment
   * on its monotonic clock and turns it into wall time at each query, from the event loop's cached
   * monotonic time and a fresh wall-clock read, so one moment can print a millisecond or more
   * apart between queries (seen in CI: .754 then .755). Compare with sameBirdMoment.
   */
  async sessionSince(peerAddress: string): Promise<number> {
    const name = birdProtocolName(peerAddress);
    const out = await this.birdc('show', 'protocols', name);
    const row = new RegExp(`^${name}\\s+BGP\\s+\\S+\\s+\\S+\\s+(\\S+)`, 'm').exec(out);
    const since = birdTimeOfDay(row?.[1] ?? '');
    if (since === undefined) throw new Error(`BIRD's Since for ${peerAddress} is not HH:MM:SS.mmm:\n${out}`);
    return since;
  }

  async sessionState(peerAddress: string): Promise<SessionState> {
    const out = await this.birdc('show', 'protocols', 'all', birdProtocolName(peerAddress));
    const m = /BGP state:\s+(\S+)/.exec(out);
    if (m?.[1] !== undefined) return normaliseState(m[1]);
    // A protocol that is down or starting has no BGP state line.
    const row = new RegExp(`^${birdProtocolName(peerAddress)}\\s+BGP\\s+\\S+\\s+(\\S+)`, 'm').exec(out);
    if (row?.[1] === undefined) throw new Error(`BIRD has no protocol for ${peerAddress}:\n${out}`);
    return row[1] === 'up' ? 'Established' : 'Idle';
  }

  async routes(family: Family): Promise<RouterRoute[]> {
    return parseBirdRoutes(await this.birdc('show', 'route', 'all', 'table', family === 'ipv4' ? 'master4' : 'master6'), family);
  }

  protected async doAnnounce(route: RouteSpec): Promise<void> {
    const key = normalisePrefix(route.prefix);
    const before = this.originated.get(key);
    this.originated.set(key, route);
    try {
      await this.reconfigure();
    } catch (e) {
      if (before === undefined) this.originated.delete(key);
      else this.originated.set(key, before);
      throw e;
    }
  }

  protected async doWithdraw(prefix: string): Promise<void> {
    const before = this.originated.get(prefix);
    if (before === undefined) throw new Error(`BIRD does not originate ${prefix}`);
    this.originated.delete(prefix);
    try {
      await this.reconfigure();
    } catch (e) {
      this.originated.set(prefix, before);
      throw e;
    }
  }

  private async reconfigure(): Promise<void> {
    await writeFile(join(this.workDir, 'bird.conf'), birdConfig(this.spec, [...this.originated.values()], this.workDir));
    const out = await this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
  }
}

export async function startBird(spec: RouterSpec): Promise<BirdRouter> {
  checkSpec(spec);
  const version = await versionOf('bird', async () => {
    const out = await run(binary('bird'), ['--version'], { withStderr: true });
    return /BIRD version (\S+)/.exec(out)?.[1] ?? out.trim();
  });
  const dir = await makeWorkDir('bird');
  await writeFile(join(dir, 'bird.conf'), birdConfig(spec, spec.routes ?? [], dir));
  return launch(
    () =>
      new BirdRouter(
        spec,
        dir,
        version,
        new Daemon(binary('bird'), ['-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')], {
          netns: spec.netns,
          outFile: join(dir, 'bird.out'),
        }),
      ),
    (h) => h.untilAnswering(() => h.birdc('show', 'status'), 10_000),
  );
}
