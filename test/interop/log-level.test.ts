/**
 * logSeverityScreen, live: the real `kbgp run -f FILE` (no --log-level) starts at the file's level,
 * follows a reloaded level at once (every logger, the per-peer ones included), and a --log-level
 * flag stays in force whatever the file says. The debug lines are the session's FSM transitions,
 * made to happen by a raw BGP peer connecting. Addresses 127.0.17.10 (kbgp) and 127.0.17.11.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/control-client.js';
import { defaultControlSocket } from '../../src/ops/socket-path.js';
import type { StatusView } from '../../src/ops/views.js';
import { type KbgpSpec, kbgpYaml } from '../helpers/kbgp.js';
import { type KbgpProcess, removeKbgpProcessLogs, startKbgpProcess, stopAllKbgpProcesses } from '../helpers/kbgp-process.js';
import { RawPeer, isType } from '../helpers/raw-peer.js';
import { MessageType } from '../../src/bgp/index.js';
import { waitFor } from '../helpers/routers.js';

const K = '127.0.17.10';
const PEER = '127.0.17.11';
const PORT = 12201;
const NODE = 'log-level-node';
const DEBUG = 20;

const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await stopAllKbgpProcesses();
});
afterAll(removeKbgpProcessLogs);

function spec(name: string, logSeverityScreen: string): KbgpSpec {
  return { name, nodeName: NODE, address: K, port: PORT, asn: 64512, routerId: K, bgpConfiguration: { logSeverityScreen }, peers: [{ address: PEER, port: 179, asn: 65001, passive: true }] };
}

/** This process's lines (the log file keeps earlier lives of the same spec). */
const linesOf = (k: KbgpProcess): ReturnType<KbgpProcess['log']> => k.log().filter((l) => l.pid === k.pid);
const debugLines = (k: KbgpProcess): number => linesOf(k).filter((l) => l.level === DEBUG).length;
const established = (k: KbgpProcess): number => linesOf(k).filter((l) => l.msg === 'session established').length;
const downs = (k: KbgpProcess): number => linesOf(k).filter((l) => l.msg.startsWith('session down')).length;
const levelChanges = (k: KbgpProcess): unknown[][] => linesOf(k).filter((l) => l.msg === 'log level changed').map((l) => [l.from, l.to]);

/**
 * Waits for the `n`th 'log level changed' line. The log is written asynchronously, in order: once
 * it is in the file, so is every line logged before the switch (the FSM's next transition may come
 * at any moment, so debug lines are counted only from here).
 */
async function levelChanged(k: KbgpProcess, n: number): Promise<void> {
  await k.waitForLog(() => levelChanges(k).length >= n, 5_000, `'log level changed' number ${n}`);
}

/** The raw peer connects and the session comes up; kbgp's line about it is in the file. */
async function session(k: KbgpProcess): Promise<void> {
  const before = { up: established(k), down: downs(k) };
  // kbgp takes the connection once the last session's error wait is over: it is Active again.
  await waitFor(async () => ((await call<StatusView>(defaultControlSocket(NODE), '/v1/status', 'GET', 5_000)).peers[0]?.state === 'Active' ? true : undefined), 10_000, () => `kbgp Active\n${k.logTail(20)}`);
  const p = await RawPeer.connect(K, PORT, PEER);
  peers.push(p);
  p.open(65001, PEER);
  await p.waitFor(isType(MessageType.Keepalive));
  await k.waitForLog(() => established(k) > before.up, 5_000, "'session established'");
  p.close();
  await k.waitForLog(() => downs(k) > before.down, 5_000, "'session down'");
}

async function reload(k: KbgpProcess, s: KbgpSpec): Promise<void> {
  const before = linesOf(k).filter((l) => l.msg === 'configuration reloaded').length;
  writeFileSync(`${k.configFile}.next`, kbgpYaml(s));
  renameSync(`${k.configFile}.next`, k.configFile);
  process.kill(k.pid, 'SIGHUP');
  await k.waitForLog(() => linesOf(k).filter((l) => l.msg === 'configuration reloaded').length > before, 5_000, 'the reload');
}

describe('logSeverityScreen, live', () => {
  it('starts at the file\'s level, follows a reload to Debug and back to Info', { timeout: 60_000 }, async () => {
    const k = await startKbgpProcess(spec('log-level', 'Info'), undefined, { logLevel: null });
    await session(k);
    expect(debugLines(k), 'debug lines at Info').toBe(0);

    await reload(k, spec('log-level', 'Debug'));
    await levelChanged(k, 1);
    expect(levelChanges(k)).toEqual([['info', 'debug']]);
    await session(k);
    // The per-peer logger (made at start, at Info) now writes the FSM's transitions.
    expect(linesOf(k).filter((l) => l.level === DEBUG && l.msg === 'state' && l.peer === PEER).length).toBeGreaterThan(0);

    await reload(k, spec('log-level', 'Info'));
    await levelChanged(k, 2);
    expect(levelChanges(k)).toEqual([['info', 'debug'], ['debug', 'info']]);
    const atInfo = debugLines(k);
    await session(k);
    expect(debugLines(k), 'debug lines after the level went back to Info').toBe(atInfo);
  });

  it('keeps --log-level whatever the file says', { timeout: 30_000 }, async () => {
    const k = await startKbgpProcess(spec('log-level-flag', 'Warning'), undefined, { logLevel: 'debug' });
    await session(k);
    expect(debugLines(k)).toBeGreaterThan(0);
    await reload(k, spec('log-level-flag', 'Error'));
    const before = debugLines(k);
    await session(k);
    expect(debugLines(k)).toBeGreaterThan(before);
    expect(levelChanges(k)).toEqual([]);
  });
});
