// The control plane's HTTP API: the admin API under /api/v1, the config feed at /v1/config, the
// OpenAPI document at /openapi.json and its docs page at /docs (served from local files: it works
// offline). A Fastify instance, ready and not listening: the caller decides where it listens.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Catalog } from '../store/catalog.ts';
import type { TokenStore } from '../store/tokens.ts';
import { ConfigFeed } from '../feed/config-feed.ts';
import { registerFeedRoutes } from '../feed/feed-routes.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerDeployRoutes } from './deploy-routes.ts';
import type { TenantDeployments } from '../deploy/tenant-deploy.ts';
import { bearerAuth } from './auth.ts';
import { errorHandler, notFoundHandler } from './problems.ts';
import { registerStampRoutes } from './stamp-routes.ts';
import { registerTenantRoutes, type ProvisionStamp } from './tenant-routes.ts';
import { registerTokenRoutes } from './token-routes.ts';
import { validatorCompiler } from './validation.ts';
import { registerDashboard, type DashboardOptions } from '../../dashboard/dashboard.ts';

export type { ProvisionStamp, StampNeed } from './tenant-routes.ts';

export interface AdminApiOptions {
  catalog: Catalog;
  tokens: TokenStore;
  /** The config feed; by default one is made for `catalog` and closed with the app. A feed passed in is the caller's to close, before `app.close()` (waiting watches then answer at once). */
  feed?: ConfigFeed;
  /** Fastify's logger option (default: off). */
  logger?: FastifyServerOptions['logger'];
  /** Called when no stamp fits a new tenant, to provision one (the deployment state machine). */
  provisionStamp?: ProvisionStamp;
  /** Per-tenant deploys, stamp provisioning and operation events (deploy-routes.ts); absent: those endpoints are not served. */
  deployments?: TenantDeployments;
  /** How long a config watch waits before answering 304 (default 25 s). */
  watchTimeoutMs?: number;
  /** How often the feed re-reads the config version while gateways wait (default 500 ms). */
  feedPollIntervalMs?: number;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** The web dashboard on /, /login and /dashboard, signed in with a session cookie (see src/dashboard/); off when absent. */
  dashboard?: DashboardOptions;
}

export async function createAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    // Unknown fields are errors here, never silently dropped (see validation.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  // An empty JSON body is no body (a bare `curl -X POST -H 'content-type: application/json'`);
  // anything else goes through Fastify's own parser, which refuses __proto__ poisoning.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') done(null, undefined);
    else parseJson(request, text, done);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Before the bearer check: the dashboard's own paths are answered by the dashboard (session cookie).
  if (options.dashboard) await registerDashboard(app, options.tokens, options.dashboard);
  app.addHook('onRequest', bearerAuth(options.tokens));
  let closing = false;
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // An answer sent while the app closes (a released watch) also closes its connection: an idle
    // keep-alive connection would otherwise hold close() up until its timeout.
    if (closing) reply.header('connection', 'close');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Stampgate control plane', version: '1', description: 'Stamps, tenants, the audit log and the config feed of Stampgate. Authenticate with `Authorization: Bearer <token>`: role admin writes, viewer reads, gateway reads /v1/config only.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'stamps', description: 'isolated copies of the app' },
        { name: 'tenants', description: 'the tenant directory' },
        { name: 'operations', description: 'long-running work on a stamp' },
        { name: 'audit', description: 'who changed what, when' },
        { name: 'tokens', description: 'API tokens (admin only)' },
        { name: 'config feed', description: 'what gateways subscribe to' },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // validatorUrl null: no call to swagger.io; every asset comes from this server (works offline).
    uiConfig: { validatorUrl: null, deepLinking: true },
    staticCSP: true,
    // The control plane is often reached over plain http (localhost, a LAN address): asking the
    // browser to upgrade its requests to https would break the page there.
    transformStaticCSP: (header: string) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });

  const feed = options.feed ?? new ConfigFeed({ catalog: options.catalog, pollIntervalMs: options.feedPollIntervalMs });
  // Watches waiting at shutdown answer 304 at once, so closing never waits out a long-poll.
  app.addHook('preClose', async () => {
    closing = true;
    if (!options.feed) feed.close();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerStampRoutes(app, options.catalog);
  registerTenantRoutes(app, options.catalog, options.provisionStamp);
  registerAuditRoutes(app, options.catalog);
  if (options.deployments) registerDeployRoutes(app, options.catalog, options.deployments);
  registerTokenRoutes(app, options.tokens);
  registerFeedRoutes(app, feed, { watchTimeoutMs: options.watchTimeoutMs });
  await app.ready();
  return app;
}
