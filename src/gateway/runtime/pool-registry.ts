// Connection pools outlive config versions: a reload that keeps a server's address keeps its warm
// keep-alive connections. Pools that no version uses any more are closed after the swap.
import { createUpstreamPool, type UpstreamTimeouts } from '../balancer/upstream-server.ts';
import type { UpstreamPool } from '../http1/upstream-pool.ts';

export class PoolRegistry {
  readonly #pools = new Map<string, UpstreamPool>();
  readonly #timeouts: UpstreamTimeouts;

  constructor(timeouts: UpstreamTimeouts) {
    this.#timeouts = timeouts;
  }

  get(origin: string): UpstreamPool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = createUpstreamPool(origin, this.#timeouts);
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes every pool whose origin is not in `inUse` (requests under way finish first). */
  async retain(inUse: ReadonlySet<string>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [origin, pool] of this.#pools) {
      if (inUse.has(origin)) continue;
      this.#pools.delete(origin);
      closing.push(pool.close());
    }
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    await this.retain(new Set());
  }
}
