/**
 * Reading untrusted YAML into narrow types, one field at a time, so every error names the document,
 * the field path and the reason: `BGPPeer tor: spec.asNumber: 4294967296 is not a valid AS number`.
 */
import type { FieldSpec, ObjectSpec } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly document: string,
    readonly path: string,
    readonly reason: string,
  ) {
    // The path is empty for the document itself: `document 2: must be a mapping, not "x"`.
    super(path === '' ? `${document}: ${reason}` : `${document}: ${path}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * A read of a field src/config/schema.ts does not list as honoured: the parser and the schema
 * disagree. A kbgp bug, not a configuration error, so it is not a ConfigError.
 */
export class SchemaDriftError extends Error {
  constructor(document: string, path: string, problem: string) {
    super(`${document}: ${path}: ${problem} (src/config/schema.ts and the parser disagree: a kbgp bug)`);
    this.name = 'SchemaDriftError';
  }
}

/**
 * A cursor on one object of a document: reads fields and knows its path for errors. Which fields
 * the object may have, and why the refused ones are refused, is its schema's (src/config/schema.ts):
 * a field set but not in the schema is refused as soon as the cursor is made, so a misspelt field
 * is reported as such rather than as the required field it was meant to be.
 */
export class Fields {
  private readonly seen = new Set<string>();
  private readonly specs: ReadonlyMap<string, FieldSpec>;

  private constructor(
    readonly document: string,
    readonly path: string,
    private readonly value: { [k: string]: Json },
    schema: ObjectSpec,
  ) {
    this.specs = new Map(schema.map((f) => [f.name, f]));
  }

  static of(document: string, path: string, v: Json | undefined, schema: ObjectSpec): Fields {
    if (v === undefined || v === null) return new Fields(document, path, {}, schema);
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(document, path, `must be a mapping, not ${JSON.stringify(v)}`);
    const f = new Fields(document, path, v, schema);
    for (const k of Object.keys(v)) {
      const spec = f.specs.get(k);
      if (spec === undefined) throw f.error(k, 'is not a known field');
      if (spec.refused !== undefined) throw f.error(k, spec.refused);
    }
    return f;
  }

  error(field: string, reason: string): ConfigError {
    return new ConfigError(this.document, this.at(field), reason);
  }

  at(field: string): string {
    return this.path === '' ? field : `${this.path}.${field}`;
  }

  /** The schema of a field the parser reads: listed, and honoured. */
  private spec(field: string): FieldSpec {
    const spec = this.specs.get(field);
    if (spec === undefined) throw new SchemaDriftError(this.document, this.at(field), 'read, but not listed in the schema');
    if (spec.refused !== undefined) throw new SchemaDriftError(this.document, this.at(field), 'read, but the schema refuses it');
    return spec;
  }

  raw(field: string): Json | undefined {
    this.spec(field);
    this.seen.add(field);
    return this.value[field];
  }

  has(field: string): boolean {
    this.spec(field);
    return this.value[field] !== undefined && this.value[field] !== null;
  }

  string(field: string): string | undefined {
    // Read as free text, an enum field would take any value: only `oneOf` checks it.
    if (this.spec(field).values !== undefined) throw new SchemaDriftError(this.document, this.at(field), 'read as free text, but the schema gives it values (read it with oneOf)');
    return this.text(field);
  }

  private text(field: string): string | undefined {
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

  /**
   * A string field in a syntax of its own (a prefix, a community, a selector), through the parser
   * of that syntax: what the parser throws becomes the field's reason, so the operator is told
   * which field, not only what is wrong with some text.
   */
  parsed<T>(field: string, parse: (text: string) => T): T | undefined {
    const text = this.string(field);
    return text === undefined ? undefined : this.parsedText(field, text, parse);
  }

  requiredParsed<T>(field: string, parse: (text: string) => T): T {
    return this.parsedText(field, this.requiredString(field), parse);
  }

  /** As `parsed`, for text read already: an item of a list field (`communities[2]`), or a nested field. */
  parsedText<T>(field: string, text: string, parse: (text: string) => T): T {
    try {
      return parse(text);
    } catch (e) {
      throw this.error(field, e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * An enum field: one of `values`, case-sensitive, as that type. The caller passes the list it
   * narrows to; it must be the schema's own, so what is accepted and what the reference says stay
   * one list.
   */
  oneOf<T extends string>(field: string, values: readonly T[]): T | undefined {
    this.enumValues(field, values);
    const v = this.text(field);
    return v === undefined ? undefined : this.member(field, v, values);
  }

  requiredOneOf<T extends string>(field: string, values: readonly T[]): T {
    this.enumValues(field, values);
    const v = this.text(field);
    if (v === undefined || v === '') throw this.error(field, 'is required');
    return this.member(field, v, values);
  }

  private enumValues(field: string, values: readonly string[]): void {
    const listed = this.spec(field).values;
    if (listed === undefined) throw new SchemaDriftError(this.document, this.at(field), 'read as one of values, but the schema gives it none');
    if (listed.length !== values.length || listed.some((x, i) => x !== values[i])) {
      throw new SchemaDriftError(this.document, this.at(field), `read as one of ${values.join(', ')}, but the schema's values are ${listed.join(', ')}`);
    }
  }

  private member<T extends string>(field: string, v: string, values: readonly T[]): T {
    const found = values.find((x) => x === v);
    if (found === undefined) throw this.error(field, `${JSON.stringify(v)} is not one of ${values.join(', ')}`);
    return found;
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

  /** A mapping field, as a cursor with the field's own schema. */
  object(field: string): Fields {
    const fields = this.spec(field).fields;
    if (fields === undefined) throw new SchemaDriftError(this.document, this.at(field), 'read as a mapping, but the schema gives it no fields');
    return Fields.of(this.document, this.at(field), this.raw(field), fields);
  }

  list(field: string): Json[] {
    const v = this.raw(field);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.error(field, `must be a list, not ${JSON.stringify(v)}`);
    return v;
  }

  /** A list of mappings, a cursor on each (`spec.peerSettings[2]`) with the schema of the field's items. */
  objects(field: string): Fields[] {
    const items = this.spec(field).items;
    if (items === undefined) throw new SchemaDriftError(this.document, this.at(field), 'read as a list of mappings, but the schema gives it no items');
    return this.list(field).map((item, i) => Fields.of(this.document, `${this.at(field)}[${i}]`, item, items));
  }

  /**
   * Every field of this object must have been read. A field the schema lists as honoured but the
   * parser left unread would be silently ignored: that is refused too (the schema test sets every
   * honoured field, so it fails there first).
   */
  done(): void {
    // Unknown and refused fields were refused by `Fields.of` already: what is left is a parser gap.
    for (const k of Object.keys(this.value)) {
      if (!this.seen.has(k)) throw this.error(k, 'is in kbgp\'s schema but was not read (a kbgp bug; please report it)');
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

const AS_MAX = 4294967295;

/** Calico's ASNumber, wherever it stands: an integer 1..2^32-1, or asdot `a.b` (RFC 5396); undefined for anything else. */
export function asNumberValue(v: Json | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= AS_MAX ? v : undefined;
  if (typeof v !== 'string' || !/^\d+\.\d+$/.test(v)) return undefined;
  const [hi, lo] = v.split('.').map(Number) as [number, number];
  return hi <= 0xffff && lo <= 0xffff && hi * 65536 + lo > 0 ? hi * 65536 + lo : undefined;
}
