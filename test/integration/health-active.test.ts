// Active health checks against real HTTP servers on port 0, with short intervals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import { WeightedRoundRobin } from '../../src/gateway/balancer/weighted-round-robin.ts';
import { ActiveHealthCheck } from '../../src/gateway/health/active-health-check.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';
import { closedPort, startServer, type TestServer } from '../helpers/http-servers.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const exchange = { clientIp: '192.0.2.1', req: { headers: {} }, responseHooks: null } as unknown as Exchange;

function upstream(url: string): UpstreamServer {
  return new UpstreamServer(url, 1, timeouts);
}

/** Resolves at the next `change` of `server` to `healthy`; fails after `withinMs`. */
function nextChange(checker: ActiveHealthCheck, server: UpstreamServer, healthy: boolean, withinMs: number): Promise<{ reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    const listener = (changed: UpstreamServer, nowHealthy: boolean, reason: string) => {
      if (changed !== server || nowHealthy !== healthy) return;
      clearTimeout(timer);
      checker.off('change', listener);
      resolve({ reason, at: performance.now() });
    };
    const timer = setTimeout(() => {
      checker.off('change', listener);
      reject(new Error(`${server.url} did not become ${healthy ? 'healthy' : 'unhealthy'} within ${withinMs} ms`));
    }, withinMs);
    checker.on('change', listener);
  });
}

async function cleanup(checkers: ActiveHealthCheck[], servers: UpstreamServer[], http: TestServer[]): Promise<void> {
  await Promise.all(checkers.map((c) => c.stop()));
  await Promise.all(servers.map((s) => s.pool.close()));
  await Promise.all(http.map((h) => h.close()));
}

test('a server failing its check leaves rotation within two intervals and returns after it recovers', async (t) => {
  let failing = false;
  const steady = await startServer((_req, res) => res.end('ok'));
  const flaky = await startServer((_req, res) => {
    res.statusCode = failing ? 503 : 200;
    res.end();
  });
  const servers = [upstream(steady.url), upstream(flaky.url)];
  const wrr = new WeightedRoundRobin(servers);
  const interval = 50;
  const checker = new ActiveHealthCheck(servers, { path: '/health', interval: `${interval}ms`, timeout: '1s' });
  t.after(() => cleanup([checker], servers, [steady, flaky]));
  const changes: string[] = [];
  checker.on('change', (server, healthy, reason) => changes.push(`${server === servers[1] ? 'flaky' : 'steady'} ${healthy} ${reason}`));
  checker.start();
  await sleep(interval * 1.5);
  assert.ok(servers[0]!.healthy && servers[1]!.healthy);

  failing = true;
  const failedAt = performance.now();
  const down = await nextChange(checker, servers[1]!, false, 1000);
  assert.ok(down.at - failedAt <= 2 * interval, `left after ${Math.round(down.at - failedAt)} ms`);
  assert.equal(down.reason, 'status 503, expected 2xx or 3xx');
  for (let i = 0; i < 4; i++) assert.equal(wrr.pick(exchange), servers[0]);

  failing = false;
  const recoveredAt = performance.now();
  const up = await nextChange(checker, servers[1]!, true, 1000);
  assert.ok(up.at - recoveredAt <= 2 * interval, `returned after ${Math.round(up.at - recoveredAt)} ms`);
  const picked = new Set([wrr.pick(exchange), wrr.pick(exchange)]);
  assert.ok(picked.has(servers[1]!));
  assert.deepEqual(changes, ['flaky false status 503, expected 2xx or 3xx', 'flaky true status 200']);
});

test('a server that never answers is unhealthy after the timeout, and stop() does not wait for it', async (t) => {
  const silent = await startServer(() => {});
  const server = upstream(silent.url);
  const checker = new ActiveHealthCheck([server], { interval: '30ms', timeout: '60ms' }, { initialDelayMs: 0 });
  t.after(() => cleanup([checker], [server], [silent]));
  const startedAt = performance.now();
  checker.start();
  const down = await nextChange(checker, server, false, 1000);
  assert.equal(down.reason, 'no answer within 60 ms');
  assert.ok(down.at - startedAt >= 55, `timed out after ${Math.round(down.at - startedAt)} ms`);
  assert.equal(server.healthy, false);

  // A probe is hanging again now (unhealthyInterval defaults to interval): stop() aborts it.
  await sleep(40);
  const stopAt = performance.now();
  await checker.stop();
  assert.ok(performance.now() - stopAt < 50, 'stop() returned at once');
  assert.equal(checker.running, false);
});

test('the probe sends method, path, Host (hostname) and headers as configured; path replaces the base path', async (t) => {
  const seen: { method: string | undefined; url: string | undefined; headers: IncomingHttpHeaders }[] = [];
  const http = await startServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    res.end();
  });
  const server = upstream(`${http.url}/base`);
  const custom = new ActiveHealthCheck([server], {
    path: '/healthz?deep=1',
    method: 'head',
    hostname: 'health.example',
    headers: { 'X-Probe': 'yes', Authorization: 'Bearer t0k3n' },
  });
  const plain = new ActiveHealthCheck([server], {});
  t.after(() => cleanup([custom, plain], [server], [http]));

  assert.deepEqual(await custom.probe(server), { healthy: true, status: 200, reason: 'status 200' });
  assert.equal(seen[0]!.method, 'HEAD');
  assert.equal(seen[0]!.url, '/healthz?deep=1');
  assert.equal(seen[0]!.headers.host, 'health.example');
  assert.equal(seen[0]!.headers['x-probe'], 'yes');
  assert.equal(seen[0]!.headers.authorization, 'Bearer t0k3n');

  await plain.probe(server);
  assert.equal(seen[1]!.method, 'GET');
  assert.equal(seen[1]!.url, '/');
  assert.equal(seen[1]!.headers.host, `127.0.0.1:${http.port}`);
});

test('status expectations: 2xx-3xx by default, an exact status when configured, redirects followed unless disabled', async (t) => {
  const http = await startServer((req, res) => {
    const routes: Record<string, [number, string?]> = {
      '/ok': [200],
      '/no-content': [204],
      '/moved': [302, '/ok'],
      '/moved-to-error': [302, '/error'],
      '/missing': [404],
      '/error': [500],
    };
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
    if (hop !== null) routes[req.url!] = [302, `/hop/${Number(hop[1]) + 1}`];
    const [status, location] = routes[req.url ?? ''] ?? [404];
    if (location !== undefined) res.setHeader('location', location);
    res.statusCode = status;
    res.end();
  });
  const server = upstream(http.url);
  const checkers: ActiveHealthCheck[] = [];
  t.after(() => cleanup(checkers, [server], [http]));
  async function probe(config: ConstructorParameters<typeof ActiveHealthCheck>[1]) {
    const checker = new ActiveHealthCheck([server], config);
    checkers.push(checker);
    return checker.probe(server);
  }

  assert.deepEqual(await probe({ path: '/ok' }), { healthy: true, status: 200, reason: 'status 200' });
  assert.equal((await probe({ path: '/no-content' })).healthy, true);
  assert.deepEqual(await probe({ path: '/missing' }), { healthy: false, status: 404, reason: 'status 404, expected 2xx or 3xx' });
  assert.equal((await probe({ path: '/error' })).healthy, false);

  assert.deepEqual(await probe({ path: '/moved' }), { healthy: true, status: 200, reason: 'status 200' });
  assert.deepEqual(await probe({ path: '/moved-to-error' }), { healthy: false, status: 500, reason: 'status 500, expected 2xx or 3xx' });
  // Endless redirects: Go's client (and so Traefik) gives up after 10.
  const endless = await probe({ path: '/hop/1' });
  assert.equal(endless.healthy, false);
  assert.match(endless.reason, /max redirects/i);
  assert.deepEqual(await probe({ path: '/moved', followRedirects: false }), { healthy: true, status: 302, reason: 'status 302' });
  assert.equal((await probe({ path: '/moved-to-error', followRedirects: false })).healthy, true);

  assert.equal((await probe({ path: '/no-content', status: 204 })).healthy, true);
  assert.deepEqual(await probe({ path: '/ok', status: 204 }), { healthy: false, status: 200, reason: 'status 200, expected 204' });
  assert.equal((await probe({ path: '/missing', status: 404 })).healthy, true);
});

test('a refused connection is unhealthy; port overrides the server URL\'s port', async (t) => {
  const http = await startServer((_req, res) => res.end());
  const server = upstream(`http://127.0.0.1:${await closedPort()}`);
  const direct = new ActiveHealthCheck([server], { timeout: '500ms' });
  const viaPort = new ActiveHealthCheck([server], { port: http.port, scheme: 'http' });
  t.after(() => cleanup([direct, viaPort], [server], [http]));
  const refused = await direct.probe(server);
  assert.equal(refused.healthy, false);
  assert.match(refused.reason, /ECONNREFUSED/);
  assert.deepEqual(await viaPort.probe(server), { healthy: true, status: 200, reason: 'status 200' });
});

test('unhealthy servers are probed every unhealthyInterval, healthy ones every interval', async (t) => {
  let sickHits = 0;
  let wellHits = 0;
  const sick = await startServer((_req, res) => {
    sickHits++;
    res.statusCode = 500;
    res.end();
  });
  const well = await startServer((_req, res) => {
    wellHits++;
    res.end();
  });
  const servers = [upstream(sick.url), upstream(well.url)];
  const checker = new ActiveHealthCheck(servers, { interval: '10s', unhealthyInterval: '15ms' }, { initialDelayMs: 0 });
  t.after(() => cleanup([checker], servers, [sick, well]));
  checker.start();
  await sleep(90);
  assert.equal(servers[0]!.healthy, false);
  assert.ok(sickHits >= 4, `sick server probed ${sickHits} times`);
  assert.equal(wellHits, 1);
});

test('probes of one server never overlap, and after stop() no probe, timer or socket is left', async (t) => {
  let active = 0;
  let maxActive = 0;
  let hits = 0;
  const slow = await startServer((_req, res) => {
    hits++;
    active++;
    maxActive = Math.max(maxActive, active);
    setTimeout(() => {
      active--;
      res.end();
    }, 40);
  });
  const server = upstream(slow.url);
  const checker = new ActiveHealthCheck([server], { interval: '10ms', timeout: '1s' }, { initialDelayMs: 0 });
  t.after(() => cleanup([checker], [server], [slow]));
  checker.start();
  checker.start();
  await sleep(130);
  assert.equal(maxActive, 1);
  // 40 ms answers with a 10 ms interval: back to back, never two at once.
  assert.ok(hits >= 3 && hits <= 4, `${hits} probes in 130 ms`);
  await checker.stop();
  const hitsAtStop = hits;
  await sleep(40);
  assert.equal(hits, hitsAtStop);
  const connections = await new Promise<number>((resolve, reject) => slow.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  assert.equal(connections, 0);
});
