// The static config's `tracing` section, and what it resolves to. Two shapes are accepted:
//
//   tracing:                                  tracing:            # Traefik v3's shape
//     otlp:                                     serviceName: gw
//       endpoint: http://collector:4318         sampleRate: 0.2
//       headers: { authorization: "Bearer x" }  otlp:
//       serviceName: gw                           http:
//       sampleRate: 0.2                             endpoint: http://collector:4318/v1/traces
//
// Keys under `otlp` win over Traefik's top-level ones. Without a `tracing.otlp` section nothing is
// recorded or exported, but trace context is still propagated (see gateway-tracer.ts). Export is
// OTLP over HTTP with JSON bodies: @opentelemetry/exporter-trace-otlp-http 0.212 offers JSON only
// (protobuf is the separate exporter-trace-otlp-proto package, not a dependency).
import { Type, type Static } from '@sinclair/typebox';
import { Closed, HttpUrl, StringMap } from '../../config/schema/common.ts';

const ServiceName = Type.String({ minLength: 1, description: 'service.name of the spans (default "stampgate")' });
const SampleRate = Type.Number({ minimum: 0, maximum: 1, description: 'share of new traces recorded, 0-1 (default 1); a caller\'s sampled flag is followed' });

export const TracingConfig = Closed({
  /** Traefik: service.name of the spans. */
  serviceName: Type.Optional(ServiceName),
  /** Traefik: share of new traces recorded. */
  sampleRate: Type.Optional(SampleRate),
  otlp: Type.Optional(Closed({
    /** Stampgate: the collector's OTLP/HTTP traces URL; "/v1/traces" is added when the URL has no path. */
    endpoint: Type.Optional(HttpUrl),
    headers: Type.Optional(StringMap),
    serviceName: Type.Optional(ServiceName),
    sampleRate: Type.Optional(SampleRate),
    /** Traefik: `otlp.http.endpoint` and `otlp.http.headers`. */
    http: Type.Optional(Closed({ endpoint: Type.Optional(HttpUrl), headers: Type.Optional(StringMap) })),
  })),
});

export type TracingConfig = Static<typeof TracingConfig>;

export interface TracingSettings {
  /** Full OTLP/HTTP traces URL. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly sampleRate: number;
}

/** Traefik's default collector address. */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318/v1/traces';

/** The settings to export with, or null when tracing is not configured (propagation only). */
export function resolveTracingSettings(config: TracingConfig | null | undefined): TracingSettings | null {
  const otlp = config?.otlp;
  if (config === null || config === undefined || otlp === undefined) return null;
  const endpoint = otlp.endpoint ?? otlp.http?.endpoint ?? DEFAULT_OTLP_ENDPOINT;
  return {
    endpoint: withTracesPath(endpoint),
    headers: { ...otlp.http?.headers, ...otlp.headers },
    serviceName: otlp.serviceName ?? config.serviceName ?? 'stampgate',
    sampleRate: otlp.sampleRate ?? config.sampleRate ?? 1,
  };
}

function withTracesPath(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}
