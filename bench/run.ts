// `npm run bench` (node bench/run.ts): starts one fixed cheap upstream, starts each target in its
// own process, checks that each one proxies correctly, warms each up, then runs the same load against
// each in interleaved rounds (A B C … A B C …) and prints, per target, the median req/s, p50/p99
// latency, CPU µs per request, and ratios to direct, NGINX and the best Node.js peer. Results go to
// <out>/latest.json and <out>/latest.svg. See bench/README.md for how to read them.
//
// Scenarios (b), (c) and (e) also measure `stampgate@a` (Stampgate set up as in scenario a) in the
// same interleaved rounds, the reference of their ×sg(a) column; (f) measures WebSocket echoes per
// second against its own echo upstream; (g) is Stampgate's reload time and memory (reload.ts).
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart } from './chart.ts';
import { chooseLoadGenerator, runWebSocketLoad, type LoadGenerator, type LoadResult, type LoadSettings } from './load.ts';
import { waitUntilEchoing, waitUntilProxying } from './net.ts';
import { parseOptions, usage, type BenchOptions } from './options.ts';
import { clockTicksPerSecond, groupCpuSeconds, sampleBackgroundCpu } from './proc-cpu.ts';
import { killAllProcessesNow, liveProcesses, stopAllProcesses, type ManagedProcess } from './processes.ts';
import { emptyReloadSummary, formatReloadTable, reloadOverheadS, runReloadScenario, sleep } from './reload.ts';
import { formatGoal, formatRound, formatScenarioTable, summarizeScenario } from './report.ts';
import type { BenchResults, LoadUnit, ReloadSummary, RoundMeasurement, RunSettings, ScenarioRun, TargetOutcome } from './results.ts';
import { scenarioA, selectScenarios, type HttpScenario, type ReloadScenario, type Scenario, type TargetSetup, type WebSocketScenario } from './scenarios.ts';
import { ensureTools, findTool, installHint, nginx as nginxTool, versionLine, wrk as wrkTool, type SystemTool } from './system-packages.ts';
import { allTargets, selectTargets, smokeTargetNames } from './targets/index.ts';
import { TargetStartError, type RunningTarget, type Target } from './targets/types.ts';
import { startUpstream, startWebSocketUpstream, type Upstream } from './upstream.ts';

const pauseBetweenRunsMs = 300;
const tmpPrefix = 'stampgate-bench-';

let options: BenchOptions;
let scenarios: Scenario[];
let targets: Target[];
try {
  options = parseOptions(process.argv.slice(2));
  scenarios = selectScenarios(options.scenarios);
  targets = selectTargets(options.targets ?? (options.smoke ? smokeTargetNames : allTargets.map((t) => t.name)));
} catch (error) {
  console.error(`bench: ${(error as Error).message}\n\n${usage}`);
  process.exit(2);
}
if (options.help) {
  console.log(usage);
  process.exit(0);
}

removeStaleRunFolders();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
writeFileSync(path.join(tmpDir, 'owner.pid'), String(process.pid));
// NGINX's workers run as an unprivileged user when started as root: they must reach the files.
chmodSync(tmpDir, 0o755);
let stopping = false;

/** Stops every process this run started, removes its temporary folder, and exits. */
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const count = liveProcesses().length;
  console.error(`\nbench: ${reason}; stopping ${count} process${count === 1 ? '' : 'es'}`);
  await stopAllProcesses();
  rmSync(tmpDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void shutdown('interrupted (SIGINT)', 130));
process.on('SIGTERM', () => void shutdown('terminated (SIGTERM)', 143));
process.on('SIGHUP', () => void shutdown('hung up (SIGHUP)', 129));
process.on('uncaughtException', (error) => void shutdown(`internal error: ${error.stack ?? error.message}`, 1));
process.on('unhandledRejection', (error) => void shutdown(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1));
process.on('exit', () => {
  killAllProcessesNow();
  rmSync(tmpDir, { recursive: true, force: true });
});

const code = await main(options, scenarios, targets).catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  return 1;
});
stopping = true;
await stopAllProcesses();
rmSync(tmpDir, { recursive: true, force: true });
process.exit(code);

async function main(options: BenchOptions, scenarios: Scenario[], targets: Target[]): Promise<number> {
  const problems: string[] = [];
  const warnings: string[] = [];
  console.log(`Stampgate bench${options.smoke ? ' (smoke)' : ''}: scenario ${scenarios.map((s) => s.id).join(', ')}; targets ${targets.map((t) => t.name).join(', ')}`);

  const background = await sampleBackgroundCpu();
  if (background && background.busyPercent > 25) {
    const busiest = background.top.map((p) => `${p.name} (pid ${p.pid}) ${p.percent.toFixed(0)}%`).join(', ');
    const message = `the machine was already ${background.busyPercent.toFixed(0)}% busy (of one core) before the run started (${busiest || 'short-lived processes'}); results will be noisier than usual`;
    console.log(`WARNING: ${message}`);
    warnings.push(message);
  }

  // The Debian tools this run can use: wrk for the load, NGINX for the upstream, the native peers.
  const wanted = new Set<SystemTool>(options.upstream === 'node' ? [] : [nginxTool]);
  if (options.load !== 'autocannon') wanted.add(wrkTool);
  for (const t of targets) if (t.tool) wanted.add(t.tool);
  const missing = ensureTools([...wanted], options.install, (line) => console.log(line));

  const load = chooseLoadGenerator(options.load, tmpDir, options.connections);
  const why = load.name === 'wrk' ? 'wrk is on PATH' : options.load === 'autocannon' ? '--load autocannon' : `wrk is not installed; for wrk: ${installHint([wrkTool])}`;
  console.log(`load generator: ${load.description} (${why})`);

  const nginxPath = options.upstream === 'node' ? null : findTool(nginxTool);
  if (!nginxPath && options.upstream === 'nginx') {
    console.error(`bench: --upstream nginx given, but NGINX is not installed: ${missing.get(nginxTool) ?? installHint([nginxTool])}`);
    return 1;
  }
  if (!nginxPath && options.upstream === null) console.log(`upstream: NGINX is not installed, using a node:http upstream instead (${missing.get(nginxTool) ?? ''})`);
  let upstream: Upstream;
  try {
    upstream = await startUpstream(nginxPath, nginxPath ? versionLine(nginxPath, ['-v']).replace(/^nginx version:\s*/, '') : '', tmpDir);
  } catch (error) {
    console.error(`bench: cannot start the upstream: ${(error as Error).message}`);
    return 1;
  }
  console.log(`upstream: ${upstream.description} at ${upstream.url}`);

  const perTarget = options.warmupS + options.rounds * (options.durationS + pauseBetweenRunsMs / 1000 + 0.2);
  const withStampgate = targets.some((t) => t.name === 'stampgate');
  let estimateS = 0;
  for (const scenario of scenarios) {
    if (scenario.kind === 'reload') estimateS += withStampgate ? 5 + reloadOverheadS(scenario) + options.warmupS + options.durationS : 0;
    else {
      // Targets that cannot be set up as the scenario asks only get a line in its table.
      const rows = targets.filter((t) => t.unsupported(scenario.setup) === null).length + (scenario.kind === 'http' && scenario.reference && withStampgate ? 1 : 0);
      estimateS += 5 + rows * (perTarget + 1);
    }
  }
  console.log(`${options.rounds} rounds × ${options.durationS} s per target after a ${options.warmupS} s warm-up each; about ${estimateS < 120 ? `${Math.ceil(estimateS)} s` : `${(estimateS / 60).toFixed(1)} min`} in all`);
  const limitS = Math.ceil(estimateS * 1.5 + 120);
  setTimeout(() => void shutdown(`time limit of ${limitS} s reached`, 1), limitS * 1000).unref();

  const settings: RunSettings = {
    loadGenerator: `${load.description} -d${options.durationS}s`,
    connections: options.connections,
    durationS: options.durationS,
    warmupS: options.warmupS,
    rounds: options.rounds,
    upstream: upstream.description,
  };
  const runs: ScenarioRun[] = [];
  const reloads: ReloadSummary[] = [];
  let webSocketUpstream: Upstream | null = null;
  for (const scenario of scenarios) {
    if (scenario.kind === 'reload') {
      reloads.push(await runReload(scenario, targets, upstream, load, options));
      continue;
    }
    let scenarioUpstream = upstream;
    if (scenario.kind === 'websocket') {
      try {
        webSocketUpstream ??= await startWebSocketUpstream();
      } catch (error) {
        problems.push(`scenario ${scenario.id}: ${(error as Error).message}`);
        continue;
      }
      console.log(`upstream for scenario ${scenario.id}: ${webSocketUpstream.description} at ${webSocketUpstream.url}`);
      scenarioUpstream = webSocketUpstream;
    }
    runs.push(await runScenario(scenario, targets, scenarioUpstream, load, options, missing));
  }
  await upstream.process.stop();
  await webSocketUpstream?.process.stop();

  const summaries = runs.map(summarizeScenario);
  for (const run of runs) {
    for (const o of run.outcomes) {
      if (o.status === 'failed') problems.push(`scenario ${run.id}: ${o.target} failed: ${o.reason ?? ''}`);
      const errors = o.rounds.reduce((sum, r) => sum + r.errors, 0);
      if (errors > 0) problems.push(`scenario ${run.id}: ${o.target} had ${errors} errors (${o.rounds.map((r) => r.errorDetail).filter(Boolean).join('; ')})`);
      if (options.smoke && (o.status === 'unavailable' || o.status === 'unsupported')) problems.push(`scenario ${run.id}: ${o.target} ${o.status}: ${o.reason ?? ''}`);
    }
  }
  for (const r of reloads) {
    if (r.status === 'failed') problems.push(`scenario ${r.id}: stampgate failed: ${r.reason ?? ''}`);
    if (r.load !== null && r.load.errors > 0) problems.push(`scenario ${r.id}: stampgate had ${r.load.errors} failed requests under load with reloads (${r.load.errorDetail})`);
  }

  const results: BenchResults = {
    schema: 'stampgate-bench/1',
    generatedAt: new Date().toISOString(),
    command: `node bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', os: `${os.type()} ${os.release()}`, node: process.version, clockTicksPerSecond },
    settings,
    scenarios: summaries,
    reload: reloads,
    rounds: Object.fromEntries(runs.map((r) => [r.id, Object.fromEntries(r.outcomes.filter((o) => o.rounds.length > 0).map((o) => [o.target, o.rounds]))])),
    backgroundCpuPercent: background ? Math.round(background.busyPercent) : null,
    warnings,
    problems,
  };
  mkdirSync(options.outDir, { recursive: true });
  const jsonPath = path.join(options.outDir, 'latest.json');
  const svgPath = path.join(options.outDir, 'latest.svg');
  writeFileSync(jsonPath, `${JSON.stringify(results, (_key, value: unknown) => (typeof value === 'number' ? Math.round(value * 100) / 100 : value), 2)}\n`);
  writeFileSync(svgPath, renderChart(results));

  console.log(`\nload: ${settings.loadGenerator}, ${settings.rounds} interleaved rounds, warm-up ${settings.warmupS} s; upstream: ${settings.upstream}; ${results.machine.cpus} cores, load generator and proxies share them`);
  for (const summary of summaries) console.log(`\n${formatScenarioTable(summary)}`);
  if (reloads.length > 0) console.log(`\n${formatReloadTable(reloads)}`);
  const goals = [...summaries.flatMap((s) => (s.goal === null ? [] : [{ id: s.id, goal: s.goal }])), ...reloads.flatMap((r) => r.goals.map((goal) => ({ id: r.id, goal })))];
  const missed = goals.filter((g) => g.goal.met !== true);
  if (goals.length > 0) console.log(`\nissue targets: ${goals.length - missed.length} of ${goals.length} held in this run${missed.length > 0 ? `; not held (the run does not fail for it):\n${missed.map((g) => `  ${g.id}: ${formatGoal(g.goal)}`).join('\n')}` : ''}`);
  console.log(`\nratios compare median req/s within this run (absolute figures drift ±20% between runs). Results: ${jsonPath}, ${svgPath}`);
  for (const warning of warnings) console.log(`WARNING: ${warning}`);
  if (problems.length > 0) {
    console.error(`\nbench: FAILED: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  return 0;
}

/** What a scenario's load does: check a target once, then load it for a while. */
interface Workload {
  unit: LoadUnit;
  check(url: string, processes: ManagedProcess[]): Promise<void>;
  run(url: string, settings: LoadSettings): Promise<LoadResult>;
}

function workloadFor(scenario: HttpScenario | WebSocketScenario, load: LoadGenerator): Workload {
  if (scenario.kind === 'websocket') {
    return {
      unit: 'msg',
      check: (url, processes) => waitUntilEchoing(url, scenario.messageBytes, processes),
      run: (url, settings) => runWebSocketLoad(url, scenario.messageBytes, settings, tmpDir),
    };
  }
  return {
    unit: 'req',
    check: (url, processes) => waitUntilProxying(url, scenario.request, scenario.expectedBody, processes),
    run: (url, settings) => load.run(url, scenario.request, settings),
  };
}

/** One row of a scenario's table: a target, set up and loaded as the scenario says (or as scenario a, for stampgate@a). */
interface Row {
  name: string;
  target: Target;
  setup: TargetSetup;
  workload: Workload;
  reference: boolean;
}

async function runScenario(scenario: HttpScenario | WebSocketScenario, targets: Target[], upstream: Upstream, load: LoadGenerator, options: BenchOptions, missing: Map<SystemTool, string>): Promise<ScenarioRun> {
  console.log(`\nscenario ${scenario.id}: ${scenario.title}`);
  const workload = workloadFor(scenario, load);
  const rows: Row[] = [];
  for (const target of targets) {
    if (target.name === 'stampgate' && scenario.kind === 'http' && scenario.reference) {
      const a = scenarioA();
      rows.push({ name: 'stampgate@a', target, setup: a.setup, workload: workloadFor(a, load), reference: true });
    }
    rows.push({ name: target.name, target, setup: scenario.setup, workload, reference: false });
  }
  const outcomes: TargetOutcome[] = [];
  const running = new Map<TargetOutcome, { row: Row; instance: RunningTarget }>();

  for (const row of rows) {
    const { target } = row;
    const binary = target.tool ? findTool(target.tool) : null;
    const description = row.reference ? 'Stampgate set up as in scenario a (one `default` stamp, no middleware), sent GET /: the ×sg(a) reference' : target.description;
    const outcome: TargetOutcome = { target: row.name, kind: target.kind, description, version: '', reference: row.reference, status: 'ok', reason: null, outputTail: null, rounds: [] };
    outcomes.push(outcome);
    const unavailable = target.unavailable?.() ?? (target.tool && !binary ? `${target.tool.binary} ${missing.get(target.tool) ?? 'is not installed'}` : null);
    const unsupported = unavailable === null ? target.unsupported(row.setup) : null;
    if (unavailable !== null || unsupported !== null) {
      outcome.status = unavailable !== null ? 'unavailable' : 'unsupported';
      outcome.reason = unavailable ?? unsupported;
      console.log(`  ${row.name}: ${outcome.status}: ${outcome.reason}`);
      continue;
    }
    outcome.version = target.version?.(binary) ?? '';
    let instance: RunningTarget | null = null;
    try {
      instance = await target.start({ upstream, setup: row.setup, tmpDir, binary });
      await row.workload.check(instance.url, instance.processes);
      running.set(outcome, { row, instance });
      console.log(`  ${row.name}: ready at ${instance.url}${outcome.version ? ` (${outcome.version})` : ''}`);
    } catch (error) {
      outcome.status = 'failed';
      outcome.reason = `did not start: ${(error as Error).message}`;
      outcome.outputTail = error instanceof TargetStartError ? error.outputTail : (instance?.processes.map((p) => p.tail()).join('\n') ?? null);
      console.log(`  ${row.name}: FAILED to start: ${(error as Error).message}${outcome.outputTail ? `\n${indent(outcome.outputTail)}` : ''}`);
      for (const p of instance?.processes ?? []) await p.stop();
    }
  }

  const settings: LoadSettings = { connections: options.connections, durationS: options.durationS };
  if (options.warmupS > 0) {
    console.log(`warm-up: ${options.warmupS} s each`);
    for (const [outcome, { row, instance }] of running) {
      try {
        await row.workload.run(instance.url, { connections: options.connections, durationS: options.warmupS });
      } catch (error) {
        markFailed(outcome, instance, `warm-up failed: ${(error as Error).message}`);
        running.delete(outcome);
      }
      await sleep(pauseBetweenRunsMs);
    }
  }

  for (let round = 1; round <= options.rounds; round++) {
    for (const [outcome, { row, instance }] of running) {
      try {
        const m = await measure(instance, upstream, row.workload, settings, round);
        outcome.rounds.push(m);
        console.log(formatRound(outcome.target, round, options.rounds, m, row.workload.unit));
      } catch (error) {
        markFailed(outcome, instance, `round ${round} failed: ${(error as Error).message}`);
      }
      const dead = instance.processes.find((p) => !p.running);
      if (dead && outcome.status === 'ok') markFailed(outcome, instance, `${dead.name} ${dead.exitDescription ?? 'exited'} during round ${round}`);
      if (outcome.status !== 'ok') running.delete(outcome);
      await sleep(pauseBetweenRunsMs);
    }
  }

  for (const { instance } of running.values()) for (const p of instance.processes) await p.stop();
  if (scenario.setup.kind === 'chain') console.log(`  ${describeAccessLog(path.join(tmpDir, 'stampgate-access.log'))}`);
  return { id: scenario.id, title: scenario.title, request: describeRequest(scenario), unit: workload.unit, minRatioToA: scenario.kind === 'http' ? (scenario.minRatioToA ?? null) : null, outcomes };
}

/** Scenario (g), when the stampgate target is selected (it is about Stampgate only). */
async function runReload(scenario: ReloadScenario, targets: Target[], upstream: Upstream, load: LoadGenerator, options: BenchOptions): Promise<ReloadSummary> {
  console.log(`\nscenario ${scenario.id}: ${scenario.title}`);
  if (targets.some((t) => t.name === 'stampgate')) return runReloadScenario(scenario, upstream, load, options, (line) => console.log(line));
  const reason = 'the stampgate target is not selected (--targets)';
  console.log(`  not run: ${reason}`);
  return emptyReloadSummary(scenario, 'not run', reason);
}

async function measure(instance: RunningTarget, upstream: Upstream, workload: Workload, settings: LoadSettings, round: number): Promise<RoundMeasurement> {
  const cpuBefore = targetCpuSeconds(instance);
  const upstreamBefore = groupCpuSeconds(upstream.process.pid);
  const result = await workload.run(instance.url, settings);
  const cpuAfter = targetCpuSeconds(instance);
  const upstreamAfter = groupCpuSeconds(upstream.process.pid);
  const perRequest = (before: number | null, after: number | null) => (before === null || after === null || result.requests === 0 ? null : ((after - before) * 1e6) / result.requests);
  return {
    round,
    rps: result.rps,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    maxUs: result.maxUs,
    requests: result.requests,
    errors: result.errors,
    errorDetail: result.errorDetail,
    cpuUsPerReq: perRequest(cpuBefore, cpuAfter),
    upstreamCpuUsPerReq: perRequest(upstreamBefore, upstreamAfter),
  };
}

/** CPU seconds of all of the target's process groups; null for `direct` (no processes of its own). */
function targetCpuSeconds(instance: RunningTarget): number | null {
  if (instance.processes.length === 0) return null;
  let total = 0;
  for (const p of instance.processes) {
    const seconds = groupCpuSeconds(p.pid);
    if (seconds === null) return null;
    total += seconds;
  }
  return total;
}

function markFailed(outcome: TargetOutcome, instance: RunningTarget, reason: string): void {
  if (stopping) return; // processes stopped by the shutdown are not failures
  outcome.status = 'failed';
  outcome.reason = reason;
  outcome.outputTail = instance.processes.map((p) => p.tail()).join('\n') || null;
  console.log(`  ${outcome.target}: FAILED: ${reason}${outcome.outputTail ? `\n${indent(outcome.outputTail)}` : ''}`);
  for (const p of instance.processes) void p.stop();
}

function describeRequest(scenario: HttpScenario | WebSocketScenario): string {
  if (scenario.kind === 'websocket') return `WebSocket text messages of ${scenario.messageBytes} bytes, one in flight per connection, each echoed intact`;
  const r = scenario.request;
  const headers = Object.entries(r.headers).filter(([name]) => name.toLowerCase() !== 'content-type').map(([name, value]) => `${name}: ${value}`);
  if (r.tenantHeader) headers.push(`${r.tenantHeader.name}: one of ${r.tenantHeader.count.toLocaleString('en-US')} tenants at random`);
  return `${r.method} ${r.path}${headers.length > 0 ? ` (${headers.join(', ')})` : ''}${r.body ? ` with a ${r.body.length}-byte body` : ''}, expecting 200 with ${scenario.expectedBody.length} bytes`;
}

/** Scenario c's access log, to show that it was written: its lines and size. */
function describeAccessLog(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return `stampgate's access log ${file}: not written`;
  }
  const lines = text.split('\n').filter(Boolean);
  return `stampgate's access log: ${lines.length.toLocaleString('en-US')} JSON lines, ${(text.length / 1e6).toFixed(1)} MB; the last: ${(lines.at(-1) ?? '').slice(0, 160)}…`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `      | ${line}`)
    .join('\n');
}

/** Removes the temporary folders of earlier runs that were killed before they could (their owner is gone). */
function removeStaleRunFolders(): void {
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(tmpPrefix)) continue;
    const dir = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not one of ours, or not readable: leave it
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
