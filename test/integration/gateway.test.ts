// The gateway against real upstream servers on port 0: routing, streaming, header hygiene and
// every failure's answer.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { Gateway, type GatewayOptions } from '../../src/gateway/gateway.ts';
import { stampsGatewayConfig, type SimpleStamp } from '../../src/gateway/stamps/stamps-config.ts';
import { closedPort, echoServer, startServer, type TestServer } from '../helpers/http-servers.ts';

/** A stamps gateway on a free port, as `stampgate up` builds it. */
async function startStampsGateway(stamps: SimpleStamp[], options: Partial<GatewayOptions> & { bodyLimit?: number } = {}): Promise<{ gateway: Gateway; port: number }> {
  const { staticConfig, dynamicConfig } = stampsGatewayConfig({ address: '127.0.0.1:0', stamps, ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}) });
  const gateway = new Gateway({ ...options, staticConfig });
  gateway.applyConfig(dynamicConfig);
  const port = (await gateway.listen()).get('web')!.port;
  return { gateway, port };
}

let stampDefault: TestServer;
let stampOne: TestServer;
let slow: TestServer;
let gateway: Gateway;
let base: string;
let gatewayPort: number;
const logged: string[] = [];

before(async () => {
  stampDefault = await echoServer('default');
  stampOne = await echoServer('s1');
  // Answers /ready after 3 s, everything else never: for timeouts.
  slow = await startServer(() => {});
  const down = await closedPort();
  ({ gateway, port: gatewayPort } = await startStampsGateway(
    [
      { id: 'default', url: stampDefault.url },
      { id: 's1', aliases: ['1'], url: stampOne.url },
      { id: 'down', url: `http://127.0.0.1:${down}` },
      { id: 'slow', url: slow.url },
    ],
    { bodyLimit: 1024, timeouts: { headersMs: 300 }, readinessTimeoutMs: 300, log: (line) => logged.push(line) },
  ));
  gateway.directory.replace([['acme', 's1']]);
  base = `http://127.0.0.1:${gatewayPort}`;
});

after(async () => {
  await gateway.close();
  await Promise.all([stampDefault.close(), stampOne.close(), slow.close()]);
});

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

test('requests go to the stamp their key names, and ?stamp= is not forwarded', async () => {
  const viaQuery = await json(await fetch(`${base}/libros?stamp=1&page=2`));
  assert.equal(viaQuery.stamp, 's1');
  assert.equal(viaQuery.url, '/libros?page=2');
  assert.equal((await json(await fetch(`${base}/libros?stamp=s1`))).url, '/libros');
  assert.equal((await json(await fetch(`${base}/libros`))).stamp, 'default');
  assert.equal((await json(await fetch(`${base}/libros`, { headers: { 'x-tenant-id': 'acme' } }))).stamp, 's1');
  assert.equal((await json(await fetch(`${base}/libros`, { headers: { 'x-stamp-id': 's1' } }))).stamp, 's1');
});

test('bodies stream both ways, with method and headers intact', async () => {
  const res = await fetch(`${base}/libros?stamp=1`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-custom': 'yes' }, body: '{"titulo":"T"}' });
  const echo = await json(res);
  assert.equal(echo.method, 'POST');
  assert.equal(echo.body, '{"titulo":"T"}');
  const headers = echo.headers as Record<string, string>;
  assert.equal(headers['x-custom'], 'yes');
  assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-host'], `127.0.0.1:${gatewayPort}`);
  assert.equal(res.headers.get('x-stamp-id'), 's1');
});

test('a large response streams through unchanged', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 'x');
  const bigServer = await startServer((_req, res) => res.end(big));
  const { gateway: g, port } = await startStampsGateway([{ id: 'default', url: bigServer.url }]);
  try {
    const body = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer());
    assert.equal(body.length, big.length);
    assert.ok(body.equals(big));
  } finally {
    await g.close();
    await bigServer.close();
  }
});

test('X-Request-Id: a valid one is kept end to end, a bad one replaced', async () => {
  const kept = await fetch(`${base}/x`, { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(kept.headers.get('x-request-id'), 'trace-42');
  assert.equal(((await json(kept)).headers as Record<string, string>)['x-request-id'], 'trace-42');
  const replaced = await fetch(`${base}/x`, { headers: { 'x-request-id': 'x'.repeat(129) } });
  const id = replaced.headers.get('x-request-id')!;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(((await json(replaced)).headers as Record<string, string>)['x-request-id'], id);
});

test('unknown stamp: 404 problem listing the known stamps; unknown tenant: 404', async () => {
  const res = await fetch(`${base}/libros?stamp=9`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = await json(res);
  assert.equal(body.type, 'https://stampgate.dev/problems/unknown-stamp');
  assert.match(String(body.detail), /known stamps: default, s1, down, slow/);
  assert.deepEqual(body.knownStamps, ['default', 's1', 'down', 'slow']);
  assert.ok(body.requestId);
  const tenant = await fetch(`${base}/libros`, { headers: { 'x-tenant-id': 'nobody' } });
  assert.equal(tenant.status, 404);
  assert.match(String((await json(tenant)).detail), /tenant "nobody" \(from header "x-tenant-id"\) is not in the tenant directory/);
});

test('a stamp that is down answers 503 at once, naming the stamp', async () => {
  const started = Date.now();
  const res = await fetch(`${base}/libros?stamp=down`);
  assert.equal(res.status, 503);
  const body = await json(res);
  assert.equal(body.stamp, 'down');
  assert.match(String(body.detail), /not accepting connections \(ECONNREFUSED\)/);
  assert.ok(Date.now() - started < 1000, 'within a second');
  assert.ok(logged.some((l) => l.startsWith('503 http://127.0.0.1:') && l.includes('not accepting connections')));
});

test('a stamp that does not answer in time gets 504, never a hang', async () => {
  const res = await fetch(`${base}/libros?stamp=slow`);
  assert.equal(res.status, 504);
  assert.equal((await json(res)).type, 'https://stampgate.dev/problems/upstream-timeout');
});

test('a body over the limit is refused with 413, by Content-Length and when chunked', async () => {
  const declared = await fetch(`${base}/libros`, { method: 'POST', body: 'x'.repeat(2048) });
  assert.equal(declared.status, 413);
  assert.match(String((await json(declared)).detail), /exceeds the limit of 1024 bytes/);
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${base}/libros`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (let i = 0; i < 8; i++) req.write('y'.repeat(512));
    req.end();
  });
  assert.equal(chunked, 413);
  const small = await fetch(`${base}/libros`, { method: 'POST', body: 'ok' });
  assert.equal(small.status, 200);
});

test('/stampsz counts proxied requests per stamp in the seed\'s shape', async () => {
  const before = (await json(await fetch(`${base}/stampsz`))) as { total_requests: number; by_stamp: Record<string, number>; stamp_ids: string[] };
  await fetch(`${base}/a?stamp=1`).then((r) => r.arrayBuffer());
  await fetch(`${base}/a`).then((r) => r.arrayBuffer());
  await fetch(`${base}/a?stamp=nope`).then((r) => r.arrayBuffer());
  const now = (await json(await fetch(`${base}/stampsz`))) as typeof before;
  assert.deepEqual(now.stamp_ids, ['default', 's1', 'down', 'slow']);
  assert.equal(now.by_stamp.s1, before.by_stamp.s1! + 1);
  assert.equal(now.by_stamp.default, before.by_stamp.default! + 1);
  assert.equal(now.total_requests, before.total_requests + 2, 'a refused request is not a proxied one');
});

test('/readyz: each stamp from its own probe, 503 degraded when one is not ready', async () => {
  const res = await fetch(`${base}/readyz`);
  assert.equal(res.status, 503);
  const body = (await json(res)) as { status: string; stamps: Record<string, { status: string; db: string }> };
  assert.equal(body.status, 'degraded');
  assert.equal(body.stamps.default!.status, 'ready');
  assert.equal(body.stamps.down!.status, 'down');
  assert.equal(body.stamps.slow!.status, 'down');
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`, { method: 'POST' })).status, 405);
});

async function rawExchange(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gatewayPort, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(3000, () => socket.destroy(new Error('no answer')));
  });
}

test('malformed requests get 400, oversized headers 431, and never reach a stamp', async () => {
  const before = ((await json(await fetch(`${base}/stampsz`))) as { total_requests: number }).total_requests;
  assert.match(await rawExchange('GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 .*application\/problem\+json/s);
  assert.match(await rawExchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  assert.match(await rawExchange('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await rawExchange('GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 .*bad-request-target/s);
  const after = ((await json(await fetch(`${base}/stampsz`))) as { total_requests: number }).total_requests;
  assert.equal(after, before);
});

test('a client that leaves aborts the upstream exchange', async () => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const hanging = await startServer((req) => req.socket.once('close', () => upstreamClosed()));
  const { gateway: g, port } = await startStampsGateway([{ id: 'default', url: hanging.url }]);
  try {
    const controller = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/wait`, { signal: controller.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    assert.equal(await pending, 'aborted');
    await closed;
  } finally {
    await g.close();
    await hanging.close();
  }
});

test('a new config version swaps the stamps: new stamps route, removed ones are unknown', async () => {
  const { gateway: g, port } = await startStampsGateway([{ id: 'default', url: stampDefault.url }]);
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/?stamp=s1`)).status, 404);
    g.applyConfig(stampsGatewayConfig({ address: '127.0.0.1:0', stamps: [{ id: 'default', url: stampDefault.url }, { id: 's1', url: stampOne.url }] }).dynamicConfig);
    assert.equal((await json(await fetch(`http://127.0.0.1:${port}/?stamp=s1`))).stamp, 's1');
  } finally {
    await g.close();
  }
});
