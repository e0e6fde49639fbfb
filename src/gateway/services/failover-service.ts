// The `failover` service: the primary while it has an available server, the fallback otherwise.
// Stampgate's `statusCodes` also sends a request to the fallback when the primary answers one of
// them — only when the request can be sent again safely (no body read yet, idempotent method).
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import type { Exchange, Handler } from '../pipeline/exchange.ts';
import type { Service } from './service.ts';

export class FailoverService implements Service {
  readonly name: string;
  readonly kind = 'failover' as const;
  readonly handle: Handler;
  readonly #primary: Service;
  readonly #fallback: Service;

  constructor(name: string, primary: Service, fallback: Service, failOnStatus: ((status: number) => boolean) | null) {
    this.name = name;
    this.#primary = primary;
    this.#fallback = fallback;
    const statusFallback = failOnStatus === null ? null : (status: number): Handler | null => (failOnStatus(status) ? fallback.handle : null);
    this.handle = (exchange: Exchange) => {
      exchange.service ??= name;
      if (!primary.available()) {
        fallback.handle(exchange);
        return;
      }
      if (statusFallback !== null) exchange.statusFallback = statusFallback;
      primary.handle(exchange);
    };
  }

  available(): boolean {
    return this.#primary.available() || this.#fallback.available();
  }

  servers(): UpstreamServer[] {
    return [...this.#primary.servers(), ...this.#fallback.servers()];
  }

  start(): void {}

  stop(): void {}
}
