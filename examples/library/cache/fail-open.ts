// The app's cache policy: a cache failure never fails a request. A failed read is a miss (the book
// comes from the database), a failed write or invalidation is logged and skipped; the TTL bounds
// how stale an entry that could not be invalidated can be.
import type { LineLogger } from '../log.ts';
import type { Book } from '../store/book-store.ts';
import type { BookCache } from './book-cache.ts';

export interface FailOpenCache {
  get(id: number): Promise<Book | undefined>;
  set(book: Book): Promise<void>;
  delete(id: number): Promise<void>;
}

export function failOpen(cache: BookCache, log: LineLogger): FailOpenCache {
  // Log the first failure of a streak and the recovery, not one line per request.
  let failing = false;
  const attempt = async <T>(operation: string, work: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      const result = await work();
      if (failing) {
        failing = false;
        log.info(`cache: ${cache.kind} cache answers again`);
      }
      return result;
    } catch (error) {
      if (!failing) {
        failing = true;
        log.warn(`cache: ${operation} failed (${(error as Error).message}); falling back to the database`);
      }
      return fallback;
    }
  };
  return {
    get: (id) => attempt('get', () => cache.get(id), undefined),
    set: (book) => attempt('set', () => cache.set(book), undefined),
    delete: (id) => attempt('delete', () => cache.delete(id), undefined),
  };
}
