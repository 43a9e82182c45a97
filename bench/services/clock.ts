/**
 * The one clock of the services bench: CLOCK_MONOTONIC (`process.hrtime`) in milliseconds, the same
 * in every process on the machine, so the harness's API write time and the peer's receive time can
 * be subtracted.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
