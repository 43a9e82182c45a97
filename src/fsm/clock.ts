/** Time, injected: the session shell never calls the global timer functions directly. */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since some fixed point; only differences matter. */
  now(): number;
  schedule(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(ms, fn) {
    const t = setTimeout(fn, ms);
    // Session timers must never keep a stopping process alive on their own.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
