/**
 * Where a node's control socket lives unless configured: /run/kbgp/<node>.sock for root (the
 * DaemonSet, with /run/kbgp a hostPath the CLI in `kubectl exec` sees too), else in the temp
 * directory, so the demo and development runs need no privileges.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function controlSocketDirectory(): string {
  return process.env.KBGP_CONTROL_DIR ?? (process.getuid?.() === 0 ? '/run/kbgp' : join(tmpdir(), 'kbgp'));
}

export function defaultControlSocket(node: string): string {
  return join(controlSocketDirectory(), `${node.replace(/[^A-Za-z0-9._-]/g, '_')}.sock`);
}
