/**
 * A large table must wait in kbgp, not in front of the next KEEPALIVE: kbgp writes UPDATEs only
 * while the socket takes them without queueing, so what sits in user space stays small however
 * slowly the peer reads, and a peer receiving a million routes keeps its session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MessageType, ipv4Prefix } from '../../src/bgp/index.js';
import { loadConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon.js';
import { RawPeer, until } from '../helpers/raw-peer.js';

const running: Daemon[] = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await Promise.all(running.splice(0).map((d) => d.stop('test over')));
});

const CONFIG = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, listenPort: 11184}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: slow}
spec: {peerIP: 127.0.2.21, asNumber: 65001}
---
apiVersion: kbgp.io/v1alpha1
kind: KbgpConfiguration
metadata: {name: k}
spec:
  nodeName: k
  routerId: 127.0.2.20
  listenAddress: 127.0.2.20
  peerSettings: [{peer: slow, passive: true}]
`;

const MILLION = 1_000_000;

describe('backpressure', () => {
  it('keeps what waits in user space small while a slow peer takes a million routes, and the peer keeps hearing from it, KEEPALIVEs at their pace', async () => {
    const d = new Daemon(loadConfig(CONFIG, 'k'), { logger: pino({ level: 'silent' }) });
    running.push(d);
    await d.start();
    const routes = Array.from({ length: MILLION }, (_, i) => ({ prefix: ipv4Prefix(0x0a000000 + i * 256, 24), communities: [], largeCommunities: [] }));
    d.setOriginated(routes);

    const p = await RawPeer.connect('127.0.2.20', 11184, '127.0.2.21');
    peers.push(p);
    const keepaliveAt: number[] = [];
    const messageAt: number[] = [];
    let updates = 0;
    p.socket.on('data', () => {
      // RawPeer decodes into p.received; count and timestamp here, then forget, to keep memory flat.
      const now = Date.now();
      for (const m of p.received.splice(0)) {
        messageAt.push(now);
        if (m.type === MessageType.Keepalive) keepaliveAt.push(now);
        else if (m.type === MessageType.Update) updates += m.nlri.length;
      }
    });
    // Hold time 3 s: kbgp must send a KEEPALIVE every second or so throughout.
    p.open(65001, '127.0.2.21', 3);
    const keepalive = setInterval(() => p.send({ type: MessageType.Keepalive }), 800);
    // A slow reader: after every chunk read (at most 64 KiB), 60 ms without reading. The table is
    // about 4 MB, so the transfer lasts seconds however fast kbgp produces it.
    const timers = new Set<NodeJS.Timeout>();
    let firstUpdateAt = 0;
    let lastUpdateAt = 0;
    p.socket.on('data', () => {
      if (updates > 0) {
        firstUpdateAt ||= Date.now();
        lastUpdateAt = Date.now();
      }
      p.socket.pause();
      const t = setTimeout(() => {
        timers.delete(t);
        p.socket.resume();
      }, 60);
      timers.add(t);
    });
    let maxQueued = 0;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, d.session('127.0.2.21')?.queuedBytes ?? 0);
    }, 5);
    try {
      await until(() => updates === MILLION, 60_000, 'a million routes');
    } finally {
      clearInterval(keepalive);
      clearInterval(sampler);
      for (const t of timers) clearTimeout(t);
    }
    // Writing stops once the queue reaches Node's 16 KiB high-water mark, so at most: just under
    // it, plus the UPDATE that crossed it (4096 octets at most), plus a KEEPALIVE timed in between.
    expect(maxQueued).toBeLessThanOrEqual(16 * 1024 - 1 + 4096 + 19);
    expect(d.status()[0]?.state).toBe('Established');
    // The premise: the table took several keepalive intervals to go through.
    const transfer = lastUpdateAt - firstUpdateAt;
    expect(transfer).toBeGreaterThan(2500);
    // TCP delivers a KEEPALIVE only after the UPDATEs queued before it (megabytes, in the kernel's
    // buffers on loopback), so it can arrive late; but the peer's hold timer (3 s) is reset by
    // every message (RFC 4271 §6.5), and the peer never waits anywhere near that long.
    const gaps = messageAt.slice(1).map((t, i) => t - (messageAt[i] as number));
    expect(Math.max(...gaps)).toBeLessThan(1000);
    // And the KEEPALIVEs were not starved: sent at the negotiated 1 s (0.75..1 s with jitter) all along.
    await new Promise((r) => setTimeout(r, 1500));
    const during = keepaliveAt.filter((t) => t >= firstUpdateAt).length;
    expect(during).toBeGreaterThanOrEqual(Math.floor(transfer / 1000));
  }, 90_000);
});
