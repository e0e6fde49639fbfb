// One reading of both clocks per API request: server state keeps performance.now() times (they
// never jump), and the API converts them to wall-clock times people can read.

export interface Clock {
  /** performance.now() ms. */
  readonly monotonic: number;
  /** Date.now() ms at the same moment. */
  readonly wall: number;
}

export function readClock(): Clock {
  return { monotonic: performance.now(), wall: Date.now() };
}

/** A performance.now() time as an ISO date. */
export function wallTime(clock: Clock, monotonic: number): string {
  return new Date(clock.wall + (monotonic - clock.monotonic)).toISOString();
}
