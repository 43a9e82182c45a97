import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon.js';
import { startBird, startFrr, startGobgp, stopAllRouters, waitFor } from '../helpers/routers.js';

const dir = mkdtempSync(join(tmpdir(), 'kbgp-sessions-'));
afterEach(stopAllRouters);

function yaml(o: { addr: string; port: number; asn: number; peer: string; peerPort: number; peerAs: number }): string {
  return [
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: o.asn, listenPort: o.port } },
    { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { ipv4Address: `${o.addr}/32` } } },
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'r' }, spec: { peerIP: `${o.peer}:${o.peerPort}`, asNumber: o.peerAs } },
    { apiVersion: 'kbgp.io/v1alpha1', kind: 'KbgpConfiguration', metadata: { name: 'n' }, spec: { nodeName: 'n', routerId: o.addr, listenAddress: o.addr, timers: { connectDelay: '0.1s', connectRetryTime: '1s', errorWaitMin: '0.5s', errorWaitMax: '1s' } } },
  ].map((d) => JSON.stringify(d)).join('\n---\n');
}

it.each([['bird', 0], ['frr', 1], ['gobgp', 2]] as const)('explore %s', { timeout: 60000 }, async (kind, i) => {
  const starts = { bird: startBird, frr: startFrr, gobgp: startGobgp };
  for (const wrong of ['kbgp', 'router'] as const) {
    const k = `127.0.6.${100 + i * 4 + (wrong === 'kbgp' ? 0 : 2)}`;
    const r = `127.0.6.${101 + i * 4 + (wrong === 'kbgp' ? 0 : 2)}`;
    const port = 11220 + i * 2 + (wrong === 'kbgp' ? 0 : 1);
    const logFile = join(dir, `${kind}-${wrong}.log`);
    const d = new Daemon(loadConfig(yaml({ addr: k, port, asn: wrong === 'kbgp' ? 4200000099 : 4200000006, peer: r, peerPort: 179, peerAs: 4200000061 }), 'n'), { logger: pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true })) });
    await d.start();
    const h = await starts[kind]({ routerId: r, asn: wrong === 'router' ? 4200000098 : 4200000061, address: r, peers: [{ address: k, port, asn: 4200000006 }] });
    await waitFor(async () => d.status()[0]?.lastDown, 10000, () => 'down');
    await new Promise((res) => setTimeout(res, 3000));
    console.log(kind, wrong, JSON.stringify(d.status()[0]?.lastDown));
    if (kind === 'bird') console.log(await (h as Awaited<ReturnType<typeof startBird>>).birdc('show', 'protocols', 'all'));
    if (kind === 'frr') console.log(await (h as Awaited<ReturnType<typeof startFrr>>).vtysh(`show bgp neighbors ${k} json`));
    if (kind === 'gobgp') console.log(await (h as Awaited<ReturnType<typeof startGobgp>>).gobgp('neighbor', k));
    console.log(h.logTail(40));
    console.log(readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n'));
    await d.stop();
    await h.stop();
  }
});
