// The stamp and tenant catalog: which stamps exist, where they run, and which stamp holds each
// tenant. Every change is one statement or one transaction, so nothing half-written is left.
import type { Kysely, Selectable } from 'kysely';
import type { StampState, StampsTable, StoreSchema } from './schema.ts';

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
  createdAt: string;
  updatedAt: string;
}

export type NewStamp = Pick<StampRecord, 'id' | 'driver' | 'url'> & Partial<Pick<StampRecord, 'aliases' | 'port' | 'dataDir' | 'state' | 'stateReason' | 'version' | 'capacity' | 'labels'>>;

export interface TenantRecord {
  id: string;
  stampId: string;
  createdAt: string;
}

export class CatalogError extends Error {
  readonly code: 'unknown-stamp' | 'unknown-tenant';
  constructor(code: CatalogError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export class Catalog {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  async listStamps(): Promise<StampRecord[]> {
    const rows = await this.#db.selectFrom('stamps').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toStampRecord);
  }

  async getStamp(id: string): Promise<StampRecord | undefined> {
    const row = await this.#db.selectFrom('stamps').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toStampRecord(row);
  }

  /** Creates the stamp, or updates where and how it runs when it exists already. */
  async saveStamp(stamp: NewStamp): Promise<StampRecord> {
    const now = new Date().toISOString();
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
    await this.#db
      .insertInto('stamps')
      .values({ id: stamp.id, created_at: now, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
    return (await this.getStamp(stamp.id))!;
  }

  async setStampState(id: string, state: StampState, reason: string): Promise<void> {
    const result = await this.#db.updateTable('stamps').set({ state, state_reason: reason, updated_at: new Date().toISOString() }).where('id', '=', id).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(id)}`);
  }

  async listTenants(): Promise<TenantRecord[]> {
    const rows = await this.#db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, stampId: r.stamp_id, createdAt: r.created_at }));
  }

  /** Places the tenant on the stamp, moving it when it lives elsewhere. */
  async placeTenant(tenantId: string, stampId: string): Promise<TenantRecord> {
    return this.#db.transaction().execute(async (trx) => {
      const stamp = await trx.selectFrom('stamps').select('id').where('id', '=', stampId).executeTakeFirst();
      if (!stamp) throw new CatalogError('unknown-stamp', `cannot place tenant ${JSON.stringify(tenantId)}: no stamp is named ${JSON.stringify(stampId)}`);
      const createdAt = new Date().toISOString();
      await trx
        .insertInto('tenants')
        .values({ id: tenantId, stamp_id: stampId, created_at: createdAt })
        .onConflict((oc) => oc.column('id').doUpdateSet({ stamp_id: stampId }))
        .execute();
      const row = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirstOrThrow();
      return { id: row.id, stampId: row.stamp_id, createdAt: row.created_at };
    });
  }

  async removeTenant(tenantId: string): Promise<void> {
    const result = await this.#db.deleteFrom('tenants').where('id', '=', tenantId).executeTakeFirst();
    if (result.numDeletedRows === 0n) throw new CatalogError('unknown-tenant', `no tenant is named ${JSON.stringify(tenantId)}`);
  }
}

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
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
