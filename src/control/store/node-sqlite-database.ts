// Kysely's SQLite dialect expects better-sqlite3's interface; this adapts Node's built-in
// node:sqlite to it, so the embedded store needs no native addon.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function openNodeSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path);
  // WAL lets readers run beside the writer; the busy timeout rides out a second process briefly holding the lock.
  // synchronous=NORMAL (SQLite's advice for WAL): a commit survives a crash of the process, and a power
  // cut may lose the last commits but never leaves half of one; it makes each change ~3x cheaper.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  return {
    close: () => db.close(),
    prepare: (sql: string) => adaptStatement(db.prepare(sql)),
  };
}

type SqlValue = null | number | bigint | string | NodeJS.ArrayBufferView;

function adaptStatement(statement: StatementSync): SqliteStatement {
  const params = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqlValue);
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...params(parameters)),
    run: (parameters) => statement.run(...params(parameters)),
    iterate: (parameters) => statement.iterate(...params(parameters)),
  };
}

function toSqlValue(value: unknown): SqlValue {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value as SqlValue;
}
