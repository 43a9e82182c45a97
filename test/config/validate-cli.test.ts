/**
 * `kbgp validate -f FILE`, the real entry point (src/cli/main.ts through vite-node, as
 * test/cli/control.test.ts runs it): a valid file says what it resolved to and exits 0; an invalid
 * one prints the file and the configuration error on one line and exits 1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'kbgp-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `daemonSet`: the $NODE_NAME and $NODE_IP a DaemonSet would give; the test runner's never leak in. */
function validate(args: string[], daemonSet?: { NODE_NAME: string; NODE_IP: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_NAME;
  delete env.NODE_IP;
  Object.assign(env, daemonSet);
  return new Promise((resolve) => {
    execFile('node_modules/.bin/vite-node', ['src/cli/main.ts', 'validate', ...args], { timeout: 25_000, env }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('kbgp validate', () => {
  it('accepts a valid file, names the node, its AS and its peers', { timeout: 30_000 }, async () => {
    const r = await validate(['-f', 'examples/tor-peering.yaml', '--node', 'node-1']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'examples/tor-peering.yaml: valid for node node-1 (AS 64512, 1 peer)\n', '']);
  });

  it('refuses an invalid file with the file, the document, the field and the reason, exit 1', { timeout: 30_000 }, async () => {
    const file = write('refused.yaml', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 65001, ttlSecurity: 1}\n');
    const r = await validate(['-f', file, '--node', 'n1']);
    expect([r.code, r.stdout, r.stderr]).toEqual([
      1,
      '',
      `kbgp: ${file}: BGPPeer tor: spec.ttlSecurity: cannot be honoured: the TTL security check (RFC 5082) needs the IP_MINTTL socket option, which Node.js does not expose; leave this unset\n`,
    ]);
  });

  it('resolves for the node and address its environment gives, as in a DaemonSet', { timeout: 30_000 }, async () => {
    const file = write(
      'daemonset.yaml',
      'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 65001}\n---\napiVersion: kbgp.io/v1alpha1\nkind: KbgpConfiguration\nmetadata: {name: default}\nspec: {}\n',
    );
    const r = await validate(['-f', file], { NODE_NAME: 'worker-3', NODE_IP: '192.0.2.9' });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `${file}: valid for node worker-3 (AS 64512, 1 peer)\n`, '']);
  });

  it('says where YAML does not parse, on one line', { timeout: 30_000 }, async () => {
    const file = write('broken.yaml', 'kind: BGPPeer\nmetadata: {name: p\nspec: {}\n');
    const r = await validate(['-f', file, '--node', 'n1']);
    expect([r.code, r.stderr]).toEqual([1, `kbgp: ${file}: document 1: yaml: Flow map in block collection must be sufficiently indented and end with a } at line 3, column 1\n`]);
  });
});
