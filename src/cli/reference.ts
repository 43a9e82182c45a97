/**
 * The README's two reference sections, rendered from what the code holds so they cannot drift: the
 * configuration reference from src/config/schema.ts (the table validation reads), the metrics
 * reference from the metrics createMetrics registers. `npm run docs` writes them between their
 * markers in README.md (scripts/docs.mjs); test/cli/reference.test.ts fails when README.md
 * differs from what these functions render.
 */
import { parse } from 'yaml';
import { createMetrics } from '../ops/metrics.js';
import type { Json } from '../config/fields.js';
import { DOCUMENT, type FieldSpec, KINDS, type ObjectSpec, PER_NODE_BGP_CONFIGURATION, wordList } from '../config/schema.js';

export const CONFIG_SECTION = 'config-reference';
export const METRICS_SECTION = 'metrics-reference';

const cell = (text: string): string => text.replaceAll('|', '\\|');
const code = (text: string): string => `\`${text}\``;

/** A value as it would be written in a flow-style YAML document: `20s`, `"64512:100"`, `[f]`. */
export function formatExample(v: Json): string {
  if (typeof v === 'string') {
    // Plain when YAML reads it back as the same string; quoted when it would be a number (asdot
    // `1.10`), a boolean, or carries a colon (communities, addresses with ports).
    return /^[A-Za-z0-9_./$][A-Za-z0-9_./$-]*$/.test(v) && parse(v) === v ? v : JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(formatExample).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${formatExample(x)}`).join(', ')}}`;
  return String(v);
}

function fieldRows(spec: ObjectSpec, prefix: string, rendered: Map<ObjectSpec, string>): string[] {
  const rows: string[] = [];
  for (const f of spec) {
    const path = `${prefix}${f.name}`;
    const nested = f.fields ?? f.items;
    const childPrefix = f.items === undefined ? `${path}.` : `${path}[].`;
    const same = nested === undefined ? undefined : rendered.get(nested);
    rows.push(row(f, path, same));
    if (nested !== undefined && same === undefined) {
      rendered.set(nested, childPrefix);
      rows.push(...fieldRows(nested, childPrefix, rendered));
    }
  }
  return rows;
}

function row(f: FieldSpec, path: string, sameAs: string | undefined): string {
  const dflt = f.required === true ? 'required' : (f.default ?? '');
  const example = f.example === undefined ? '' : code(formatExample(f.example));
  let description = f.description;
  if (f.perNode === true) description += ` Also in a ${code('node.<name>')} BGPConfiguration.`;
  if (sameAs !== undefined) description += ` Each with the fields of ${code(sameAs.slice(0, -1))}.`;
  if (f.refused !== undefined) description += ` **Refused**: it ${f.refused}.`;
  return `| ${[code(path), f.type, dflt, example, description].map(cell).join(' | ')} |`;
}

function table(spec: ObjectSpec, prefix: string): string[] {
  return ['| field | type | default | example | what kbgp does with it |', '|---|---|---|---|---|', ...fieldRows(spec, prefix, new Map())];
}

/** The configuration reference: the envelope, then a table per kind, every field the parser reads or refuses. */
export function renderConfigReference(): string {
  const lines = ['<!-- generated from src/config/schema.ts by `npm run docs`: edit the schema, not this section -->', '', '### Every document', '', ...table(DOCUMENT, '')];
  for (const k of KINDS) {
    lines.push('', `### ${code(k.kind)} (${code(k.apiVersion)})`, '', k.summary, '', ...table(k.spec, 'spec.'));
    if (k.kind === 'BGPConfiguration') {
      const perNode = PER_NODE_BGP_CONFIGURATION.filter((f) => f.refused === undefined).map((f) => code(f.name));
      lines.push('', `A ${code('node.<name>')} BGPConfiguration may set only ${wordList(perNode)}, each replacing the default's; any other field there is refused.`);
    }
  }
  return lines.join('\n');
}

interface MetricDoc {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly labels: readonly string[];
  /** A histogram's bucket bounds. */
  readonly buckets?: readonly number[];
}

/** prom-client's typings give `type` as an enum and no `labelNames`; read what the objects hold, and check it. */
function describeMetric(m: object): MetricDoc {
  const name: unknown = Reflect.get(m, 'name');
  const type: unknown = Reflect.get(m, 'type');
  const help: unknown = Reflect.get(m, 'help');
  const labels: unknown = Reflect.get(m, 'labelNames');
  const buckets: unknown = Reflect.get(m, 'upperBounds');
  if (typeof name !== 'string' || typeof type !== 'string' || typeof help !== 'string' || !Array.isArray(labels) || !labels.every((l): l is string => typeof l === 'string')) {
    throw new Error(`metric ${String(name)}: not the name, type, help and labelNames prom-client objects have`);
  }
  if (type === 'histogram' && !(Array.isArray(buckets) && buckets.every((b): b is number => typeof b === 'number'))) throw new Error(`metric ${name}: a histogram without upperBounds`);
  return { name, type, help, labels, ...(type === 'histogram' && Array.isArray(buckets) ? { buckets } : {}) };
}

/** A few of the process metrics prom-client adds, named as examples (each checked to be registered). */
const PROCESS_EXAMPLES = ['kbgp_process_cpu_seconds_total', 'kbgp_process_resident_memory_bytes', 'kbgp_nodejs_eventloop_lag_seconds', 'kbgp_nodejs_heap_size_used_bytes'];

/** The metric names a daemon registers, without a daemon: nothing is collected, so the view is never read. */
function registered(processMetrics: boolean): MetricDoc[] {
  const unread = (): never => {
    throw new Error('the metrics reference reads metric definitions only, never values');
  };
  const { registry } = createMetrics({ peers: unread, locRib: unread, services: unread }, { processMetrics });
  const metrics = registry.getMetricsAsArray().map(describeMetric);
  registry.clear();
  return metrics;
}

/** kbgp's own metrics, as a daemon registers them. */
export function registeredMetrics(): MetricDoc[] {
  return registered(false);
}

/** The names of the process metrics prom-client registers beside kbgp's own. */
export function processMetricNames(): string[] {
  const own = new Set(registeredMetrics().map((m) => m.name));
  return registered(true)
    .map((m) => m.name)
    .filter((n) => !own.has(n));
}

/** The metrics reference: kbgp's own metrics, by name, then a line on the process metrics. */
export function renderMetricsReference(metrics: readonly MetricDoc[] = registeredMetrics(), processNames: readonly string[] = processMetricNames()): string {
  const own = [...metrics].sort((a, b) => a.name.localeCompare(b.name));
  const missing = PROCESS_EXAMPLES.filter((n) => !processNames.includes(n));
  if (missing.length > 0) throw new Error(`process metrics not registered: ${missing.join(', ')}`);
  return [
    '<!-- generated from the metrics src/ops/metrics.ts registers, by `npm run docs`: edit the metrics, not this section -->',
    '',
    '| metric | type | labels | help |',
    '|---|---|---|---|',
    ...own.map((m) => {
      const type = m.buckets === undefined ? m.type : `${m.type}, buckets ${m.buckets.join(', ')}`;
      return `| ${[code(m.name), type, m.labels.length === 0 ? 'none' : m.labels.map(code).join(', '), m.help].map(cell).join(' | ')} |`;
    }),
    '',
    `Besides these, prom-client's default Node.js and process metrics (\`collectDefaultMetrics\`), their usual names prefixed ${code('kbgp_')}, such as ${wordList(PROCESS_EXAMPLES.map(code))}; which ones depends on the platform.`,
  ].join('\n');
}

const marker = (section: string, end: 'start' | 'end'): string => `<!-- ${section}:${end} -->`;

/** The text between a section's markers (without the newlines next to them), or undefined without both markers. */
export function sectionOf(text: string, section: string): string | undefined {
  const start = text.indexOf(marker(section, 'start'));
  const end = text.indexOf(marker(section, 'end'));
  if (start < 0 || end < start) return undefined;
  return text.slice(start + marker(section, 'start').length, end).replace(/^\n/, '').replace(/\n$/, '');
}

/** `text` with the section between its markers replaced by `content`; the markers must be there, once each. */
export function replaceSection(text: string, section: string, content: string): string {
  const start = marker(section, 'start');
  const end = marker(section, 'end');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i || text.indexOf(start, i + 1) >= 0 || text.indexOf(end, j + 1) >= 0) throw new Error(`README.md needs the markers ${start} and ${end}, once each and in that order`);
  return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}

/** README.md with both reference sections as the code renders them now. */
export function updateReadme(text: string): string {
  return replaceSection(replaceSection(text, CONFIG_SECTION, renderConfigReference()), METRICS_SECTION, renderMetricsReference());
}
