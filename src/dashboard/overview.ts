// The dashboard's main answer: every stamp as the catalog records it and the gateway routes it,
// with its readiness, servers and traffic, and the system's status in one line. A stamp known to
// one source only is shown with what that source knows.
import type { StampRecord } from '../control/store/catalog.ts';
import type { DashboardSources, GatewayServer, GatewayStamp, GatewayStamps, ReadinessReport, StampReadiness, StampTraffic, TrafficReport } from './sources.ts';

/** up: serving; degraded: serving with a problem; down: not serving; pending: being provisioned; off: stopped or retired on purpose; unknown: no live source. */
export type StampHealth = 'up' | 'degraded' | 'down' | 'pending' | 'off' | 'unknown';

export interface DashboardServer extends GatewayServer {
  /** DOWN for the gateway, or the stamp's readiness probe reached none of its servers. */
  reachable: boolean;
}

export interface DashboardStamp {
  id: string;
  aliases: string[];
  health: StampHealth;
  /** Why, in a few words, when the health is not `up`. */
  healthReason: string;
  catalog: Pick<StampRecord, 'state' | 'stateReason' | 'version' | 'capacity' | 'tenantCount' | 'labels' | 'driver' | 'url' | 'updatedAt'> | null;
  gateway: { default: boolean; draining: boolean; available: boolean; requests: number; servers: DashboardServer[] } | null;
  readiness: StampReadiness | null;
  traffic: StampTraffic | null;
}

export type SystemStatus = 'ok' | 'degraded' | 'down' | 'unknown';

export interface OverviewBody {
  generatedAt: string;
  sources: { catalog: boolean; gateway: boolean };
  system: {
    status: SystemStatus;
    summary: string;
    gatewayUrl: string | null;
    configVersion: number | null;
    tenants: number | null;
    totalRequests: number | null;
    stamps: { total: number; up: number };
  };
  traffic: { intervalMs: number; at: number } | null;
  stamps: DashboardStamp[];
}

export async function buildOverview(sources: DashboardSources, readiness: ReadinessReport | null): Promise<OverviewBody> {
  const catalogStamps = sources.catalog ? await sources.catalog.listStamps() : null;
  const routed: GatewayStamps | null = sources.gateway ? sources.gateway.stamps() : null;
  const traffic: TrafficReport | null = sources.gateway ? sources.gateway.traffic() : null;

  const ids: string[] = [];
  const byCatalog = new Map<string, StampRecord>();
  for (const s of catalogStamps ?? []) {
    byCatalog.set(s.id, s);
    ids.push(s.id);
  }
  // A stamp in two stamps services is one stamp here: the first service's view of it.
  const byGateway = new Map<string, GatewayStamp>();
  for (const s of routed?.stamps ?? []) {
    if (byGateway.has(s.id)) continue;
    byGateway.set(s.id, s);
    if (!byCatalog.has(s.id)) ids.push(s.id);
  }

  const stamps = ids.map((id): DashboardStamp => {
    const c = byCatalog.get(id);
    const g = byGateway.get(id);
    const r = readiness?.stamps[id] ?? null;
    const allUnreachable = r?.status === 'down';
    const { health, reason } = stampHealth(c, g, r, sources.gateway !== undefined);
    return {
      id,
      aliases: c?.aliases ?? g?.aliases ?? [],
      health,
      healthReason: reason,
      catalog: c ? { state: c.state, stateReason: c.stateReason, version: c.version, capacity: c.capacity, tenantCount: c.tenantCount, labels: c.labels, driver: c.driver, url: c.url, updatedAt: c.updatedAt } : null,
      gateway: g ? { default: g.default, draining: g.draining, available: g.available, requests: g.requests, servers: g.servers.map((s) => ({ ...s, reachable: s.status === 'UP' && !allUnreachable })) } : null,
      readiness: r,
      traffic: traffic?.stamps[id] ?? null,
    };
  });

  const counted = stamps.filter((s) => s.health !== 'off');
  const up = counted.filter((s) => s.health === 'up').length;
  const down = counted.filter((s) => s.health === 'down');
  const troubled = counted.filter((s) => s.health !== 'up');
  let status: SystemStatus;
  let summary: string;
  if (sources.gateway === undefined) {
    status = 'unknown';
    summary = sources.catalog ? 'Catalog only · no local gateway' : 'No data source';
  } else if (counted.length === 0) {
    status = 'unknown';
    summary = 'No stamps yet';
  } else if (troubled.length === 0) {
    status = 'ok';
    summary = counted.length === 1 ? 'The stamp is healthy' : `All ${counted.length} stamps healthy`;
  } else if (up === 0 && down.length === counted.length) {
    status = 'down';
    summary = counted.length === 1 ? 'The stamp is down' : `All ${counted.length} stamps down`;
  } else {
    status = 'degraded';
    const parts = (['down', 'degraded', 'pending', 'unknown'] as const)
      .map((h) => [h, counted.filter((s) => s.health === h).map((s) => s.id)] as const)
      .filter(([, list]) => list.length > 0)
      .map(([h, list]) => `${list.join(', ')} ${h === 'pending' ? 'starting' : h}`);
    summary = `${up} of ${counted.length} stamps healthy · ${parts.join(' · ')}`;
  }

  return {
    generatedAt: new Date().toISOString(),
    sources: { catalog: sources.catalog !== undefined, gateway: sources.gateway !== undefined },
    system: {
      status,
      summary,
      gatewayUrl: sources.gateway?.url ?? null,
      configVersion: routed?.configVersion ?? null,
      tenants: catalogStamps ? catalogStamps.reduce((n, s) => n + s.tenantCount, 0) : (routed?.tenantDirectory.size ?? null),
      totalRequests: routed?.totalRequests ?? null,
      stamps: { total: counted.length, up },
    },
    traffic: traffic ? { intervalMs: traffic.intervalMs, at: traffic.at } : null,
    stamps,
  };
}

function stampHealth(c: StampRecord | undefined, g: GatewayStamp | undefined, r: StampReadiness | null, live: boolean): { health: StampHealth; reason: string } {
  if (c?.state === 'failed') return { health: 'down', reason: c.stateReason || 'failed' };
  if (c?.state === 'stopped' || c?.state === 'retired') return { health: 'off', reason: c.stateReason || c.state };
  if (c?.state === 'provisioning') return { health: 'pending', reason: c.stateReason || 'being provisioned' };
  if (!live) return { health: 'unknown', reason: '' };
  if (!g) return { health: 'unknown', reason: 'the gateway does not route to this stamp (yet)' };
  if (r?.status === 'down') return { health: 'down', reason: `not answering: ${r.detail ?? 'down'}` };
  if (g.servers.length === 0) return { health: 'down', reason: 'no servers' };
  if (g.servers.every((s) => s.status === 'DOWN')) return { health: 'down', reason: 'every server is DOWN' };
  if (r?.status === 'not_ready') return { health: 'degraded', reason: `not ready: ${r.detail ?? ''} (db ${r.db})` };
  const downServers = g.servers.filter((s) => s.status === 'DOWN').length;
  if (downServers > 0) return { health: 'degraded', reason: `${downServers} of ${g.servers.length} servers DOWN` };
  if (r === null) return { health: 'unknown', reason: 'readiness not checked yet' };
  return { health: 'up', reason: g.draining ? 'draining: keeps its tenants, takes no new ones' : '' };
}
