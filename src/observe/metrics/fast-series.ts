// Request metrics kept in plain numbers, exported through a prom-client Registry.
//
// Why not prom-client's Counter/Histogram on the request path: a child from `.labels(...)` still
// validates and re-hashes its label object on every inc()/observe() (prom-client 15: measured
// ~400 ns per counter inc and ~550-700 ns per histogram observe with five labels; one request
// updates 16 series). A RequestSeries here is an object the gateway finds once per label set and
// then bumps with a few additions (~3 ns per histogram observation). The Registry still does what it
// is good at: text and OpenMetrics exposition, content type, default process metrics and cluster
// aggregation; the objects below implement the part of prom-client's metric interface it reads
// (`name`, `help`, `type`, `aggregator`, `get()`, `reset()`).
import type { Metric, Registry } from 'prom-client';

type LabelValues = Record<string, string | number>;

interface ExportedValue {
  labels: LabelValues;
  value: number;
  metricName?: string;
}

interface ExportedMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  values: ExportedValue[];
}

/** The part of prom-client's metric interface that a Registry uses. */
abstract class RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  abstract values(): ExportedValue[];
  abstract reset(): void;

  get(): Promise<ExportedMetric> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() });
  }

  /** No-op: values are current at all times (prom-client calls collect hooks on its own metrics only). */
  collect(): void {}

  registerIn(registry: Registry): void {
    // The Registry's typings list prom-client's own classes only; at run time it reads the members above.
    registry.registerMetric(this as unknown as Metric);
  }
}

function labelRecord(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [i, name] of names.entries()) labels[name] = values[i] ?? '';
  return labels;
}

/** One label set of a request family: its count, duration histogram and byte totals. */
export class RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
  count = 0;
  durationSum = 0;
  requestBytes = 0;
  responseBytes = 0;
  /** Observations per bucket, not cumulative; the last slot is above the highest bound (+Inf). */
  readonly buckets: Float64Array;

  constructor(labels: Record<string, string>, bucketSlots: number) {
    this.labels = labels;
    this.buckets = new Float64Array(bucketSlots);
  }

  clear(): void {
    this.count = this.durationSum = this.requestBytes = this.responseBytes = 0;
    this.buckets.fill(0);
  }

  observe(bucket: number, seconds: number, requestBytes: number, responseBytes: number): void {
    this.count++;
    this.durationSum += seconds;
    this.buckets[bucket]!++;
    this.requestBytes += requestBytes;
    this.responseBytes += responseBytes;
  }
}

export interface RequestFamilyNames {
  requests: string;
  duration: string;
  requestBytes: string;
  responseBytes: string;
}

/**
 * The four metrics Traefik keeps per entrypoint, router and service (requests_total,
 * request_duration_seconds, requests_bytes_total, responses_bytes_total), over one set of series.
 */
export class RequestFamily {
  readonly labelNames: readonly string[];
  readonly bounds: readonly number[];
  series: RequestSeries[] = [];

  constructor(labelNames: readonly string[], bounds: readonly number[]) {
    this.labelNames = labelNames;
    this.bounds = bounds;
  }

  add(labelValues: readonly string[]): RequestSeries {
    const series = new RequestSeries(labelRecord(this.labelNames, labelValues), this.bounds.length + 1);
    this.series.push(series);
    return series;
  }

  /** Zeroes every series (Registry.resetMetrics); the series stay where the gateway found them. */
  clear(): void {
    for (const s of this.series) s.clear();
  }

  /** Drops the series for which `stale` is true (config reload removed their router or service). */
  removeWhere(stale: (series: RequestSeries) => boolean): void {
    this.series = this.series.filter((s) => !stale(s));
  }

  register(registry: Registry, names: RequestFamilyNames, subject: string): void {
    new SeriesCounter(names.requests, `How many HTTP requests ${subject} processed.`, this, (s) => s.count).registerIn(registry);
    new SeriesHistogram(names.duration, `How long ${subject} took to process HTTP requests, in seconds.`, this).registerIn(registry);
    new SeriesCounter(names.requestBytes, `The size of HTTP requests ${subject} processed, in bytes.`, this, (s) => s.requestBytes).registerIn(registry);
    new SeriesCounter(names.responseBytes, `The size of HTTP responses ${subject} sent, in bytes.`, this, (s) => s.responseBytes).registerIn(registry);
  }
}

class SeriesCounter extends RegistryMetric {
  readonly type = 'counter' as const;
  readonly #family: RequestFamily;
  readonly #read: (series: RequestSeries) => number;

  constructor(name: string, help: string, family: RequestFamily, read: (series: RequestSeries) => number) {
    super(name, help);
    this.#family = family;
    this.#read = read;
  }

  values(): ExportedValue[] {
    return this.#family.series.map((s) => ({ labels: s.labels, value: this.#read(s) }));
  }

  reset(): void {
    this.#family.clear();
  }
}

class SeriesHistogram extends RegistryMetric {
  readonly type = 'histogram' as const;
  readonly #family: RequestFamily;

  constructor(name: string, help: string, family: RequestFamily) {
    super(name, help);
    this.#family = family;
  }

  values(): ExportedValue[] {
    const values: ExportedValue[] = [];
    const bounds = this.#family.bounds;
    const bucketName = this.name + '_bucket';
    for (const s of this.#family.series) {
      let cumulative = 0;
      for (const [i, bound] of bounds.entries()) {
        cumulative += s.buckets[i]!;
        values.push({ labels: { ...s.labels, le: bound }, value: cumulative, metricName: bucketName });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucketName });
      values.push({ labels: s.labels, value: s.durationSum, metricName: this.name + '_sum' });
      values.push({ labels: s.labels, value: s.count, metricName: this.name + '_count' });
    }
    return values;
  }

  reset(): void {
    this.#family.clear();
  }
}

/** One value of a CellMetric; the caller keeps it and changes `value` directly. */
export class Cell {
  readonly labels: Readonly<Record<string, string>>;
  value = 0;

  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }
}

/** A counter or gauge whose label sets are found by one string key (a service, an entrypoint). */
export class CellMetric extends RegistryMetric {
  readonly type: 'counter' | 'gauge';
  readonly #labelNames: readonly string[];
  #cells = new Map<string, Cell>();

  constructor(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[]) {
    super(name, help);
    this.type = type;
    this.#labelNames = labelNames;
  }

  /** The cell for `key`, created with these label values on first use. */
  cell(key: string, labelValues: readonly string[]): Cell {
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new Cell(labelRecord(this.#labelNames, labelValues));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  delete(key: string): void {
    this.#cells.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.#cells.keys();
  }

  values(): ExportedValue[] {
    return [...this.#cells.values()].map((c) => ({ labels: c.labels, value: c.value }));
  }

  reset(): void {
    for (const cell of this.#cells.values()) cell.value = 0;
  }
}
