// What one API request reads: the config version running when it arrived, one clock reading, and
// (built only when asked) which routers use each service and middleware.
import type { Problem } from '../../shared/problem.ts';
import type { Gateway } from '../gateway.ts';
import type { CompiledConfig } from '../runtime/compile-config.ts';
import { readClock, type Clock } from './clock.ts';
import { qualified } from './names.ts';

export interface Usage {
  /** Bare service name → qualified names of the routers that send to it. */
  services: Map<string, string[]>;
  /** Bare middleware name → qualified names of the routers that list it. */
  middlewares: Map<string, string[]>;
}

export interface ApiView {
  readonly gateway: Gateway;
  readonly config: CompiledConfig | null;
  readonly clock: Clock;
  readonly params: URLSearchParams;
  usage(): Usage;
}

/** What a resource answers: a JSON body (with headers such as X-Next-Page) or a problem. */
export type ApiAnswer = { body: unknown; headers?: Record<string, string> } | { problem: Problem; headers?: Record<string, string> };

export function isProblem(value: object): value is Problem {
  return 'type' in value && 'status' in value && 'title' in value;
}

export function createView(gateway: Gateway, params: URLSearchParams): ApiView {
  const config = gateway.config;
  let usage: Usage | null = null;
  return {
    gateway,
    config,
    clock: readClock(),
    params,
    usage: () => (usage ??= usageOf(config)),
  };
}

function usageOf(config: CompiledConfig | null): Usage {
  const services = new Map<string, string[]>();
  const middlewares = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, router: string) => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [router]);
    else if (!list.includes(router)) list.push(router);
  };
  for (const router of config?.routers ?? []) {
    const name = qualified(router.name);
    add(services, router.service, name);
    for (const m of router.middlewares) add(middlewares, m, name);
  }
  for (const list of services.values()) list.sort();
  for (const list of middlewares.values()) list.sort();
  return { services, middlewares };
}
