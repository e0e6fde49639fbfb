// GET /api/http/services and /api/http/services/{name}: Traefik's service shape (type, status,
// serverStatus, usedBy) with every server's state, and for a stamps service each stamp's servers.
import { problem } from '../../shared/problem.ts';
import type { Service } from '../services/service.ts';
import { StampsService } from '../services/stamps-service.ts';
import { isProblem, type ApiAnswer, type ApiView } from './api-view.ts';
import { byName, matchesSearch, paginate, parseListQuery } from './list-query.ts';
import { provider, qualified, unqualified } from './names.ts';
import { serverStatusMap, serverView, type ServerStatus, type ServerView } from './server-view.ts';
import { stampView, type StampView } from './stamp-view.ts';

export interface ServiceView {
  name: string;
  provider: string;
  status: 'enabled';
  /** The kind, lower-cased as Traefik shows it: `loadbalancer`, `stamps`, … */
  type: string;
  loadBalancer?: { servers: ServerView[] };
  stamps?: { defaultStamp: string; stamps: StampView[] };
  /** URL → UP/DOWN for every server under the service (a stamps service: all its stamps' servers). */
  serverStatus: Record<string, ServerStatus>;
  /** Stampgate: whether the service can take a request now. */
  available: boolean;
  usedBy: string[];
}

export function serviceView(view: ApiView, service: Service): ServiceView {
  const usedBy = view.usage().services.get(service.name) ?? [];
  const base = { name: qualified(service.name), provider, status: 'enabled' as const, type: service.kind.toLowerCase() };
  if (service instanceof StampsService) {
    const stamps = service.stamps.map((stamp) => stampView(service, stamp, view.clock));
    return {
      ...base,
      stamps: { defaultStamp: service.defaultStamp.id, stamps },
      serverStatus: serverStatusMap(stamps.flatMap((s) => s.servers)),
      available: stamps.some((s) => s.available),
      usedBy: [...usedBy],
    };
  }
  // weighted, mirroring, failover: the servers of the services they hold (which services and with
  // what weight is not exposed by those classes yet).
  const servers = service.servers().map((s) => serverView(s, view.clock));
  return {
    ...base,
    ...(service.kind === 'loadBalancer' ? { loadBalancer: { servers } } : {}),
    serverStatus: serverStatusMap(servers),
    available: service.available(),
    usedBy: [...usedBy],
  };
}

/** Every service, sorted by name. */
export function allServices(view: ApiView): ServiceView[] {
  return [...(view.config?.services.values() ?? [])].map((s) => serviceView(view, s)).sort(byName);
}

export function listServices(view: ApiView): ApiAnswer {
  const query = parseListQuery(view.params);
  if (isProblem(query)) return { problem: query };
  const kept = [...(view.config?.services.values() ?? [])].filter((s) => matchesSearch(query, s.name)).sort(byName);
  const page = paginate(kept, query);
  if (isProblem(page)) return { problem: page };
  // Only the services on this page are looked at server by server.
  return { body: page.items.map((s) => serviceView(view, s)), headers: { 'x-next-page': String(page.nextPage) } };
}

export function getService(view: ApiView, name: string): ApiAnswer {
  const bare = unqualified(name);
  const service = bare === null ? undefined : view.config?.services.get(bare);
  if (service === undefined) return { problem: problem('unknown-service', 'Unknown service', 404, `no service is named ${JSON.stringify(name)}`, { name }) };
  return { body: serviceView(view, service) };
}
