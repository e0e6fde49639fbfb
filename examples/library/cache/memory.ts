// The in-process cache used when REDIS_URL is absent: bounded (least recently used entries leave
// first) so a large catalogue cannot grow the heap without limit, and entries expire after a TTL.
import type { Book } from '../store/book-store.ts';
import { defaultCacheTtlMs, type BookCache } from './book-cache.ts';

export interface MemoryCacheOptions {
  maxEntries?: number;
  ttlMs?: number;
  /** Injectable clock, for tests of expiry. */
  now?: () => number;
}

export class MemoryBookCache implements BookCache {
  readonly kind = 'memory';
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  // A Map iterates in insertion order; re-inserting on every hit makes its first key the LRU one.
  readonly #entries = new Map<number, { book: Book; expiresAt: number }>();

  constructor(options: MemoryCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1000;
    this.ttlMs = options.ttlMs ?? defaultCacheTtlMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: number): Promise<Book | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return Promise.resolve(undefined);
    this.#entries.delete(id);
    if (entry.expiresAt <= this.#now()) return Promise.resolve(undefined);
    this.#entries.set(id, entry);
    // A copy, so a caller that changes the object cannot change the cached book.
    return Promise.resolve({ ...entry.book });
  }

  set(book: Book): Promise<void> {
    this.#entries.delete(book.id);
    this.#entries.set(book.id, { book: { ...book }, expiresAt: this.#now() + this.ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    return Promise.resolve();
  }

  delete(id: number): Promise<void> {
    this.#entries.delete(id);
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#entries.clear();
    return Promise.resolve();
  }
}
