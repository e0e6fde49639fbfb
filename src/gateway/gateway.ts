// The gateway: its entrypoints, the compiled config they route with, and its own endpoints
// (/healthz, /readyz, /stampsz). A new config version is compiled off the request path and swapped
// in with one assignment; a request runs entirely on the version it started with. A version that
// fails to compile is rejected and the running one stays.
import type { AddressInfo, Socket } from 'node:net';
import type { DynamicConfig } from '../config/schema/dynamic.ts';
import type { StaticConfig } from '../config/schema/static.ts';
import { checkReadiness, type ReadinessTarget, type ReadyzBody } from '../observe/readiness.ts';
import { StampRequestCounters, type StampszBody } from '../observe/stamp-request-counters.ts';
import { createMetricsHandler } from '../observe/metrics/metrics-handler.ts';
import { declaredRequestBytes } from '../observe/observed-exchange.ts';
import { RequestObserver } from '../observe/request-observer.ts';
import { problem, sendProblem } from '../shared/problem.ts';
import { sendJson } from '../shared/send-json.ts';
import type { RequestReader, ResponseWriter } from '../shared/response-writer.ts';
import type { Http1Request } from './http1/server-request.ts';
import type { Http1Response } from './http1/server-response.ts';
import { defaultUpstreamTimeouts, type UpstreamTimeouts } from './balancer/upstream-server.ts';
import type { EntryPointConfig } from '../config/schema/static.ts';
import { createGatewayApi } from './api/gateway-api.ts';
import { EntryPoint } from './entrypoint.ts';
import { compileAddressRanges } from './middleware/ip-ranges.ts';
import { redirectionFor } from './entrypoint-redirection.ts';
import { createExchange } from './pipeline/create-exchange.ts';
import type { Exchange } from './pipeline/exchange.ts';
import { compileConfig, type CompiledConfig, type EntryPointInfo } from './runtime/compile-config.ts';
import { PoolRegistry } from './runtime/pool-registry.ts';
import { TenantDirectory } from './stamps/tenant-directory.ts';
import { TlsCertificates } from './tls-certificates.ts';

export interface GatewayOptions {
  /** The static configuration: entrypoints, and `api` / `ping` / `metrics` when they are served (Traefik's format). */
  staticConfig: Pick<StaticConfig, 'entryPoints'> & Partial<Pick<StaticConfig, 'api' | 'ping' | 'metrics'>>;
  timeouts?: Partial<UpstreamTimeouts>;
  /** Time each stamp's readiness probe gets in /readyz (default 1000 ms). */
  readinessTimeoutMs?: number;
  /** Where operator-facing lines go (upstream failures, reloads); silent when absent. */
  log?: (line: string) => void;
  /** The /stampsz body; default: this process's counters (a worker of several asks for the sum). */
  stampsz?: () => Promise<StampszBody>;
  /** Metrics, access log and tracing (createRequestObserver); default: trace propagation only. */
  observer?: RequestObserver;
}

export interface ConfigStatus {
  version: number;
  lastReloadAt: string | null;
  lastReloadSucceeded: boolean;
  lastError: string | null;
}

export class Gateway {
  readonly directory = new TenantDirectory();
  readonly counters = new StampRequestCounters();
  readonly entryPoints = new Map<string, EntryPoint>();
  readonly #options: GatewayOptions;
  readonly #timeouts: UpstreamTimeouts;
  readonly #pools: PoolRegistry;
  readonly #log: (line: string) => void;
  #current: CompiledConfig | null = null;
  #certificates: TlsCertificates = new TlsCertificates([]);
  #status: ConfigStatus = { version: 0, lastReloadAt: null, lastReloadSucceeded: false, lastError: null };
  /** The read-only API (Traefik's), for the internal entrypoint and routers to `api@internal`. */
  readonly #apiHandler: (req: RequestReader, res: ResponseWriter) => void;
  readonly observer: RequestObserver;
  /** Whether a request's end must be observed (metrics, access log or span export are on). */
  readonly #observesEnd: boolean;
  readonly #metricsHandler: ((req: RequestReader, res: ResponseWriter) => void) | null;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#timeouts = { ...defaultUpstreamTimeouts, ...options.timeouts };
    this.#pools = new PoolRegistry(this.#timeouts);
    this.#log = options.log ?? (() => {});
    this.#apiHandler = createGatewayApi(this, { log: this.#log });
    this.observer = options.observer ?? new RequestObserver();
    const metrics = this.observer.metrics;
    this.#observesEnd = metrics !== null || this.observer.accessLog !== null || this.observer.tracer.recording;
    this.#metricsHandler = metrics === null ? null : createMetricsHandler(metrics);
    metrics?.trackTenantDirectory(this.directory);
  }

  /** GET /metrics (Prometheus), when the static config has `metrics`; null otherwise. */
  get metricsHandler(): ((req: RequestReader, res: ResponseWriter) => void) | null {
    return this.#metricsHandler;
  }

  get config(): CompiledConfig | null {
    return this.#current;
  }

  get configStatus(): ConfigStatus {
    return { ...this.#status };
  }

  /** Compiles and swaps in a new dynamic config; throws (keeping the running one) when it is invalid. */
  applyConfig(config: DynamicConfig, version = this.#status.version + 1): void {
    const at = new Date().toISOString();
    let next: CompiledConfig;
    let certificates: TlsCertificates;
    try {
      certificates = new TlsCertificates(config.tls?.certificates ?? []);
      next = compileConfig(config, version, {
        entryPoints: this.#entryPointInfo(config),
        pools: this.#pools,
        timeouts: this.#timeouts,
        directory: this.directory,
        countStamp: (index) => this.counters.increment(index),
        log: this.#log,
        onServerHealth: (service, url, healthy, kind) => {
          if (kind === 'active') this.observer.metrics?.setServerUp(service, url, healthy);
          else this.observer.metrics?.setServerEjected(service, url, !healthy);
        },
        internalServices: new Map([
          ['api@internal', (exchange) => this.#apiHandler(exchange.req, exchange.res)],
          ['ping@internal', (exchange) => {
            exchange.req.url = '/ping';
            this.#apiHandler(exchange.req, exchange.res);
          }],
          ...(this.#metricsHandler !== null ? [['prometheus@internal', (exchange: Exchange) => this.#metricsHandler!(exchange.req, exchange.res)] as const] : []),
        ]),
      });
    } catch (error) {
      this.#status = { ...this.#status, lastReloadAt: at, lastReloadSucceeded: false, lastError: (error as Error).message };
      this.observer.metrics?.configReloaded(false);
      throw error;
    }
    const previous = this.#current;
    this.counters.setStamps(next.stampIds);
    this.#certificates = certificates;
    this.#current = next;
    next.start();
    previous?.stop();
    this.#status = { version, lastReloadAt: at, lastReloadSucceeded: true, lastError: null };
    void this.#pools.retain(next.origins);
    const metrics = this.observer.metrics;
    if (metrics !== null) {
      metrics.configReloaded(true, version);
      const servers = new Map([...next.services].map(([name, service]) => [name, service.servers().map((s) => s.url)]));
      metrics.retain({ routers: next.routers.map((r) => r.name), services: next.services.keys(), stamps: next.stampIds, servers });
      for (const [name, urls] of servers) for (const url of urls) metrics.setServerUp(name, url, true);
    }
  }

  /** Opens every entrypoint; the first config must have been applied. */
  async listen(): Promise<Map<string, AddressInfo>> {
    if (this.#current === null) throw new Error('the gateway has no configuration yet');
    const addresses = new Map<string, AddressInfo>();
    const tlsEntryPoints = new Set(this.#entryPointInfo(null).filter((e) => e.tls).map((e) => e.name));
    try {
      for (const [name, config] of Object.entries(this.#internalEntryPoints())) {
        const internal = this.#internalHandler(name);
        const entryPoint = new EntryPoint({ name, config, tls: null, handler: internal });
        this.entryPoints.set(name, entryPoint);
        addresses.set(name, await entryPoint.listen());
      }
      for (const [name, config] of Object.entries(this.#routedEntryPoints())) {
        const secure = tlsEntryPoints.has(name);
        if (secure && this.#certificates.size === 0) throw new Error(`entrypoint ${name} serves TLS but the dynamic configuration has no tls.certificates`);
        const redirect = redirectionFor(name, this.#options.staticConfig.entryPoints, (to) => this.entryPoints.get(to)?.address().port);
        const trusted = config.forwardedHeaders;
        const trustForwarded = trusted?.insecure === true ? () => true : trusted?.trustedIPs?.length ? compileAddressRanges(trusted.trustedIPs, `entryPoints.${name}.forwardedHeaders.trustedIPs`) : () => false;
        const entryPoint = new EntryPoint({
          name,
          config,
          tls: secure ? { sniContext: (serverName) => this.#certificates.contextFor(serverName), minVersion: 'TLSv1.2' } : null,
          handler: redirect !== null ? (req, res) => redirect(req, res) : (req, res) => this.#handle(name, secure, trustForwarded, req, res),
          upgradeHandler: (req, res, socket, head) => this.#handleUpgrade(name, secure, trustForwarded, req, res, socket, head),
        });
        this.entryPoints.set(name, entryPoint);
        const open = this.observer.metrics?.openConnections(name);
        if (open !== undefined) {
          entryPoint.server.listener.on('connection', (socket: Socket) => {
            open.value++;
            socket.once('close', () => open.value--);
          });
        }
        addresses.set(name, await entryPoint.listen());
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    return addresses;
  }

  async close(): Promise<void> {
    await Promise.all([...this.entryPoints.values()].map((e) => e.close()));
    // Stopping the version in service also releases its shared Redis links (rate limits).
    this.#current?.stop();
    await Promise.all([this.#pools.closeAll(), this.observer.close()]);
  }

  readiness(): Promise<ReadyzBody> {
    const targets: ReadinessTarget[] = [];
    const seen = new Set<string>();
    for (const service of this.#current?.stampsServices ?? []) {
      for (const stamp of service.stamps) {
        if (seen.has(stamp.id)) continue;
        seen.add(stamp.id);
        targets.push({ id: stamp.id, readyPath: stamp.readyPath, dispatchers: stamp.service.servers().map((s) => s.pool) });
      }
    }
    return checkReadiness(targets, this.#options.readinessTimeoutMs ?? 1000);
  }

  /** Which entrypoints serve TLS: those the static config gives `http.tls`, and those named by a router with `tls`. */
  #entryPointInfo(config: DynamicConfig | null): EntryPointInfo[] {
    const tlsByRouter = new Set<string>();
    for (const router of Object.values((config ?? this.#lastConfigRouters()).http?.routers ?? {})) {
      if (router.tls !== undefined) for (const ep of router.entryPoints ?? []) tlsByRouter.add(ep);
    }
    return Object.entries(this.#routedEntryPoints()).map(([name, ep]) => ({ name, tls: ep.http?.tls !== undefined || tlsByRouter.has(name), tlsForAll: ep.http?.tls !== undefined, middlewares: ep.http?.middlewares ?? [] }));
  }

  /**
   * The entrypoint that serves the API (`api.insecure`) and /ping: `traefik`, as in Traefik. It takes
   * no routers. When the static config does not define it, it listens on 127.0.0.1:8080 — loopback,
   * not every interface as Traefik does: the API is for operators, not the internet.
   */
  #internalEntryPoints(): Record<string, EntryPointConfig> {
    const { api, ping, entryPoints } = this.#options.staticConfig;
    const wanted = api?.insecure === true || (ping !== undefined && (ping.entryPoint ?? 'traefik') === 'traefik') || this.#metricsEntryPoint() === 'traefik';
    return wanted ? { traefik: entryPoints.traefik ?? { address: '127.0.0.1:8080' } } : {};
  }

  /** Where /metrics is answered (Traefik's metrics.prometheus.entryPoint); null when not served or routed manually. */
  #metricsEntryPoint(): string | null {
    const metrics = this.#options.staticConfig.metrics;
    // No `metrics` in the static config: the caller serves the handler itself (`stampgate up` does, beside /stampsz).
    if (this.#metricsHandler === null || metrics === undefined || metrics.prometheus?.manualRouting === true) return null;
    const prometheus = metrics.prometheus;
    return prometheus?.entryPoint ?? 'traefik';
  }

  /** Whether /ping is answered on this ordinary entrypoint (`ping.entryPoint` naming it). */
  #pingHere(entryPoint: string): boolean {
    const ping = this.#options.staticConfig.ping;
    return ping !== undefined && ping.entryPoint === entryPoint && entryPoint !== 'traefik';
  }

  #routedEntryPoints(): Record<string, EntryPointConfig> {
    const internal = this.#internalEntryPoints();
    return Object.fromEntries(Object.entries(this.#options.staticConfig.entryPoints).filter(([name]) => !(name in internal)));
  }

  /** /ping and, with `api.insecure`, the read-only API; nothing else on the internal entrypoint. */
  #internalHandler(name: string): (req: RequestReader, res: ResponseWriter) => void {
    const { api, ping } = this.#options.staticConfig;
    const servesApi = api?.insecure === true && name === 'traefik';
    const servesPing = ping !== undefined && (ping.entryPoint ?? 'traefik') === name;
    const metricsHandler = this.#metricsEntryPoint() === name ? this.#metricsHandler : null;
    const apiHandler = this.#apiHandler;
    return (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/ping') {
        if (servesPing) return apiHandler(req, res);
      } else if (path === '/metrics') {
        if (metricsHandler !== null) return metricsHandler(req, res);
      } else if (servesApi) return apiHandler(req, res);
      sendProblem(res, problem('not-found', 'Not found', 404, `entrypoint ${JSON.stringify(name)} serves ${[servesApi ? 'the API under /api' : '', servesPing ? '/ping' : '', metricsHandler ? '/metrics' : ''].filter(Boolean).join(', ')} only`));
    };
  }

  #lastConfigRouters(): DynamicConfig {
    const routers: Record<string, { rule: string; service: string; entryPoints?: string[]; tls?: object }> = {};
    for (const r of this.#current?.routers ?? []) routers[r.name] = { rule: r.rule, service: r.service, entryPoints: r.entryPoints, ...(r.tls ? { tls: {} } : {}) };
    return { http: { routers } };
  }

  #handle(entryPoint: string, secure: boolean, trustForwarded: (address: string) => boolean, req: Http1Request, res: Http1Response): void {
    try {
      if (this.#answerOwnEndpoint(req, res)) return;
      if (this.#pingHere(entryPoint) && (req.url === '/ping' || req.url?.startsWith('/ping?'))) return this.#apiHandler(req, res);
      if (req.url === '/metrics' && entryPoint !== 'traefik' && this.#metricsEntryPoint() === entryPoint) return this.#metricsHandler!(req, res);
      const exchange = createExchange(req, res, entryPoint, secure, trustForwarded);
      if (exchange === null) return;
      this.#observe(exchange);
      this.#route(exchange);
    } catch (error) {
      // A bug must cost one request, never the process.
      this.#log(`500 internal error: ${(error as Error).stack ?? String(error)}`);
      sendProblem(res, problem('internal-error', 'Internal gateway error', 500, 'the gateway failed to handle this request; the error is in its log'));
    }
  }

  /** Starts the exchange's trace and, when anything records requests, observes its end once. */
  #observe(exchange: Exchange): void {
    const observer = this.observer;
    const trace = (exchange.trace = observer.start(exchange));
    if (!this.#observesEnd) return;
    exchange.res.on('close', () => {
      const res = exchange.res;
      // A tunnel's answer went straight through the sockets; a client gone before any answer is 499.
      const status = res.headersSent ? res.statusCode : exchange.upgrade !== null && exchange.upstream !== null ? 101 : 499;
      const responseBytes = exchange.responseBytes || Number(res.getHeader('content-length') ?? 0);
      observer.finish(exchange, trace, status, performance.now() - exchange.startedAt, declaredRequestBytes(exchange.headers), responseBytes);
    });
  }

  /** Finds the router for the exchange on the version in service and runs its chain; 404 when none matches. */
  #route(exchange: Exchange): void {
    const routing = this.#current!.routing.get(exchange.entryPoint);
    const router = routing?.table.match(exchange);
    if (router === undefined) {
      sendProblem(exchange.res, problem('no-route', 'No route', 404, `no router on entrypoint ${JSON.stringify(exchange.entryPoint)} matches ${exchange.method} ${exchange.host}${exchange.path}`, { requestId: exchange.requestId }));
      return;
    }
    routing!.handlers.get(router)!(exchange);
  }

  /**
   * A protocol upgrade goes through the same routers and middlewares as any request. Its response
   * object writes straight to the client socket, so a middleware can still refuse it (401, 429…);
   * the service then joins the sockets (tunnel-exchange.ts).
   */
  #handleUpgrade(entryPoint: string, secure: boolean, trustForwarded: (address: string) => boolean, req: Http1Request, res: Http1Response, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.entryPoints.get(entryPoint)?.trackUpgraded(socket);
    // `res` writes straight to the socket and ends it: an answer by the gateway itself is a refusal.
    const exchange = createExchange(req, res, entryPoint, secure, trustForwarded);
    if (exchange === null) return;
    exchange.upgrade = { socket, head };
    this.#observe(exchange);
    try {
      this.#route(exchange);
    } catch (error) {
      this.#log(`500 internal error (upgrade): ${(error as Error).stack ?? String(error)}`);
      socket.destroy();
    }
  }

  /** Serves /healthz, /readyz and /stampsz; false when the target is none of them. */
  #answerOwnEndpoint(req: Http1Request, res: Http1Response): boolean {
    const endpoint = ownEndpoint(req.url);
    if (endpoint === null) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendProblem(res, problem('method-not-allowed', 'Method not allowed', 405, `${endpoint} answers GET and HEAD only`), { allow: 'GET, HEAD' });
      return true;
    }
    if (endpoint === '/healthz') sendJson(res, 200, { status: 'ok' });
    else if (endpoint === '/stampsz') {
      if (this.#options.stampsz === undefined) sendJson(res, 200, this.counters.snapshot());
      else this.#options.stampsz().then((body) => sendJson(res, 200, body), (error: Error) => sendProblem(res, problem('internal-error', 'Counting failed', 500, error.message)));
    }
    else {
      this.readiness().then(
        (body) => sendJson(res, body.status === 'ready' ? 200 : 503, body),
        (error: Error) => sendProblem(res, problem('internal-error', 'Readiness check failed', 500, error.message)),
      );
    }
    return true;
  }
}

const ownEndpoints = ['/healthz', '/readyz', '/stampsz'] as const;


function ownEndpoint(target: string): (typeof ownEndpoints)[number] | null {
  for (const endpoint of ownEndpoints) {
    if (target.startsWith(endpoint) && (target.length === endpoint.length || target.charCodeAt(endpoint.length) === 0x3f /* ? */)) return endpoint;
  }
  return null;
}
