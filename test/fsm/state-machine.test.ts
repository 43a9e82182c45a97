import { describe, expect, it } from 'vitest';
import {
  MessageType,
  type NotificationMessage,
  type OpenMessage,
  UpdateMessageError,
  type UpdateMessage,
} from '../../src/bgp/index.js';
import {
  type Action,
  DEFAULT_TIMERS,
  type FsmEvent,
  type SessionSettings,
  type SessionState,
  type State,
  initialState,
  step,
} from '../../src/fsm/state-machine.js';
import { buildOpen, negotiate } from '../../src/fsm/negotiate.js';

const settings: SessionSettings = {
  ...DEFAULT_TIMERS,
  localAs: 64512,
  peerAs: 65001,
  bgpIdentifier: '192.0.2.1',
  passive: false,
  capabilities: { families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] },
};

const peerOpen: OpenMessage = buildOpen(65001, '192.0.2.2', 90, { families: [{ afi: 1, safi: 1 }] });
const localOpen = buildOpen(settings.localAs, settings.bgpIdentifier, settings.holdTime, settings.capabilities);
const negotiated = negotiate(localOpen, peerOpen);
const update: UpdateMessage = { type: MessageType.Update, withdrawnRoutes: [], attributes: {}, nlri: [] };
const cease: NotificationMessage = { type: MessageType.Notification, code: 6, subcode: 2, data: Buffer.alloc(0) };

function at(state: State, extra: Partial<SessionState> = {}): SessionState {
  const base: SessionState = { state, connectRetryCounter: 0, errorWait: settings.errorWaitMin };
  if (state === 'OpenSent') return { ...base, localOpen, ...extra };
  if (state === 'OpenConfirm' || state === 'Established') return { ...base, localOpen, negotiated, ...extra };
  return { ...base, ...extra };
}

/** An action in a compact form for the tables: `send OPEN`, `start Hold 240`, `down hold-timer-expired`. */
function brief(a: Action): string {
  switch (a.type) {
    case 'send':
      return a.message.type === MessageType.Notification ? `send NOTIFICATION ${a.message.code}/${a.message.subcode}` : `send ${['', 'OPEN', 'UPDATE', '', 'KEEPALIVE', 'ROUTE-REFRESH'][a.message.type]}`;
    case 'startTimer':
      return `start ${a.timer} ${a.seconds}${a.jitter ? '~' : ''}`;
    case 'stopTimer':
      return `stop ${a.timer}`;
    case 'down':
      return `down ${a.reason.kind}${a.wasEstablished ? ' (was up)' : ''}`;
    case 'deliver':
      return `deliver ${a.message.type === MessageType.Update ? 'UPDATE' : 'ROUTE-REFRESH'}`;
    default:
      return a.type;
  }
}

const STOP_ALL = ['stop ConnectRetry', 'stop Hold', 'stop Keepalive', 'stop Stable'];
const FAIL_TAIL = (wait: number, reason: string, wasUp = false): string[] => [...STOP_ALL, 'dropConnection', `start IdleHold ${wait}`, `down ${reason}${wasUp ? ' (was up)' : ''}`];

type Row = readonly [from: State, event: FsmEvent, to: State, actions: readonly string[]];

const rows: Row[] = [
  // Idle
  ['Idle', { type: 'ManualStart' }, 'Connect', ['start ConnectRetry 2~']],
  ['Idle', { type: 'IdleHoldTimerExpires' }, 'Connect', ['start ConnectRetry 2~']],
  ['Idle', { type: 'TcpConnectionConfirmed' }, 'Idle', ['dropConnection']],
  ['Idle', { type: 'KeepAliveMsg' }, 'Idle', []],
  ['Idle', { type: 'ManualStop', why: 'operator' }, 'Idle', ['stop IdleHold']],
  // Connect
  ['Connect', { type: 'ConnectRetryTimerExpires' }, 'Connect', ['dropConnection', 'connect', 'start ConnectRetry 5~']],
  ['Connect', { type: 'TcpCrAcked' }, 'OpenSent', ['stop ConnectRetry', 'send OPEN', 'start Hold 240']],
  ['Connect', { type: 'TcpConnectionConfirmed' }, 'OpenSent', ['stop ConnectRetry', 'send OPEN', 'start Hold 240']],
  ['Connect', { type: 'TcpConnectionFails', error: 'ECONNREFUSED' }, 'Active', []],
  ['Connect', { type: 'ManualStop', why: 'operator' }, 'Idle', [...STOP_ALL, 'stop IdleHold', 'dropConnection', 'down stopped']],
  ['Connect', { type: 'HoldTimerExpires' }, 'Idle', FAIL_TAIL(5, 'connect-failed')],
  // Active
  ['Active', { type: 'ConnectRetryTimerExpires' }, 'Connect', ['connect', 'start ConnectRetry 5~']],
  ['Active', { type: 'TcpConnectionConfirmed' }, 'OpenSent', ['stop ConnectRetry', 'send OPEN', 'start Hold 240']],
  ['Active', { type: 'TcpConnectionFails', error: 'late' }, 'Active', []],
  ['Active', { type: 'ManualStop', why: 'operator' }, 'Idle', [...STOP_ALL, 'stop IdleHold', 'dropConnection', 'down stopped']],
  // OpenSent
  ['OpenSent', { type: 'BgpOpen', open: peerOpen }, 'OpenConfirm', ['send KEEPALIVE', 'start Keepalive 30~', 'start Hold 90']],
  ['OpenSent', { type: 'BgpOpen', open: { ...peerOpen, capabilities: [{ kind: 'four-octet-as', asn: 65002 }] } }, 'Idle', ['send NOTIFICATION 2/2', ...FAIL_TAIL(5, 'notification-sent')]],
  ['OpenSent', { type: 'TcpConnectionFails', error: 'ECONNRESET' }, 'Active', [...STOP_ALL, 'dropConnection', 'start ConnectRetry 5~', 'down connection-closed']],
  ['OpenSent', { type: 'HoldTimerExpires' }, 'Idle', ['send NOTIFICATION 4/0', ...FAIL_TAIL(5, 'hold-timer-expired')]],
  ['OpenSent', { type: 'KeepAliveMsg' }, 'Idle', ['send NOTIFICATION 5/1', ...FAIL_TAIL(5, 'notification-sent')]],
  ['OpenSent', { type: 'UpdateMsg', update }, 'Idle', ['send NOTIFICATION 5/1', ...FAIL_TAIL(5, 'notification-sent')]],
  ['OpenSent', { type: 'NotifMsg', notification: cease }, 'Idle', FAIL_TAIL(5, 'notification-received')],
  ['OpenSent', { type: 'OpenCollisionDump' }, 'Idle', ['send NOTIFICATION 6/7', ...FAIL_TAIL(5, 'collision')]],
  ['OpenSent', { type: 'ManualStop', why: 'operator' }, 'Idle', ['send NOTIFICATION 6/2', ...STOP_ALL, 'stop IdleHold', 'dropConnection', 'down stopped']],
  // OpenConfirm
  ['OpenConfirm', { type: 'KeepAliveMsg' }, 'Established', ['start Hold 90', 'start Stable 300', 'established']],
  ['OpenConfirm', { type: 'KeepaliveTimerExpires' }, 'OpenConfirm', ['send KEEPALIVE', 'start Keepalive 30~']],
  ['OpenConfirm', { type: 'HoldTimerExpires' }, 'Idle', ['send NOTIFICATION 4/0', ...FAIL_TAIL(5, 'hold-timer-expired')]],
  ['OpenConfirm', { type: 'BgpOpen', open: peerOpen }, 'Idle', ['send NOTIFICATION 5/2', ...FAIL_TAIL(5, 'notification-sent')]],
  ['OpenConfirm', { type: 'UpdateMsg', update }, 'Idle', ['send NOTIFICATION 5/2', ...FAIL_TAIL(5, 'notification-sent')]],
  ['OpenConfirm', { type: 'TcpConnectionFails', error: 'ECONNRESET' }, 'Idle', FAIL_TAIL(5, 'connection-closed')],
  ['OpenConfirm', { type: 'OpenCollisionDump' }, 'Idle', ['send NOTIFICATION 6/7', ...FAIL_TAIL(5, 'collision')]],
  // Established
  ['Established', { type: 'KeepAliveMsg' }, 'Established', ['start Hold 90']],
  ['Established', { type: 'UpdateMsg', update }, 'Established', ['start Hold 90', 'deliver UPDATE']],
  ['Established', { type: 'RouteRefreshMsg', refresh: { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0 } }, 'Established', ['start Hold 90', 'deliver ROUTE-REFRESH']],
  ['Established', { type: 'KeepaliveTimerExpires' }, 'Established', ['send KEEPALIVE', 'start Keepalive 30~']],
  ['Established', { type: 'HoldTimerExpires' }, 'Idle', ['send NOTIFICATION 4/0', ...FAIL_TAIL(5, 'hold-timer-expired', true)]],
  ['Established', { type: 'BgpOpen', open: peerOpen }, 'Idle', ['send NOTIFICATION 5/3', ...FAIL_TAIL(5, 'notification-sent', true)]],
  ['Established', { type: 'NotifMsg', notification: cease }, 'Idle', FAIL_TAIL(5, 'notification-received', true)],
  ['Established', { type: 'TcpConnectionFails', error: 'ECONNRESET' }, 'Idle', FAIL_TAIL(5, 'connection-closed', true)],
  [
    'Established',
    { type: 'ProtocolError', error: new UpdateMessageError(1, 'lengths do not add up') },
    'Idle',
    ['send NOTIFICATION 3/1', ...FAIL_TAIL(5, 'notification-sent', true)],
  ],
  [
    'Established',
    { type: 'AutomaticStop', why: 'maximum prefixes', notification: { type: MessageType.Notification, code: 6, subcode: 1, data: Buffer.from([0, 0, 0, 100]) } },
    'Idle',
    ['send NOTIFICATION 6/1', ...FAIL_TAIL(5, 'notification-sent', true)],
  ],
  ['Established', { type: 'ManualStop', why: 'peer removed', notification: { ...cease, subcode: 3 } }, 'Idle', ['send NOTIFICATION 6/3', ...STOP_ALL, 'stop IdleHold', 'dropConnection', 'down stopped (was up)']],
  ['Established', { type: 'StableTimerExpires' }, 'Established', []],
];

describe('RFC 4271 §8 state machine', () => {
  it.each(rows)('%s + %o → %s', (from, event, to, actions) => {
    const { next, actions: got } = step(settings, at(from), event);
    expect(next.state).toBe(to);
    expect(got.map(brief)).toEqual(actions);
  });

  it('has a row for every state', () => {
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']));
  });

  it('sends the OPEN it will negotiate with, with AS_TRANS for a 4-octet AS', () => {
    const big = { ...settings, localAs: 4200000001 };
    const { next, actions } = step(big, at('Connect'), { type: 'TcpCrAcked' });
    const sent = actions.find((a) => a.type === 'send');
    expect(sent?.type === 'send' && sent.message).toEqual(next.localOpen);
    expect(next.localOpen?.myAs).toBe(23456);
    expect(next.localOpen?.capabilities).toContainEqual({ kind: 'four-octet-as', asn: 4200000001 });
  });

  it('answers Bad Peer AS with the 2-octet AS field as data, as BIRD and FRR do', () => {
    const { actions } = step(settings, at('OpenSent'), { type: 'BgpOpen', open: { ...peerOpen, myAs: 65002, capabilities: [] } });
    const sent = actions.find((a) => a.type === 'send');
    expect(sent?.type === 'send' && sent.message.type === MessageType.Notification && sent.message.data.toString('hex')).toBe('fdea');
  });

  it('refuses our own BGP Identifier from an internal peer, and accepts it from an external one', () => {
    const ibgp = { ...settings, peerAs: 64512 };
    const sameId = { ...peerOpen, myAs: 64512, bgpIdentifier: '192.0.2.1', capabilities: [] };
    const bad = step(ibgp, at('OpenSent'), { type: 'BgpOpen', open: sameId });
    expect(bad.actions.map(brief)).toContain('send NOTIFICATION 2/3');
    const ok = step(settings, at('OpenSent'), { type: 'BgpOpen', open: { ...sameId, myAs: 65001 } });
    expect(ok.next.state).toBe('OpenConfirm');
  });

  it('uses no keepalives and no hold timer when the negotiated hold time is 0', () => {
    const zero = { ...settings, holdTime: 0 };
    const sent = step(zero, at('OpenSent', { localOpen: buildOpen(64512, '192.0.2.1', 0, settings.capabilities) }), { type: 'BgpOpen', open: peerOpen });
    expect(sent.actions.map(brief)).toEqual(['send KEEPALIVE', 'stop Hold']);
    expect(sent.next.negotiated?.holdTime).toBe(0);
    const up = step(zero, sent.next, { type: 'KeepAliveMsg' });
    expect(up.actions.map(brief)).toEqual(['start Stable 300', 'established']);
  });

  it('keeps a passive session waiting in Active, never connecting out', () => {
    const passive = { ...settings, passive: true };
    const started = step(passive, at('Idle'), { type: 'ManualStart' });
    expect(started.next.state).toBe('Active');
    expect(started.actions).toEqual([]);
    expect(step(passive, started.next, { type: 'ConnectRetryTimerExpires' }).actions).toEqual([]);
    const failed = step(passive, at('OpenSent'), { type: 'TcpConnectionFails', error: 'reset' });
    expect(failed.actions.map(brief)).not.toContain('start ConnectRetry 5~');
  });

  it('connects at once when the connect delay is 0', () => {
    const { actions } = step({ ...settings, connectDelay: 0 }, at('Idle'), { type: 'ManualStart' });
    expect(actions.map(brief)).toEqual(['connect', 'start ConnectRetry 5~']);
  });
});

describe('DampPeerOscillations', () => {
  it('doubles the error wait after each failure, up to the maximum', () => {
    let s = at('Established');
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = step(settings, { ...s, state: 'Established', negotiated }, { type: 'HoldTimerExpires' });
      const idle = r.actions.find((a) => a.type === 'startTimer' && a.timer === 'IdleHold');
      waits.push(idle?.type === 'startTimer' ? idle.seconds : -1);
      s = r.next;
    }
    expect(waits).toEqual([5, 10, 20, 30, 30, 30]);
  });

  it('forgets the errors once a session has stayed up for errorForgetTime', () => {
    const s = at('Established', { errorWait: 30 });
    const { next } = step(settings, s, { type: 'StableTimerExpires' });
    expect(next.errorWait).toBe(5);
  });

  it('restarts by itself after the IdleHold wait, but not after an operator stop', () => {
    const failed = step(settings, at('Established'), { type: 'HoldTimerExpires' });
    expect(step(settings, failed.next, { type: 'IdleHoldTimerExpires' }).next.state).toBe('Connect');
    const stopped = step(settings, at('Established'), { type: 'ManualStop', why: 'operator' });
    expect(stopped.actions.map(brief)).not.toContain('start IdleHold 5');
    expect(stopped.actions.map(brief)).toContain('stop IdleHold');
  });
});

describe('a whole session, event by event', () => {
  it('comes up, exchanges keepalives and updates, and goes down on a NOTIFICATION', () => {
    const events: FsmEvent[] = [
      { type: 'ManualStart' },
      { type: 'ConnectRetryTimerExpires' },
      { type: 'TcpCrAcked' },
      { type: 'BgpOpen', open: peerOpen },
      { type: 'KeepAliveMsg' },
      { type: 'UpdateMsg', update },
      { type: 'KeepaliveTimerExpires' },
      { type: 'NotifMsg', notification: cease },
    ];
    let s = initialState(settings);
    const trail: string[] = [];
    for (const e of events) {
      const r = step(settings, s, e);
      trail.push(`${s.state}->${r.next.state}`);
      s = r.next;
    }
    expect(trail).toEqual([
      'Idle->Connect',
      'Connect->Connect',
      'Connect->OpenSent',
      'OpenSent->OpenConfirm',
      'OpenConfirm->Established',
      'Established->Established',
      'Established->Established',
      'Established->Idle',
    ]);
    expect(s.connectRetryCounter).toBe(1);
  });
});
