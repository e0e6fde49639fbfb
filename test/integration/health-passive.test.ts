// Passive health with real upstreams: the caller sends real requests through each server's pool
// and reports what it saw; ejections run out on real timers (small failTimeouts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import { WeightedRoundRobin } from '../../src/gateway/balancer/weighted-round-robin.ts';
import { PassiveHealth } from '../../src/gateway/health/passive-health.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';
import { closedPort, startServer } from '../helpers/http-servers.ts';

const timeouts = { connectMs: 500, headersMs: 1000, bodyMs: 1000 };
const exchange = { clientIp: '192.0.2.1', req: { headers: {} }, responseHooks: null } as unknown as Exchange;

/** One request as the proxy would send it; failures are what this test's caller decides they are. */
async function send(passive: PassiveHealth, server: UpstreamServer, fiveHundredsFail: boolean): Promise<string> {
  try {
    const { statusCode } = await server.pool.request({ path: '/', method: 'GET', timeoutMs: 2000 });
    if (fiveHundredsFail && statusCode >= 500) passive.recordFailure(server);
    else passive.recordSuccess(server);
    return String(statusCode);
  } catch {
    passive.recordFailure(server);
    return 'error';
  }
}

function nextChange(passive: PassiveHealth, healthy: boolean, withinMs: number): Promise<{ server: UpstreamServer; reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    const listener = (server: UpstreamServer, nowHealthy: boolean, reason: string) => {
      if (nowHealthy !== healthy) return;
      clearTimeout(timer);
      passive.off('change', listener);
      resolve({ server, reason, at: performance.now() });
    };
    const timer = setTimeout(() => {
      passive.off('change', listener);
      reject(new Error(`no change to ${healthy} within ${withinMs} ms`));
    }, withinMs);
    passive.on('change', listener);
  });
}

test('connection errors eject a server for failTimeout, then it returns to rotation; one more failure ejects it again', async (t) => {
  const http = await startServer((_req, res) => res.end('ok'));
  const up = new UpstreamServer(http.url, 1, timeouts);
  const dead = new UpstreamServer(`http://127.0.0.1:${await closedPort()}`, 1, timeouts);
  const wrr = new WeightedRoundRobin([up, dead]);
  const passive = new PassiveHealth({ maxFails: 2, failTimeout: '100ms' });
  t.after(async () => {
    passive.stop();
    await Promise.all([up.pool.close(), dead.pool.close()]);
    await http.close();
  });

  const ejected = nextChange(passive, false, 1000);
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) outcomes.push(await send(passive, wrr.pick(exchange)!, false));
  // Rotation up, dead, up, dead: the second error ejects dead, then only up is picked.
  assert.deepEqual(outcomes, ['200', 'error', '200', 'error', '200', '200', '200', '200']);
  const { server, reason, at: ejectedAt } = await ejected;
  assert.equal(server, dead);
  assert.equal(reason, '2 failure(s) within 100 ms');
  assert.ok(!dead.isAvailable(performance.now()));

  const back = await nextChange(passive, true, 1000);
  assert.equal(back.server, dead);
  assert.ok(back.at - ejectedAt >= 95 && back.at - ejectedAt < 300, `returned after ${Math.round(back.at - ejectedAt)} ms`);
  assert.ok(dead.isAvailable(performance.now()));
  const picks = new Set([wrr.pick(exchange), wrr.pick(exchange)]);
  assert.ok(picks.has(dead));

  // On probation after its return: a single failure ejects it again.
  const again = nextChange(passive, false, 1000);
  assert.equal(await send(passive, dead, false), 'error');
  assert.match((await again).reason, /failed again/);
  assert.ok(!dead.isAvailable(performance.now()));
});

test('5xx answers count as failures when the caller says so, and a success after the return clears the record', async (t) => {
  let status = 503;
  const http = await startServer((_req, res) => {
    res.statusCode = status;
    res.end();
  });
  const server = new UpstreamServer(http.url, 1, timeouts);
  const passive = new PassiveHealth({ maxFails: 3, failTimeout: '60ms' });
  t.after(async () => {
    passive.stop();
    await server.pool.close();
    await http.close();
  });

  // Counted as successes by a caller that does not treat 5xx as failures.
  for (let i = 0; i < 3; i++) assert.equal(await send(passive, server, false), '503');
  assert.ok(server.isAvailable(performance.now()));

  const ejected = nextChange(passive, false, 1000);
  for (let i = 0; i < 3; i++) await send(passive, server, true);
  await ejected;
  assert.ok(!server.isAvailable(performance.now()));

  await nextChange(passive, true, 1000);
  status = 200;
  assert.equal(await send(passive, server, true), '200');
  // The record is clear: it takes maxFails failures again.
  status = 503;
  await send(passive, server, true);
  await send(passive, server, true);
  assert.ok(server.isAvailable(performance.now()));
});
