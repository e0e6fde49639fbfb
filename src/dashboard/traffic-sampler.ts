// Samples each stamp's traffic once a second into a short ring, so the dashboard can draw the last
// two minutes the moment it opens: requests per second from the /stampsz counters' rise, error rate
// and p95 from the recorder's tallies over a short window (one second holds too few answers for a
// steady p95).
import { bucketCount, quantileMs, type StampTally, type StampTrafficRecorder } from './stamp-traffic.ts';
import type { StampTraffic, TrafficReport } from './sources.ts';

export interface TrafficSamplerOptions {
  /** The /stampsz counters: requests sent to each stamp since the gateway started. */
  readCounts(): Record<string, number>;
  recorder?: StampTrafficRecorder;
  intervalMs?: number;
  /** Points kept per series (default 120: two minutes at one a second). */
  points?: number;
  /** Samples an error rate and a p95 span (default 5). */
  windowSamples?: number;
}

interface StampRing {
  lastCount: number;
  lastTally: { answers: number; errors: number; buckets: Float64Array };
  /** Per sample: the answers, errors and bucket counts that arrived in it, for the window. */
  recent: Array<{ answers: number; errors: number; buckets: Float64Array }>;
  series: StampTraffic;
}

export class TrafficSampler {
  readonly intervalMs: number;
  readonly #options: TrafficSamplerOptions;
  readonly #points: number;
  readonly #window: number;
  readonly #rings = new Map<string, StampRing>();
  #lastAt = 0;
  #lastWall = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: TrafficSamplerOptions) {
    this.#options = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.#points = options.points ?? 120;
    this.#window = options.windowSamples ?? 5;
  }

  start(): void {
    if (this.#timer) return;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Takes one sample now (the timer calls this; tests may too). */
  sample(now = performance.now()): void {
    const counts = this.#options.readCounts();
    const seconds = this.#lastAt === 0 ? 0 : (now - this.#lastAt) / 1000;
    this.#lastAt = now;
    this.#lastWall = Date.now();
    for (const [id, count] of Object.entries(counts)) {
      const tally = this.#options.recorder?.tally(id);
      let ring = this.#rings.get(id);
      if (ring === undefined) {
        // A stamp seen for the first time starts from its current totals: no spike of its history.
        ring = { lastCount: count, lastTally: copyTally(tally), recent: [], series: { rps: [], errorRate: [], p95Ms: [] } };
        this.#rings.set(id, ring);
        this.#push(ring, 0, emptyDelta());
        continue;
      }
      const rps = seconds > 0 ? Math.max(0, count - ring.lastCount) / seconds : 0;
      ring.lastCount = count;
      const current = copyTally(tally);
      const delta = { answers: Math.max(0, current.answers - ring.lastTally.answers), errors: Math.max(0, current.errors - ring.lastTally.errors), buckets: new Float64Array(bucketCount) };
      for (let i = 0; i < bucketCount; i++) delta.buckets[i] = Math.max(0, current.buckets[i]! - ring.lastTally.buckets[i]!);
      ring.lastTally = current;
      this.#push(ring, rps, delta);
    }
    for (const id of [...this.#rings.keys()]) if (!(id in counts)) this.#rings.delete(id);
  }

  #push(ring: StampRing, rps: number, delta: StampRing['recent'][number]): void {
    ring.recent.push(delta);
    if (ring.recent.length > this.#window) ring.recent.shift();
    let answers = 0;
    let errors = 0;
    const buckets = new Float64Array(bucketCount);
    for (const d of ring.recent) {
      answers += d.answers;
      errors += d.errors;
      for (let i = 0; i < bucketCount; i++) buckets[i]! += d.buckets[i]!;
    }
    const { series } = ring;
    series.rps.push(round(rps, 2));
    series.errorRate.push(answers === 0 ? null : round(errors / answers, 4));
    const p95 = quantileMs(buckets, 0.95);
    series.p95Ms.push(p95 === null ? null : round(p95, 2));
    if (series.rps.length > this.#points) {
      series.rps.shift();
      series.errorRate.shift();
      series.p95Ms.shift();
    }
  }

  report(): TrafficReport {
    const stamps: Record<string, StampTraffic> = {};
    for (const [id, ring] of this.#rings) stamps[id] = { rps: [...ring.series.rps], errorRate: [...ring.series.errorRate], p95Ms: [...ring.series.p95Ms] };
    return { intervalMs: this.intervalMs, at: this.#lastWall, stamps };
  }
}

function emptyDelta(): StampRing['recent'][number] {
  return { answers: 0, errors: 0, buckets: new Float64Array(bucketCount) };
}

function copyTally(tally: StampTally | undefined): { answers: number; errors: number; buckets: Float64Array } {
  return tally === undefined ? emptyDelta() : { answers: tally.answers, errors: tally.errors, buckets: Float64Array.from(tally.buckets) };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
