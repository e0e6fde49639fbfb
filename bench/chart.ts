// The results as an SVG chart, written by hand (no chart library): per scenario, one row per
// target with a median req/s bar (whisker: slowest to fastest round) and a CPU µs/request bar
// (messages for scenario f; the stampgate@a reference row paler), then scenario (g)'s figures as a
// small table.
import { formatGoal } from './report.ts';
import type { BenchResults, ReloadSummary, ScenarioSummary, TargetSummary } from './results.ts';
import type { TargetKind } from './targets/types.ts';

const width = 980;
const labelWidth = 160;
const rpsX = labelWidth + 10;
const rpsWidth = 470;
const cpuX = rpsX + rpsWidth + 150;
const cpuWidth = width - cpuX - 70;
const rowHeight = 22;

const colors: Record<TargetKind, string> = {
  baseline: '#9e9e9e',
  stampgate: '#d84315',
  'native-peer': '#1e88e5',
  'node-peer': '#43a047',
  'node-floor': '#fb8c00',
};

export function renderChart(results: BenchResults): string {
  const parts: string[] = [];
  let y = 28;
  const s = results.settings;
  parts.push(text(12, y, `Stampgate bench: median of ${s.rounds} interleaved rounds of ${s.durationS} s, ${s.loadGenerator}, upstream ${s.upstream}`, 'title'));
  y += 18;
  parts.push(text(12, y, `${results.machine.cpus} cores (${results.machine.cpuModel}), Node.js ${results.machine.node}, ${results.generatedAt.slice(0, 16).replace('T', ' ')} UTC. Compare ratios within one run only.`, 'note'));
  for (const warning of results.warnings) {
    y += 14;
    parts.push(text(12, y, `WARNING: ${truncate(warning, 150)}`, 'warn'));
  }
  y += 14;
  for (const scenario of results.scenarios) y = renderScenario(parts, scenario, y + 16);
  if (results.reload.length > 0) y = renderReload(parts, results.reload, y + 16);
  y += 22;
  const legend: [TargetKind, string][] = [
    ['baseline', 'direct (no proxy)'],
    ['stampgate', 'Stampgate'],
    ['native-peer', 'NGINX / HAProxy / Caddy'],
    ['node-peer', 'Node.js proxies'],
    ['node-floor', 'Node.js floors (node:http + undici; net sockets)'],
  ];
  let x = 12;
  for (const [kind, label] of legend) {
    parts.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${colors[kind]}"/>`, text(x + 14, y, label, 'note'));
    x += 28 + label.length * 6.2;
  }
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<style>.title{font-size:14px;font-weight:bold}.head{font-size:13px;font-weight:bold}.note{font-size:11px;fill:#555}.label{font-size:12px}.value{font-size:11px}.na{font-size:11px;fill:#888;font-style:italic}.warn{font-size:11px;fill:#c62828}</style>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

function renderScenario(parts: string[], scenario: ScenarioSummary, top: number): number {
  let y = top;
  parts.push(text(12, y, truncate(`Scenario ${scenario.id}: ${scenario.title}`, 125), 'head'));
  y += 18;
  const unit = scenario.unit === 'msg' ? 'message' : 'request';
  const by = scenario.unit === 'msg' ? ', WebSocket client load-websocket.ts' : '';
  parts.push(text(rpsX, y, `${unit}s per second (median; whisker: slowest–fastest round${by})`, 'note'), text(cpuX, y, `proxy CPU µs per ${unit}`, 'note'));
  y += 8;
  const measured = scenario.targets.filter((t) => t.status === 'ok');
  const maxRps = Math.max(1, ...measured.map((t) => t.maxRps ?? 0));
  const maxCpu = Math.max(1, ...measured.map((t) => t.cpuUsPerReq ?? 0));
  for (const t of scenario.targets) {
    const mid = y + rowHeight / 2 + 4;
    parts.push(text(labelWidth, mid, t.target, 'label', 'end'));
    if (t.status !== 'ok' || t.medianRps === null) {
      parts.push(text(rpsX, mid, `${t.status}: ${truncate(t.reason ?? '', 110)}`, 'na'));
    } else {
      parts.push(...rpsBar(t, y, maxRps), ...cpuBar(t, y, maxCpu));
    }
    y += rowHeight;
  }
  if (scenario.goal !== null) {
    y += 14;
    parts.push(text(rpsX, y, formatGoal(scenario.goal), scenario.goal.met === true ? 'note' : 'warn'));
    y += 6;
  }
  return y;
}

/** Scenario (g): one line per tenant count, then its targets. */
function renderReload(parts: string[], reloads: ReloadSummary[], top: number): number {
  let y = top;
  parts.push(text(12, y, 'Scenario g: config reload and memory with a large tenant directory (Stampgate only)', 'head'));
  y += 18;
  const columns: [string, number][] = [['tenants', 90], ['directory heap', 200], ['per tenant', 290], ['reload median', 400], ['reload max', 500], ['reloads', 570], ['failed requests', 680], ['max latency', 790]];
  for (const [label, x] of columns) parts.push(text(x, y, label, 'note', 'end'));
  for (const r of reloads) {
    y += 16;
    if (r.status !== 'ok') {
      parts.push(text(90, y, r.tenants.toLocaleString('en-US'), 'value', 'end'), text(110, y, `${r.status}: ${truncate(r.reason ?? '', 110)}`, 'na'));
      continue;
    }
    const ms = (v: number | null) => (v === null ? '-' : v < 1000 ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : `${(v / 1000).toFixed(2)} s`);
    const cells = [
      r.tenants.toLocaleString('en-US'),
      r.directoryBytes === null ? '-' : `${(r.directoryBytes / 1e6).toFixed(1)} MB`,
      r.directoryBytes === null ? '-' : `${Math.round(r.directoryBytes / r.tenants)} B`,
      ms(r.reloadMedianMs),
      ms(r.reloadMaxMs),
      String(r.reloads.length),
      r.load === null ? '-' : String(r.load.errors),
      r.load === null ? '-' : ms(r.load.maxUs / 1000),
    ];
    cells.forEach((cell, i) => parts.push(text(columns[i]?.[1] ?? 0, y, cell, 'value', 'end')));
  }
  for (const goal of reloads.flatMap((r) => r.goals)) {
    y += 14;
    parts.push(text(rpsX, y, formatGoal(goal), goal.met === true ? 'note' : 'warn'));
  }
  return y;
}

function rpsBar(t: TargetSummary, y: number, maxRps: number): string[] {
  const scale = (v: number) => (v / maxRps) * rpsWidth;
  const w = scale(t.medianRps ?? 0);
  const mid = y + rowHeight / 2;
  const out = [`<rect x="${rpsX}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${colors[t.kind]}"${t.reference ? ' opacity="0.5"' : ''}/>`];
  if (t.minRps !== null && t.maxRps !== null && t.rounds > 1) {
    out.push(`<line x1="${(rpsX + scale(t.minRps)).toFixed(1)}" x2="${(rpsX + scale(t.maxRps)).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="#222" stroke-width="1.2"/>`);
  }
  const ratio = (t.ratios.direct === null || t.kind === 'baseline' ? '' : `  ${t.ratios.direct.toFixed(2)}× direct`) + (t.ratios.stampgateA === null || t.reference || t.kind === 'baseline' ? '' : `  ${t.ratios.stampgateA.toFixed(2)}× sg(a)`);
  const label = `${Math.round(t.medianRps ?? 0).toLocaleString('en-US')}${ratio}${t.errors > 0 ? `  (${t.errors} errors)` : ''}`;
  out.push(text(rpsX + Math.max(w, t.maxRps === null ? 0 : scale(t.maxRps)) + 6, mid + 4, label, 'value'));
  return out;
}

function cpuBar(t: TargetSummary, y: number, maxCpu: number): string[] {
  if (t.cpuUsPerReq === null) return [text(cpuX, y + rowHeight / 2 + 4, '-', 'value')];
  const w = (t.cpuUsPerReq / maxCpu) * cpuWidth;
  return [
    `<rect x="${cpuX}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${colors[t.kind]}" opacity="${t.reference ? 0.35 : 0.7}"/>`,
    text(cpuX + w + 6, y + rowHeight / 2 + 4, t.cpuUsPerReq.toFixed(0), 'value'),
  ];
}

function text(x: number, y: number, content: string, cls: string, anchor: 'start' | 'end' = 'start'): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" class="${cls}"${anchor === 'end' ? ' text-anchor="end"' : ''}>${escapeXml(content)}</text>`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
