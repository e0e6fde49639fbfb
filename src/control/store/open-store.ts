// Opens the control plane's store: an embedded SQLite file by default, PostgreSQL for production,
// with the same schema and queries on both. Migrations run before anything else touches it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrationProvider } from './migrations.ts';
import { openNodeSqlite } from './node-sqlite-database.ts';
import type { StoreSchema } from './schema.ts';

export type StoreKind = 'sqlite' | 'postgres';

export interface OpenedStore {
  db: Kysely<StoreSchema>;
  kind: StoreKind;
  /** Where it is, without any password: safe to print. */
  location: string;
}

export class StoreOpenError extends Error {}

/** `url`: `sqlite:<path>`, a plain file path, or `postgres://…`. */
export async function openStore(url: string): Promise<OpenedStore> {
  const opened = url.startsWith('postgres://') || url.startsWith('postgresql://') ? openPostgres(url) : openSqlite(url);
  const { error, results } = await new Migrator({ db: opened.db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await opened.db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new StoreOpenError(`store at ${opened.location}: migration ${failed} failed: ${(error as Error).message}`);
  }
  return opened;
}

function openSqlite(url: string): OpenedStore {
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path === '') throw new StoreOpenError('store URL "sqlite:" names no file');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let database;
  try {
    database = openNodeSqlite(path);
  } catch (error) {
    throw new StoreOpenError(`cannot open the SQLite store at ${path}: ${(error as Error).message}`);
  }
  return { db: new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database }) }), kind: 'sqlite', location: path };
}

function openPostgres(url: string): OpenedStore {
  const parsed = new URL(url);
  parsed.password = parsed.password ? '***' : '';
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle client that loses its connection must not crash the control plane.
  pool.on('error', () => {});
  return { db: new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres', location: parsed.toString() };
}
