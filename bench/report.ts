// Turns measured rounds into medians and ratios, and prints them as a table.
import type { GoalVerdict, RoundMeasurement, ScenarioRun, ScenarioSummary, TargetOutcome, TargetSummary } from './results.ts';
import { median, spreadPercent } from './stats.ts';

export function summarizeScenario(run: ScenarioRun): ScenarioSummary {
  const base = run.outcomes.map(summarizeTarget);
  const medianOf = (name: string) => base.find((t) => t.target === name && t.status === 'ok')?.medianRps ?? null;
  const peers = base.filter((t) => t.kind === 'node-peer' && t.status === 'ok' && t.medianRps !== null);
  const referenceRow = base.find((t) => t.reference) ?? null;
  const referenceRps = referenceRow?.status === 'ok' ? referenceRow.medianRps : null;
  const best = peers.reduce<TargetSummary | null>((top, t) => (top === null || (t.medianRps ?? 0) > (top.medianRps ?? 0) ? t : top), null);
  const references = { direct: medianOf('direct'), nginx: medianOf('nginx'), bestNodePeer: best?.medianRps ?? null, nodeFloor: medianOf('node-floor') };
  const ratio = (value: number | null, reference: number | null) => (value === null || reference === null || reference === 0 ? null : value / reference);
  for (const t of base) {
    if (t.status !== 'ok') continue;
    t.ratios = {
      direct: ratio(t.medianRps, references.direct),
      nginx: ratio(t.medianRps, references.nginx),
      bestNodePeer: ratio(t.medianRps, references.bestNodePeer),
      nodeFloor: ratio(t.medianRps, references.nodeFloor),
      stampgateA: ratio(t.medianRps, referenceRps),
    };
  }
  let goal: GoalVerdict | null = null;
  if (run.minRatioToA !== null) {
    const row = base.find((t) => t.target === 'stampgate' && !t.reference && t.status === 'ok');
    const value = row?.ratios.stampgateA ?? null;
    const cpuValue = row?.cpuUsPerReq && referenceRow?.cpuUsPerReq && referenceRow.status === 'ok' ? referenceRow.cpuUsPerReq / row.cpuUsPerReq : null;
    goal = { description: `stampgate ≥ ${run.minRatioToA.toFixed(2)}× stampgate@a's req/s (Stampgate's scenario a, same rounds)`, value, unit: 'ratio', met: value === null ? null : value >= run.minRatioToA, cpuValue };
  }
  return { id: run.id, title: run.title, request: run.request, unit: run.unit, bestNodePeer: best?.target ?? null, reference: referenceRow?.target ?? null, goal, targets: base };
}

function summarizeTarget(outcome: TargetOutcome): TargetSummary {
  const rounds = outcome.rounds;
  const measured = outcome.status === 'ok' && rounds.length > 0;
  const pick = (f: (r: RoundMeasurement) => number | null): number | null => {
    const values = rounds.map(f).filter((v): v is number => v !== null && Number.isFinite(v));
    return measured && values.length > 0 ? median(values) : null;
  };
  const rps = rounds.map((r) => r.rps);
  return {
    target: outcome.target,
    kind: outcome.kind,
    description: outcome.description,
    version: outcome.version,
    reference: outcome.reference,
    status: outcome.status,
    reason: outcome.reason,
    rounds: rounds.length,
    medianRps: pick((r) => r.rps),
    minRps: measured ? Math.min(...rps) : null,
    maxRps: measured ? Math.max(...rps) : null,
    spreadPercent: measured ? spreadPercent(rps) : null,
    p50Us: pick((r) => r.p50Us),
    p99Us: pick((r) => r.p99Us),
    cpuUsPerReq: pick((r) => r.cpuUsPerReq),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    ratios: { direct: null, nginx: null, bestNodePeer: null, nodeFloor: null, stampgateA: null },
  };
}

/**
 * The scenario's table, then one line per target that did not run and why, then the issue's
 * target for the scenario and whether it held. Scenarios with a `stampgate@a` row get a ×sg(a)
 * column; scenario (f) counts messages instead of requests.
 */
export function formatScenarioTable(summary: ScenarioSummary): string {
  const unit = summary.unit;
  const withReference = summary.reference !== null;
  const columns = ['target', `${unit}/s`, 'p50', 'p99', `CPU µs/${unit}`, '×direct', ...(withReference ? ['×sg(a)'] : []), '×nginx', '×best node', '×node-floor', 'spread', 'errors'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const t of summary.targets) {
    if (t.status !== 'ok') {
      rows.push([t.target, t.status, ...columns.slice(2).map(() => '')]);
      notes.push(`  ${t.target}: ${t.status}: ${t.reason ?? ''}`);
      continue;
    }
    rows.push([
      t.target,
      formatInt(t.medianRps),
      formatMs(t.p50Us),
      formatMs(t.p99Us),
      t.cpuUsPerReq === null ? '-' : t.cpuUsPerReq.toFixed(t.cpuUsPerReq < 10 ? 1 : 0),
      formatRatio(t.ratios.direct),
      ...(withReference ? [formatRatio(t.ratios.stampgateA)] : []),
      formatRatio(t.ratios.nginx),
      formatRatio(t.ratios.bestNodePeer),
      formatRatio(t.ratios.nodeFloor),
      t.spreadPercent === null || t.rounds < 2 ? '-' : `${t.spreadPercent.toFixed(0)}%`,
      String(t.errors),
    ]);
  }
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const out = [`Scenario ${summary.id}: ${summary.title}`, `best Node.js peer: ${summary.bestNodePeer ?? 'none ran'}`, '', line(columns), line(columns.map((_c, i) => '-'.repeat(widths[i] ?? 0))), ...rows.map(line)];
  if (notes.length > 0) out.push('', 'not measured:', ...notes);
  if (withReference) out.push('', `×sg(a): ÷ ${summary.reference ?? ''} (Stampgate set up as in scenario a, GET /, measured in these same rounds)`);
  if (summary.goal !== null) out.push(formatGoal(summary.goal));
  return out.join('\n');
}

/** `target: …: HELD (0.93×)`, `MISSED (…)`, or `NOT MEASURED`. */
export function formatGoal(goal: GoalVerdict): string {
  const verdict = goal.met === null ? 'NOT MEASURED' : goal.met ? 'HELD' : 'MISSED';
  const cpu = goal.cpuValue === undefined || goal.cpuValue === null ? '' : `; by CPU µs/req ${formatRatio(goal.cpuValue)}`;
  return `target: ${goal.description}: ${verdict}${goal.value === null ? '' : ` (${formatGoalValue(goal.value, goal.unit)}${cpu})`}`;
}

export function formatGoalValue(value: number, unit: GoalVerdict['unit']): string {
  switch (unit) {
    case 'ratio':
      return formatRatio(value);
    case 'ms':
      return value < 1000 ? `${value.toFixed(0)} ms` : `${(value / 1000).toFixed(2)} s`;
    case 'bytes':
      return `${(value / 1e6).toFixed(1)} MB`;
    case 'count':
      return String(value);
  }
}

/** One progress line for a measured round. */
export function formatRound(target: string, round: number, rounds: number, m: RoundMeasurement, unit: 'req' | 'msg' = 'req'): string {
  const cpu = m.cpuUsPerReq === null ? '' : `  CPU ${m.cpuUsPerReq.toFixed(0)} µs/${unit}`;
  const errors = m.errors > 0 ? `  ERRORS ${m.errors} (${m.errorDetail})` : '';
  return `  round ${round}/${rounds}  ${target.padEnd(20)} ${formatInt(m.rps).padStart(8)} ${unit}/s  p50 ${formatMs(m.p50Us)}  p99 ${formatMs(m.p99Us)}${cpu}${errors}`;
}

export function formatInt(value: number | null): string {
  return value === null ? '-' : Math.round(value).toLocaleString('en-US');
}

export function formatMs(us: number | null): string {
  if (us === null) return '-';
  const ms = us / 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

function formatRatio(value: number | null): string {
  return value === null ? '-' : `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
}
