// /api/v1/audit: every change, newest first, filtered by target, actor, action and time.
import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../store/catalog.ts';
import { invalidRequest } from './problems.ts';
import { AuditPage, AuditQuery, problems } from './schemas.ts';

export function registerAuditRoutes(app: FastifyInstance, catalog: Catalog): void {
  app.get<{ Querystring: AuditQuery }>(
    '/api/v1/audit',
    { schema: { tags: ['audit'], summary: 'Query the audit log (who, what, when, before/after)', querystring: AuditQuery, response: { 200: AuditPage, ...problems(400, 401, 403) } } },
    async (request) => {
      const { since, until, ...rest } = request.query;
      return catalog.listAudit({ ...rest, since: since === undefined ? undefined : instant('since', since), until: until === undefined ? undefined : instant('until', until) });
    },
  );
}

/** The instant in the store's own form (UTC, milliseconds), so that text comparison is time order. */
function instant(field: string, value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw invalidRequest([{ field, message: 'is not a valid date and time' }]);
  return new Date(time).toISOString();
}
