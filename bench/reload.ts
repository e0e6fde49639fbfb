// Scenario (g): a large tenant directory's memory and config-reload time, Stampgate only. For each
// tenant count, targets/servers/stampgate-reload.ts runs the gateway in its own process (node
// --expose-gc) and measures the directory's heap; then, under a steady load from the run's load
// generator (GET / with X-Tenant-Id drawn from the N tenants, so every request looks the directory
// up), the harness asks it for `rounds` reloads, spread over the load, each a new config version
// and a directory.replace() of the N tenants. Every failed request of that load counts.
import { fileURLToPath } from 'node:url';
import type { LoadGenerator, LoadResult } from './load.ts';
import { waitUntilProxying } from './net.ts';
import type { BenchOptions } from './options.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { formatGoal, formatInt, formatMs } from './report.ts';
import type { GoalVerdict, ReloadSummary, ReloadTiming } from './results.ts';
import { smallBody, type LoadRequest, type ReloadScenario } from './scenarios.ts';
import { median } from './stats.ts';
import type { Upstream } from './upstream.ts';

const script = fileURLToPath(new URL('./targets/servers/stampgate-reload.ts', import.meta.url));
const startTimeoutMs = 180_000;
const controlTimeoutMs = 60_000;

interface Ready {
  listening: number;
  control: number;
  heapBaseBytes: number;
  heapWithDirectoryBytes: number;
  initialLoadMs: number;
  rssBytes: number;
}

/** The seconds a (g) run takes beyond its warm-up and load: starting, building the tenant lists. */
export function reloadOverheadS(scenario: ReloadScenario): number {
  return 3 + scenario.tenants / 150_000;
}

/** A (g) summary with nothing measured yet: filled in by a run, or reported as it is when none ran. */
export function emptyReloadSummary(scenario: ReloadScenario, status: ReloadSummary['status'], reason: string | null): ReloadSummary {
  return {
    id: scenario.id,
    title: scenario.title,
    tenants: scenario.tenants,
    stamps: scenario.stamps,
    status,
    reason,
    outputTail: null,
    heapBaseBytes: null,
    heapWithDirectoryBytes: null,
    directoryBytes: null,
    heapAfterReloadsBytes: null,
    rssBytes: null,
    initialLoadMs: null,
    reloads: [],
    reloadMedianMs: null,
    reloadMaxMs: null,
    load: null,
    goals: [],
  };
}

export async function runReloadScenario(scenario: ReloadScenario, upstream: Upstream, load: LoadGenerator, options: BenchOptions, log: (line: string) => void): Promise<ReloadSummary> {
  const summary = emptyReloadSummary(scenario, 'ok', null);
  const reloads = options.rounds;
  let proc: ManagedProcess | null = null;
  try {
    let announced: (ready: Ready) => void = () => {};
    const ready = new Promise<Ready>((resolve) => (announced = resolve));
    proc = await startProcess('stampgate (reload)', process.execPath, ['--expose-gc', script], {
      env: { ...process.env, UPSTREAM: upstream.url, PORT: '0', NODE_ENV: 'production', TENANTS: String(scenario.tenants), STAMPS: String(scenario.stamps), RELOADS: String(reloads) },
      onStdoutLine(line) {
        if (line.startsWith('{"listening":')) announced(JSON.parse(line) as Ready);
      },
    });
    const started = proc;
    const info = await withTimeout(Promise.race([ready, started.exited.then(() => Promise.reject(new Error(`it ${started.exitDescription ?? 'exited'} before listening`)))]), startTimeoutMs, 'it did not listen');
    summary.heapBaseBytes = info.heapBaseBytes;
    summary.heapWithDirectoryBytes = info.heapWithDirectoryBytes;
    summary.directoryBytes = info.heapWithDirectoryBytes - info.heapBaseBytes;
    summary.initialLoadMs = info.initialLoadMs;
    summary.rssBytes = info.rssBytes;
    log(`  stampgate: ready with ${scenario.tenants.toLocaleString('en-US')} tenants; directory ${formatBytes(summary.directoryBytes)} of heap, loaded in ${formatMsValue(info.initialLoadMs)}`);

    const url = `http://127.0.0.1:${info.listening}`;
    const controlUrl = `http://127.0.0.1:${info.control}`;
    const request: LoadRequest = { method: 'GET', path: '/', headers: {}, body: null, tenantHeader: { name: 'X-Tenant-Id', count: scenario.tenants } };
    await waitUntilProxying(url, request, smallBody, [started]);
    if (options.warmupS > 0) {
      log(`  warm-up: ${options.warmupS} s`);
      await load.run(url, request, { connections: options.connections, durationS: options.warmupS });
    }

    // The load, and `reloads` reloads at even intervals inside it (one after the other).
    log(`  load: ${options.durationS} s with ${reloads} reload${reloads === 1 ? '' : 's'} of ${scenario.tenants.toLocaleString('en-US')} tenants`);
    const loadStartedAt = performance.now();
    let loadEndedAt = Number.POSITIVE_INFINITY;
    const running = load.run(url, request, { connections: options.connections, durationS: options.durationS }).finally(() => (loadEndedAt = performance.now()));
    running.catch(() => {}); // awaited below
    const lateReloads: number[] = [];
    for (let i = 0; i < reloads; i++) {
      const at = ((i + 1) / (reloads + 1)) * options.durationS * 1000;
      await sleep(Math.max(0, loadStartedAt + at - performance.now()));
      const timing = await control<ReloadTiming>(controlUrl, 'POST', '/reload');
      if (performance.now() > loadEndedAt) lateReloads.push(i + 1);
      summary.reloads.push(timing);
      log(`  reload ${i + 1}/${reloads}: ${formatMsValue(timing.totalMs)} (applyConfig ${formatMsValue(timing.applyMs)}, directory.replace ${formatMsValue(timing.replaceMs)})`);
    }
    const result: LoadResult = await running;
    summary.load = { requests: result.requests, rps: result.rps, errors: result.errors, errorDetail: result.errorDetail, p99Us: result.p99Us, maxUs: result.maxUs };
    if (lateReloads.length > 0) log(`  note: reload ${lateReloads.join(', ')} ended after the load had: run with a longer --duration to cover it`);
    const heap = await control<{ heapUsedBytes: number; rssBytes: number }>(controlUrl, 'GET', '/heap');
    summary.heapAfterReloadsBytes = heap.heapUsedBytes;
    summary.rssBytes = Math.max(summary.rssBytes ?? 0, heap.rssBytes);
    const totals = summary.reloads.map((r) => r.totalMs);
    summary.reloadMedianMs = totals.length > 0 ? median(totals) : null;
    summary.reloadMaxMs = totals.length > 0 ? Math.max(...totals) : null;
  } catch (error) {
    summary.status = 'failed';
    summary.reason = (error as Error).message;
    summary.outputTail = proc?.tail() ?? null;
    log(`  stampgate: FAILED: ${summary.reason}${summary.outputTail ? `\n${summary.outputTail.replace(/^/gm, '      | ')}` : ''}`);
  } finally {
    await proc?.stop();
  }
  summary.goals = reloadGoals(scenario, summary);
  return summary;
}

function reloadGoals(scenario: ReloadScenario, s: ReloadSummary): GoalVerdict[] {
  const n = scenario.tenants.toLocaleString('en-US');
  const ok = s.status === 'ok';
  const goals: GoalVerdict[] = [];
  if (scenario.maxReloadMs !== undefined) {
    goals.push({ description: `reload with ${n} tenants under ${scenario.maxReloadMs / 1000} s (slowest reload)`, value: ok ? s.reloadMaxMs : null, unit: 'ms', met: ok && s.reloadMaxMs !== null ? s.reloadMaxMs < scenario.maxReloadMs : null });
  }
  goals.push({ description: `zero failed requests under load with ${n} tenants, reloads included`, value: s.load?.errors ?? null, unit: 'count', met: ok && s.load !== null ? s.load.errors === 0 : null });
  if (scenario.maxDirectoryBytes !== undefined) {
    goals.push({ description: `directory at ${n} tenants under ${scenario.maxDirectoryBytes / 1e6} MB of heap`, value: ok ? s.directoryBytes : null, unit: 'bytes', met: ok && s.directoryBytes !== null ? s.directoryBytes < scenario.maxDirectoryBytes : null });
  }
  return goals;
}

/** Scenario (g)'s own table: one row per tenant count, then the targets and whether they held. */
export function formatReloadTable(summaries: ReloadSummary[]): string {
  const columns = ['tenants', 'directory heap', 'per tenant', 'heap used', 'after reloads', 'rss', 'first load', 'reload median', 'reload max', 'applyConfig', 'dir.replace', 'reloads', 'load req/s', 'failed', 'max latency'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const s of summaries) {
    if (s.status !== 'ok') {
      rows.push([formatInt(s.tenants), s.status, ...columns.slice(2).map(() => '')]);
      notes.push(`  ${s.id}: ${s.status}: ${s.reason ?? ''}`);
      continue;
    }
    const medianOf = (f: (r: ReloadTiming) => number) => (s.reloads.length > 0 ? median(s.reloads.map(f)) : null);
    rows.push([
      formatInt(s.tenants),
      formatBytes(s.directoryBytes),
      s.directoryBytes === null ? '-' : `${Math.round(s.directoryBytes / s.tenants)} B`,
      formatBytes(s.heapWithDirectoryBytes),
      formatBytes(s.heapAfterReloadsBytes),
      formatBytes(s.rssBytes),
      formatMsValue(s.initialLoadMs),
      formatMsValue(s.reloadMedianMs),
      formatMsValue(s.reloadMaxMs),
      formatMsValue(medianOf((r) => r.applyMs)),
      formatMsValue(medianOf((r) => r.replaceMs)),
      String(s.reloads.length),
      formatInt(s.load?.rps ?? null),
      s.load === null ? '-' : String(s.load.errors),
      formatMs(s.load?.maxUs ?? null),
    ]);
  }
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  const out = [
    'Scenario g: config reload and memory with a large tenant directory (Stampgate only, one process)',
    `${summaries[0]?.stamps ?? ''} stamps at the same upstream; load: GET / with X-Tenant-Id drawn from the N tenants; a reload = applyConfig(new version) + directory.replace(N tenants), timed in the gateway`,
    '',
    line(columns),
    line(columns.map((_c, i) => '-'.repeat(widths[i] ?? 0))),
    ...rows.map(line),
  ];
  if (notes.length > 0) out.push('', 'not measured:', ...notes);
  const goals = summaries.flatMap((s) => s.goals);
  if (goals.length > 0) out.push('');
  for (const goal of goals) out.push(formatGoal(goal));
  return out.join('\n');
}

/** Bytes in MB (10^6 bytes, as the issue's "200 MB"). */
export function formatBytes(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 1e6).toFixed(1)} MB`;
}

function formatMsValue(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

async function control<T>(baseUrl: string, method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await fetch(new URL(path, baseUrl), { method, signal: AbortSignal.timeout(controlTimeoutMs) });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(`${method} ${path} on the control port answered ${response.status}: ${body.error ?? ''}`);
  return body;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
