// Schema migrations, run on every start; Kysely's migrator records which ones ran, in a lock.
import type { Kysely } from 'kysely';
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
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};

