// /api/v1/tenants: create (placed explicitly, on the least used stamp, or by labels), list (paged,
// by stamp), get, move, delete. Capacity is checked in the transaction that places the tenant.
import type { FastifyInstance } from 'fastify';
import { CatalogError, type Catalog, type Placement } from '../store/catalog.ts';
import { principalOf } from './auth.ts';
import { ApiProblem, invalidRequest } from './problems.ts';
import { CreateTenantBody, IdParams, MoveTenantBody, Tenant, TenantListQuery, TenantPage, problems } from './schemas.ts';

/** What a tenant needed when no stamp fitted: a provisioner may start a stamp for it. */
export interface StampNeed {
  tenant: string;
  policy: Placement['policy'];
  labels?: Record<string, string>;
  actor: string;
}

/** Started when no stamp fits a new tenant; answers which stamp (and operation) will take such tenants. */
export type ProvisionStamp = (need: StampNeed) => Promise<{ stampId: string; operationId?: string } | undefined>;

const tags = ['tenants'];

export function registerTenantRoutes(app: FastifyInstance, catalog: Catalog, provisionStamp: ProvisionStamp | undefined): void {
  app.get<{ Querystring: TenantListQuery }>(
    '/api/v1/tenants',
    { schema: { tags, summary: 'List tenants by id, a page at a time, optionally of one stamp', querystring: TenantListQuery, response: { 200: TenantPage, ...problems(400, 401, 403, 404) } } },
    async (request) => catalog.listTenantsPage({ stampId: request.query.stamp, limit: request.query.limit, cursor: request.query.cursor }),
  );

  app.post<{ Body: CreateTenantBody }>(
    '/api/v1/tenants',
    { schema: { tags, summary: 'Create a tenant on a stamp chosen by its placement', body: CreateTenantBody, response: { 201: Tenant, ...problems(400, 401, 403, 404, 409) } } },
    async (request, reply) => {
      const actor = principalOf(request).name;
      const placement = placementOf(request.body);
      try {
        const tenant = await catalog.createTenant(request.body.id, placement, actor);
        return reply.code(201).header('location', `/api/v1/tenants/${tenant.id}`).send(tenant);
      } catch (error) {
        if (!(error instanceof CatalogError) || error.code !== 'no-stamp-available' || !provisionStamp) throw error;
        const started = await provisionStamp({ tenant: request.body.id, policy: placement.policy, ...(placement.policy === 'label' ? { labels: placement.labels } : {}), actor });
        if (!started) throw error;
        throw new ApiProblem(409, 'no-stamp-available', 'No stamp available', `${error.message}; stamp ${JSON.stringify(started.stampId)} is being provisioned for it: retry when it is active`, {
          ...error.details,
          provisioning: { stamp: started.stampId, ...(started.operationId ? { operationId: started.operationId } : {}) },
        });
      }
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/tenants/:id', { schema: { tags, summary: 'Get a tenant', params: IdParams, response: { 200: Tenant, ...problems(400, 401, 403, 404) } } }, async (request) => {
    const tenant = await catalog.getTenant(request.params.id);
    if (!tenant) throw new ApiProblem(404, 'unknown-tenant', 'Unknown tenant', `no tenant is named ${JSON.stringify(request.params.id)}`, { tenant: request.params.id });
    return tenant;
  });

  app.post<{ Params: { id: string }; Body: MoveTenantBody }>(
    '/api/v1/tenants/:id/move',
    { schema: { tags, summary: 'Move a tenant to another active stamp with room', params: IdParams, body: MoveTenantBody, response: { 200: Tenant, ...problems(400, 401, 403, 404, 409) } } },
    async (request) => catalog.moveTenant(request.params.id, request.body.stamp, principalOf(request).name),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/tenants/:id',
    { schema: { tags, summary: 'Delete a tenant', params: IdParams, response: { 204: { type: 'null', description: 'deleted' }, ...problems(400, 401, 403, 404) } } },
    async (request, reply) => {
      await catalog.deleteTenant(request.params.id, principalOf(request).name);
      return reply.code(204).send();
    },
  );
}

/** explicit with `stamp`, label with `labels`, least-used otherwise; contradictions are 400s naming the field. */
function placementOf(body: CreateTenantBody): Placement {
  const policy = body.policy ?? (body.stamp !== undefined ? 'explicit' : body.labels !== undefined ? 'label' : 'least-used');
  if (body.stamp !== undefined && policy !== 'explicit') throw invalidRequest([{ field: 'policy', message: `must be explicit (or absent) when stamp is given, not ${policy}` }]);
  if (body.labels !== undefined && policy !== 'label') throw invalidRequest([{ field: 'labels', message: `apply to policy label only, not ${policy}` }]);
  switch (policy) {
    case 'explicit':
      if (body.stamp === undefined) throw invalidRequest([{ field: 'stamp', message: 'is required with policy explicit' }]);
      return { policy, stampId: body.stamp };
    case 'label':
      if (body.labels === undefined || Object.keys(body.labels).length === 0) throw invalidRequest([{ field: 'labels', message: 'must name at least one label with policy label' }]);
      return { policy, labels: body.labels };
    default:
      return { policy: 'least-used' };
  }
}
