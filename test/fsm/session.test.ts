/**
 * The session shell on real sockets, without the daemon: what happens around the pure machine.
 */
import { Socket, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MessageType } from '../../src/bgp/index.js';
import { systemClock } from '../../src/fsm/clock.js';
import type { DownReason } from '../../src/fsm/down-reason.js';
import { Session, type SessionHooks } from '../../src/fsm/session.js';
import { DEFAULT_TIMERS, type SessionSettings } from '../../src/fsm/state-machine.js';
import { RawPeer, isType, until } from '../helpers/raw-peer.js';
import { MANDATORY_4, update } from '../helpers/bytes.js';

const servers: Server[] = [];
const sessions: Session[] = [];
const peers: RawPeer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of sessions.splice(0)) s.stop('test over');
  for (const p of peers.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const settings: SessionSettings = {
  ...DEFAULT_TIMERS,
  connectDelay: 0,
  localAs: 64512,
  peerAs: 65001,
  bgpIdentifier: '127.0.2.30',
  passive: true,
  capabilities: { families: [{ afi: 1, safi: 1 }] },
};

function sessionWith(hooks: Partial<SessionHooks>, downs: DownReason[]): Session {
  const s = new Session({ address: '127.0.2.31', port: 179 }, settings, true, {
    established: () => undefined,
    update: () => undefined,
    routeRefresh: () => undefined,
    down: (r) => downs.push(r),
    ...hooks,
  }, { clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }) });
  sessions.push(s);
  return s;
}

/** A listener that hands every connection to the session, as the daemon's listener does. */
async function listen(session: Session, port: number): Promise<void> {
  const server = createServer((socket) => session.acceptIncoming(socket));
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.2.30', r));
}

/**
 * An active session (kbgp on 127.0.2.30 connecting out to a raw peer listening on 127.0.2.31:11189)
 * whose first OPEN has arrived; `inbound` counts every connection kbgp makes to the peer.
 */
async function activeSession(timers: Partial<SessionSettings>): Promise<{ s: Session; ours: RawPeer; inbound: number[] }> {
  const s = new Session({ address: '127.0.2.31', port: 11189 }, { ...settings, passive: false, ...timers }, true, { established: () => undefined, update: () => undefined, routeRefresh: () => undefined, down: () => undefined }, { clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }) });
  sessions.push(s);
  const inbound: number[] = [];
  const { server, peer } = RawPeer.listen('127.0.2.31', 11189);
  servers.push(server);
  server.on('connection', (sock: Socket) => {
    inbound.push(Date.now());
    sockets.push(sock);
  });
  await listen(s, 11189);
  s.start();
  const ours = await peer;
  peers.push(ours);
  await ours.waitFor(isType(MessageType.Open));
  return { s, ours, inbound };
}

describe('Session', () => {
  it('ends only this session, with a Cease, when something behind it throws', async () => {
    const downs: DownReason[] = [];
    const s = sessionWith({ update: () => { throw new Error('RIB bug'); } }, downs);
    await listen(s, 11186);
    s.start();
    const p = await RawPeer.connect('127.0.2.30', 11186, '127.0.2.31');
    peers.push(p);
    p.open(65001, '127.0.2.31');
    await until(() => s.state === 'Established', 3000, 'Established');
    p.send(update({ attrs: MANDATORY_4, nlri: [8, 10] }));
    const n = await p.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode]).toEqual([6, 0]);
    expect(downs.map((d) => d.kind)).toEqual(['notification-sent']);
    expect(downs[0]?.kind === 'notification-sent' && downs[0].why).toBe('internal error: RIB bug');
  });

  it('refuses an incoming connection while stopped', async () => {
    const s = sessionWith({}, []);
    await listen(s, 11187);
    const p = await RawPeer.connect('127.0.2.30', 11187, '127.0.2.31');
    peers.push(p);
    await p.waitClosed();
    expect(p.received).toEqual([]);
    expect(s.state).toBe('Idle');
  });

  it('waits the error time after a failure and then accepts the peer again', async () => {
    const fast = { ...settings, errorWaitMin: 0.3, errorWaitMax: 0.6 };
    const downs: DownReason[] = [];
    const s = new Session({ address: '127.0.2.31', port: 179 }, fast, true, { established: () => undefined, update: () => undefined, routeRefresh: () => undefined, down: (r) => downs.push(r) }, { clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }) });
    sessions.push(s);
    await listen(s, 11188);
    s.start();
    const first = await RawPeer.connect('127.0.2.30', 11188, '127.0.2.31');
    peers.push(first);
    first.open(65001, '127.0.2.31');
    await until(() => s.state === 'Established', 3000, 'Established');
    first.close();
    await until(() => s.state === 'Idle', 3000, 'Idle after the reset');
    await until(() => s.state === 'Active', 3000, 'Active again after the error wait');
    const second = await RawPeer.connect('127.0.2.30', 11188, '127.0.2.31');
    peers.push(second);
    second.open(65001, '127.0.2.31');
    await until(() => s.state === 'Established', 3000, 'Established again');
    expect(downs.map((d) => d.kind)).toEqual(['connection-closed']);
    expect(s.downHistory.map((h) => h.reason.kind)).toEqual(['connection-closed']);
  });

  it('takes the incoming connection as the session when the peer resolves a collision against ours', async () => {
    // Both sides connect. The peer (higher BGP Identifier) resolves the collision first and sends
    // Cease / Connection Collision Resolution on kbgp's connection; then the OPEN on its own
    // connection arrives. That connection is now the session: Established, and kbgp must not
    // reconnect out behind it after the error wait.
    const { s, ours, inbound } = await activeSession({ errorWaitMin: 0.2, errorWaitMax: 0.3 });
    const theirs = await RawPeer.connect('127.0.2.30', 11189, '127.0.2.31');
    peers.push(theirs);
    await theirs.waitFor(isType(MessageType.Open));
    ours.send({ type: MessageType.Notification, code: 6, subcode: 7, data: Buffer.alloc(0) });
    await ours.waitClosed();
    theirs.open(65001, '127.0.2.31');
    await until(() => s.state === 'Established', 3000, 'Established on the incoming connection');
    const since = s.since;
    // Past the error wait: still the same session, and no second outgoing connection.
    await new Promise((r) => setTimeout(r, 800));
    expect(s.state).toBe('Established');
    expect(s.since).toBe(since);
    expect(inbound).toHaveLength(1);
    expect(theirs.closed).toBe(false);
  });

  it('forgets a second connection that closes: nothing connects out behind the established session', async () => {
    // The peer opens a second connection while the session is up (a late collision) and closes it
    // again. Left to its own FSM that connection would fall back to Active and, a retry time later,
    // connect out: a connection that BIRD and FRR, with graceful restart, take for our restart.
    const { s, ours, inbound } = await activeSession({ connectRetryTime: 0.2 });
    ours.open(65001, '127.0.2.31');
    ours.send({ type: MessageType.Keepalive });
    await until(() => s.state === 'Established', 3000, 'Established');
    const since = s.since;
    const late = await RawPeer.connect('127.0.2.30', 11189, '127.0.2.31');
    peers.push(late);
    await late.waitFor(isType(MessageType.Open));
    late.close();
    // Several retry times: the session stays as it was and nothing new reaches the peer.
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.state).toBe('Established');
    expect(s.since).toBe(since);
    expect(inbound).toHaveLength(1);
    expect(ours.closed).toBe(false);
  });

  it('keeps its own connection attempt when the peer connects meanwhile, and collision detection picks one', async () => {
    // kbgp is in Connect with its attempt still under way when the peer's connection arrives. The
    // attempt must not be cancelled: the peer may already hold it and keep it. Here kbgp has the
    // higher BGP Identifier, so its own connection is the one both ends keep (RFC 4271 §6.8).
    const active = { ...settings, passive: false };
    let attempt: Socket | undefined;
    const s = new Session({ address: '127.0.2.31', port: 11189 }, active, true, { established: () => undefined, update: () => undefined, routeRefresh: () => undefined, down: () => undefined }, {
      clock: systemClock,
      random: Math.random,
      logger: pino({ level: 'silent' }),
      // An attempt that connects only when the test says so.
      connect: () => {
        attempt = new Socket();
        return attempt;
      },
    });
    sessions.push(s);
    const { server, peer } = RawPeer.listen('127.0.2.31', 11189);
    servers.push(server);
    server.on('connection', (sock: Socket) => sockets.push(sock));
    await listen(s, 11189);
    s.start();
    await until(() => attempt !== undefined, 3000, 'the outgoing attempt');
    expect(s.state).toBe('Connect');
    const theirs = await RawPeer.connect('127.0.2.30', 11189, '127.0.2.31');
    peers.push(theirs);
    await theirs.waitFor(isType(MessageType.Open));
    attempt?.connect({ host: '127.0.2.31', port: 11189, localAddress: '127.0.2.30' });
    const ours = await peer;
    peers.push(ours);
    await ours.waitFor(isType(MessageType.Open));
    // The peer, lower identifier, sends its OPEN on both.
    theirs.open(65001, '127.0.2.1');
    ours.open(65001, '127.0.2.1');
    const n = await theirs.waitFor(isType(MessageType.Notification));
    expect([n.code, n.subcode]).toEqual([6, 7]);
    await until(() => s.state === 'Established', 3000, 'Established on our own connection');
    await ours.waitFor(isType(MessageType.Keepalive));
    expect(ours.closed).toBe(false);
    expect(s.localAddress).toBe('127.0.2.30');
  });
});
