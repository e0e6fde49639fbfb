// Picks the cache: Redis when REDIS_URL is set, else the in-process one.
import type { LineLogger } from '../log.ts';
import type { BookCache } from './book-cache.ts';
import { MemoryBookCache } from './memory.ts';
import { RedisBookCache } from './redis.ts';

export async function openBookCache(options: { redisUrl: string | undefined; stampId: string; log: LineLogger }): Promise<BookCache> {
  if (options.redisUrl === undefined) return new MemoryBookCache();
  return RedisBookCache.open({ url: options.redisUrl, stampId: options.stampId, log: options.log });
}
