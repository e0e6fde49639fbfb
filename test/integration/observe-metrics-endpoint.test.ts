// /metrics over real HTTP, and the access log's asynchronous file destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessLog } from '../../src/observe/access-log/access-log.ts';
import { BatchingSink } from '../../src/observe/access-log/line-sink.ts';
import { ControlPlaneMetrics } from '../../src/observe/metrics/control-plane-metrics.ts';
import { GatewayMetrics } from '../../src/observe/metrics/gateway-metrics.ts';
import { createMetricsHandler, type MetricsSource } from '../../src/observe/metrics/metrics-handler.ts';
import type { ObservedExchange } from '../../src/observe/observed-exchange.ts';

async function serve(source: MetricsSource): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(createMetricsHandler(source));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function exchange(requestId: string): ObservedExchange {
  return {
    req: { url: '/api/books', httpVersion: '1.1' },
    requestId,
    entryPoint: 'web',
    secure: false,
    remoteAddress: '127.0.0.1',
    clientIp: '127.0.0.1',
    method: 'GET',
    host: 'localhost',
    path: '/api/books',
    query: '',
    headers: {},
    router: 'books',
    service: 'library',
    stamp: 's2',
    tenant: null,
    upstream: 'http://127.0.0.1:3003',
    upgrade: null,
    retries: 0,
    startedAt: 0,
  };
}

test('GET /metrics answers the registry\'s text with its content type; HEAD without a body; others 405', async (t) => {
  const metrics = new GatewayMetrics();
  metrics.observeRequest(exchange('r1'), 200, 42, 0, 10);
  const server = await serve(metrics);
  t.after(() => server.close());

  const response = await fetch(server.url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  assert.match(text, /^traefik_service_request_duration_seconds_count\{code="200",method="GET",protocol="http",service="library"\} 1$/m);
  assert.match(text, /^stampgate_stamp_requests_total\{code="200",method="GET",protocol="http",service="library",stamp="s2"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);

  const head = await fetch(server.url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');

  const post = await fetch(server.url, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(post.headers.get('content-type'), 'application/problem+json');
});

test('a collection that fails answers a 500 problem, and the next scrape works', async (t) => {
  const metrics = new ControlPlaneMetrics({ processMetrics: false });
  let fail = true;
  metrics.trackStamps(async () => {
    if (fail) throw new Error('store unreachable');
    return { running: 2 };
  });
  const server = await serve(metrics);
  t.after(() => server.close());
  const failed = await fetch(server.url);
  assert.equal(failed.status, 500);
  assert.match(((await failed.json()) as { detail: string }).detail, /store unreachable/);
  fail = false;
  const ok = await fetch(server.url);
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /^stampgate_control_stamps\{state="running"\} 2$/m);
});

test('the access log writes JSON lines to a file asynchronously, and close() writes what is pending', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'stampgate-access-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const filePath = join(dir, 'logs', 'access.log');
  const log = createAccessLog({ filePath })!;
  assert.equal(log.settings.format, 'json');
  for (let i = 0; i < 500; i++) log.log(exchange(`r${i}`), null, 200, 1, 0, 10);
  await log.flush();
  const afterFlush = (await readFile(filePath, 'utf8')).split('\n').filter(Boolean);
  assert.equal(afterFlush.length, 500);
  log.log(exchange('last'), null, 201, 1, 0, 10);
  await log.close();
  const lines = (await readFile(filePath, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { requestId: string; stamp: string });
  assert.equal(lines.length, 501);
  assert.deepEqual(lines.slice(0, 3).map((l) => l.requestId), ['r0', 'r1', 'r2']);
  assert.equal(lines[500]!.requestId, 'last');
  assert.equal(lines[0]!.stamp, 's2');
});

test('bufferingSize holds lines until that many arrive, or a quiet second passes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'stampgate-access-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const filePath = join(dir, 'access.log');
  const sink = new BatchingSink({ filePath, bufferingSize: 3 });
  t.after(() => sink.close());
  const size = async (): Promise<number> => (await readFile(filePath, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  sink.write('a\n');
  sink.write('b\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await size(), 0, 'two lines stay in memory');
  sink.write('c\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await size(), 3, 'the third line hands over all three');
  sink.write('d\n');
  await new Promise((resolve) => setTimeout(resolve, 1300));
  assert.equal(await size(), 4, 'a quiet second hands over the rest');
});
