// The loadBalancer service: picks a server with the configured strategy, forwards, and on failure
// retries on another server when the retry middleware allows it. A request whose body may already
// have been sent is only sent again when it is idempotent (or the config says so); a request that
// never left (connection refused) can always go to the next server.
import { problem, sendProblem } from '../../shared/problem.ts';
import type { Balancer } from '../balancer/balancer.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { forwardExchange, type ForwardSettings, type UpstreamFailure, type UpstreamOutcome } from '../proxy/forward-exchange.ts';
import type { Service } from './service.ts';

/** What the service tells its observers (passive health, metrics). */
export interface ServerObserver {
  failure(server: UpstreamServer, now: number): void;
  success(server: UpstreamServer): void;
}

export interface LoadBalancerServiceOptions {
  name: string;
  balancer: Balancer;
  settings: ForwardSettings;
  /** Passive health: told of each server failure and success. */
  observer?: ServerObserver;
  /** Statuses that count as a server failure for passive health (default: none). */
  failureStatus?: (status: number) => boolean;
  /** Background work to start and stop with the service (active health checks). */
  background?: { start(): void; stop(): void };
}

const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class LoadBalancerService implements Service, UpstreamOutcome {
  readonly name: string;
  readonly kind = 'loadBalancer' as const;
  readonly handle: (exchange: Exchange) => void;
  readonly #balancer: Balancer;
  readonly #settings: ForwardSettings;
  readonly #observer: ServerObserver | undefined;
  readonly #failureStatus: ((status: number) => boolean) | undefined;
  readonly #background: { start(): void; stop(): void } | undefined;

  constructor(options: LoadBalancerServiceOptions) {
    this.name = options.name;
    this.#balancer = options.balancer;
    this.#settings = options.settings;
    this.#observer = options.observer;
    this.#failureStatus = options.failureStatus;
    this.#background = options.background;
    this.handle = (exchange) => this.#attempt(exchange);
  }

  available(): boolean {
    const now = performance.now();
    return this.#balancer.servers.some((s) => s.isAvailable(now));
  }

  servers(): UpstreamServer[] {
    return [...this.#balancer.servers];
  }

  start(): void {
    this.#background?.start();
  }

  stop(): void {
    this.#background?.stop();
  }

  #attempt(exchange: Exchange): void {
    let server = this.#balancer.pick(exchange, exchange.attempted ?? undefined);
    // Every server was tried: a retry may go to one of them again rather than give up early.
    if (server === undefined && exchange.attempted !== null) server = this.#balancer.pick(exchange);
    if (server === undefined) {
      sendProblem(exchange.res, noServerProblem(exchange, this.name, exchange.attempted !== null));
      return;
    }
    exchange.service ??= this.name;
    forwardExchange(exchange, server, this.#settings, this);
  }

  onFailure(exchange: Exchange, server: UpstreamServer, failure: UpstreamFailure): boolean {
    this.#observer?.failure(server, performance.now());
    return this.#retry(exchange, server, failure.notSent);
  }

  onStatus(exchange: Exchange, server: UpstreamServer, status: number): boolean {
    if (this.#failureStatus?.(status)) this.#observer?.failure(server, performance.now());
    else this.#observer?.success(server);
    const retryOn = exchange.retry?.retryOnStatus;
    if (retryOn != null && retryOn(status) && this.#retry(exchange, server, false)) return true;
    const fallback = exchange.statusFallback?.(status);
    if (fallback != null && this.#canResend(exchange, false)) {
      exchange.statusFallback = null; // one failover per request
      fallback(exchange);
      return true;
    }
    return false;
  }

  /** A server for a copy of this exchange (mirroring), without forwarding anything. */
  pickServer(exchange: Exchange): UpstreamServer | undefined {
    return this.#balancer.pick(exchange);
  }

  /** Whether the request can be sent again: its body is not consumed, and sending twice is harmless or allowed. */
  #canResend(exchange: Exchange, notSent: boolean): boolean {
    const bodyAvailable = exchange.bufferedBody !== null || !exchange.req.bodyConsumed;
    const safe = notSent || idempotentMethods.has(exchange.method) || exchange.retry?.retryNonIdempotent === true;
    return bodyAvailable && safe;
  }

  /** Sends the exchange to another server when the policy and the request allow it. */
  #retry(exchange: Exchange, server: UpstreamServer, notSent: boolean): boolean {
    const policy = exchange.retry;
    if (policy === null || exchange.retries + 1 >= policy.attempts) return false;
    if (!this.#canResend(exchange, notSent)) return false;
    (exchange.attempted ??= new Set()).add(server);
    exchange.retries++;
    const delay = policy.initialIntervalMs * 2 ** (exchange.retries - 1);
    if (delay <= 0) this.#attempt(exchange);
    else setTimeout(() => this.#attempt(exchange), delay);
    return true;
  }
}

function noServerProblem(exchange: Exchange, service: string, afterRetries: boolean) {
  const detail = afterRetries ? `service ${JSON.stringify(service)}: every server failed after ${exchange.retries} retries` : `service ${JSON.stringify(service)} has no healthy server`;
  return problem('no-healthy-server', 'No healthy server', 503, detail, { requestId: exchange.requestId, ...(exchange.stamp !== null ? { stamp: exchange.stamp } : {}) });
}
