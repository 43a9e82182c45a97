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
  it('keeps what waits in user space small while a slow peer takes a million routes, and the peer keeps getting KEEPALIVEs', async () => {
    const d = new Daemon(loadConfig(CONFIG, 'k'), { logger: pino({ level: 'silent' }) });
    running.push(d);
    await d.start();
    const routes = Array.from({ length: MILLION }, (_, i) => ({ prefix: ipv4Prefix(0x0a000000 + i * 256, 24), communities: [], largeCommunities: [] }));
    d.setOriginated(routes);

    const p = await RawPeer.connect('127.0.2.20', 11184, '127.0.2.21');
    peers.push(p);
    const keepaliveAt: number[] = [];
    let updates = 0;
    p.socket.on('data', () => {
      // RawPeer decodes into p.received; count and timestamp here, then forget, to keep memory flat.
      for (const m of p.received.splice(0)) {
        if (m.type === MessageType.Keepalive) keepaliveAt.push(Date.now());
        else if (m.type === MessageType.Update) updates += m.nlri.length;
      }
    });
    // Hold time 3 s: kbgp must send a KEEPALIVE every second or so throughout.
    p.open(65001, '127.0.2.21', 3);
    const keepalive = setInterval(() => p.send({ type: MessageType.Keepalive }), 800);
    // Read in bursts: 30 ms of reading in every 100 ms, so the peer is slower than kbgp can write.
    const throttle = setInterval(() => {
      p.socket.pause();
      setTimeout(() => p.socket.resume(), 70);
    }, 100);
    let maxQueued = 0;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, d.session('127.0.2.21')?.queuedBytes ?? 0);
    }, 5);
    try {
      await until(() => updates === MILLION, 60_000, 'a million routes');
    } finally {
      clearInterval(keepalive);
      clearInterval(throttle);
      clearInterval(sampler);
    }
    // Writing stops once the queue reaches Node's 16 KiB high-water mark, so at most: just under
    // it, plus the UPDATE that crossed it (4096 octets at most), plus a KEEPALIVE timed in between.
    expect(maxQueued).toBeLessThanOrEqual(16 * 1024 - 1 + 4096 + 19);
    expect(d.status()[0]?.state).toBe('Established');
    const gaps = keepaliveAt.slice(1).map((t, i) => t - (keepaliveAt[i] as number));
    expect(keepaliveAt.length).toBeGreaterThan(1);
    // Negotiated keepalive is 1 s (jittered 0.75..1 s); allow for the peer's own reading pauses.
    expect(Math.max(...gaps)).toBeLessThan(2000);
  }, 90_000);
});
