// The Redis side of the rateLimit middleware: a limit shared by every gateway that uses the same
// Redis, with the same token bucket as in memory (Traefik v3.4+'s Redis limiter is a token bucket
// in Lua too), run by rate-limiter-flexible's RateLimiterRedis with its insuranceLimiter.
//
// - The bucket lives in one Redis hash per source ({tokens, at}), updated by one Lua script
//   (RateLimiterRedis's customIncrTtlLuaScript) that reads the clock with TIME, so gateways with
//   skewed clocks still agree. rate-limiter-flexible passes the script (points, key TTL, its
//   `points`, its `duration`): here points = burst and duration = the seconds a bucket takes to
//   fill, from which the script derives the rate and Traefik's maxDelay. It answers
//   {consumed, ms}: consumed > burst means refused, retry in ms; otherwise let through after ms.
// - The client (ioredis) never queues or retries a command (enableOfflineQueue: false,
//   maxRetriesPerRequest: 0) and gives up after `timeout` (commandTimeout), so no request waits
//   for Redis longer than that. It connects lazily, on the first request, and reconnects on
//   demand (at most once a second, driven by requests: no timer of its own), and its socket is
//   unref'd: an idle or broken Redis link never keeps the process alive, and an 'error' listener
//   keeps connection errors from crashing it.
// - While Redis is not ready, or for one second after a command failed or timed out, requests
//   are limited by an in-memory bucket of this gateway (the insurance limiter) and answered at
//   once; rate-limiter-flexible also hands any failed command to it.
// - Clients are shared by every rateLimit middleware with the same Redis settings, across config
//   versions, and reference-counted: `acquireRedisLink` when a middleware is built,
//   `releaseRedisLink` when its config version is retired (see rate-limit.ts).
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { RateLimiterCompatibleAbstract, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { durationMs, DurationError } from '../../config/duration.ts';
import type { RateLimitMiddlewareConfig } from '../../config/schema/dynamic.ts';
import { restoreFastStringPrototype } from '../../shared/fast-string-prototype.ts';
import { MiddlewareConfigError } from './middleware.ts';
import type { TokenBuckets } from './token-buckets.ts';

export type RateLimitRedisConfig = NonNullable<RateLimitMiddlewareConfig['redis']>;

/** Default for `redis.timeout`: a rate-limit check never adds more than this to a request. */
export const defaultRedisTimeoutMs = 100;
/** After a failed or timed-out command, Redis is left alone this long (requests use memory). */
const suspendAfterFailureMs = 1000;
/** Least time between two connection attempts. */
const reconnectIntervalMs = 1000;

export interface RedisLink {
  readonly id: string;
  readonly client: Redis;
  readonly timeoutMs: number;
  /** What the link is, for log lines (never the password). */
  readonly label: string;
  users: number;
  closed: boolean;
  /** performance.now() before which no connection attempt is made. */
  nextConnectAt: number;
  /** performance.now() before which Redis is not asked (after a failure). */
  suspendedUntil: number;
  /** Whether requests are being limited in memory; log lines mark the changes. */
  degraded: boolean;
  log: (line: string) => void;
}

const links = new Map<string, RedisLink>();

let RedisClient: typeof Redis | null = null;

/**
 * ioredis, loaded on first use rather than with the gateway: it subclasses String, which slows
 * every string method call in the process until String.prototype is made fast again (see
 * fast-string-prototype.ts). A gateway without a Redis limit never loads it.
 */
function redisClientClass(): typeof Redis {
  if (RedisClient === null) {
    RedisClient = (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis;
    restoreFastStringPrototype();
  }
  return RedisClient;
}

interface ConnectionSettings {
  url: string | null;
  host: string;
  port: number;
  db: number | undefined;
  username: string | undefined;
  password: string | undefined;
  timeoutMs: number;
}

function connectionSettings(config: RateLimitRedisConfig, field: string, log: (line: string) => void): ConnectionSettings {
  let timeoutMs: number;
  try {
    timeoutMs = durationMs(config.timeout, defaultRedisTimeoutMs);
  } catch (error) {
    if (error instanceof DurationError) throw new MiddlewareConfigError(`${field}.timeout: ${error.reason}`);
    throw error;
  }
  if (!(timeoutMs >= 1)) throw new MiddlewareConfigError(`${field}.timeout: must be at least 1ms`);
  const endpoints = config.endpoints ?? [];
  const url = config.url !== undefined && config.url !== '' ? config.url : null;
  if (url !== null && endpoints.length > 0) throw new MiddlewareConfigError(`${field}: url and endpoints are mutually exclusive; choose one`);
  const base = { db: config.db, username: config.username !== '' ? config.username : undefined, password: config.password !== '' ? config.password : undefined, timeoutMs };
  if (url !== null) {
    try {
      new URL(url);
    } catch {
      throw new MiddlewareConfigError(`${field}.url: ${JSON.stringify(url)} is not a URL`);
    }
    return { url, host: '', port: 0, ...base };
  }
  const endpoint = endpoints[0];
  if (endpoint === undefined) throw new MiddlewareConfigError(`${field}: set url (redis://host:port) or endpoints (["host:port"])`);
  if (endpoints.length > 1) log(`${field}.endpoints: Stampgate connects to the first endpoint only (${endpoint}); Redis Cluster and Sentinel are not supported here`);
  const { host, port } = parseEndpoint(endpoint, `${field}.endpoints[0]`);
  return { url: null, host, port, ...base };
}

/** "host:port", "[v6]:port" or "host" (port 6379). */
function parseEndpoint(endpoint: string, field: string): { host: string; port: number } {
  const text = endpoint.trim();
  let host = text;
  let port = 6379;
  const bracket = text.startsWith('[') ? text.indexOf(']') : -1;
  const colon = text.lastIndexOf(':');
  if (bracket > 0) {
    host = text.slice(1, bracket);
    if (colon > bracket) port = Number(text.slice(colon + 1));
  } else if (colon >= 0 && text.indexOf(':') === colon) {
    host = text.slice(0, colon);
    port = Number(text.slice(colon + 1));
  }
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new MiddlewareConfigError(`${field}: ${JSON.stringify(endpoint)} is not host:port`);
  return { host, port };
}

/** The shared link for these settings, created (not connected) when none exists yet. */
export function acquireRedisLink(config: RateLimitRedisConfig, field: string, log: (line: string) => void): RedisLink {
  const settings = connectionSettings(config, field, log);
  const id = JSON.stringify(settings);
  let link = links.get(id);
  if (link === undefined) {
    link = createLink(id, settings, log);
    links.set(id, link);
  }
  link.users++;
  return link;
}

function createLink(id: string, settings: ConnectionSettings, log: (line: string) => void): RedisLink {
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // No reconnection timers: requests reconnect on demand (see redisUsable).
    retryStrategy: () => null,
    commandTimeout: settings.timeoutMs,
    connectTimeout: Math.max(settings.timeoutMs, 1000),
    connectionName: 'stampgate-ratelimit',
  };
  if (settings.db !== undefined) options.db = settings.db;
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.password !== undefined) options.password = settings.password;
  const Client = redisClientClass();
  const client = settings.url !== null ? new Client(settings.url, options) : new Client({ ...options, host: settings.host, port: settings.port });
  const label = settings.url !== null ? redactedUrl(settings.url) : `${settings.host}:${settings.port}`;
  const link: RedisLink = { id, client, timeoutMs: settings.timeoutMs, label, users: 0, closed: false, nextConnectAt: 0, suspendedUntil: 0, degraded: false, log };
  let lastError = '';
  client.on('error', (error: Error) => {
    // Connection errors repeat on every attempt: log each distinct one once per outage.
    if (error.message === lastError) return;
    lastError = error.message;
    link.log(`rateLimit: Redis ${label}: ${error.message}`);
  });
  client.on('connect', () => {
    client.stream.unref();
  });
  client.on('ready', () => {
    lastError = '';
  });
  return link;
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}

/**
 * Whether a request may ask Redis now. When the client is not connected, this starts a connection
 * attempt (at most one per second), and the request is limited in memory meanwhile.
 */
export function redisUsable(link: RedisLink, now: number): boolean {
  if (link.closed || now < link.suspendedUntil) return false;
  const status = link.client.status;
  if (status === 'ready') return true;
  if ((status === 'wait' || status === 'end') && now >= link.nextConnectAt) {
    link.nextConnectAt = now + reconnectIntervalMs;
    link.client.connect().catch(() => {}); // reported through the 'error' event
  }
  return false;
}

/** Called when Redis failed a request: leave it alone for a moment. */
function redisFailed(link: RedisLink): void {
  link.suspendedUntil = performance.now() + suspendAfterFailureMs;
  if (!link.degraded) {
    link.degraded = true;
    link.log(`rateLimit: Redis ${link.label} is not answering (within ${link.timeoutMs}ms); limiting in memory per gateway until it is back`);
  }
}

/** Called when a request got its answer through Redis (or its insurance, right after a failure). */
export function redisAnswered(link: RedisLink): void {
  if (link.degraded && performance.now() >= link.suspendedUntil) {
    link.degraded = false;
    link.log(`rateLimit: Redis ${link.label} answers again; limits are shared again`);
  }
}

/** Drops one user of the link; the last one closes the connection. */
export async function releaseRedisLink(link: RedisLink): Promise<void> {
  if (link.users > 0) link.users--;
  if (link.users > 0 || link.closed) return;
  await closeLink(link);
}

async function closeLink(link: RedisLink): Promise<void> {
  link.closed = true;
  if (links.get(link.id) === link) links.delete(link.id);
  const client = link.client;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect();
}

/** Closes every Redis client of every rateLimit middleware (gateway shutdown). */
export async function closeAllRedisLinks(): Promise<void> {
  await Promise.all([...links.values()].map(closeLink));
}

// ---- the limiter ------------------------------------------------------------------------------

// KEYS[1]: the source's bucket; ARGV: tokens to take, key TTL in seconds, burst, seconds to fill.
// Returns {consumed, ms}: consumed > burst: refused, a token in `ms`; else go after `ms` (0: now).
// Lua numbers become integer replies, hence the rounding of what is returned.
const tokenBucketScript = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local burst = tonumber(ARGV[3])
local perSecond = burst / tonumber(ARGV[4])
local perMs = perSecond / 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = burst
if state[1] and state[2] then
  tokens = tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * perMs
  if tokens > burst then tokens = burst end
end
local left = tokens - tonumber(ARGV[1])
local maxDelay = 500
if perSecond >= 1 then maxDelay = 1000 / (2 * math.floor(perSecond + 1e-9)) end
local wait = 0
if left < 0 then
  wait = -left / perMs
  if wait > maxDelay then return {burst + 1, math.ceil(wait)} end
end
redis.call('HSET', KEYS[1], 't', tostring(left), 'a', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
local consumed = burst
if left >= 0 then consumed = burst - math.floor(left) end
return {consumed, math.ceil(wait)}
`;

/**
 * The in-memory bucket as rate-limiter-flexible's insurance limiter: it is only asked when Redis
 * failed a request, which it records on the link. Its answers use the script's encoding.
 */
class MemoryInsurance extends RateLimiterCompatibleAbstract {
  override readonly keyPrefix = '';
  override blockDuration = 0;
  override execEvenly = false;
  readonly #buckets: TokenBuckets;
  readonly #link: RedisLink;
  readonly #clock: () => number;

  constructor(buckets: TokenBuckets, link: RedisLink, clock: () => number) {
    super();
    this.#buckets = buckets;
    this.#link = link;
    this.#clock = clock;
  }

  override consume(key: string | number): Promise<RateLimiterRes> {
    redisFailed(this.#link);
    const verdict = this.#buckets.take(String(key), this.#clock());
    const burst = this.#buckets.burst;
    return verdict >= 0 ? Promise.resolve(new RateLimiterRes(0, verdict, burst)) : Promise.reject(new RateLimiterRes(0, -verdict, burst + 1));
  }

  override penalty(): Promise<RateLimiterRes> {
    return unsupported();
  }

  override reward(): Promise<RateLimiterRes> {
    return unsupported();
  }

  override get(): Promise<RateLimiterRes | null> {
    return unsupported();
  }

  override set(): Promise<RateLimiterRes> {
    return unsupported();
  }

  override block(): Promise<RateLimiterRes> {
    return unsupported();
  }

  override delete(): Promise<boolean> {
    return unsupported();
  }
}

function unsupported(): Promise<never> {
  return Promise.reject(new Error('not used by the rateLimit middleware'));
}

export interface SharedLimiter {
  readonly limiter: RateLimiterRedis;
  /** The options every consume() passes: the key TTL. */
  readonly consumeOptions: { customDuration: number };
}

/**
 * A RateLimiterRedis running the token bucket for one middleware, keyed `<keyPrefix>:<source>`,
 * with `buckets` (read at `clock`) as its insurance.
 */
export function sharedLimiter(link: RedisLink, keyPrefix: string, burst: number, fillSeconds: number, buckets: TokenBuckets, clock: () => number): SharedLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: link.client,
    keyPrefix,
    points: burst,
    duration: fillSeconds,
    rejectIfRedisNotReady: true,
    customIncrTtlLuaScript: tokenBucketScript,
    insuranceLimiter: new MemoryInsurance(buckets, link, clock),
  });
  // A full bucket is the same as no bucket: the key may expire once it has refilled.
  return { limiter, consumeOptions: { customDuration: Math.ceil(fillSeconds) + 1 } };
}

export { RateLimiterRes };
