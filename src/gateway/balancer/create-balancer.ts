// Builds a service's balancer from its config: the strategy (Traefik's `wrr` default, `p2c`, `hrw`)
// and, when `sticky.cookie` is present, the sticky-cookie wrapper around it.
import type { LoadBalancerConfig } from '../../config/schema/dynamic.ts';
import type { Balancer } from './balancer.ts';
import { PowerOfTwoChoices } from './power-of-two-choices.ts';
import { RendezvousHash } from './rendezvous-hash.ts';
import { StickyCookieBalancer } from './sticky-cookie.ts';
import type { UpstreamServer } from './upstream-server.ts';
import { WeightedRoundRobin } from './weighted-round-robin.ts';

export type BalancerStrategy = NonNullable<LoadBalancerConfig['strategy']>;

export interface BalancerConfig {
  strategy?: BalancerStrategy | undefined;
  sticky?: LoadBalancerConfig['sticky'];
  /** Generates the default sticky cookie name, as Traefik does from the service name. */
  serviceName?: string | undefined;
}

export function createBalancer(servers: readonly UpstreamServer[], config: BalancerConfig = {}): Balancer {
  const strategy = config.strategy ?? 'wrr';
  let balancer: Balancer;
  switch (strategy) {
    case 'wrr':
      balancer = new WeightedRoundRobin(servers);
      break;
    case 'p2c':
      balancer = new PowerOfTwoChoices(servers);
      break;
    case 'hrw':
      balancer = new RendezvousHash(servers);
      break;
    default:
      throw new Error(`unknown load-balancer strategy ${JSON.stringify(strategy satisfies never)}`);
  }
  const cookie = config.sticky?.cookie;
  return cookie === undefined ? balancer : new StickyCookieBalancer(balancer, cookie, config.serviceName ?? '');
}
