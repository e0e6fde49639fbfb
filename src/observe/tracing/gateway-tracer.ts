// The gateway's tracing: W3C trace context read from every request and passed to its upstream
// (always, even with nothing configured), and one SERVER span per sampled request exported over
// OTLP when `tracing.otlp` is configured.
//
// Usage, from the gateway (see src/observe/request-observer.ts, which wraps these two calls):
//
//   const tracer = await createGatewayTracer(staticConfig.tracing);   // once, at startup
//   // request start, right after the exchange is built:
//   const trace = tracer.start(exchange.headers);
//   //   → send `traceparent: trace.traceparent` (and `tracestate: trace.traceState` when not null)
//   //     upstream, replacing the client's headers of those names
//   // request end (response finished or connection closed):
//   tracer.end(exchange, trace, status, durationMs, requestBytes, responseBytes);
//   await tracer.shutdown();                                            // on close: flushes spans
//
// Without `tracing.otlp`, the OpenTelemetry SDK is never imported (the recorder is loaded with a
// dynamic import) and `end` returns at its first test. start() costs one header parse and a span id
// (~100 ns).
//
// Sampling is parent-based: a caller's sampled flag is followed; a new trace is sampled when the low
// 32 bits of its trace id fall under `sampleRate` (the same decision on every gateway replica).
// When nothing records, a new trace is propagated unsampled (flags 00) and a caller's flag as it came.
import type { IncomingHttpHeaders } from 'node:http';
import type { ObservedExchange } from '../observed-exchange.ts';
import { newSpanId, newTraceId } from './random-ids.ts';
import { isValidTracestate, parseTraceparent, SAMPLED_FLAG, TraceContext } from './trace-context.ts';
import { resolveTracingSettings, type TracingConfig, type TracingSettings } from './tracing-config.ts';

/** Where sampled spans go: the OTLP recorder, or a test double. */
export interface SpanRecorder {
  record(exchange: ObservedExchange, trace: TraceContext, status: number, durationMs: number, requestBytes: number, responseBytes: number): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Batch export tuning (BatchSpanProcessor's options); defaults are the SDK's. */
export interface BatchOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

export class GatewayTracer {
  readonly #recorder: SpanRecorder | null;
  /** A new trace is sampled when the low 32 bits of its id are below this. */
  readonly #threshold: number;

  constructor(recorder: SpanRecorder | null = null, sampleRate = 1) {
    this.#recorder = recorder;
    this.#threshold = recorder === null ? 0 : sampleRate >= 1 ? Infinity : Math.max(0, Math.floor(sampleRate * 2 ** 32));
  }

  /** Whether spans are recorded and exported. */
  get recording(): boolean {
    return this.#recorder !== null;
  }

  /** Request start: the request's trace context, continuing the caller's trace when its traceparent is valid. */
  start(headers: IncomingHttpHeaders): TraceContext {
    const header = headers.traceparent;
    const parent = typeof header === 'string' ? parseTraceparent(header) : null;
    if (parent === null) {
      const traceId = newTraceId();
      return new TraceContext(traceId, newSpanId(), null, this.#threshold !== 0 && Number.parseInt(traceId.slice(24), 16) < this.#threshold, null);
    }
    const state = headers.tracestate;
    const traceState = typeof state === 'string' && state !== '' && isValidTracestate(state) ? state : null;
    return new TraceContext(parent.traceId, newSpanId(), parent.parentId, (parent.flags & SAMPLED_FLAG) !== 0, traceState);
  }

  /** Request end: records the request's span when it is sampled and an exporter is configured. */
  end(exchange: ObservedExchange, trace: TraceContext, status: number, durationMs: number, requestBytes: number, responseBytes: number): void {
    if (this.#recorder === null || !trace.sampled) return;
    this.#recorder.record(exchange, trace, status, durationMs, requestBytes, responseBytes);
  }

  /** Exports the spans waiting in the batch now. */
  async forceFlush(): Promise<void> {
    await this.#recorder?.forceFlush();
  }

  /** Flushes and stops the exporter; call when the gateway closes. */
  async shutdown(): Promise<void> {
    await this.#recorder?.shutdown();
  }
}

/**
 * The tracer for a static config's `tracing` section: propagation only when it has no `otlp`, an
 * OTLP exporter otherwise (the SDK is imported here, on demand, and only then).
 */
export async function createGatewayTracer(config: TracingConfig | null | undefined, batch?: BatchOptions): Promise<GatewayTracer> {
  const settings = resolveTracingSettings(config);
  if (settings === null) return new GatewayTracer();
  return createRecordingTracer(settings, batch);
}

export async function createRecordingTracer(settings: TracingSettings, batch?: BatchOptions): Promise<GatewayTracer> {
  const { OtlpSpanRecorder } = await import('./otlp-recorder.ts');
  return new GatewayTracer(new OtlpSpanRecorder(settings, batch), settings.sampleRate);
}
