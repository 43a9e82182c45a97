import { AsPathSegmentType, type UpdateMessage, ipv4Prefix, packAnnouncements, packWithdrawals, decodeMessage } from '../src/bgp/index.js';
import { Rib } from '../src/rib/rib.js';
const N = Number(process.argv[2] ?? 1_000_000);
const ctx = { fourOctetAs: true, maxMessageLength: 4096 };
const prefixes = Array.from({ length: N }, (_, i) => ipv4Prefix(((10 << 24) + i * 256) >>> 0 , 24));
const attrs = { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }], nextHop: '192.0.2.1' } as const;
const wire = packAnnouncements(1, 1, attrs, prefixes, ctx);
const wwire = packWithdrawals(1, 1, prefixes, ctx);
const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', maxPaths: 16 });
rib.peerUp({ address: '192.0.2.1', asn: 65001, bgpIdentifier: '192.0.2.1', ebgp: true, routeReflectorClient: false });
const m = {};
rib.join(m, '192.0.2.2', { localAs: 64512, ebgp: true, routeReflectorClient: false, nextHopMode: 'Auto', selfV4: '10.0.0.1' }, { ctx, families: new Set([0x101]), addPathSend: new Set() });
while (rib.next(m) !== undefined);
const rss0 = process.memoryUsage().rss;
let t = performance.now();
let bytes = 0;
for (const b of wire) { const u = decodeMessage(b, ctx) as UpdateMessage; rib.apply('192.0.2.1', u); }
const tApply = performance.now() - t;
t = performance.now();
let out = 0;
for (let b = rib.next(m); b !== undefined; b = rib.next(m)) { out++; bytes += b.length; }
const tOut = performance.now() - t;
global.gc?.();
const mu = process.memoryUsage();
console.log(`N=${N} decode+apply ${tApply.toFixed(0)} ms (${(N / tApply * 1000 / 1e6).toFixed(2)} M/s), drain+encode ${tOut.toFixed(0)} ms, ${out} msgs ${bytes} B, rss ${(mu.rss/1e6).toFixed(0)} MB (+${((mu.rss-rss0)/1e6).toFixed(0)}), heap ${(mu.heapUsed/1e6).toFixed(0)} MB`);
t = performance.now();
for (const b of wwire) { const u = decodeMessage(b, ctx) as UpdateMessage; rib.apply('192.0.2.1', u); }
const tw = performance.now() - t;
t = performance.now();
out = 0;
for (let b = rib.next(m); b !== undefined; b = rib.next(m)) out++;
const td = performance.now() - t;
t = performance.now();
const pruned = rib.prune();
console.log(`withdraw apply ${tw.toFixed(0)} ms, drain ${td.toFixed(0)} ms, ${out} msgs; prune ${pruned} in ${(performance.now() - t).toFixed(0)} ms, size now ${rib.size}`);
