// The stamp's source of truth. Two implementations (SQLite, PostgreSQL) behind one interface, so the
// same app runs as an embedded stamp on one machine or on a production database.

export interface Book {
  id: number;
  titulo: string;
  autor: string;
  /** ISO 8601, UTC. */
  created_at: string;
  /** ISO 8601, UTC. */
  updated_at: string;
}

/** What a client may set: already validated and trimmed. */
export interface BookInput {
  titulo: string;
  autor: string;
}

export interface BookStore {
  readonly kind: 'sqlite' | 'postgres';
  /** All books, ordered by id. */
  list(): Promise<Book[]>;
  get(id: number): Promise<Book | undefined>;
  create(input: BookInput): Promise<Book>;
  /** The updated book, or undefined when no book has that id. */
  update(id: number, input: BookInput): Promise<Book | undefined>;
  /** False when no book had that id. */
  remove(id: number): Promise<boolean>;
  /** Resolves when the database answers a query within timeoutMs. */
  ping(timeoutMs: number): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * The database cannot be reached or is closed, as opposed to a bug in a query: the app answers 503
 * (retry later) instead of 500.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Rejects after timeoutMs; the timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
