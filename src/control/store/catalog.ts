// The stamp and tenant catalog: which stamps exist, where they run, and which stamp holds each
// tenant. Every change is one transaction that also writes its audit rows and bumps the config
// version that gateways watch, so nothing half-written is left and no change goes unseen.
//
// Every writing transaction starts by touching the single `config_version` row. On PostgreSQL that
// row lock serializes writers (a placement counts a stamp's tenants after every earlier placement
// committed: two concurrent placements cannot overfill it); on SQLite it makes the transaction a
// writer from its first statement (no lock upgrade that could fail halfway).
import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { queryAudit, writeAudit, type AuditEntry, type AuditQuery, type Page, type PendingAudit } from './audit.ts';
import type { OperationState, OperationsTable, StampState, StampsTable, StoreSchema } from './schema.ts';

export type { AuditEntry, AuditQuery, Page } from './audit.ts';

export interface StampRecord {
  id: string;
  aliases: string[];
  driver: string;
  url: string;
  port: number | null;
  dataDir: string | null;
  state: StampState;
  stateReason: string;
  version: string;
  capacity: number;
  labels: Record<string, string>;
  /** Tenants placed on the stamp now (its use, against `capacity`). */
  tenantCount: number;
  createdAt: string;
  updatedAt: string;
}

export type NewStamp = Pick<StampRecord, 'id' | 'driver' | 'url'> & Partial<Pick<StampRecord, 'aliases' | 'port' | 'dataDir' | 'state' | 'stateReason' | 'version' | 'capacity' | 'labels'>>;

/** What the admin API creates: a driver-managed stamp starts `provisioning`; an `external` one (its servers run elsewhere, `url` given) is `active` at once. */
export interface CreateStampInput {
  id: string;
  aliases?: string[];
  driver?: string;
  url?: string;
  version?: string;
  capacity?: number;
  labels?: Record<string, string>;
}

export interface StampPatch {
  aliases?: string[];
  version?: string;
  capacity?: number;
  /** Replaces the whole label set. */
  labels?: Record<string, string>;
}

export interface TenantRecord {
  id: string;
  stampId: string;
  createdAt: string;
}

/** Where a new tenant goes: a named stamp, the least used active stamp, or the least used active stamp whose labels include all of `labels`. */
export type Placement = { policy: 'explicit'; stampId: string } | { policy: 'least-used' } | { policy: 'label'; labels: Record<string, string> };

export interface TenantPageQuery {
  stampId?: string;
  /** At most this many, by id (default 100). */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export interface OperationRecord {
  id: string;
  stampId: string;
  kind: string;
  state: OperationState;
  steps: unknown[];
  error: string | null;
  actor: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface ConfigVersion {
  version: number;
  /** Random per store: a version number only means something together with it. */
  epoch: string;
}

/** A consistent read of what gateways need, taken in one transaction. */
export interface DirectorySnapshot extends ConfigVersion {
  stamps: StampRecord[];
}

export type CatalogErrorCode =
  | 'unknown-stamp'
  | 'unknown-tenant'
  | 'unknown-operation'
  | 'unknown-token'
  | 'token-exists'
  | 'last-admin-token'
  | 'stamp-exists'
  | 'tenant-exists'
  | 'alias-taken'
  | 'stamp-full'
  | 'stamp-not-accepting'
  | 'no-stamp-available'
  | 'stamp-has-tenants'
  | 'capacity-below-use'
  | 'invalid-state'
  | 'operation-in-progress'
  | 'invalid-input';

export class CatalogError extends Error {
  readonly code: CatalogErrorCode;
  /** Facts a client can act on (the running operation's id, the field at fault, …). */
  readonly details: Record<string, unknown>;
  constructor(code: CatalogErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** Who makes a change that no token does (`stampgate up`, the supervisor). */
export const systemActor = 'system';

type Trx = Transaction<StoreSchema>;

interface WriteContext {
  trx: Trx;
  now: string;
  /** Records an audit row; `config: true` when gateways must see the change (bumps the version). */
  record(entry: PendingAudit & { config: boolean }): void;
}

export class Catalog {
  readonly #db: Kysely<StoreSchema>;
  readonly #postgres: boolean;
  readonly #listeners = new Set<(version: number) => void>();

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
    this.#postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** Calls `listener` with the new config version after each change this catalog commits. */
  onChange(listener: (version: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- stamps -----------------------------------------------------------------------------

  async listStamps(): Promise<StampRecord[]> {
    const rows = await this.#db.selectFrom('stamps').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toStampRecord);
  }

  async getStamp(id: string): Promise<StampRecord | undefined> {
    const row = await this.#db.selectFrom('stamps').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toStampRecord(row);
  }

  /** Creates the stamp, or updates where and how it runs when it exists already. */
  async saveStamp(stamp: NewStamp, actor: string = systemActor): Promise<StampRecord> {
    checkStampInput(stamp);
    return this.#write(actor, async ({ trx, now, record }) => {
      const before = await readStamp(trx, stamp.id);
      await checkNamesFree(trx, stamp.id, stamp.aliases ?? []);
      const values = {
        aliases: JSON.stringify(stamp.aliases ?? []),
        driver: stamp.driver,
        url: stamp.url,
        port: stamp.port ?? null,
        data_dir: stamp.dataDir ?? null,
        state: stamp.state ?? 'provisioning',
        state_reason: stamp.stateReason ?? '',
        version: stamp.version ?? '',
        capacity: stamp.capacity ?? 1000,
        labels: JSON.stringify(stamp.labels ?? {}),
        updated_at: now,
      };
      await trx
        .insertInto('stamps')
        .values({ id: stamp.id, created_at: now, ...values })
        .onConflict((oc) => oc.column('id').doUpdateSet(values))
        .execute();
      const after = (await readStamp(trx, stamp.id))!;
      if (!before || !sameStamp(before, after)) record({ action: before ? 'stamp.save' : 'stamp.create', targetKind: 'stamp', targetId: stamp.id, before: before && auditStamp(before), after: auditStamp(after), config: true });
      return after;
    });
  }

  async createStamp(input: CreateStampInput, actor: string): Promise<StampRecord> {
    checkStampInput(input);
    const driver = input.driver ?? 'process';
    if (driver === 'external' && !input.url) throw new CatalogError('invalid-input', 'url: is required when driver is "external"', { field: 'url' });
    return this.#write(actor, async ({ trx, now, record }) => {
      if (await readStamp(trx, input.id)) throw new CatalogError('stamp-exists', `a stamp named ${JSON.stringify(input.id)} exists already`, { stamp: input.id });
      const aliases = input.aliases ?? [];
      await checkNamesFree(trx, input.id, [input.id, ...aliases]);
      const external = driver === 'external';
      await trx
        .insertInto('stamps')
        .values({
          id: input.id,
          aliases: JSON.stringify(aliases),
          driver,
          url: input.url ?? '',
          port: null,
          data_dir: null,
          state: external ? 'active' : 'provisioning',
          state_reason: external ? `external stamp registered by ${actor}` : `created by ${actor}; waiting for the ${driver} driver`,
          version: input.version ?? '',
          capacity: input.capacity ?? 1000,
          labels: JSON.stringify(input.labels ?? {}),
          created_at: now,
          updated_at: now,
          tenant_count: 0,
        })
        .execute();
      const after = (await readStamp(trx, input.id))!;
      record({ action: 'stamp.create', targetKind: 'stamp', targetId: input.id, before: null, after: auditStamp(after), config: true });
      return after;
    });
  }

  async updateStamp(id: string, patch: StampPatch, actor: string): Promise<StampRecord> {
    checkStampInput({ id, ...patch });
    return this.#write(actor, async ({ trx, now, record }) => {
      const before = await requireStamp(trx, id);
      await refuseWhileOperationRuns(trx, id);
      if (patch.capacity !== undefined && patch.capacity < before.tenantCount) {
        throw new CatalogError('capacity-below-use', `stamp ${JSON.stringify(id)} holds ${before.tenantCount} tenants; its capacity cannot go below that (move tenants away first)`, { stamp: id, tenantCount: before.tenantCount });
      }
      if (patch.aliases !== undefined) await checkNamesFree(trx, id, patch.aliases);
      const set: Partial<Selectable<StampsTable>> = {};
      if (patch.aliases !== undefined) set.aliases = JSON.stringify(patch.aliases);
      if (patch.version !== undefined) set.version = patch.version;
      if (patch.capacity !== undefined) set.capacity = patch.capacity;
      if (patch.labels !== undefined) set.labels = JSON.stringify(patch.labels);
      if (Object.keys(set).length === 0) return before;
      await trx.updateTable('stamps').set({ ...set, updated_at: now }).where('id', '=', id).execute();
      const after = (await readStamp(trx, id))!;
      if (sameStamp(before, after)) return before;
      record({ action: 'stamp.update', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: auditStamp(after), config: true });
      return after;
    });
  }

  /** An active stamp stops taking new tenants and keeps serving the ones it has. Draining a draining stamp changes nothing. */
  async drainStamp(id: string, reason: string, actor: string): Promise<StampRecord> {
    return this.#write(actor, async ({ trx, now, record }) => {
      const before = await requireStamp(trx, id);
      await refuseWhileOperationRuns(trx, id);
      if (before.state === 'draining') return before;
      if (before.state !== 'active') throw new CatalogError('invalid-state', `stamp ${JSON.stringify(id)} is ${before.state}; only an active stamp can be drained`, { stamp: id, state: before.state });
      await trx.updateTable('stamps').set({ state: 'draining', state_reason: reason || `drained by ${actor}`, updated_at: now }).where('id', '=', id).execute();
      const after = (await readStamp(trx, id))!;
      record({ action: 'stamp.drain', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: auditStamp(after), config: true });
      return after;
    });
  }

  /** Removes a stamp that holds no tenants and runs no operation; returns what it was. */
  async deleteStamp(id: string, actor: string): Promise<StampRecord> {
    return this.#write(actor, async ({ trx, record }) => {
      const before = await requireStamp(trx, id);
      await refuseWhileOperationRuns(trx, id);
      if (before.tenantCount > 0) throw new CatalogError('stamp-has-tenants', `stamp ${JSON.stringify(id)} holds ${before.tenantCount} tenants; move them to other stamps first`, { stamp: id, tenantCount: before.tenantCount });
      await trx.deleteFrom('stamps').where('id', '=', id).execute();
      record({ action: 'stamp.delete', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: null, config: true });
      return before;
    });
  }

  /** Records a state the driver or supervisor observed. Recording the state it has already changes nothing. */
  async setStampState(id: string, state: StampState, reason: string, actor: string = systemActor): Promise<void> {
    await this.#write(actor, async ({ trx, now, record }) => {
      const before = await readStamp(trx, id);
      if (!before) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(id)}`, { stamp: id });
      if (before.state === state && before.stateReason === reason) return;
      await trx.updateTable('stamps').set({ state, state_reason: reason, updated_at: now }).where('id', '=', id).execute();
      const after = (await readStamp(trx, id))!;
      // A new reason alone (a restart counter) is history, not routing: gateways only see the state.
      record({ action: 'stamp.state', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: auditStamp(after), config: before.state !== state });
    });
  }

  // ---- tenants ----------------------------------------------------------------------------

  async listTenants(): Promise<TenantRecord[]> {
    const rows = await this.#db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map(toTenantRecord);
  }

  async listTenantsPage(query: TenantPageQuery = {}): Promise<Page<TenantRecord>> {
    const limit = query.limit ?? 100;
    if (query.stampId !== undefined && !(await this.getStamp(query.stampId))) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(query.stampId)}`, { stamp: query.stampId });
    let q = this.#db.selectFrom('tenants').selectAll();
    if (query.stampId !== undefined) q = q.where('stamp_id', '=', query.stampId);
    if (query.cursor !== undefined) q = q.where('id', '>', query.cursor);
    const rows = await q.orderBy('id').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map(toTenantRecord);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const row = await this.#db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTenantRecord(row);
  }

  /** Places the tenant on the stamp, moving it when it lives elsewhere (`stampgate up --tenant`). Respects capacity, not state. */
  async placeTenant(tenantId: string, stampId: string, actor: string = systemActor): Promise<TenantRecord> {
    checkId('id', tenantId);
    return this.#write(actor, async ({ trx, now, record }) => {
      const stamp = await readStamp(trx, stampId);
      if (!stamp) throw new CatalogError('unknown-stamp', `cannot place tenant ${JSON.stringify(tenantId)}: no stamp is named ${JSON.stringify(stampId)}`, { stamp: stampId });
      const before = await readTenant(trx, tenantId);
      if (before?.stampId === stampId) return before;
      requireRoom(stamp, tenantId);
      if (before) return moveRow(trx, before, stamp, now, record);
      return insertTenant(trx, tenantId, stamp, now, record);
    });
  }

  /** A new tenant, on the stamp its placement picks; 409 (`no-stamp-available`) when none fits. */
  async createTenant(tenantId: string, placement: Placement, actor: string): Promise<TenantRecord> {
    checkId('id', tenantId);
    return this.#write(actor, async ({ trx, now, record }) => {
      if (await readTenant(trx, tenantId)) throw new CatalogError('tenant-exists', `a tenant named ${JSON.stringify(tenantId)} exists already; move it instead`, { tenant: tenantId });
      const stamp = await pickStamp(trx, tenantId, placement);
      return insertTenant(trx, tenantId, stamp, now, record);
    });
  }

  /** Moves the tenant's directory entry to an active stamp with room. Moving it where it is changes nothing. */
  async moveTenant(tenantId: string, stampId: string, actor: string): Promise<TenantRecord> {
    return this.#write(actor, async ({ trx, now, record }) => {
      const before = await readTenant(trx, tenantId);
      if (!before) throw new CatalogError('unknown-tenant', `no tenant is named ${JSON.stringify(tenantId)}`, { tenant: tenantId });
      if (before.stampId === stampId) return before;
      const stamp = await pickStamp(trx, tenantId, { policy: 'explicit', stampId });
      return moveRow(trx, before, stamp, now, record);
    });
  }

  /**
   * Places many tenants at once (a bulk load, a benchmark's million): all or nothing, one config
   * version, one audit row per tenant created or moved. Like `placeTenant` it respects capacity
   * (counted after the whole batch), not state; an unknown stamp or a full one rejects the batch.
   */
  async importTenants(entries: ReadonlyArray<readonly [tenantId: string, stampId: string]>, actor: string = systemActor): Promise<{ created: number; moved: number; unchanged: number }> {
    const wanted = new Map<string, string>();
    for (const [tenantId, stampId] of entries) {
      checkId('id', tenantId);
      wanted.set(tenantId, stampId);
    }
    let bumped: number | undefined;
    const result = await this.#db.transaction().execute(async (trx) => {
      const { version } = await trx.updateTable('config_version').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', 1).returning('version').executeTakeFirstOrThrow();
      const stamps = new Map((await trx.selectFrom('stamps').selectAll().execute()).map((row) => [row.id, toStampRecord(row)]));
      const delta = new Map<string, number>();
      const counts = { created: 0, moved: 0, unchanged: 0 };
      const now = new Date().toISOString();
      const all = [...wanted];
      for (let i = 0; i < all.length; i += 500) {
        const chunk = all.slice(i, i + 500);
        const existing = new Map((await trx.selectFrom('tenants').selectAll().where('id', 'in', chunk.map(([id]) => id)).execute()).map((row) => [row.id, toTenantRecord(row)]));
        const inserts: Array<{ id: string; stamp_id: string; created_at: string }> = [];
        const audit: PendingAudit[] = [];
        for (const [tenantId, stampId] of chunk) {
          if (!stamps.has(stampId)) throw new CatalogError('unknown-stamp', `cannot place tenant ${JSON.stringify(tenantId)}: no stamp is named ${JSON.stringify(stampId)}`, { stamp: stampId });
          const before = existing.get(tenantId);
          if (before?.stampId === stampId) {
            counts.unchanged++;
            continue;
          }
          delta.set(stampId, (delta.get(stampId) ?? 0) + 1);
          if (before) {
            delta.set(before.stampId, (delta.get(before.stampId) ?? 0) - 1);
            await trx.updateTable('tenants').set({ stamp_id: stampId }).where('id', '=', tenantId).execute();
            audit.push({ action: 'tenant.move', targetKind: 'tenant', targetId: tenantId, before, after: { ...before, stampId } });
            counts.moved++;
          } else {
            inserts.push({ id: tenantId, stamp_id: stampId, created_at: now });
            audit.push({ action: 'tenant.create', targetKind: 'tenant', targetId: tenantId, before: null, after: { id: tenantId, stampId, createdAt: now } });
            counts.created++;
          }
        }
        if (inserts.length > 0) await trx.insertInto('tenants').values(inserts).execute();
        await writeAudit(trx, audit, actor, now, version);
      }
      for (const [stampId, by] of delta) {
        const stamp = stamps.get(stampId)!;
        if (by > 0 && stamp.tenantCount + by > stamp.capacity) {
          throw new CatalogError('stamp-full', `stamp ${JSON.stringify(stampId)} holds ${stamp.tenantCount} of ${stamp.capacity} tenants; ${by} more do not fit`, { stamp: stampId, capacity: stamp.capacity, tenantCount: stamp.tenantCount });
        }
        if (by !== 0) await trx.updateTable('stamps').set((eb) => ({ tenant_count: eb('tenant_count', '+', by) })).where('id', '=', stampId).execute();
      }
      // Nothing changed: undo the version bump (the transaction rolls back), answer all unchanged.
      if (counts.created + counts.moved === 0) throw new NothingChanged(counts.unchanged);
      bumped = version;
      return counts;
    }).catch((error: unknown) => {
      if (error instanceof NothingChanged) return { created: 0, moved: 0, unchanged: error.unchanged };
      throw error;
    });
    if (bumped !== undefined) this.#emit(bumped);
    return result;
  }

  async removeTenant(tenantId: string, actor: string = systemActor): Promise<void> {
    await this.deleteTenant(tenantId, actor);
  }

  /** Removes the tenant; returns what it was. */
  async deleteTenant(tenantId: string, actor: string): Promise<TenantRecord> {
    return this.#write(actor, async ({ trx, record }) => {
      const before = await readTenant(trx, tenantId);
      if (!before) throw new CatalogError('unknown-tenant', `no tenant is named ${JSON.stringify(tenantId)}`, { tenant: tenantId });
      await trx.deleteFrom('tenants').where('id', '=', tenantId).execute();
      await adjustCount(trx, before.stampId, -1);
      record({ action: 'tenant.delete', targetKind: 'tenant', targetId: tenantId, before, after: null, config: true });
      return before;
    });
  }

  // ---- operations (run by the deployment state machine) -------------------------------------

  /** Starts an operation on a stamp; 409 (`operation-in-progress`, with its id) while another one runs there. */
  async startOperation(input: { stampId: string; kind: string; steps?: unknown[] }, actor: string): Promise<OperationRecord> {
    return this.#write(actor, async ({ trx, now, record }) => {
      await requireStamp(trx, input.stampId);
      await refuseWhileOperationRuns(trx, input.stampId);
      const row: OperationsTable = { id: randomUUID(), stamp_id: input.stampId, kind: input.kind, state: 'running', steps: JSON.stringify(input.steps ?? []), error: null, actor, started_at: now, finished_at: null };
      try {
        await trx.insertInto('operations').values(row).execute();
      } catch (error) {
        // The partial unique index: the last line of defence behind the row lock and the check above.
        if (isUniqueViolation(error)) throw new CatalogError('operation-in-progress', `another operation is running on stamp ${JSON.stringify(input.stampId)}`, { stamp: input.stampId });
        throw error;
      }
      const after = toOperationRecord(row);
      record({ action: 'operation.start', targetKind: 'operation', targetId: row.id, before: null, after, config: false });
      return after;
    });
  }

  /** Records progress (steps) of a running operation. */
  async updateOperationSteps(id: string, steps: unknown[]): Promise<OperationRecord> {
    const result = await this.#db.updateTable('operations').set({ steps: JSON.stringify(steps) }).where('id', '=', id).where('state', '=', 'running').executeTakeFirst();
    if (result.numUpdatedRows === 0n) {
      const existing = await this.getOperation(id);
      if (!existing) throw new CatalogError('unknown-operation', `no operation has id ${JSON.stringify(id)}`, { operation: id });
      throw new CatalogError('invalid-state', `operation ${id} is ${existing.state}, not running`, { operation: id, state: existing.state });
    }
    return (await this.getOperation(id))!;
  }

  async finishOperation(id: string, state: Exclude<OperationState, 'running'>, error: string | null, actor: string = systemActor): Promise<OperationRecord> {
    return this.#write(actor, async ({ trx, now, record }) => {
      const row = await trx.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new CatalogError('unknown-operation', `no operation has id ${JSON.stringify(id)}`, { operation: id });
      if (row.state !== 'running') throw new CatalogError('invalid-state', `operation ${id} is ${row.state} already`, { operation: id, state: row.state });
      await trx.updateTable('operations').set({ state, error, finished_at: now }).where('id', '=', id).execute();
      const after = toOperationRecord({ ...row, state, error, finished_at: now });
      record({ action: `operation.${state}`, targetKind: 'operation', targetId: id, before: toOperationRecord(row), after, config: false });
      return after;
    });
  }

  async getOperation(id: string): Promise<OperationRecord | undefined> {
    const row = await this.#db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOperationRecord(row);
  }

  async runningOperation(stampId: string): Promise<OperationRecord | undefined> {
    const row = await this.#db.selectFrom('operations').selectAll().where('stamp_id', '=', stampId).where('state', '=', 'running').executeTakeFirst();
    return row && toOperationRecord(row);
  }

  /** Newest first. */
  async listOperations(stampId: string, limit = 50): Promise<OperationRecord[]> {
    const rows = await this.#db.selectFrom('operations').selectAll().where('stamp_id', '=', stampId).orderBy('started_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toOperationRecord);
  }

  // ---- provisioning (the saga of src/control/deploy/ writes through these) -------------------
  // Each is one transaction, so that a step's effect on the store and its bookkeeping never part.

  /**
   * Starts an operation on a stamp together with what must come with it, in one transaction: the
   * stamp itself when `create` is given and it does not exist yet, and the state the stamp enters.
   * 409 (`operation-in-progress`, with its id) while another operation runs on the stamp.
   */
  async beginOperation(
    input: { stampId: string; kind: string; steps: unknown[]; create?: CreateStampInput; stampState?: { state: StampState; reason: string } },
    actor: string,
  ): Promise<{ operation: OperationRecord; stamp: StampRecord; created: boolean }> {
    if (input.create) checkStampInput(input.create);
    try {
      return await this.#write(actor, async ({ trx, now, record }) => {
        let before = await readStamp(trx, input.stampId);
        const created = !before && input.create !== undefined;
        if (!before) {
          const create = input.create;
          if (!create || create.id !== input.stampId) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(input.stampId)}`, { stamp: input.stampId });
          const aliases = create.aliases ?? [];
          await checkNamesFree(trx, create.id, [create.id, ...aliases]);
          const state = input.stampState ?? { state: 'provisioning' as const, reason: `created by ${actor}` };
          await trx
            .insertInto('stamps')
            .values({ id: create.id, aliases: JSON.stringify(aliases), driver: create.driver ?? 'process', url: create.url ?? '', port: null, data_dir: null, state: state.state, state_reason: state.reason, version: create.version ?? '', capacity: create.capacity ?? 1000, labels: JSON.stringify(create.labels ?? {}), created_at: now, updated_at: now, tenant_count: 0 })
            .execute();
          before = (await readStamp(trx, create.id))!;
          record({ action: 'stamp.create', targetKind: 'stamp', targetId: create.id, before: null, after: auditStamp(before), config: true });
        }
        await refuseWhileOperationRuns(trx, input.stampId);
        const row: OperationsTable = { id: randomUUID(), stamp_id: input.stampId, kind: input.kind, state: 'running', steps: JSON.stringify(input.steps), error: null, actor, started_at: now, finished_at: null };
        await trx.insertInto('operations').values(row).execute();
        const operation = toOperationRecord(row);
        record({ action: 'operation.start', targetKind: 'operation', targetId: row.id, before: null, after: operation, config: false });
        let stamp = before;
        if (!created && input.stampState && (before.state !== input.stampState.state || before.stateReason !== input.stampState.reason)) {
          await trx.updateTable('stamps').set({ state: input.stampState.state, state_reason: input.stampState.reason, updated_at: now }).where('id', '=', input.stampId).execute();
          stamp = (await readStamp(trx, input.stampId))!;
          record({ action: 'stamp.state', targetKind: 'stamp', targetId: input.stampId, before: auditStamp(before), after: auditStamp(stamp), config: before.state !== stamp.state });
        }
        return { operation, stamp, created };
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Another transaction created the stamp or started an operation between our read and write.
      const running = await this.runningOperation(input.stampId);
      if (running) throw new CatalogError('operation-in-progress', `operation ${running.id} (${running.kind}) is running on stamp ${JSON.stringify(input.stampId)}; retry when it has finished`, { stamp: input.stampId, operationId: running.id });
      throw new CatalogError('stamp-exists', `a stamp named ${JSON.stringify(input.stampId)} exists already`, { stamp: input.stampId });
    }
  }

  /**
   * Records where a driver placed a stamp (its port, URL and data directory), or clears that
   * (`null`) when the stamp is taken down. A port recorded for another stamp is refused
   * (`invalid-state` with `port`): ports are unique across the store, whichever control plane picked them.
   */
  async setStampPlacement(id: string, placement: { port: number | null; url: string; dataDir: string | null } | null, actor: string = systemActor): Promise<StampRecord> {
    const values = placement ?? { port: null, url: '', dataDir: null };
    try {
      return await this.#write(actor, async ({ trx, now, record }) => {
        const before = await requireStamp(trx, id);
        if (before.port === values.port && before.url === values.url && before.dataDir === values.dataDir) return before;
        await trx.updateTable('stamps').set({ port: values.port, url: values.url, data_dir: values.dataDir, updated_at: now }).where('id', '=', id).execute();
        const after = (await readStamp(trx, id))!;
        record({ action: 'stamp.place', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: auditStamp(after), config: before.url !== after.url });
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new CatalogError('invalid-state', `port ${values.port} is recorded for another stamp`, { stamp: id, port: values.port });
      throw error;
    }
  }

  /**
   * Makes a provisioned stamp active and, for a stamp dedicated to one tenant, places that tenant on
   * it in the same transaction: no other tenant can take the room in between, and gateways see the
   * stamp and its tenant in one config version. Respects capacity, not the stamp's former state.
   */
  async activateStamp(id: string, reason: string, tenantId: string | undefined, actor: string = systemActor): Promise<StampRecord> {
    if (tenantId !== undefined) checkId('tenant', tenantId);
    return this.#write(actor, async ({ trx, now, record }) => {
      const before = await requireStamp(trx, id);
      if (before.state !== 'active' || before.stateReason !== reason) {
        await trx.updateTable('stamps').set({ state: 'active', state_reason: reason, updated_at: now }).where('id', '=', id).execute();
        record({ action: 'stamp.state', targetKind: 'stamp', targetId: id, before: auditStamp(before), after: auditStamp((await readStamp(trx, id))!), config: before.state !== 'active' });
      }
      if (tenantId !== undefined) {
        const tenant = await readTenant(trx, tenantId);
        if (tenant?.stampId !== id) {
          const stamp = (await readStamp(trx, id))!;
          requireRoom(stamp, tenantId);
          if (tenant) await moveRow(trx, tenant, stamp, now, record);
          else await insertTenant(trx, tenantId, stamp, now, record);
        }
      }
      return (await readStamp(trx, id))!;
    });
  }

  /**
   * Finishes a running operation together with what its end means for the stamp, in one
   * transaction: a new state and reason (optionally with its placement cleared), or the stamp's
   * removal (a finished teardown; refused while the stamp still holds tenants).
   */
  async completeOperation(
    id: string,
    outcome: { state: Exclude<OperationState, 'running'>; error: string | null; stamp?: { state: StampState; reason: string; clearPlacement?: boolean } | 'delete' },
    actor: string = systemActor,
  ): Promise<OperationRecord> {
    return this.#write(actor, async ({ trx, now, record }) => {
      const row = await trx.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new CatalogError('unknown-operation', `no operation has id ${JSON.stringify(id)}`, { operation: id });
      if (row.state !== 'running') throw new CatalogError('invalid-state', `operation ${id} is ${row.state} already`, { operation: id, state: row.state });
      const stamp = await readStamp(trx, row.stamp_id);
      if (outcome.stamp === 'delete' && stamp) {
        if (stamp.tenantCount > 0) throw new CatalogError('stamp-has-tenants', `stamp ${JSON.stringify(stamp.id)} holds ${stamp.tenantCount} tenants; it cannot be removed`, { stamp: stamp.id, tenantCount: stamp.tenantCount });
        await trx.deleteFrom('stamps').where('id', '=', stamp.id).execute();
        record({ action: 'stamp.delete', targetKind: 'stamp', targetId: stamp.id, before: auditStamp(stamp), after: null, config: true });
      } else if (outcome.stamp && outcome.stamp !== 'delete' && stamp) {
        const set: Partial<Selectable<StampsTable>> = { state: outcome.stamp.state, state_reason: outcome.stamp.reason, updated_at: now };
        if (outcome.stamp.clearPlacement) Object.assign(set, { port: null, url: '', data_dir: null });
        await trx.updateTable('stamps').set(set).where('id', '=', stamp.id).execute();
        const after = (await readStamp(trx, stamp.id))!;
        if (!sameStamp(stamp, after)) record({ action: 'stamp.state', targetKind: 'stamp', targetId: stamp.id, before: auditStamp(stamp), after: auditStamp(after), config: stamp.state !== after.state || stamp.url !== after.url });
      }
      await trx.updateTable('operations').set({ state: outcome.state, error: outcome.error, finished_at: now }).where('id', '=', id).execute();
      const after = toOperationRecord({ ...row, state: outcome.state, error: outcome.error, finished_at: now });
      record({ action: `operation.${outcome.state}`, targetKind: 'operation', targetId: id, before: toOperationRecord(row), after, config: false });
      return after;
    });
  }

  /** Every operation still `running`, oldest first: what a control plane that starts must finish or roll back. */
  async listRunningOperations(): Promise<OperationRecord[]> {
    const rows = await this.#db.selectFrom('operations').selectAll().where('state', '=', 'running').orderBy('started_at').orderBy('id').execute();
    return rows.map(toOperationRecord);
  }

  // ---- audit and config version -----------------------------------------------------------

  async listAudit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return queryAudit(this.#db, query);
  }

  async configVersion(): Promise<ConfigVersion> {
    const row = await this.#db.selectFrom('config_version').select(['version', 'epoch']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { version: row.version, epoch: row.epoch };
  }

  /**
   * Reads the version, every stamp and every tenant in one transaction, so the three agree (a
   * repeatable-read snapshot on PostgreSQL, the one connection's transaction on SQLite). Tenants
   * come in chunks of about `chunkSize`, in no particular order, as JSON object members
   * (`"acme":"s1","globex":"s2"`): the database builds that text several times faster than
   * JavaScript builds it from rows, which matters with a million tenants.
   */
  async readDirectory(onMembers: (members: string) => void, chunkSize = 20_000): Promise<DirectorySnapshot> {
    return this.#readSnapshot(async (trx) => {
      const { version, epoch } = await trx.selectFrom('config_version').select(['version', 'epoch']).where('id', '=', 1).executeTakeFirstOrThrow();
      const stamps = (await trx.selectFrom('stamps').selectAll().orderBy('created_at').orderBy('id').execute()).map(toStampRecord);
      if (this.#postgres) {
        // One statement, chunked by row number: no sort, and no plan that depends on fresh statistics
        // (right after a bulk load, a keyset page could become a full scan and sort, per page).
        const { rows } = await sql<{ members: string }>`
          select string_agg(member, ',') as members
          from (select to_json(id)::text || ':' || to_json(stamp_id)::text as member, (row_number() over ()) / ${chunkSize} as chunk from tenants) numbered
          group by chunk`.execute(trx);
        for (const row of rows) onMembers(row.members);
      } else {
        // node:sqlite runs each statement synchronously: short keyset pages keep the event loop
        // (watch wake-ups, other requests) moving between them.
        let after = '';
        for (;;) {
          const { rows } = await sql<{ members: string | null; last: string | null; n: number }>`
            select string_agg(json_quote(id) || ':' || json_quote(stamp_id), ',' order by id) as members, max(id) as last, count(*) as n
            from (select id, stamp_id from tenants where id > ${after} order by id limit ${chunkSize}) page`.execute(trx);
          const page = rows[0];
          if (page?.members) onMembers(page.members);
          if (!page?.last || page.n < chunkSize) break;
          after = page.last;
        }
      }
      return { version, epoch, stamps };
    });
  }

  /**
   * The tenants changed after config version `since`, read like `readDirectory`: `placed` maps the
   * ones that exist to their stamp, `removed` lists the ones that do not any more. Undefined when
   * more than `limit` changed (a full read is cheaper) or `since` is not a version of this store.
   */
  async readDirectoryChanges(since: number, limit = 50_000): Promise<(DirectorySnapshot & { placed: Array<[string, string]>; removed: string[] }) | undefined> {
    return this.#readSnapshot(async (trx) => {
      const { version, epoch } = await trx.selectFrom('config_version').select(['version', 'epoch']).where('id', '=', 1).executeTakeFirstOrThrow();
      if (since < 1 || since > version) return undefined;
      const changed = await trx
        .selectFrom('audit_log')
        .select('target_id')
        .distinct()
        .where('target_kind', '=', 'tenant')
        .where('config_version', '>', since)
        .limit(limit + 1)
        .execute();
      if (changed.length > limit) return undefined;
      const stamps = (await trx.selectFrom('stamps').selectAll().orderBy('created_at').orderBy('id').execute()).map(toStampRecord);
      const placed: Array<[string, string]> = [];
      const ids = changed.map((r) => r.target_id);
      const present = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await trx.selectFrom('tenants').select(['id', 'stamp_id']).where('id', 'in', ids.slice(i, i + 500)).execute();
        for (const r of rows) {
          placed.push([r.id, r.stamp_id]);
          present.add(r.id);
        }
      }
      return { version, epoch, stamps, placed, removed: ids.filter((id) => !present.has(id)) };
    });
  }

  // ---- internals --------------------------------------------------------------------------

  async #readSnapshot<T>(read: (trx: Trx) => Promise<T>): Promise<T> {
    const builder = this.#db.transaction();
    return (this.#postgres ? builder.setIsolationLevel('repeatable read').setAccessMode('read only') : builder).execute(read);
  }

  async #write<T>(actor: string, work: (context: WriteContext) => Promise<T>): Promise<T> {
    let bumped: number | undefined;
    const result = await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('config_version').set((eb) => ({ version: eb.ref('version') })).where('id', '=', 1).execute();
      const pending: Array<PendingAudit & { config: boolean }> = [];
      const now = new Date().toISOString();
      const value = await work({ trx, now, record: (entry) => pending.push(entry) });
      if (pending.length > 0) {
        let version: number | null = null;
        if (pending.some((p) => p.config)) {
          const row = await trx.updateTable('config_version').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', 1).returning('version').executeTakeFirstOrThrow();
          version = bumped = row.version;
        }
        await writeAudit(trx, pending, actor, now, version);
      }
      return value;
    });
    if (bumped !== undefined) this.#emit(bumped);
    return result;
  }

  #emit(version: number): void {
    for (const listener of this.#listeners) listener(version);
  }
}

/** Rolls back an import that turned out to change nothing. */
class NothingChanged extends Error {
  readonly unchanged: number;
  constructor(unchanged: number) {
    super('nothing changed');
    this.unchanged = unchanged;
  }
}

// ---- input checks (the API validates first; the CLI and `stampgate up` call the catalog directly) ----

const idPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkId(field: string, value: string): void {
  if (!idPattern.test(value)) throw new CatalogError('invalid-input', `${field}: must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit (got ${JSON.stringify(value)})`, { field });
}

function checkStampInput(input: { id: string; aliases?: string[]; capacity?: number }): void {
  checkId('id', input.id);
  input.aliases?.forEach((alias, i) => checkId(`aliases[${i}]`, alias));
  if (input.capacity !== undefined && !(Number.isSafeInteger(input.capacity) && input.capacity >= 0)) throw new CatalogError('invalid-input', `capacity: must be a whole number >= 0 (got ${input.capacity})`, { field: 'capacity' });
}

// ---- transaction steps ----------------------------------------------------------------------

async function readStamp(trx: Trx, id: string): Promise<StampRecord | undefined> {
  const row = await trx.selectFrom('stamps').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toStampRecord(row);
}

async function requireStamp(trx: Trx, id: string): Promise<StampRecord> {
  const stamp = await readStamp(trx, id);
  if (!stamp) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(id)}`, { stamp: id });
  return stamp;
}

async function readTenant(trx: Trx, id: string): Promise<TenantRecord | undefined> {
  const row = await trx.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toTenantRecord(row);
}

async function refuseWhileOperationRuns(trx: Trx, stampId: string): Promise<void> {
  const running = await trx.selectFrom('operations').select(['id', 'kind']).where('stamp_id', '=', stampId).where('state', '=', 'running').executeTakeFirst();
  if (running) throw new CatalogError('operation-in-progress', `operation ${running.id} (${running.kind}) is running on stamp ${JSON.stringify(stampId)}; retry when it has finished`, { stamp: stampId, operationId: running.id });
}

/** Stamp ids and aliases share one namespace (a request's stamp key may name either). */
async function checkNamesFree(trx: Trx, stampId: string, names: string[]): Promise<void> {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new CatalogError('invalid-input', `aliases: ${JSON.stringify(name)} is given twice`, { field: 'aliases' });
    seen.add(name);
  }
  const others = await trx.selectFrom('stamps').select(['id', 'aliases']).where('id', '!=', stampId).execute();
  for (const other of others) {
    const taken = [other.id, ...(JSON.parse(other.aliases) as string[])];
    const clash = names.find((n) => taken.includes(n));
    if (clash !== undefined) throw new CatalogError('alias-taken', `${JSON.stringify(clash)} already names stamp ${JSON.stringify(other.id)}`, { stamp: other.id, name: clash });
  }
}

function requireRoom(stamp: StampRecord, tenantId: string): void {
  if (stamp.tenantCount >= stamp.capacity) {
    throw new CatalogError('stamp-full', `stamp ${JSON.stringify(stamp.id)} is at capacity (${stamp.tenantCount} of ${stamp.capacity} tenants); tenant ${JSON.stringify(tenantId)} cannot go there`, { stamp: stamp.id, capacity: stamp.capacity, tenantCount: stamp.tenantCount });
  }
}

async function pickStamp(trx: Trx, tenantId: string, placement: Placement): Promise<StampRecord> {
  if (placement.policy === 'explicit') {
    const stamp = await requireStamp(trx, placement.stampId);
    if (stamp.state !== 'active') throw new CatalogError('stamp-not-accepting', `stamp ${JSON.stringify(stamp.id)} is ${stamp.state}; only an active stamp takes tenants`, { stamp: stamp.id, state: stamp.state });
    requireRoom(stamp, tenantId);
    return stamp;
  }
  const rows = await trx.selectFrom('stamps').selectAll().where('state', '=', 'active').orderBy('tenant_count').orderBy('id').execute();
  const wanted = placement.policy === 'label' ? Object.entries(placement.labels) : [];
  const fits = rows.map(toStampRecord).find((s) => s.tenantCount < s.capacity && wanted.every(([k, v]) => s.labels[k] === v));
  if (!fits) {
    const what = placement.policy === 'label' ? `no active stamp with labels ${JSON.stringify(placement.labels)} has room` : 'no active stamp has room';
    throw new CatalogError('no-stamp-available', `tenant ${JSON.stringify(tenantId)} cannot be placed: ${what}`, { policy: placement.policy, ...(placement.policy === 'label' ? { labels: placement.labels } : {}) });
  }
  return fits;
}

async function insertTenant(trx: Trx, tenantId: string, stamp: StampRecord, now: string, record: WriteContext['record']): Promise<TenantRecord> {
  const after: TenantRecord = { id: tenantId, stampId: stamp.id, createdAt: now };
  await trx.insertInto('tenants').values({ id: tenantId, stamp_id: stamp.id, created_at: now }).execute();
  await adjustCount(trx, stamp.id, 1);
  record({ action: 'tenant.create', targetKind: 'tenant', targetId: tenantId, before: null, after, config: true });
  return after;
}

async function moveRow(trx: Trx, before: TenantRecord, stamp: StampRecord, now: string, record: WriteContext['record']): Promise<TenantRecord> {
  await trx.updateTable('tenants').set({ stamp_id: stamp.id }).where('id', '=', before.id).execute();
  await adjustCount(trx, before.stampId, -1);
  await adjustCount(trx, stamp.id, 1);
  const after: TenantRecord = { ...before, stampId: stamp.id };
  record({ action: 'tenant.move', targetKind: 'tenant', targetId: before.id, before, after, config: true });
  return after;
}

async function adjustCount(trx: Trx, stampId: string, by: 1 | -1): Promise<void> {
  await trx
    .updateTable('stamps')
    .set((eb) => ({ tenant_count: eb('tenant_count', '+', by) }))
    .where('id', '=', stampId)
    .execute();
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  // PostgreSQL: SQLSTATE 23505; node:sqlite: SQLITE_CONSTRAINT_UNIQUE (2067) or primary key (1555).
  return e.code === '23505' || e.errcode === 2067 || e.errcode === 1555 || (typeof e.message === 'string' && e.message.includes('UNIQUE constraint failed'));
}

// ---- rows to records ------------------------------------------------------------------------

function toStampRecord(row: Selectable<StampsTable>): StampRecord {
  return {
    id: row.id,
    aliases: JSON.parse(row.aliases) as string[],
    driver: row.driver,
    url: row.url,
    port: row.port,
    dataDir: row.data_dir,
    state: row.state,
    stateReason: row.state_reason,
    version: row.version,
    capacity: row.capacity,
    labels: JSON.parse(row.labels) as Record<string, string>,
    tenantCount: Number(row.tenant_count),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toTenantRecord(row: { id: string; stamp_id: string; created_at: string }): TenantRecord {
  return { id: row.id, stampId: row.stamp_id, createdAt: row.created_at };
}

function toOperationRecord(row: OperationsTable): OperationRecord {
  return {
    id: row.id,
    stampId: row.stamp_id,
    kind: row.kind,
    state: row.state,
    steps: JSON.parse(row.steps) as unknown[],
    error: row.error,
    actor: row.actor,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** What the audit log keeps of a stamp: everything but the bookkeeping that changes with every tenant. */
function auditStamp(stamp: StampRecord): Omit<StampRecord, 'tenantCount' | 'updatedAt'> {
  const { tenantCount: _count, updatedAt: _updated, ...rest } = stamp;
  return rest;
}

function sameStamp(a: StampRecord, b: StampRecord): boolean {
  return JSON.stringify(auditStamp(a)) === JSON.stringify(auditStamp(b));
}
