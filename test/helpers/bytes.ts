/**
 * A deliberately naive byte builder for expected values, independent of the encoder under test:
 * plain arrays of numbers, lengths computed by hand here, nothing shared with src/bgp.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'bgp', 'vectors');

/** Hex text with `#` comments and any whitespace, as the golden vectors are written. */
export function hex(text: string): Buffer {
  const clean = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not an even run of hex digits: ${clean.slice(0, 40)}...`);
  return Buffer.from(clean, 'hex');
}

export function loadVector(name: string): Buffer {
  return hex(readFileSync(join(VECTORS_DIR, name), 'utf8'));
}

export function vectorNames(): string[] {
  return readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.hex')).sort();
}

/** The first comment line of a vector: where it was captured. */
export function vectorSource(name: string): string {
  const first = readFileSync(join(VECTORS_DIR, name), 'utf8').split('\n')[0] ?? '';
  return first.replace(/^#\s*/, '');
}

export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
export const ip4 = (s: string): number[] => s.split('.').map(Number);

const MARKER = new Array<number>(16).fill(0xff);

/** A whole message: marker, length (computed here, or forced), type, body. */
export function message(type: number, body: number[], forcedLength?: number): Buffer {
  return Buffer.from([...MARKER, ...u16(forcedLength ?? 19 + body.length), type, ...body]);
}

/** A path attribute; the Extended Length flag (0x10) in `flags` decides the length field's size. */
export function attr(flags: number, type: number, value: number[], forcedLength?: number): number[] {
  const length = forcedLength ?? value.length;
  return flags & 0x10 ? [flags, type, ...u16(length), ...value] : [flags, type, length, ...value];
}

/** An UPDATE from its three fields, with the two length fields computed (or forced). */
export function update(
  parts: { withdrawn?: number[]; attrs?: number[]; nlri?: number[] },
  forced: { withdrawnLength?: number; attrLength?: number } = {},
): Buffer {
  const w = parts.withdrawn ?? [];
  const a = parts.attrs ?? [];
  const n = parts.nlri ?? [];
  return message(2, [...u16(forced.withdrawnLength ?? w.length), ...w, ...u16(forced.attrLength ?? a.length), ...a, ...n]);
}

/** An OPEN with the given optional parameters bytes. */
export function open(fields: { version?: number; myAs?: number; holdTime?: number; id?: string; params?: number[]; optLength?: number }): Buffer {
  const params = fields.params ?? [];
  return message(1, [
    fields.version ?? 4,
    ...u16(fields.myAs ?? 65001),
    ...u16(fields.holdTime ?? 90),
    ...ip4(fields.id ?? '192.0.2.1'),
    fields.optLength ?? params.length,
    ...params,
  ]);
}

/** One Capabilities optional parameter holding the given capabilities ([code, ...value]). */
export function capabilities(...caps: number[][]): number[] {
  const body = caps.flatMap(([code, ...value]) => [code as number, value.length, ...value]);
  return [2, body.length, ...body];
}

// Well-formed attributes, for building UPDATEs around the one under test.
export const ORIGIN_IGP = attr(0x40, 1, [0]);
export const AS_PATH_65001 = attr(0x40, 2, [2, 1, ...u16(65001)]);
export const AS_PATH_65001_4 = attr(0x40, 2, [2, 1, ...u32(65001)]);
export const NEXT_HOP_192_0_2_1 = attr(0x40, 3, ip4('192.0.2.1'));
export const MANDATORY_4 = [...ORIGIN_IGP, ...AS_PATH_65001_4, ...NEXT_HOP_192_0_2_1];
