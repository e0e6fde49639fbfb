import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Registry } from 'prom-client';
import { ControlPlaneMetrics } from '../../src/observe/metrics/control-plane-metrics.ts';
import { GatewayMetrics } from '../../src/observe/metrics/gateway-metrics.ts';
import { gatewayMetricsOptions } from '../../src/observe/metrics/metrics-config.ts';
import type { ObservedExchange } from '../../src/observe/observed-exchange.ts';

type Fields = Partial<Omit<ObservedExchange, 'headers'>> & { headers?: IncomingHttpHeaders };

function exchange(fields: Fields = {}): ObservedExchange {
  return {
    req: { url: '/api/books', httpVersion: '1.1' },
    requestId: 'r1',
    entryPoint: 'web',
    secure: false,
    remoteAddress: '127.0.0.1',
    clientIp: '127.0.0.1',
    method: 'GET',
    host: 'shop.example.com',
    path: '/api/books',
    query: '',
    headers: {},
    router: 'books',
    service: 'library',
    stamp: 's1',
    tenant: 'acme',
    upstream: 'http://127.0.0.1:3001',
    upgrade: null,
    retries: 0,
    startedAt: 0,
    ...fields,
  };
}

/** The sample lines of a scrape (no comments), as a set. */
async function samples(metrics: { metrics(): Promise<string> }): Promise<Set<string>> {
  return new Set((await metrics.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#')));
}

function assertLines(lines: Set<string>, expected: string[]): void {
  for (const line of expected) assert.ok(lines.has(line), `missing line: ${line}\n--- scrape:\n${[...lines].join('\n')}`);
}

test('counts requests per entrypoint, router, service and stamp with Traefik\'s names and labels', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  const e = exchange();
  metrics.observeRequest(e, 200, 50, 10, 1000); // 0.05 s → le 0.1
  metrics.observeRequest(e, 200, 250, 0, 2000); // 0.25 s → le 0.3
  metrics.observeRequest(e, 200, 7000, 0, 3000); // 7 s → +Inf only
  metrics.observeRequest(e, 502, 1200, 0, 100); // exactly 1.2 s → le 1.2
  const lines = await samples(metrics);
  const ok = 'code="200",method="GET",protocol="http"';
  const bad = 'code="502",method="GET",protocol="http"';
  assertLines(lines, [
    `traefik_entrypoint_requests_total{${ok},entrypoint="web"} 3`,
    `traefik_entrypoint_requests_total{${bad},entrypoint="web"} 1`,
    `traefik_router_requests_total{${ok},router="books",service="library"} 3`,
    `traefik_service_requests_total{${ok},service="library"} 3`,
    `traefik_service_requests_total{${bad},service="library"} 1`,
    `stampgate_stamp_requests_total{${ok},service="library",stamp="s1"} 3`,
    // The seed's buckets, cumulative, with +Inf, _sum and _count.
    `traefik_service_request_duration_seconds_bucket{${ok},service="library",le="0.1"} 1`,
    `traefik_service_request_duration_seconds_bucket{${ok},service="library",le="0.3"} 2`,
    `traefik_service_request_duration_seconds_bucket{${ok},service="library",le="1.2"} 2`,
    `traefik_service_request_duration_seconds_bucket{${ok},service="library",le="5"} 2`,
    `traefik_service_request_duration_seconds_bucket{${ok},service="library",le="+Inf"} 3`,
    `traefik_service_request_duration_seconds_sum{${ok},service="library"} 7.3`,
    `traefik_service_request_duration_seconds_count{${ok},service="library"} 3`,
    `traefik_service_request_duration_seconds_bucket{${bad},service="library",le="0.3"} 0`,
    `traefik_service_request_duration_seconds_bucket{${bad},service="library",le="1.2"} 1`,
    `traefik_entrypoint_request_duration_seconds_count{${ok},entrypoint="web"} 3`,
    `traefik_router_request_duration_seconds_count{${ok},router="books",service="library"} 3`,
    `stampgate_stamp_request_duration_seconds_count{${ok},service="library",stamp="s1"} 3`,
    `traefik_service_requests_bytes_total{${ok},service="library"} 10`,
    `traefik_service_responses_bytes_total{${ok},service="library"} 6000`,
    `traefik_entrypoint_responses_bytes_total{${bad},entrypoint="web"} 100`,
    `stampgate_stamp_responses_bytes_total{${ok},service="library",stamp="s1"} 6000`,
  ]);
});

test('histogram _count equals the requests observed, per label set', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  const stamps = ['default', 's1', 's2'];
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const stamp = stamps[i % 3]!;
    metrics.observeRequest(exchange({ stamp }), 200, (i % 40) * 37, 0, 10);
    counts.set(stamp, (counts.get(stamp) ?? 0) + 1);
  }
  const lines = await samples(metrics);
  for (const [stamp, n] of counts) {
    assertLines(lines, [
      `stampgate_stamp_request_duration_seconds_count{code="200",method="GET",protocol="http",service="library",stamp="${stamp}"} ${n}`,
      `stampgate_stamp_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="library",stamp="${stamp}",le="+Inf"} ${n}`,
      `stampgate_stamp_requests_total{code="200",method="GET",protocol="http",service="library",stamp="${stamp}"} ${n}`,
    ]);
  }
  assertLines(lines, ['traefik_entrypoint_request_duration_seconds_count{code="200",method="GET",protocol="http",entrypoint="web"} 300']);
});

test('configurable buckets, sorted', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false, buckets: [1, 0.005, 0.5] });
  assert.deepEqual(metrics.buckets, [0.005, 0.5, 1]);
  metrics.observeRequest(exchange(), 200, 3, 0, 0);
  const text = await metrics.metrics();
  const les = [...text.matchAll(/traefik_service_request_duration_seconds_bucket\{[^}]*le="([^"]+)"\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`);
  assert.deepEqual(les, ['0.005=1', '0.5=1', '1=1', '+Inf=1']);
  assert.throws(() => new GatewayMetrics({ processMetrics: false, buckets: [] }), RangeError);
  assert.throws(() => new GatewayMetrics({ processMetrics: false, buckets: [0, 1] }), RangeError);
});

test('a request reaches only the families it got to: a 404 without a router counts on its entrypoint only', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  metrics.observeRequest(exchange({ router: null, service: null, stamp: null, method: 'POST' }), 404, 1, 0, 200);
  metrics.observeRequest(exchange({ stamp: null, service: 'api' }), 200, 1, 0, 0);
  const text = await metrics.metrics();
  assert.match(text, /^traefik_entrypoint_requests_total\{code="404",method="POST",protocol="http",entrypoint="web"\} 1$/m);
  assert.doesNotMatch(text, /code="404"[^\n]*(router|service)=/);
  assert.match(text, /^traefik_service_requests_total\{code="200",method="GET",protocol="http",service="api"\} 1$/m);
  assert.doesNotMatch(text, /^stampgate_stamp_requests_total\{/m, 'no stamp, no stamp series');
});

test('protocol label as Traefik sets it: websocket, sse, grpc, grpc-web, http', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  metrics.observeRequest(exchange({ upgrade: {} }), 101, 1, 0, 0);
  metrics.observeRequest(exchange({ headers: { accept: 'text/event-stream' } }), 200, 1, 0, 0);
  metrics.observeRequest(exchange({ method: 'POST', headers: { 'content-type': 'application/grpc+proto' } }), 200, 1, 0, 0);
  metrics.observeRequest(exchange({ method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' } }), 200, 1, 0, 0);
  metrics.observeRequest(exchange({ method: 'DELETE' }), 204, 1, 0, 0);
  assertLines(await samples(metrics), [
    'traefik_service_requests_total{code="101",method="GET",protocol="websocket",service="library"} 1',
    'traefik_service_requests_total{code="200",method="GET",protocol="sse",service="library"} 1',
    'traefik_service_requests_total{code="200",method="POST",protocol="grpc",service="library"} 1',
    'traefik_service_requests_total{code="200",method="POST",protocol="grpc-web",service="library"} 1',
    'traefik_service_requests_total{code="204",method="DELETE",protocol="http",service="library"} 1',
  ]);
});

test('families can be turned off, as Traefik\'s add*Labels options do', async () => {
  const metrics = new GatewayMetrics(gatewayMetricsOptions({ prometheus: { addRoutersLabels: false, addStampsLabels: false, processMetrics: false } })!);
  metrics.observeRequest(exchange(), 200, 1, 0, 0);
  const text = await metrics.metrics();
  assert.doesNotMatch(text, /traefik_router_/);
  assert.doesNotMatch(text, /stampgate_stamp_/);
  assert.match(text, /traefik_entrypoint_requests_total\{/);
  assert.match(text, /traefik_service_requests_total\{/);
  assert.equal(gatewayMetricsOptions(undefined), null, 'no metrics.prometheus: metrics off');
  assert.equal(gatewayMetricsOptions({}), null);
});

test('retries, open connections, server health, passive ejection', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  metrics.observeRequest(exchange({ retries: 2 }), 200, 1, 0, 0);
  metrics.observeRequest(exchange({ retries: 1 }), 502, 1, 0, 0);
  metrics.connectionOpened('web');
  metrics.connectionOpened('web');
  metrics.connectionClosed('web');
  const websecure = metrics.openConnections('websecure');
  websecure.value += 3;
  metrics.setServerUp('library', 'http://127.0.0.1:3001', true);
  metrics.setServerUp('library', 'http://127.0.0.1:3002', false);
  metrics.setServerEjected('library', 'http://127.0.0.1:3001', true);
  metrics.setServerEjected('library', 'http://127.0.0.1:3001', true); // still the same ejection
  metrics.setServerEjected('library', 'http://127.0.0.1:3001', false);
  metrics.setServerEjected('library', 'http://127.0.0.1:3001', true);
  assertLines(await samples(metrics), [
    'traefik_service_retries_total{service="library"} 3',
    'traefik_open_connections{entrypoint="web",protocol="TCP"} 1',
    'traefik_open_connections{entrypoint="websecure",protocol="TCP"} 3',
    'traefik_service_server_up{service="library",url="http://127.0.0.1:3001"} 1',
    'traefik_service_server_up{service="library",url="http://127.0.0.1:3002"} 0',
    'stampgate_service_server_ejected{service="library",url="http://127.0.0.1:3001"} 1',
    'stampgate_service_server_ejections_total{service="library",url="http://127.0.0.1:3001"} 2',
  ]);
});

test('config reloads: Traefik\'s counters and timestamps, Stampgate\'s success flag and version', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  metrics.configReloaded(true, 7, 1_700_000_000_000);
  metrics.configReloaded(false, undefined, 1_700_000_060_000);
  assertLines(await samples(metrics), [
    'traefik_config_reloads_total 1',
    'traefik_config_last_reload_success 1700000000',
    'traefik_config_reloads_failure_total 1',
    'traefik_config_last_reload_failure 1700000060',
    'stampgate_config_last_reload_successful 0',
    'stampgate_config_version 7',
  ]);
  metrics.configReloaded(true, 8, 1_700_000_120_000);
  assertLines(await samples(metrics), ['traefik_config_reloads_total 2', 'stampgate_config_last_reload_successful 1', 'stampgate_config_version 8']);
});

test('tenant directory size is read at scrape time', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  const directory = { size: 3 };
  metrics.trackTenantDirectory(directory);
  assertLines(await samples(metrics), ['stampgate_tenant_directory_tenants 3']);
  directory.size = 5;
  assertLines(await samples(metrics), ['stampgate_tenant_directory_tenants 5']);
  metrics.setTenantDirectorySize(9);
  assertLines(await samples(metrics), ['stampgate_tenant_directory_tenants 9']);
});

test('retain() forgets routers, services and servers a reload removed', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false });
  metrics.observeRequest(exchange({ router: 'old', service: 'gone', retries: 1 }), 200, 1, 0, 0);
  metrics.observeRequest(exchange(), 200, 1, 0, 0);
  metrics.observeRequest(exchange({ stamp: 'retired' }), 200, 1, 0, 0);
  metrics.setServerUp('gone', 'http://10.0.0.9', true);
  metrics.setServerUp('library', 'http://127.0.0.1:3001', true);
  metrics.retain({ routers: ['books'], services: ['library'], stamps: ['s1'], servers: new Map([['library', ['http://127.0.0.1:3001']]]) });
  const text = await metrics.metrics();
  assert.doesNotMatch(text, /router="old"|service="gone"|stamp="retired"/);
  assert.match(text, /^stampgate_stamp_requests_total\{code="200",method="GET",protocol="http",service="library",stamp="s1"\} 1$/m);
  assert.match(text, /^traefik_router_requests_total\{code="200",method="GET",protocol="http",router="books",service="library"\} 2$/m);
  assert.match(text, /^traefik_service_server_up\{service="library",url="http:\/\/127.0.0.1:3001"\} 1$/m);
  // A router that comes back starts again from zero.
  metrics.observeRequest(exchange({ router: 'old', service: 'gone' }), 200, 1, 0, 0);
  assert.match(await metrics.metrics(), /^traefik_router_requests_total\{code="200",method="GET",protocol="http",router="old",service="gone"\} 1$/m);
});

test('its own registry, Prometheus content type, process metrics by default, resettable', async () => {
  const registry = new Registry();
  const metrics = new GatewayMetrics({ registry });
  assert.equal(metrics.registry, registry);
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  metrics.observeRequest(exchange(), 200, 1, 0, 0);
  const text = await metrics.metrics();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
  registry.resetMetrics();
  assert.match(await metrics.metrics(), /^traefik_service_requests_total\{code="200",method="GET",protocol="http",service="library"\} 0$/m);
  metrics.observeRequest(exchange(), 200, 1, 0, 0);
  assert.match(await metrics.metrics(), /^traefik_service_requests_total\{code="200",method="GET",protocol="http",service="library"\} 1$/m, 'series found before the reset still count');
  assert.doesNotMatch(await new GatewayMetrics({ processMetrics: false }).metrics(), /process_cpu/);
});

test('control plane: operations by state, transitions, durations, stamps, tenants, config feed', async () => {
  const metrics = new ControlPlaneMetrics({ processMetrics: false });
  metrics.trackOperations(async () => [
    { kind: 'deploy', state: 'deploying', count: 1 },
    { kind: 'deploy', state: 'running', count: 4 },
  ]);
  metrics.trackStamps(() => ({ running: 3, error: 1 }));
  metrics.trackTenants(async () => ({ default: 10, s1: 4 }));
  metrics.operationEntered('deploy', 'deploying');
  metrics.operationEntered('deploy', 'running');
  metrics.operationFinished('deploy', 'running', 12);
  metrics.setConfigVersion(42);
  metrics.configWatchers.inc(2);
  assertLines(await samples(metrics), [
    'stampgate_control_operations{kind="deploy",state="deploying"} 1',
    'stampgate_control_operations{kind="deploy",state="running"} 4',
    'stampgate_control_operation_transitions_total{kind="deploy",state="running"} 1',
    'stampgate_control_operation_duration_seconds_bucket{le="15",kind="deploy",outcome="running"} 1',
    'stampgate_control_operation_duration_seconds_count{kind="deploy",outcome="running"} 1',
    'stampgate_control_stamps{state="running"} 3',
    'stampgate_control_stamps{state="error"} 1',
    'stampgate_control_tenants{stamp="s1"} 4',
    'stampgate_control_config_version 42',
    'stampgate_control_config_watchers 2',
  ]);
  metrics.trackStamps(() => ({ running: 4 }));
  const text = await metrics.metrics();
  assert.doesNotMatch(text, /state="error"/, 'a state that is gone from the store is gone from the gauge');
});
