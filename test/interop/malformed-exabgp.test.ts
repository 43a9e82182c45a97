/**
 * Malformed UPDATEs and OPENs end to end. A real ExaBGP 4.2 sends path attributes with chosen
 * flags and values (its generic `attribute [ code flags value ]`) and OPENs kbgp must refuse; a raw
 * peer of the suite's own sends what ExaBGP cannot. kbgp answers each with the exact NOTIFICATION
 * or with its RFC 7606 outcome (treat-as-withdraw, attribute discard, unknown attribute kept or
 * dropped), while a second, healthy session on the same kbgp stays Established, `since` unchanged.
 *
 * Three independent accounts of every reset: the bytes on the wire (a recording relay sits between
 * kbgp and each ExaBGP neighbor and keeps every message both ways), ExaBGP's own reading of the
 * NOTIFICATION it received (its API's JSON `notification` message), and kbgp's status() lastDown.
 *
 * What ExaBGP 4.2.21 puts on the wire, learned with tshark on lo and asserted byte for byte in every
 * case through the relay: one attribute per type code, in code order. Its own ORIGIN IGP and
 * AS_PATH [65001] go out unless a generic attribute of the same code replaces them; a generic
 * attribute is written as given (flags, code, length of the value, value). What it will not send:
 * - a generic NEXT_HOP: its own NEXT_HOP from `next-hop` goes out instead;
 * - LOCAL_PREF on an eBGP session, generic or not (dropped when packing);
 * - two attributes of one type code, a length that disagrees with the value, an UPDATE without
 *   ORIGIN or AS_PATH (it adds its defaults), malformed NLRI;
 * - an OPEN with hold time 1 or 2 ("holdtime must be zero or at least three seconds") or a version
 *   other than 4.
 * The raw peer sends the duplicate, the overrunning length, the missing AS_PATH, a second
 * MP_REACH_NLRI and the two OPENs, with ExaBGP's session as one more bystander.
 *
 * Why ExaBGP is started here and not with the shared driver (test/helpers/routers/exabgp.ts): that
 * driver's API does not subscribe to received NOTIFICATIONs, and ExaBGP logs them below the INFO
 * level the driver runs at. Why a relay and not ExaBGP's `send { packets; update; }`: ExaBGP parses
 * each UPDATE it is about to send for that report, and a malformed one makes it reset its own
 * session (NOTIFICATION 3/1 "could not decode community") instead of sending it.
 *
 * Addresses: kbgp 127.0.7.1 (listening on 11230 for the raw peers, connecting out to each relay),
 * ExaBGP 127.0.7.2 (AS 65001) behind relay 127.0.7.2:11231, the OPEN-error ExaBGP neighbors
 * 127.0.7.3 and 127.0.7.4 behind relays on 11233 and 11235, the healthy raw peer 127.0.7.9, the
 * misbehaving raw peer 127.0.7.10. ExaBGP listens (passive) and kbgp connects, so that ExaBGP's
 * reconnect backoff, which grows with every reset, never paces the test.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, type PathAttributes, type RawAttribute, formatPrefix } from '../../src/bgp/index.js';
import { loadConfig } from '../../src/config/config.js';
import { Daemon, type PeerStatus } from '../../src/daemon.js';
import { requireBinaries } from '../helpers/binaries.js';
import { attr, capabilities, ip4, message, open, u16, u32, update } from '../helpers/bytes.js';
import { RawPeer, isType, until } from '../helpers/raw-peer.js';
import {
  Daemon as RouterProcess,
  binary,
  makeWorkDir,
  num,
  obj,
  registerHelper,
  removeWorkDir,
  stopPid,
  str,
  tailFile,
  waitFor,
} from '../helpers/routers/common.js';
import { exabgpEnv } from '../helpers/routers/exabgp.js';

const binaries = requireBinaries('exabgp');

const KBGP = '127.0.7.1';
const KBGP_AS = 64512;
const KBGP_PORT = 11230;
const EXA = '127.0.7.2';
const EXA_AS = 65001;
const HEALTHY = '127.0.7.9';
const HEALTHY_AS = 65009;
const RAW = '127.0.7.10';
const RAW_AS = 65010;
/** The OPEN-error ExaBGP neighbors: what kbgp expects of each, and what ExaBGP says instead. */
const BAD_AS = { address: '127.0.7.3', expectedAs: 65003, sentAs: 65099, relayPort: 11233 } as const;
const BAD_ID = { address: '127.0.7.4', expectedAs: 65004, relayPort: 11235 } as const;
/** ExaBGP's neighbor with kbgp: kbgp connects to the relay, the relay to ExaBGP. */
const EXA_RELAY_PORT = 11231;

const SESSION_TIMEOUT = 15_000;
const ROUTE_TIMEOUT = 3_000;

// ---------------------------------------------------------------------------------------------
// kbgp

function kbgpYaml(): string {
  const peer = (name: string, address: string, asn: number, port: number): string =>
    `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${name}}\nspec: {peerIP: "${address}:${port}", asNumber: ${asn}}`;
  return [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: ${KBGP_AS}, listenPort: ${KBGP_PORT}}`,
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: k}\nspec: {bgp: {ipv4Address: ${KBGP}/32}}`,
    peer('exabgp', EXA, EXA_AS, EXA_RELAY_PORT),
    peer('exabgp-bad-as', BAD_AS.address, BAD_AS.expectedAs, BAD_AS.relayPort),
    peer('exabgp-bad-id', BAD_ID.address, BAD_ID.expectedAs, BAD_ID.relayPort),
    peer('healthy', HEALTHY, HEALTHY_AS, KBGP_PORT),
    peer('raw', RAW, RAW_AS, KBGP_PORT),
    `apiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: k}\nspec:\n  nodeName: k\n  listenAddress: ${KBGP}\n` +
      '  timers: {connectDelay: 0.1s, connectRetryTime: 0.5s, errorWaitMin: 0.5s, errorWaitMax: 1s}\n' +
      '  peerSettings: [{peer: healthy, passive: true}, {peer: raw, passive: true}]\n  originate: []',
  ].join('\n---\n');
}

// ---------------------------------------------------------------------------------------------
// The relay: a transparent TCP hop that keeps a copy of every BGP message, each way

interface WireMessage {
  /** Which TCP connection through the relay, counted from 1. */
  readonly connection: number;
  readonly from: 'kbgp' | 'exabgp';
  readonly bytes: Buffer;
}

/**
 * Listens where kbgp connects to and connects on to ExaBGP from kbgp's address (ExaBGP accepts only
 * its configured neighbor). Messages are cut by the header's length field alone, so the record is
 * independent of kbgp's codec; a length below 19 (neither side sends one here) is kept with the rest
 * of its chunk as one record.
 */
class RecordingRelay {
  readonly wire: WireMessage[] = [];
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  private constructor(private readonly server: Server) {}

  static async start(listen: { host: string; port: number }, upstream: { host: string; port: number; localAddress: string }): Promise<RecordingRelay> {
    const server = createServer();
    const relay = new RecordingRelay(server);
    server.on('connection', (fromKbgp) => relay.join(fromKbgp, connect(upstream)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    return relay;
  }

  private join(fromKbgp: Socket, toExabgp: Socket): void {
    const connection = ++this.connections;
    for (const [a, b, from] of [
      [fromKbgp, toExabgp, 'kbgp'],
      [toExabgp, fromKbgp, 'exabgp'],
    ] as const) {
      this.sockets.add(a);
      let pending = Buffer.alloc(0);
      a.on('data', (chunk: Buffer) => {
        b.write(chunk);
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 19) {
          const length = pending.readUInt16BE(16);
          if (length < 19) {
            this.wire.push({ connection, from, bytes: pending });
            pending = Buffer.alloc(0);
            break;
          }
          if (pending.length < length) break;
          this.wire.push({ connection, from, bytes: pending.subarray(0, length) });
          pending = pending.subarray(length);
        }
      });
      // A close or reset on one side is a graceful close of the other, after what was in flight.
      a.on('end', () => b.end());
      a.on('close', () => {
        b.end();
        this.sockets.delete(a);
      });
      a.on('error', () => undefined);
    }
  }

  /** The first message from index `start` of wire on that matches; bounded. */
  async next(start: number, from: WireMessage['from'], type: number, timeoutMs = ROUTE_TIMEOUT, match: (bytes: Buffer) => boolean = () => true): Promise<WireMessage> {
    return waitFor(
      async () => this.wire.slice(start).find((m) => m.from === from && m.bytes[18] === type && match(m.bytes)),
      timeoutMs,
      () => `a message of type ${type} from ${from} on the wire; seen since: ${this.wire.slice(start).map((m) => `${m.from}:${m.bytes.toString('hex')}`).join(' ')}`,
      10,
    );
  }

  since(start: number, from: WireMessage['from'], type: number): Buffer[] {
    return this.wire.slice(start).filter((m) => m.from === from && m.bytes[18] === type).map((m) => m.bytes);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// ExaBGP, with an API that reports received NOTIFICATIONs

interface ExabgpNeighbor {
  /** ExaBGP's local address for this neighbor. */
  readonly address: string;
  readonly routerId?: string;
  readonly asn: number;
  /** ExaBGP listens here (passive); the relay connects to it. */
  readonly listenPort: number;
}

interface ExabgpNotification {
  readonly code: number;
  readonly subcode: number;
  /** Lower-case hex, no 0x. */
  readonly data: string;
}

/**
 * The API process: ExaBGP's JSON messages and its done/error acknowledgements appended to
 * received.jsonl; every line the test appends to commands.txt goes to ExaBGP as an API command.
 * `tail --pid` ends with ExaBGP even if this test process dies before stopping it by PID.
 */
const API_SCRIPT = `d="$1"
tail -n +1 -f --pid="$PPID" "$d/commands.txt" &
echo "$!" > "$d/tail.pid"
echo "$$" > "$d/api.pid.tmp" && mv "$d/api.pid.tmp" "$d/api.pid"
exec cat >> "$d/received.jsonl"
`;

function exabgpConfigFor(dir: string, neighbors: readonly ExabgpNeighbor[]): string {
  return [
    'process api {',
    `  run /bin/sh ${join(dir, 'api.sh')} ${dir};`,
    '  encoder json;',
    '}',
    ...neighbors.flatMap((n) => [
      `neighbor ${KBGP} {`,
      `  router-id ${n.routerId ?? n.address};`,
      `  local-address ${n.address};`,
      `  local-as ${n.asn};`,
      `  peer-as ${KBGP_AS};`,
      '  hold-time 30;',
      '  passive true;',
      `  listen ${n.listenPort};`,
      '  family { ipv4 unicast; }',
      '  capability { asn4 enable; }',
      '  api { processes [ api ]; receive { parsed; notification; } neighbor-changes; }',
      '}',
    ]),
    '',
  ].join('\n');
}

class Exabgp {
  private helperPids: number[] = [];

  private constructor(
    private readonly dir: string,
    private readonly daemon: RouterProcess,
  ) {}

  static async start(neighbors: readonly ExabgpNeighbor[]): Promise<Exabgp> {
    const dir = await makeWorkDir('exabgp');
    writeFileSync(join(dir, 'api.sh'), API_SCRIPT);
    writeFileSync(join(dir, 'commands.txt'), '');
    writeFileSync(join(dir, 'exabgp.conf'), exabgpConfigFor(dir, neighbors));
    // As the shared driver runs it.
    const env = exabgpEnv();
    const proc = new RouterProcess(binary('exabgp'), [join(dir, 'exabgp.conf')], { env, outFile: join(dir, 'exabgp.log') });
    // The harness's exit hook SIGKILLs registered PIDs should this test process die first.
    registerHelper(proc.pid, proc.pid);
    const exa = new Exabgp(dir, proc);
    try {
      await waitFor(
        async () => {
          if (proc.exit !== undefined) throw new Error(`ExaBGP ${proc.exit}`);
          return readFileSync(join(dir, 'api.pid'), 'utf8');
        },
        15_000,
        () => `ExaBGP's API process to start\n${exa.logTail()}`,
        50,
      );
      exa.helperPids = ['api.pid', 'tail.pid'].map((f) => Number(readFileSync(join(dir, f), 'utf8')));
      for (const pid of exa.helperPids) registerHelper(proc.pid, pid);
    } catch (e) {
      await exa.stop();
      throw e;
    }
    return exa;
  }

  private lines(): string[] {
    try {
      return readFileSync(join(this.dir, 'received.jsonl'), 'utf8').split('\n');
    } catch {
      return [];
    }
  }

  private acks(): string[] {
    return this.lines().filter((l) => l === 'done' || l === 'error');
  }

  /** Sends one API command and waits (bounded) for ExaBGP's `done`. */
  async command(text: string): Promise<void> {
    const before = this.acks().length;
    appendFileSync(join(this.dir, 'commands.txt'), `${text}\n`);
    const ack = await waitFor(async () => this.acks()[before], 10_000, () => `ExaBGP to acknowledge "${text}"\n${this.logTail()}`, 10);
    if (ack !== 'done') throw new Error(`ExaBGP answered ${ack} to "${text}"\n${this.logTail()}`);
  }

  /** ExaBGP's JSON messages about the neighbor on its local address `local`. */
  private events(local: string): { [k: string]: unknown }[] {
    return this.lines()
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [obj(JSON.parse(l))];
        } catch {
          return []; // a line cut short by a kill
        }
      })
      .filter((m) => str(obj(obj(m.neighbor).address).local) === local);
  }

  /** Every NOTIFICATION ExaBGP received on that neighbor, in order. */
  notificationsReceived(local: string): ExabgpNotification[] {
    return this.events(local)
      .filter((m) => str(m.type) === 'notification' && str(obj(m.neighbor).direction) === 'receive')
      .map((m) => {
        const n = obj(obj(m.neighbor).notification);
        return { code: num(n.code) ?? -1, subcode: num(n.subcode) ?? -1, data: (str(n.data) ?? '').replace(/^0x/i, '').toLowerCase() };
      });
  }

  /** How often ExaBGP saw that session go down. */
  downs(local: string): number {
    return this.events(local).filter((m) => str(m.type) === 'state' && str(obj(m.neighbor).state) === 'down').length;
  }

  logTail(): string {
    return [tailFile(join(this.dir, 'exabgp.log'), 20), tailFile(join(this.dir, 'received.jsonl'), 10)].join('\n');
  }

  async stop(): Promise<void> {
    try {
      await this.daemon.stop();
      for (const pid of this.helperPids) await stopPid(pid);
    } finally {
      await removeWorkDir(this.dir);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// What ExaBGP sends

/** The attributes ExaBGP adds to every route it announces over this eBGP session. */
const EXA_DEFAULTS: ReadonlyMap<number, readonly number[]> = new Map([
  [1, attr(0x40, 1, [0])], // ORIGIN IGP
  [2, attr(0x40, 2, [2, 1, ...u32(EXA_AS)])], // AS_PATH AS_SEQUENCE [65001]
  [3, attr(0x40, 3, ip4(EXA))], // NEXT_HOP
]);

/** A generic attribute as the test asks ExaBGP for it and as it goes on the wire. */
interface Generic {
  readonly code: number;
  readonly flags: number;
  /** The value in hex. */
  readonly value: string;
}

const hexByte = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const genericArg = (g: Generic): string => `attribute [ ${hexByte(g.code)} ${hexByte(g.flags)} 0x${g.value} ]`;
const genericBytes = (g: Generic): number[] => attr(g.flags, g.code, [...Buffer.from(g.value, 'hex')]);

/** A /24 as NLRI bytes. */
const nlri24 = (prefix: string): number[] => [24, ...ip4(prefix.split('/')[0] ?? '').slice(0, 3)];

/** The UPDATE ExaBGP 4.2.21 sends for `prefix` with `generic`: one attribute per code, in code order. */
function exabgpUpdate(prefix: string, generic: Generic): Buffer {
  const byCode = new Map(EXA_DEFAULTS);
  byCode.set(generic.code, genericBytes(generic));
  const attrs = [...byCode.entries()].sort(([a], [b]) => a - b).flatMap(([, bytes]) => bytes);
  return update({ attrs, nlri: nlri24(prefix) });
}

/**
 * An UPDATE that announces `prefix` and withdraws nothing: tells the one under test from ExaBGP's
 * End-of-RIB and from the withdrawal that cleaned up after the previous case.
 */
const announces =
  (prefix: string) =>
  (bytes: Buffer): boolean =>
    bytes.readUInt16BE(19) === 0 && bytes.subarray(bytes.length - 4).equals(Buffer.from(nlri24(prefix)));

/** What kbgp's Adj-RIB-In holds for a plain route from ExaBGP. */
const PLAIN: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [EXA_AS] }], nextHop: EXA };

const unknownAttribute = (flags: number, type: number, value: string): RawAttribute => ({ flags, type, value: Buffer.from(value, 'hex') });

// ---------------------------------------------------------------------------------------------
// The cases

type WithdrawRow = readonly [name: string, generic: Generic];
type AcceptRow = readonly [name: string, generic: Generic, expected: PathAttributes];
type ResetRow = readonly [name: string, notification: readonly [code: number, subcode: number, data: string], generic: Generic];

const g = (code: number, flags: number, value: string): Generic => ({ code, flags, value });

// RFC 7606 §7: each of these makes the whole UPDATE treat-as-withdraw.
const WITHDRAW_ROWS: readonly WithdrawRow[] = [
  ['ORIGIN value 3 (§7.1)', g(1, 0x40, '03')],
  ['ORIGIN flagged optional transitive (§3(c) flags conflict)', g(1, 0xc0, '00')],
  ['AS_PATH segment type 5 (§7.2)', g(2, 0x40, '0501' + '0000fde9')],
  ['AS_PATH AS_CONFED_SEQUENCE from an external peer (§7.2)', g(2, 0x40, '0301' + '0000fde9')],
  ['AS_PATH of 2-octet ASes on a 4-octet session (§7.2)', g(2, 0x40, '0201' + 'fde9')],
  ['MULTI_EXIT_DISC of 3 octets (§7.4)', g(4, 0x80, '000001')],
  ['MULTI_EXIT_DISC flagged transitive (§3(c) flags conflict)', g(4, 0xc0, '00000001')],
  ['COMMUNITIES of 5 octets (§7.8)', g(8, 0xc0, '0000fde800')],
  ['COMMUNITIES of 0 octets (§7.8)', g(8, 0xc0, '')],
  ['COMMUNITIES flagged well-known (§3(c) flags conflict)', g(8, 0x40, 'fde90001')],
  ['ORIGINATOR_ID of 5 octets (§7.9)', g(9, 0x80, '0102030405')],
  ['CLUSTER_LIST of 6 octets (§7.10)', g(10, 0x80, '010203040506')],
  ['EXTENDED_COMMUNITIES of 7 octets (§7.14)', g(16, 0xc0, '00020001000000')],
  ['LARGE_COMMUNITY of 13 octets (RFC 8092 §6)', g(32, 0xc0, '0000fde9000000010000000101')],
];

// The route stands: an attribute discarded (RFC 7606 §7.6, §7.7), an unknown optional transitive
// one kept as received (RFC 4271 §5: kbgp sets Partial when it passes it on), an unknown optional
// non-transitive one dropped. The first row is the control: a well-formed AGGREGATOR is kept.
const ACCEPT_ROWS: readonly AcceptRow[] = [
  ['a well-formed AGGREGATOR is kept (control)', g(7, 0xc0, '0000fde9' + '7f000702'), { ...PLAIN, aggregator: { asn: EXA_AS, address: EXA } }],
  ['ATOMIC_AGGREGATE of 1 octet is discarded (§7.6)', g(6, 0x40, '00'), PLAIN],
  ['AGGREGATOR of 6 octets on a 4-octet session is discarded (§7.7)', g(7, 0xc0, 'fde9' + '7f000702'), PLAIN],
  ['AGGREGATOR flagged non-transitive is discarded (§3(c), §7.7)', g(7, 0x80, '0000fde9' + '7f000702'), PLAIN],
  ['an unknown optional transitive attribute is kept as received', g(0xf0, 0xc0, 'deadbeef'), { ...PLAIN, unknown: [unknownAttribute(0xc0, 0xf0, 'deadbeef')] }],
  ['an unknown optional transitive attribute with Partial set is kept as received', g(0xf1, 0xe0, '01'), { ...PLAIN, unknown: [unknownAttribute(0xe0, 0xf1, '01')] }],
  ['an unknown optional non-transitive attribute is dropped', g(0xf2, 0x80, '01'), PLAIN],
];

/** MP_REACH_NLRI values: IPv4 unicast 10.7.254.0/24 via 127.0.7.2; an IPv6 next hop of 5 octets; an IPv4 prefix of length 33. */
const MP_REACH_V4 = '0001' + '01' + '04' + '7f000702' + '00' + '18' + '0a07fe';
const MP_REACH_NH5 = '0002' + '01' + '05' + '0102030405' + '00';
const MP_REACH_LEN33 = '0001' + '01' + '04' + '7f000702' + '00' + '21' + '0a070000' + '00';
const MP_REACH_FLAGGED_WELL_KNOWN = g(14, 0x40, MP_REACH_V4);
const MP_REACH_BAD_NEXT_HOP = g(14, 0x80, MP_REACH_NH5);
const MP_UNREACH_SHORT = g(15, 0x80, '0002');
/** RFC 4271 §6.3: these NOTIFICATIONs carry the whole attribute (flags, type, length, value). */
const whole = (generic: Generic): string => Buffer.from(genericBytes(generic)).toString('hex');

// Session-fatal (RFC 4271 §6.3, RFC 7606 §5.3, §7.11, §7.12): the exact NOTIFICATION.
const RESET_ROWS: readonly ResetRow[] = [
  ['an unrecognized well-known attribute', [3, 2, '40630101'], g(0x63, 0x40, '01')],
  ['MP_REACH_NLRI flagged well-known', [3, 4, whole(MP_REACH_FLAGGED_WELL_KNOWN)], MP_REACH_FLAGGED_WELL_KNOWN],
  ['MP_REACH_NLRI with an IPv6 next hop of 5 octets', [3, 9, whole(MP_REACH_BAD_NEXT_HOP)], MP_REACH_BAD_NEXT_HOP],
  ['MP_UNREACH_NLRI of 2 octets', [3, 9, whole(MP_UNREACH_SHORT)], MP_UNREACH_SHORT],
  ['MP_REACH_NLRI with an IPv4 prefix of length 33', [3, 10, ''], g(14, 0x80, MP_REACH_LEN33)],
  ['MP_UNREACH_NLRI whose prefix overruns it', [3, 10, ''], g(15, 0x80, '000101' + '18' + '0a07')],
];

// ---------------------------------------------------------------------------------------------

const logger = pino({ level: 'silent' });

it('drives at least 10 malformed UPDATEs through ExaBGP, over every RFC 7606 outcome', () => {
  expect(WITHDRAW_ROWS.length).toBeGreaterThan(0);
  expect(ACCEPT_ROWS.length).toBeGreaterThan(1);
  expect(RESET_ROWS.length).toBeGreaterThan(0);
  // The AGGREGATOR control row is well-formed, so it does not count.
  expect(WITHDRAW_ROWS.length + ACCEPT_ROWS.length - 1 + RESET_ROWS.length).toBeGreaterThanOrEqual(10);
});

describe.skipIf(binaries === undefined)('kbgp against malformed UPDATEs and OPENs from ExaBGP and a raw peer (127.0.7.0/24)', () => {
  let kbgp: Daemon;
  let exabgp: Exabgp;
  let relay: RecordingRelay;
  let healthy: RawPeer;
  let healthySince: number;
  let keepalives: NodeJS.Timeout | undefined;
  const relays: RecordingRelay[] = [];
  const exabgps: Exabgp[] = [];
  const rawPeers: RawPeer[] = [];
  /** Each case announces its own /24 from 10.7.0.0/16. */
  let subnet = 0;
  const nextPrefix = (): string => `10.7.${++subnet}.0/24`;

  const status = (address: string): PeerStatus | undefined => kbgp.status().find((s) => s.address === address);
  const stateOf = (address: string): string | undefined => status(address)?.state;
  const routeAt = (prefix: string) => kbgp.received(EXA).find((r) => formatPrefix(r.prefix) === prefix);

  /** The healthy session saw nothing of any of it: still Established since it came up. */
  function expectHealthyUntouched(): void {
    expect(stateOf(HEALTHY)).toBe('Established');
    expect(status(HEALTHY)?.since).toBe(healthySince);
    expect(healthy.closed).toBe(false);
    expect(healthy.received.filter(isType(MessageType.Notification))).toEqual([]);
  }

  beforeAll(async () => {
    kbgp = new Daemon(loadConfig(kbgpYaml(), 'k'), { logger });
    await kbgp.start();
    relay = await RecordingRelay.start({ host: EXA, port: EXA_RELAY_PORT }, { host: EXA, port: EXA_RELAY_PORT + 1, localAddress: KBGP });
    relays.push(relay);
    exabgp = await Exabgp.start([{ address: EXA, asn: EXA_AS, listenPort: EXA_RELAY_PORT + 1 }]);
    exabgps.push(exabgp);
    healthy = await RawPeer.connect(KBGP, KBGP_PORT, HEALTHY);
    rawPeers.push(healthy);
    healthy.open(HEALTHY_AS, HEALTHY, 30);
    // Hold time 30 s is negotiated; keep the healthy session alive for as long as the file runs.
    keepalives = setInterval(() => healthy.send({ type: MessageType.Keepalive }), 5_000);
    await until(() => stateOf(HEALTHY) === 'Established' && stateOf(EXA) === 'Established', SESSION_TIMEOUT, `both sessions Established\n${exabgp.logTail()}`);
    healthySince = status(HEALTHY)?.since ?? -1;
  });

  afterAll(async () => {
    clearInterval(keepalives);
    for (const p of rawPeers) p.close();
    await Promise.allSettled(exabgps.map((e) => e.stop()));
    await kbgp?.stop('test over');
    await Promise.allSettled(relays.map((r) => r.close()));
  });

  describe('ExaBGP sends generic attributes', () => {
    /** Announces `prefix` with `generic` and returns the UPDATE as it went on the wire. */
    async function announceMalformed(prefix: string, generic: Generic): Promise<WireMessage> {
      const mark = relay.wire.length;
      await exabgp.command(`announce route ${prefix} next-hop ${EXA} ${genericArg(generic)}`);
      const sent = await relay.next(mark, 'exabgp', MessageType.Update, ROUTE_TIMEOUT, announces(prefix));
      expect(sent.bytes.toString('hex')).toBe(exabgpUpdate(prefix, generic).toString('hex'));
      return sent;
    }

    it.each(WITHDRAW_ROWS)('%s: the route is treated as withdrawn and the session stays up', async (_name, generic) => {
      await until(() => stateOf(EXA) === 'Established', SESSION_TIMEOUT, 'the ExaBGP session');
      const prefix = nextPrefix();
      const [since, downs, mark] = [status(EXA)?.since, exabgp.downs(EXA), relay.wire.length];
      await exabgp.command(`announce route ${prefix} next-hop ${EXA}`);
      try {
        await until(() => routeAt(prefix) !== undefined, ROUTE_TIMEOUT, `${prefix} to arrive`);
        expect(routeAt(prefix)?.attributes).toEqual(PLAIN);
        await announceMalformed(prefix, generic);
        await until(() => routeAt(prefix) === undefined, ROUTE_TIMEOUT, `${prefix} to be treated as withdrawn`);
      } finally {
        await exabgp.command(`withdraw route ${prefix} next-hop ${EXA}`);
      }
      expect(relay.since(mark, 'kbgp', MessageType.Notification)).toEqual([]);
      expect(stateOf(EXA)).toBe('Established');
      expect(status(EXA)?.since).toBe(since);
      expect(exabgp.downs(EXA)).toBe(downs);
      expectHealthyUntouched();
    });

    it.each(ACCEPT_ROWS)('%s; the route stands', async (_name, generic, expected) => {
      await until(() => stateOf(EXA) === 'Established', SESSION_TIMEOUT, 'the ExaBGP session');
      const prefix = nextPrefix();
      const [since, mark] = [status(EXA)?.since, relay.wire.length];
      try {
        await announceMalformed(prefix, generic);
        await until(() => routeAt(prefix) !== undefined, ROUTE_TIMEOUT, `${prefix} to arrive`);
        expect(routeAt(prefix)?.attributes).toEqual(expected);
      } finally {
        await exabgp.command(`withdraw route ${prefix} next-hop ${EXA}`);
      }
      await until(() => routeAt(prefix) === undefined, ROUTE_TIMEOUT, `${prefix} to be withdrawn`);
      expect(relay.since(mark, 'kbgp', MessageType.Notification)).toEqual([]);
      expect(status(EXA)?.since).toBe(since);
      expectHealthyUntouched();
    });

    it.each(RESET_ROWS)('%s: NOTIFICATION %j, and the session comes back', async (_name, [code, subcode, data], generic) => {
      await until(() => stateOf(EXA) === 'Established', SESSION_TIMEOUT, 'the ExaBGP session');
      const prefix = nextPrefix();
      const since = status(EXA)?.since ?? -1;
      const notesBefore = exabgp.notificationsReceived(EXA).length;
      const mark = relay.wire.length;
      try {
        const sent = await announceMalformed(prefix, generic);
        // The wire: kbgp's NOTIFICATION, byte for byte, on the connection that carried the UPDATE.
        const notification = await relay.next(mark, 'kbgp', MessageType.Notification);
        expect(notification.connection).toBe(sent.connection);
        expect(notification.bytes.toString('hex')).toBe(message(3, [code, subcode, ...Buffer.from(data, 'hex')]).toString('hex'));
        // kbgp's own account, read before its next connection attempt (0.5 s at the earliest).
        expect(status(EXA)?.lastDown).toEqual({
          kind: 'notification-sent',
          notification: { type: MessageType.Notification, code, subcode, data: Buffer.from(data, 'hex') },
          why: expect.any(String),
        });
        // ExaBGP's reading of what it received.
        const received = await waitFor(
          async () => exabgp.notificationsReceived(EXA)[notesBefore],
          ROUTE_TIMEOUT,
          () => `ExaBGP to report the NOTIFICATION\n${exabgp.logTail()}`,
          10,
        );
        expect(received).toEqual({ code, subcode, data });
        expectHealthyUntouched();
      } finally {
        // Taken back at ExaBGP, the route is not sent again when the session comes back.
        await exabgp.command(`withdraw route ${prefix} next-hop ${EXA}`);
      }
      await until(() => stateOf(EXA) === 'Established' && (status(EXA)?.since ?? -1) > since, SESSION_TIMEOUT, `the ExaBGP session back\n${exabgp.logTail()}`);
      // Had kbgp reconnected before ExaBGP took the withdraw, the UPDATE would have gone out again
      // and been answered the same way: every NOTIFICATION of this case is the one expected.
      const all = exabgp.notificationsReceived(EXA).slice(notesBefore);
      expect(all).toEqual(all.map(() => ({ code, subcode, data })));
      expect(relay.since(mark, 'exabgp', MessageType.Notification)).toEqual([]);
      expectHealthyUntouched();
    });
  });

  describe('the raw peer sends what ExaBGP cannot', () => {
    let raw: RawPeer | undefined;
    const RAW_ORIGIN = attr(0x40, 1, [0]);
    const RAW_NEXT_HOP = attr(0x40, 3, ip4(RAW));
    const RAW_MANDATORY = [...RAW_ORIGIN, ...attr(0x40, 2, [2, 1, ...u32(RAW_AS)]), ...RAW_NEXT_HOP];
    const MP_REACH_RAW = attr(0x80, 14, [...Buffer.from(MP_REACH_V4, 'hex')]);
    const rawRoute = (n: number) => kbgp.received(RAW).find((r) => formatPrefix(r.prefix) === `10.8.${n}.0/24`);

    /** A fresh raw session, once kbgp's passive session waits for one again. */
    async function rawEstablished(): Promise<RawPeer> {
      raw?.close();
      await until(() => stateOf(RAW) === 'Active', SESSION_TIMEOUT, 'kbgp waiting for the raw peer');
      const p = await RawPeer.connect(KBGP, KBGP_PORT, RAW);
      rawPeers.push(p);
      p.open(RAW_AS, RAW, 30);
      await until(() => stateOf(RAW) === 'Established', SESSION_TIMEOUT, 'the raw session Established');
      raw = p;
      return p;
    }

    /** ExaBGP's session is one more bystander here. */
    function expectBystandersUntouched(exaSince: number | undefined, exaDowns: number): void {
      expectHealthyUntouched();
      expect(stateOf(EXA)).toBe('Established');
      expect(status(EXA)?.since).toBe(exaSince);
      expect(exabgp.downs(EXA)).toBe(exaDowns);
    }

    it('the same attribute twice: the first COMMUNITIES is kept, the second dropped (RFC 7606 §3(g))', async () => {
      const p = raw ?? (await rawEstablished());
      const [exaSince, exaDowns] = [status(EXA)?.since, exabgp.downs(EXA)];
      p.send(update({ attrs: [...RAW_MANDATORY, ...attr(0xc0, 8, u32(0xfdea0001)), ...attr(0xc0, 8, u32(0xfdea0002))], nlri: [24, 10, 8, 1] }));
      await until(() => rawRoute(1) !== undefined, ROUTE_TIMEOUT, 'the route');
      expect(rawRoute(1)?.attributes.communities).toEqual([0xfdea0001]);
      expect(stateOf(RAW)).toBe('Established');
      expectBystandersUntouched(exaSince, exaDowns);
    });

    it.each([
      ['an attribute length that overruns the path attributes (RFC 7606 §4)', 2, [...RAW_MANDATORY, ...attr(0xc0, 8, u32(1), 8)]],
      ['no AS_PATH (RFC 7606 §3(d))', 3, [...RAW_ORIGIN, ...RAW_NEXT_HOP]],
    ] as const)('%s: a route announced before is treated as withdrawn', async (_name, n, attrs) => {
      const p = raw ?? (await rawEstablished());
      const [exaSince, exaDowns, since] = [status(EXA)?.since, exabgp.downs(EXA), status(RAW)?.since];
      p.send(update({ attrs: RAW_MANDATORY, nlri: [24, 10, 8, n] }));
      await until(() => rawRoute(n) !== undefined, ROUTE_TIMEOUT, 'the route');
      p.send(update({ attrs: [...attrs], nlri: [24, 10, 8, n] }));
      await until(() => rawRoute(n) === undefined, ROUTE_TIMEOUT, 'the route treated as withdrawn');
      expect(stateOf(RAW)).toBe('Established');
      expect(status(RAW)?.since).toBe(since);
      expect(p.received.filter(isType(MessageType.Notification))).toEqual([]);
      expectBystandersUntouched(exaSince, exaDowns);
    });

    it.each([
      ['MP_REACH_NLRI twice (RFC 7606 §3(g))', [3, 1, ''], 'established', update({ attrs: [...MP_REACH_RAW, ...MP_REACH_RAW, ...RAW_MANDATORY] })],
      ['an OPEN with hold time 2 (RFC 4271 §6.2)', [2, 6, ''], 'connected', open({ holdTime: 2, myAs: RAW_AS, id: RAW, params: capabilities([65, ...u32(RAW_AS)]) })],
      ['an OPEN with version 3 (RFC 4271 §6.2)', [2, 1, '0004'], 'connected', open({ version: 3, myAs: RAW_AS, id: RAW })],
    ] as const)('%s: NOTIFICATION %j', async (_name, [code, subcode, data], when, bytes) => {
      const [exaSince, exaDowns] = [status(EXA)?.since, exabgp.downs(EXA)];
      let p: RawPeer;
      if (when === 'established') {
        p = raw ?? (await rawEstablished());
      } else {
        raw?.close();
        raw = undefined;
        await until(() => stateOf(RAW) === 'Active', SESSION_TIMEOUT, 'kbgp waiting for the raw peer');
        p = await RawPeer.connect(KBGP, KBGP_PORT, RAW);
        rawPeers.push(p);
      }
      p.send(bytes);
      const n = await p.waitFor(isType(MessageType.Notification));
      expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([code, subcode, data]);
      await p.waitClosed();
      raw = undefined;
      expect(status(RAW)?.lastDown).toEqual({
        kind: 'notification-sent',
        notification: { type: MessageType.Notification, code, subcode, data: Buffer.from(data, 'hex') },
        why: expect.any(String),
      });
      expectBystandersUntouched(exaSince, exaDowns);
    });
  });

  describe('ExaBGP sends OPENs kbgp must refuse', () => {
    let openExabgp: Exabgp;
    const openRelays = new Map<string, RecordingRelay>();

    beforeAll(async () => {
      for (const n of [BAD_AS, BAD_ID]) {
        const r = await RecordingRelay.start({ host: n.address, port: n.relayPort }, { host: n.address, port: n.relayPort + 1, localAddress: KBGP });
        relays.push(r);
        openRelays.set(n.address, r);
      }
      openExabgp = await Exabgp.start([
        { address: BAD_AS.address, asn: BAD_AS.sentAs, listenPort: BAD_AS.relayPort + 1 },
        { address: BAD_ID.address, routerId: '0.0.0.0', asn: BAD_ID.expectedAs, listenPort: BAD_ID.relayPort + 1 },
      ]);
      exabgps.push(openExabgp);
    });

    it.each([
      ['a peer AS other than configured (RFC 4271 §6.2)', [2, 2, BAD_AS.sentAs.toString(16)], BAD_AS.address, [4, ...u16(BAD_AS.sentAs), 0, 30, ...ip4(BAD_AS.address)]],
      ['BGP Identifier 0.0.0.0 (RFC 6286 §2.2)', [2, 3, ''], BAD_ID.address, [4, ...u16(BAD_ID.expectedAs), 0, 30, 0, 0, 0, 0]],
    ] as const)('%s: NOTIFICATION %j', async (_name, [code, subcode, data], address, openStart) => {
      const [exaSince, exaDowns] = [status(EXA)?.since, exabgp.downs(EXA)];
      const r = openRelays.get(address);
      if (r === undefined) throw new Error(`no relay for ${address}`);
      const sentOpen = await r.next(0, 'exabgp', MessageType.Open, SESSION_TIMEOUT);
      // Version, My AS, Hold Time, BGP Identifier, as ExaBGP put them on the wire.
      expect(sentOpen.bytes.subarray(19, 28).toString('hex')).toBe(Buffer.from(openStart).toString('hex'));
      const n = await r.next(0, 'kbgp', MessageType.Notification, SESSION_TIMEOUT);
      expect(n.connection).toBe(sentOpen.connection);
      expect(n.bytes.toString('hex')).toBe(message(3, [code, subcode, ...Buffer.from(data, 'hex')]).toString('hex'));
      const received = await waitFor(
        async () => openExabgp.notificationsReceived(address)[0],
        ROUTE_TIMEOUT,
        () => `ExaBGP to report the NOTIFICATION\n${openExabgp.logTail()}`,
        10,
      );
      expect(received).toEqual({ code, subcode, data });
      await until(() => status(address)?.lastDown?.kind === 'notification-sent', ROUTE_TIMEOUT, 'kbgp to record the NOTIFICATION');
      expect(status(address)?.lastDown).toEqual({
        kind: 'notification-sent',
        notification: { type: MessageType.Notification, code, subcode, data: Buffer.from(data, 'hex') },
        why: expect.any(String),
      });
      // No session ever came up with either neighbor, and nothing else moved.
      expect(r.since(0, 'kbgp', MessageType.Keepalive)).toEqual([]);
      expect(openExabgp.notificationsReceived(address).every((x) => x.code === code && x.subcode === subcode && x.data === data)).toBe(true);
      expect(stateOf(EXA)).toBe('Established');
      expect(status(EXA)?.since).toBe(exaSince);
      expect(exabgp.downs(EXA)).toBe(exaDowns);
      expectHealthyUntouched();
    });
  });
});
