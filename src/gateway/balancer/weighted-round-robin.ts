// Smooth weighted round robin, NGINX's algorithm: every pick adds each candidate's weight to its
// running score, takes the highest score and subtracts the candidates' total from it. It is
// deterministic (weights 5,1,1 give a a b a c a a), spreads a heavy server's turns instead of
// bunching them (Traefik's EDF heap does the same in O(log n); NGINX's form is O(n) with n small and
// needs no heap), and gives an exact rotation for equal weights.
import type { Exchange } from '../pipeline/exchange.ts';
import type { Balancer } from './balancer.ts';
import type { UpstreamServer } from './upstream-server.ts';

export class WeightedRoundRobin implements Balancer {
  readonly servers: readonly UpstreamServer[];
  /** Running scores, parallel to `servers`; a typed array so that a pick allocates nothing. */
  readonly #current: Float64Array;

  constructor(servers: readonly UpstreamServer[]) {
    this.servers = servers;
    this.#current = new Float64Array(servers.length);
  }

  pick(_exchange: Exchange, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    const servers = this.servers;
    const current = this.#current;
    const now = performance.now();
    let total = 0;
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      // A server that is down or already tried keeps its score untouched: the others' smoothness
      // is as if it were not in the list, and it resumes where it stood when it comes back.
      if (!server.isAvailable(now) || exclude?.has(server) === true) continue;
      const score = current[i]! + server.weight;
      current[i] = score;
      total += server.weight;
      // Strictly greater: ties go to the earlier server, which makes equal weights rotate in order.
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestScore - total;
    return servers[best];
  }
}
