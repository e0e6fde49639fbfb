// A short memory of successful password checks, for basicAuth: password hashes are slow on
// purpose, and a client sends the same Authorization header on every request. Keys are SHA-256
// digests of the whole header value (the password itself is never kept); entries expire after a
// few seconds and the oldest go first when the memory is full. Only successes are remembered.
import { createHash } from 'node:crypto';

export class VerifiedCredentials {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { readonly user: string; readonly until: number }>();

  constructor(ttlMs = 5_000, max = 1_000, now: () => number = () => performance.now()) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  /** The key for an Authorization header value. */
  static keyOf(authorization: string): string {
    return createHash('sha256').update(authorization).digest('base64');
  }

  /** The user a key was verified for, while the memory of it lasts. */
  user(key: string): string | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > this.#now()) return entry.user;
    this.#entries.delete(key);
    return undefined;
  }

  remember(key: string, user: string): void {
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      // Map iteration is insertion order: the first entry is the oldest.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.delete(key);
    this.#entries.set(key, { user, until: this.#now() + this.#ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
