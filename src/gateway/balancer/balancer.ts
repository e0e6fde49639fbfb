// The balancing contract: a strategy picks one available server for a request. Strategies are
// built once per config version over a fixed server list and keep their own state (round-robin
// position, hash ring); availability (health, ejection) is read from the servers at pick time.
import type { Exchange } from '../pipeline/exchange.ts';
import type { UpstreamServer } from './upstream-server.ts';

export interface Balancer {
  readonly servers: readonly UpstreamServer[];
  /**
   * A server for this exchange, skipping unavailable ones and those in `exclude` (already tried by
   * a retry); undefined when none is left.
   */
  pick(exchange: Exchange, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined;
}
