// A read cache in front of the store (cache-aside): GET /libros/:id looks here first; PUT and DELETE
// invalidate. The store stays the source of truth, so every entry also expires after a TTL, which
// bounds how long a missed invalidation (Redis down during a PUT, or a read racing a write) can
// serve a stale book.
import type { Book } from '../store/book-store.ts';

export interface BookCache {
  readonly kind: 'memory' | 'redis';
  get(id: number): Promise<Book | undefined>;
  set(book: Book): Promise<void>;
  delete(id: number): Promise<void>;
  /** Resolves when the cache answers; /ready reports the result. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export const defaultCacheTtlMs = 60_000;

/** Parses a cached value, or undefined when it is not a book (old format, corruption). */
export function parseCachedBook(raw: string): Book | undefined {
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof Book, unknown>> | null;
    if (value === null || typeof value !== 'object') return undefined;
    const { id, titulo, autor, created_at, updated_at } = value;
    if (typeof id !== 'number' || typeof titulo !== 'string' || typeof autor !== 'string') return undefined;
    if (typeof created_at !== 'string' || typeof updated_at !== 'string') return undefined;
    return { id, titulo, autor, created_at, updated_at };
  } catch {
    return undefined;
  }
}
