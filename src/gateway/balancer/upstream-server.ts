// One upstream server of a service: its address, its keep-alive connection pool, and the state that
// balancing reads on every pick (in-flight count, active health, passive ejection).
import { Pool } from 'undici';

export interface UpstreamTimeouts {
  /** A server that does not accept a connection within this is unreachable (503). */
  connectMs: number;
  /** Time allowed for the response headers before 504. */
  headersMs: number;
  /** Time allowed between two chunks of the response body. */
  bodyMs: number;
}

export const defaultUpstreamTimeouts: UpstreamTimeouts = { connectMs: 1000, headersMs: 30_000, bodyMs: 60_000 };

export class UpstreamServer {
  /** The URL as configured, e.g. `http://10.0.0.5:8080/base`. */
  readonly url: string;
  readonly origin: string;
  /** Path prefix of the URL ('' for none), prepended to every forwarded path. */
  readonly basePath: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Requests sent to this server and not yet answered (p2c reads it). */
  inFlight = 0;
  /** Result of the active health check; true while there is none. */
  healthy = true;
  /** Passive ejection: unavailable until this time (performance.now() ms); 0 when not ejected. */
  ejectedUntil = 0;

  constructor(url: string, weight: number, timeouts: UpstreamTimeouts, pool?: Pool) {
    const parsed = new URL(url);
    this.url = url;
    this.origin = parsed.origin;
    this.basePath = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
    this.weight = weight;
    this.pool =
      pool ??
      new Pool(this.origin, {
        connect: { timeout: timeouts.connectMs },
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
        keepAliveTimeout: 4_000,
      });
  }

  /** Whether balancing may pick this server now. */
  isAvailable(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now && this.weight > 0;
  }
}
