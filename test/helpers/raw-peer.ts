/**
 * A raw BGP peer for tests: a socket that sends exactly the bytes a test gives it and records every
 * message it receives. It uses the codec only to frame and read what kbgp sends, never to decide.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { type BgpMessage, Framer, MessageType, type OpenMessage, decodeMessage, encodeMessage } from '../../src/bgp/index.js';
import { buildOpen } from '../../src/fsm/negotiate.js';

export class RawPeer {
  readonly received: BgpMessage[] = [];
  private readonly framer = new Framer(65535);
  private closedFlag = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) this.received.push(decodeMessage(m, { fourOctetAs: true, maxMessageLength: 65535 }));
    });
    socket.on('close', () => {
      this.closedFlag = true;
    });
    socket.on('error', () => undefined);
  }

  /** Connects from `localAddress` to kbgp. */
  static connect(host: string, port: number, localAddress: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress });
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Listens on host:port and resolves with the first connection kbgp makes. */
  static listen(host: string, port: number): { server: Server; peer: Promise<RawPeer> } {
    const server = createServer();
    const peer = new Promise<RawPeer>((resolve) => server.once('connection', (s) => resolve(new RawPeer(s))));
    server.listen(port, host);
    return { server, peer };
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(bytes: Buffer | BgpMessage): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : encodeMessage(bytes));
  }

  /** Sends an OPEN for `asn`/`id` with IPv4+IPv6 unicast and 4-octet AS, then a KEEPALIVE. */
  open(asn: number, id: string, holdTime = 90): OpenMessage {
    const open = buildOpen(asn, id, holdTime, { families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] });
    this.send(open);
    this.send({ type: MessageType.Keepalive });
    return open;
  }

  /** Waits until a received message satisfies `pred`; bounded by `timeoutMs`. */
  async waitFor<T extends BgpMessage>(pred: (m: BgpMessage) => m is T, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.received.find(pred);
      if (m !== undefined) return m;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out; received ${this.received.map((m) => m.type).join(',')}`);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closedFlag) throw new Error('connection still open');
  }

  close(): void {
    this.socket.destroy();
  }
}

export const isType =
  <K extends BgpMessage['type']>(type: K) =>
  (m: BgpMessage): m is Extract<BgpMessage, { type: K }> =>
    m.type === type;

/** Polls `cond` until true; bounded. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
