// In-memory token buckets, one per traffic source, for the rateLimit middleware (and its fallback
// while Redis is away). The semantics are Traefik's (golang.org/x/time/rate with a reservation):
// a bucket holds up to `burst` tokens and refills at `rate`; a request takes one token. A request
// that finds no token but would get one within `maxDelayMs` is let through after that delay
// (Traefik's traffic shaping); one that would wait longer is refused, and told how long.
//
// `take` is synchronous and allocates only when a source is seen for the first time, so the
// in-memory limiter costs a Map lookup and a few float operations per request (measured against
// rate-limiter-flexible's RateLimiterMemory, whose consume() returns a promise and allocates a
// result object per call: see the report of the change that added this file).
//
// The map is bounded: an idle bucket that has refilled completely is the same as no bucket, so
// such buckets are swept when the map grows; past `maxSources` the oldest sources are dropped
// (they start again with a full bucket, the lenient choice), as Traefik's ttlmap of 65536 does.

export interface TokenBucketSettings {
  /** Tokens added per millisecond. */
  readonly ratePerMs: number;
  /** Bucket size: the most requests let through at once. */
  readonly burst: number;
  /** The longest a request is held back instead of refused. */
  readonly maxDelayMs: number;
  /** Most sources remembered at once (Traefik: 65536). */
  readonly maxSources?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed (performance.now()). */
  at: number;
}

const defaultMaxSources = 65_536;
const firstSweepAt = 1024;

/** Traefik's maxDelay: half the interval between two tokens, capped at 500 ms for rates below 1/s. */
export function traefikMaxDelayMs(ratePerSecond: number): number {
  // The small epsilon keeps a rate computed as 2.9999999999999996 at 3 (Traefik truncates an exact rate).
  return ratePerSecond < 1 ? 500 : 1000 / (2 * Math.floor(ratePerSecond + 1e-9));
}

export class TokenBuckets {
  readonly ratePerMs: number;
  readonly burst: number;
  readonly maxDelayMs: number;
  readonly maxSources: number;
  readonly #buckets = new Map<string, Bucket>();
  #sweepAt: number;

  constructor(settings: TokenBucketSettings) {
    this.ratePerMs = settings.ratePerMs;
    this.burst = settings.burst;
    this.maxDelayMs = settings.maxDelayMs;
    this.maxSources = settings.maxSources ?? defaultMaxSources;
    this.#sweepAt = Math.min(firstSweepAt, this.maxSources);
  }

  /**
   * Takes a token for `key` at time `now` (ms, monotonic). Returns 0 when the request may go now,
   * a positive number of milliseconds to hold it back before it goes, or a negative number when it
   * is refused: minus the milliseconds until a token would be there for it.
   */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    let tokens: number;
    if (bucket === undefined) {
      tokens = this.burst;
      bucket = { tokens, at: now };
      this.#insert(key, bucket, now);
    } else {
      tokens = bucket.tokens + (now - bucket.at) * this.ratePerMs;
      if (tokens > this.burst) tokens = this.burst;
    }
    bucket.at = now;
    const left = tokens - 1;
    if (left >= 0) {
      bucket.tokens = left;
      return 0;
    }
    const wait = -left / this.ratePerMs;
    if (wait <= this.maxDelayMs) {
      bucket.tokens = left; // reserved: the token that arrives during the wait is this request's
      return wait;
    }
    bucket.tokens = tokens; // refused: nothing taken (Traefik cancels the reservation)
    return -wait;
  }

  /** Number of sources remembered (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #insert(key: string, bucket: Bucket, now: number): void {
    if (this.#buckets.size >= this.#sweepAt) this.#sweep(now);
    this.#buckets.set(key, bucket);
  }

  #sweep(now: number): void {
    const buckets = this.#buckets;
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + (now - bucket.at) * this.ratePerMs >= this.burst) buckets.delete(key);
    }
    if (buckets.size >= this.maxSources) {
      // Still full of active sources: drop the oldest tenth (Map iteration is insertion order).
      let drop = buckets.size - Math.floor(this.maxSources * 0.9);
      for (const key of buckets.keys()) {
        if (drop-- <= 0) break;
        buckets.delete(key);
      }
    }
    this.#sweepAt = Math.min(this.maxSources, Math.max(firstSweepAt, buckets.size * 2));
  }
}
