// The production store: PostgreSQL through a `pg` Pool, one database per stamp (`biblioteca`,
// `biblioteca_s1`, …) as in the seed, created on start so a new stamp needs no manual step.
import pg from 'pg';
import { redactUrl } from '../config.ts';
import type { LineLogger } from '../log.ts';
import { StoreUnavailableError, withTimeout, type Book, type BookInput, type BookStore } from './book-store.ts';

export interface PostgresStoreOptions {
  /** Any database the role can connect to; used as the maintenance database for CREATE DATABASE. */
  url: string;
  /** The stamp's own database, created if missing. */
  database: string;
  log: LineLogger;
  /** Shown in pg_stat_activity, so an operator can tell which stamp holds a connection. */
  applicationName?: string;
  poolSize?: number;
}

const schema = `
  CREATE TABLE IF NOT EXISTS libros (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    titulo text NOT NULL,
    autor text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`;
const columns = 'id, titulo, autor, created_at, updated_at';

// Two stamp servers starting at once would race on CREATE TABLE IF NOT EXISTS (it can fail with a
// unique violation on pg_type); a transaction-scoped advisory lock serialises them.
const schemaLockKey = 'stampgate.library.schema';

// Network errors and SQLSTATEs that mean "the database is not there right now", not "bad query".
const unavailableErrnos = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);
const unavailableSqlStates = new Set(['57P01', '57P02', '57P03', '3D000', '53300']);

function isUnavailable(error: Error): boolean {
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (unavailableErrnos.has(code) || unavailableSqlStates.has(code) || code.startsWith('08'))) return true;
  // pg reports these without a code.
  return /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end/i.test(error.message);
}

function translateError(error: unknown): unknown {
  if (error instanceof Error && isUnavailable(error)) {
    return new StoreUnavailableError(`PostgreSQL: ${error.message}`, { cause: error });
  }
  return error;
}

interface BookRow {
  id: string;
  titulo: string;
  autor: string;
  created_at: Date;
  updated_at: Date;
}

function toBook(row: BookRow): Book {
  // bigint arrives as a string; ids stay far below 2^53.
  return { id: Number(row.id), titulo: row.titulo, autor: row.autor, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}

function urlForDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function maintenanceDatabaseOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name === '' ? 'postgres' : name;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates the database unless it exists; safe when several stamps (or servers) start together. */
export async function ensureDatabase(url: string, database: string, connectTimeoutMs = 3000): Promise<void> {
  if (maintenanceDatabaseOf(url) === database) return;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  // An error event after connect (server restart) must not crash the process; the query fails anyway.
  client.on('error', () => {});
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount !== 0) return;
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
    } catch (error) {
      // 42P04: created by another process meanwhile; 23505: the same race caught on pg_database's
      // unique index before the "already exists" check could see the other transaction's row.
      const code = (error as { code?: unknown }).code;
      if (code !== '42P04' && code !== '23505') throw error;
    }
  } finally {
    await client.end();
  }
}

export class PostgresBookStore implements BookStore {
  readonly kind = 'postgres';
  readonly database: string;
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(pool: pg.Pool, database: string) {
    this.#pool = pool;
    this.database = database;
  }

  /** Creates the stamp's database and table if missing, then returns a store on a pool to it. */
  static async open(options: PostgresStoreOptions): Promise<PostgresBookStore> {
    const where = `PostgreSQL database "${options.database}" via ${redactUrl(options.url)}`;
    try {
      await ensureDatabase(options.url, options.database);
    } catch (error) {
      throw new StoreUnavailableError(`cannot prepare ${where}: ${(error as Error).message}`, { cause: error });
    }
    const pool = new pg.Pool({
      connectionString: urlForDatabase(options.url, options.database),
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 10_000,
      // A query never holds a pooled connection forever, even when the server stops answering.
      query_timeout: 10_000,
      application_name: options.applicationName ?? 'stampgate-library',
    });
    // An idle client losing its connection emits on the pool; unhandled, that would crash the stamp.
    pool.on('error', (error) => options.log.warn(`postgres: idle connection lost: ${error.message}`));
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [schemaLockKey]);
        await client.query(schema);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => {});
      throw new StoreUnavailableError(`cannot create the schema in ${where}: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresBookStore(pool, options.database);
  }

  async #query(text: string, values: unknown[] = []): Promise<pg.QueryResult<BookRow>> {
    try {
      return await this.#pool.query<BookRow>(text, values);
    } catch (error) {
      throw translateError(error);
    }
  }

  async list(): Promise<Book[]> {
    return (await this.#query(`SELECT ${columns} FROM libros ORDER BY id`)).rows.map(toBook);
  }

  async get(id: number): Promise<Book | undefined> {
    const row = (await this.#query(`SELECT ${columns} FROM libros WHERE id = $1`, [id])).rows[0];
    return row === undefined ? undefined : toBook(row);
  }

  async create(input: BookInput): Promise<Book> {
    const result = await this.#query(`INSERT INTO libros (titulo, autor) VALUES ($1, $2) RETURNING ${columns}`, [input.titulo, input.autor]);
    const row = result.rows[0];
    if (row === undefined) throw new Error('INSERT … RETURNING returned no row');
    return toBook(row);
  }

  async update(id: number, input: BookInput): Promise<Book | undefined> {
    const result = await this.#query(
      `UPDATE libros SET titulo = $1, autor = $2, updated_at = now() WHERE id = $3 RETURNING ${columns}`,
      [input.titulo, input.autor, id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toBook(row);
  }

  async remove(id: number): Promise<boolean> {
    return ((await this.#query('DELETE FROM libros WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      await withTimeout(this.#pool.query('SELECT 1'), timeoutMs, `PostgreSQL database "${this.database}"`);
    } catch (error) {
      throw translateError(error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
