// The two calls the gateway makes per request, over metrics, the access log and tracing, each of
// which may be off.
//
//   const observer = await createRequestObserver(staticConfig);   // once, at startup
//
//   // 1. Request start: right after createExchange() succeeds, before routing.
//   const trace = observer.start(exchange);
//   //    Upstream requests carry `traceparent: trace.traceparent` and, when trace.traceState is not
//   //    null, `tracestate: trace.traceState`, replacing the client's (setUpstreamHeader, or the
//   //    forwarder reading `exchange.trace` if the Exchange gets a `trace: TraceContext | null` field).
//
//   // 2. Request end: once per exchange, on the response's 'finish' or 'close' (whichever comes
//   //    first), with the status sent (499 when the client went away before a response started),
//   //    the duration (performance.now() - exchange.startedAt), the request body bytes
//   //    (declaredRequestBytes(exchange.headers) or counted) and the response body bytes counted.
//   observer.finish(exchange, trace, status, durationMs, requestBytes, responseBytes);
//
//   await observer.close();   // on shutdown: pending log lines and spans are written
//
// Cost with everything off: start() parses traceparent and makes a span id (~100 ns, propagation
// is always on); finish() tests two nulls and returns. See deploy/monitoring/README.md for numbers.
import type { IncomingHttpHeaders } from 'node:http';
import { createAccessLog, type AccessLog, type AccessLogOptions } from './access-log/access-log.ts';
import type { AccessLogConfig } from './access-log/access-log-config.ts';
import { GatewayMetrics } from './metrics/gateway-metrics.ts';
import { gatewayMetricsOptions, type MetricsConfig } from './metrics/metrics-config.ts';
import type { ObservedExchange } from './observed-exchange.ts';
import { createGatewayTracer, GatewayTracer } from './tracing/gateway-tracer.ts';
import type { TraceContext } from './tracing/trace-context.ts';
import type { TracingConfig } from './tracing/tracing-config.ts';

export interface RequestObserverParts {
  metrics?: GatewayMetrics | null;
  accessLog?: AccessLog | null;
  tracer?: GatewayTracer | null;
}

export class RequestObserver {
  readonly metrics: GatewayMetrics | null;
  readonly accessLog: AccessLog | null;
  readonly tracer: GatewayTracer;

  constructor(parts: RequestObserverParts = {}) {
    this.metrics = parts.metrics ?? null;
    this.accessLog = parts.accessLog ?? null;
    this.tracer = parts.tracer ?? new GatewayTracer();
  }

  /** Request start: the request's trace context (continued from the client's traceparent when valid). */
  start(exchange: { readonly headers: IncomingHttpHeaders }): TraceContext {
    return this.tracer.start(exchange.headers);
  }

  /** Request end: metrics, access-log line, span. Call once per exchange. */
  finish(exchange: ObservedExchange, trace: TraceContext | null, status: number, durationMs: number, requestBytes: number, responseBytes: number): void {
    if (this.metrics !== null) this.metrics.observeRequest(exchange, status, durationMs, requestBytes, responseBytes);
    if (this.accessLog !== null) this.accessLog.log(exchange, trace, status, durationMs, requestBytes, responseBytes);
    if (trace !== null && trace.sampled) this.tracer.end(exchange, trace, status, durationMs, requestBytes, responseBytes);
  }

  async close(): Promise<void> {
    await Promise.all([this.accessLog?.close(), this.tracer.shutdown()]);
  }
}

/** The static config's observability sections (see static-config.ts for their schemas). */
export interface ObservabilityConfig {
  metrics?: MetricsConfig | undefined;
  accessLog?: AccessLogConfig | undefined;
  tracing?: TracingConfig | undefined;
}

/** Builds each part its section asks for; an absent section leaves that part off. */
export async function createRequestObserver(config: ObservabilityConfig, options: { accessLog?: AccessLogOptions } = {}): Promise<RequestObserver> {
  const metricsOptions = gatewayMetricsOptions(config.metrics);
  return new RequestObserver({
    metrics: metricsOptions === null ? null : new GatewayMetrics(metricsOptions),
    accessLog: createAccessLog(config.accessLog, options.accessLog),
    tracer: await createGatewayTracer(config.tracing),
  });
}
