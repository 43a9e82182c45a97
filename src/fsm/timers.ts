/**
 * The named timers of one FSM instance. A stopped or restarted timer never fires late: each start
 * bumps a generation, and an expiry of an older generation is dropped.
 */
import type { Clock, TimerHandle } from './clock.js';
import type { TimerName } from './state-machine.js';

/** RFC 4271 §10: jitter multiplies a timer by a random factor between 0.75 and 1.0. */
export function jittered(seconds: number, random: () => number): number {
  return seconds * (0.75 + 0.25 * random());
}

export class SessionTimers {
  private readonly running = new Map<TimerName, TimerHandle>();
  private readonly generations = new Map<TimerName, number>();
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
    private readonly onExpire: (timer: TimerName) => void,
  ) {}

  start(timer: TimerName, seconds: number, jitter: boolean): void {
    this.stop(timer);
    const gen = ++this.generation;
    const ms = 1000 * (jitter ? jittered(seconds, this.random) : seconds);
    this.running.set(
      timer,
      this.clock.schedule(ms, () => {
        if (this.generations.get(timer) !== gen) return;
        this.running.delete(timer);
        this.onExpire(timer);
      }),
    );
    this.generations.set(timer, gen);
  }

  stop(timer: TimerName): void {
    this.running.get(timer)?.cancel();
    this.running.delete(timer);
    this.generations.delete(timer);
  }

  stopAll(): void {
    for (const t of [...this.running.keys()]) this.stop(t);
  }

  isRunning(timer: TimerName): boolean {
    return this.running.has(timer);
  }
}
