// The `weighted` service: splits requests across other services by weight (canaries, blue/green),
// with the same smooth weighted round robin as server balancing. A child that has no available
// server is skipped while the others can take its share.
import { problem, sendProblem } from '../../shared/problem.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Service } from './service.ts';

interface Child {
  service: Service;
  weight: number;
  current: number;
}

export class WeightedService implements Service {
  readonly name: string;
  readonly kind = 'weighted' as const;
  readonly handle: (exchange: Exchange) => void;
  readonly #children: Child[];

  constructor(name: string, children: Array<{ service: Service; weight: number }>) {
    this.name = name;
    this.#children = children.map((c) => ({ ...c, current: 0 }));
    this.handle = (exchange) => {
      const child = this.#pick();
      if (child === undefined) {
        sendProblem(exchange.res, problem('no-healthy-server', 'No healthy server', 503, `service ${JSON.stringify(name)}: no weighted child service has an available server`, { requestId: exchange.requestId }));
        return;
      }
      exchange.service ??= name;
      child.service.handle(exchange);
    };
  }

  /** Smooth weighted round robin (NGINX) over the children that can take a request now. */
  #pick(): Child | undefined {
    let total = 0;
    let best: Child | undefined;
    for (const child of this.#children) {
      if (child.weight <= 0 || !child.service.available()) continue;
      child.current += child.weight;
      total += child.weight;
      if (best === undefined || child.current > best.current) best = child;
    }
    if (best !== undefined) best.current -= total;
    return best;
  }

  available(): boolean {
    return this.#children.some((c) => c.weight > 0 && c.service.available());
  }

  servers(): UpstreamServer[] {
    return this.#children.flatMap((c) => c.service.servers());
  }

  // Children are services of their own: they start and stop with the config version.
  start(): void {}

  stop(): void {}
}
