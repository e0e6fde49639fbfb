// The gateway's read-only API, after Traefik's (`/api/overview`, `/api/http/routers`, …, `/ping`):
// what the running config version holds and the live state of every server and stamp. A plain
// node:http handler, to be mounted on an internal entrypoint, never on a client-facing one.
//
//   const api = createGatewayApi(gateway);
//   http.createServer(api).listen(8080, '127.0.0.1');
//
// It reads the state already kept for routing (no extra work on the request path), answers only
// GET and HEAD, and never throws: an unknown path is a 404 problem, a bug a 500 problem.
import type { RequestReader, ResponseWriter } from '../../shared/response-writer.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { sendJson } from '../../shared/send-json.ts';
import type { Gateway } from '../gateway.ts';
import { createView, type ApiAnswer, type ApiView } from './api-view.ts';
import { getEntryPoint, listEntryPoints } from './entrypoints.ts';
import { getMiddleware, listMiddlewares } from './middlewares.ts';
import { getOverview } from './overview.ts';
import { getRawData } from './rawdata.ts';
import { getRouter, listRouters } from './routers.ts';
import { getService, listServices } from './services.ts';
import { getStamps } from './stamps.ts';

export interface GatewayApiOptions {
  /** Where a failure of the API itself is written (a 500 answer); silent when absent. */
  log?: (line: string) => void;
}

type Collection = (view: ApiView) => ApiAnswer;
type Item = (view: ApiView, name: string) => ApiAnswer;

const collections = new Map<string, Collection>([
  ['/api/overview', getOverview],
  ['/api/rawdata', getRawData],
  ['/api/stamps', getStamps],
  ['/api/entrypoints', listEntryPoints],
  ['/api/http/routers', listRouters],
  ['/api/http/services', listServices],
  ['/api/http/middlewares', listMiddlewares],
]);

/** `{prefix}{name}`: the name is one path segment, percent-decoded (`a%2Fb` names `a/b`). */
const items: ReadonlyArray<readonly [string, Item]> = [
  ['/api/entrypoints/', getEntryPoint],
  ['/api/http/routers/', getRouter],
  ['/api/http/services/', getService],
  ['/api/http/middlewares/', getMiddleware],
];

const allow = { allow: 'GET, HEAD' };

export function createGatewayApi(gateway: Gateway, options: GatewayApiOptions = {}): (req: RequestReader, res: ResponseWriter) => void {
  const log = options.log ?? (() => {});
  return (req, res) => {
    try {
      answer(gateway, req, res);
    } catch (error) {
      log(`gateway API: 500 on ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`);
      try {
        sendProblem(res, problem('internal-error', 'Internal gateway error', 500, 'the gateway API failed to answer; the error is in its log'));
      } catch {
        res.destroy();
      }
    }
  };
}

function answer(gateway: Gateway, req: RequestReader, res: ResponseWriter): void {
  const target = originForm(req.url ?? '/');
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const route = resolve(path);
  if (route === null) {
    sendProblem(res, problem('not-found', 'Not found', 404, `the gateway API has no resource at ${JSON.stringify(path)}`));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendProblem(res, problem('method-not-allowed', 'Method not allowed', 405, `${path} answers GET and HEAD only`), allow);
    return;
  }
  if (route === 'ping') {
    // Traefik's ping: a plain OK while the process answers.
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2, 'cache-control': 'no-store' });
    res.end('OK');
    return;
  }
  const view = createView(gateway, new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1)));
  const result = route.name === undefined ? route.collection(view) : route.item(view, route.name);
  if ('problem' in result) {
    sendProblem(res, result.problem, result.headers);
    return;
  }
  if (result.headers !== undefined) for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
  sendJson(res, 200, result.body);
}

/** `http://host:8080/api/overview?x` (absolute-form, as sent to a proxy) → `/api/overview?x`. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return target; // matches no resource: a 404
  }
}

type Route = 'ping' | { collection: Collection; name?: undefined } | { item: Item; name: string };

function resolve(path: string): Route | null {
  if (path === '/ping') return 'ping';
  if (!path.startsWith('/api/')) return null;
  const collection = collections.get(path);
  if (collection !== undefined) return { collection };
  for (const [prefix, item] of items) {
    if (!path.startsWith(prefix)) continue;
    const raw = path.slice(prefix.length);
    if (raw === '' || raw.includes('/')) return null;
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return null; // malformed percent-encoding names nothing
    }
    return { item, name };
  }
  return null;
}
