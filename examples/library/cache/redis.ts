// The shared cache: Redis through ioredis. Several stamps may share one Redis, so every key carries
// the stamp id (`stamp:<id>:libro:<n>`) and no stamp can read or evict another's entries.
//
// A Redis that is down must not break reads: commands fail fast (no offline queue, short command
// timeout) instead of waiting for a reconnect, the app then serves from the database, and ioredis
// keeps reconnecting in the background.
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../config.ts';
import type { LineLogger } from '../log.ts';
import { withTimeout, type Book } from '../store/book-store.ts';
import { defaultCacheTtlMs, parseCachedBook, type BookCache } from './book-cache.ts';

export interface RedisCacheOptions {
  url: string;
  stampId: string;
  log: LineLogger;
  ttlMs?: number;
  /** How long start-up waits for a first connection before going on without the cache. */
  connectTimeoutMs?: number;
}

export function redisKeyPrefix(stampId: string): string {
  return `stamp:${stampId}:`;
}

export class RedisBookCache implements BookCache {
  readonly kind = 'redis';
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly #redis: Redis;
  #closed = false;

  private constructor(redis: Redis, keyPrefix: string, ttlMs: number) {
    this.#redis = redis;
    this.keyPrefix = keyPrefix;
    this.ttlMs = ttlMs;
  }

  /** Never rejects because Redis is down: the stamp starts and works without its cache. */
  static async open(options: RedisCacheOptions): Promise<RedisBookCache> {
    const { log } = options;
    const where = redactUrl(options.url);
    const keyPrefix = redisKeyPrefix(options.stampId);
    const redisOptions: RedisOptions & { disconnectTimeout: number } = {
      keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      connectTimeout: 1000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      connectionName: `stampgate-library-${options.stampId}`,
      // Untyped but honoured: how long close() waits for a socket that never reports 'close' (one
      // that failed to connect) before destroying it; the default 2 s would delay shutdown.
      disconnectTimeout: 200,
    };
    const redis = new Redis(options.url, redisOptions);
    // Log state changes, not every failed reconnect attempt.
    let down = false;
    redis.on('error', (error: Error) => {
      if (down) return;
      down = true;
      log.warn(`cache: redis at ${where} unavailable (${error.message}); serving from the database until it is back`);
    });
    redis.on('ready', () => {
      if (!down) return;
      down = false;
      log.info(`cache: redis at ${where} is back`);
    });
    const connected = redis.connect().then(() => true, () => false);
    await withTimeout(connected, options.connectTimeoutMs ?? 1000, `redis at ${where}`).catch(() => false);
    return new RedisBookCache(redis, keyPrefix, options.ttlMs ?? defaultCacheTtlMs);
  }

  async get(id: number): Promise<Book | undefined> {
    const raw = await this.#redis.get(`libro:${id}`);
    if (raw === null) return undefined;
    const book = parseCachedBook(raw);
    if (book === undefined) await this.#redis.del(`libro:${id}`);
    return book;
  }

  async set(book: Book): Promise<void> {
    await this.#redis.set(`libro:${book.id}`, JSON.stringify(book), 'PX', this.ttlMs);
  }

  async delete(id: number): Promise<void> {
    await this.#redis.del(`libro:${id}`);
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'ready') {
      await withTimeout(this.#redis.quit(), 500, 'redis QUIT').catch(() => {});
    }
    this.#redis.disconnect();
  }
}
