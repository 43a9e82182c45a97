/**
 * README.md's configuration and metrics references are what src/cli/reference.ts renders from
 * the schema and from the metrics createMetrics registers: editing either without `npm run docs`,
 * or editing the README's generated text by hand, fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_SECTION, METRICS_SECTION, formatExample, processMetricNames, registeredMetrics, renderConfigReference, renderMetricsReference, replaceSection, sectionOf } from '../../src/cli/reference.js';
import { KINDS } from '../../src/config/schema.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const STALE = 'README.md is not what `npm run docs` writes: run it';

describe('README.md reference sections', () => {
  it('holds the configuration reference the schema renders', () => {
    expect(sectionOf(README, CONFIG_SECTION), STALE).toBe(renderConfigReference());
  });

  it('holds the metrics reference the registered metrics render', () => {
    expect(sectionOf(README, METRICS_SECTION), STALE).toBe(renderMetricsReference());
  });

  it('names every kind, and every metric createMetrics registers', () => {
    const config = sectionOf(README, CONFIG_SECTION) ?? '';
    for (const k of KINDS) expect(config).toContain(`### \`${k.kind}\` (\`${k.apiVersion}\`)`);
    const metrics = registeredMetrics();
    // Every metric the operations issue names is among them (and so in the table below).
    const named = ['session_up', 'session_state', 'session_transitions_total', 'messages_received_total', 'messages_sent_total', 'notifications_sent_total', 'notifications_received_total', 'prefixes_received', 'prefixes_accepted', 'prefixes_advertised'].map((n) => `kbgp_bgp_${n}`);
    expect(metrics.map((m) => m.name)).toEqual(expect.arrayContaining([...named, 'kbgp_rib_routes', 'kbgp_k8s_watch_up', 'kbgp_k8s_events_total', 'kbgp_service_prefixes', 'kbgp_service_change_to_update_seconds']));
    const section = sectionOf(README, METRICS_SECTION) ?? '';
    for (const m of metrics) expect(section).toContain(`| \`${m.name}\` | ${m.type}`);
    // The process metrics are not in the table, and each is in kbgp's namespace once (no kbgp_process_process_).
    const processNames = processMetricNames();
    expect(processNames.length).toBeGreaterThan(5);
    for (const name of processNames) {
      expect(name).toMatch(/^kbgp_(process|nodejs)_/);
      expect(name).not.toMatch(/^kbgp_process_process_/);
      expect(section).not.toContain(`| \`${name}\` |`);
    }
  });
});

describe('rendering', () => {
  it('replaces only what is between the markers, and needs both', () => {
    const text = 'before\n<!-- x:start -->\nold\n<!-- x:end -->\nafter\n';
    expect(replaceSection(text, 'x', 'new\nlines')).toBe('before\n<!-- x:start -->\nnew\nlines\n<!-- x:end -->\nafter\n');
    expect(sectionOf(replaceSection(text, 'x', 'new'), 'x')).toBe('new');
    expect(() => replaceSection('no markers', 'x', 'new')).toThrow('README.md needs the markers <!-- x:start --> and <!-- x:end -->');
    expect(() => replaceSection(`${text}${text}`, 'x', 'new')).toThrow('once each');
  });

  it('writes examples as YAML would read them back', () => {
    expect(['20s', '1.10', '64512:100', true, 65001, ['f', 'no_export'], { rack: 'r1' }, "rack == 'r1'", '*'].map((v) => formatExample(v))).toEqual([
      '20s',
      '"1.10"',
      '"64512:100"',
      'true',
      '65001',
      '[f, no_export]',
      '{rack: r1}',
      `"rack == 'r1'"`,
      '"*"',
    ]);
  });

  it('lists a metric that is registered and only then', () => {
    const one = { name: 'kbgp_test_total', type: 'counter', help: 'A | test.', labels: ['peer'] };
    const process = ['kbgp_process_cpu_seconds_total', 'kbgp_process_resident_memory_bytes', 'kbgp_nodejs_eventloop_lag_seconds', 'kbgp_nodejs_heap_size_used_bytes'];
    expect(renderMetricsReference([one], process)).toContain('| `kbgp_test_total` | counter | `peer` | A \\| test. |');
    expect(() => renderMetricsReference([one], process.slice(1))).toThrow('process metrics not registered: kbgp_process_cpu_seconds_total');
  });
});
