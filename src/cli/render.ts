/**
 * What `kbgp status`, `routes` and `explain` print: `calicoctl node status` tables and `birdc show
 * route all` blocks, from the control socket's JSON. Pure functions of the views: no colour unless
 * asked (the caller asks when stdout is a TTY).
 */
import type { ExplainView, Json, PathView, RouteView, StatusView } from '../ops/views.js';

/** A boxed table as calicoctl draws it; cells padded to the widest in their column. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line, row(headers), line, ...rows.map(row), line].join('\n');
}

function clock(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toISOString().slice(0, 10) === iso.slice(0, 10);
  const time = d.toISOString().slice(11, 19);
  return today ? time : iso.slice(0, 10);
}

const green = (s: string, colour: boolean): string => (colour ? `\u001b[32m${s}\u001b[0m` : s);
const red = (s: string, colour: boolean): string => (colour ? `\u001b[31m${s}\u001b[0m` : s);

export function renderStatus(s: StatusView, colour = false): string {
  const rows = s.peers.map((p) => [
    p.address,
    p.peerType,
    String(p.peerAs),
    p.state === 'Established' ? green('up', colour) : red(p.state === 'Idle' ? 'down' : 'start', colour),
    clock(p.since),
    p.state === 'Established' ? 'Established' : (p.lastError?.reason ?? p.state),
    `${p.prefixes.received}/${p.prefixes.accepted}/${p.prefixes.advertised}`,
  ]);
  const source = `${s.services.source}: ${s.services.synced ? (s.services.healthy ? 'synced and followed' : 'DOWN, keeping what is advertised') : 'not synced yet'}; ${s.services.advertised} service prefixes`;
  return [
    `kbgp is running: node ${s.node}, AS ${s.asNumber}, router ID ${s.routerId}, listening on ${s.listen}`,
    `Services: ${source}`,
    `Loc-RIB: ${s.locRib.ipv4} IPv4, ${s.locRib.ipv6} IPv6 prefixes`,
    '',
    'BGP peers',
    table(['PEER ADDRESS', 'PEER TYPE', 'PEER AS', 'STATE', 'SINCE', 'INFO', 'RECEIVED/ACCEPTED/ADVERTISED'], rows),
    ...s.peers.filter((p) => p.lastError !== undefined && p.state !== 'Established').map((p) => `${p.address}: last error ${clock(p.lastError?.at ?? '')}: ${p.lastError?.reason ?? ''}`),
  ].join('\n');
}

function attributeLines(a: { [key: string]: Json }): string[] {
  const out: string[] = [];
  const fmt = (v: Json): string => (Array.isArray(v) ? v.map((x) => String(x)).join(' ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  for (const [k, v] of Object.entries(a)) {
    if (k === 'imported' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out.push('\tafter import filters:');
      for (const l of attributeLines(v)) out.push(`\t${l}`);
      continue;
    }
    out.push(`\tBGP.${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}: ${fmt(v)}`);
  }
  return out;
}

function pathHead(p: PathView): string {
  const marks = `${p.best ? ' *' : ''}${p.multipath && !p.best ? ' +' : ''}`;
  const why = p.ineligible !== undefined ? ` (not eligible: ${p.ineligible})` : p.decidedBy !== undefined && p.best ? ` (best by ${p.decidedBy})` : p.decidedBy !== undefined ? ` (lost on ${p.decidedBy})` : '';
  const id = p.pathId === undefined ? '' : ` path-id ${p.pathId}`;
  return `unicast [${p.from}${id}]${marks}${why}`;
}

/** `birdc show route all` style: the prefix, then each path with its attributes. */
export function renderRoutes(routes: readonly RouteView[]): string {
  if (routes.length === 0) return 'no routes';
  const lines: string[] = [];
  for (const r of routes) {
    r.paths.forEach((p, i) => {
      lines.push(`${i === 0 ? r.prefix.padEnd(24) : ' '.repeat(24)} ${pathHead(p)}`);
      lines.push(`\tvia ${p.nextHop === '' ? '(this node)' : p.nextHop}`);
      lines.push(...attributeLines(p.attributes));
    });
  }
  return lines.join('\n');
}

export function renderExplain(e: ExplainView): string {
  if (!e.found) return `no service ${e.service} in this node's view of the cluster`;
  if (e.addresses.length === 0) return `${e.service} has no IP addresses`;
  const lines = [`${e.service}:`];
  for (const a of e.addresses) {
    lines.push(`  ${a.address}: ${a.advertised ? `advertised as ${a.prefix ?? ''}` : 'not advertised'}${a.gracefulShutdown === true ? ' with GRACEFUL_SHUTDOWN (every local endpoint is terminating)' : ''}`);
    lines.push(`    why: ${a.why}`);
    for (const p of a.peers ?? []) lines.push(`    to ${p.peer}: ${p.sent ? 'sent' : `not sent: ${p.why ?? 'kept back'}`}`);
  }
  return lines.join('\n');
}
