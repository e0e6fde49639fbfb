// The service contract: where a router sends an exchange. Every kind (loadBalancer, weighted,
// mirroring, failover, stamps) is built once per config version into one of these.
import type { Handler } from '../pipeline/exchange.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';

export interface Service {
  readonly name: string;
  readonly kind: 'loadBalancer' | 'weighted' | 'mirroring' | 'failover' | 'stamps';
  readonly handle: Handler;
  /** Whether the service can take a request now (some server available); failover reads it. */
  available(): boolean;
  /** Every upstream server under this service, for the API, health and metrics. */
  servers(): UpstreamServer[];
  /** Starts background work (active health checks). */
  start(): void;
  /** Stops background work; connection pools are closed by whoever owns the servers. */
  stop(): void;
}
