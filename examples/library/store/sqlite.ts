// The embedded store: Node's built-in SQLite (no native addon to build), one file per stamp.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { StoreUnavailableError, type Book, type BookInput, type BookStore } from './book-store.ts';

const schema = `
  CREATE TABLE IF NOT EXISTS libros (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted book's id is never reused
    titulo TEXT NOT NULL,
    autor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`;

// SQLite result codes that mean "the file cannot be used right now" rather than "bad query".
const unavailableCodes = new Set([5 /* BUSY */, 6 /* LOCKED */, 10 /* IOERR */, 11 /* CORRUPT */, 13 /* FULL */, 14 /* CANTOPEN */, 26 /* NOTADB */]);

function translateError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { code, errcode } = error as Error & { code?: string; errcode?: number };
  // node:sqlite reports a closed database as ERR_INVALID_STATE.
  if (code === 'ERR_INVALID_STATE' || (errcode !== undefined && unavailableCodes.has(errcode & 0xff))) {
    return new StoreUnavailableError(`SQLite: ${error.message}`, { cause: error });
  }
  return error;
}

function text(row: Record<string, SQLOutputValue>, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`libros.${column} is not text`);
  return value;
}

function toBook(row: Record<string, SQLOutputValue>): Book {
  const id = row.id;
  if (typeof id !== 'number') throw new Error('libros.id is not an integer');
  return { id, titulo: text(row, 'titulo'), autor: text(row, 'autor'), created_at: text(row, 'created_at'), updated_at: text(row, 'updated_at') };
}

export class SqliteBookStore implements BookStore {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements: Record<'list' | 'get' | 'create' | 'update' | 'remove' | 'ping', StatementSync>;

  /** Opens (creating the file, its directory and the table if missing) synchronously. */
  constructor(filePath: string) {
    this.path = filePath;
    const inMemory = filePath === ':memory:';
    if (!inMemory) mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
    this.#db = new DatabaseSync(filePath);
    try {
      // WAL lets readers run while a write commits; busy_timeout waits for a lock instead of failing.
      if (!inMemory) this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
      this.#db.exec(schema);
      const columns = 'id, titulo, autor, created_at, updated_at';
      this.#statements = {
        list: this.#db.prepare(`SELECT ${columns} FROM libros ORDER BY id`),
        get: this.#db.prepare(`SELECT ${columns} FROM libros WHERE id = ?`),
        create: this.#db.prepare(`INSERT INTO libros (titulo, autor, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING ${columns}`),
        update: this.#db.prepare(`UPDATE libros SET titulo = ?, autor = ?, updated_at = ? WHERE id = ? RETURNING ${columns}`),
        remove: this.#db.prepare('DELETE FROM libros WHERE id = ?'),
        ping: this.#db.prepare('SELECT 1'),
      };
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  // node:sqlite is synchronous; each method still returns a promise to fit the interface, and a
  // thrown error becomes a rejection.
  #run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(translateError(error));
    }
  }

  list(): Promise<Book[]> {
    return this.#run(() => this.#statements.list.all().map(toBook));
  }

  get(id: number): Promise<Book | undefined> {
    return this.#run(() => {
      const row = this.#statements.get.get(id);
      return row === undefined ? undefined : toBook(row);
    });
  }

  create(input: BookInput): Promise<Book> {
    return this.#run(() => {
      const now = new Date().toISOString();
      const row = this.#statements.create.get(input.titulo, input.autor, now, now);
      if (row === undefined) throw new Error('INSERT … RETURNING returned no row');
      return toBook(row);
    });
  }

  update(id: number, input: BookInput): Promise<Book | undefined> {
    return this.#run(() => {
      const row = this.#statements.update.get(input.titulo, input.autor, new Date().toISOString(), id);
      return row === undefined ? undefined : toBook(row);
    });
  }

  remove(id: number): Promise<boolean> {
    return this.#run(() => Number(this.#statements.remove.run(id).changes) > 0);
  }

  // A local file either answers at once or not at all, so there is nothing to time out.
  ping(_timeoutMs?: number): Promise<void> {
    return this.#run(() => {
      this.#statements.ping.get();
    });
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}
