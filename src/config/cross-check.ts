// Checks that a schema cannot express because they relate one part of the config to another: names
// that must exist (a router's service and middlewares, a chain's members, a weighted service's
// children, TLS options, entry points), references that must not loop (chains, services that point at
// services), and the rules of the `stamps` service (unique ids and aliases, a default and tenants that
// name real stamps). Run on a document that already passed the schema, so shapes can be trusted.
import type { DynamicConfig, ServiceConfig, StampsServiceConfig } from './schema/dynamic.ts';
import type { StaticConfig } from './schema/static.ts';
import { configIssue, type ConfigIssue, type PathSegment } from './config-error.ts';
import { didYouMean } from './suggest.ts';

/** Providers a `name@provider` reference may name. Stampgate's own config merges `file` and `stampgate` into one namespace. */
export const SUPPORTED_PROVIDERS: readonly string[] = ['file', 'stampgate', 'internal'];

/** Traefik's built-in services (`api@internal`, `noop@internal`, …) that a router may name. */
export const INTERNAL_SERVICES: readonly string[] = ['api', 'dashboard', 'ping', 'noop', 'prometheus'];

/** Traefik's default servers transport, `default@internal`. */
export const INTERNAL_SERVERS_TRANSPORTS: readonly string[] = ['default'];

/** Traefik always has TLS options named `default`, whether or not the config defines them. */
export const DEFAULT_TLS_OPTIONS = 'default';

export interface QualifiedName {
  readonly name: string;
  /** The part after `@`, lower-cased, or undefined when there is none. */
  readonly provider: string | undefined;
}

/** Splits Traefik's `name@provider` reference: `auth@file` → { name: 'auth', provider: 'file' }. */
export function splitProvider(reference: string): QualifiedName {
  const at = reference.lastIndexOf('@');
  if (at < 0) return { name: reference, provider: undefined };
  return { name: reference.slice(0, at), provider: reference.slice(at + 1).toLowerCase() };
}

/** The local name a reference points at (`auth@file` → `auth`), as the gateway should look it up. */
export function localName(reference: string): string {
  return splitProvider(reference).name;
}

export interface DynamicCrossCheckOptions {
  /** The static config's entry point names; when given, every router's `entryPoints` must be among them. */
  readonly entryPoints?: Iterable<string>;
}

type Kind = 'service' | 'middleware' | 'serversTransport' | 'TLS options';

interface Edge {
  readonly to: string;
  readonly segments: readonly PathSegment[];
}

/** Every cross-reference problem of a dynamic config that passed the schema (empty when there is none). */
export function crossCheckDynamic(config: DynamicConfig, options: DynamicCrossCheckOptions = {}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (segments: readonly PathSegment[], detail: string): void => {
    issues.push(configIssue(segments, detail));
  };
  const routers = config.http?.routers ?? {};
  const services = config.http?.services ?? {};
  const middlewares = config.http?.middlewares ?? {};
  const transports = config.http?.serversTransports ?? {};
  const tlsOptions = config.tls?.options ?? {};
  const entryPoints = options.entryPoints === undefined ? undefined : [...options.entryPoints];

  const defined: Record<Kind, readonly string[]> = {
    service: Object.keys(services),
    middleware: Object.keys(middlewares),
    serversTransport: Object.keys(transports),
    'TLS options': [...Object.keys(tlsOptions), ...(DEFAULT_TLS_OPTIONS in tlsOptions ? [] : [DEFAULT_TLS_OPTIONS])],
  };
  const internal: Record<Kind, readonly string[]> = {
    service: INTERNAL_SERVICES,
    middleware: [],
    serversTransport: INTERNAL_SERVERS_TRANSPORTS,
    'TLS options': [],
  };

  /** Checks one reference; returns the local name when it names a resource of this config. */
  const resolve = (reference: string, kind: Kind, segments: readonly PathSegment[]): string | undefined => {
    const { name, provider } = splitProvider(reference);
    if (name === '') {
      add(segments, `empty ${kind} name in "${reference}"`);
      return undefined;
    }
    if (provider !== undefined && !SUPPORTED_PROVIDERS.includes(provider)) {
      add(segments, `unknown provider "${provider}" in "${reference}" (Stampgate has ${SUPPORTED_PROVIDERS.map((p) => `@${p}`).join(', ')})`);
      return undefined;
    }
    if (provider === 'internal') {
      if (!internal[kind].includes(name)) {
        const known = internal[kind].length === 0 ? `Stampgate has no internal ${kind}s` : `Stampgate has ${internal[kind].map((n) => `${n}@internal`).join(', ')}`;
        add(segments, `unknown internal ${kind} "${reference}" (${known})`);
      }
      return undefined;
    }
    if (!defined[kind].includes(name)) {
      add(segments, `unknown ${kind} "${name}"${didYouMean(name, defined[kind])}`);
      return undefined;
    }
    return name;
  };

  for (const [routerName, router] of Object.entries(routers)) {
    const at: PathSegment[] = ['http', 'routers', routerName];
    resolve(router.service, 'service', [...at, 'service']);
    router.middlewares?.forEach((reference, i) => resolve(reference, 'middleware', [...at, 'middlewares', i]));
    if (router.tls?.options !== undefined) resolve(router.tls.options, 'TLS options', [...at, 'tls', 'options']);
    if (entryPoints !== undefined) {
      router.entryPoints?.forEach((entryPoint, i) => {
        if (!entryPoints.includes(entryPoint)) {
          const known = entryPoints.length === 0 ? 'none are defined' : `defined: ${entryPoints.join(', ')}`;
          add([...at, 'entryPoints', i], `unknown entry point "${entryPoint}"${didYouMean(entryPoint, entryPoints)} (${known})`);
        }
      });
    }
  }

  // Chains: members must exist and must not lead back to the chain.
  const chainGraph = new Map<string, Edge[]>();
  for (const [name, middleware] of Object.entries(middlewares)) {
    const edges: Edge[] = [];
    middleware.chain?.middlewares.forEach((reference, i) => {
      const segments = ['http', 'middlewares', name, 'chain', 'middlewares', i];
      const target = resolve(reference, 'middleware', segments);
      if (target !== undefined) edges.push({ to: target, segments });
    });
    chainGraph.set(name, edges);
  }
  for (const cycle of findCycles(chainGraph)) add(cycle.segments, `chain cycle: ${cycle.names.join(' -> ')}`);

  // Services that point at services: the targets must exist and must not lead back.
  const serviceGraph = new Map<string, Edge[]>();
  for (const [name, service] of Object.entries(services)) {
    const at: PathSegment[] = ['http', 'services', name];
    const edges: Edge[] = [];
    const link = (reference: string, segments: PathSegment[]): void => {
      const target = resolve(reference, 'service', segments);
      if (target !== undefined) edges.push({ to: target, segments });
    };
    service.weighted?.services.forEach((child, i) => link(child.name, [...at, 'weighted', 'services', i, 'name']));
    if (service.mirroring !== undefined) {
      link(service.mirroring.service, [...at, 'mirroring', 'service']);
      service.mirroring.mirrors.forEach((mirror, i) => link(mirror.name, [...at, 'mirroring', 'mirrors', i, 'name']));
    }
    if (service.failover !== undefined) {
      link(service.failover.service, [...at, 'failover', 'service']);
      link(service.failover.fallback, [...at, 'failover', 'fallback']);
    }
    if (service.loadBalancer?.serversTransport !== undefined) {
      resolve(service.loadBalancer.serversTransport, 'serversTransport', [...at, 'loadBalancer', 'serversTransport']);
    }
    checkServerUrls(service, at, add);
    if (service.stamps !== undefined) checkStamps(service.stamps, [...at, 'stamps'], add);
    serviceGraph.set(name, edges);
  }
  for (const cycle of findCycles(serviceGraph)) add(cycle.segments, `service cycle: ${cycle.names.join(' -> ')}`);

  return issues;
}

function checkServerUrls(service: ServiceConfig, at: readonly PathSegment[], add: (segments: readonly PathSegment[], detail: string) => void): void {
  const check = (url: string, segments: readonly PathSegment[]): void => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.hostname === '') add(segments, `invalid URL "${url}"`);
  };
  service.loadBalancer?.servers.forEach((server, i) => check(server.url, [...at, 'loadBalancer', 'servers', i, 'url']));
  service.stamps?.stamps.forEach((stamp, s) => stamp.servers.forEach((server, i) => check(server.url, [...at, 'stamps', 'stamps', s, 'servers', i, 'url'])));
}

function checkStamps(stamps: StampsServiceConfig, at: readonly PathSegment[], add: (segments: readonly PathSegment[], detail: string) => void): void {
  // Ids and aliases share one namespace: a request's `?stamp=1` must name exactly one stamp.
  const owner = new Map<string, string>();
  stamps.stamps.forEach((stamp, s) => {
    const here = [...at, 'stamps', s];
    const previous = owner.get(stamp.id);
    if (previous !== undefined) add([...here, 'id'], previous === stamp.id ? `duplicate stamp id "${stamp.id}"` : `stamp id "${stamp.id}" is already an alias of stamp "${previous}"`);
    else owner.set(stamp.id, stamp.id);
    stamp.aliases?.forEach((alias, a) => {
      const taken = owner.get(alias);
      if (taken === undefined) owner.set(alias, stamp.id);
      else if (taken === stamp.id && alias === stamp.id) add([...here, 'aliases', a], `alias "${alias}" repeats the stamp's own id`);
      else if (taken === stamp.id) add([...here, 'aliases', a], `duplicate alias "${alias}"`);
      else add([...here, 'aliases', a], alias === taken ? `alias "${alias}" is the id of stamp "${taken}"` : `alias "${alias}" is already an alias of stamp "${taken}"`);
    });
  });
  const names = [...owner.keys()];
  const known = (): string => `stamps: ${stamps.stamps.map((s) => s.id).join(', ')}`;
  if (stamps.defaultStamp !== undefined && !owner.has(stamps.defaultStamp)) {
    add([...at, 'defaultStamp'], `unknown stamp "${stamps.defaultStamp}"${didYouMean(stamps.defaultStamp, names)} (${known()})`);
  }
  for (const [tenant, stamp] of Object.entries(stamps.tenants ?? {})) {
    if (!owner.has(stamp)) add([...at, 'tenants', tenant], `unknown stamp "${stamp}"${didYouMean(stamp, names)} (${known()})`);
  }
  stamps.keys?.forEach((key, k) => {
    if ((key.from === 'query' || key.from === 'header' || key.from === 'jwt') && key.name === undefined) {
      const what = key.from === 'query' ? 'the query parameter' : key.from === 'header' ? 'the header' : 'the claim';
      add([...at, 'keys', k], `missing required key "name" (${what} to read) when from is "${key.from}"`);
    }
  });
}

interface Cycle {
  readonly names: readonly string[];
  /** The reference that closes the cycle. */
  readonly segments: readonly PathSegment[];
}

/** Each distinct cycle once, as `a -> b -> a`, reported at the reference that closes it. */
function findCycles(graph: ReadonlyMap<string, readonly Edge[]>): Cycle[] {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const cycles: Cycle[] = [];
  const reported = new Set<string>();
  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const edge of graph.get(node) ?? []) {
      const seen = state.get(edge.to);
      if (seen === 'active') {
        const members = stack.slice(stack.indexOf(edge.to));
        const key = [...members].sort().join('\u0000');
        if (!reported.has(key)) {
          reported.add(key);
          cycles.push({ names: [...members, edge.to], segments: edge.segments });
        }
      } else if (seen === undefined && graph.has(edge.to)) {
        visit(edge.to);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

// ---- static ---------------------------------------------------------------------------------------

/** Every cross-reference problem of a static config that passed the schema (empty when there is none). */
export function crossCheckStatic(config: StaticConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (segments: readonly PathSegment[], detail: string): void => {
    issues.push(configIssue(segments, detail));
  };
  const names = Object.keys(config.entryPoints);

  const file = config.providers?.file;
  if (file !== undefined) {
    // Traefik's documentation: filename and directory are mutually exclusive, and one is required.
    if (file.filename !== undefined && file.directory !== undefined) add(['providers', 'file'], 'filename and directory are mutually exclusive; set one of them');
    if (file.filename === undefined && file.directory === undefined) add(['providers', 'file'], 'expected filename or directory, found neither');
  }

  const listeners: Array<{ name: string; host: string; port: number }> = [];
  for (const [name, entryPoint] of Object.entries(config.entryPoints)) {
    const at: PathSegment[] = ['entryPoints', name];
    const { host, port } = splitAddress(entryPoint.address);
    if (port > 65535) add([...at, 'address'], `port ${port} is out of range (0 to 65535)`);
    else {
      const clash = listeners.find((other) => other.port === port && port !== 0 && (other.host === host || isWildcard(other.host) || isWildcard(host)));
      if (clash !== undefined) add([...at, 'address'], `"${entryPoint.address}" is also the address of entry point "${clash.name}"`);
      listeners.push({ name, host, port });
    }
    const to = entryPoint.http?.redirections?.entryPoint.to;
    if (to !== undefined && !/^:[0-9]{1,5}$/.test(to)) {
      const target = [...at, 'http', 'redirections', 'entryPoint', 'to'];
      if (!names.includes(to)) add(target, `unknown entry point "${to}"${didYouMean(to, names)} (defined: ${names.join(', ')})`);
      else if (to === name) add(target, `entry point "${name}" redirects to itself`);
    }
  }

  const ping = config.ping?.entryPoint;
  // `traefik` is the entry point Traefik creates by itself (on :8080) for the API and ping.
  if (ping !== undefined && ping !== 'traefik' && !names.includes(ping)) {
    add(['ping', 'entryPoint'], `unknown entry point "${ping}"${didYouMean(ping, names)} (defined: ${names.join(', ')})`);
  }
  return issues;
}

function splitAddress(address: string): { host: string; port: number } {
  const bare = address.replace(/\/tcp$/, '');
  const colon = bare.lastIndexOf(':');
  return { host: bare.slice(0, colon), port: Number(bare.slice(colon + 1)) };
}

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '[::]';
}
