// Picks the store that DATABASE_URL asks for, so server.ts and tests open stores the same way.
import type { DatabaseConfig } from '../config.ts';
import type { LineLogger } from '../log.ts';
import { StoreUnavailableError, type BookStore } from './book-store.ts';
import { PostgresBookStore } from './postgres.ts';
import { SqliteBookStore } from './sqlite.ts';

export async function openBookStore(database: DatabaseConfig, log: LineLogger): Promise<BookStore> {
  if (database.kind === 'postgres') {
    return PostgresBookStore.open({
      url: database.url,
      database: database.database,
      log,
      applicationName: `stampgate-library-${log.stampId}`,
    });
  }
  try {
    return new SqliteBookStore(database.path);
  } catch (error) {
    throw new StoreUnavailableError(`cannot open SQLite database ${database.path}: ${(error as Error).message}`, { cause: error });
  }
}
