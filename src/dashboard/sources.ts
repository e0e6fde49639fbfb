// What the dashboard reads, each source optional: a control plane without a local gateway shows
// the catalog only, a gateway without a catalog shows what it routes. The gateway side is a
// structural interface (built from a Gateway by gateway-source.ts, which only cli/ imports), so
// that the control plane, which registers the dashboard, never loads gateway code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import type { Catalog } from '../control/store/catalog.ts';
import type { StoreSchema } from '../control/store/schema.ts';

/** One upstream server as the gateway API shows it (server-view.ts). */
export interface GatewayServer {
  url: string;
  weight: number;
  status: 'UP' | 'DOWN';
  health: { healthy: boolean; ejected: boolean; ejectedUntil: string | null; inFlight: number };
}

/** One stamp as the gateway routes it (the gateway API's /api/stamps entry). */
export interface GatewayStamp {
  id: string;
  aliases: string[];
  default: boolean;
  draining: boolean;
  available: boolean;
  servers: GatewayServer[];
  /** Requests sent to the stamp since the gateway started (the /stampsz counter). */
  requests: number;
}

export interface GatewayStamps {
  configVersion: number;
  tenantDirectory: { size: number };
  totalRequests: number;
  stamps: GatewayStamp[];
}

/** A stamp's own readiness probe, as the gateway's /readyz reports it. */
export interface StampReadiness {
  status: 'ready' | 'not_ready' | 'down';
  db: string;
  detail?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'degraded';
  stamps: Record<string, StampReadiness>;
}

/** Routers, services, middlewares and entrypoints, exactly as the gateway API answers them. */
export interface RoutingView {
  overview: unknown;
  routers: unknown[];
  services: unknown[];
  middlewares: unknown[];
  entryPoints: unknown[];
}

/** The last minutes of one stamp's traffic, one point per sample, oldest first. */
export interface StampTraffic {
  /** Requests per second over each sample interval (the /stampsz counter's rise). */
  rps: number[];
  /** Share of answers that were 5xx over the last few samples; null with no answers. */
  errorRate: Array<number | null>;
  /** 95th percentile of the answer time over the last few samples, in ms; null with no answers. */
  p95Ms: Array<number | null>;
}

export interface TrafficReport {
  intervalMs: number;
  /** Epoch ms of the newest point. */
  at: number;
  stamps: Record<string, StampTraffic>;
}

export interface DashboardGateway {
  /** Where clients reach the gateway (shown in the header). */
  readonly url?: string;
  stamps(): GatewayStamps;
  routing(): RoutingView;
  readiness(): Promise<ReadinessReport>;
  /** Sampled traffic; null when the gateway keeps no traffic sampler. */
  traffic(): TrafficReport | null;
  /** The gateway's read-only API (createGatewayApi), served under /dashboard/api/gateway/. */
  readonly api?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops what the source runs (its sampler). */
  close?(): void;
}

export interface DashboardSources {
  /** Stamps, tenants and operations of the control plane. */
  catalog?: Catalog;
  /** The catalog's database: tenant search runs there as one query (without it, the catalog's pages are scanned). */
  store?: Kysely<StoreSchema>;
  /** The gateway running in this process. */
  gateway?: DashboardGateway;
}
