/**
 * src/config/schema.ts against the parser, both ways, with every field of every kind:
 *
 * - each honoured field, set alone to its example in an otherwise valid configuration, is accepted.
 *   A field the schema lists but the parser never reads fails here: `Fields.done()` refuses it as
 *   a kbgp bug rather than ignore it. (A field the parser reads but the schema does not list throws
 *   SchemaDriftError on every load that reaches the read, so every test of that kind fails.)
 * - each refused field is refused with the schema's reason, and an unknown field at every object
 *   path as not a known field: the messages come from the schema.
 * - a `node.<name>` BGPConfiguration takes the per-node fields and refuses the others.
 * - an enum field's `type` words name exactly its `values`, and the parser refuses anything else
 *   with the one message every enum has.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError, Fields, type Json, SchemaDriftError } from '../../src/config/fields.js';
import { DOCUMENT, type FieldSpec, KINDS, type ObjectSpec, PER_NODE_BGP_CONFIGURATION, PER_NODE_ONLY } from '../../src/config/schema.js';

type JsonObject = { [k: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A document under test: a kind, the name it goes by, and the schema of its spec. */
interface Target {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly spec: ObjectSpec;
  /** What the spec holds before the field under test is set: what makes the document valid. */
  readonly base: JsonObject;
}

const NAMES: Readonly<Record<string, string>> = { BGPConfiguration: 'default', BGPPeer: 'p', BGPFilter: 'f', Node: 'n1', KbgpConfiguration: 'n1' };
const BASES: Readonly<Record<string, JsonObject>> = { BGPPeer: { peerIP: '192.0.2.9', asNumber: 65001 }, Node: { bgp: { ipv4Address: '192.0.2.1/24' } } };

const TARGETS: readonly Target[] = [
  ...KINDS.map((k) => ({ kind: k.kind, apiVersion: k.apiVersion, name: NAMES[k.kind] ?? 'x', spec: k.spec, base: BASES[k.kind] ?? {} })),
  { kind: 'BGPConfiguration', apiVersion: 'projectcalico.org/v3', name: 'node.n1', spec: PER_NODE_BGP_CONFIGURATION, base: {} },
];

/**
 * Where a field's example needs company, what the spec must hold besides it, by target and path
 * (`null` removes a base field). A new field that needs some fails the coverage test until it is
 * given here.
 */
const NEEDS: Readonly<Record<string, JsonObject>> = {
  'BGPPeer p spec.peerSelector': { peerIP: null, asNumber: null },
  'BGPFilter f spec.exportV4[].cidr': { exportV4: [{ matchOperator: 'In' }] },
  'BGPFilter f spec.exportV4[].matchOperator': { exportV4: [{ cidr: '10.0.0.0/8' }] },
  'BGPFilter f spec.exportV4[].prefixLength.min': { exportV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In' }] },
  'BGPFilter f spec.exportV4[].prefixLength.max': { exportV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In' }] },
  'KbgpConfiguration n1 spec.cluster.kubeconfig': { cluster: { source: 'Kubernetes' } },
  'KbgpConfiguration n1 spec.cluster.manifests': { cluster: { source: 'Manifests' } },
};

/** Every field of an object schema with the fields above it, each shared object (BGPFilter's rule) once. */
function chains(spec: ObjectSpec, above: readonly FieldSpec[] = [], seen = new Set<ObjectSpec>()): FieldSpec[][] {
  const out: FieldSpec[][] = [];
  for (const f of spec) {
    out.push([...above, f]);
    const nested = f.fields ?? f.items;
    // A refused field is refused whole: nothing inside it is read.
    if (nested === undefined || f.refused !== undefined || seen.has(nested)) continue;
    seen.add(nested);
    out.push(...chains(nested, [...above, f], seen));
  }
  return out;
}

/** The fields a mapping must have to be valid, from their examples. */
function required(spec: ObjectSpec, except: string): JsonObject {
  return Object.fromEntries(spec.filter((f) => f.required === true && f.name !== except && f.example !== undefined).map((f) => [f.name, f.example as Json]));
}

/** The spec fragment setting the last field of `chain` to `value`, in minimal valid mappings. */
function fragment(spec: ObjectSpec, chain: readonly FieldSpec[], value: Json): JsonObject {
  let v: Json = value;
  for (let i = chain.length - 1; i >= 0; i--) {
    const f = chain[i] as FieldSpec;
    const parent = chain[i - 1];
    const container = parent === undefined ? spec : ((parent.fields ?? parent.items) as ObjectSpec);
    const mapping: JsonObject = { ...required(container, f.name), [f.name]: v };
    if (parent === undefined) return mapping;
    v = parent.items === undefined ? mapping : [mapping];
  }
  return {};
}

/** `spec.peerSettings[].maxPrefixes.limit` for a key, `spec.peerSettings[0].maxPrefixes.limit` as the error names it. */
function pathOf(chain: readonly FieldSpec[], index: string): string {
  let path = 'spec';
  chain.forEach((f, i) => {
    path += `.${f.name}`;
    if (f.items !== undefined && i < chain.length - 1) path += index;
  });
  return path;
}

function merge(a: Json | undefined, b: Json): Json {
  if (Array.isArray(a) && Array.isArray(b)) return b.map((x, i) => merge(a[i], x));
  if (!isObject(a) || !isObject(b)) return b;
  const out: JsonObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === null) delete out[k];
    else out[k] = merge(a[k], v);
  }
  return out;
}

/** The whole file: the target with `spec`, and the documents it refers to (Node n1, BGPPeer p, BGPFilter f). */
function file(t: Target, spec: Json): string {
  const docs: JsonObject[] = [];
  if (t.kind !== 'Node') docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '192.0.2.1/24' } } });
  if (t.kind !== 'BGPPeer') docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'p' }, spec: { peerIP: '192.0.2.9', asNumber: 65001 } });
  if (t.kind !== 'BGPFilter') docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name: 'f' }, spec: {} });
  docs.push({ apiVersion: t.apiVersion, kind: t.kind, metadata: { name: t.name }, spec });
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Every field of every schema, nested and refused ones too, each once. */
function everyField(spec: ObjectSpec, seen = new Set<ObjectSpec>()): FieldSpec[] {
  if (seen.has(spec)) return [];
  seen.add(spec);
  return spec.flatMap((f) => [f, ...everyField(f.fields ?? f.items ?? [], seen)]);
}
const everyFieldSpec = everyField([...DOCUMENT, ...KINDS.flatMap((k) => k.spec)]);

const all = TARGETS.flatMap((t) => chains(t.spec).map((chain) => ({ t, chain, leaf: chain[chain.length - 1] as FieldSpec, key: `${t.kind} ${t.name} ${pathOf(chain, '[]')}` })));
const honoured = all.filter((c) => c.leaf.refused === undefined && c.leaf.fields === undefined && c.leaf.items === undefined);
const refused = all.filter((c) => c.leaf.refused !== undefined);
const objects: { t: Target; chain: FieldSpec[]; key: string }[] = [
  ...TARGETS.map((t) => ({ t, chain: [], key: `${t.kind} ${t.name} spec` })),
  ...all.filter((c) => c.leaf.refused === undefined && (c.leaf.fields ?? c.leaf.items) !== undefined),
];

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('the schema against the parser', () => {
  it('covers every kind, every field, and the per-node BGPConfiguration', () => {
    expect(KINDS.map((k) => k.kind)).toEqual(['BGPConfiguration', 'BGPPeer', 'BGPFilter', 'Node', 'KbgpConfiguration']);
    expect(honoured.length).toBeGreaterThan(70);
    expect(refused.length).toBeGreaterThan(15);
    expect(objects.length).toBeGreaterThan(15);
  });

  it('gives every honoured field that is no mapping or list of mappings an example, so the next test sets it', () => {
    expect(honoured.filter((c) => c.leaf.example === undefined).map((c) => c.key)).toEqual([]);
    expect(DOCUMENT.filter((f) => f.example === undefined && f.fields === undefined).map((f) => f.name)).toEqual(['spec']);
  });

  it.each(honoured.map((c) => [c.key, c] as const))('reads %s: its example alone is accepted', (key, { t, chain, leaf }) => {
    const spec = merge(merge(t.base, fragment(t.spec, chain, leaf.example as Json)), NEEDS[key] ?? {});
    expect(messageOf(() => loadConfig(file(t, spec), 'n1'))).toBe('accepted');
  });

  it('needs company for no field that is gone from the schema', () => {
    expect(Object.keys(NEEDS).filter((k) => !honoured.some((c) => c.key === k))).toEqual([]);
  });

  it.each(refused.map((c) => [c.key, c] as const))('refuses %s with the schema\'s reason', (_key, { t, chain, leaf }) => {
    const spec = merge(t.base, fragment(t.spec, chain, 1));
    expect(messageOf(() => loadConfig(file(t, spec), 'n1'))).toBe(`${t.kind} ${t.name}: ${pathOf(chain, '[0]')}: ${leaf.refused}`);
  });

  it.each(objects.map((c) => [c.key, c] as const))('refuses a field %s does not list', (_key, { t, chain }) => {
    const unknown: FieldSpec = { name: 'notAField', type: '', description: '' };
    const spec = merge(t.base, fragment(t.spec, [...chain, unknown], 1));
    expect(messageOf(() => loadConfig(file(t, spec), 'n1'))).toBe(`${t.kind} ${t.name}: ${pathOf([...chain, unknown], '[0]')}: is not a known field`);
  });

  it('refuses in a node.<name> BGPConfiguration exactly the fields not marked per node', () => {
    const perNode = refused.filter((c) => c.t.name === 'node.n1').map((c) => [c.leaf.name, c.leaf.refused]);
    expect(perNode).toEqual(KINDS[0]?.spec.filter((f) => f.perNode !== true).map((f) => [f.name, PER_NODE_ONLY]));
    expect(PER_NODE_ONLY).toBe('cannot be set per node (Calico allows only listenPort, logSeverityScreen and prefixAdvertisements there)');
  });
});

describe('enum fields', () => {
  const enums = everyFieldSpec.filter((f) => f.values !== undefined);

  it('are the ones expected', () => {
    expect(enums.map((f) => f.name)).toEqual([
      'logSeverityScreen',
      'serviceLoadBalancerAggregation',
      'bindMode',
      'programClusterRoutes',
      'reversePeering',
      'sourceAddress',
      'nextHopMode',
      'action',
      'matchOperator',
      'source',
      'peerType',
      'addPath',
      'source',
      'calicoResources',
    ]);
  });

  it.each(enums.map((f) => [f.name, f] as const))('%s: the type words name exactly its values, as a list', (_name, f) => {
    const values = f.values ?? [];
    expect([...f.type.matchAll(/`([^`]*)`/g)].map((m) => m[1])).toEqual(values);
    // Nothing but the list's commas and its `or` between them.
    expect(f.type.replace(/`[^`]*`/g, '')).toBe(values.length < 2 ? '' : `${', '.repeat(values.length - 2)} or `);
  });

  it('leaves no field whose type words are a list of values without its values', () => {
    const looksEnum = /^`[^`{][^`]*`(?:(?:, `[^`]+`)* or `[^`]+`)?$/;
    // kind's words come from KINDS, which the document check reads too; its refusal says which kinds kbgp reads.
    expect(everyFieldSpec.filter((f) => looksEnum.test(f.type) && f.values === undefined).map((f) => f.name)).toEqual(['kind']);
  });

  const read = honoured.filter((c) => c.leaf.values !== undefined);
  it.each(read.map((c) => [c.key, c] as const))('refuses for %s a value that is not one of its values, case counting', (key, { t, chain, leaf }) => {
    const values = leaf.values ?? [];
    const bad = (values[0] ?? '').toLowerCase();
    expect(values).not.toContain(bad);
    const spec = merge(merge(t.base, fragment(t.spec, chain, bad)), NEEDS[key] ?? {});
    expect(messageOf(() => loadConfig(file(t, spec), 'n1'))).toBe(`${t.kind} ${t.name}: ${pathOf(chain, '[0]')}: ${JSON.stringify(bad)} is not one of ${values.join(', ')}`);
  });

  it('refuses every enum the parser reads, the per-node one too', () => {
    expect(read.map((c) => c.key)).toHaveLength(14);
  });
});

describe('Fields', () => {
  const SCHEMA: ObjectSpec = [
    { name: 'a', type: 'string', description: '', example: 'x' },
    { name: 'b', type: 'string', description: '', refused: 'is refused for the test' },
    { name: 'e', type: '`Up` or `Down`', values: ['Up', 'Down'], description: '', example: 'Up' },
  ];

  it('throws SchemaDriftError, not ConfigError, when the parser reads a field the schema does not list or refuses', () => {
    const f = Fields.of('Test t', 'spec', { a: 'x' }, SCHEMA);
    expect(() => f.string('c')).toThrow(SchemaDriftError);
    expect(() => f.string('c')).toThrow('Test t: spec.c: read, but not listed in the schema (src/config/schema.ts and the parser disagree: a kbgp bug)');
    expect(() => f.has('b')).toThrow('Test t: spec.b: read, but the schema refuses it');
    expect(() => f.object('a')).toThrow('Test t: spec.a: read as a mapping, but the schema gives it no fields');
  });

  it('reads an enum field as one of the values the schema gives it, and throws SchemaDriftError if the parser\'s list is not the schema\'s', () => {
    const UP_DOWN = ['Up', 'Down'] as const;
    const f = Fields.of('Test t', 'spec', { a: 'x', e: 'Down' }, SCHEMA);
    const e: 'Up' | 'Down' | undefined = f.oneOf('e', UP_DOWN);
    expect(e).toBe('Down');
    expect(f.requiredOneOf('e', UP_DOWN)).toBe('Down');
    expect(Fields.of('Test t', 'spec', {}, SCHEMA).oneOf('e', UP_DOWN)).toBeUndefined();
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).requiredOneOf('e', UP_DOWN)).toThrow(new ConfigError('Test t', 'spec.e', 'is required'));
    expect(() => Fields.of('Test t', 'spec', { e: 'down' }, SCHEMA).oneOf('e', UP_DOWN)).toThrow(new ConfigError('Test t', 'spec.e', '"down" is not one of Up, Down'));
    expect(() => Fields.of('Test t', 'spec', { e: 1 }, SCHEMA).oneOf('e', UP_DOWN)).toThrow(new ConfigError('Test t', 'spec.e', 'must be a string, not 1'));
    // Drift is found whether or not the document sets the field.
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).oneOf('e', ['Up', 'Down', 'Sideways'])).toThrow(SchemaDriftError);
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).oneOf('e', ['Down', 'Up'])).toThrow("Test t: spec.e: read as one of Down, Up, but the schema's values are Up, Down");
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).oneOf('a', ['x'])).toThrow('Test t: spec.a: read as one of values, but the schema gives it none');
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).requiredOneOf('a', ['x'])).toThrow(SchemaDriftError);
    expect(() => Fields.of('Test t', 'spec', { e: 'Up' }, SCHEMA).string('e')).toThrow('Test t: spec.e: read as free text, but the schema gives it values (read it with oneOf)');
    expect(() => Fields.of('Test t', 'spec', { e: 'Up' }, SCHEMA).requiredString('e')).toThrow(SchemaDriftError);
  });

  it('reads a field through its parser: what the parser throws becomes the field\'s reason', () => {
    const digits = (text: string): number => {
      if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not digits`);
      return Number(text);
    };
    expect(Fields.of('Test t', 'spec', { a: '42' }, SCHEMA).parsed('a', digits)).toBe(42);
    expect(Fields.of('Test t', 'spec', {}, SCHEMA).parsed('a', digits)).toBeUndefined();
    expect(() => Fields.of('Test t', 'spec', { a: 'x' }, SCHEMA).parsed('a', digits)).toThrow(ConfigError);
    expect(() => Fields.of('Test t', 'spec', { a: 'x' }, SCHEMA).parsed('a', digits)).toThrow(new ConfigError('Test t', 'spec.a', '"x" is not digits'));
    expect(() => Fields.of('Test t', 'spec', { a: 7 }, SCHEMA).parsed('a', digits)).toThrow(new ConfigError('Test t', 'spec.a', 'must be a string, not 7'));
    expect(Fields.of('Test t', 'spec', { a: '7' }, SCHEMA).requiredParsed('a', digits)).toBe(7);
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).requiredParsed('a', digits)).toThrow(new ConfigError('Test t', 'spec.a', 'is required'));
    // Text read already, an item of a list: the error names the item.
    expect(() => Fields.of('Test t', 'spec', {}, SCHEMA).parsedText('a[2]', 'y', digits)).toThrow(new ConfigError('Test t', 'spec.a[2]', '"y" is not digits'));
  });

  it('refuses, in done(), a field the schema honours but the parser did not read', () => {
    expect(() => Fields.of('Test t', 'spec', { a: 'x' }, SCHEMA).done()).toThrow(new ConfigError('Test t', 'spec.a', "is in kbgp's schema but was not read (a kbgp bug; please report it)"));
    const read = Fields.of('Test t', 'spec', { a: 'x' }, SCHEMA);
    read.string('a');
    expect(() => read.done()).not.toThrow();
  });

  it('refuses unknown and refused fields as soon as the cursor is made', () => {
    expect(() => Fields.of('Test t', 'spec', { b: 1 }, SCHEMA)).toThrow('Test t: spec.b: is refused for the test');
    expect(() => Fields.of('Test t', 'spec', { z: 1 }, SCHEMA)).toThrow('Test t: spec.z: is not a known field');
  });
});
