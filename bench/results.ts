// The shape of a run's results: what run.ts measures, report.ts summarises and prints, chart.ts
// draws, and bench/results/latest.json stores.
import type { TargetKind } from './targets/types.ts';

export interface RoundMeasurement {
  round: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  /** The slowest request of the round. */
  maxUs: number;
  requests: number;
  errors: number;
  errorDetail: string;
  /** CPU time of the target's own processes per request; null for `direct`. */
  cpuUsPerReq: number | null;
  /** CPU time of the upstream per request (to see whether the upstream was the limit). */
  upstreamCpuUsPerReq: number | null;
}

export type TargetStatus = 'ok' | 'failed' | 'unavailable' | 'unsupported';

export interface TargetOutcome {
  target: string;
  kind: TargetKind;
  description: string;
  version: string;
  /** The `stampgate@a` row: Stampgate set up as in scenario (a), measured in this scenario's rounds as the ×sg(a) reference. */
  reference: boolean;
  status: TargetStatus;
  /** Why it is not `ok`. */
  reason: string | null;
  /** The end of what its process printed, when it failed. */
  outputTail: string | null;
  rounds: RoundMeasurement[];
}

/** What the load counts: HTTP requests, or WebSocket messages echoed (scenario f). */
export type LoadUnit = 'req' | 'msg';

export interface ScenarioRun {
  id: string;
  title: string;
  request: string;
  unit: LoadUnit;
  /** The target for the `stampgate` row: at least this × stampgate@a's req/s; null: none. */
  minRatioToA: number | null;
  outcomes: TargetOutcome[];
}

/** Whether one of the targets held in this run; `met` null when it could not be measured. */
export interface GoalVerdict {
  description: string;
  /** The measured figure the target is about, in `unit`. */
  value: number | null;
  unit: 'ratio' | 'ms' | 'bytes' | 'count';
  /**
   * For the ×sg(a) targets: the same comparison by CPU time, stampgate@a's CPU µs/req ÷ stampgate's
   * (1.00× = the feature costs nothing; 0.80× = 25% more CPU per request). Not the target itself,
   * but much less sensitive to a busy machine than req/s.
   */
  cpuValue?: number | null;
  met: boolean | null;
}

export interface TargetSummary {
  target: string;
  kind: TargetKind;
  description: string;
  version: string;
  reference: boolean;
  status: TargetStatus;
  reason: string | null;
  rounds: number;
  medianRps: number | null;
  minRps: number | null;
  maxRps: number | null;
  spreadPercent: number | null;
  p50Us: number | null;
  p99Us: number | null;
  cpuUsPerReq: number | null;
  errors: number;
  /** This target's median req/s divided by the reference's; null when the reference did not run. */
  ratios: { direct: number | null; nginx: number | null; bestNodePeer: number | null; nodeFloor: number | null; stampgateA: number | null };
}

export interface ScenarioSummary {
  id: string;
  title: string;
  request: string;
  unit: LoadUnit;
  /** The fastest `node-peer` of this scenario, the reference of the ×best-node column. */
  bestNodePeer: string | null;
  /** The row the ×sg(a) column divides by (`stampgate@a`), when this scenario measures it. */
  reference: string | null;
  /** The target for this scenario (stampgate ÷ stampgate@a), when it has one. */
  goal: GoalVerdict | null;
  targets: TargetSummary[];
}

/** One reload, timed inside the gateway's process (it blocks the event loop for that long). */
export interface ReloadTiming {
  /** gateway.applyConfig(new config). */
  applyMs: number;
  /** gateway.directory.replace(tenants.map(…)) with the N tenants (the list already parsed). */
  replaceMs: number;
  totalMs: number;
}

/** Scenario (g): a tenant directory's memory and reload time (Stampgate only). */
export interface ReloadSummary {
  id: string;
  title: string;
  tenants: number;
  stamps: number;
  status: 'ok' | 'failed' | 'not run';
  reason: string | null;
  outputTail: string | null;
  /** heapUsed after global.gc(), with the gateway listening and an empty directory. */
  heapBaseBytes: number | null;
  /** heapUsed after global.gc() with the N tenants loaded. */
  heapWithDirectoryBytes: number | null;
  /** The difference: what the directory costs. */
  directoryBytes: number | null;
  /** heapUsed after global.gc() once the load and its reloads are over. */
  heapAfterReloadsBytes: number | null;
  rssBytes: number | null;
  /** The first directory.replace() with N tenants, before any load. */
  initialLoadMs: number | null;
  reloads: ReloadTiming[];
  reloadMedianMs: number | null;
  reloadMaxMs: number | null;
  /** The steady load the reloads happened under (every failed request counts, reloads or not). */
  load: { requests: number; rps: number; errors: number; errorDetail: string; p99Us: number; maxUs: number } | null;
  goals: GoalVerdict[];
}

export interface RunSettings {
  loadGenerator: string;
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  upstream: string;
}

export interface BenchResults {
  schema: 'stampgate-bench/1';
  generatedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; os: string; node: string; clockTicksPerSecond: number };
  settings: RunSettings;
  scenarios: ScenarioSummary[];
  /** Scenario (g)'s figures, one per tenant count. */
  reload: ReloadSummary[];
  /** Raw per-round figures, for whoever wants to recompute. */
  rounds: Record<string, Record<string, RoundMeasurement[]>>;
  /** CPU in use on the machine, in percent of one core, in the second before the run; null without /proc. */
  backgroundCpuPercent: number | null;
  /** Things that make this run's figures less trustworthy (a busy machine). */
  warnings: string[];
  problems: string[];
}
