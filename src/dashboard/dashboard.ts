// The web dashboard, served on the control plane's port beside the admin API, signed in with a
// session cookie instead of a bearer header.
//
//   const api = await createAdminApi({ catalog, tokens, dashboard: { sources: { catalog, store, gateway } } });
//
// It is a Fastify app of its own: the admin API hands it every request for /, /login, /logout and
// /dashboard… before its bearer check runs (registerDashboard), so the API's auth is untouched and
// the dashboard's pages never see an Authorization header. Routes:
//
//   GET  /, /dashboard                 the page (without a session: to /login for a browser, 401 otherwise)
//   GET  /login                        the sign-in page; with ?token=… signs in and goes to /dashboard
//   POST /login                        token=… (form) or {"token": "…"} (JSON)
//   POST /logout                       ends the session
//   GET  /dashboard/assets/{file}      app.js, app.css, favicon.svg (public: they hold no data)
//   GET  /dashboard/api/session        who is signed in
//   GET  /dashboard/api/overview       stamps, health, traffic, system status
//   GET  /dashboard/api/routing        routers, services, middlewares (as the gateway API shows them)
//   GET  /dashboard/api/operations     operations with their steps and progress
//   GET  /dashboard/api/tenants        ?q=&stamp=&cursor=&limit= tenant search
//   GET  /dashboard/api/events         server-sent events: overview, routing, operations
//   GET  /dashboard/api/gateway/…      the gateway's read-only API (/api/overview, /api/http/routers…)
//
// Every /dashboard/api/ answer without a live session is a 401 problem.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { problem, type Problem } from '../shared/problem.ts';
import type { Principal, TokenStore } from '../control/store/tokens.ts';
import { LiveFeed } from './live-feed.ts';
import { listOperations } from './operations.ts';
import { buildOverview } from './overview.ts';
import { dashboardPage, loadAssets, loginPage } from './pages.ts';
import { clearedSessionCookieHeader, readCookie, sessionCookie, sessionCookieHeader, SessionStore, type Session } from './sessions.ts';
import type { DashboardSources, ReadinessReport } from './sources.ts';
import { searchTenants, searchTextPattern } from './tenant-search.ts';

export type { DashboardSources } from './sources.ts';

export interface DashboardOptions {
  sources: DashboardSources;
  /** How long a session lasts (default 12 h). */
  sessionTtlMs?: number;
  /** How often open pages get fresh data (default 1000 ms). */
  liveIntervalMs?: number;
  /** A revoked token's sessions end within this long (default 5 s). */
  tokenRecheckMs?: number;
  /** Where failures reading a source are written. */
  log?: (line: string) => void;
}

export interface Dashboard {
  readonly app: FastifyInstance;
  readonly sessions: SessionStore;
  /** True for the paths the dashboard answers. */
  handles(url: string): boolean;
  close(): Promise<void>;
}

/** Roles that may read, as the admin API's GET routes: the dashboard shows, it never writes. */
const readingRoles = new Set(['admin', 'viewer']);

const securityHeaders = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer a browser posts forms with "Origin: null".
  'referrer-policy': 'same-origin',
};

/**
 * Registers the dashboard on the admin API's app. Call it before the app's bearer-auth hook: the
 * dashboard's requests are answered by the dashboard and go no further through the app.
 */
export async function registerDashboard(app: FastifyInstance, tokens: TokenStore, options: DashboardOptions): Promise<Dashboard> {
  const dashboard = await createDashboard(tokens, options);
  app.addHook('onRequest', async (request, reply) => {
    if (!dashboard.handles(request.url)) return;
    // The app stops here (no later hook, no route); the dashboard's own app answers.
    reply.hijack();
    dashboard.app.routing(request.raw, reply.raw);
  });
  // Open event streams would hold the server's close up: they end first.
  app.addHook('preClose', async () => dashboard.close());
  return dashboard;
}

export async function createDashboard(tokens: TokenStore, options: DashboardOptions): Promise<Dashboard> {
  const { sources } = options;
  const log = options.log ?? (() => {});
  const sessions = new SessionStore({ ttlMs: options.sessionTtlMs });
  const tokenRecheckMs = options.tokenRecheckMs ?? 5000;
  const assets = loadAssets();

  // ---- sign-in ---------------------------------------------------------------------------------

  let tokensCheckedAt = 0;
  let checkingTokens: Promise<void> | null = null;
  /** Ends sessions whose token was revoked or changed role since it signed in. */
  const recheckTokens = async () => {
    if (sessions.size === 0 || Date.now() - tokensCheckedAt < tokenRecheckMs) return;
    checkingTokens ??= (async () => {
      try {
        const valid = new Set((await tokens.list()).map((t) => `${t.name}\n${t.role}`));
        tokensCheckedAt = Date.now();
        sessions.endWhere((s) => !valid.has(`${s.principal.name}\n${s.principal.role}`));
      } finally {
        checkingTokens = null;
      }
    })();
    await checkingTokens;
  };

  const sessionOf = async (request: FastifyRequest): Promise<Session | undefined> => {
    const id = readCookie(request.headers.cookie, sessionCookie);
    if (id === undefined) return undefined;
    await recheckTokens();
    return sessions.get(id);
  };

  const signIn = async (token: string | undefined): Promise<{ principal: Principal } | { status: 400 | 401 | 403; detail: string }> => {
    const given = token?.trim() ?? '';
    if (given === '') return { status: 400, detail: 'enter a token' };
    const principal = await tokens.verify(given);
    if (!principal) return { status: 401, detail: 'that token is not known (mistyped, or revoked)' };
    if (!readingRoles.has(principal.role)) return { status: 403, detail: `token ${JSON.stringify(principal.name)} has role ${principal.role}; the dashboard needs a token with role admin or viewer` };
    return { principal };
  };

  const startSession = (request: FastifyRequest, reply: FastifyReply, principal: Principal): Session => {
    const session = sessions.create(principal);
    reply.header('set-cookie', sessionCookieHeader(session.id, Math.floor(sessions.ttlMs / 1000), request.protocol === 'https'));
    return session;
  };

  // ---- data ------------------------------------------------------------------------------------

  // Readiness asks each stamp's /ready, which the sample app logs: probed every 15 s while pages
  // are open, every second while a stamp is not ready or just after a catalog change (a stamp
  // killed, restarted), so that going down and coming back both show within a second.
  let readiness: ReadinessReport | null = null;
  let readinessAt = 0;
  let readinessRun: Promise<void> | null = null;
  let catalogChangedAt = 0;
  const refreshReadiness = (): Promise<void> => {
    const gateway = sources.gateway;
    if (!gateway) return Promise.resolve();
    readinessRun ??= gateway
      .readiness()
      .then((report) => {
        const changed = JSON.stringify(report) !== JSON.stringify(readiness);
        readiness = report;
        readinessAt = Date.now();
        if (changed) feed.poke();
      })
      .catch((error: Error) => log(`dashboard: readiness check failed: ${error.message}`))
      .finally(() => (readinessRun = null));
    return readinessRun;
  };
  const currentReadiness = async (): Promise<ReadinessReport | null> => {
    if (!sources.gateway) return null;
    const watchful = readiness === null || readiness.status !== 'ready' || Date.now() - catalogChangedAt < 10_000;
    if (Date.now() - readinessAt >= (watchful ? 900 : 15_000)) {
      const run = refreshReadiness();
      // A slow probe (a hung stamp) holds an answer up for 300 ms at most; its result follows.
      await (readiness === null ? run : Promise.race([run, new Promise((r) => setTimeout(r, 300).unref())]));
    }
    return readiness;
  };

  const overviewJson = async () => JSON.stringify(await buildOverview(sources, await currentReadiness()));
  const routingJson = async () => (sources.gateway ? JSON.stringify(sources.gateway.routing()) : null);
  const operationsJson = async () => (sources.catalog || sources.store ? JSON.stringify({ operations: await listOperations(sources.catalog, sources.store) }) : null);

  const feed = new LiveFeed(
    [
      { name: 'overview', build: overviewJson, always: true },
      { name: 'routing', build: routingJson },
      { name: 'operations', build: operationsJson },
    ],
    { intervalMs: options.liveIntervalMs, log },
  );
  sessions.onEnd((id) => feed.endSession(id));
  // A catalog change (a stamp's state, a tenant placed) shows at once, with a fresh readiness.
  const unsubscribe = sources.catalog?.onChange(() => {
    catalogChangedAt = Date.now();
    if (feed.clients === 0) return;
    feed.poke();
    void refreshReadiness();
  });

  // ---- the app ---------------------------------------------------------------------------------

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(securityHeaders);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) log(`dashboard: 500 on ${request.method} ${request.url.split('?')[0]}: ${(error as Error).stack ?? String(error)}`);
    return sendProblem(reply, problem(status === 500 ? 'internal-error' : 'bad-request', status === 500 ? 'Internal error' : 'Bad request', status, status === 500 ? 'the dashboard failed to answer; the error is in the log' : (error.message ?? 'bad request'), { requestId: request.id }));
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem('not-found', 'Not found', 404, `the dashboard has nothing at ${request.url.split('?')[0]}`, { requestId: request.id })));

  const unauthorized = (reply: FastifyReply, request: FastifyRequest) =>
    sendProblem(reply, problem('unauthorized', 'Unauthorized', 401, 'sign in first: open /login (or the link `stampgate up` printed)', { requestId: request.id }));

  /** The page without a session: a browser goes to the sign-in page, anything else gets a 401. */
  const toLogin = (request: FastifyRequest, reply: FastifyReply) => {
    if (wantsHtml(request)) return reply.code(303).header('location', '/login').send();
    return unauthorized(reply, request);
  };

  app.get('/', async (request, reply) => ((await sessionOf(request)) ? reply.code(303).header('location', '/dashboard').send() : toLogin(request, reply)));

  app.get('/dashboard', async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toLogin(request, reply);
    return reply.type('text/html; charset=utf-8').send(dashboardPage(session.principal));
  });

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return sendProblem(reply, problem('not-found', 'Not found', 404, `no asset is named ${JSON.stringify(request.params.file)}`, { requestId: request.id }));
    return reply.type(asset.contentType).header('cache-control', 'no-cache').send(asset.body);
  });

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/login', async (request, reply) => {
    const token = request.query.token;
    if (token !== undefined) {
      const result = await signIn(Array.isArray(token) ? token[0] : token);
      if ('principal' in result) {
        startSession(request, reply, result.principal);
        return reply.code(303).header('location', '/dashboard').send();
      }
      return reply.code(result.status).type('text/html; charset=utf-8').send(loginPage({ error: `The link's token did not sign you in: ${result.detail}.` }));
    }
    if (await sessionOf(request)) return reply.code(303).header('location', '/dashboard').send();
    const notice = 'signed-out' in request.query ? 'You are signed out.' : 'expired' in request.query ? 'Your session ended. Sign in again.' : undefined;
    return reply.type('text/html; charset=utf-8').send(loginPage(notice ? { notice } : {}));
  });

  // Sign-in and sign-out are posted by this server's own pages: another site's form is refused.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || sameOrigin(request)) return;
    return sendProblem(reply, problem('forbidden', 'Forbidden', 403, 'this form was posted from another site', { requestId: request.id }));
  });

  app.post<{ Body: unknown }>('/login', async (request, reply) => {
    const form = isForm(request);
    const body = request.body;
    const token = body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>).token === 'string' ? ((body as Record<string, unknown>).token as string) : undefined;
    const result = await signIn(token);
    if ('principal' in result) {
      const session = startSession(request, reply, result.principal);
      if (form) return reply.code(303).header('location', '/dashboard').send();
      return reply.send({ name: session.principal.name, role: session.principal.role, expiresAt: new Date(session.expiresAt).toISOString() });
    }
    if (form) return reply.code(result.status).type('text/html; charset=utf-8').send(loginPage({ error: `Not signed in: ${result.detail}.` }));
    const code = result.status === 400 ? 'invalid-request' : result.status === 401 ? 'invalid-token' : 'forbidden';
    const title = result.status === 400 ? 'Invalid request' : result.status === 401 ? 'Unauthorized' : 'Forbidden';
    return sendProblem(reply, problem(code, title, result.status, result.detail, { requestId: request.id }));
  });

  app.post('/logout', async (request, reply) => {
    const id = readCookie(request.headers.cookie, sessionCookie);
    if (id !== undefined) sessions.end(id);
    reply.header('set-cookie', clearedSessionCookieHeader(request.protocol === 'https'));
    if (isForm(request) || wantsHtml(request)) return reply.code(303).header('location', '/login?signed-out').send();
    return reply.code(204).send();
  });

  // ---- data endpoints: a session or 401 --------------------------------------------------------

  await app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      const session = await sessionOf(request);
      if (!session) return unauthorized(reply, request);
      sessionOfRequest.set(request, session);
    });

    api.get('/dashboard/api/session', async (request) => {
      const session = sessionOfRequest.get(request)!;
      return { name: session.principal.name, role: session.principal.role, expiresAt: new Date(session.expiresAt).toISOString(), sources: { catalog: sources.catalog !== undefined, gateway: sources.gateway !== undefined } };
    });

    api.get('/dashboard/api/overview', async (_request, reply) => reply.type('application/json').send(await overviewJson()));

    api.get('/dashboard/api/routing', async (request, reply) => {
      const json = await routingJson();
      if (json === null) return sendProblem(reply, problem('no-gateway', 'No gateway', 404, 'no gateway runs in this process: routers, services and middlewares are shown by the gateway itself', { requestId: request.id }));
      return reply.type('application/json').send(json);
    });

    api.get('/dashboard/api/operations', async (request, reply) => {
      const json = await operationsJson();
      if (json === null) return sendProblem(reply, problem('no-catalog', 'No catalog', 404, 'this process has no control-plane catalog: there are no operations to show', { requestId: request.id }));
      return reply.type('application/json').send(json);
    });

    api.get<{ Querystring: Record<string, string | undefined> }>('/dashboard/api/tenants', async (request, reply) => {
      const q = request.query;
      const text = (q.q ?? '').trim().toLowerCase();
      if (!searchTextPattern.test(text)) return sendProblem(reply, problem('invalid-request', 'Invalid request', 400, 'q: tenant ids are lowercase letters, digits and "-" (at most 63)', { requestId: request.id }));
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) return sendProblem(reply, problem('invalid-request', 'Invalid request', 400, 'limit: a whole number from 1 to 500', { requestId: request.id }));
      if (!sources.catalog && !sources.store) return sendProblem(reply, problem('no-catalog', 'No catalog', 404, 'this process has no control-plane catalog: tenants live there', { requestId: request.id }));
      return searchTenants(sources.catalog, sources.store, { text, limit, ...(q.stamp ? { stampId: q.stamp } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) });
    });

    api.get('/dashboard/api/events', async (request, reply) => {
      reply.hijack();
      feed.add(sessionOfRequest.get(request)!.id, reply.raw);
    });

    api.get('/dashboard/api/gateway/*', async (request, reply) => {
      const gatewayApi = sources.gateway?.api;
      if (!gatewayApi) return sendProblem(reply, problem('no-gateway', 'No gateway', 404, 'no gateway runs in this process', { requestId: request.id }));
      reply.hijack();
      // The gateway API answers GET and HEAD only, by itself (read-only).
      request.raw.url = request.url.slice('/dashboard/api/gateway'.length) || '/';
      gatewayApi(request.raw, reply.raw);
    });
  });

  await app.ready();

  let closed = false;
  return {
    app,
    sessions,
    handles,
    close: async () => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      feed.close();
      await app.close();
    },
  };
}

const sessionOfRequest = new WeakMap<FastifyRequest, Session>();

/** The paths the dashboard answers; everything else stays the admin API's. */
export function handles(url: string): boolean {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path === '/' || path === '' || path === '/login' || path === '/logout' || path === '/dashboard' || path.startsWith('/dashboard/');
}

/** No Origin header (curl, an old browser) or this very host. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

function isForm(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).header('cache-control', 'no-store').type('application/problem+json').send(body);
}
