// /api/v1/tokens: admin only. A token's secret is shown once, when it is created; the store keeps
// only its SHA-256.
import type { FastifyInstance } from 'fastify';
import type { TokenStore } from '../store/tokens.ts';
import { principalOf } from './auth.ts';
import { CreateTokenBody, CreatedToken, NameParams, TokenList, problems } from './schemas.ts';

const tags = ['tokens'];

export function registerTokenRoutes(app: FastifyInstance, tokens: TokenStore): void {
  app.get('/api/v1/tokens', { schema: { tags, summary: 'List tokens (names and roles, never secrets)', response: { 200: TokenList, ...problems(401, 403) } } }, async () => ({ items: await tokens.list() }));

  app.post<{ Body: CreateTokenBody }>(
    '/api/v1/tokens',
    { schema: { tags, summary: 'Create a token; its secret is in this answer only', body: CreateTokenBody, response: { 201: CreatedToken, ...problems(400, 401, 403, 409) } } },
    async (request, reply) => {
      const { token, info } = await tokens.create(request.body.name, request.body.role, principalOf(request).name);
      return reply.code(201).header('cache-control', 'no-store').send({ ...info, token });
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/tokens/:name',
    { schema: { tags, summary: 'Revoke a token (not the last admin token)', params: NameParams, response: { 204: { type: 'null', description: 'revoked' }, ...problems(400, 401, 403, 404, 409) } } },
    async (request, reply) => {
      await tokens.remove(request.params.name, principalOf(request).name);
      return reply.code(204).send();
    },
  );
}
