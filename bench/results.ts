// The shape of a run's results: what run.ts measures, report.ts summarises and prints, chart.ts
// draws, and bench/results/latest.json stores.
import type { TargetKind } from './targets/types.ts';

export interface RoundMeasurement {
  round: number;
  rps: number;
  p50Us: number;
  p99Us: number;
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
  status: TargetStatus;
  /** Why it is not `ok`. */
  reason: string | null;
  /** The end of what its process printed, when it failed. */
  outputTail: string | null;
  rounds: RoundMeasurement[];
}

export interface ScenarioRun {
  id: string;
  title: string;
  request: string;
  outcomes: TargetOutcome[];
}

export interface TargetSummary {
  target: string;
  kind: TargetKind;
  description: string;
  version: string;
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
  ratios: { direct: number | null; nginx: number | null; bestNodePeer: number | null; nodeFloor: number | null };
}

export interface ScenarioSummary {
  id: string;
  title: string;
  request: string;
  /** The fastest `node-peer` of this scenario, the reference of the ×best-node column. */
  bestNodePeer: string | null;
  targets: TargetSummary[];
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
  /** Raw per-round figures, for whoever wants to recompute. */
  rounds: Record<string, Record<string, RoundMeasurement[]>>;
  /** CPU in use on the machine, in percent of one core, in the second before the run; null without /proc. */
  backgroundCpuPercent: number | null;
  /** Things that make this run's figures less trustworthy (a busy machine). */
  warnings: string[];
  problems: string[];
}
