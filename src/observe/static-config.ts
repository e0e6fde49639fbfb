// The observability sections of the static configuration, for src/config/schema/static.ts:
//
//   import { ObservabilityStaticConfig } from '../../observe/static-config.ts';
//   export const StaticConfig = Closed({ entryPoints: …, …, ...ObservabilityStaticConfig });
//
// (and remove 'accessLog', 'metrics', 'tracing' from UNSUPPORTED_STATIC in traefik-unsupported.ts).
import { Type } from '@sinclair/typebox';
import { AccessLogConfig } from './access-log/access-log-config.ts';
import { MetricsConfig } from './metrics/metrics-config.ts';
import { TracingConfig } from './tracing/tracing-config.ts';

export { AccessLogConfig, MetricsConfig, TracingConfig };

export const ObservabilityStaticConfig = {
  /** Traefik: access logs (+ Stampgate's `sampling` and `pretty` format). */
  accessLog: Type.Optional(AccessLogConfig),
  /** Traefik: `metrics.prometheus` (+ Stampgate's addStampsLabels, processMetrics). */
  metrics: Type.Optional(MetricsConfig),
  /** Traefik's `tracing` or Stampgate's `tracing.otlp.{endpoint, headers, serviceName, sampleRate}`. */
  tracing: Type.Optional(TracingConfig),
};
