// Compiles one version of the dynamic configuration into what the request path runs: per
// entrypoint a router table, per router one composed handler (middlewares around the service),
// and the services with their balancers and health checks. All of it is built off the request
// path; a broken piece makes the whole version fail to compile, and the running one stays.
import type { DynamicConfig, LoadBalancerConfig, MiddlewareConfig, StampsServiceConfig } from '../../config/schema/dynamic.ts';
import { createBalancer } from '../balancer/create-balancer.ts';
import { UpstreamServer, type UpstreamTimeouts } from '../balancer/upstream-server.ts';
import type { Middleware } from '../middleware/middleware.ts';
import { middlewareBuilders, type MiddlewareKind } from '../middleware/registry.ts';
import { releaseRateLimit } from '../middleware/rate-limit.ts';
import type { Handler } from '../pipeline/exchange.ts';
import type { ForwardSettings } from '../proxy/forward-exchange.ts';
import { routerPriority } from '../rules/priority.ts';
import { RouterTable } from '../rules/router-table.ts';
import { ActiveHealthCheck } from '../health/active-health-check.ts';
import { PassiveHealth } from '../health/passive-health.ts';
import { LoadBalancerService } from '../services/load-balancer-service.ts';
import type { Service } from '../services/service.ts';
import { StampsService, type StampRuntime } from '../services/stamps-service.ts';
import { FailoverService } from '../services/failover-service.ts';
import { MirroringService } from '../services/mirroring-service.ts';
import { WeightedService } from '../services/weighted-service.ts';
import { statusMatcher } from '../middleware/status-ranges.ts';
import { compileStampKeys, defaultStampKeys } from '../stamps/stamp-keys.ts';
import type { TenantDirectory } from '../stamps/tenant-directory.ts';
import type { PoolRegistry } from './pool-registry.ts';

export interface EntryPointInfo {
  name: string;
  tls: boolean;
  /** Middlewares the static config puts in front of every router of this entrypoint. */
  middlewares: readonly string[];
  /** The static config gives it `http.tls`: every router on it is served over TLS. */
  tlsForAll: boolean;
}

export interface CompileContext {
  entryPoints: readonly EntryPointInfo[];
  pools: PoolRegistry;
  timeouts: UpstreamTimeouts;
  directory: TenantDirectory;
  /** Counts a request sent to the stamp with this counter index (/stampsz). */
  countStamp: (index: number) => void;
  log: (line: string) => void;
  /** Told when a server's health changes: active checks, and passive ejection. */
  onServerHealth?: (service: string, url: string, healthy: boolean, kind: 'active' | 'passive') => void;
  /** Traefik's `@internal` services a router may name (`api@internal`, `ping@internal`). */
  internalServices?: ReadonlyMap<string, Handler>;
}

export interface RouterInfo {
  name: string;
  rule: string;
  priority: number;
  entryPoints: string[];
  middlewares: string[];
  service: string;
  tls: boolean;
}

export interface EntryPointRouting {
  table: RouterTable;
  handlers: Map<string, Handler>;
}

export interface CompiledConfig {
  version: number;
  routing: Map<string, EntryPointRouting>;
  services: Map<string, Service>;
  stampsServices: StampsService[];
  /** Every stamp id across stamps services, in order: the /stampsz counters. */
  stampIds: string[];
  routers: RouterInfo[];
  middlewares: Array<{ name: string; kind: string }>;
  /** Upstream origins this version uses (their pools are kept across the swap). */
  origins: Set<string>;
  start(): void;
  stop(): void;
}

export class ConfigCompileError extends Error {}

/** `name@file` → `name`: Traefik's provider suffixes are accepted and ignored. */
export function bareName(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

export function compileConfig(config: DynamicConfig, version: number, context: CompileContext): CompiledConfig {
  const http = config.http ?? {};
  const origins = new Set<string>();
  const settings: ForwardSettings = { passHostHeader: true, log: context.log, connectTimeoutMs: context.timeouts.connectMs };
  const stampIds: string[] = [];
  const services = new Map<string, Service>();
  const stampsServices: StampsService[] = [];

  const serversOf = (servers: LoadBalancerConfig['servers']): UpstreamServer[] =>
    servers.map((s) => {
      const origin = new URL(s.url).origin;
      origins.add(origin);
      return new UpstreamServer(s.url, s.weight ?? 1, context.timeouts, context.pools.get(origin));
    });

  const loadBalancer = (name: string, config: Omit<LoadBalancerConfig, 'servers'>, servers: UpstreamServer[]): LoadBalancerService => {
    const active = config.healthCheck === undefined ? undefined : new ActiveHealthCheck(servers, config.healthCheck);
    active?.on('change', (server, healthy, reason) => {
      context.log(`service ${name}: server ${server.url} is ${healthy ? 'healthy again' : 'unhealthy'} (${reason})`);
      context.onServerHealth?.(name, server.url, healthy, 'active');
    });
    const passive = config.passiveHealthCheck === undefined ? undefined : new PassiveHealth(config.passiveHealthCheck);
    passive?.on('change', (server, healthy, reason) => {
      context.log(`service ${name}: server ${server.url} ${healthy ? 'is back' : 'ejected'} (${reason})`);
      context.onServerHealth?.(name, server.url, healthy, 'passive');
    });
    return new LoadBalancerService({
      name,
      balancer: createBalancer(servers, { strategy: config.strategy, sticky: config.sticky, serviceName: name }),
      settings: { ...settings, passHostHeader: config.passHostHeader ?? true },
      // Passive health counts connection failures and timeouts, as NGINX's max_fails does by default.
      ...(passive ? { observer: { failure: (s, now) => passive.recordFailure(s, now), success: (s) => passive.recordSuccess(s) } } : {}),
      background: {
        start: () => active?.start(),
        stop: () => {
          void active?.stop();
          passive?.stop();
        },
      },
    });
  };

  const stampsService = (name: string, config: StampsServiceConfig): StampsService => {
    const stamps: StampRuntime[] = config.stamps.map((stamp) => {
      let counterIndex = stampIds.indexOf(stamp.id);
      if (counterIndex < 0) counterIndex = stampIds.push(stamp.id) - 1;
      return {
        id: stamp.id,
        aliases: stamp.aliases ?? [],
        readyPath: stamp.readyPath ?? '/ready',
        draining: stamp.draining ?? false,
        service: loadBalancer(`${name}/${stamp.id}`, stamp, serversOf(stamp.servers)),
        counterIndex,
      };
    });
    const defaultId = config.defaultStamp ?? (stamps.some((s) => s.id === 'default') ? 'default' : stamps[0]!.id);
    const defaultStamp = stamps.find((s) => s.id === defaultId || s.aliases.includes(defaultId));
    if (defaultStamp === undefined) throw new ConfigCompileError(`http.services.${name}.stamps.defaultStamp: ${JSON.stringify(defaultId)} is not one of the stamps (${stamps.map((s) => s.id).join(', ')})`);
    for (const [tenant, stampId] of Object.entries(config.tenants ?? {})) context.directory.set(tenant, stampId);
    const service = new StampsService({ name, stamps, defaultStamp, keys: compileStampKeys(config.keys ?? defaultStampKeys), directory: context.directory, requireKey: config.requireKey ?? false, count: context.countStamp });
    stampsServices.push(service);
    return service;
  };

  // Services are built on first use, so weighted, failover and mirroring can name services defined after them.
  const serviceConfigs = http.services ?? {};
  const buildService = (name: string, path: string[]): Service => {
    const existing = services.get(name);
    if (existing) return existing;
    const definition = serviceConfigs[name];
    const where = `http.services.${path[0] ?? name}`;
    if (definition === undefined) throw new ConfigCompileError(`${where}: service ${JSON.stringify(name)} is not defined (used by ${path.join(' → ')})`);
    if (path.includes(name)) throw new ConfigCompileError(`service cycle: ${[...path, name].join(' → ')}`);
    const child = (reference: string) => buildService(bareName(reference), [...path, name]);
    let service: Service;
    if (definition.loadBalancer) service = loadBalancer(name, definition.loadBalancer, serversOf(definition.loadBalancer.servers));
    else if (definition.stamps) service = stampsService(name, definition.stamps);
    else if (definition.weighted) {
      if (definition.weighted.sticky !== undefined) throw new ConfigCompileError(`http.services.${name}.weighted.sticky: not supported by this Stampgate version yet`);
      service = new WeightedService(name, definition.weighted.services.map((s) => ({ service: child(s.name), weight: s.weight })));
    } else if (definition.failover) {
      const { service: primary, fallback, statusCodes } = definition.failover;
      let failOn: ((status: number) => boolean) | null;
      try {
        failOn = statusCodes === undefined ? null : statusMatcher(statusCodes, `http.services.${name}.failover.statusCodes`);
      } catch (error) {
        throw new ConfigCompileError((error as Error).message);
      }
      service = new FailoverService(name, child(primary), child(fallback), failOn);
    } else if (definition.mirroring) {
      const mirroring = definition.mirroring;
      const mirrors = mirroring.mirrors.map((m, i) => {
        const target = child(m.name);
        if (!(target instanceof LoadBalancerService)) throw new ConfigCompileError(`http.services.${name}.mirroring.mirrors[${i}]: a mirror must be a loadBalancer service, ${JSON.stringify(m.name)} is ${target.kind}`);
        return { service: target, percent: m.percent };
      });
      service = new MirroringService(name, child(mirroring.service), mirrors, { mirrorBody: mirroring.mirrorBody ?? true, maxBodySize: mirroring.maxBodySize !== undefined && mirroring.maxBodySize >= 0 ? mirroring.maxBodySize : 1024 * 1024 });
    } else throw new ConfigCompileError(`http.services.${name}: expected one of loadBalancer, weighted, mirroring, failover, stamps`);
    services.set(name, service);
    return service;
  };
  for (const name of Object.keys(serviceConfigs)) buildService(name, []);

  // Middlewares are built once each; chains are composed from the built ones.
  const middlewareConfigs = http.middlewares ?? {};
  const built = new Map<string, Middleware>();
  const buildMiddleware = (name: string, path: string[]): Middleware => {
    const existing = built.get(name);
    if (existing) return existing;
    const definition = middlewareConfigs[name];
    if (definition === undefined) throw new ConfigCompileError(`middleware ${JSON.stringify(name)} is not defined (used by ${path.join(' → ')})`);
    if (path.includes(name)) throw new ConfigCompileError(`middleware chain cycle: ${[...path, name].join(' → ')}`);
    const middleware = definition.chain ? composeChain(definition.chain.middlewares.map((m) => buildMiddleware(bareName(m), [...path, name]))) : buildOne(name, definition, context);
    built.set(name, middleware);
    return middleware;
  };

  const routing = new Map<string, { definitions: Array<{ name: string; rule: string; priority?: number }>; handlers: Map<string, Handler> }>();
  for (const ep of context.entryPoints) routing.set(ep.name, { definitions: [], handlers: new Map() });
  const routers: RouterInfo[] = [];
  for (const [name, router] of Object.entries(http.routers ?? {})) {
    const internal = context.internalServices?.get(router.service);
    const service = internal !== undefined ? internalService(router.service, internal) : services.get(bareName(router.service));
    if (service === undefined) throw new ConfigCompileError(`http.routers.${name}.service: service ${JSON.stringify(router.service)} is not defined`);
    const middlewareNames = (router.middlewares ?? []).map(bareName);
    const chain = middlewareNames.map((m) => buildMiddleware(m, [`router ${name}`]));
    const wantsTls = router.tls !== undefined;
    // Traefik: a router without entryPoints is on every entrypoint. An entrypoint with `http.tls`
    // serves all its routers over TLS; one made TLS only by routers' `tls` takes only TLS routers.
    const entryPoints = router.entryPoints ?? context.entryPoints.filter((ep) => (wantsTls ? ep.tls : !ep.tls || ep.tlsForAll)).map((ep) => ep.name);
    for (const ep of entryPoints) {
      if (!routing.has(ep)) throw new ConfigCompileError(`http.routers.${name}.entryPoints: entrypoint ${JSON.stringify(ep)} is not defined in the static configuration`);
    }
    const routerName = name;
    const handler = composeChain(chain)((exchange) => {
      exchange.router = routerName;
      service.handle(exchange);
    });
    for (const ep of entryPoints) {
      const target = routing.get(ep)!;
      const epMiddlewares = context.entryPoints.find((e) => e.name === ep)?.middlewares ?? [];
      target.definitions.push({ name, rule: router.rule, ...(router.priority !== undefined ? { priority: router.priority } : {}) });
      target.handlers.set(name, epMiddlewares.length === 0 ? handler : composeChain(epMiddlewares.map((m) => buildMiddleware(bareName(m), [`entrypoint ${ep}`])))(handler));
    }
    routers.push({ name, rule: router.rule, priority: routerPriority(router.rule, router.priority), entryPoints, middlewares: middlewareNames, service: bareName(router.service), tls: wantsTls });
  }

  const compiledRouting = new Map<string, EntryPointRouting>();
  for (const [ep, { definitions, handlers }] of routing) {
    try {
      compiledRouting.set(ep, { table: new RouterTable(definitions), handlers });
    } catch (error) {
      throw new ConfigCompileError(`entrypoint ${ep}: ${(error as Error).message}`);
    }
  }

  return {
    version,
    routing: compiledRouting,
    services,
    stampsServices,
    stampIds,
    routers,
    middlewares: Object.entries(middlewareConfigs).map(([name, m]) => ({ name, kind: Object.keys(m)[0] ?? '' })),
    origins,
    start: () => services.forEach((s) => s.start()),
    stop: () => {
      services.forEach((s) => s.stop());
      // Shared Redis links of rate limits close when the last version using them is retired.
      for (const [name, middleware] of built) if (middlewareConfigs[name]?.rateLimit !== undefined) void releaseRateLimit(middleware);
    },
  };
}

/** A gateway-provided handler (the API) wearing the Service interface, so routers and middlewares treat it alike. */
function internalService(name: string, handle: Handler): Service {
  return { name, kind: 'loadBalancer', handle, available: () => true, servers: () => [], start() {}, stop() {} };
}

/** Composes middlewares so the first listed runs first. */
function composeChain(chain: readonly Middleware[]): Middleware {
  return (next) => chain.reduceRight<Handler>((inner, middleware) => middleware(inner), next);
}

function buildOne(name: string, definition: MiddlewareConfig, context: CompileContext): Middleware {
  const kind = Object.keys(definition)[0] as MiddlewareKind;
  const builder = middlewareBuilders[kind];
  if (builder === undefined) throw new ConfigCompileError(`http.middlewares.${name}.${kind}: this middleware is not supported by this Stampgate version yet`);
  try {
    return builder(definition[kind] as never, { name, log: context.log });
  } catch (error) {
    throw new ConfigCompileError(`http.middlewares.${name}.${kind}: ${(error as Error).message}`);
  }
}
