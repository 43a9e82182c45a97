#!/usr/bin/env node
/** The kbgp command line. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { decodeStream, hexToBuffer } from './decode.js';
import { runDemo } from './demo.js';
import { run } from './run.js';

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
  .action(async (opts: { file?: string; node?: string; logLevel?: string; kubernetes?: boolean; kubeconfig?: string; manifests?: string }) => {
    await run(opts);
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
  process.exitCode = 2;
});
