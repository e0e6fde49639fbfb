// The monitoring files in deploy/monitoring/ against the code: every metric a PromQL expression
// names (Grafana dashboard, README, the seed's queries) must be one that GatewayMetrics or
// ControlPlaneMetrics exports, so a renamed metric breaks this test instead of a dashboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ControlPlaneMetrics } from '../../src/observe/metrics/control-plane-metrics.ts';
import { GatewayMetrics } from '../../src/observe/metrics/gateway-metrics.ts';

const dir = new URL('../../deploy/monitoring/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

/** Seed 001's queries, as the seed wrote them. */
const SEED_QUERIES = [
  'sum(rate(traefik_entrypoint_requests_total[1m]))',
  'histogram_quantile(0.95, sum(rate(traefik_service_request_duration_seconds_bucket[5m])) by (le))',
  'sum by(service) (increase(traefik_service_requests_total{code=~"5.."}[5m]))',
  'sum by(router) (rate(traefik_router_requests_total[1m]))',
];

const FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'stdvar', 'count_values', 'group',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'scalar', 'vector', 'time', 'abs',
  'absent', 'clamp_min', 'clamp_max', 'round', 'sort', 'sort_desc', 'avg_over_time', 'max_over_time', 'min_over_time', 'label_replace',
]);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The metric names an expression reads. Throws on a function this reader does not know. */
function metricNames(expression: string): string[] {
  const labelValues = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expression);
  if (labelValues) return [labelValues[1]!];
  const s = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (regexes such as "5..")
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\{?\w+\}?/g, ''); // Grafana variables
  const names: string[] = [];
  for (const match of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const token = match[0];
    const rest = s.slice(match.index + token.length).trimStart();
    if (rest.startsWith('(')) {
      assert.ok(FUNCTIONS.has(token), `unknown PromQL function ${token} in ${expression}`);
      continue;
    }
    if (!KEYWORDS.has(token)) names.push(token);
  }
  return names;
}

/** Parentheses, brackets and braces balance outside strings. */
function balanced(expression: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of expression.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

/** Every series name a registry's scrape shows, with _bucket/_sum/_count for histograms. */
async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const source of [new GatewayMetrics(), new ControlPlaneMetrics()]) {
    for (const line of (await source.metrics()).split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type === null) continue;
      const [, name, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
      else names.add(name);
    }
  }
  return names;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const dashboard = JSON.parse(read('grafana-dashboard.json')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const panelExpressions = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const variableExpressions = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => ({ panel: `variable ${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query!.query }));

test('every PromQL expression in the dashboard reads only metrics the code exports', async () => {
  const names = await exported();
  assert.ok(panelExpressions.length >= 20);
  for (const { panel, expr } of [...panelExpressions, ...variableExpressions]) {
    assert.ok(balanced(expr), `${panel}: unbalanced ${expr}`);
    const used = metricNames(expr);
    assert.ok(used.length > 0, `${panel}: no metric in ${expr}`);
    for (const name of used) assert.ok(names.has(name), `${panel}: ${name} is not exported (${expr})`);
  }
});

test('the dashboard shows what it promises', () => {
  const all = panelExpressions.map((e) => e.expr);
  const shows = (what: string, test: (expr: string) => boolean): void => assert.ok(all.some(test), `no panel for ${what}`);
  shows('throughput', (e) => e.startsWith('sum(rate(traefik_entrypoint_requests_total'));
  shows('p95 latency', (e) => e.startsWith('histogram_quantile(0.95, sum(rate(traefik_service_request_duration_seconds_bucket'));
  shows('5xx by service', (e) => /^sum by \(service\) \(increase\(traefik_service_requests_total\{code=~"5\.\."/.test(e));
  shows('error rate', (e) => e.includes('code=~"5.."') && e.includes(' / '));
  shows('requests by router', (e) => e.includes('sum by (router) (rate(traefik_router_requests_total'));
  shows('requests per stamp', (e) => e.startsWith('sum by (stamp) (rate(stampgate_stamp_requests_total'));
  shows('p95 per stamp', (e) => e.startsWith('histogram_quantile(0.95, sum by (stamp, le) (rate(stampgate_stamp_request_duration_seconds_bucket'));
  shows('server up/down', (e) => e.includes('traefik_service_server_up'));
  shows('passive ejection', (e) => e.includes('stampgate_service_server_ejected'));
  shows('config reloads', (e) => e.includes('traefik_config_reloads_total'));
});

test('the dashboard loads as it is: data source input, unique ids, a valid grid', () => {
  assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
  assert.ok(dashboard.templating.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource'), 'a data-source variable for provisioning');
  assert.equal(typeof dashboard.uid, 'string');
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const cells = new Set<string>();
  for (const p of panels) {
    const { h, w, x, y } = p.gridPos;
    assert.ok(w >= 1 && x >= 0 && x + w <= 24 && h >= 1 && y >= 0, `${p.title}: grid position`);
    for (let row = y; row < y + h; row++) for (let col = x; col < x + w; col++) {
      assert.ok(!cells.has(`${row}:${col}`), `${p.title} overlaps another panel`);
      cells.add(`${row}:${col}`);
    }
    if (p.type === 'row') continue;
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: data source`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}/${t.refId}: data source`);
  }
});

test('the seed\'s queries and the README\'s run on the exported metrics', async () => {
  const names = await exported();
  const readme = read('README.md');
  const blocks = [...readme.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const expressions = blocks.flatMap((b) => b.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')));
  assert.ok(expressions.length >= 10);
  for (const seed of SEED_QUERIES) assert.ok(expressions.includes(seed), `README lists the seed query ${seed}`);
  for (const expr of [...SEED_QUERIES, ...expressions]) {
    assert.ok(balanced(expr), `unbalanced ${expr}`);
    for (const name of metricNames(expr)) assert.ok(names.has(name), `${name} is not exported (${expr})`);
  }
});

test('prometheus.yml scrapes the gateway and the control plane on /metrics', () => {
  const config = parseYaml(read('prometheus.yml')) as { global: { scrape_interval: string }; scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[] };
  assert.equal(config.global.scrape_interval, '10s');
  const jobs = new Map(config.scrape_configs.map((j) => [j.job_name, j]));
  for (const job of ['stampgate-gateway', 'stampgate-control-plane']) {
    assert.equal(jobs.get(job)?.metrics_path, '/metrics', job);
    assert.ok((jobs.get(job)?.static_configs[0]?.targets.length ?? 0) > 0, job);
  }
});

test('the expression reader finds metric names and nothing else', () => {
  assert.deepEqual(metricNames(SEED_QUERIES[1]!), ['traefik_service_request_duration_seconds_bucket']);
  assert.deepEqual(metricNames('sum by (stamp) (rate(x_total{code=~"5..",stamp=~"$stamp"}[$__rate_interval])) / on(stamp) y'), ['x_total', 'y']);
  assert.deepEqual(metricNames('label_values(traefik_service_requests_total, service)'), ['traefik_service_requests_total']);
  assert.throws(() => metricNames('made_up(x)'), /unknown PromQL function/);
});
