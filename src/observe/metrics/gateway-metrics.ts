// The gateway's Prometheus metrics, over their own prom-client Registry.
//
// API for the gateway (every method is synchronous and cheap):
//
//   const metrics = new GatewayMetrics({ buckets: [0.1, 0.3, 1.2, 5] });   // or gatewayMetricsFromConfig(static.metrics)
//   metrics.observeRequest(exchange, status, durationMs, requestBytes, responseBytes)   // request end
//   const open = metrics.openConnections('web'); open.value++ / open.value--             // per connection
//     (or metrics.connectionOpened('web') / connectionClosed('web'))
//   metrics.setServerUp(service, url, healthy)         // active health check 'change'
//   metrics.setServerEjected(service, url, ejected)    // passive health (outlier) 'change'
//   metrics.configReloaded(true, version) / configReloaded(false)   // after applyConfig, or its failure
//   metrics.retain({ routers, services, stamps })      // after a reload: forget removed ones
//   metrics.trackTenantDirectory(gateway.directory)    // read at scrape time
//   createMetricsHandler(metrics)                      // GET /metrics
//
// Request metrics, with Traefik's names and labels (code, method, protocol + the subject):
//   traefik_entrypoint_{requests_total, request_duration_seconds, requests_bytes_total, responses_bytes_total}{entrypoint}
//   traefik_router_…{router, service}   traefik_service_…{service}   stampgate_stamp_…{service, stamp}
// A request is counted in every family it reached: a 404 with no router in the entrypoint's only.
//
// Cost on the request path: a few Map reads (entrypoint; router → service; service → stamp; then a
// numeric key for code × method × protocol) and ~5 additions per family. Label sets are built once,
// the first time they are seen. Measured for the four families' lookups (Node 24, CPU time): nested
// Maps with a numeric key ~76 ns a request, one Map per family keyed by a built string ~660 ns. Routers, services and stamps come from the config and methods from
// Node's fixed list, so the number of series stays bounded.
import { METHODS } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PROTOCOLS, requestProtocolIndex, type ObservedExchange } from '../observed-exchange.ts';
import { CellMetric, RequestFamily, type Cell, type RequestSeries } from './fast-series.ts';
import { ENTRYPOINT_METRICS, GATEWAY_METRICS, ROUTER_METRICS, SERVICE_METRICS, STAMP_METRICS } from './metric-names.ts';

/** Traefik's default buckets, as the seed uses them: 0.1 s, 0.3 s, 1.2 s, 5 s. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.1, 0.3, 1.2, 5.0];

export interface GatewayMetricsOptions {
  /** Upper bounds of the duration histograms, in seconds (sorted here). */
  buckets?: readonly number[];
  /** Which request families to keep (all on by default; Traefik's addRoutersLabels defaults to off). */
  entryPoints?: boolean;
  routers?: boolean;
  services?: boolean;
  stamps?: boolean;
  /** prom-client's default Node process metrics (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …); on by default. */
  processMetrics?: boolean;
  registry?: Registry;
}

// Methods by index for the numeric series key; Node's parser accepts only these.
const METHOD_NAMES: readonly string[] = [...METHODS, 'OTHER'];
const METHOD_INDEX = new Map(METHODS.map((m, i) => [m, i]));
const OTHER_METHOD = METHODS.length;

type SeriesByKey = Map<number, RequestSeries>;

interface ServiceSlot {
  readonly series: SeriesByKey;
  readonly stamps: Map<string, SeriesByKey>;
  retries: Cell | null;
}

/** One series of `family` for `key` (code × method × protocol), created on first use with these subject labels. */
function seriesFor(byKey: SeriesByKey, key: number, family: RequestFamily, code: number, method: number, protocol: number, subject: readonly string[]): RequestSeries {
  let series = byKey.get(key);
  if (series === undefined) {
    series = family.add([String(code), METHOD_NAMES[method]!, PROTOCOLS[protocol]!, ...subject]);
    byKey.set(key, series);
  }
  return series;
}

export class GatewayMetrics {
  readonly registry: Registry;
  readonly buckets: readonly number[];
  readonly #bounds: Float64Array;
  readonly #entryPointFamily: RequestFamily | null;
  readonly #routerFamily: RequestFamily | null;
  readonly #serviceFamily: RequestFamily | null;
  readonly #stampFamily: RequestFamily | null;
  readonly #byEntryPoint = new Map<string, SeriesByKey>();
  readonly #byRouter = new Map<string, Map<string, SeriesByKey>>();
  readonly #byService = new Map<string, ServiceSlot>();
  readonly #openConnections: CellMetric;
  readonly #retries: CellMetric;
  readonly #serverUp: Gauge<'service' | 'url'>;
  readonly #serverEjected: Gauge<'service' | 'url'>;
  readonly #serverEjections: Counter<'service' | 'url'>;
  readonly #ejected = new Set<string>();
  /** Every (service, url) given a server gauge, by `service \n url`. */
  readonly #servers = new Map<string, { service: string; url: string }>();
  readonly #configReloads: Counter;
  readonly #configLastReloadSuccess: Gauge;
  readonly #configReloadFailures: Counter;
  readonly #configLastReloadFailure: Gauge;
  readonly #configLastReloadSuccessful: Gauge;
  readonly #configVersion: Gauge;
  #tenantDirectory: { readonly size: number } | null = null;
  #tenantDirectorySize = 0;

  constructor(options: GatewayMetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? new Registry());
    this.buckets = normalizeBuckets(options.buckets ?? DEFAULT_DURATION_BUCKETS);
    this.#bounds = Float64Array.from(this.buckets);
    const family = (enabled: boolean | undefined, subject: string[], names: typeof ENTRYPOINT_METRICS | typeof ROUTER_METRICS | typeof SERVICE_METRICS | typeof STAMP_METRICS, what: string): RequestFamily | null => {
      if (enabled === false) return null;
      const f = new RequestFamily(['code', 'method', 'protocol', ...subject], this.buckets);
      f.register(registry, names, what);
      return f;
    };
    this.#entryPointFamily = family(options.entryPoints, ['entrypoint'], ENTRYPOINT_METRICS, 'an entrypoint');
    this.#routerFamily = family(options.routers, ['router', 'service'], ROUTER_METRICS, 'a router');
    this.#serviceFamily = family(options.services, ['service'], SERVICE_METRICS, 'a service');
    this.#stampFamily = family(options.stamps, ['service', 'stamp'], STAMP_METRICS, 'a stamp');

    this.#openConnections = new CellMetric('gauge', GATEWAY_METRICS.openConnections, 'How many connections are open, by entrypoint and protocol.', ['entrypoint', 'protocol']);
    this.#openConnections.registerIn(registry);
    this.#retries = new CellMetric('counter', GATEWAY_METRICS.serviceRetries, 'How many request retries a service made.', ['service']);
    this.#retries.registerIn(registry);
    const registers = [registry];
    this.#serverUp = new Gauge({ name: GATEWAY_METRICS.serverUp, help: 'Whether a server of a service passes its health check (1) or not (0).', labelNames: ['service', 'url'], registers });
    this.#serverEjected = new Gauge({ name: GATEWAY_METRICS.serverEjected, help: 'Whether passive health (outlier detection) has ejected a server from balancing (1) or not (0).', labelNames: ['service', 'url'], registers });
    this.#serverEjections = new Counter({ name: GATEWAY_METRICS.serverEjections, help: 'How many times passive health ejected a server.', labelNames: ['service', 'url'], registers });
    this.#configReloads = new Counter({ name: GATEWAY_METRICS.configReloads, help: 'Config reloads applied.', registers });
    this.#configLastReloadSuccess = new Gauge({ name: GATEWAY_METRICS.configLastReloadSuccess, help: 'Time of the last config reload applied, in seconds since the epoch.', registers });
    this.#configReloadFailures = new Counter({ name: GATEWAY_METRICS.configReloadFailures, help: 'Config reloads rejected (the running config stayed).', registers });
    this.#configLastReloadFailure = new Gauge({ name: GATEWAY_METRICS.configLastReloadFailure, help: 'Time of the last config reload rejected, in seconds since the epoch.', registers });
    this.#configLastReloadSuccessful = new Gauge({ name: GATEWAY_METRICS.configLastReloadSuccessful, help: 'Whether the last config reload was applied (1) or rejected (0).', registers });
    this.#configVersion = new Gauge({ name: GATEWAY_METRICS.configVersion, help: 'Version of the config the gateway routes with.', registers });
    const tenants = (): number => this.#tenantDirectory?.size ?? this.#tenantDirectorySize;
    new Gauge({
      name: GATEWAY_METRICS.tenantDirectoryTenants,
      help: 'Tenants in the gateway\'s tenant directory.',
      registers,
      collect(this: Gauge) {
        this.set(tenants());
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  /** Request end: counts the request, its duration and bytes in each family it reached. */
  observeRequest(exchange: ObservedExchange, status: number, durationMs: number, requestBytes: number, responseBytes: number): void {
    const seconds = durationMs / 1000;
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket++;
    const code = status >= 0 && status <= 999 ? status | 0 : 0;
    const method = METHOD_INDEX.get(exchange.method) ?? OTHER_METHOD;
    const protocol = requestProtocolIndex(exchange);
    const key = (code * 64 + method) * 8 + protocol;

    if (this.#entryPointFamily !== null) {
      const entryPoint = exchange.entryPoint;
      let byKey = this.#byEntryPoint.get(entryPoint);
      if (byKey === undefined) this.#byEntryPoint.set(entryPoint, (byKey = new Map()));
      seriesFor(byKey, key, this.#entryPointFamily, code, method, protocol, [entryPoint]).observe(bucket, seconds, requestBytes, responseBytes);
    }
    const service = exchange.service;
    const router = exchange.router;
    if (router !== null && this.#routerFamily !== null) {
      let byService = this.#byRouter.get(router);
      if (byService === undefined) this.#byRouter.set(router, (byService = new Map()));
      const serviceLabel = service ?? '';
      let byKey = byService.get(serviceLabel);
      if (byKey === undefined) byService.set(serviceLabel, (byKey = new Map()));
      seriesFor(byKey, key, this.#routerFamily, code, method, protocol, [router, serviceLabel]).observe(bucket, seconds, requestBytes, responseBytes);
    }
    if (service === null) return;
    let slot = this.#byService.get(service);
    if (slot === undefined) this.#byService.set(service, (slot = { series: new Map(), stamps: new Map(), retries: null }));
    if (this.#serviceFamily !== null) seriesFor(slot.series, key, this.#serviceFamily, code, method, protocol, [service]).observe(bucket, seconds, requestBytes, responseBytes);
    if (exchange.retries > 0) (slot.retries ??= this.#retries.cell(service, [service])).value += exchange.retries;
    const stamp = exchange.stamp;
    if (stamp !== null && this.#stampFamily !== null) {
      let byKey = slot.stamps.get(stamp);
      if (byKey === undefined) slot.stamps.set(stamp, (byKey = new Map()));
      seriesFor(byKey, key, this.#stampFamily, code, method, protocol, [service, stamp]).observe(bucket, seconds, requestBytes, responseBytes);
    }
  }

  /** The open-connections gauge of an entrypoint; keep it and change `.value` per connection. */
  openConnections(entryPoint: string, protocol = 'TCP'): Cell {
    return this.#openConnections.cell(entryPoint + '\n' + protocol, [entryPoint, protocol]);
  }

  connectionOpened(entryPoint: string): void {
    this.openConnections(entryPoint).value++;
  }

  connectionClosed(entryPoint: string): void {
    this.openConnections(entryPoint).value--;
  }

  /** Active health: a server passed (true) or failed (false) its check. */
  setServerUp(service: string, url: string, up: boolean): void {
    this.#servers.set(service + '\n' + url, { service, url });
    this.#serverUp.set({ service, url }, up ? 1 : 0);
  }

  /** Passive health: a server was ejected from balancing (true) or came back (false). */
  setServerEjected(service: string, url: string, ejected: boolean): void {
    const key = service + '\n' + url;
    this.#servers.set(key, { service, url });
    if (ejected && !this.#ejected.has(key)) this.#serverEjections.inc({ service, url });
    if (ejected) this.#ejected.add(key);
    else this.#ejected.delete(key);
    this.#serverEjected.set({ service, url }, ejected ? 1 : 0);
  }

  /** A config reload was applied (with its version) or rejected. */
  configReloaded(applied: boolean, version?: number, at: number = Date.now()): void {
    if (applied) {
      this.#configReloads.inc();
      this.#configLastReloadSuccess.set(at / 1000);
      if (version !== undefined) this.#configVersion.set(version);
    } else {
      this.#configReloadFailures.inc();
      this.#configLastReloadFailure.set(at / 1000);
    }
    this.#configLastReloadSuccessful.set(applied ? 1 : 0);
  }

  /** Reads the directory's `size` at each scrape. */
  trackTenantDirectory(directory: { readonly size: number }): void {
    this.#tenantDirectory = directory;
  }

  setTenantDirectorySize(size: number): void {
    this.#tenantDirectory = null;
    this.#tenantDirectorySize = size;
  }

  /**
   * After a reload, forgets the series of routers, services and stamps the new config no longer has
   * (as Traefik does for routers and services), so that removed names stop being exported. Stamps
   * and servers are kept when `stamps` or `servers` (service → URLs) is not given.
   */
  retain(current: { routers: Iterable<string>; services: Iterable<string>; stamps?: Iterable<string>; servers?: ReadonlyMap<string, Iterable<string>> }): void {
    const routers = new Set(current.routers);
    const services = new Set(current.services);
    const stamps = current.stamps === undefined ? null : new Set(current.stamps);
    for (const name of [...this.#byRouter.keys()]) if (!routers.has(name)) this.#byRouter.delete(name);
    for (const [name, slot] of [...this.#byService]) {
      if (!services.has(name)) this.#byService.delete(name);
      else if (stamps !== null) for (const stamp of [...slot.stamps.keys()]) if (!stamps.has(stamp)) slot.stamps.delete(stamp);
    }
    for (const name of [...this.#retries.keys()]) if (!services.has(name)) this.#retries.delete(name);
    this.#routerFamily?.removeWhere((s) => !routers.has(s.labels.router!));
    this.#serviceFamily?.removeWhere((s) => !services.has(s.labels.service!));
    this.#stampFamily?.removeWhere((s) => !services.has(s.labels.service!) || (stamps !== null && !stamps.has(s.labels.stamp!)));
    if (current.servers !== undefined) {
      const keep = new Set<string>();
      for (const [service, urls] of current.servers) for (const url of urls) keep.add(service + '\n' + url);
      for (const [key, labels] of [...this.#servers]) {
        if (keep.has(key)) continue;
        this.#servers.delete(key);
        this.#ejected.delete(key);
        this.#serverUp.remove(labels);
        this.#serverEjected.remove(labels);
        this.#serverEjections.remove(labels);
      }
    }
  }

  /** The exposition text for /metrics. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function normalizeBuckets(buckets: readonly number[]): number[] {
  for (const b of buckets) if (!Number.isFinite(b) || b <= 0) throw new RangeError(`histogram buckets must be positive numbers of seconds, found ${String(b)}`);
  if (buckets.length === 0) throw new RangeError('histogram buckets must not be empty');
  return [...new Set(buckets)].sort((a, b) => a - b);
}
