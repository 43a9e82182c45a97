/**
 * deploy/ and the Dockerfile, checked so they cannot rot, with no cluster and no network.
 *
 * Schema: every document is checked against the Kubernetes API types as @kubernetes/client-node
 * ships them (generated from the API server's OpenAPI spec, v1.34): each model class's
 * `attributeTypeMap` gives its fields and their types, and its `.d.ts` marks the required ones
 * (`'name': T` against `'name'?: T`, the generator's rendering of the spec's `required` list). An
 * unknown field fails, as under `kubectl apply --validate=strict`. The generator drops two things
 * the spec has, so they are tables here: which string fields are resource.Quantity (a number is
 * fine there too) and the enum values of the fields these manifests use.
 *
 * Meaning: least privilege in the ClusterRole, the DaemonSet's security context and probes, and the
 * links between the objects (binding, service account, config path through the mount to the
 * ConfigMap, probe port to metricsAddress, command to the image). The ConfigMap's configuration is
 * loaded with kbgp's own loadConfig for every node it names.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ------------------------------------------------------------------------------------------------
// The schema, from @kubernetes/client-node's generated models

type JsonObject = { readonly [key: string]: unknown };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Attribute {
  /** The TypeScript property name (`_continue`), as the .d.ts spells it. */
  readonly name: string;
  /** The JSON field name (`continue`), as manifests spell it. */
  readonly baseName: string;
  readonly type: string;
  readonly format: string;
}
const isAttribute = (v: unknown): v is Attribute =>
  isObject(v) && typeof v.name === 'string' && typeof v.baseName === 'string' && typeof v.type === 'string' && typeof v.format === 'string';

interface Model {
  readonly fields: ReadonlyMap<string, Attribute>;
  readonly required: readonly string[];
}

const MODEL_CLASSES: Readonly<Record<string, unknown>> = k8s;
const MODELS_DIR = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'models');
const modelCache = new Map<string, Model | undefined>();

function model(type: string): Model | undefined {
  if (modelCache.has(type)) return modelCache.get(type);
  const cls = MODEL_CLASSES[type];
  const map: unknown = typeof cls === 'function' ? Reflect.get(cls, 'attributeTypeMap') : undefined;
  const raw: readonly unknown[] = Array.isArray(map) ? map : [];
  const attributes = raw.filter(isAttribute);
  let m: Model | undefined;
  if (raw.length > 0 && attributes.length === raw.length) {
    const jsonName = new Map(attributes.map((a) => [a.name, a.baseName]));
    const dts = readFileSync(join(MODELS_DIR, `${type}.d.ts`), 'utf8');
    const required = [...dts.matchAll(/^ {4}'([^']+)':/gm)].map((x) => jsonName.get(x[1] ?? '') ?? `${x[1] ?? ''} (not in attributeTypeMap)`);
    m = { fields: new Map(attributes.map((a) => [a.baseName, a])), required };
  }
  modelCache.set(type, m);
  return m;
}

/** Fields that are resource.Quantity in the OpenAPI spec; the generator made them plain strings. */
const QUANTITY: Readonly<Partial<Record<string, readonly string[]>>> = {
  V1ResourceRequirements: ['limits', 'requests'],
  V1VolumeResourceRequirements: ['limits', 'requests'],
  V1EmptyDirVolumeSource: ['sizeLimit'],
};
/** Enum values from the API reference for the fields used here; the generated models carry none. */
const ENUMS: Readonly<Partial<Record<string, readonly string[]>>> = {
  'V1PodSpec.dnsPolicy': ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
  'V1PodSpec.restartPolicy': ['Always', 'OnFailure', 'Never'],
  'V1Container.imagePullPolicy': ['Always', 'IfNotPresent', 'Never'],
  'V1Container.terminationMessagePolicy': ['File', 'FallbackToLogsOnError'],
  'V1ContainerPort.protocol': ['TCP', 'UDP', 'SCTP'],
  'V1HTTPGetAction.scheme': ['HTTP', 'HTTPS'],
  'V1DaemonSetUpdateStrategy.type': ['RollingUpdate', 'OnDelete'],
  'V1Toleration.operator': ['Exists', 'Equal'],
  'V1Toleration.effect': ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
  'V1HostPathVolumeSource.type': ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'],
  'V1SeccompProfile.type': ['RuntimeDefault', 'Unconfined', 'Localhost'],
  'RbacV1Subject.kind': ['User', 'Group', 'ServiceAccount'],
  'V1RoleRef.kind': ['Role', 'ClusterRole'],
};
/** The kinds deploy/ may hold: the version that serves each, its model, its scope. */
const KINDS: Readonly<Partial<Record<string, { readonly apiVersion: string; readonly model: string; readonly namespaced: boolean }>>> = {
  Namespace: { apiVersion: 'v1', model: 'V1Namespace', namespaced: false },
  ServiceAccount: { apiVersion: 'v1', model: 'V1ServiceAccount', namespaced: true },
  ConfigMap: { apiVersion: 'v1', model: 'V1ConfigMap', namespaced: true },
  Secret: { apiVersion: 'v1', model: 'V1Secret', namespaced: true },
  Service: { apiVersion: 'v1', model: 'V1Service', namespaced: true },
  DaemonSet: { apiVersion: 'apps/v1', model: 'V1DaemonSet', namespaced: true },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1ClusterRole', namespaced: false },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1ClusterRoleBinding', namespaced: false },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1Role', namespaced: true },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', model: 'V1RoleBinding', namespaced: true },
};

const QUANTITY_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const INT32 = 2 ** 31;

const at = (path: string, key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`);
const show = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `the ${typeof v} ${String(v)}`;

function checkValue(v: unknown, type: string, format: string, path: string, out: string[]): void {
  const wrong = (what: string): void => {
    out.push(`${path}: must be ${what}, not ${show(v)}`);
  };
  const list = /^Array<(.+)>$/.exec(type);
  const dict = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (list !== null) {
    if (!Array.isArray(v)) return wrong('a list');
    v.forEach((x: unknown, i) => checkValue(x, list[1] ?? '', format, `${path}[${i}]`, out));
  } else if (dict !== null) {
    if (!isObject(v)) return wrong('an object');
    for (const [k, x] of Object.entries(v)) checkValue(x, dict[1] ?? '', format, at(path, k), out);
  } else if (type === 'any') {
    return;
  } else if (type === 'string') {
    if (typeof v !== 'string') return wrong('a string');
    if (format === 'byte' && !BASE64.test(v)) out.push(`${path}: is not base64`);
  } else if (type === 'boolean') {
    if (typeof v !== 'boolean') wrong('a boolean');
  } else if (type === 'number') {
    const integer = format === 'int32' || format === 'int64';
    if (integer ? !Number.isInteger(v) : typeof v !== 'number') return wrong(integer ? 'an integer' : 'a number');
    if (format === 'int32' && typeof v === 'number' && (v < -INT32 || v >= INT32)) out.push(`${path}: ${v} is outside int32`);
  } else if (type === 'IntOrString') {
    if (typeof v !== 'string' && !Number.isInteger(v)) wrong('an integer or a string');
  } else if (type === 'Date') {
    if (!(v instanceof Date) && !(typeof v === 'string' && RFC3339.test(v))) wrong('an RFC 3339 time');
  } else if (type === 'Quantity') {
    if (typeof v !== 'number' && !(typeof v === 'string' && QUANTITY_TEXT.test(v))) out.push(`${path}: ${show(v)} is not a quantity (e.g. 50m, 128Mi)`);
  } else {
    checkModel(v, type, path, out);
  }
}

function checkModel(v: unknown, type: string, path: string, out: string[]): void {
  const m = model(type);
  if (m === undefined) {
    out.push(`${path}: no schema for type ${type} in @kubernetes/client-node`);
    return;
  }
  if (!isObject(v)) {
    out.push(`${path}: must be an object (${type}), not ${show(v)}`);
    return;
  }
  for (const [key, value] of Object.entries(v)) {
    const p = at(path, key);
    const a = m.fields.get(key);
    if (a === undefined) {
      out.push(`${p}: unknown field`);
      continue;
    }
    if (value === null) continue; // null is "unset" to the API server
    const quantity = QUANTITY[type]?.includes(key) === true;
    checkValue(value, quantity ? a.type.replace(/^string$|(?<=: )string(?=; \}$)/, 'Quantity') : a.type, a.format, p, out);
    const allowed = ENUMS[`${type}.${key}`];
    if (allowed !== undefined && typeof value === 'string' && !allowed.includes(value)) {
      out.push(`${p}: ${JSON.stringify(value)} is not one of ${allowed.map((s) => JSON.stringify(s)).join(', ')}`);
    }
  }
  for (const r of m.required) if (v[r] === undefined || v[r] === null) out.push(`${at(path, r)}: required field missing`);
}

/** Every problem with one object, each as `Kind name: field.path: what is wrong`. */
function validateObject(doc: unknown): string[] {
  if (!isObject(doc)) return [`document: must be an object, not ${show(doc)}`];
  const kind = typeof doc.kind === 'string' ? doc.kind : '(no kind)';
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '(no name)';
  const k = KINDS[kind];
  if (k === undefined) return [`${kind} ${name}: kind: not a kind this validator knows (${Object.keys(KINDS).join(', ')})`];
  const out: string[] = [];
  if (doc.apiVersion !== k.apiVersion) out.push(`apiVersion: ${JSON.stringify(doc.apiVersion)} does not serve ${kind} (${k.apiVersion} does)`);
  checkModel(doc, k.model, '', out);
  // What the API server adds on top of the schema, for the fields every object has.
  if (typeof meta.name !== 'string') out.push('metadata.name: required field missing');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) out.push(`metadata.name: ${JSON.stringify(name)} is not a DNS subdomain (RFC 1123)`);
  if (k.namespaced && typeof meta.namespace !== 'string') out.push(`metadata.namespace: missing: ${kind} is namespaced and these manifests name the namespace`);
  if (!k.namespaced && meta.namespace !== undefined) out.push(`metadata.namespace: ${kind} is cluster-scoped`);
  return out.map((p) => `${kind} ${name}: ${p}`);
}

/** A document that passed the schema check, typed as the model it was checked against. */
function conforms<T>(doc: unknown, kind: string): doc is T {
  return isObject(doc) && doc.kind === kind && validateObject(doc).length === 0;
}

// ------------------------------------------------------------------------------------------------
// The manifests

interface Manifest {
  readonly where: string;
  readonly object: unknown;
}

/**
 * YAML 1.1, as Kubernetes' reader (go-yaml v2) has it: `on`/`yes` are booleans and `0644` is octal
 * there, so a value that only YAML 1.2 reads as a string is caught. Duplicate keys are errors.
 */
function parseManifests(text: string, file: string): Manifest[] {
  return parseAllDocuments(text, { version: '1.1' }).flatMap((d, i) => {
    if (d.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${d.errors[0]?.message ?? 'invalid YAML'}`);
    const object: unknown = d.toJS();
    return object === null || object === undefined ? [] : [{ where: `${file} document ${i + 1}`, object }];
  });
}

const FILES = readdirSync(join(ROOT, 'deploy'), { recursive: true, encoding: 'utf8' })
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const MANIFESTS = FILES.flatMap((f) => parseManifests(read(join('deploy', f)), join('deploy', f)));
const kindOf = (o: unknown): unknown => (isObject(o) ? o.kind : undefined);

/** The only document of this kind, typed by its schema (which it must pass). */
function only<T>(kind: string): T {
  const found = MANIFESTS.filter((m) => kindOf(m.object) === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} under deploy/, found ${found.length}`);
  const o = found[0]?.object;
  if (!conforms<T>(o, kind)) throw new Error(`${kind}: ${validateObject(o).join('; ')}`);
  return o;
}
function must<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Error(`missing: ${what}`);
  return v;
}

const NAMESPACE = only<k8s.V1Namespace>('Namespace');
const ACCOUNT = only<k8s.V1ServiceAccount>('ServiceAccount');
const ROLE = only<k8s.V1ClusterRole>('ClusterRole');
const BINDING = only<k8s.V1ClusterRoleBinding>('ClusterRoleBinding');
const DAEMONSET = only<k8s.V1DaemonSet>('DaemonSet');
const POD = must(DAEMONSET.spec?.template.spec, 'DaemonSet pod spec');
const KBGP = must(
  POD.containers.find((c) => c.name === 'kbgp'),
  'the kbgp container',
);
const PACKAGE: unknown = JSON.parse(read('package.json'));
const VERSION = isObject(PACKAGE) && typeof PACKAGE.version === 'string' ? PACKAGE.version : '(no version)';

/** Mebibytes in a memory quantity (the suffixes used for memory). */
function mebibytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (m === null) throw new Error(`${q}: not a memory quantity this test reads`);
  const scale: Record<string, number> = { '': 2 ** -20, Ki: 2 ** -10, Mi: 1, Gi: 2 ** 10, k: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };
  return Number(m[1]) * (scale[m[2] ?? ''] ?? NaN);
}

/** The file behind a path in the kbgp container: its mount, volume and ConfigMap key. */
function configMapFile(path: string): { configMap: k8s.V1ConfigMap; key: string } {
  const mount = must(
    KBGP.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`)),
    `a volumeMount holding ${path}`,
  );
  const relative = posix.relative(mount.mountPath, path);
  const volume = must(
    POD.volumes?.find((v) => v.name === mount.name),
    `volume ${mount.name}`,
  );
  const source = must(volume.configMap, `volume ${mount.name} as a configMap`);
  const key = source.items === undefined ? relative : must(source.items.find((i) => i.path === relative)?.key, `an item for ${relative}`);
  const configMaps = MANIFESTS.map((m) => m.object).filter((o): o is k8s.V1ConfigMap => conforms<k8s.V1ConfigMap>(o, 'ConfigMap'));
  const configMap = must(
    configMaps.find((c) => c.metadata?.name === source.name && c.metadata?.namespace === DAEMONSET.metadata?.namespace),
    `ConfigMap ${source.name ?? ''}`,
  );
  return { configMap, key };
}

// ------------------------------------------------------------------------------------------------

describe('deploy/: every document against the Kubernetes API schemas', () => {
  it('reads the documents', () => {
    expect(FILES.length).toBeGreaterThan(0);
    expect(MANIFESTS.map((m) => kindOf(m.object)).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
  });

  it.each(MANIFESTS.map((m) => [m.where, m.object] as const))('%s is valid', (_where, object) => {
    expect(validateObject(object)).toEqual([]);
  });

  it('puts every namespaced object in the Namespace it creates', () => {
    const namespaced = MANIFESTS.map((m) => m.object).filter((o) => KINDS[String(kindOf(o))]?.namespaced === true);
    expect(namespaced.length).toBeGreaterThan(0);
    for (const o of namespaced) expect(isObject(o) && isObject(o.metadata) ? o.metadata.namespace : undefined).toBe(NAMESPACE.metadata?.name);
  });
});

describe('the validator fails where kubectl --validate=strict would', () => {
  const TEXT = read('deploy/kbgp.yaml');
  const problemsIn = (text: string): string[] => parseManifests(text, 'kbgp.yaml').flatMap((m) => validateObject(m.object));
  // Each case edits one spot of the real file; an edit of deploy/kbgp.yaml may need the case updated.
  const replaceOnce = (text: string, from: string, to: string): string => {
    expect(text.split(from).length - 1, `occurrences of ${JSON.stringify(from)} in deploy/kbgp.yaml`).toBe(1);
    return text.replace(from, to);
  };

  it('reports a misspelt field and a wrong type in a copy of deploy/kbgp.yaml, with their paths', () => {
    const broken = replaceOnce(replaceOnce(TEXT, 'hostNetwork: true', 'hostNetwrok: true'), 'containerPort: 9179', 'containerPort: "9179"');
    expect(problemsIn(broken)).toEqual([
      'DaemonSet kbgp: spec.template.spec.hostNetwrok: unknown field',
      'DaemonSet kbgp: spec.template.spec.containers[0].ports[1].containerPort: must be an integer, not the string "9179"',
    ]);
  });

  it.each([
    ['YAML 1.1 reads `yes` as a boolean, as Kubernetes does', 'value: /run/kbgp', 'value: yes', 'DaemonSet kbgp: spec.template.spec.containers[0].env[2].value: must be a string, not the boolean true'],
    ['a required field missing', '        - name: kbgp\n', '        - nmae: kbgp\n', 'DaemonSet kbgp: spec.template.spec.containers[0].nmae: unknown field; DaemonSet kbgp: spec.template.spec.containers[0].name: required field missing'],
    ['an enum value misspelt', 'dnsPolicy: ClusterFirstWithHostNet', 'dnsPolicy: ClusterFirstWithHostnet', 'DaemonSet kbgp: spec.template.spec.dnsPolicy: "ClusterFirstWithHostnet" is not one of "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"'],
    ['a quantity that is not one', 'memory: 512Mi', 'memory: 512MB', 'DaemonSet kbgp: spec.template.spec.containers[0].resources.limits.memory: the string "512MB" is not a quantity (e.g. 50m, 128Mi)'],
    ['a list where an object goes', 'seccompProfile:\n          type: RuntimeDefault', 'seccompProfile: [RuntimeDefault]', 'DaemonSet kbgp: spec.template.spec.securityContext.seccompProfile: must be an object (V1SeccompProfile), not a list'],
    ['an unknown field in a list item', '    verbs: [get, list, watch]\n  - apiGroups: [discovery.k8s.io]', '    verb: [get, list, watch]\n  - apiGroups: [discovery.k8s.io]', 'ClusterRole kbgp: rules[0].verb: unknown field; ClusterRole kbgp: rules[0].verbs: required field missing'],
    ['a kind in the wrong API group', 'apiVersion: apps/v1\nkind: DaemonSet', 'apiVersion: v1\nkind: DaemonSet', 'DaemonSet kbgp: apiVersion: "v1" does not serve DaemonSet (apps/v1 does)'],
    ['a namespace on a cluster-scoped object', 'kind: ClusterRole\nmetadata:\n  name: kbgp\n', 'kind: ClusterRole\nmetadata:\n  name: kbgp\n  namespace: kbgp-system\n', 'ClusterRole kbgp: metadata.namespace: ClusterRole is cluster-scoped'],
    ['a kind it has no schema for', 'apiVersion: v1\nkind: ServiceAccount', 'apiVersion: v1\nkind: ServiceAcount', 'ServiceAcount kbgp: kind: not a kind this validator knows (Namespace, ServiceAccount, ConfigMap, Secret, Service, DaemonSet, ClusterRole, ClusterRoleBinding, Role, RoleBinding)'],
  ])('%s', (_case, from, to, expected) => {
    expect(problemsIn(replaceOnce(TEXT, from, to)).join('; ')).toBe(expected);
  });

  it('refuses a duplicate key, as the API server does', () => {
    expect(() => parseManifests(replaceOnce(TEXT, '      hostNetwork: true\n', '      hostNetwork: true\n      hostNetwork: false\n'), 'kbgp.yaml')).toThrow(/unique/i);
  });
});

describe('ClusterRole: read-only, and only what kbgp follows', () => {
  const rules = ROLE.rules ?? [];

  it('grants get, list and watch and nothing else', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect([...r.verbs].sort()).toEqual(['get', 'list', 'watch']);
      expect([r.resourceNames, r.nonResourceURLs]).toEqual([undefined, undefined]);
    }
  });

  it('names exactly the resources kbgp reads, no wildcards', () => {
    const granted = rules.flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).map((res) => `${g === '' ? 'core' : g}/${res}`))).sort();
    expect(granted).toEqual([
      'core/nodes',
      'core/services',
      'crd.projectcalico.org/bgpconfigurations',
      'crd.projectcalico.org/bgpfilters',
      'crd.projectcalico.org/bgppeers',
      'discovery.k8s.io/endpointslices',
    ]);
  });

  it('is bound to the DaemonSet\'s service account', () => {
    expect(BINDING.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE.metadata?.name });
    expect(BINDING.subjects).toEqual([{ kind: 'ServiceAccount', name: ACCOUNT.metadata?.name, namespace: ACCOUNT.metadata?.namespace }]);
    expect(POD.serviceAccountName).toBe(ACCOUNT.metadata?.name);
    expect(DAEMONSET.metadata?.namespace).toBe(ACCOUNT.metadata?.namespace);
  });
});

describe('DaemonSet', () => {
  it('runs on the host network on every node and knows its node', () => {
    expect(POD.hostNetwork).toBe(true);
    expect(POD.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(POD.tolerations).toContainEqual({ operator: 'Exists' });
    expect(KBGP.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    // hostNetwork, host ports and hostPath are outside Pod Security "baseline".
    expect(NAMESPACE.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('selects its own pods and rolls one node at a time', () => {
    const labels = DAEMONSET.spec?.template.metadata?.labels ?? {};
    expect(Object.entries(DAEMONSET.spec?.selector.matchLabels ?? {}).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(DAEMONSET.spec?.selector.matchLabels ?? {})) expect(labels[k]).toBe(v);
    expect(DAEMONSET.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(POD.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('runs kbgp as a non-root user with NET_BIND_SERVICE alone, on a read-only root', () => {
    const sc = must(KBGP.securityContext, 'kbgp securityContext');
    expect(sc.runAsNonRoot ?? POD.securityContext?.runAsNonRoot).toBe(true);
    expect(sc.runAsUser ?? POD.securityContext?.runAsUser).toBe(65532);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).toBeUndefined();
    expect(sc.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    expect(POD.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
  });

  it('lets no other container escalate either; the init container may only chown', () => {
    for (const c of [...(POD.initContainers ?? []), ...POD.containers]) {
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
      expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
    }
    for (const c of POD.initContainers ?? []) expect(c.securityContext?.capabilities?.add, c.name).toEqual(['CHOWN']);
  });

  it('probes /healthz and /readyz on the metrics port', () => {
    const metrics = must(
      KBGP.ports?.find((p) => p.name === 'metrics'),
      'a port named metrics',
    );
    expect(metrics).toEqual({ name: 'metrics', containerPort: 9179, protocol: 'TCP' });
    expect(KBGP.ports?.find((p) => p.name === 'bgp')?.containerPort).toBe(179);
    expect(KBGP.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(KBGP.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // Port names are IANA service names: at most 15 characters, lowercase letters, digits, '-'.
    for (const p of KBGP.ports ?? []) expect(p.name ?? '').toMatch(/^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/);
  });

  it('runs `kbgp run -f <the ConfigMap\'s file> --kubernetes` with flags the CLI has', () => {
    const args = KBGP.args ?? [];
    expect(args[0]).toBe('run');
    expect(args).toContain('--kubernetes');
    const file = must(args[args.indexOf('-f') + 1], 'the -f argument');
    const { configMap, key } = configMapFile(file);
    expect(Object.keys(configMap.data ?? {})).toContain(key);
    const cli = read('src/cli/main.ts');
    // Each flag as the run command declares it: `.option('-f, --file <file>'` or `.option('--kubernetes'`.
    for (const flag of args.filter((a) => a.startsWith('-'))) expect(cli).toMatch(new RegExp(`\\.option\\('(?:-\\w, )?${flag}[ ,']`));
  });

  it('keeps the control socket on a writable /run/kbgp that the CLI in the container finds', () => {
    const env = Object.fromEntries((KBGP.env ?? []).map((e) => [e.name, e.value]));
    expect(env.KBGP_CONTROL_DIR).toBe('/run/kbgp');
    expect(read('src/ops/socket-path.ts')).toContain('process.env.KBGP_CONTROL_DIR');
    const mount = must(
      KBGP.volumeMounts?.find((m) => m.mountPath === '/run/kbgp'),
      'a mount at /run/kbgp',
    );
    expect(mount.readOnly).toBeUndefined();
    const volume = must(
      POD.volumes?.find((v) => v.name === mount.name),
      `volume ${mount.name}`,
    );
    expect(volume.hostPath).toEqual({ path: '/run/kbgp', type: 'DirectoryOrCreate' });
    // The kubelet makes the directory root's; the init container gives it to the daemon's user.
    const init = must(POD.initContainers?.[0], 'an init container');
    expect(init.command).toEqual(['chown', '65532:65532', '/run/kbgp']);
    expect(init.volumeMounts).toContainEqual({ name: mount.name, mountPath: '/run/kbgp' });
  });

  it('has requests, a memory limit above the heap limit, no CPU limit, and an image of this version', () => {
    const res = must(KBGP.resources, 'resources');
    expect(Object.keys(res.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(res.limits?.cpu).toBeUndefined();
    const limit = mebibytes(must(res.limits?.memory, 'a memory limit'));
    const heap = Number(/^--max-old-space-size=(\d+)$/.exec((KBGP.command ?? []).find((a) => a.startsWith('--max-old-space-size=')) ?? '')?.[1]);
    expect(heap).toBeGreaterThan(0);
    expect(heap).toBeLessThanOrEqual(limit * 0.8);
    for (const c of [...(POD.initContainers ?? []), ...POD.containers]) {
      expect(c.image, c.name).toMatch(new RegExp(`:${VERSION.replace(/\./g, '\\.')}$`));
    }
  });
});

describe('the ConfigMap\'s kbgp configuration loads with kbgp\'s own loader', () => {
  const file = must((KBGP.args ?? [])[(KBGP.args ?? []).indexOf('-f') + 1], 'the -f argument');
  const { configMap, key } = configMapFile(file);
  const text = must(configMap.data?.[key], `${key} in the ConfigMap`);
  // Every node the file names a KbgpConfiguration for: each has to load, not only the first.
  const nodes = parseAllDocuments(text).flatMap((d) => {
    const o: unknown = d.toJS();
    if (!isObject(o) || o.kind !== 'KbgpConfiguration' || !isObject(o.metadata)) return [];
    const spec = isObject(o.spec) ? o.spec : {};
    return [String(spec.nodeName ?? o.metadata.name)];
  });
  const port = KBGP.ports?.find((p) => p.name === 'metrics')?.containerPort;

  it('names nodes', () => {
    expect(nodes.length).toBeGreaterThan(0);
  });

  // `default` stands for any node without a configuration of its own.
  it.each(nodes.map((n) => (n === 'default' ? 'worker-7' : n)))('for node %s ($NODE_NAME and $NODE_IP, as the DaemonSet sets them)', (node) => {
    const c = loadConfig(text, undefined, { NODE_NAME: node, NODE_IP: '192.0.2.77' });
    expect(c.nodeName).toBe(node);
    expect(c.routerId).toBe('192.0.2.77');
    // The probes and the metrics port reach what this node serves.
    expect(c.metricsAddress).toEqual({ host: '0.0.0.0', port });
    // Port 179 is why the container adds NET_BIND_SERVICE.
    expect(c.listenPort).toBe(179);
    expect(c.controlSocket).toBeUndefined();
    expect(c.serviceCidrs.clusterIPs.length).toBeGreaterThan(0);
    expect(c.serviceCidrs.loadBalancerIPs.length).toBeGreaterThan(0);
    expect(c.peers.map((p) => p.name)).toContain('tor');
  });
});

// ------------------------------------------------------------------------------------------------
// The Dockerfile: read, not built (no Docker here)

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly steps: readonly { readonly op: string; readonly args: string }[];
}

/** Instructions by stage; continuation lines joined and comment lines dropped, as Docker does. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full !== '') logical.push(full);
  }
  const stages: { image: string; name: string | undefined; steps: { op: string; args: string }[] }[] = [];
  for (const l of logical) {
    const [op = '', ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ image: m?.[1] ?? args, name: m?.[2], steps: [] });
    } else {
      stages.at(-1)?.steps.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** Docker's .dockerignore, for the plain patterns used: the last matching line decides. */
function dockerIgnores(rules: readonly string[], path: string): boolean {
  let ignored = false;
  for (const rule of rules) {
    const include = rule.startsWith('!');
    const pattern = (include ? rule.slice(1) : rule).replace(/\/$/, '');
    if (pattern === '*' || pattern === path || path.startsWith(`${pattern}/`)) ignored = !include;
  }
  return ignored;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const build = must(stages[0], 'a build stage');
  const runtime = must(stages.at(-1), 'a runtime stage');
  const runs = (s: Stage): string[] => s.steps.filter((x) => x.op === 'RUN').map((x) => x.args);
  const copies = (s: Stage): string[][] => s.steps.filter((x) => x.op === 'COPY').map((x) => x.args.split(/\s+/));

  it('builds in node:20-bookworm-slim: npm ci, build, then prune the dev dependencies', () => {
    expect(stages.length).toBe(2);
    expect([build.image, build.name]).toEqual(['node:20-bookworm-slim', 'build']);
    const script = runs(build).join('\n');
    const order = ['npm ci', 'npm run build', 'npm prune --omit=dev'].map((s) => script.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // package.json's engines and the images agree on Node's major version.
    expect(isObject(PACKAGE) && isObject(PACKAGE.engines) ? PACKAGE.engines.node : undefined).toBe('>=20');
    for (const s of stages) expect(s.image).toMatch(/^node:20-/);
  });

  it('sends the build only what it copies', () => {
    const rules = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sources = copies(build)
      .filter((c) => !c.some((a) => a.startsWith('--from=')))
      .flatMap((c) => c.slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(dockerIgnores(rules, s), s).toBe(false);
    for (const s of ['node_modules', 'dist', 'test', '.git']) expect(dockerIgnores(rules, s), s).toBe(true);
  });

  it('runs from a separate image holding the pruned node_modules, dist and package.json, and no sources', () => {
    expect(runtime).not.toBe(build);
    expect(runtime.image).not.toBe(build.name);
    expect(runtime.steps.filter((s) => s.op === 'ADD')).toEqual([]);
    const copied = copies(runtime);
    expect(copied.length).toBeGreaterThan(0);
    for (const c of copied) expect(c[0]).toBe(`--from=${build.name ?? ''}`);
    expect(copied.map((c) => c[1]).sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
  });

  it('runs as the non-root user the DaemonSet names', () => {
    const users = runtime.steps.filter((s) => s.op === 'USER').map((s) => s.args);
    expect(users).toHaveLength(1);
    const [uid, gid] = (users[0] ?? '').split(':').map(Number);
    expect(uid).toBe(KBGP.securityContext?.runAsUser ?? POD.securityContext?.runAsUser);
    expect(gid).toBe(POD.securityContext?.runAsGroup);
    expect(uid).not.toBe(0);
  });

  it('enters the CLI, and the DaemonSet execs that node binary, which carries CAP_NET_BIND_SERVICE', () => {
    const entry: unknown = JSON.parse(runtime.steps.find((s) => s.op === 'ENTRYPOINT')?.args ?? 'null');
    expect(entry).toEqual(['node', '/app/dist/cli/main.js']);
    expect(runs(runtime).join('\n')).toContain('setcap cap_net_bind_service=+ep /usr/local/bin/node');
    // node first, its own flags, then the CLI: no /usr/bin/env in between to drop the capability.
    const command = KBGP.command ?? [];
    expect(command[0]).toBe('node');
    expect(command.at(-1)).toBe('/app/dist/cli/main.js');
    expect(command.slice(1, -1).every((a) => a.startsWith('--'))).toBe(true);
    // `kubectl exec ... -- kbgp status` finds the CLI on PATH.
    expect(runs(runtime).join('\n')).toContain('ln -s /app/dist/cli/main.js /usr/local/bin/kbgp');
    expect(runs(build).join('\n')).toContain('chmod 0755 dist/cli/main.js');
  });
});
