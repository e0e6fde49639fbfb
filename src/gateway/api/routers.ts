// GET /api/http/routers and /api/http/routers/{name}.
import { problem } from '../../shared/problem.ts';
import type { RouterInfo } from '../runtime/compile-config.ts';
import { isProblem, type ApiAnswer, type ApiView } from './api-view.ts';
import { byName, matchesSearch, paginate, parseListQuery } from './list-query.ts';
import { provider, qualified, unqualified } from './names.ts';

export interface RouterView {
  name: string;
  provider: string;
  status: 'enabled';
  rule: string;
  /** The effective priority: the configured one, or the rule's length (Traefik's default). */
  priority: number;
  entryPoints: string[];
  middlewares: string[];
  service: string;
  /** Present (as in Traefik) only when the router serves TLS. */
  tls?: Record<string, never>;
}

export function routerView(router: RouterInfo): RouterView {
  return {
    name: qualified(router.name),
    provider,
    status: 'enabled',
    rule: router.rule,
    priority: router.priority,
    entryPoints: [...router.entryPoints],
    middlewares: router.middlewares.map(qualified),
    service: qualified(router.service),
    ...(router.tls ? { tls: {} } : {}),
  };
}

/** Every router, sorted by name. */
export function allRouters(view: ApiView): RouterView[] {
  return (view.config?.routers ?? []).map(routerView).sort(byName);
}

/** `search` (name or rule), `serviceName`, `middlewareName` (with or without @file), `page`, `per_page`. */
export function listRouters(view: ApiView): ApiAnswer {
  const query = parseListQuery(view.params);
  if (isProblem(query)) return { problem: query };
  const serviceName = filterName(view.params.get('serviceName'));
  const middlewareName = filterName(view.params.get('middlewareName'));
  const kept = (view.config?.routers ?? []).filter(
    (r) => matchesSearch(query, r.name, r.rule) && (serviceName === undefined || r.service === serviceName) && (middlewareName === undefined || r.middlewares.includes(middlewareName)),
  );
  const page = paginate(kept.map(routerView).sort(byName), query);
  if (isProblem(page)) return { problem: page };
  return { body: page.items, headers: { 'x-next-page': String(page.nextPage) } };
}

export function getRouter(view: ApiView, name: string): ApiAnswer {
  const bare = unqualified(name);
  const router = bare === null ? undefined : view.config?.routers.find((r) => r.name === bare);
  if (router === undefined) return { problem: problem('unknown-router', 'Unknown router', 404, `no router is named ${JSON.stringify(name)}`, { name }) };
  return { body: routerView(router) };
}

/** A filter value: undefined when absent; a name of another provider matches nothing. */
function filterName(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  return unqualified(raw) ?? '\0';
}
