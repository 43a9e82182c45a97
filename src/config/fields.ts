/**
 * Reading untrusted YAML into narrow types, one field at a time, so every error names the document,
 * the field path and the reason: `BGPPeer tor: spec.asNumber: 4294967296 is not a valid AS number`.
 */

export class ConfigError extends Error {
  constructor(
    readonly document: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${document}: ${path}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A cursor on one object of a document: reads fields and knows its path for errors. */
export class Fields {
  private readonly seen = new Set<string>();

  constructor(
    readonly document: string,
    readonly path: string,
    private readonly value: { [k: string]: Json },
  ) {}

  static of(document: string, path: string, v: Json | undefined): Fields {
    if (v === undefined || v === null) return new Fields(document, path, {});
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(document, path, 'must be a mapping');
    return new Fields(document, path, v);
  }

  error(field: string, reason: string): ConfigError {
    return new ConfigError(this.document, this.at(field), reason);
  }

  at(field: string): string {
    return this.path === '' ? field : `${this.path}.${field}`;
  }

  raw(field: string): Json | undefined {
    this.seen.add(field);
    return this.value[field];
  }

  has(field: string): boolean {
    return this.value[field] !== undefined && this.value[field] !== null;
  }

  string(field: string): string | undefined {
    const v = this.raw(field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.error(field, `must be a string, not ${JSON.stringify(v)}`);
    return v;
  }

  requiredString(field: string): string {
    const v = this.string(field);
    if (v === undefined || v === '') throw this.error(field, 'is required');
    return v;
  }

  integer(field: string, min: number, max: number, what = `an integer ${min}..${max}`): number | undefined {
    const v = this.raw(field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.error(field, `${JSON.stringify(v)} is not ${what}`);
    return v;
  }

  boolean(field: string): boolean | undefined {
    const v = this.raw(field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw this.error(field, `must be true or false, not ${JSON.stringify(v)}`);
    return v;
  }

  object(field: string): Fields {
    return Fields.of(this.document, this.at(field), this.raw(field));
  }

  list(field: string): Json[] {
    const v = this.raw(field);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.error(field, 'must be a list');
    return v;
  }

  /**
   * Checked before any field is read, so a misspelt field is reported as such rather than as the
   * required field it was meant to be.
   */
  allow(known: readonly string[], unsupported: Record<string, string> = {}): this {
    for (const k of Object.keys(this.value)) {
      if (known.includes(k)) continue;
      throw this.error(k, unsupported[k] ?? 'is not a known field');
    }
    return this;
  }

  /** Every field of this object must have been read: a typo or an unsupported field is an error. */
  done(unsupported: Record<string, string> = {}): void {
    for (const k of Object.keys(this.value)) {
      if (this.seen.has(k)) continue;
      const why = unsupported[k];
      throw this.error(k, why ?? 'is not a known field');
    }
  }
}

/** Go-style durations as Calico writes them (`20s`, `1m30s`, `500ms`); a bare number is seconds. */
export function parseDuration(f: Fields, field: string): number | undefined {
  const v = f.raw(field);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && v >= 0) return v;
  if (typeof v !== 'string') throw f.error(field, `${JSON.stringify(v)} is not a duration`);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== v.length) throw f.error(field, `${JSON.stringify(v)} is not a duration (e.g. 20s, 1m30s)`);
  return total;
}
