/**
 * kbgp's Daemon against the real BIRD 2, FRR bgpd (no zebra) and GoBGP, one scenario table run
 * against each: the session comes up with kbgp active and with kbgp passive; IPv4 and IPv6 unicast
 * cross both ways over an IPv4 session and over an IPv6 session (::1), the router's own CLI shows
 * our routes with the exact AS_PATH, NEXT_HOP, communities and large communities, and our
 * Adj-RIB-In holds theirs with every attribute and nothing else; setOriginated() withdrawals reach
 * the router; a wrong AS on either side is OPEN Message Error / Bad Peer AS, seen by both; a frozen
 * router (SIGSTOP) is caught by kbgp's 3 s hold timer and the session comes back after SIGCONT;
 * both sides connecting at once leaves exactly one session.
 *
 * Every AS is 4-octet (kbgp 4200000006, routers 420000006x), so every session also proves the
 * 4-octet AS capability with a capable peer. RFC 6793 with a speaker told not to use it (AS_TRANS +
 * AS4_PATH) needs a daemon that can be told so: BIRD (`enable as4 off`, kbgp receiving only; see
 * that test) and ExaBGP (`asn4 disable`, both ways). FRR 8.4 and GoBGP 3.10 always advertise the
 * capability (the harness refuses `fourOctetAs: false` for them).
 *
 * Addresses: kbgp and each router get their own 127.0.6.x per scenario; routers listen on port 179
 * of theirs, kbgp on 11200 + the scenario's slot. IPv6 sessions run on ::1, kbgp on 112xx and the
 * router on 10200 + its index (kbgp tells peers apart by address alone, so one ::1 router per
 * daemon).
 *
 * Next hops on loopback (see also the drivers' file heads):
 * - GoBGP refuses a 127/8 NEXT_HOP attribute (treat-as-withdraw), and kbgp's IPv4 next hop on an
 *   IPv4 session is its own session address, so over that session GoBGP only takes our IPv6 routes
 *   (the test asserts the refusal). Over the IPv6 session kbgp's IPv4 next hop is the Node's
 *   ipv4Address, here 192.0.2.x, which every router takes.
 * - BIRD refuses an IPv4-mapped IPv6 next hop, so on the IPv4 session with BIRD the Node gets an
 *   ipv6Address (2001:db8:6:ffff::x) and kbgp uses it; FRR and GoBGP get kbgp's default
 *   ::ffff:<IPv4>. On ::1 kbgp's IPv6 next hop is ::1, except towards FRR, which refuses a loopback
 *   IPv6 next hop: there the Node gets an ipv6Address and kbgp's source is left to the kernel.
 * - Routers' own routes get explicit next hops where they have none of the family: everyone's IPv4
 *   routes over ::1, and all of BIRD's IPv6 routes (over IPv4 it has no IPv6 address; on ::1 its
 *   address is also the neighbor's, which it will not send).
 * None of these addresses is bound or installed anywhere: no kernel protocol, zebra or FIB runs.
 */
import { execFile } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AsPathSegmentType, Origin, type PathAttributes, formatLargeCommunity, formatPrefix } from '../../src/bgp/index.js';
import type { PeerStatus } from '../../src/daemon.js';
import type { ReceivedRoute } from '../../src/rib/rib.js';
import { requireBinaries } from '../helpers/binaries.js';
import { type Kbgp, removeKbgpLogs, startKbgp as startKbgpNode, stopAllKbgp, toOriginated } from '../helpers/kbgp.js';
import {
  type Family,
  type RouteSpec,
  type RouterHandle,
  type RouterRoute,
  type RouterSpec,
  ROUTER_BINARIES,
  normaliseAddress,
  startBird,
  startExabgp,
  startFrr,
  startGobgp,
  stopAllRouters,
  waitFor,
} from '../helpers/routers.js';
import { birdProtocolName, sameBirdMoment } from '../helpers/routers/bird.js';
import { num, obj } from '../helpers/routers/common.js';

const KBGP_AS = 4200000006;
/** RFC 6793 §9: the 2-octet stand-in for a 4-octet AS. */
const AS_TRANS = 23456;
const HOLD_TIME = 3;
const SESSION_TIMEOUT = 20_000;
const ROUTE_TIMEOUT = 15_000;

// ---------------------------------------------------------------------------------------------
// kbgp (test/helpers/kbgp.ts), with the one peer every scenario here has

interface SessionSpec {
  /** Names the log file. */
  readonly name: string;
  /** Listening and source address: 127.0.6.x, or ::1. */
  readonly address: string;
  readonly port: number;
  readonly asn?: number;
  readonly routerId: string;
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  /** BGPPeer sourceAddress None: let the kernel pick the source (the Node's addresses are then only next hops). */
  readonly noSourceAddress?: boolean;
  readonly peer: { readonly address: string; readonly port: number; readonly asn: number; readonly passive?: boolean; readonly holdTime?: number };
  readonly originate?: readonly RouteSpec[];
}

function startKbgp(s: SessionSpec): Promise<Kbgp> {
  const { peer, noSourceAddress, asn, ...node } = s;
  return startKbgpNode({ ...node, asn: asn ?? KBGP_AS, peers: [{ name: 'router', ...peer, ...(noSourceAddress === true ? { noSourceAddress } : {}) }] });
}

afterEach(async () => {
  await stopAllKbgp();
  await stopAllRouters();
});
afterAll(removeKbgpLogs);

// ---------------------------------------------------------------------------------------------
// Views

const fmtCommunity = (c: number): string => `${c >>> 16}:${c & 0xffff}`;
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** A received route with its communities as sorted `a:b` / `a:b:c` text, every other attribute as decoded. */
function adjRibInView(r: ReceivedRoute): { prefix: string; nextHop: string; linkLocalNextHop?: string; attributes: { [k: string]: unknown } } {
  const { communities, largeCommunities, ...rest } = r.attributes;
  return {
    prefix: formatPrefix(r.prefix),
    // As kbgp prints it: RFC 5952, IPv4-mapped as ::ffff:a.b.c.d (the harness's normal form too).
    nextHop: r.nextHop,
    ...(r.linkLocalNextHop !== undefined ? { linkLocalNextHop: r.linkLocalNextHop } : {}),
    attributes: {
      ...rest,
      ...(communities !== undefined ? { communities: sorted(communities.map(fmtCommunity)) } : {}),
      ...(largeCommunities !== undefined ? { largeCommunities: sorted(largeCommunities.map(formatLargeCommunity)) } : {}),
    },
  };
}

/** What our Adj-RIB-In must hold for `sent`, originated one eBGP hop away by `routerAs`: exactly these attributes. */
function expectedAdjRibIn(sent: RouteSpec, routerAs: readonly number[], nextHop: string): ReturnType<typeof adjRibInView> {
  const attributes: PathAttributes = {
    origin: Origin.Igp,
    asPath: [{ type: AsPathSegmentType.AsSequence, asns: routerAs }],
    ...(sent.prefix.includes(':') ? {} : { nextHop }),
    ...(sent.med !== undefined ? { med: sent.med } : {}),
  };
  return {
    prefix: sent.prefix,
    nextHop,
    attributes: {
      ...attributes,
      ...(sent.communities?.length ? { communities: sorted(sent.communities) } : {}),
      ...(sent.largeCommunities?.length ? { largeCommunities: sorted(sent.largeCommunities) } : {}),
    },
  };
}

function routerView(r: RouterRoute): object {
  return {
    prefix: r.prefix,
    nextHop: r.nextHop,
    asPath: r.asPath,
    origin: r.origin,
    med: r.med,
    communities: sorted(r.communities),
    largeCommunities: sorted(r.largeCommunities),
  };
}

function expectedRouterView(sent: RouteSpec, nextHop: string, asPath: readonly number[] = [KBGP_AS]): object {
  return {
    prefix: sent.prefix,
    nextHop: normaliseAddress(nextHop),
    asPath,
    origin: 'igp',
    med: undefined,
    communities: sorted(sent.communities ?? []),
    largeCommunities: sorted(sent.largeCommunities ?? []),
  };
}

const familyOf = (prefix: string): Family => (prefix.includes(':') ? 'ipv6' : 'ipv4');

// ---------------------------------------------------------------------------------------------
// Waits (all bounded), with both sides' logs in the failure message

function context(k: Kbgp, h: RouterHandle): string {
  return `\nkbgp status: ${JSON.stringify(k.daemon.status(), (_k, v: unknown) => (v instanceof Set ? [...v] : typeof v === 'bigint' ? String(v) : v))}\n${k.logTail()}\n${h.logTail(20)}`;
}

async function untilKbgp(k: Kbgp, h: RouterHandle, cond: (s: PeerStatus) => boolean, timeoutMs: number, what: string): Promise<PeerStatus> {
  return waitFor(
    async () => {
      const s = k.status();
      return cond(s) ? s : undefined;
    },
    timeoutMs,
    () => `kbgp: ${what}${context(k, h)}`,
    50,
  );
}

async function bothEstablished(k: Kbgp, h: RouterHandle): Promise<PeerStatus> {
  await untilKbgp(k, h, (s) => s.state === 'Established', SESSION_TIMEOUT, 'Established');
  await h.waitEstablished(k.spec.address, SESSION_TIMEOUT);
  const s = k.status();
  expect(s.state).toBe('Established');
  return s;
}

/** The route to `prefix` the router learned from kbgp, once there. */
async function atRouter(k: Kbgp, h: RouterHandle, prefix: string): Promise<RouterRoute> {
  let seen: RouterRoute[] = [];
  return waitFor(
    async () => {
      seen = (await h.routes(familyOf(prefix))).filter((r) => r.prefix === prefix);
      return seen.find((r) => r.fromPeer === normaliseAddress(k.spec.address));
    },
    ROUTE_TIMEOUT,
    () => `${h.kind} to learn ${prefix} from kbgp; it has ${JSON.stringify(seen)}${context(k, h)}`,
  );
}

async function goneAtRouter(k: Kbgp, h: RouterHandle, prefix: string): Promise<void> {
  await waitFor(
    async () => ((await h.routes(familyOf(prefix))).some((r) => r.prefix === prefix && r.fromPeer === normaliseAddress(k.spec.address)) ? undefined : true),
    ROUTE_TIMEOUT,
    () => `${h.kind} to drop ${prefix}${context(k, h)}`,
  );
}

async function inAdjRibIn(k: Kbgp, h: RouterHandle, prefix: string): Promise<ReceivedRoute> {
  return waitFor(
    async () => k.received().find((r) => formatPrefix(r.prefix) === prefix),
    ROUTE_TIMEOUT,
    () => `kbgp to receive ${prefix}; it has ${k.received().map((r) => formatPrefix(r.prefix)).join(', ')}${context(k, h)}`,
    50,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sockets in ESTABLISHED from `src` to `dst` (ss lists each loopback connection once per end). */
function establishedSockets(src: string, srcPort: number | undefined, dst: string, dstPort: number | undefined): Promise<number> {
  const filter = [`src ${src}${srcPort !== undefined ? `:${srcPort}` : ''}`, `dst ${dst}${dstPort !== undefined ? `:${dstPort}` : ''}`].join(' and ');
  return new Promise((resolve, reject) => {
    execFile('ss', ['-Htn', 'state', 'established', `( ${filter} )`], { timeout: 5_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.split('\n').filter((l) => l.trim() !== '').length);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// What differs between the daemons

type Bird = Awaited<ReturnType<typeof startBird>>;
type Frr = Awaited<ReturnType<typeof startFrr>>;
type Gobgp = Awaited<ReturnType<typeof startGobgp>>;

interface Under {
  readonly kind: 'bird' | 'frr' | 'gobgp';
  /** 0..2: picks the scenario slots and the ::1 port. */
  readonly index: number;
  readonly asn: number;
  start(spec: RouterSpec): Promise<RouterHandle>;
  /** kbgp's IPv6 next hop over an IPv4 session: BIRD refuses ::ffff:<IPv4>, so the Node gets an IPv6 address. */
  readonly nodeIpv6OverIpv4: boolean;
  /** GoBGP treats a 127/8 NEXT_HOP attribute as withdraw. */
  readonly takesLoopbackNextHop: boolean;
  /**
   * BIRD needs an explicit next hop on every IPv6 route it sends here: over an IPv4 session it has
   * no IPv6 address of its own, and on ::1 its own address is also the neighbor's, which it refuses
   * to send ("Invalid NEXT_HOP attribute - neighbor address ::1").
   */
  readonly needsIpv6NextHop: boolean;
  /**
   * FRR refuses ::1 as a next hop even with allow-martian-nexthop (`debug bgp updates in`: "DENIED
   * due to: martian or self next-hop").
   */
  readonly refusesLoopbackIpv6NextHop: boolean;
  /**
   * Evidence in the router's own state or log that it sent (`sent`) or received a NOTIFICATION
   * OPEN Message Error / Bad Peer AS on the session with `peer`; undefined while there is none.
   */
  badPeerAs(h: RouterHandle, peer: string, direction: 'sent' | 'received'): Promise<string | undefined>;
  /**
   * The router's record of its sessions with `peer`, which must not change while nothing happens:
   * a count of sessions established (`record`), or for BIRD, which keeps no count, the state and
   * when it last changed (`sinceMs`, compared with sameBirdMoment).
   */
  establishedCount(h: RouterHandle, peer: string): Promise<{ readonly record: number | string; readonly sinceMs?: number }>;
  /**
   * The collision scenario ends in a real collision (an OPEN on both connections) that kbgp
   * resolves. BIRD only sometimes opens its own connection once it has accepted kbgp's; GoBGP stops
   * its connect loop as soon as it accepts one and closes any later connection unread.
   */
  readonly collides: boolean;
  /** Prepares a freshly started router for the scenarios (FRR: log neighbor changes). */
  prepare?(h: RouterHandle): Promise<void>;
}

const UNDER: readonly Under[] = [
  {
    kind: 'bird',
    index: 0,
    collides: false,
    asn: 4200000061,
    start: startBird,
    nodeIpv6OverIpv4: true,
    takesLoopbackNextHop: true,
    needsIpv6NextHop: true,
    refusesLoopbackIpv6NextHop: false,
    async badPeerAs(h, peer, direction) {
      const out = await (h as Bird).birdc('show', 'protocols', 'all', birdName(peer));
      // "Last error: BGP Error: Bad peer AS" when BIRD sent it, "Received: Bad peer AS" when it got it.
      const line = /Last error:\s+(.*)/.exec(out)?.[1]?.trim();
      const want = direction === 'sent' ? /^BGP Error: Bad peer AS/ : /^Received: Bad peer AS/;
      return line !== undefined && want.test(line) ? `birdc: Last error: ${line}` : undefined;
    },
    async establishedCount(h, peer) {
      // BIRD shows no counter, only when the protocol last changed state: "up  <since>".
      return { record: await h.sessionState(peer), sinceMs: await (h as Bird).sessionSince(peer) };
    },
  },
  {
    kind: 'frr',
    index: 1,
    collides: true,
    asn: 4200000062,
    start: startFrr,
    nodeIpv6OverIpv4: false,
    takesLoopbackNextHop: true,
    needsIpv6NextHop: false,
    refusesLoopbackIpv6NextHop: true,
    async badPeerAs(h, peer, direction) {
      // FRR counts a rejected OPEN on the accepting "doppelganger" peer, not on the configured
      // neighbor, so its JSON has no trace; with log-neighbor-changes its log has one line each way.
      const re = new RegExp(`%NOTIFICATION: ${direction === 'sent' ? 'sent to' : 'received from'} neighbor ${peer.replace(/\./g, '\\.')} 2/2 \\(OPEN Message Error/Bad Peer AS\\)`);
      return h.logTail(400).split('\n').find((l) => re.test(l));
    },
    async establishedCount(h, peer) {
      const j: unknown = JSON.parse(await (h as Frr).vtysh(`show bgp neighbors ${peer} json`));
      return { record: num(obj(obj(j)[peer]).connectionsEstablished) ?? JSON.stringify(j) };
    },
    async prepare(h) {
      await (h as Frr).vtysh('configure terminal', `router bgp ${h.spec.asn}`, 'bgp log-neighbor-changes', 'end');
    },
  },
  {
    kind: 'gobgp',
    index: 2,
    collides: false,
    asn: 4200000063,
    start: startGobgp,
    nodeIpv6OverIpv4: false,
    takesLoopbackNextHop: false,
    needsIpv6NextHop: false,
    refusesLoopbackIpv6NextHop: false,
    async badPeerAs(h, peer, direction) {
      // gobgpd 3.10 logs `sent notification ... Data="as number mismatch ..."`; of one it gets it
      // logs nothing with the code (not even at debug: "reason=invalid-msg"), it only counts it.
      if (direction === 'sent') return h.logTail(400).split('\n').find((l) => l.includes(`Key=${peer}`) && /sent notification/.test(l) && /as number mismatch/.test(l));
      const j: unknown = JSON.parse(await (h as Gobgp).gobgp('neighbor', peer, '-j'));
      const got = num(obj(obj(obj(obj(j).state).messages).received).notification) ?? 0;
      return got > 0 ? `gobgp neighbor ${peer}: ${got} NOTIFICATION(s) received` : undefined;
    },
    async establishedCount(h, peer) {
      // Flops: how often the session went down after being Established.
      const text = await (h as Gobgp).gobgp('neighbor', peer);
      const m = /Flops = (\d+)/.exec(text);
      const up = /BGP state = (\S+), up for (\S+)/.exec(text);
      return { record: m?.[1] !== undefined ? `flops ${m[1]}${up ? `, ${up[1]}` : ''}` : text };
    },
    async prepare(h) {
      // Debug level: state changes and connection handling, for failure messages.
      await (h as Gobgp).gobgp('log-level', 'debug');
    },
  },
];

const birdName = birdProtocolName;

/**
 * Each scenario of each daemon gets a slot: its own kbgp port (11200 + slot) and a pair of
 * 127.0.6.x addresses, so nothing lingering from one scenario can meet the next.
 */
function slot(u: Under, scenario: number): { n: number; kbgp: string; router: string; port: number; v6RouterPort: number } {
  const n = u.index * 9 + scenario;
  if (scenario > 8 || n > 26) throw new Error(`slot ${n} out of range`);
  return { n, kbgp: `127.0.6.${10 + 2 * n}`, router: `127.0.6.${11 + 2 * n}`, port: 11200 + n, v6RouterPort: 10200 + u.index };
}

/** The routes each side originates in scenario slot `n`. */
function kbgpRoutes(n: number): [RouteSpec, RouteSpec] {
  return [
    { prefix: `10.6.${n}.0/24`, communities: ['64512:6', `65000:${n}`], largeCommunities: [`${KBGP_AS}:1:${n}`] },
    { prefix: `2001:db8:6:${n}::/64`, communities: ['64512:66'], largeCommunities: [`${KBGP_AS}:6:${n}`, `${KBGP_AS}:7:${n}`] },
  ];
}
function routerRoutes(u: Under, n: number, nextHops: { v4?: string; v6?: string }): [RouteSpec, RouteSpec] {
  return [
    { prefix: `10.60.${n}.0/24`, communities: [`65001:${n}`, '65001:1'], largeCommunities: [`${u.asn}:2:${n}`], med: 70, ...(nextHops.v4 ? { nextHop: nextHops.v4 } : {}) },
    { prefix: `2001:db8:60:${n}::/64`, communities: ['65001:66'], largeCommunities: [`${u.asn}:6:${n}`], med: 76, ...(nextHops.v6 ? { nextHop: nextHops.v6 } : {}) },
  ];
}

async function startRouter(u: Under, spec: RouterSpec): Promise<RouterHandle> {
  const h = await u.start(spec);
  await u.prepare?.(h);
  return h;
}

// ---------------------------------------------------------------------------------------------

for (const u of UNDER) describe.skipIf(requireBinaries(...ROUTER_BINARIES[u.kind]) === undefined)(`kbgp ↔ ${u.kind}`, () => {
  it.each([
    ['kbgp active, router passive', 0, false],
    ['kbgp passive, router active', 1, true],
  ] as const)('reaches Established with %s', { timeout: 60_000 }, async (_name, scenario, kbgpPassive) => {
    const s = slot(u, scenario);
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, routerId: s.kbgp, ipv4Address: s.kbgp,
      peer: { address: s.router, port: 179, asn: u.asn, passive: kbgpPassive },
    });
    const h = await startRouter(u, {
      routerId: s.router, asn: u.asn, address: s.router,
      peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS, passive: !kbgpPassive }],
    });
    const st = await bothEstablished(k, h);
    expect(st.negotiated?.peerAs).toBe(u.asn);
    expect(st.negotiated?.fourOctetAs).toBe(true);
    // Who opened the one connection: with kbgp passive it is the router's, to kbgp's port.
    const local = k.daemon.session(s.router)?.localAddress;
    expect(local).toBe(s.kbgp);
    expect(await establishedSockets(s.kbgp, kbgpPassive ? s.port : undefined, s.router, kbgpPassive ? undefined : 179)).toBe(1);
  });

  it('exchanges IPv4 and IPv6 unicast both ways over an IPv4 session, with every attribute; withdrawals reach the router', { timeout: 60_000 }, async () => {
    const s = slot(u, 2);
    const ours = kbgpRoutes(s.n);
    const kbgpV6NextHop = u.nodeIpv6OverIpv4 ? `2001:db8:6:ffff::${s.n}` : `::ffff:${s.kbgp}`;
    const routerV6NextHop = u.needsIpv6NextHop ? `2001:db8:60:ffff::${s.n}` : undefined;
    const theirs = routerRoutes(u, s.n, routerV6NextHop !== undefined ? { v6: routerV6NextHop } : {});
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, routerId: s.kbgp, ipv4Address: s.kbgp,
      ...(u.nodeIpv6OverIpv4 ? { ipv6Address: kbgpV6NextHop } : {}),
      peer: { address: s.router, port: 179, asn: u.asn },
      originate: ours,
    });
    const h = await startRouter(u, {
      routerId: s.router, asn: u.asn, address: s.router, routes: theirs,
      peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS, ipv6: true }],
    });
    const st = await bothEstablished(k, h);
    expect([...(st.negotiated?.families ?? [])].length).toBe(2);

    // Ours, in the router's own CLI.
    if (u.takesLoopbackNextHop) {
      expect(routerView(await atRouter(k, h, ours[0].prefix))).toEqual(expectedRouterView(ours[0], s.kbgp));
    }
    expect(routerView(await atRouter(k, h, ours[1].prefix))).toEqual(expectedRouterView(ours[1], kbgpV6NextHop));
    if (!u.takesLoopbackNextHop) {
      // GoBGP: NEXT_HOP 127.0.6.x is "invalid nexthop address", the UPDATE treat-as-withdraw.
      await waitFor(async () => (/invalid nexthop/i.test(h.logTail(200)) ? true : undefined), ROUTE_TIMEOUT, () => `GoBGP to refuse the 127/8 next hop\n${h.logTail()}`);
      expect((await h.routes('ipv4')).filter((r) => r.prefix === ours[0].prefix)).toEqual([]);
    }

    // Theirs, in our Adj-RIB-In: exactly these attributes, nothing more.
    const v6Expected = routerV6NextHop ?? `::ffff:${s.router}`;
    expect(adjRibInView(await inAdjRibIn(k, h, theirs[0].prefix))).toStrictEqual(expectedAdjRibIn(theirs[0], [u.asn], s.router));
    expect(adjRibInView(await inAdjRibIn(k, h, theirs[1].prefix))).toStrictEqual(expectedAdjRibIn(theirs[1], [u.asn], normaliseAddress(v6Expected)));
    expect(k.received()).toHaveLength(2);

    // Withdrawals: drop the IPv6 route, change the IPv4 route's communities, add one.
    const added: RouteSpec = { prefix: `10.6.${s.n + 100}.0/24`, communities: ['64512:9'] };
    const changed: RouteSpec = { ...ours[0], communities: ['64512:7'] };
    k.daemon.setOriginated([toOriginated(changed), toOriginated(added)]);
    await goneAtRouter(k, h, ours[1].prefix);
    if (u.takesLoopbackNextHop) {
      expect(routerView(await atRouter(k, h, added.prefix))).toEqual(expectedRouterView(added, s.kbgp));
      await waitFor(
        async () => ((await atRouter(k, h, changed.prefix)).communities.join() === '64512:7' ? true : undefined),
        ROUTE_TIMEOUT,
        () => `${h.kind} to see the new communities of ${changed.prefix}`,
      );
      k.daemon.setOriginated([toOriginated(added)]);
      await goneAtRouter(k, h, changed.prefix);
      expect((await h.routes('ipv4')).filter((r) => r.fromPeer === s.kbgp).map((r) => r.prefix)).toEqual([added.prefix]);
    }
    expect((await h.routes('ipv6')).filter((r) => r.fromPeer === s.kbgp)).toEqual([]);

    // And theirs going away reaches us.
    await h.withdraw(theirs[1].prefix);
    await waitFor(async () => (k.received().length === 1 ? true : undefined), ROUTE_TIMEOUT, () => `kbgp to drop ${theirs[1].prefix}${context(k, h)}`, 50);
    expect(k.received().map((r) => formatPrefix(r.prefix))).toEqual([theirs[0].prefix]);
    expect(k.status().state).toBe('Established');
  });

  it('exchanges IPv4 and IPv6 unicast both ways over an IPv6 session (::1), with every attribute', { timeout: 60_000 }, async () => {
    const s = slot(u, 3);
    const ours = kbgpRoutes(s.n);
    // Over IPv6, kbgp's IPv4 next hop is the Node's ipv4Address (outside 127/8 for GoBGP's sake).
    const kbgpV4NextHop = `192.0.2.${s.n}`;
    // kbgp's own IPv6 next hop here is its session address ::1, unless the router refuses that.
    const kbgpV6NextHop = u.refusesLoopbackIpv6NextHop ? `2001:db8:6:ffff::${s.n}` : '::1';
    const routerV4NextHop = `192.0.2.${100 + s.n}`;
    const routerV6NextHop = u.needsIpv6NextHop ? `2001:db8:60:ffff::${s.n}` : '::1';
    const theirs = routerRoutes(u, s.n, { v4: routerV4NextHop, ...(u.needsIpv6NextHop ? { v6: routerV6NextHop } : {}) });
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: '::1', port: s.port, routerId: s.kbgp, ipv4Address: kbgpV4NextHop,
      // With a Node ipv6Address that is not ::1, the source must be left to the kernel (it picks ::1).
      ...(u.refusesLoopbackIpv6NextHop ? { ipv6Address: kbgpV6NextHop, noSourceAddress: true } : {}),
      peer: { address: '::1', port: s.v6RouterPort, asn: u.asn },
      originate: ours,
    });
    const h = await startRouter(u, {
      routerId: s.router, asn: u.asn, address: '::1', port: s.v6RouterPort, routes: theirs,
      peers: [{ address: '::1', port: s.port, asn: KBGP_AS, ipv6: true }],
    });
    const st = await bothEstablished(k, h);
    expect([...(st.negotiated?.families ?? [])].length).toBe(2);
    expect(k.daemon.session('::1')?.localAddress).toBe('::1');

    expect(routerView(await atRouter(k, h, ours[0].prefix))).toEqual(expectedRouterView(ours[0], kbgpV4NextHop));
    expect(routerView(await atRouter(k, h, ours[1].prefix))).toEqual(expectedRouterView(ours[1], kbgpV6NextHop));
    expect(adjRibInView(await inAdjRibIn(k, h, theirs[0].prefix))).toStrictEqual(expectedAdjRibIn(theirs[0], [u.asn], routerV4NextHop));
    expect(adjRibInView(await inAdjRibIn(k, h, theirs[1].prefix))).toStrictEqual(expectedAdjRibIn(theirs[1], [u.asn], normaliseAddress(routerV6NextHop)));
    expect(k.received()).toHaveLength(2);

    k.daemon.setOriginated([toOriginated(ours[1])]);
    await goneAtRouter(k, h, ours[0].prefix);
    expect((await h.routes('ipv6')).filter((r) => r.fromPeer === '::1').map((r) => r.prefix)).toEqual([ours[1].prefix]);
  });

  it('kbgp with the wrong local AS: the router sends OPEN Message Error / Bad Peer AS and kbgp records it', { timeout: 60_000 }, async () => {
    const s = slot(u, 4);
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, asn: 4200000099, routerId: s.kbgp, ipv4Address: s.kbgp,
      peer: { address: s.router, port: 179, asn: u.asn },
    });
    const h = await startRouter(u, { routerId: s.router, asn: u.asn, address: s.router, peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS }] });
    const st = await untilKbgp(k, h, (x) => x.lastDown?.kind === 'notification-received', SESSION_TIMEOUT, 'a NOTIFICATION from the router');
    const n = st.lastDown?.kind === 'notification-received' ? st.lastDown.notification : undefined;
    expect([n?.code, n?.subcode]).toEqual([2, 2]);
    const evidence = await waitFor(() => u.badPeerAs(h, s.kbgp, 'sent'), 10_000, () => `${h.kind} to show it sent Bad Peer AS${context(k, h)}`);
    expect(evidence).toBeTruthy();
    expect(k.status().state).not.toBe('Established');
  });

  it('router with the wrong AS: kbgp sends OPEN Message Error / Bad Peer AS, the router shows it received it', { timeout: 60_000 }, async () => {
    const s = slot(u, 5);
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, routerId: s.kbgp, ipv4Address: s.kbgp,
      peer: { address: s.router, port: 179, asn: u.asn },
    });
    const h = await startRouter(u, { routerId: s.router, asn: 4200000098, address: s.router, peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS }] });
    const st = await untilKbgp(k, h, (x) => x.lastDown?.kind === 'notification-sent', SESSION_TIMEOUT, 'a NOTIFICATION sent to the router');
    const n = st.lastDown?.kind === 'notification-sent' ? st.lastDown.notification : undefined;
    // RFC 4271 §6.2 leaves the data open; kbgp sends the 2-octet My AS field it got: AS_TRANS.
    expect([n?.code, n?.subcode, n?.data.toString('hex')]).toEqual([2, 2, AS_TRANS.toString(16).padStart(4, '0')]);
    const evidence = await waitFor(() => u.badPeerAs(h, s.kbgp, 'received'), 10_000, () => `${h.kind} to show it received Bad Peer AS${context(k, h)}`);
    expect(evidence).toBeTruthy();
    expect(k.status().state).not.toBe('Established');
  });

  it('detects a frozen router (SIGSTOP) with a 3 s hold timer, and the session comes back after SIGCONT', { timeout: 60_000 }, async () => {
    const s = slot(u, 6);
    const k = await startKbgp({
      name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, routerId: s.kbgp, ipv4Address: s.kbgp,
      peer: { address: s.router, port: 179, asn: u.asn, holdTime: HOLD_TIME },
    });
    // The router proposes its default hold time; kbgp's 3 s wins as the smaller (RFC 4271 §4.2).
    const h = await startRouter(u, { routerId: s.router, asn: u.asn, address: s.router, peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS }] });
    const before = await bothEstablished(k, h);
    expect(before.negotiated?.holdTime).toBe(HOLD_TIME);
    // A second of keepalives both ways, so that the pause starts from a freshly reset hold timer.
    await sleep(1_200);
    expect(k.status().since).toBe(before.since);
    const paused = Date.now();
    h.pause();
    let down: PeerStatus;
    try {
      down = await untilKbgp(k, h, (x) => x.state !== 'Established', (HOLD_TIME + 3) * 1000, 'to leave Established');
    } finally {
      h.resume();
    }
    const elapsed = Date.now() - paused;
    expect(down.lastDown).toEqual({ kind: 'hold-timer-expired' });
    // The router's last KEEPALIVE came at most ~1 s (a third of the hold time) before the pause.
    expect(elapsed).toBeGreaterThanOrEqual((HOLD_TIME - 1) * 1000 - 250);
    expect(elapsed).toBeLessThan(HOLD_TIME * 1000 + 1_000);
    const after = await bothEstablished(k, h);
    // (lastDown may since have moved on: a thawed router can reset kbgp's first reconnection.)
    expect(after.since).toBeGreaterThan(before.since);
  });

  it('settles on exactly one session when both sides connect at once', { timeout: 60_000 }, async () => {
    const s = slot(u, 7);
    // Both active. The router is frozen right after it starts, kbgp starts and connects to it (the
    // kernel completes the handshake and queues kbgp's OPEN) and waits in OpenSent; by the time the
    // router is thawed its own connect timer is overdue. Then kbgp's event loop (this process's) is
    // blocked for a second, so that the router's connection and OPEN also wait in kbgp's queue
    // while kbgp still sits in OpenSent on its own.
    const h = await startRouter(u, { routerId: s.router, asn: u.asn, address: s.router, peers: [{ address: s.kbgp, port: s.port, asn: KBGP_AS }] });
    h.pause();
    let k: Kbgp;
    try {
      k = await startKbgp({
        name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, routerId: s.kbgp, ipv4Address: s.kbgp,
        peer: { address: s.router, port: 179, asn: u.asn },
      });
      await untilKbgp(k, h, (x) => x.state === 'OpenSent', 5_000, 'OpenSent towards the frozen router');
      await sleep(1_500);
    } finally {
      h.resume();
    }
    const blockUntil = Date.now() + 1_000;
    while (Date.now() < blockUntil) {
      // busy: nothing of kbgp runs
    }
    const first = await bothEstablished(k, h);
    const routerFirst = await u.establishedCount(h, s.kbgp);
    // A few seconds for a second session to come up, or the first to be torn down.
    await sleep(4_000);
    const later = k.status();
    expect(later.state).toBe('Established');
    expect(later.since).toBe(first.since);
    expect(await h.sessionState(s.kbgp)).toBe('Established');
    const routerLater = await u.establishedCount(h, s.kbgp);
    expect(routerLater.record).toEqual(routerFirst.record);
    if (routerFirst.sinceMs !== undefined) {
      expect(sameBirdMoment(routerLater.sinceMs ?? NaN, routerFirst.sinceMs), `${u.kind}'s Since: ${routerFirst.sinceMs} then ${routerLater.sinceMs} ms of the day`).toBe(true);
    }
    // Either side may read the other's OPEN first and resolve the collision (RFC 4271 §6.8): kbgp
    // logs it, or it receives Cease / Connection Collision Resolution from the router.
    const byKbgp = k.collisions();
    const byRouter = k.status().downHistory.filter((d) => d.reason.kind === 'notification-received' && d.reason.notification.code === 6 && d.reason.notification.subcode === 7).length;
    const collisions = byKbgp + byRouter;
    if (u.collides) expect(collisions, `no collision was resolved${context(k, h)}`).toBeGreaterThan(0);
    // Exactly one TCP connection between the two; after a collision, the one opened by the higher
    // BGP Identifier, the router's (127.0.6.odd > 127.0.6.even), to kbgp's port.
    expect(await establishedSockets(s.kbgp, undefined, s.router, undefined), `collisions resolved by kbgp ${byKbgp}, by the router ${byRouter}${context(k, h)}`).toBe(1);
    if (collisions > 0) expect(await establishedSockets(s.kbgp, s.port, s.router, undefined), `the router's connection should have won${context(k, h)}`).toBe(1);
  });

  if (u.kind === 'bird') {
    it('receives AS_TRANS + AS4_PATH from a speaker told not to use 4-octet ASes (BIRD `enable as4 off`)', { timeout: 60_000 }, async () => {
      const s = slot(u, 8);
      const ours = kbgpRoutes(s.n);
      const theirs = routerRoutes(u, s.n, {});
      // BIRD without the capability is an OLD speaker with a 4-octet AS: its OPEN says AS_TRANS
      // (RFC 6793 §4.2.2), the AS kbgp must be configured with. BIRD 2.0.12 still reads kbgp's
      // 4-octet AS capability and refuses a neighbor AS above 65535 in this mode ("Neighbor AS number
      // out of range (AS4 not available)"), so kbgp has a 2-octet AS here; ExaBGP below covers a
      // 4-octet kbgp towards an OLD speaker.
      const kbgpAs = 65006;
      const k = await startKbgp({
        name: `${u.kind}-${s.n}`, address: s.kbgp, port: s.port, asn: kbgpAs, routerId: s.kbgp, ipv4Address: s.kbgp,
        peer: { address: s.router, port: 179, asn: AS_TRANS },
        originate: [ours[0]],
      });
      const h = await startRouter(u, {
        routerId: s.router, asn: u.asn, address: s.router, routes: [theirs[0]],
        peers: [{ address: s.kbgp, port: s.port, asn: kbgpAs, fourOctetAs: false }],
      });
      const st = await bothEstablished(k, h);
      expect(st.negotiated?.fourOctetAs).toBe(false);
      expect(st.negotiated?.peerAs).toBe(AS_TRANS);
      // BIRD → kbgp: AS_PATH [23456] + AS4_PATH [4200000061]; kbgp's Adj-RIB-In holds the merged
      // 4-octet path (RFC 6793 §4.2.3) and no AS4_PATH of its own.
      expect(adjRibInView(await inAdjRibIn(k, h, theirs[0].prefix))).toStrictEqual(expectedAdjRibIn(theirs[0], [u.asn], s.router));
      // kbgp → BIRD: a 2-octet AS_PATH.
      expect(routerView(await atRouter(k, h, ours[0].prefix))).toEqual(expectedRouterView(ours[0], s.kbgp, [kbgpAs]));
    });
  }
});

const haveExabgp = requireBinaries(...ROUTER_BINARIES.exabgp);

describe.skipIf(haveExabgp === undefined)('kbgp ↔ exabgp', () => {
  it('uses AS_TRANS and AS4_PATH with a speaker told not to use 4-octet ASes (ExaBGP `asn4 disable`)', { timeout: 60_000 }, async () => {
    const n = 27;
    const kAddr = `127.0.6.${10 + 2 * n}`;
    const rAddr = `127.0.6.${11 + 2 * n}`;
    const exaAs = 4200000064;
    const route: RouteSpec = { prefix: `10.60.${n}.0/24`, communities: ['65001:27'], largeCommunities: [`${exaAs}:2:${n}`], med: 70 };
    const ours = kbgpRoutes(n)[0];
    const k = await startKbgp({
      name: `exabgp-${n}`, address: kAddr, port: 11200 + n, routerId: kAddr, ipv4Address: kAddr,
      peer: { address: rAddr, port: 179, asn: AS_TRANS, passive: true },
      originate: [ours],
    });
    const h = await startExabgp({
      routerId: rAddr, asn: exaAs, address: rAddr, routes: [route],
      peers: [{ address: kAddr, port: 11200 + n, asn: AS_TRANS, fourOctetAs: false }],
    });
    const st = await bothEstablished(k, h);
    expect(st.negotiated?.fourOctetAs).toBe(false);
    expect(st.negotiated?.peerAs).toBe(AS_TRANS);
    // kbgp → ExaBGP: AS_PATH [23456] + AS4_PATH [4200000006], merged by ExaBGP (RFC 6793 §4.2.3).
    expect(routerView(await atRouter(k, h, ours.prefix))).toEqual(expectedRouterView(ours, kAddr, [KBGP_AS]));
    // ExaBGP → kbgp: the same the other way, merged by kbgp.
    expect(adjRibInView(await inAdjRibIn(k, h, route.prefix))).toStrictEqual(expectedAdjRibIn(route, [exaAs], rAddr));
  });
});
