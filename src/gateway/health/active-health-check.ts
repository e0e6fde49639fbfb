// Active health checks, with Traefik's `healthCheck` options: every `interval` each server is sent
// a probe (`method` `path`, optional `scheme`/`port`/`hostname`/`headers`), and `server.healthy`
// follows the answer: up on the expected status (`status`, or any 2xx/3xx), down on another status,
// an error or no answer within `timeout`. Unhealthy servers are probed every `unhealthyInterval`.
// As in Traefik, servers start healthy and the first probe comes one interval after start(); each
// server has its own timer chain, so probes of one server never overlap and a slow server does not
// delay the others.
//
// Probes go through a dedicated undici Agent, not the server's pool: a probe must not queue behind
// (or take a connection from) live traffic, and its verdict must not depend on the pool's own
// timeouts; `scheme`/`port` may point the probe at another origin than the pool's, and redirects
// may lead anywhere, which only an Agent can follow. stop() aborts probes in flight and closes the
// Agent's sockets, so nothing outlives the checker.
import { announceChange } from './announce-change.ts';
import { EventEmitter } from 'node:events';
import { Agent, interceptors, type Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../../config/schema/dynamic.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import { positiveDurationMs } from './positive-duration.ts';

/** Traefik's defaults. */
export const defaultHealthCheckIntervalMs = 30_000;
export const defaultHealthCheckTimeoutMs = 5_000;
/** As Go's http.Client, which Traefik uses. */
const maxRedirections = 10;

export interface ActiveHealthCheckEvents {
  /** A server's `healthy` flipped; `reason` says what the probe saw. */
  change: [server: UpstreamServer, healthy: boolean, reason: string];
}

export interface ProbeResult {
  healthy: boolean;
  /** The final response status; undefined when there was none. */
  status: number | undefined;
  reason: string;
}

export interface ActiveHealthCheckOptions {
  /**
   * Sends the probes instead of the checker's own Agent (e.g. one built from the service's
   * serversTransport TLS settings). The checker never closes a dispatcher it was given.
   */
  dispatcher?: Dispatcher;
  /** Delay before the first probe; Traefik's behaviour (one interval) by default. */
  initialDelayMs?: number;
}

interface Target {
  readonly server: UpstreamServer;
  /** The probe's origin: the server's with `scheme` and `port` applied. */
  readonly origin: string;
  timer: NodeJS.Timeout | null;
  /** The scheduled probe in flight, which stop() waits for. */
  running: Promise<void> | null;
}

class ProbeTimeout extends Error {}

export class ActiveHealthCheck extends EventEmitter<ActiveHealthCheckEvents> {
  readonly intervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly timeoutMs: number;
  readonly #targets: Target[];
  readonly #path: string;
  readonly #method: string;
  readonly #headers: Record<string, string>;
  readonly #expectedStatus: number | undefined;
  readonly #followRedirects: boolean;
  readonly #initialDelayMs: number;
  readonly #givenDispatcher: Dispatcher | undefined;
  /** Aborts the probes in flight. */
  readonly #inFlight = new Set<AbortController>();
  #agent: Agent | null = null;
  #dispatcher: Dispatcher | null = null;
  /** Bumped by start() and stop(): a probe that ends in another generation changes nothing. */
  #generation = 0;
  #running = false;

  constructor(servers: readonly UpstreamServer[], config: HealthCheckConfig, options: ActiveHealthCheckOptions = {}) {
    super();
    this.intervalMs = positiveDurationMs(config.interval, defaultHealthCheckIntervalMs);
    // Traefik: unhealthy servers are probed as often as healthy ones unless told otherwise.
    this.unhealthyIntervalMs = positiveDurationMs(config.unhealthyInterval, this.intervalMs);
    this.timeoutMs = positiveDurationMs(config.timeout, defaultHealthCheckTimeoutMs);
    this.#path = config.path ?? '/';
    this.#method = (config.method ?? 'GET').toUpperCase();
    this.#expectedStatus = config.status;
    this.#followRedirects = config.followRedirects ?? true;
    this.#initialDelayMs = options.initialDelayMs ?? this.intervalMs;
    this.#givenDispatcher = options.dispatcher;
    const headers: Record<string, string> = { 'user-agent': 'stampgate-health-check' };
    for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = value;
    if (config.hostname !== undefined && config.hostname !== '') headers.host = config.hostname;
    this.#headers = headers;
    this.#targets = servers.map((server) => ({ server, origin: probeOrigin(server, config), timer: null, running: null }));
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts probing; a second call does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation++;
    for (const target of this.#targets) this.#schedule(target, this.#initialDelayMs, this.#generation);
  }

  /**
   * Stops probing: clears every timer, aborts probes in flight and closes the checker's sockets.
   * Servers keep the health they had; start() may be called again.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    const pending: Promise<void>[] = [];
    for (const target of this.#targets) {
      if (target.timer !== null) clearTimeout(target.timer);
      target.timer = null;
      if (target.running !== null) pending.push(target.running);
    }
    for (const abort of this.#inFlight) abort.abort();
    // Let go of the Agent now, so that a start() made before this returns gets a fresh one.
    const agent = this.#agent;
    this.#agent = null;
    this.#dispatcher = null;
    await Promise.allSettled(pending);
    if (agent !== null) await agent.destroy();
  }

  /** Probes one server now, without touching its state (for readiness pages and tests); stop() closes its sockets. */
  async probe(server: UpstreamServer): Promise<ProbeResult> {
    const target = this.#targets.find((t) => t.server === server);
    if (target === undefined) throw new Error(`${server.url} is not checked by this health check`);
    return this.#probe(target.origin, this.#generation);
  }

  #schedule(target: Target, delayMs: number, generation: number): void {
    target.timer = setTimeout(() => {
      target.timer = null;
      target.running = this.#run(target, generation);
    }, delayMs);
    // The gateway's listeners keep the process alive; the checker must not on its own.
    target.timer.unref();
  }

  async #run(target: Target, generation: number): Promise<void> {
    const startedAt = performance.now();
    const result = await this.#probe(target.origin, generation);
    target.running = null;
    if (generation !== this.#generation) return;
    const server = target.server;
    const changed = server.healthy !== result.healthy;
    server.healthy = result.healthy;
    // The interval runs from the probe's start, so a slow answer does not stretch the period.
    const interval = server.healthy ? this.intervalMs : this.unhealthyIntervalMs;
    this.#schedule(target, Math.max(0, interval - (performance.now() - startedAt)), generation);
    if (changed) this.#announce(server, result.healthy, result.reason);
  }

  #announce(server: UpstreamServer, healthy: boolean, reason: string): void {
    announceChange(this, server, healthy, reason);
  }

  async #probe(origin: string, generation: number): Promise<ProbeResult> {
    const abort = new AbortController();
    this.#inFlight.add(abort);
    const timer = setTimeout(() => abort.abort(new ProbeTimeout()), this.timeoutMs);
    try {
      const { statusCode, body } = await this.#dispatcherFor().request({
        origin,
        path: this.#path,
        method: this.#method as Dispatcher.HttpMethod,
        headers: this.#headers,
        signal: abort.signal,
      });
      // The verdict is the status; the body is read (to reuse the connection) but not judged.
      await body.dump({ limit: 64 * 1024, signal: abort.signal }).catch(() => {});
      return this.#judge(statusCode);
    } catch (error) {
      if (abort.signal.aborted && abort.signal.reason instanceof ProbeTimeout) {
        return { healthy: false, status: undefined, reason: `no answer within ${this.timeoutMs} ms` };
      }
      if (generation !== this.#generation) return { healthy: false, status: undefined, reason: 'health check stopped' };
      return { healthy: false, status: undefined, reason: describeError(error) };
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(abort);
    }
  }

  #judge(status: number): ProbeResult {
    const expected = this.#expectedStatus;
    if (expected !== undefined) {
      return status === expected
        ? { healthy: true, status, reason: `status ${status}` }
        : { healthy: false, status, reason: `status ${status}, expected ${expected}` };
    }
    return status >= 200 && status < 400
      ? { healthy: true, status, reason: `status ${status}` }
      : { healthy: false, status, reason: `status ${status}, expected 2xx or 3xx` };
  }

  #dispatcherFor(): Dispatcher {
    if (this.#dispatcher !== null) return this.#dispatcher;
    let base: Dispatcher;
    if (this.#givenDispatcher !== undefined) {
      base = this.#givenDispatcher;
    } else {
      this.#agent = new Agent({ connect: { timeout: this.timeoutMs }, connections: 1 });
      base = this.#agent;
    }
    this.#dispatcher = this.#followRedirects ? base.compose(interceptors.redirect({ maxRedirections, throwOnMaxRedirect: true })) : base;
    return this.#dispatcher;
  }
}

/**
 * The server's origin with `scheme` and `port` applied. Only the origin: as in Traefik, which
 * resolves the (absolute) `path` against the server URL, the probe path replaces any base path.
 */
function probeOrigin(server: UpstreamServer, config: HealthCheckConfig): string {
  const url = new URL(server.origin);
  if (config.scheme !== undefined) url.protocol = `${config.scheme}:`;
  if (config.port !== undefined) url.port = String(config.port);
  return url.origin;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
