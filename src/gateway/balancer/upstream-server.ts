// One upstream server of a service: its address, its keep-alive connection pool, and the state that
// balancing reads on every pick (in-flight count, active health, passive ejection).
import { UpstreamPool } from '../http1/upstream-pool.ts';

export interface UpstreamTimeouts {
  /** A server that does not accept a connection within this is unreachable (503). */
  connectMs: number;
  /** Time allowed for the response headers before 504. */
  headersMs: number;
  /** Time allowed between two chunks of the response body. */
  bodyMs: number;
}

export const defaultUpstreamTimeouts: UpstreamTimeouts = { connectMs: 1000, headersMs: 30_000, bodyMs: 60_000 };

/** How long an unused keep-alive connection stays open (below the 5 s of Node's and many servers' own timeout). */
export const upstreamKeepAliveMs = 4_000;

/** A pool for `origin` with these timeouts. */
export function createUpstreamPool(origin: string, timeouts: UpstreamTimeouts): UpstreamPool {
  return new UpstreamPool(origin, { connectTimeoutMs: timeouts.connectMs, headersTimeoutMs: timeouts.headersMs, bodyTimeoutMs: timeouts.bodyMs, keepAliveTimeoutMs: upstreamKeepAliveMs });
}

export class UpstreamServer {
  /** The URL as configured, e.g. `http://10.0.0.5:8080/base`. */
  readonly url: string;
  readonly origin: string;
  /** Path prefix of the URL ('' for none), prepended to every forwarded path. */
  readonly basePath: string;
  readonly weight: number;
  readonly pool: UpstreamPool;
  /** Requests sent to this server and not yet answered (p2c reads it). */
  inFlight = 0;
  /** Result of the active health check; true while there is none. */
  healthy = true;
  /** Passive ejection: unavailable until this time (performance.now() ms); 0 when not ejected. */
  ejectedUntil = 0;

  constructor(url: string, weight: number, timeouts: UpstreamTimeouts, pool?: UpstreamPool) {
    const parsed = new URL(url);
    this.url = url;
    this.origin = parsed.origin;
    this.basePath = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
    this.weight = weight;
    this.pool = pool ?? createUpstreamPool(this.origin, timeouts);
  }

  /** Whether balancing may pick this server now. */
  isAvailable(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now && this.weight > 0;
  }
}
