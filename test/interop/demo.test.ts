/**
 * The README's demo, as a newcomer runs it: `npm start` (build, then `kbgp run` on the embedded
 * demo), a BIRD on 127.0.0.13 peering with node-a as the README shows, and `kbgp routes
 * --advertised` through the CLI. The demo runs as its own process group, stopped by PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { requireBinaries } from '../helpers/binaries.js';
import { ROUTER_BINARIES, startBird, stopAllRouters, waitFor } from '../helpers/routers.js';

let demo: ChildProcess | undefined;
const controlDir = mkdtempSync(join(tmpdir(), 'kbgp-demo-control-'));
afterEach(async () => {
  await stopAllRouters();
  await stopDemo();
});
afterAll(() => rmSync(controlDir, { recursive: true, force: true }));

async function stopDemo(): Promise<void> {
  const d = demo;
  demo = undefined;
  const pid = d?.pid;
  if (d === undefined || pid === undefined || d.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => d.once('exit', () => resolve()));
  // The whole group: npm, and the node it started.
  process.kill(-pid, 'SIGTERM');
  const killed = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 5000);
  await exited;
  clearTimeout(killed);
}

const env = { ...process.env, KBGP_CONTROL_DIR: controlDir, NODE_NAME: '' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/main.js', ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }));
  });
}

describe.skipIf(requireBinaries(...ROUTER_BINARIES.bird) === undefined)('the README demo', () => {
  it('npm start runs two nodes; a BIRD peering with node-a holds the demo\'s service routes; kbgp routes --advertised lists them', { timeout: 120_000 }, async () => {
    let output = '';
    demo = spawn('npm', ['start'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    demo.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    demo.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    // The build first (tsc), then both nodes up with their control sockets.
    await waitFor(async () => ((output.match(/control socket ready/g) ?? []).length === 2 ? true : undefined), 90_000, () => `the demo to start:\n${output.slice(-3000)}`);
    const bird = await startBird({ routerId: '127.0.0.13', asn: 65013, address: '127.0.0.13', peers: [{ address: '127.0.0.11', port: 11179, asn: 64512 }] });
    const held = async (): Promise<string[]> => (await bird.routes('ipv4')).map((r) => r.prefix).sort();
    await waitFor(async () => ((await held()).includes('203.0.113.10/32') ? true : undefined), 30_000, () => `BIRD to hold the demo's routes: ${bird.logTail(20)}\n${output.slice(-2000)}`);
    expect(await held()).toEqual(['10.96.0.0/12', '10.96.0.10/32', '198.51.100.0/24', '203.0.113.0/24', '203.0.113.10/32']);
    const routes = await cli(['routes', '--node', 'node-a', '--advertised', '--peer', '127.0.0.13', '--json']);
    expect(routes.stderr).toBe('');
    // IPv4 only: the harness's BIRD opens the IPv4 channel alone on an IPv4 session.
    expect((JSON.parse(routes.stdout) as { prefix: string }[]).map((r) => r.prefix)).toEqual(['10.96.0.0/12', '10.96.0.10/32', '198.51.100.0/24', '203.0.113.0/24', '203.0.113.10/32']);
    const status = await cli(['status', '--node', 'node-a']);
    expect(status.stdout).toMatch(/\| 127\.0\.0\.13 +\| node specific +\| 65013 +\| up /);
  });
});
