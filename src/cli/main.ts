#!/usr/bin/env node
/** The kbgp command line. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { decodeStream, hexToBuffer } from './decode.js';
import { runDemo } from './demo.js';
import { run } from './run.js';
import { CliError, call, resolveSocket } from './control-client.js';
import { renderExplain, renderRoutes, renderStatus } from './render.js';
import { loadConfig } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import type { ExplainView, RouteView, StatusView } from '../ops/views.js';

interface ControlOptions {
  readonly socket?: string;
  readonly node?: string;
  readonly json?: boolean;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const colour = (): boolean => process.stdout.isTTY === true && process.env.NO_COLOR === undefined;

/** The options every command that talks to a running daemon takes. */
function controlled(c: Command): Command {
  return c
    .option('--socket <path>', 'the daemon\'s control socket (default: its node\'s socket)')
    .option('--node <name>', 'which node\'s daemon, when several run here (default: $NODE_NAME)')
    .option('--json', 'print JSON for scripts');
}
const program = new Command();
program.name('kbgp').description('A BGP speaker for Kubernetes service IPs').version('0.1.0');

program
  .command('run')
  .description('run the BGP speaker (without -f: the embedded two-node demo on 127.0.0.11/12)')
  .option('-f, --file <file>', 'configuration file (Calico-shaped YAML)')
  .option('--node <name>', 'the node this daemon speaks for (default: $NODE_NAME or the file\'s KbgpConfiguration)')
  .option('--log-level <level>', 'trace, debug, info, warn, error')
  .option('--kubernetes', 'advertise the services of the cluster found by the usual search: $KUBECONFIG, ~/.kube/config, in-cluster service account')
  .option('--kubeconfig <file>', 'advertise the services of the cluster this kubeconfig names')
  .option('--manifests <dir>', 'advertise the services described by the Service, EndpointSlice and Node manifests in this directory (followed for changes)')
  .option('--drain-on-stop', 'on SIGTERM, drain (RFC 8326: GRACEFUL_SHUTDOWN, then Cease) instead of the default restart-friendly stop')
  .option('--drain-wait <seconds>', 'with --drain-on-stop, how long peers get to move traffic away', '30')
  .action(async (opts: { file?: string; node?: string; logLevel?: string; kubernetes?: boolean; kubeconfig?: string; manifests?: string; drainOnStop?: boolean; drainWait: string }) => {
    await run({ ...opts, drainWait: Number(opts.drainWait) }, process.env);
  });

controlled(program.command('status').description('peers and their sessions, as calicoctl node status shows them; the service source; Loc-RIB size')).action(async (o: ControlOptions) => {
  const s = await call<StatusView>(resolveSocket(o), '/v1/status');
  out(o.json === true ? JSON.stringify(s, null, 2) : renderStatus(s, colour()));
});

controlled(program.command('config').description('the configuration in force: after defaults, selectors, the mesh and the last reload (JSON)')).action(async (o: ControlOptions) => {
  out(JSON.stringify(await call<unknown>(resolveSocket(o), '/v1/config'), null, 2));
});

program
  .command('version')
  .description('kbgp\'s version, and the Node.js it runs on')
  .action(() => out(`kbgp ${program.version() ?? ''} (Node.js ${process.version})`));

controlled(program.command('peers').description('the peers alone, with what each negotiated (JSON)')).action(async (o: ControlOptions) => {
  const s = await call<StatusView>(resolveSocket(o), '/v1/status');
  out(JSON.stringify(s.peers, null, 2));
});

controlled(
  program
    .command('routes')
    .description('routes as birdc show route all shows them: Loc-RIB (every path, best and multipath marked), or what a peer sent or is sent')
    .argument('[prefix]', 'one prefix (an address alone is its /32 or /128)')
    .option('--peer <address>', 'only paths from this peer; with --received or --advertised, the peer to show')
    .option('--received', "the peer's Adj-RIB-In, as received, with why a path is not used")
    .option('--advertised', 'what the peer holds from this node (its Adj-RIB-Out)'),
).action(async (prefix: string | undefined, o: ControlOptions & { peer?: string; received?: boolean; advertised?: boolean }) => {
  if (o.received === true && o.advertised === true) throw new CliError('--received or --advertised, not both');
  const view = o.received === true ? 'received' : o.advertised === true ? 'advertised' : 'loc-rib';
  if (view !== 'loc-rib' && o.peer === undefined) throw new CliError(`--${view} needs --peer ADDRESS`);
  const q = new URLSearchParams({ view, ...(prefix === undefined ? {} : { prefix }), ...(o.peer === undefined ? {} : { peer: o.peer }) });
  const routes = await call<RouteView[]>(resolveSocket(o), `/v1/routes?${q.toString()}`);
  out(o.json === true ? JSON.stringify(routes, null, 2) : renderRoutes(routes));
});

controlled(program.command('explain').description('for each IP of a service: whether this node advertises it and why, or why not').argument('<service>', 'namespace/name')).action(async (service: string, o: ControlOptions) => {
  const e = await call<ExplainView>(resolveSocket(o), `/v1/explain?${new URLSearchParams({ service }).toString()}`);
  out(o.json === true ? JSON.stringify(e, null, 2) : renderExplain(e));
  if (!e.found) process.exitCode = 1;
});

controlled(
  program
    .command('drain')
    .description('graceful shutdown (RFC 8326): routes re-sent with GRACEFUL_SHUTDOWN, then the session(s) end after the wait')
    .option('--peer <address>', 'one peer (default: all)')
    .option('--wait <seconds>', 'time for the peers to move traffic away', '30')
    .option('--reason <text>', 'the shutdown communication the peers see (RFC 9003)', 'drained by the operator'),
).action(async (o: ControlOptions & { peer?: string; wait: string; reason: string }) => {
  const q = new URLSearchParams({ wait: o.wait, reason: o.reason, ...(o.peer === undefined ? {} : { peer: o.peer }) });
  const r = await call<{ drained: string[] }>(resolveSocket(o), `/v1/drain?${q.toString()}`, 'POST', (Number(o.wait) + 30) * 1000);
  out(o.json === true ? JSON.stringify(r) : `drained: ${r.drained.join(', ')}`);
});

controlled(program.command('refresh').description("ask a peer to send its routes again (ROUTE-REFRESH, RFC 2918)").requiredOption('--peer <address>', 'the peer')).action(
  async (o: ControlOptions & { peer: string }) => {
    const r = await call<{ families: string[] }>(resolveSocket(o), `/v1/refresh?${new URLSearchParams({ peer: o.peer }).toString()}`, 'POST');
    out(o.json === true ? JSON.stringify(r) : r.families.length === 0 ? `${o.peer} did not agree to route refresh, or is not up` : `asked ${o.peer} for ${r.families.join(', ')}`);
  },
);

program
  .command('validate')
  .description('check a configuration file without starting anything; exits non-zero on an error')
  .requiredOption('-f, --file <file>', 'configuration file')
  .option('--node <name>', 'the node to resolve it for (default: $NODE_NAME or the file\'s KbgpConfiguration)')
  .action((o: { file: string; node?: string }) => {
    try {
      const c = loadConfig(readFileSync(o.file, 'utf8'), o.node, process.env);
      out(`${o.file}: valid for node ${c.nodeName} (AS ${c.asNumber}, ${c.peers.length} peer${c.peers.length === 1 ? '' : 's'})`);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`${o.file}: ${e.message}`);
      throw e;
    }
  });

program
  .command('demo')
  .description('show the BGP codec at work on the messages kbgp exchanges (no network needed)')
  .action(() => runDemo((line) => process.stdout.write(`${line}\n`)));

program
  .command('decode')
  .description('decode BGP messages given as hex (arguments, or standard input; # comments allowed)')
  .argument('[hex...]', 'message bytes in hex')
  .option('--no-four-octet-as', 'the session did not negotiate 4-octet AS numbers')
  .option('--add-path', 'NLRI carry ADD-PATH path identifiers', false)
  .option('--extended-message', 'allow messages up to 65535 octets', false)
  .option('--ebgp', 'the peer is external (RFC 7606 discards LOCAL_PREF etc.)', false)
  .action((hex: string[], opts: { fourOctetAs: boolean; addPath: boolean; extendedMessage: boolean; ebgp: boolean }) => {
    const text = hex.length > 0 ? hex.join('') : readFileSync(0, 'utf8');
    const results = decodeStream(hexToBuffer(text), opts);
    for (const r of results) process.stdout.write(`${JSON.stringify(r.ok ? r.message : r.notification, null, 2)}\n`);
    if (results.some((r) => !r.ok)) process.exitCode = 1;
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`kbgp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof CliError ? 1 : 2;
});
