/**
 * Interop tests need real router binaries. On a developer machine without them a test is skipped
 * with a reason; under CI=true a missing binary is a failure, so CI can never go green by skipping.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/lib/frr'])) {
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const inCi = process.env.CI === 'true';

/**
 * Returns the paths of the binaries, or undefined when one is missing outside CI (the caller then
 * skips). Under CI a missing binary throws, failing the suite.
 */
export function requireBinaries(...names: string[]): Record<string, string> | undefined {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const p = findBinary(n);
    if (p === undefined) missing.push(n);
    else found[n] = p;
  }
  if (missing.length === 0) return found;
  if (inCi) throw new Error(`CI=true and ${missing.join(', ')} not installed: .ci/run must install it`);
  return undefined;
}
