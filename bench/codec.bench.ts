/**
 * Codec throughput: full UPDATEs (4096 octets, as packed by the Adj-RIB-Out path) of IPv4 /24s,
 * IPv4 /32s and IPv6 /64s (MP_REACH_NLRI), with and without ADD-PATH path identifiers.
 * Encode = packAnnouncements over the whole table; decode = decodeMessage of every message
 * (and, on one row, the Framer cutting a 64 KiB-chunked stream first).
 *
 * Prints figures; asserts nothing. Bounded: a fixed number of rounds over a fixed table.
 *   npm run bench            (or: node dist-bench/bench/codec.bench.js [prefixes] [rounds])
 */
import {
  Afi,
  DEFAULT_CONTEXT,
  Framer,
  IPV4_UNICAST,
  IPV6_UNICAST,
  type MessageContext,
  type PathAttributes,
  type Prefix,
  Safi,
  decodeMessage,
  ipv4Prefix,
  ipv6Prefix,
  packAnnouncements,
} from '../src/bgp/index.js';

const PREFIXES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 5);

const attributes: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [64512, 4200000001, 65010] }],
  nextHop: '192.0.2.1',
  localPref: 100,
  communities: [0xfde80064, 0xffff0000],
  largeCommunities: [{ globalAdmin: 4200000001, localData1: 1, localData2: 2 }],
};

function v4Table(length: number, n: number): Prefix[] {
  const out: Prefix[] = [];
  const step = 2 ** (32 - length);
  for (let i = 0; i < n; i++) out.push(ipv4Prefix(((0x0a000000 + i * step) >>> 0) % 2 ** 32, length, i + 1));
  return out;
}

function v6Table(n: number): Prefix[] {
  const out: Prefix[] = [];
  const a = new Uint8Array(16);
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  for (let i = 0; i < n; i++) {
    a[4] = (i >>> 24) & 0xff;
    a[5] = (i >>> 16) & 0xff;
    a[6] = (i >>> 8) & 0xff;
    a[7] = i & 0xff;
    out.push(ipv6Prefix(a, 64, i + 1));
  }
  return out;
}

interface Case {
  readonly name: string;
  readonly afi: Afi;
  readonly prefixes: Prefix[];
  readonly ctx: MessageContext;
  readonly mp?: { nextHop: string; linkLocalNextHop?: string };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function best(values: number[]): number {
  return Math.min(...values);
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`;
}

function run(c: Case): void {
  const encodeTimes: number[] = [];
  const decodeTimes: number[] = [];
  let messages: Buffer[] = [];
  let decoded = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    let t = process.hrtime.bigint();
    messages = packAnnouncements(c.afi, Safi.Unicast, attributes, c.prefixes, c.ctx, c.mp);
    const enc = seconds(t);
    t = process.hrtime.bigint();
    decoded = 0;
    for (const m of messages) {
      const u = decodeMessage(m, c.ctx);
      if (u.type === 2) decoded += u.nlri.length + (u.mpReach?.nlri.length ?? 0);
    }
    const dec = seconds(t);
    if (round > 0) {
      // round 0 warms the JIT up
      encodeTimes.push(enc);
      decodeTimes.push(dec);
    }
  }
  if (decoded !== c.prefixes.length) throw new Error(`${c.name}: decoded ${decoded} of ${c.prefixes.length} prefixes`);
  const bytes = messages.reduce((s, m) => s + m.length, 0);
  const enc = best(encodeTimes);
  const dec = best(decodeTimes);
  console.log(
    [
      c.name.padEnd(26),
      String(messages.length).padStart(7),
      (bytes / messages.length).toFixed(0).padStart(6),
      `${fmt(c.prefixes.length / dec)}/s`.padStart(12),
      `${(bytes / dec / 2 ** 20).toFixed(0)} MB/s`.padStart(10),
      `${fmt(c.prefixes.length / enc)}/s`.padStart(12),
      `${(bytes / enc / 2 ** 20).toFixed(0)} MB/s`.padStart(10),
    ].join(' '),
  );
}

function runFramed(c: Case): void {
  const messages = packAnnouncements(c.afi, Safi.Unicast, attributes, c.prefixes, c.ctx, c.mp);
  const stream = Buffer.concat(messages);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
  const times: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const t = process.hrtime.bigint();
    const framer = new Framer();
    let decoded = 0;
    for (const chunk of chunks) {
      for (const m of framer.push(chunk)) {
        const u = decodeMessage(m, c.ctx);
        if (u.type === 2) decoded += u.nlri.length;
      }
    }
    if (decoded !== c.prefixes.length) throw new Error(`framed: decoded ${decoded} of ${c.prefixes.length}`);
    if (round > 0) times.push(seconds(t));
  }
  const dec = best(times);
  console.log(
    [`${c.name} via Framer`.padEnd(26), String(messages.length).padStart(7), ''.padStart(6), `${fmt(c.prefixes.length / dec)}/s`.padStart(12), `${(stream.length / dec / 2 ** 20).toFixed(0)} MB/s`.padStart(10)].join(' '),
  );
}

const plain: MessageContext = DEFAULT_CONTEXT;
const addPath: MessageContext = { ...DEFAULT_CONTEXT, addPath: new Set([IPV4_UNICAST, IPV6_UNICAST]) };
const v6nh = { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' };
const strip = (ps: Prefix[]): Prefix[] => ps.map((p) => (p.afi === Afi.Ipv4 ? ipv4Prefix(p.address, p.length) : ipv6Prefix(p.address, p.length)));

const v24 = v4Table(24, PREFIXES);
const v32 = v4Table(32, PREFIXES);
const v64 = v6Table(PREFIXES);
const cases: Case[] = [
  { name: 'IPv4 /24', afi: Afi.Ipv4, prefixes: strip(v24), ctx: plain },
  { name: 'IPv4 /24 ADD-PATH', afi: Afi.Ipv4, prefixes: v24, ctx: addPath },
  { name: 'IPv4 /32', afi: Afi.Ipv4, prefixes: strip(v32), ctx: plain },
  { name: 'IPv4 /32 ADD-PATH', afi: Afi.Ipv4, prefixes: v32, ctx: addPath },
  { name: 'IPv6 /64 MP_REACH', afi: Afi.Ipv6, prefixes: strip(v64), ctx: plain, mp: v6nh },
  { name: 'IPv6 /64 MP_REACH ADD-PATH', afi: Afi.Ipv6, prefixes: v64, ctx: addPath, mp: v6nh },
];

console.log(`kbgp codec benchmark: ${PREFIXES} prefixes per case, best of ${ROUNDS} rounds, node ${process.version}`);
console.log(
  ['case'.padEnd(26), 'msgs'.padStart(7), 'octets'.padStart(6), 'decode'.padStart(12), ''.padStart(10), 'encode'.padStart(12), ''.padStart(10)].join(' '),
);
for (const c of cases) run(c);
runFramed(cases[0] as Case);
