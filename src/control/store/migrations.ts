// Schema migrations, run on every start; Kysely's migrator records which ones ran, in a lock.
// A migration that has shipped is never edited: a change is a new entry.
import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

const migrations: Record<string, Migration> = {
  '0001_stamps_and_tenants': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('stamps')
        .addColumn('id', 'varchar(63)', (c) => c.primaryKey())
        .addColumn('aliases', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('driver', 'varchar(32)', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.unique())
        .addColumn('data_dir', 'text')
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('state_reason', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('version', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('capacity', 'integer', (c) => c.notNull().defaultTo(1000))
        .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'varchar(63)', (c) => c.primaryKey())
        .addColumn('stamp_id', 'varchar(63)', (c) => c.notNull().references('stamps.id'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tenants_by_stamp').on('tenants').column('stamp_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('tenants').execute();
      await db.schema.dropTable('stamps').execute();
    },
  },
  '0002_tokens_audit_version_operations': {
    async up(db: Kysely<unknown>) {
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema.alterTable('stamps').addColumn('tenant_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update stamps set tenant_count = (select count(*) from tenants where tenants.stamp_id = stamps.id)`.execute(db);

      await db.schema
        .createTable('tokens')
        .addColumn('name', 'varchar(63)', (c) => c.primaryKey())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_used_at', 'varchar(32)')
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', postgres ? 'serial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('actor', 'varchar(63)', (c) => c.notNull())
        .addColumn('action', 'varchar(32)', (c) => c.notNull())
        .addColumn('target_kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('target_id', 'varchar(63)', (c) => c.notNull())
        .addColumn('before_json', 'text')
        .addColumn('after_json', 'text')
        .addColumn('config_version', 'integer')
        .execute();
      await db.schema.createIndex('audit_by_target').on('audit_log').columns(['target_kind', 'target_id', 'id']).execute();
      await db.schema.createIndex('audit_by_actor').on('audit_log').columns(['actor', 'id']).execute();
      await db.schema.createIndex('audit_by_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_by_config_version').on('audit_log').column('config_version').execute();

      await db.schema
        .createTable('config_version')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('epoch', 'varchar(64)', (c) => c.notNull())
        .execute();
      await sql`insert into config_version (id, version, epoch) values (1, 1, ${randomUUID()})`.execute(db);

      await db.schema
        .createTable('operations')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('stamp_id', 'varchar(63)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('error', 'text')
        .addColumn('actor', 'varchar(63)', (c) => c.notNull())
        .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('finished_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('operations_by_stamp').on('operations').columns(['stamp_id', 'started_at']).execute();
      // One running operation per stamp, on both databases (both have partial indexes); the catalog
      // also checks it in the transaction that starts one, to answer with the running one's id.
      await sql`create unique index operations_one_running_per_stamp on operations (stamp_id) where state = 'running'`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('operations').execute();
      await db.schema.dropTable('config_version').execute();
      await db.schema.dropTable('audit_log').execute();
      await db.schema.dropTable('tokens').execute();
      await db.schema.alterTable('stamps').dropColumn('tenant_count').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};

