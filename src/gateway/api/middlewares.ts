// GET /api/http/middlewares and /api/http/middlewares/{name}. A middleware's options are not shown:
// some hold secrets (basicAuth users, JWT keys), and the compiled config keeps only the kind.
import { problem } from '../../shared/problem.ts';
import { isProblem, type ApiAnswer, type ApiView } from './api-view.ts';
import { byName, matchesSearch, paginate, parseListQuery } from './list-query.ts';
import { provider, qualified, unqualified } from './names.ts';

export interface MiddlewareView {
  name: string;
  provider: string;
  status: 'enabled';
  /** The kind, lower-cased as Traefik shows it: `stripprefix`, `basicauth`, … */
  type: string;
  /** Routers that list this middleware directly. */
  usedBy: string[];
}

function middlewareView(view: ApiView, middleware: { name: string; kind: string }): MiddlewareView {
  return { name: qualified(middleware.name), provider, status: 'enabled', type: middleware.kind.toLowerCase(), usedBy: [...(view.usage().middlewares.get(middleware.name) ?? [])] };
}

export function allMiddlewares(view: ApiView): MiddlewareView[] {
  return (view.config?.middlewares ?? []).map((m) => middlewareView(view, m)).sort(byName);
}

export function listMiddlewares(view: ApiView): ApiAnswer {
  const query = parseListQuery(view.params);
  if (isProblem(query)) return { problem: query };
  const kept = (view.config?.middlewares ?? []).filter((m) => matchesSearch(query, m.name)).sort(byName);
  const page = paginate(kept, query);
  if (isProblem(page)) return { problem: page };
  return { body: page.items.map((m) => middlewareView(view, m)), headers: { 'x-next-page': String(page.nextPage) } };
}

export function getMiddleware(view: ApiView, name: string): ApiAnswer {
  const bare = unqualified(name);
  const middleware = bare === null ? undefined : view.config?.middlewares.find((m) => m.name === bare);
  if (middleware === undefined) return { problem: problem('unknown-middleware', 'Unknown middleware', 404, `no middleware is named ${JSON.stringify(name)}`, { name }) };
  return { body: middlewareView(view, middleware) };
}
