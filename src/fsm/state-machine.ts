/**
 * The RFC 4271 §8 finite state machine of one BGP connection, as a pure function:
 * `step(settings, state, event) → { next, actions }`. No sockets, no timers, no clock, no
 * randomness: the shell performs the actions (send, connect, start a timer with jitter, ...) and
 * feeds back events. Event names are §8.1's without underscores.
 *
 * RFC says / kbgp does:
 * - ConnectRetry: Calico's BIRD waits `connect delay` (2 s) before the first attempt and retries
 *   every `connect retry` (5 s); so does kbgp. A failed connect in Connect goes to Active with
 *   the ConnectRetry timer still running (the §8.2.2 DelayOpen branch), not to Idle, so a peer
 *   that is not up yet is simply retried.
 * - DampPeerOscillations (§8.1.1, optional) is always on: after an error the session waits in Idle
 *   for the IdleHold time (Calico's `error wait time 5,30`: 5 s doubling up to 30 s) and then
 *   starts again by itself. The wait returns to its minimum once a session has stayed
 *   Established for `errorForgetTime` (the Stable timer).
 * - A passive session never connects out; it waits in Active for the peer.
 * - Collision detection (§6.8) needs both connections, so the shell decides and sends the loser
 *   an OpenCollisionDump event.
 * - Unexpected messages in OpenSent, OpenConfirm and Established get an FSM Error with the RFC
 *   6608 subcode of the state; the earlier states have no connection to answer on.
 */
import {
  type BgpError,
  type BgpMessage,
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  KEEPALIVE,
  MessageType,
  type NotificationMessage,
  OpenSubcode,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
  openAs,
} from '../bgp/index.js';
import type { DownReason } from './down-reason.js';
import { type LocalCapabilities, type Negotiated, type NegotiationSettings, buildOpen, negotiate } from './negotiate.js';

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'IdleHold' | 'Stable';

export interface SessionSettings extends NegotiationSettings {
  readonly localAs: number;
  /** The AS the peer must announce (Bad Peer AS otherwise). */
  readonly peerAs: number;
  readonly bgpIdentifier: string;
  /** Hold time we propose, seconds (0, or 3 and above). */
  readonly holdTime: number;
  /** Wait before the first connection attempt, seconds. */
  readonly connectDelay: number;
  readonly connectRetryTime: number;
  /** IdleHold after an error: starts at min, doubles up to max (DampPeerOscillations). */
  readonly errorWaitMin: number;
  readonly errorWaitMax: number;
  /** Established this long resets the error wait to its minimum. */
  readonly errorForgetTime: number;
  /** The large hold time used until the OPENs are exchanged (§8.2.2 suggests 4 minutes). */
  readonly openHoldTime: number;
  readonly passive: boolean;
  readonly capabilities: LocalCapabilities;
}

/** Calico's BIRD timings (connect delay 2 s, retry 5 s, error wait 5..30 s) and BIRD's hold time. */
export const DEFAULT_TIMERS = {
  holdTime: 240,
  connectDelay: 2,
  connectRetryTime: 5,
  errorWaitMin: 5,
  errorWaitMax: 30,
  errorForgetTime: 300,
  openHoldTime: 240,
} as const;

export interface SessionState {
  readonly state: State;
  readonly connectRetryCounter: number;
  /** The IdleHold time the next error will wait. */
  readonly errorWait: number;
  /** Set from OpenSent on: the OPEN we sent on this connection. */
  readonly localOpen?: OpenMessage;
  /** Set from OpenConfirm on. */
  readonly negotiated?: Negotiated;
}

export type FsmEvent =
  | { readonly type: 'ManualStart' }
  | { readonly type: 'ManualStop'; readonly why: string; readonly notification?: NotificationMessage }
  | { readonly type: 'AutomaticStop'; readonly why: string; readonly notification: NotificationMessage }
  | { readonly type: 'ConnectRetryTimerExpires' }
  | { readonly type: 'HoldTimerExpires' }
  | { readonly type: 'KeepaliveTimerExpires' }
  | { readonly type: 'IdleHoldTimerExpires' }
  | { readonly type: 'StableTimerExpires' }
  /** Our outgoing connection is up (Event 16, Tcp_CR_Acked). */
  | { readonly type: 'TcpCrAcked' }
  /** An incoming connection from the peer was accepted (Event 17). */
  | { readonly type: 'TcpConnectionConfirmed' }
  | { readonly type: 'TcpConnectionFails'; readonly error: string }
  | { readonly type: 'BgpOpen'; readonly open: OpenMessage }
  /** A message that failed to decode: header, OPEN or UPDATE error (Events 21, 22, 28). */
  | { readonly type: 'ProtocolError'; readonly error: BgpError }
  | { readonly type: 'NotifMsg'; readonly notification: NotificationMessage }
  | { readonly type: 'KeepAliveMsg' }
  | { readonly type: 'UpdateMsg'; readonly update: UpdateMessage }
  | { readonly type: 'RouteRefreshMsg'; readonly refresh: RouteRefreshMessage }
  | { readonly type: 'OpenCollisionDump' };

export type Action =
  | { readonly type: 'connect' }
  | { readonly type: 'send'; readonly message: BgpMessage }
  | { readonly type: 'startTimer'; readonly timer: TimerName; readonly seconds: number; readonly jitter: boolean }
  | { readonly type: 'stopTimer'; readonly timer: TimerName }
  | { readonly type: 'dropConnection' }
  | { readonly type: 'established'; readonly negotiated: Negotiated }
  | { readonly type: 'deliver'; readonly message: UpdateMessage | RouteRefreshMessage }
  | { readonly type: 'down'; readonly reason: DownReason; readonly wasEstablished: boolean };

export interface StepResult {
  readonly next: SessionState;
  readonly actions: readonly Action[];
}

export function initialState(settings: SessionSettings): SessionState {
  return { state: 'Idle', connectRetryCounter: 0, errorWait: settings.errorWaitMin };
}

const ALL_TIMERS: readonly TimerName[] = ['ConnectRetry', 'Hold', 'Keepalive', 'Stable'];
const stopAll = (): Action[] => ALL_TIMERS.map((timer) => ({ type: 'stopTimer', timer }));
const start = (timer: TimerName, seconds: number, jitter = false): Action => ({ type: 'startTimer', timer, seconds, jitter });
const send = (message: BgpMessage): Action => ({ type: 'send', message });
const notification = (code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage => ({
  type: MessageType.Notification,
  code,
  subcode,
  data,
});

const fsmSubcode: Partial<Record<State, number>> = {
  OpenSent: FsmSubcode.UnexpectedMessageInOpenSent,
  OpenConfirm: FsmSubcode.UnexpectedMessageInOpenConfirm,
  Established: FsmSubcode.UnexpectedMessageInEstablished,
};

/** Leaves for Idle after an error: drop the connection, then wait IdleHold before starting again. */
function fail(settings: SessionSettings, s: SessionState, reason: DownReason, before: Action[] = []): StepResult {
  return {
    next: {
      state: 'Idle',
      connectRetryCounter: s.connectRetryCounter + 1,
      errorWait: Math.min(s.errorWait * 2, settings.errorWaitMax),
    },
    actions: [
      ...before,
      ...stopAll(),
      { type: 'dropConnection' },
      start('IdleHold', s.errorWait),
      { type: 'down', reason, wasEstablished: s.state === 'Established' },
    ],
  };
}

/** Sends a NOTIFICATION for an error we detected, then fails. */
function failWith(settings: SessionSettings, s: SessionState, n: NotificationMessage, why: string): StepResult {
  return fail(settings, s, { kind: 'notification-sent', notification: n, why }, [send(n)]);
}

/** Stopped on purpose: no automatic restart. */
function stop(s: SessionState, why: string, n?: NotificationMessage): StepResult {
  const connected = s.state === 'OpenSent' || s.state === 'OpenConfirm' || s.state === 'Established';
  const sent = connected && n !== undefined;
  return {
    next: { state: 'Idle', connectRetryCounter: 0, errorWait: s.errorWait },
    actions: [
      ...(sent ? [send(n)] : []),
      ...stopAll(),
      { type: 'stopTimer', timer: 'IdleHold' },
      { type: 'dropConnection' },
      ...(s.state === 'Idle' ? [] : [{ type: 'down' as const, reason: { kind: 'stopped' as const, why, ...(sent ? { notification: n } : {}) }, wasEstablished: s.state === 'Established' }]),
    ],
  };
}

function startSession(settings: SessionSettings, s: SessionState): StepResult {
  if (settings.passive) return { next: { ...s, state: 'Active' }, actions: [] };
  if (settings.connectDelay <= 0) {
    return { next: { ...s, state: 'Connect' }, actions: [{ type: 'connect' }, start('ConnectRetry', settings.connectRetryTime, true)] };
  }
  return { next: { ...s, state: 'Connect' }, actions: [start('ConnectRetry', settings.connectDelay, true)] };
}

/** The connection is up: send our OPEN and wait for theirs under the large hold time. */
function connected(settings: SessionSettings, s: SessionState): StepResult {
  const localOpen = buildOpen(settings.localAs, settings.bgpIdentifier, settings.holdTime, settings.capabilities);
  return {
    next: { ...s, state: 'OpenSent', localOpen },
    actions: [{ type: 'stopTimer', timer: 'ConnectRetry' }, send(localOpen), start('Hold', settings.openHoldTime)],
  };
}

/** RFC 4271 §6.2 checks that need the configuration; the codec did the rest. */
function checkOpen(settings: SessionSettings, open: OpenMessage): NotificationMessage | undefined {
  const peerAs = openAs(open);
  if (peerAs !== settings.peerAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs);
    return notification(ErrorCode.OpenMessage, OpenSubcode.BadPeerAs, data);
  }
  // RFC 6286 §2.2: within an AS the identifiers must differ.
  if (settings.peerAs === settings.localAs && open.bgpIdentifier === settings.bgpIdentifier) {
    return notification(ErrorCode.OpenMessage, OpenSubcode.BadBgpIdentifier);
  }
  return undefined;
}

function describeOpenProblem(settings: SessionSettings, open: OpenMessage, n: NotificationMessage): string {
  return n.subcode === OpenSubcode.BadPeerAs
    ? `peer announced AS ${openAs(open)}, configured ${settings.peerAs}`
    : `peer uses our BGP Identifier ${open.bgpIdentifier}`;
}

export function step(settings: SessionSettings, s: SessionState, e: FsmEvent): StepResult {
  const same: StepResult = { next: s, actions: [] };

  // Events with the same handling in every state but Idle.
  if (s.state !== 'Idle') {
    switch (e.type) {
      case 'ManualStop':
        return stop(s, e.why, e.notification ?? notification(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown));
      case 'AutomaticStop':
        if (s.state === 'OpenSent' || s.state === 'OpenConfirm' || s.state === 'Established') {
          return failWith(settings, s, e.notification, e.why);
        }
        return fail(settings, s, { kind: 'stopped', why: e.why });
      case 'StableTimerExpires':
        return { next: { ...s, errorWait: settings.errorWaitMin }, actions: [] };
      default:
        break;
    }
  }

  switch (s.state) {
    case 'Idle':
      switch (e.type) {
        case 'ManualStart':
          return startSession(settings, { ...s, connectRetryCounter: 0 });
        case 'IdleHoldTimerExpires':
          return startSession(settings, s);
        case 'TcpConnectionConfirmed':
          // §8.2.2 Idle: incoming connections are refused until the session starts.
          return { next: s, actions: [{ type: 'dropConnection' }] };
        case 'ManualStop':
          // No automatic restart after an operator's stop, even if a backoff was pending.
          return { next: { ...s, connectRetryCounter: 0 }, actions: [{ type: 'stopTimer', timer: 'IdleHold' }] };
        case 'StableTimerExpires':
          return { next: { ...s, errorWait: settings.errorWaitMin }, actions: [] };
        default:
          return same;
      }

    case 'Connect':
      switch (e.type) {
        case 'ConnectRetryTimerExpires':
          return { next: s, actions: [{ type: 'dropConnection' }, { type: 'connect' }, start('ConnectRetry', settings.connectRetryTime, true)] };
        case 'TcpCrAcked':
        case 'TcpConnectionConfirmed':
          return connected(settings, s);
        case 'TcpConnectionFails':
          return { next: { ...s, state: 'Active', connectRetryCounter: s.connectRetryCounter + 1 }, actions: [] };
        case 'ManualStart':
        case 'IdleHoldTimerExpires':
          return same;
        default:
          return fail(settings, s, { kind: 'connect-failed', error: `unexpected ${e.type} in Connect` });
      }

    case 'Active':
      switch (e.type) {
        case 'ConnectRetryTimerExpires':
          if (settings.passive) return same;
          return { next: { ...s, state: 'Connect' }, actions: [{ type: 'connect' }, start('ConnectRetry', settings.connectRetryTime, true)] };
        case 'TcpCrAcked':
        case 'TcpConnectionConfirmed':
          return connected(settings, s);
        case 'TcpConnectionFails':
          // Waiting passively there is no connection to lose; a late failure of an aborted
          // outgoing attempt changes nothing either.
          return same;
        case 'ManualStart':
        case 'IdleHoldTimerExpires':
          return same;
        default:
          return fail(settings, s, { kind: 'connect-failed', error: `unexpected ${e.type} in Active` });
      }

    case 'OpenSent':
      switch (e.type) {
        case 'BgpOpen': {
          const problem = checkOpen(settings, e.open);
          if (problem !== undefined) return failWith(settings, s, problem, describeOpenProblem(settings, e.open, problem));
          const localOpen = s.localOpen ?? buildOpen(settings.localAs, settings.bgpIdentifier, settings.holdTime, settings.capabilities);
          const negotiated = negotiate(localOpen, e.open, settings);
          const timers: Action[] =
            negotiated.holdTime === 0
              ? [{ type: 'stopTimer', timer: 'Hold' }]
              : [start('Keepalive', negotiated.keepaliveTime, true), start('Hold', negotiated.holdTime)];
          return { next: { ...s, state: 'OpenConfirm', negotiated }, actions: [send(KEEPALIVE), ...timers] };
        }
        case 'TcpConnectionFails':
          // §8.2.2 OpenSent: back to Active, listening, with ConnectRetry running.
          return {
            next: { state: 'Active', connectRetryCounter: s.connectRetryCounter + 1, errorWait: s.errorWait },
            actions: [
              ...stopAll(),
              { type: 'dropConnection' },
              ...(settings.passive ? [] : [start('ConnectRetry', settings.connectRetryTime, true)]),
              { type: 'down', reason: { kind: 'connection-closed', error: e.error }, wasEstablished: false },
            ],
          };
        default:
          return common(settings, s, e);
      }

    case 'OpenConfirm':
      switch (e.type) {
        case 'KeepAliveMsg': {
          const negotiated = s.negotiated;
          if (negotiated === undefined) return common(settings, s, e);
          return {
            next: { ...s, state: 'Established' },
            actions: [
              ...(negotiated.holdTime === 0 ? [] : [start('Hold', negotiated.holdTime)]),
              start('Stable', settings.errorForgetTime),
              { type: 'established', negotiated },
            ],
          };
        }
        case 'KeepaliveTimerExpires':
          return keepalive(s);
        default:
          return common(settings, s, e);
      }

    case 'Established':
      switch (e.type) {
        case 'KeepAliveMsg':
          return { next: s, actions: restartHold(s) };
        case 'UpdateMsg':
          return { next: s, actions: [...restartHold(s), { type: 'deliver', message: e.update }] };
        case 'RouteRefreshMsg':
          return { next: s, actions: [...restartHold(s), { type: 'deliver', message: e.refresh }] };
        case 'KeepaliveTimerExpires':
          return keepalive(s);
        default:
          return common(settings, s, e);
      }
  }
}

function restartHold(s: SessionState): Action[] {
  const hold = s.negotiated?.holdTime ?? 0;
  return hold === 0 ? [] : [start('Hold', hold)];
}

function keepalive(s: SessionState): StepResult {
  const t = s.negotiated?.keepaliveTime ?? 0;
  return { next: s, actions: t === 0 ? [send(KEEPALIVE)] : [send(KEEPALIVE), start('Keepalive', t, true)] };
}

/** Handling shared by OpenSent, OpenConfirm and Established once their own events are done. */
function common(settings: SessionSettings, s: SessionState, e: FsmEvent): StepResult {
  switch (e.type) {
    case 'HoldTimerExpires':
      return fail(settings, s, { kind: 'hold-timer-expired' }, [send(notification(ErrorCode.HoldTimerExpired, 0))]);
    case 'NotifMsg':
      return fail(settings, s, { kind: 'notification-received', notification: e.notification });
    case 'ProtocolError':
      return failWith(settings, s, { type: MessageType.Notification, ...e.error.toNotification() }, e.error.message);
    case 'TcpConnectionFails':
      return fail(settings, s, { kind: 'connection-closed', error: e.error });
    case 'OpenCollisionDump':
      return fail(settings, s, { kind: 'collision' }, [send(notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution))]);
    case 'ManualStart':
    case 'IdleHoldTimerExpires':
    case 'TcpConnectionConfirmed':
    case 'TcpCrAcked':
      // A second connection is the shell's (collision) business; a repeated start changes nothing.
      return { next: s, actions: [] };
    default: {
      const subcode = fsmSubcode[s.state] ?? FsmSubcode.Unspecified;
      return failWith(settings, s, notification(ErrorCode.FiniteStateMachine, subcode), `unexpected ${e.type} in ${s.state}`);
    }
  }
}
