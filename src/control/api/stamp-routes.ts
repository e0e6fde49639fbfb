// /api/v1/stamps: create, list, get, update (capacity, labels, version, aliases), drain, delete, and
// the stamp's operations. Creating a stamp records it; bringing it to life is the deployment state
// machine's job (it starts `provisioning`, except an `external` stamp, whose servers already run).
import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../store/catalog.ts';
import { principalOf } from './auth.ts';
import { ApiProblem } from './problems.ts';
import { CreateStampBody, DrainStampBody, IdParams, Operation, OperationList, Stamp, StampList, UpdateStampBody, problems } from './schemas.ts';

const tags = ['stamps'];

export function registerStampRoutes(app: FastifyInstance, catalog: Catalog): void {
  app.get('/api/v1/stamps', { schema: { tags, summary: 'List stamps with their state, capacity and use', response: { 200: StampList, ...problems(401, 403) } } }, async () => ({ items: await catalog.listStamps() }));

  app.post<{ Body: CreateStampBody }>(
    '/api/v1/stamps',
    { schema: { tags, summary: 'Create a stamp', body: CreateStampBody, response: { 201: Stamp, ...problems(400, 401, 403, 409) } } },
    async (request, reply) => {
      const stamp = await catalog.createStamp(request.body, principalOf(request).name);
      return reply.code(201).header('location', `/api/v1/stamps/${stamp.id}`).send(stamp);
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/stamps/:id', { schema: { tags, summary: 'Get a stamp', params: IdParams, response: { 200: Stamp, ...problems(400, 401, 403, 404) } } }, async (request) => {
    const stamp = await catalog.getStamp(request.params.id);
    if (!stamp) throw new ApiProblem(404, 'unknown-stamp', 'Unknown stamp', `no stamp is named ${JSON.stringify(request.params.id)}`, { stamp: request.params.id });
    return stamp;
  });

  app.patch<{ Params: { id: string }; Body: UpdateStampBody }>(
    '/api/v1/stamps/:id',
    { schema: { tags, summary: 'Update capacity, labels, version or aliases', params: IdParams, body: UpdateStampBody, response: { 200: Stamp, ...problems(400, 401, 403, 404, 409) } } },
    async (request) => catalog.updateStamp(request.params.id, request.body, principalOf(request).name),
  );

  app.post<{ Params: { id: string }; Body: DrainStampBody }>(
    '/api/v1/stamps/:id/drain',
    {
      schema: { tags, summary: 'Drain a stamp: no new tenants, keeps serving its own', params: IdParams, body: DrainStampBody, response: { 200: Stamp, ...problems(400, 401, 403, 404, 409) } },
      // The body is optional: a bare POST drains with the default reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => catalog.drainStamp(request.params.id, request.body.reason ?? '', principalOf(request).name),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/stamps/:id',
    { schema: { tags, summary: 'Delete a stamp that holds no tenants', params: IdParams, response: { 204: { type: 'null', description: 'deleted' }, ...problems(400, 401, 403, 404, 409) } } },
    async (request, reply) => {
      await catalog.deleteStamp(request.params.id, principalOf(request).name);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/stamps/:id/operations', { schema: { tags, summary: "A stamp's operations, newest first", params: IdParams, response: { 200: OperationList, ...problems(400, 401, 403, 404) } } }, async (request) => {
    if (!(await catalog.getStamp(request.params.id))) throw new ApiProblem(404, 'unknown-stamp', 'Unknown stamp', `no stamp is named ${JSON.stringify(request.params.id)}`, { stamp: request.params.id });
    return { items: await catalog.listOperations(request.params.id) };
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/operations/:id',
    { schema: { tags: ['operations'], summary: 'Get an operation', params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f-]{1,64}$', description: 'an operation id' } } }, response: { 200: Operation, ...problems(400, 401, 403, 404) } } },
    async (request) => {
      const operation = await catalog.getOperation(request.params.id);
      if (!operation) throw new ApiProblem(404, 'unknown-operation', 'Unknown operation', `no operation has id ${JSON.stringify(request.params.id)}`, { operation: request.params.id });
      return operation;
    },
  );
}
