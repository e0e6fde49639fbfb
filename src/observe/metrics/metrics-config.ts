// The static config's `metrics` section (Traefik v3's shape) and the GatewayMetrics it makes.
//
//   metrics:
//     prometheus:
//       buckets: [0.1, 0.3, 1.2, 5.0]    # seconds (Traefik's default)
//       addEntryPointsLabels: true       # traefik_entrypoint_*
//       addRoutersLabels: true           # traefik_router_*  (Stampgate: on by default; Traefik: off)
//       addServicesLabels: true          # traefik_service_*
//       addStampsLabels: true            # Stampgate: stampgate_stamp_*
//       processMetrics: true             # Stampgate: Node process metrics
//       entryPoint: traefik              # the entrypoint that serves /metrics
//       manualRouting: false
//
// Without `metrics.prometheus`, metrics are off (as in Traefik). Traefik's `headerLabels` is not
// supported: it would add a header read and a label per request.
import { Type, type Static } from '@sinclair/typebox';
import { Closed } from '../../config/schema/common.ts';
import type { GatewayMetricsOptions } from './gateway-metrics.ts';

export const MetricsConfig = Closed({
  /** Traefik: metrics for the gateway's own endpoints; they are never counted in Stampgate. */
  addInternals: Type.Optional(Type.Boolean()),
  prometheus: Type.Optional(Closed({
    buckets: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, description: 'duration histogram bounds, in seconds' })),
    addEntryPointsLabels: Type.Optional(Type.Boolean()),
    addRoutersLabels: Type.Optional(Type.Boolean()),
    addServicesLabels: Type.Optional(Type.Boolean()),
    /** Stampgate: the stampgate_stamp_* family. */
    addStampsLabels: Type.Optional(Type.Boolean()),
    /** Stampgate: prom-client's default Node process metrics. */
    processMetrics: Type.Optional(Type.Boolean()),
    /** Which entrypoint answers /metrics (Traefik's default: "traefik"). */
    entryPoint: Type.Optional(Type.String({ minLength: 1 })),
    /** Traefik: do not add the /metrics route by itself. */
    manualRouting: Type.Optional(Type.Boolean()),
  })),
});

export type MetricsConfig = Static<typeof MetricsConfig>;

/** GatewayMetrics options for a `metrics` section; null when Prometheus metrics are off. */
export function gatewayMetricsOptions(config: MetricsConfig | null | undefined): GatewayMetricsOptions | null {
  const prometheus = config?.prometheus;
  if (prometheus === undefined) return null;
  return {
    ...(prometheus.buckets !== undefined ? { buckets: prometheus.buckets } : {}),
    entryPoints: prometheus.addEntryPointsLabels ?? true,
    routers: prometheus.addRoutersLabels ?? true,
    services: prometheus.addServicesLabels ?? true,
    stamps: prometheus.addStampsLabels ?? true,
    processMetrics: prometheus.processMetrics ?? true,
  };
}
