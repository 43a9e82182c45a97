/**
 * The devices under test: kbgp, BIRD 2, GoBGP and FRR bgpd, each configured the same way (AS 64512,
 * router ID = its address, eBGP to the injector and every monitor, passive towards all of them,
 * import and export everything, next hop self on eBGP, which every one of them does by default),
 * started as a process of its own and stopped by PID. Process handling (spawn with output to a
 * file, SIGTERM then SIGKILL, bounded control commands) is the interop harness's
 * (test/helpers/routers/common.ts); the configurations are the bench's own, with none of the
 * tests' per-route policy. Knobs per daemon, as learned for the interop tests
 * (shared/reference/interop-notes.md):
 *
 * - BIRD: `multihop` (peers on lo are not "directly connected" for BIRD), `strict bind`,
 *   `passive on`, `import all; export all;`.
 * - FRR: bgpd alone (`-Z -n -S`, no zebra, no kernel routes), vty on a socket in the work dir,
 *   `bgp allow-martian-nexthop` (127/8 next hops), `no bgp ebgp-requires-policy`,
 *   `no bgp default ipv4-unicast` + `activate`, `disable-connected-check`, `advertisement-interval 0`.
 * - GoBGP: default import and export policy accept-route; its gRPC API on the DUT's address and
 *   port + 1. It treats a plain NEXT_HOP in 127/8 as withdraw, so the injector sends it IPv4 NLRI in
 *   MP_REACH_NLRI (`mpReach`), where the same next hop is accepted.
 * - kbgp: `node dist/cli/main.js run -f <yaml> --node dut`, every peer `passive: true`.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon, binary, run, tailFile, waitReady } from '../../test/helpers/routers/common.js';

export type DutName = 'kbgp' | 'bird' | 'gobgp' | 'frr';
export const DUT_NAMES: readonly DutName[] = ['kbgp', 'bird', 'gobgp', 'frr'];

export interface DutPeer {
  readonly name: string;
  readonly address: string;
  readonly asn: number;
}

export interface DutSpec {
  /** The work directory: configuration, sockets, logs. */
  readonly dir: string;
  readonly address: string;
  readonly port: number;
  /** A second port on `address`, for a control API that needs one (GoBGP's gRPC). */
  readonly apiPort: number;
  readonly asn: number;
  readonly holdTime: number;
  readonly peers: readonly DutPeer[];
  /** kbgp's --log-level. */
  readonly logLevel: string;
}

export interface RunningDut {
  /** Every process whose memory and CPU are the DUT's. */
  readonly pids: readonly number[];
  /** undefined while running, else how it ended. */
  readonly exit: string | undefined;
  logTail(): string;
  stop(): Promise<void>;
}

export interface DutDriver {
  readonly name: DutName;
  /** The injector must put IPv4 NLRI in MP_REACH_NLRI rather than in the NLRI field. */
  readonly mpReach: boolean;
  /** The binaries it needs, for a clear "not installed" before anything starts. */
  readonly binaries: readonly string[];
  version(): Promise<string>;
  start(spec: DutSpec): Promise<RunningDut>;
}

const READY_MS = 20_000;
/** The repository root, from dist-bench/bench/propagation/. */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const KBGP_MAIN = join(REPO, 'dist', 'cli', 'main.js');
/** Extra node flags for the kbgp DUT, e.g. KBGP_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p' to profile it. */
const KBGP_NODE_ARGS = (process.env['KBGP_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

function running(d: Daemon, logs: readonly string[]): RunningDut {
  return {
    pids: [d.pid],
    get exit() {
      return d.exit;
    },
    logTail: () => logs.map((f) => tailFile(f, 15)).join('\n'),
    stop: () => d.stop(5_000),
  };
}

/** Starts `d` and waits until `probe` answers; stops it again if it never does. */
async function ready(d: Daemon, logs: readonly string[], what: string, probe: () => Promise<unknown>): Promise<RunningDut> {
  const r = running(d, logs);
  try {
    await waitReady(d, probe, READY_MS, what, () => r.logTail());
  } catch (e) {
    await d.stop(2_000);
    throw e;
  }
  return r;
}

const keepaliveOf = (holdTime: number): number => Math.floor(holdTime / 3);

// ---------------------------------------------------------------------------------------------

export function kbgpConfig(s: DutSpec): string {
  return [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${s.asn}, listenPort: ${s.port}}`,
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: dut}\nspec: {bgp: {ipv4Address: ${s.address}/32}}`,
    ...s.peers.map((p) => `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${p.name}}\nspec: {peerIP: "${p.address}:${s.port}", asNumber: ${p.asn}}`),
    `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: dut}\nspec:\n  nodeName: dut\n  routerId: ${s.address}\n  listenAddress: ${s.address}\n` +
      `  peerSettings: [${s.peers.map((p) => `{peer: ${p.name}, passive: true, holdTime: ${s.holdTime}s}`).join(', ')}]`,
    '',
  ].join('\n---\n');
}

const kbgp: DutDriver = {
  name: 'kbgp',
  mpReach: false,
  binaries: [],
  version: async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version?: unknown };
    return `${String(pkg.version)} (node ${process.version})`;
  },
  start: async (s) => {
    const file = join(s.dir, 'kbgp.yaml');
    const out = join(s.dir, 'kbgp.out');
    await writeFile(file, kbgpConfig(s));
    const d = new Daemon(process.execPath, [...KBGP_NODE_ARGS, KBGP_MAIN, 'run', '-f', file, '--node', 'dut', '--log-level', s.logLevel], { outFile: out });
    // kbgp's JSON log says "listening" once the listener is bound (src/daemon.ts).
    return ready(d, [out], 'kbgp', async () => {
      if (!readFileSync(out, 'utf8').includes('"msg":"listening"')) throw new Error('not listening yet');
    });
  },
};

// ---------------------------------------------------------------------------------------------

export function birdConfig(s: DutSpec): string {
  const protocol = (p: DutPeer): string =>
    [
      `protocol bgp ${p.name.replace(/[^0-9a-zA-Z]/g, '_')} {`,
      `  local ${s.address} port ${s.port} as ${s.asn};`,
      `  neighbor ${p.address} as ${p.asn};`,
      '  strict bind yes;',
      '  multihop;',
      '  passive on;',
      `  hold time ${s.holdTime};`,
      `  keepalive time ${keepaliveOf(s.holdTime)};`,
      '  ipv4 { import all; export all; };',
      '}',
    ].join('\n');
  return [
    '# generated by bench/propagation/duts.ts',
    `router id ${s.address};`,
    `log "${join(s.dir, 'bird.log')}" { info, remote, warning, error, auth, fatal, bug };`,
    'protocol device { scan time 10; }',
    ...s.peers.map(protocol),
    '',
  ].join('\n');
}

const bird: DutDriver = {
  name: 'bird',
  mpReach: false,
  binaries: ['bird', 'birdc'],
  version: async () => /BIRD version (\S+)/.exec(await run(binary('bird'), ['--version'], { withStderr: true }))?.[1] ?? 'unknown',
  start: async (s) => {
    const conf = join(s.dir, 'bird.conf');
    const ctl = join(s.dir, 'bird.ctl');
    await writeFile(conf, birdConfig(s));
    const d = new Daemon(binary('bird'), ['-f', '-c', conf, '-s', ctl, '-P', join(s.dir, 'bird.pid')], { outFile: join(s.dir, 'bird.out') });
    return ready(d, [join(s.dir, 'bird.out'), join(s.dir, 'bird.log')], 'bird', () => run(binary('birdc'), ['-s', ctl, 'show', 'status']));
  },
};

// ---------------------------------------------------------------------------------------------

export function gobgpConfig(s: DutSpec): string {
  const q = (v: string): string => JSON.stringify(v);
  return [
    '# generated by bench/propagation/duts.ts',
    '[global.config]',
    `  as = ${s.asn}`,
    `  router-id = ${q(s.address)}`,
    `  port = ${s.port}`,
    `  local-address-list = [${q(s.address)}]`,
    '[global.apply-policy.config]',
    '  default-import-policy = "accept-route"',
    '  default-export-policy = "accept-route"',
    ...s.peers.flatMap((p) => [
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = ${q(p.address)}`,
      `    peer-as = ${p.asn}`,
      '  [neighbors.transport.config]',
      `    local-address = ${q(s.address)}`,
      '    passive-mode = true',
      '  [neighbors.timers.config]',
      `    hold-time = ${s.holdTime}`,
      `    keepalive-interval = ${keepaliveOf(s.holdTime)}`,
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ipv4-unicast"',
    ]),
    '',
  ].join('\n');
}

const gobgp: DutDriver = {
  name: 'gobgp',
  mpReach: true,
  binaries: ['gobgpd', 'gobgp'],
  version: async () => /version (\S+)/.exec(await run(binary('gobgpd'), ['--version']))?.[1] ?? 'unknown',
  start: async (s) => {
    const conf = join(s.dir, 'gobgpd.toml');
    const out = join(s.dir, 'gobgpd.log');
    await writeFile(conf, gobgpConfig(s));
    const api = `${s.address}:${s.apiPort}`;
    const d = new Daemon(binary('gobgpd'), ['-f', conf, '-t', 'toml', '--api-hosts', api, '--pprof-disable', '--log-plain', '--log-level', 'info'], { outFile: out });
    return ready(d, [out], 'gobgpd', () => run(binary('gobgp'), ['-u', s.address, '-p', String(s.apiPort), 'global']));
  },
};

// ---------------------------------------------------------------------------------------------

export function frrConfig(s: DutSpec): string {
  const keepalive = keepaliveOf(s.holdTime);
  return [
    '! generated by bench/propagation/duts.ts',
    'frr defaults traditional',
    'hostname bench-dut',
    `log file ${join(s.dir, 'bgpd.log')} informational`,
    '!',
    `router bgp ${s.asn}`,
    ` bgp router-id ${s.address}`,
    ' bgp allow-martian-nexthop',
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ...s.peers.flatMap((p) => [
      ` neighbor ${p.address} remote-as ${p.asn}`,
      ` neighbor ${p.address} passive`,
      // eBGP without zebra knows no interfaces, so no peer is "connected".
      ` neighbor ${p.address} disable-connected-check`,
      ` neighbor ${p.address} advertisement-interval 0`,
      ` neighbor ${p.address} timers ${keepalive} ${s.holdTime}`,
    ]),
    ' address-family ipv4 unicast',
    ...s.peers.map((p) => `  neighbor ${p.address} activate`),
    ' exit-address-family',
    'exit',
    '',
  ].join('\n');
}

const frr: DutDriver = {
  name: 'frr',
  mpReach: false,
  binaries: ['bgpd', 'vtysh'],
  version: async () => /bgpd version (\S+)/.exec(await run(binary('bgpd'), ['--version']))?.[1] ?? 'unknown',
  start: async (s) => {
    const conf = join(s.dir, 'bgpd.conf');
    await writeFile(conf, frrConfig(s));
    const args = [
      '-f', conf,
      '-Z', // no zebra
      '-n', // no kernel routes
      '-S', // do not drop privileges (the work dir belongs to us)
      '-l', s.address,
      '-p', String(s.port),
      '-i', join(s.dir, 'bgpd.pid'),
      '-z', join(s.dir, 'zserv.api'),
      '--vty_socket', s.dir,
      '-A', s.address,
      '-P', '0', // no vty TCP port
    ];
    const d = new Daemon(binary('bgpd'), args, { outFile: join(s.dir, 'bgpd.out') });
    const logs = [join(s.dir, 'bgpd.out'), join(s.dir, 'bgpd.log')];
    const r = await ready(d, logs, 'bgpd', () => run(binary('vtysh'), ['--vty_socket', s.dir, '-c', 'show bgp summary json']));
    // bgpd goes on after a configuration line it does not take: fail loudly instead.
    const bad = r.logTail().split('\n').find((l) => /on config line \d+|Error occurred during reading|% (Unknown|Invalid|Command incomplete)/.test(l));
    if (bad !== undefined) {
      await r.stop();
      throw new Error(`bgpd rejected its configuration: ${bad}`);
    }
    return r;
  },
};

export const DRIVERS: Readonly<Record<DutName, DutDriver>> = { kbgp, bird, gobgp, frr };

// ---------------------------------------------------------------------------------------------
// What the DUT costs, from /proc

let clockTicks: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat times (100 on every Linux this runs on; asked once). */
async function ticksPerSecond(): Promise<number> {
  if (clockTicks === undefined) {
    const v = Number((await run('getconf', ['CLK_TCK']).catch(() => '100')).trim());
    clockTicks = Number.isInteger(v) && v > 0 ? v : 100;
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system, with those of waited-for children) of `pids`, summed; undefined
 * once any of them is gone. Fields 14..17 of /proc/<pid>/stat, counted after the `comm` field,
 * which may itself hold spaces and parentheses.
 */
export async function cpuSeconds(pids: readonly number[]): Promise<number | undefined> {
  const hz = await ticksPerSecond();
  let total = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state), so utime (14) is f[11], stime f[12], cutime f[13], cstime f[14].
    total += [11, 12, 13, 14].reduce((a, i) => a + Number(f[i] ?? 0), 0);
  }
  return total / hz;
}

/** Peak resident set (VmHWM) of `pids`, summed, in bytes; undefined once any of them is gone. */
export function peakRss(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m?.[1] === undefined) return undefined;
      total += Number(m[1]) * 1024;
    } catch {
      return undefined;
    }
  }
  return total;
}
