// The control plane's Prometheus metrics: stamp and tenant operations by state, stamps by state,
// tenants per stamp, and the config feed the gateways watch. Off the request path, so plain
// prom-client metrics; counts that live in the store are read at scrape time through the sources
// the control plane registers (sync or async).
//
//   const metrics = new ControlPlaneMetrics();
//   metrics.trackOperations(async () => catalog.operationCounts())   // [{ kind, state, count }]
//   metrics.trackStamps(async () => catalog.stampCountsByState())     // { running: 3, error: 1 }
//   metrics.trackTenants(async () => catalog.tenantCountsByStamp())   // { default: 10, s1: 4 }
//   metrics.operationEntered('deploy', 'deploying')                   // on every state change
//   metrics.operationFinished('deploy', 'running', seconds)           // when it reaches a final state
//   metrics.setConfigVersion(n); metrics.configWatchers.inc() / .dec()
//   createMetricsHandler(metrics)                                     // GET /metrics on the admin API
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CONTROL_PLANE_METRICS } from './metric-names.ts';

export interface OperationCount {
  /** What the operation does: deploy, undeploy, move-tenant, rollout, … */
  kind: string;
  /** Its state, as the API shows it (the seed's not_deployed, deploying, running, stopped, …). */
  state: string;
  count: number;
}

type Source<T> = () => T | Promise<T>;

export interface ControlPlaneMetricsOptions {
  /** Operation durations' buckets, in seconds. */
  operationBuckets?: number[];
  processMetrics?: boolean;
  registry?: Registry;
}

export class ControlPlaneMetrics {
  readonly registry: Registry;
  readonly configWatchers: Gauge;
  readonly #transitions: Counter<'kind' | 'state'>;
  readonly #durations: Histogram<'kind' | 'outcome'>;
  readonly #configVersion: Gauge;
  #operations: Source<Iterable<OperationCount>> | null = null;
  #stamps: Source<Readonly<Record<string, number>>> | null = null;
  #tenants: Source<Readonly<Record<string, number>>> | null = null;

  constructor(options: ControlPlaneMetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? new Registry());
    const registers = [registry];
    const operations = (): Source<Iterable<OperationCount>> | null => this.#operations;
    const stamps = (): Source<Readonly<Record<string, number>>> | null => this.#stamps;
    const tenants = (): Source<Readonly<Record<string, number>>> | null => this.#tenants;
    new Gauge({
      name: CONTROL_PLANE_METRICS.operations,
      help: 'Stamp and tenant operations in the store, by kind and state.',
      labelNames: ['kind', 'state'],
      registers,
      async collect(this: Gauge<'kind' | 'state'>) {
        const source = operations();
        if (source === null) return;
        const counts = await source();
        this.reset();
        for (const { kind, state, count } of counts) this.set({ kind, state }, count);
      },
    });
    new Gauge({
      name: CONTROL_PLANE_METRICS.stamps,
      help: 'Stamps, by state.',
      labelNames: ['state'],
      registers,
      async collect(this: Gauge<'state'>) {
        const source = stamps();
        if (source === null) return;
        const counts = await source();
        this.reset();
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: CONTROL_PLANE_METRICS.tenants,
      help: 'Tenants placed on each stamp.',
      labelNames: ['stamp'],
      registers,
      async collect(this: Gauge<'stamp'>) {
        const source = tenants();
        if (source === null) return;
        const counts = await source();
        this.reset();
        for (const [stamp, count] of Object.entries(counts)) this.set({ stamp }, count);
      },
    });
    this.#transitions = new Counter({ name: CONTROL_PLANE_METRICS.operationTransitions, help: 'State changes of operations, by kind and the state entered.', labelNames: ['kind', 'state'], registers });
    this.#durations = new Histogram({
      name: CONTROL_PLANE_METRICS.operationDuration,
      help: 'How long operations took from start to their final state, in seconds.',
      labelNames: ['kind', 'outcome'],
      buckets: options.operationBuckets ?? [1, 5, 15, 30, 60, 120, 300, 900],
      registers,
    });
    this.#configVersion = new Gauge({ name: CONTROL_PLANE_METRICS.configVersion, help: 'The latest config version the control plane serves to gateways.', registers });
    this.configWatchers = new Gauge({ name: CONTROL_PLANE_METRICS.configWatchers, help: 'Gateways watching the config feed now.', registers });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  trackOperations(source: Source<Iterable<OperationCount>>): void {
    this.#operations = source;
  }

  trackStamps(source: Source<Readonly<Record<string, number>>>): void {
    this.#stamps = source;
  }

  trackTenants(source: Source<Readonly<Record<string, number>>>): void {
    this.#tenants = source;
  }

  operationEntered(kind: string, state: string): void {
    this.#transitions.inc({ kind, state });
  }

  operationFinished(kind: string, outcome: string, seconds: number): void {
    this.#durations.observe({ kind, outcome }, seconds);
  }

  setConfigVersion(version: number): void {
    this.#configVersion.set(version);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
