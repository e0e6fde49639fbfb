// rateLimit: Traefik v3's token bucket per traffic source. `average` requests per `period`
// (default 1s) refill a bucket of `burst` (default 1) requests; `average: 0` means no limit. A
// request that finds the bucket empty but would get a token within Traefik's maxDelay (half the
// interval between two tokens, 500 ms below 1 request/s) is held back that long and then goes on;
// one that would wait longer gets a 429 problem with `Retry-After` (seconds, rounded up).
//
// The source is Traefik's sourceCriterion (see source-criterion.ts): the client address by
// default, an ipStrategy, a request header, the host, or (Stampgate) `tenant: true`: the tenant
// the request carries (`exchange.tenant`, set before this middleware by a jwt middleware with
// `tenantClaim`; the stamps service picks the tenant later, after the middlewares), falling back
// to the client address when it carries none, so that anonymous requests do not share one budget.
//
// Without `redis` the buckets live in memory: per router the middleware is applied to (Traefik
// builds a limiter per router) and per worker process; see token-buckets.ts. With `redis` the
// buckets live in Redis, keyed `stampgate:ratelimit:<middleware name>:<source>`, so every gateway
// (and every router) using this middleware shares one limit; while Redis is away each gateway
// limits in memory, and no request waits for Redis longer than `redis.timeout` (default 100ms);
// see rate-limit-redis.ts. The connection is opened when the middleware is built into a router's
// chain; requests that arrive before it is ready are limited in memory.
//
// The gateway releases Redis connections with `releaseRateLimit(middleware)` for each rateLimit
// middleware of a config version it retires, and `closeRateLimitClients()` when it stops.
//
// Deviations from Traefik: the 429 is a problem+json body (Traefik: text) without X-Retry-In;
// `redis.url` is Stampgate's, only the first of `redis.endpoints` is used, and Traefik's pool and
// TLS options are not in the schema; Traefik's Redis keys are `rate:<source>` for every middleware.
//
//   http.middlewares.api-limit.rateLimit: { average: 100, period: 1s, burst: 50, sourceCriterion: { requestHeaderName: X-Api-Key } }
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { DurationError, parseDuration } from '../../config/duration.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import type { Exchange, Handler } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { acquireRedisLink, closeAllRedisLinks, RateLimiterRes, redisAnswered, redisUsable, releaseRedisLink, sharedLimiter, type RedisLink } from './rate-limit-redis.ts';
import { sourceKey, type SourceKeyOf } from './source-criterion.ts';
import { TokenBuckets, traefikMaxDelayMs } from './token-buckets.ts';

export type RateLimitConfig = NonNullable<MiddlewareConfig['rateLimit']>;

interface RedisUse {
  readonly link: RedisLink;
  released: boolean;
}

const redisUses = new WeakMap<Middleware, RedisUse>();

const monotonicNow = (): number => performance.now();

/** `clock` (milliseconds, monotonic) is for tests; the gateway uses the default. */
export function rateLimit(config: RateLimitConfig, context: MiddlewareContext, clock: () => number = monotonicNow): Middleware {
  const average = config.average;
  if (!Number.isInteger(average) || average < 0) throw new MiddlewareConfigError(`average: ${average} must be a whole number, 0 or more`);
  let periodMs = 1000;
  if (config.period !== undefined) {
    try {
      periodMs = parseDuration(config.period);
    } catch (error) {
      if (error instanceof DurationError) throw new MiddlewareConfigError(`period: ${error.reason}`);
      throw error;
    }
    if (periodMs === 0) periodMs = 1000; // Traefik: a zero period is the default, one second
  }
  const burst = config.burst === undefined || config.burst < 1 ? 1 : config.burst;
  if (!Number.isInteger(burst)) throw new MiddlewareConfigError(`burst: ${burst} must be a whole number, 1 or more`);
  const keyOf = sourceKeyOf(config.sourceCriterion);
  const name = context.name;
  if (average === 0) {
    if (config.redis !== undefined) context.log(`middleware ${name}: rateLimit.average is 0 (no limit): redis is not used`);
    return (next) => next;
  }

  // One number drives both stores: the seconds an empty bucket takes to fill.
  const fillSeconds = (burst * periodMs) / average / 1000;
  const ratePerSecond = burst / fillSeconds;
  const settings = { ratePerMs: ratePerSecond / 1000, burst, maxDelayMs: traefikMaxDelayMs(ratePerSecond) };
  const periodText = config.period === undefined ? '1s' : typeof config.period === 'number' ? `${config.period}s` : config.period;
  const refuse = (exchange: Exchange, waitMs: number): void => {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    sendProblem(
      exchange.res,
      problem('rate-limited', 'Too many requests', 429, `middleware ${JSON.stringify(name)} allows ${average} request${average === 1 ? '' : 's'} per ${periodText} (burst ${burst}) from this source; retry in ${seconds}s`, { requestId: exchange.requestId }),
      { 'retry-after': String(seconds) },
    );
  };

  if (config.redis === undefined) {
    return (next) => {
      const buckets = new TokenBuckets(settings);
      return (exchange) => {
        const verdict = buckets.take(keyOf(exchange), clock());
        if (verdict === 0) next(exchange);
        else if (verdict > 0) setTimeout(proceed, verdict, next, exchange);
        else refuse(exchange, -verdict);
      };
    };
  }

  const link = acquireRedisLink(config.redis, 'redis', context.log);
  const use: RedisUse = { link, released: false };
  const keyPrefix = `stampgate:ratelimit:${name}`;
  const middleware: Middleware = (next) => {
    const buckets = new TokenBuckets(settings);
    const { limiter, consumeOptions } = sharedLimiter(link, keyPrefix, burst, fillSeconds, buckets, clock);
    redisUsable(link, performance.now()); // connects now, while the router's chain is built
    const decide = (exchange: Exchange, waitMs: number): void => {
      if (waitMs <= 0) next(exchange);
      else setTimeout(proceed, waitMs, next, exchange);
    };
    return (exchange) => {
      const key = keyOf(exchange);
      if (use.released || !redisUsable(link, performance.now())) {
        const verdict = buckets.take(key, clock());
        if (verdict >= 0) decide(exchange, verdict);
        else refuse(exchange, -verdict);
        return;
      }
      limiter.consume(key, 1, consumeOptions).then(
        (result) => {
          redisAnswered(link);
          decide(exchange, result.msBeforeNext);
        },
        (rejection: unknown) => {
          if (rejection instanceof RateLimiterRes) {
            redisAnswered(link);
            refuse(exchange, rejection.msBeforeNext);
            return;
          }
          // Neither Redis nor the insurance answered (not expected): let the request through.
          context.log(`middleware ${name}: rate limit check failed, request let through: ${(rejection as Error)?.message ?? String(rejection)}`);
          next(exchange);
        },
      );
    };
  };
  redisUses.set(middleware, use);
  return middleware;
}

function proceed(next: Handler, exchange: Exchange): void {
  if (!exchange.res.destroyed) next(exchange); // the client may have left while it was held back
}

function sourceKeyOf(criterion: RateLimitConfig['sourceCriterion']): SourceKeyOf {
  const shared = sourceKey(criterion, 'ip', 'sourceCriterion'); // also checks that one criterion is chosen
  return criterion?.tenant === true ? tenantOrClient : shared;
}

// Prefixed so that a tenant id can never share a bucket with a client address.
function tenantOrClient(exchange: Exchange): string {
  const tenant = exchange.tenant;
  return tenant !== null && tenant !== '' ? 'tenant:' + tenant : 'ip:' + exchange.clientIp;
}

/**
 * Releases the Redis connection of a rateLimit middleware built by `rateLimit` (no-op for any other
 * middleware, and when called twice). Call it for each middleware of a config version the gateway
 * retires; the connection closes when no live middleware uses it. Requests that still reach a
 * released middleware are limited in memory.
 */
export async function releaseRateLimit(middleware: Middleware): Promise<void> {
  const use = redisUses.get(middleware);
  if (use === undefined || use.released) return;
  use.released = true;
  await releaseRedisLink(use.link);
}

/** Closes every Redis client the rateLimit middlewares opened (gateway shutdown, tests). */
export async function closeRateLimitClients(): Promise<void> {
  await closeAllRedisLinks();
}
