// GET /api/rawdata: everything at once, keyed by qualified name as in Traefik's rawdata
// (routers, middlewares, services), plus Stampgate's entrypoints and stamps.
import type { ApiAnswer, ApiView } from './api-view.ts';
import { allEntryPoints, type EntryPointView } from './entrypoints.ts';
import { allMiddlewares, type MiddlewareView } from './middlewares.ts';
import { allRouters, type RouterView } from './routers.ts';
import { allServices, type ServiceView } from './services.ts';
import { stampsBody, type StampsBody } from './stamps.ts';

export interface RawDataBody {
  configVersion: number;
  routers: Record<string, RouterView>;
  middlewares: Record<string, MiddlewareView>;
  services: Record<string, ServiceView>;
  entryPoints: Record<string, EntryPointView>;
  stamps: StampsBody;
}

function byKey<T extends { name: string }>(items: readonly T[]): Record<string, T> {
  const record: Record<string, T> = {};
  for (const item of items) record[item.name] = item;
  return record;
}

export function getRawData(view: ApiView): ApiAnswer {
  const body: RawDataBody = {
    configVersion: view.config?.version ?? 0,
    routers: byKey(allRouters(view)),
    middlewares: byKey(allMiddlewares(view)),
    services: byKey(allServices(view)),
    entryPoints: byKey(allEntryPoints(view)),
    stamps: stampsBody(view),
  };
  return { body };
}
