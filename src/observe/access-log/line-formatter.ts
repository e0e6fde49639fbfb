// What a log-line format is: a function of the finished request that returns one line, "\n" included.
import type { ObservedExchange } from '../observed-exchange.ts';
import type { TraceContext } from '../tracing/trace-context.ts';

export type LineFormatter = (
  exchange: ObservedExchange,
  trace: TraceContext | null,
  status: number,
  durationMs: number,
  requestBytes: number,
  responseBytes: number,
  /** Wall-clock time the request ended (Date.now()); it started `durationMs` before. */
  endedAt: number,
) => string;
