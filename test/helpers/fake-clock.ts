/** A Clock (src/fsm/clock.ts) that moves only when told: timers run in time order on `advance`. */
import type { Clock, TimerHandle } from '../../src/fsm/clock.js';

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.t;
  }

  schedule(ms: number, fn: () => void): TimerHandle {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Timers still to run. */
  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Runs every timer due within `ms`, in order (timers they schedule included), then sets the time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      this.timers = this.timers.filter((x) => !x.cancelled);
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
