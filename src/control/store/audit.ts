// The audit log: who changed what, when, with the target before and after. Rows are written inside
// the transaction of the change they describe, so a change without its audit row cannot exist.
import type { Kysely, Transaction } from 'kysely';
import type { StoreSchema } from './schema.ts';

export type AuditTargetKind = 'stamp' | 'tenant' | 'token' | 'operation';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetKind: AuditTargetKind;
  targetId: string;
  before: unknown;
  after: unknown;
  /** The config version this change produced; null for changes gateways do not see. */
  configVersion: number | null;
}

export interface AuditQuery {
  targetKind?: AuditTargetKind;
  targetId?: string;
  actor?: string;
  action?: string;
  /** ISO 8601 instants; `since` inclusive, `until` exclusive. */
  since?: string;
  until?: string;
  /** Newest first; at most this many (default 100). */
  limit?: number;
  /** The `next` of the previous page: entries older than it. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
}

export interface PendingAudit {
  action: string;
  targetKind: AuditTargetKind;
  targetId: string;
  before: unknown;
  after: unknown;
}

export async function writeAudit(trx: Transaction<StoreSchema>, entries: PendingAudit[], actor: string, at: string, configVersion: number | null): Promise<void> {
  if (entries.length === 0) return;
  // Batches keep each statement under both databases' bound-parameter limits.
  for (let i = 0; i < entries.length; i += 500) {
    await trx
      .insertInto('audit_log')
      .values(
        entries.slice(i, i + 500).map((e) => ({
          at,
          actor,
          action: e.action,
          target_kind: e.targetKind,
          target_id: e.targetId,
          before_json: e.before === undefined || e.before === null ? null : JSON.stringify(e.before),
          after_json: e.after === undefined || e.after === null ? null : JSON.stringify(e.after),
          config_version: configVersion,
        })),
      )
      .execute();
  }
}

export async function queryAudit(db: Kysely<StoreSchema>, query: AuditQuery): Promise<Page<AuditEntry>> {
  const limit = query.limit ?? 100;
  let q = db.selectFrom('audit_log').selectAll();
  if (query.targetKind !== undefined) q = q.where('target_kind', '=', query.targetKind);
  if (query.targetId !== undefined) q = q.where('target_id', '=', query.targetId);
  if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
  if (query.action !== undefined) q = q.where('action', '=', query.action);
  if (query.since !== undefined) q = q.where('at', '>=', query.since);
  if (query.until !== undefined) q = q.where('at', '<', query.until);
  if (query.cursor !== undefined) q = q.where('id', '<', Number(query.cursor));
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
  const items = rows.slice(0, limit).map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    targetKind: r.target_kind as AuditTargetKind,
    targetId: r.target_id,
    before: r.before_json === null ? null : (JSON.parse(r.before_json) as unknown),
    after: r.after_json === null ? null : (JSON.parse(r.after_json) as unknown),
    configVersion: r.config_version,
  }));
  return { items, next: rows.length > limit ? String(items[items.length - 1]!.id) : null };
}
