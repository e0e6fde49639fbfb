// GET /api/overview: Traefik's counts (total, warnings, errors) of routers, services and
// middlewares, and Stampgate's state at a glance: config version and last reload, servers up and
// down, stamps, tenant directory size. A config that does not compile is rejected whole and the
// running one stays, so what runs has no warnings or errors; a rejected reload shows in lastReload.
import type { ApiAnswer, ApiView } from './api-view.ts';
import { allEntryPoints, type EntryPointView } from './entrypoints.ts';
import { provider, qualified } from './names.ts';
import { serverStatus } from './server-view.ts';

export interface SectionCounts {
  total: number;
  warnings: number;
  errors: number;
}

export interface OverviewBody {
  http: { routers: SectionCounts; services: SectionCounts; middlewares: SectionCounts };
  entryPoints: EntryPointView[];
  providers: string[];
  configVersion: number;
  lastReload: { time: string | null; success: boolean; error: string | null };
  servers: { total: number; up: number; down: number };
  /** Services with no server that can take a request (every server DOWN, or every stamp draining or down). */
  unavailableServices: string[];
  stamps: { total: number; draining: number; ids: string[] };
  tenantDirectory: { size: number };
}

export function overviewBody(view: ApiView): OverviewBody {
  const config = view.config;
  const status = view.gateway.configStatus;
  const counts = (total: number): SectionCounts => ({ total, warnings: 0, errors: 0 });
  let up = 0;
  let total = 0;
  const unavailable: string[] = [];
  for (const service of config?.services.values() ?? []) {
    // weighted, mirroring and failover services hold other services: their servers are counted there.
    const ownsServers = service.kind === 'loadBalancer' || service.kind === 'stamps';
    for (const server of ownsServers ? service.servers() : []) {
      total++;
      if (serverStatus(server, view.clock) === 'UP') up++;
    }
    if (!service.available()) unavailable.push(qualified(service.name));
  }
  const stamps = (config?.stampsServices ?? []).flatMap((s) => s.stamps);
  return {
    http: { routers: counts(config?.routers.length ?? 0), services: counts(config?.services.size ?? 0), middlewares: counts(config?.middlewares.length ?? 0) },
    entryPoints: allEntryPoints(view),
    providers: [provider],
    configVersion: config?.version ?? 0,
    lastReload: { time: status.lastReloadAt, success: status.lastReloadSucceeded, error: status.lastError },
    servers: { total, up, down: total - up },
    unavailableServices: unavailable.sort(),
    stamps: { total: stamps.length, draining: stamps.filter((s) => s.draining).length, ids: [...new Set(stamps.map((s) => s.id))] },
    tenantDirectory: { size: view.gateway.directory.size },
  };
}

export function getOverview(view: ApiView): ApiAnswer {
  return { body: overviewBody(view) };
}
