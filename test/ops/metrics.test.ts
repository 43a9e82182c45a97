/**
 * /metrics, /healthz and /readyz of a running kbgp, scraped after a scripted session flap: the
 * numbers a dashboard would show are the ones the peer caused.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MessageType } from '../../src/bgp/index.js';
import { removeKbgpLogs, startKbgp, stopAllKbgp } from '../helpers/kbgp.js';
import { RawPeer, isType, until } from '../helpers/raw-peer.js';
import { MANDATORY_4, update } from '../helpers/bytes.js';

const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await stopAllKbgp();
});
afterAll(removeKbgpLogs);

const K = '127.0.14.1';
const PEER = '127.0.14.2';
const PORT = 11901;
const METRICS = 11951;

async function scrape(path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://${K}:${METRICS}${path}`);
  return { status: r.status, text: await r.text() };
}

/** The value of one sample line, by metric name and exact label set text. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function connect(): Promise<RawPeer> {
  const p = await RawPeer.connect(K, PORT, PEER);
  peers.push(p);
  p.open(65014, PEER);
  await p.waitFor(isType(MessageType.Open));
  return p;
}

describe('metrics and health endpoints', () => {
  it('count what a flapping peer did, by type, code and family; health stays up, readiness follows the source', { timeout: 20_000 }, async () => {
    const k = await startKbgp({
      name: 'metrics',
      address: K,
      port: PORT,
      asn: 64512,
      routerId: K,
      ipv4Address: K,
      metricsAddress: `${K}:${METRICS}`,
      bgpConfiguration: { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] },
      peers: [{ address: PEER, port: 179, asn: 65014, passive: true }],
    });
    const first = await connect();
    await until(() => k.status().state === 'Established', 5000, 'Established');
    first.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 14, 1, 24, 10, 14, 2, 32, 10, 96, 0, 1] }));
    await until(() => k.daemon.received(PEER).length === 3, 3000, 'three routes');
    // The flap: the peer goes with a NOTIFICATION, then comes back.
    first.send({ type: MessageType.Notification, code: 6, subcode: 4, data: Buffer.alloc(0) });
    await until(() => k.status().state !== 'Established', 3000, 'down');
    await until(() => k.status().state === 'Active', 5000, 'accepting again');
    const second = await connect();
    await until(() => k.status().state === 'Established', 5000, 'Established again');
    second.send(update({ attrs: [...MANDATORY_4], nlri: [24, 10, 14, 1] }));
    await until(() => k.daemon.received(PEER).length === 1, 3000, 'the route again');

    const m = (await scrape('/metrics')).text;
    const peer = `peer="${PEER}"`;
    expect(sample(m, 'kbgp_bgp_session_up', `${peer},peer_as="65014",peer_type="global"`)).toBe(1);
    expect(sample(m, 'kbgp_bgp_session_state', `${peer},state="Established"`)).toBe(1);
    expect(sample(m, 'kbgp_bgp_session_state', `${peer},state="Idle"`)).toBe(0);
    expect(sample(m, 'kbgp_bgp_session_established_total', peer)).toBe(2);
    expect(sample(m, 'kbgp_bgp_messages_received_total', `${peer},type="open"`)).toBe(2);
    expect(sample(m, 'kbgp_bgp_messages_received_total', `${peer},type="update"`)).toBe(2);
    expect(sample(m, 'kbgp_bgp_messages_received_total', `${peer},type="notification"`)).toBe(1);
    expect(sample(m, 'kbgp_bgp_messages_sent_total', `${peer},type="open"`)).toBe(2);
    expect(sample(m, 'kbgp_bgp_notifications_received_total', `${peer},code="6",subcode="4"`)).toBe(1);
    expect(sample(m, 'kbgp_bgp_prefixes_received', `${peer},afi="ipv4"`)).toBe(1);
    expect(sample(m, 'kbgp_bgp_prefixes_accepted', `${peer},afi="ipv4"`)).toBe(1);
    // What it holds from us: the service range.
    expect(sample(m, 'kbgp_bgp_prefixes_advertised', `${peer},afi="ipv4"`)).toBe(1);
    expect(sample(m, 'kbgp_rib_routes', 'table="loc-rib",afi="ipv4"')).toBe(2);
    expect(sample(m, 'kbgp_service_prefixes', 'kind="clusterIP",reason="service-cidr"')).toBe(1);
    // prom-client's process metrics, in kbgp's namespace once.
    expect(m).toMatch(/^kbgp_process_cpu_seconds_total \d/m);
    expect(m).toMatch(/^kbgp_nodejs_heap_size_used_bytes \d/m);
    expect(m).not.toContain('kbgp_process_process_');
    // Before the flap, the /32 inside the service range was refused: not accepted, and counted nowhere now.
    expect(m).not.toMatch(/prefix="/);
    expect(await scrape('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    const ready = await scrape('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('listening');
    expect((await scrape('/nope')).status).toBe(404);
  });
});
