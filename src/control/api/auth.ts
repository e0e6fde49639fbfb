// Bearer-token authentication and role checks, run before anything else of a request (before its
// body is even parsed): without a valid token nothing is read and nothing is written.
//
//   role     may
//   admin    everything
//   viewer   GET the admin API (stamps, tenants, operations, audit) and the config feed
//   gateway  GET the config feed (/v1/config) only
//
// Public: /openapi.json and the /docs page (they describe the API, they hold no data).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, TokenRole, TokenStore } from '../store/tokens.ts';
import { ApiProblem } from './problems.ts';

export type Access = 'public' | 'read' | 'write' | 'admin' | 'feed';

const allowed: Record<Exclude<Access, 'public'>, readonly TokenRole[]> = {
  read: ['admin', 'viewer'],
  write: ['admin'],
  admin: ['admin'],
  feed: ['admin', 'viewer', 'gateway'],
};

/** What a route needs, from its URL pattern and method; a route this does not know needs admin. */
export function accessFor(method: string, routeUrl: string | undefined): Access {
  if (routeUrl === undefined) return 'public'; // no route: the not-found answer
  if (routeUrl === '/openapi.json' || routeUrl === '/docs' || routeUrl.startsWith('/docs/')) return 'public';
  if (routeUrl === '/v1/config' || routeUrl.startsWith('/v1/config/')) return 'feed';
  if (routeUrl.startsWith('/api/v1/tokens')) return 'admin';
  if (routeUrl.startsWith('/api/v1/')) return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  return 'admin';
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The token behind an authenticated request: its name is the audit log's actor. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new Error('principalOf: the request was not authenticated');
  return principal;
}

const challenge = 'Bearer realm="stampgate"';

export function bearerAuth(tokens: TokenStore): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    const access = accessFor(request.method, request.routeOptions.url);
    if (access === 'public') return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
    if (!match) {
      throw new ApiProblem(401, 'unauthorized', 'Unauthorized', 'this endpoint needs a token: send "Authorization: Bearer <token>"', {}, { 'www-authenticate': challenge });
    }
    const principal = await tokens.verify(match[1]!);
    if (!principal) {
      throw new ApiProblem(401, 'unauthorized', 'Unauthorized', 'the bearer token is not known (mistyped, or revoked)', {}, { 'www-authenticate': `${challenge}, error="invalid_token"` });
    }
    principals.set(request, principal);
    if (!allowed[access].includes(principal.role)) {
      const needs = allowed[access].join(' or ');
      throw new ApiProblem(403, 'forbidden', 'Forbidden', `token ${JSON.stringify(principal.name)} has role ${principal.role}; ${request.method} ${request.routeOptions.url} needs ${needs}`, {}, { 'www-authenticate': `${challenge}, error="insufficient_scope"` });
    }
  };
}
