// The access log: one line per finished request (JSON by default), Traefik's filters and field
// modes, Stampgate's sampling, written asynchronously (line-sink.ts).
//
// API for the gateway:
//
//   const accessLog = createAccessLog(staticConfig.accessLog);   // null when the section is absent
//   accessLog?.log(exchange, trace, status, durationMs, requestBytes, responseBytes)   // request end
//   await accessLog?.close()                                     // on shutdown: writes what is pending
//
// Per request, the filters (status ranges, retries, minimum duration) and then sampling decide
// first, from numbers the gateway already has; only a request that is kept gets its line built.
// With the access log off there is no AccessLog at all, and no cost.
import type { ObservedExchange } from '../observed-exchange.ts';
import type { TraceContext } from '../tracing/trace-context.ts';
import { resolveAccessLogSettings, type AccessLogConfig, type AccessLogSettings, type StatusFilter } from './access-log-config.ts';
import { commonFormatter } from './common-line.ts';
import { jsonFormatter } from './json-line.ts';
import type { LineFormatter } from './line-formatter.ts';
import { BatchingSink, type LineSink } from './line-sink.ts';
import { prettyFormatter } from './pretty-line.ts';

export interface AccessLogOptions {
  /** Where lines go; default: stdout or `filePath` through a BatchingSink. */
  sink?: LineSink;
  /** The sampling draw, in [0, 1) (default Math.random). */
  random?: () => number;
  /** Wall-clock milliseconds (default Date.now). */
  now?: () => number;
  /** Whether stdout is a terminal, for the default format (default process.stdout.isTTY). */
  isTTY?: boolean;
  /** Colours in the pretty format (default: on a TTY unless NO_COLOR is set). */
  color?: boolean;
}

/** Traefik's rule: with filters, a line is kept when any of them matches. */
export function passesFilter(filter: StatusFilter, status: number, retries: number, durationMs: number): boolean {
  const ranges = filter.ranges;
  for (let i = 0; i < ranges.length; i += 2) if (status >= ranges[i]! && status <= ranges[i + 1]!) return true;
  if (filter.retryAttempts && retries > 0) return true;
  return filter.minDurationMs > 0 && durationMs > filter.minDurationMs;
}

export class AccessLog {
  readonly settings: AccessLogSettings;
  readonly #format: LineFormatter;
  readonly #sink: LineSink;
  readonly #filter: StatusFilter | null;
  readonly #sampling: number;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(settings: AccessLogSettings, options: AccessLogOptions = {}) {
    this.settings = settings;
    const isTTY = options.isTTY ?? process.stdout.isTTY === true;
    const color = options.color ?? (isTTY && settings.filePath === null && process.env.NO_COLOR === undefined);
    this.#format = settings.format === 'common' ? commonFormatter() : settings.format === 'pretty' ? prettyFormatter(settings, color) : jsonFormatter(settings);
    this.#sink = options.sink ?? new BatchingSink({ filePath: settings.filePath, bufferingSize: settings.bufferingSize });
    this.#filter = settings.filter;
    this.#sampling = settings.sampling;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Request end: writes the request's line unless the filters or sampling leave it out. */
  log(exchange: ObservedExchange, trace: TraceContext | null, status: number, durationMs: number, requestBytes: number, responseBytes: number): void {
    if (this.#filter !== null && !passesFilter(this.#filter, status, exchange.retries, durationMs)) return;
    if (this.#sampling < 1 && !(this.#random() < this.#sampling)) return;
    this.#sink.write(this.#format(exchange, trace, status, durationMs, requestBytes, responseBytes, this.#now()));
  }

  flush(): Promise<void> {
    return this.#sink.flush();
  }

  close(): Promise<void> {
    return this.#sink.close();
  }
}

/** The access log a static config asks for; null when it has no `accessLog` section (off). */
export function createAccessLog(config: AccessLogConfig | null | undefined, options: AccessLogOptions = {}): AccessLog | null {
  if (config === null || config === undefined) return null;
  const settings = resolveAccessLogSettings(config, { isTTY: options.isTTY ?? process.stdout.isTTY === true });
  return new AccessLog(settings, options);
}
