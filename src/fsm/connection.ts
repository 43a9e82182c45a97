/**
 * One TCP connection of a session: framing, decoding in the negotiated context, and writing with
 * backpressure. It turns bytes into FSM events and nothing else; it never decides anything.
 */
import type { Socket } from 'node:net';
import {
  BgpError,
  type BgpMessage,
  CeaseError,
  CeaseSubcode,
  DEFAULT_CONTEXT,
  Framer,
  type MessageContext,
  MessageType,
  decodeMessage,
  encodeMessage,
} from '../bgp/index.js';
import type { Clock } from './clock.js';
import type { FsmEvent } from './state-machine.js';

export type Direction = 'in' | 'out';

/** A KEEPALIVE is the same 19 octets on every session; encoded once. */
const KEEPALIVE_BYTES = encodeMessage({ type: MessageType.Keepalive });

export interface ConnectionCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export class Connection {
  private readonly framer = new Framer();
  private rx: MessageContext = DEFAULT_CONTEXT;
  private tx: MessageContext = DEFAULT_CONTEXT;
  private closing = false;
  readonly counters: ConnectionCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };

  /**
   * @param onEvent receives every FSM event this connection produces, synchronously, in order.
   * @param onDrain is called when the socket can take more after having refused (backpressure).
   */
  constructor(
    readonly socket: Socket,
    readonly direction: Direction,
    private readonly onEvent: (e: FsmEvent) => void,
    private readonly onDrain: () => void,
    private readonly clock: Clock,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(false);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (e: NodeJS.ErrnoException) => this.lost(e.code ?? e.message));
    socket.on('end', () => this.lost('connection closed by peer'));
    socket.on('close', () => this.lost('connection closed'));
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  /** After OPENs are exchanged: AS number size, ADD-PATH and the message size limit change. */
  setContexts(rx: MessageContext, tx: MessageContext): void {
    this.rx = rx;
    this.tx = tx;
    this.framer.setMaxMessageLength(rx.maxMessageLength);
  }

  get sendContext(): MessageContext {
    return this.tx;
  }

  /** True while the socket accepts data without buffering beyond its high-water mark. */
  get writable(): boolean {
    return !this.closing && !this.socket.destroyed && !this.socket.writableNeedDrain;
  }

  get open(): boolean {
    return !this.closing && !this.socket.destroyed;
  }

  send(m: BgpMessage): void {
    this.write(m.type === MessageType.Keepalive ? KEEPALIVE_BYTES : encodeMessage(m, this.tx));
  }

  /** Writes an encoded message; returns false when the caller should wait for drain. */
  write(bytes: Buffer): boolean {
    if (this.closing || this.socket.destroyed) return false;
    this.counters.messagesOut++;
    this.counters.bytesOut += bytes.length;
    return this.socket.write(bytes);
  }

  /** Closes after what was written (a NOTIFICATION, say) is flushed; destroys if the peer won't take it. */
  close(graceMs = 1000): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.end();
    const t = this.clock.schedule(graceMs, () => this.socket.destroy());
    this.socket.once('close', () => t.cancel());
  }

  private lost(error: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.destroy();
    this.onEvent({ type: 'TcpConnectionFails', error });
  }

  private receive(chunk: Buffer): void {
    if (this.closing) return;
    this.counters.bytesIn += chunk.length;
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      this.onEvent({ type: 'ProtocolError', error: asBgpError(e) });
      return;
    }
    for (const m of messages) {
      // An event may have closed the connection (a NOTIFICATION, an error): read no further.
      if (this.closing) return;
      this.counters.messagesIn++;
      let event: FsmEvent;
      try {
        event = toEvent(decodeMessage(m, this.rx));
      } catch (e) {
        event = { type: 'ProtocolError', error: asBgpError(e) };
      }
      this.onEvent(event);
    }
  }
}

/**
 * A decoder bug must not take the daemon down: anything that is not a BgpError ends only this
 * session, with a Cease that says so.
 */
function asBgpError(e: unknown): BgpError {
  if (e instanceof BgpError) return e;
  return new CeaseError(CeaseSubcode.Unspecific, `internal error decoding a message: ${e instanceof Error ? e.message : String(e)}`);
}

function toEvent(m: BgpMessage): FsmEvent {
  switch (m.type) {
    case MessageType.Open:
      return { type: 'BgpOpen', open: m };
    case MessageType.Update:
      return { type: 'UpdateMsg', update: m };
    case MessageType.Notification:
      return { type: 'NotifMsg', notification: m };
    case MessageType.Keepalive:
      return { type: 'KeepAliveMsg' };
    case MessageType.RouteRefresh:
      return { type: 'RouteRefreshMsg', refresh: m };
  }
}
