/**
 * The manifest-directory source on a real temp directory: objects by kind (and from Lists), this
 * node's Node, changes picked up through the directory watch, and a broken or vanished file never
 * losing what was read before.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/fsm/clock.js';
import { ManifestDirectorySource, parseManifests } from '../../src/k8s/manifest-source.js';
import { until } from '../helpers/raw-peer.js';

const dirs: string[] = [];
const sources: ManifestDirectorySource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const service = (name: string, ip: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {type: LoadBalancer, clusterIP: ${ip}, externalTrafficPolicy: Local}`;
const node = (name: string, labels = '{}'): string => `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: ${labels}}`;

function start(files: Record<string, string>): { dir: string; source: ManifestDirectorySource; changes: () => number } {
  const dir = mkdtempSync(join(tmpdir(), 'kbgp-manifests-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const source = new ManifestDirectorySource({ directory: dir, nodeName: 'n1', clock: systemClock, logger: pino({ level: 'silent' }), settleMs: 30 });
  sources.push(source);
  let changes = 0;
  source.start(() => changes++);
  return { dir, source, changes: () => changes };
}

describe('parseManifests', () => {
  it('sorts documents by kind, opens Lists, and leaves other kinds alone', () => {
    const text = [
      service('a', '10.96.0.1'),
      'apiVersion: v1\nkind: ServiceList\nitems: [{metadata: {name: b, namespace: default}, spec: {clusterIP: 10.96.0.2}}]',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a-1, namespace: default, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.5], nodeName: n1}]',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}',
      node('n1'),
    ].join('\n---\n');
    const o = parseManifests(text);
    expect(o.services.map((s) => s.metadata?.name)).toEqual(['a', 'b']);
    expect(o.services[1]).toMatchObject({ kind: 'Service', spec: { clusterIP: '10.96.0.2' } });
    expect(o.endpointSlices.map((s) => s.endpoints?.[0]?.nodeName)).toEqual(['n1']);
    expect(o.nodes.map((n) => n.metadata?.name)).toEqual(['n1']);
  });

  it('names the document that does not parse', () => {
    expect(() => parseManifests(`${service('a', '10.96.0.1')}\n---\nkind: Service\nmetadata: [unclosed`)).toThrow(/^document 2: /);
  });
});

describe('ManifestDirectorySource', () => {
  it('reads the directory at start, this node\'s Node included', () => {
    const h = start({ 'svc.yaml': service('a', '10.96.0.1'), 'nodes.yml': `${node('n1', '{rack: r1}')}\n---\n${node('n2')}`, 'notes.txt': 'not a manifest' });
    expect(h.source.status()).toMatchObject({ synced: true, healthy: true });
    const s = h.source.state();
    expect(s.services.map((x) => x.metadata?.name)).toEqual(['a']);
    expect(s.node?.metadata?.labels).toEqual({ rack: 'r1' });
    expect(h.changes()).toBe(1);
  });

  it('follows changes, and keeps what a file held while it does not parse or after the directory goes', async () => {
    const h = start({ 'svc.yaml': service('a', '10.96.0.1') });
    writeFileSync(join(h.dir, 'more.yaml'), service('b', '10.96.0.2'));
    await until(() => h.source.state().services.length === 2, 3000, 'the new file');
    writeFileSync(join(h.dir, 'svc.yaml'), 'kind: Service\nmetadata: [half written');
    await until(() => h.source.status().healthy === false, 3000, 'the broken file seen');
    expect(h.source.state().services.map((x) => x.metadata?.name).sort()).toEqual(['a', 'b']);
    expect(h.source.status().detail[0]?.lastError).toMatch(/^svc\.yaml: document 1: /);
    writeFileSync(join(h.dir, 'svc.yaml'), service('a', '10.96.0.9'));
    await until(() => h.source.state().services.some((x) => x.spec?.clusterIP === '10.96.0.9'), 3000, 'the fixed file');
    expect(h.source.status().healthy).toBe(true);
    unlinkSync(join(h.dir, 'more.yaml'));
    await until(() => h.source.state().services.length === 1, 3000, 'the removed file');
    rmSync(h.dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(h.source.state().services.map((x) => x.metadata?.name)).toEqual(['a']);
  });
});
