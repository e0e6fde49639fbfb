// The `stamps` service (Stampgate): tenant key → stamp → that stamp's load balancer. Each stamp is
// a loadBalancer service over its own servers; the key readers and the alias map are compiled once
// per config version, so choosing a stamp costs a few string reads and one Map lookup.
import { problem, sendProblem } from '../../shared/problem.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { withoutQueryParam } from '../proxy/query-string.ts';
import type { StampKeyReader } from '../stamps/stamp-keys.ts';
import type { TenantDirectory } from '../stamps/tenant-directory.ts';
import type { Service } from './service.ts';

export interface StampRuntime {
  id: string;
  aliases: readonly string[];
  readyPath: string;
  draining: boolean;
  service: Service;
  /** Index of this stamp's /stampsz counter. */
  counterIndex: number;
}

export interface StampsServiceOptions {
  name: string;
  stamps: StampRuntime[];
  defaultStamp: StampRuntime;
  keys: StampKeyReader[];
  directory: TenantDirectory;
  requireKey: boolean;
  /** Counts each request sent to a stamp (/stampsz). */
  count: (counterIndex: number) => void;
}

export class StampsService implements Service {
  readonly name: string;
  readonly kind = 'stamps' as const;
  readonly handle: (exchange: Exchange) => void;
  readonly stamps: readonly StampRuntime[];
  readonly defaultStamp: StampRuntime;
  readonly #byName = new Map<string, StampRuntime>();
  readonly #options: StampsServiceOptions;
  readonly #stampQueryParams: string[];

  constructor(options: StampsServiceOptions) {
    this.name = options.name;
    this.stamps = options.stamps;
    this.defaultStamp = options.defaultStamp;
    this.#options = options;
    for (const stamp of options.stamps) {
      for (const name of [stamp.id, ...stamp.aliases]) this.#byName.set(name, stamp);
    }
    this.#stampQueryParams = options.keys.flatMap((k) => (k.queryParam === null ? [] : [k.queryParam]));
    this.handle = (exchange) => this.#route(exchange);
  }

  get ids(): string[] {
    return this.stamps.map((s) => s.id);
  }

  find(name: string): StampRuntime | undefined {
    return this.#byName.get(name);
  }

  available(): boolean {
    return this.stamps.some((s) => !s.draining && s.service.available());
  }

  servers(): UpstreamServer[] {
    return this.stamps.flatMap((s) => s.service.servers());
  }

  start(): void {
    for (const s of this.stamps) s.service.start();
  }

  stop(): void {
    for (const s of this.stamps) s.service.stop();
  }

  #route(exchange: Exchange): void {
    const stamp = this.#choose(exchange);
    if (stamp === undefined) return; // answered already
    exchange.stamp = stamp.id;
    exchange.service = this.name;
    if (stamp.draining) {
      sendProblem(exchange.res, problem('stamp-draining', 'Stamp draining', 503, `stamp ${JSON.stringify(stamp.id)} is draining and takes no requests`, { requestId: exchange.requestId, stamp: stamp.id }), { 'retry-after': '5' });
      return;
    }
    // The stamp key is the gateway's business, not the app's: it is not forwarded.
    if (exchange.query !== '') {
      for (const param of this.#stampQueryParams) {
        if (exchange.query.includes(param + '=')) exchange.query = withoutQueryParam(exchange.query, param);
      }
    }
    this.#options.count(stamp.counterIndex);
    stamp.service.handle(exchange);
  }

  #choose(exchange: Exchange): StampRuntime | undefined {
    for (const key of this.#options.keys) {
      const value = key.read(exchange);
      if (value === undefined || value === '') continue;
      if (key.kind === 'stamp') {
        const stamp = this.#byName.get(value);
        if (stamp === undefined) {
          const known = this.ids;
          sendProblem(exchange.res, problem('unknown-stamp', 'Unknown stamp', 404, `no stamp is named ${JSON.stringify(value)} (from ${key.label}); known stamps: ${known.join(', ')}`, { requestId: exchange.requestId, knownStamps: known }));
        }
        return stamp;
      }
      const stampId = this.#options.directory.stampOf(value);
      if (stampId === undefined) {
        sendProblem(exchange.res, problem('unknown-tenant', 'Unknown tenant', 404, `tenant ${JSON.stringify(value)} (from ${key.label}) is not in the tenant directory`, { requestId: exchange.requestId, tenant: value }));
        return undefined;
      }
      const stamp = this.#byName.get(stampId);
      if (stamp === undefined) {
        sendProblem(exchange.res, problem('tenant-stamp-missing', 'Tenant on an unknown stamp', 503, `tenant ${JSON.stringify(value)} is placed on stamp ${JSON.stringify(stampId)}, which service ${JSON.stringify(this.name)} does not have`, { requestId: exchange.requestId, tenant: value, stamp: stampId }));
        return undefined;
      }
      exchange.tenant = value;
      return stamp;
    }
    if (this.#options.requireKey) {
      sendProblem(exchange.res, problem('missing-stamp-key', 'No stamp key', 400, `the request names no stamp or tenant; send one of: ${this.#options.keys.map((k) => k.label).join(', ')}`, { requestId: exchange.requestId }));
      return undefined;
    }
    return this.defaultStamp;
  }
}
