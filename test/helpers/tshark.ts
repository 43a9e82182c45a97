/**
 * Runs Wireshark's dissector (tshark) over messages kbgp encoded, as an independent reading of
 * our bytes. The messages become the payload of TCP segments in a pcap written here, with no
 * text2pcap and no network; tshark's PDML output is parsed into a tree of fields keyed by the
 * field names of `tshark -G fields`, so a test can walk a message the way Wireshark saw it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// pcap (the classic libpcap format: a 24-octet global header, then a 16-octet header per record)

export interface TcpEndpoints {
  readonly srcAddress: string;
  readonly srcPort: number;
  readonly dstAddress: string;
  readonly dstPort: number;
}

/** kbgp's side is 127.0.0.1:179 (it accepted the connection); the peer is 127.0.0.2:50000. */
export const DEFAULT_ENDPOINTS: TcpEndpoints = { srcAddress: '127.0.0.1', srcPort: 179, dstAddress: '127.0.0.2', dstPort: 50000 };

/**
 * Largest TCP payload per segment: an IPv4 total length is 16 bits, so an RFC 8654 extended
 * message of up to 65535 octets has to be cut, as TCP would cut it, and tshark reassembles it.
 */
const MAX_SEGMENT = 16384;
const LINKTYPE_ETHERNET = 1;
const IP_HEADER = 20;
const TCP_HEADER = 20;
const TCP_PSH_ACK = 0x18;
/** Initial sequence numbers; arbitrary, but non-zero so Wireshark's relative numbering shows. */
const ISN = 0x1000;
const PEER_ISN = 0x2000;

function ipv4Octets(s: string): number[] {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`${s} is not an IPv4 address`);
  return parts;
}

/** RFC 1071 one's-complement sum of `data`, folded and complemented. */
function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One Ethernet/IPv4/TCP frame carrying `payload`, with correct IP and TCP checksums. */
function tcpFrame(ep: TcpEndpoints, seq: number, ack: number, ipId: number, payload: Buffer): Buffer {
  const src = ipv4Octets(ep.srcAddress);
  const dst = ipv4Octets(ep.dstAddress);
  const eth = Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  const ip = Buffer.alloc(IP_HEADER);
  ip[0] = 0x45; // version 4, 5 words of header
  ip.writeUInt16BE(IP_HEADER + TCP_HEADER + payload.length, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // Don't Fragment
  ip[8] = 64; // TTL
  ip[9] = 6; // TCP
  Buffer.from(src).copy(ip, 12);
  Buffer.from(dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const tcp = Buffer.alloc(TCP_HEADER);
  tcp.writeUInt16BE(ep.srcPort, 0);
  tcp.writeUInt16BE(ep.dstPort, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = (TCP_HEADER / 4) << 4;
  tcp[13] = TCP_PSH_ACK;
  tcp.writeUInt16BE(65535, 14); // window
  const pseudo = Buffer.from([...src, ...dst, 0, 6, ((TCP_HEADER + payload.length) >> 8) & 0xff, (TCP_HEADER + payload.length) & 0xff]);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp, payload])), 16);
  return Buffer.concat([eth, ip, tcp, payload]);
}

/**
 * A pcap in which `messages` travel, in order, as one TCP byte stream from `ep.src*` to `ep.dst*`:
 * one message per segment, or several segments for a message longer than MAX_SEGMENT.
 */
export function buildPcap(messages: readonly Buffer[], ep: TcpEndpoints = DEFAULT_ENDPOINTS): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16); // snaplen
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const records: Buffer[] = [header];
  let seq = ISN;
  let n = 0;
  for (const m of messages) {
    if (m.length === 0) throw new Error('an empty message has no TCP segment');
    for (let off = 0; off < m.length; off += MAX_SEGMENT) {
      const frame = tcpFrame(ep, seq, PEER_ISN, n + 1, m.subarray(off, off + MAX_SEGMENT));
      const rec = Buffer.alloc(16);
      // One frame a millisecond.
      rec.writeUInt32LE(1_700_000_000 + Math.floor(n / 1000), 0);
      rec.writeUInt32LE((n % 1000) * 1000, 4);
      rec.writeUInt32LE(frame.length, 8);
      rec.writeUInt32LE(frame.length, 12);
      records.push(rec, frame);
      seq += Math.min(MAX_SEGMENT, m.length - off);
      n++;
    }
  }
  return Buffer.concat(records);
}

// ---------------------------------------------------------------------------------------------
// PDML: tshark's XML rendering of the protocol tree. Every item is a <proto> or <field> element
// with name, show, value, pos and size attributes; text-only tree items have an empty name.

export interface PdmlNode {
  /** `proto` or `field`. */
  readonly kind: string;
  /** The field name (`bgp.type`), or '' for a text-only item. */
  readonly name: string;
  /** Wireshark's display value (`show=`): `2`, `10.0.0.0`, `True`, or the text of a text item. */
  readonly show: string;
  /** `showname=`: the line as Wireshark prints it in the tree. */
  readonly showname: string;
  /** The raw octets in hex (`value=`), when Wireshark gives them. */
  readonly value: string;
  readonly pos: number;
  readonly size: number;
  readonly children: PdmlNode[];
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

/**
 * Parses tshark's PDML into one root node per <packet>, its children the <proto> elements. PDML is
 * a fixed, attribute-only dialect (no text content, no CDATA), which is all this reads.
 */
export function parsePdml(xml: string): PdmlNode[] {
  const packets: PdmlNode[] = [];
  const stack: PdmlNode[] = [];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w.:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->/g;
  const attr = /([\w.:-]+)\s*=\s*"([^"]*)"/g;
  for (let m = tag.exec(xml); m !== null; m = tag.exec(xml)) {
    const [, closing, element, attrText, selfClosing] = m;
    if (element === undefined || element === 'pdml') continue; // <?xml ...?>, a comment, or the root
    if (closing === '/') {
      const top = stack.pop();
      if (top === undefined || top.kind !== element) {
        throw new Error(`PDML: </${element}> does not close <${top?.kind ?? 'nothing'}>`);
      }
      if (element === 'packet') packets.push(top);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (let a = attr.exec(attrText ?? ''); a !== null; a = attr.exec(attrText ?? '')) attrs[a[1] as string] = unescapeXml(a[2] as string);
    const node: PdmlNode = {
      kind: element,
      name: attrs.name ?? '',
      show: attrs.show ?? '',
      showname: attrs.showname ?? '',
      value: attrs.value ?? '',
      pos: Number(attrs.pos ?? -1),
      size: Number(attrs.size ?? -1),
      children: [],
    };
    stack[stack.length - 1]?.children.push(node);
    if (selfClosing !== '/') stack.push(node);
    else if (element === 'packet') packets.push(node);
  }
  if (stack.length !== 0) throw new Error(`PDML ended inside <${stack[stack.length - 1]?.kind}>`);
  return packets;
}

/** Every node named `name` under `node` (not `node` itself), depth first, in document order. */
export function findAll(node: PdmlNode, name: string): PdmlNode[] {
  const out: PdmlNode[] = [];
  const walk = (n: PdmlNode): void => {
    for (const c of n.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(node);
  return out;
}

/**
 * Wireshark's expert items anywhere under `node` (as "Severity: message"), and whether it marked
 * anything malformed: the dissector's own verdict that the bytes do not parse as it expects.
 */
export function expertInfo(node: PdmlNode): string[] {
  return findAll(node, '_ws.expert').map((e) => {
    const message = findAll(e, '_ws.expert.message')[0]?.show ?? e.showname;
    const severity = (findAll(e, '_ws.expert.severity')[0]?.showname ?? 'unknown severity').replace(/^Severity level: /, '');
    return `${severity}: ${message}`;
  });
}

export function isMalformed(node: PdmlNode): boolean {
  return findAll(node, '_ws.malformed').length > 0;
}

// ---------------------------------------------------------------------------------------------
// Running tshark

export interface DissectOptions {
  /** `-o name:value` preference overrides, on top of TCP reassembly, which is always on. */
  readonly prefs?: Readonly<Record<string, string>>;
  readonly endpoints?: TcpEndpoints;
  /** Bound on tshark's run time; it is killed when exceeded. */
  readonly timeoutMs?: number;
}

/** One BGP message as Wireshark found it, and the frame it was found in (the last of its segments). */
export interface DissectedMessage {
  readonly frame: PdmlNode;
  readonly bgp: PdmlNode;
}

export interface Dissection {
  /** One node per captured frame; its children are the <proto> elements. */
  readonly packets: PdmlNode[];
  /** Every BGP message Wireshark found, in stream order, across all frames. */
  readonly messages: DissectedMessage[];
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * Writes `messages` into a pcap in a fresh temporary directory, runs tshark over it with a
 * personal configuration directory of its own (so the developer's Wireshark preferences cannot
 * change the reading), and returns the parsed PDML. The directory is removed afterwards.
 */
export async function dissect(tshark: string, messages: readonly Buffer[], opts: DissectOptions = {}): Promise<Dissection> {
  const dir = await mkdtemp(join(tmpdir(), 'kbgp-tshark-'));
  try {
    const pcap = join(dir, 'bgp.pcap');
    await writeFile(pcap, buildPcap(messages, opts.endpoints));
    const prefs: Record<string, string> = { 'tcp.desegment_tcp_streams': 'TRUE', 'bgp.desegment': 'TRUE', ...opts.prefs };
    const args = ['-n', '-r', pcap, '-T', 'pdml', ...Object.entries(prefs).flatMap(([k, v]) => ['-o', `${k}:${v}`])];
    const env = { ...process.env, WIRESHARK_CONFIG_DIR: join(dir, 'config'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
    const xml = await run(tshark, args, env, opts.timeoutMs ?? 20_000);
    const packets = parsePdml(xml);
    const found = packets.flatMap((frame) =>
      frame.children.filter((c) => c.kind === 'proto' && c.name === 'bgp').map((bgp) => ({ frame, bgp })),
    );
    return { packets, messages: found };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `tshark --version`'s first line, e.g. `TShark (Wireshark) 4.0.17 (...)`. */
export async function tsharkVersion(tshark: string): Promise<string> {
  const out = await run(tshark, ['--version'], process.env, 10_000);
  return out.split('\n')[0] ?? '';
}
