// Power of two random choices on in-flight requests: draw two distinct available servers at random
// and send to the less loaded one. It balances load nearly as well as "least requests" while
// avoiding its herd effect (every gateway replica rushing to the same idle server). As in Traefik's
// p2c, weights play no part beyond availability: a weight of 0 still means "never pick".
import type { Exchange } from '../pipeline/exchange.ts';
import type { Balancer } from './balancer.ts';
import type { UpstreamServer } from './upstream-server.ts';

export interface PowerOfTwoChoicesOptions {
  /** A number in [0, 1), Math.random by default; tests pass a seeded one. */
  random?: () => number;
}

export class PowerOfTwoChoices implements Balancer {
  readonly servers: readonly UpstreamServer[];
  readonly #random: () => number;
  /** Indexes of the available servers, refilled on each pick so that a pick allocates nothing. */
  readonly #candidates: Uint32Array;

  constructor(servers: readonly UpstreamServer[], options: PowerOfTwoChoicesOptions = {}) {
    this.servers = servers;
    this.#random = options.random ?? Math.random;
    this.#candidates = new Uint32Array(servers.length);
  }

  pick(_exchange: Exchange, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    const servers = this.servers;
    const candidates = this.#candidates;
    const now = performance.now();
    let count = 0;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      if (server.isAvailable(now) && exclude?.has(server) !== true) candidates[count++] = i;
    }
    if (count === 0) return undefined;
    if (count === 1) return servers[candidates[0]!];
    const first = Math.floor(this.#random() * count);
    // Draw the second among the count-1 others, then step over the first: two distinct servers
    // with one draw each and no retry loop.
    let second = Math.floor(this.#random() * (count - 1));
    if (second >= first) second++;
    const a = servers[candidates[first]!]!;
    const b = servers[candidates[second]!]!;
    return b.inFlight < a.inFlight ? b : a;
  }
}
