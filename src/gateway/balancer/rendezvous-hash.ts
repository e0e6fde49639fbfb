// Highest random weight (rendezvous) hashing on the client IP: every (client, server) pair gets a
// pseudo-random score and the client goes to the available server with the highest one. When a
// server leaves, only the clients whose top score was that server move (each to its runner-up);
// everyone else keeps their server, with no ring or virtual nodes to maintain.
//
// Weighted with the logarithmic method, as Traefik's hrw: score = weight / -ln(u), u uniform in
// (0, 1), which gives each server a share of clients proportional to its weight. The pair hash is
// computed from two 32-bit hashes (the IP's per pick, the server's once) so that a pick builds no
// string; Traefik hashes `ip + name` with 64-bit FNV, so a client may land on a different server
// than under Traefik, which only matters when both run side by side.
import type { Exchange } from '../pipeline/exchange.ts';
import type { Balancer } from './balancer.ts';
import type { UpstreamServer } from './upstream-server.ts';

export class RendezvousHash implements Balancer {
  readonly servers: readonly UpstreamServer[];
  /** Per-server seeds (a hash of the server URL), parallel to `servers`. */
  readonly #seeds: Uint32Array;

  constructor(servers: readonly UpstreamServer[]) {
    this.servers = servers;
    this.#seeds = new Uint32Array(servers.length);
    for (let i = 0; i < servers.length; i++) this.#seeds[i] = fmix32(fnv1a32(servers[i]!.url));
  }

  pick(exchange: Exchange, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    return this.pickFor(exchange.clientIp, exclude);
  }

  /** The server for a client key (the client IP for `pick`). */
  pickFor(key: string, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    const servers = this.servers;
    const seeds = this.#seeds;
    const keyHash = fnv1a32(key);
    const now = performance.now();
    let best: UpstreamServer | undefined;
    let bestScore = -1;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      if (!server.isAvailable(now) || exclude?.has(server) === true) continue;
      // u in (0, 1): never 0 (ln would be -Infinity) nor 1 (division by zero).
      const u = (pairHash(keyHash, seeds[i]!) + 0.5) / 4294967296;
      const score = server.weight / -Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = server;
      }
    }
    return best;
  }
}

/** FNV-1a, 32 bits, over UTF-16 code units (IPs and URLs are ASCII). */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: FNV alone mixes the last characters poorly (IPs differ at the end). */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One MurmurHash3 block: the key hash mixed into the server seed, then finalised. */
function pairHash(keyHash: number, seed: number): number {
  let k = Math.imul(keyHash, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = seed ^ k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  return fmix32(h ^ 4);
}
