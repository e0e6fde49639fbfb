// rateLimit with Redis: two gateways (two middleware instances, each with its own Redis
// connection) share one limit through the machine's Redis, and when Redis stops answering (a
// redis-server of this test's own, paused then killed; the shared Redis is never touched) requests
// are still limited, in memory, and answered without waiting for Redis.
//
// Keys are `stampgate:ratelimit:<middleware name>:<source>`; each test uses a middleware name of
// its own run and deletes its keys afterwards (never FLUSHALL).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { closeRateLimitClients, rateLimit, releaseRateLimit } from '../../src/gateway/middleware/rate-limit.ts';
import type { Middleware } from '../../src/gateway/middleware/middleware.ts';
import { serviceAvailable, testRedisUrl } from '../helpers/services.ts';
import { problemOf, send, startHarness, testContext, type Harness, type Reply } from '../unit/middleware-harness.ts';

const available = await serviceAvailable('redis');
const skip = available ? false : `Redis does not answer at ${testRedisUrl}`;
const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The SCAN pattern of a middleware's keys. */
const keysOf = (name: string) => `stampgate:ratelimit:${name}:*`;

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 100);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Sends requests with fresh source keys until one of them shows up in Redis: the middleware's
 * connection is then ready (requests before that are limited in memory, by design).
 */
async function untilShared(harness: Harness, redis: Redis, name: string, label = 'gateway'): Promise<void> {
  const until = Date.now() + 5000;
  for (let i = 0; Date.now() < until; i++) {
    const key = `warm-up-${label}-${i}`;
    await send(harness, '/', { headers: { 'x-key': key } });
    if ((await redis.exists(`stampgate:ratelimit:${name}:${key}`)) === 1) return;
    await sleep(20);
  }
  throw new Error('the rate limiter never reached Redis');
}

async function timed(harness: Harness, key: string): Promise<{ reply: Reply; ms: number }> {
  const started = performance.now();
  const reply = await send(harness, '/', { headers: { 'x-key': key } });
  return { reply, ms: performance.now() - started };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server of this test's own, on a free port, without persistence. */
async function startOwnRedis(): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  const until = Date.now() + 5000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      probe.disconnect();
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw error;
      }
      await sleep(50);
    }
  }
  probe.disconnect();
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

const config = (name: string, redis: { url?: string; endpoints?: string[]; timeout?: string }) =>
  rateLimit({ average: 1, period: '1m', burst: 3, sourceCriterion: { requestHeaderName: 'X-Key' }, redis }, testContext(name));

describe('rateLimit with Redis', { skip }, () => {
  const admin = available ? new Redis(testRedisUrl, { lazyConnect: true }) : null;
  const built: Middleware[] = [];

  after(async () => {
    await Promise.all(built.map(releaseRateLimit));
    await closeRateLimitClients();
    if (admin !== null) {
      await deleteKeys(admin, `stampgate:ratelimit:rl-${run}-*`);
      admin.disconnect();
    }
  });

  test('two gateways share one limit through Redis', async () => {
    const name = `rl-${run}-shared`;
    const { hostname, port } = new URL(testRedisUrl);
    // Equivalent settings written two ways: two Redis connections, as two gateway processes have.
    const first = config(name, { url: testRedisUrl });
    const second = config(name, { endpoints: [`${hostname}:${port || '6379'}`], ...(new URL(testRedisUrl).password ? { password: decodeURIComponent(new URL(testRedisUrl).password) } : {}) });
    built.push(first, second);
    const gatewayA = await startHarness(first);
    const gatewayB = await startHarness(second);
    try {
      await untilShared(gatewayA, admin!, name, 'a');
      await untilShared(gatewayB, admin!, name, 'b');
      // burst 3 for the source "client-1", whichever gateway the requests reach
      assert.equal((await send(gatewayA, '/', { headers: { 'x-key': 'client-1' } })).status, 200);
      assert.equal((await send(gatewayB, '/', { headers: { 'x-key': 'client-1' } })).status, 200);
      assert.equal((await send(gatewayA, '/', { headers: { 'x-key': 'client-1' } })).status, 200);
      for (const gateway of [gatewayB, gatewayA]) {
        const refused = await send(gateway, '/', { headers: { 'x-key': 'client-1' } });
        assert.equal(refused.status, 429);
        const seconds = Number(refused.headers['retry-after']);
        assert.ok(seconds >= 59 && seconds <= 60, `Retry-After ${seconds}`);
        assert.equal(problemOf(refused).type, 'https://stampgate.dev/problems/rate-limited');
      }
      // Another source has its own bucket, shared too.
      assert.equal((await send(gatewayB, '/', { headers: { 'x-key': 'client-2' } })).status, 200);
      const bucket = await admin!.hgetall(`stampgate:ratelimit:${name}:client-1`);
      assert.ok(Number(bucket.t) < 0.1, `tokens left in Redis: ${bucket.t}`);
      const ttl = await admin!.ttl(`stampgate:ratelimit:${name}:client-1`);
      assert.ok(ttl > 0 && ttl <= 181, `TTL ${ttl}`); // a full refill (3 minutes) and a second
    } finally {
      await gatewayA.close();
      await gatewayB.close();
      await deleteKeys(admin!, keysOf(name));
    }
  });

  test('when Redis stops answering, requests are still limited, in memory, without waiting for it', async () => {
    const own = await startOwnRedis();
    const ownAdmin = new Redis(own.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    ownAdmin.on('error', () => {});
    const name = `rl-${run}-fallback`;
    const context = testContext(name);
    const middleware = rateLimit({ average: 1, period: '1m', burst: 3, sourceCriterion: { requestHeaderName: 'X-Key' }, redis: { url: own.url, timeout: '100ms' } }, context);
    built.push(middleware);
    const gateway = await startHarness(middleware);
    try {
      await untilShared(gateway, ownAdmin, name);
      // Two of client-1's three requests spent through Redis.
      assert.deepEqual([(await timed(gateway, 'client-1')).reply.status, (await timed(gateway, 'client-1')).reply.status], [200, 200]);

      // Redis hangs (paused): the first request waits at most the timeout, then memory takes over.
      own.process.kill('SIGSTOP');
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await timed(gateway, 'client-1'));
      assert.deepEqual(answers.map((a) => a.reply.status), [200, 200, 200, 429, 429]); // this gateway's own bucket: burst 3
      assert.ok(answers[0]!.ms < 100 + 250, `first request after the pause took ${answers[0]!.ms.toFixed(0)} ms`);
      for (const answer of answers.slice(1)) assert.ok(answer.ms < 100, `a request took ${answer.ms.toFixed(0)} ms while Redis was skipped`);
      assert.equal(answers[3]!.reply.headers['retry-after'] !== undefined, true);
      assert.ok(context.lines.some((line) => /Redis redis:\/\/127\.0\.0\.1:\d+ is not answering \(within 100ms\); limiting in memory/.test(line)), context.lines.join('\n'));

      // Redis answers again: after the one-second pause, requests go through Redis again. (The
      // command that timed out ran when Redis resumed, as any client's would: client-1's shared
      // bucket is empty now.)
      own.process.kill('SIGCONT');
      await sleep(1100);
      assert.equal((await timed(gateway, 'client-3')).reply.status, 200);
      assert.equal(await ownAdmin.exists(`stampgate:ratelimit:${name}:client-3`), 1);
      assert.equal((await timed(gateway, 'client-1')).reply.status, 429);
      assert.ok(context.lines.some((line) => /answers again; limits are shared again/.test(line)), context.lines.join('\n'));

      // Redis is gone (killed): limited in memory, answered at once.
      own.process.kill('SIGKILL');
      await sleep(50);
      const afterKill = [];
      for (let i = 0; i < 4; i++) afterKill.push(await timed(gateway, 'client-2'));
      assert.deepEqual(afterKill.map((a) => a.reply.status), [200, 200, 200, 429]);
      for (const answer of afterKill) assert.ok(answer.ms < 100, `a request took ${answer.ms.toFixed(0)} ms with Redis gone`);
      assert.equal((await timed(gateway, 'client-1')).reply.status, 429); // its memory bucket is still empty
    } finally {
      await gateway.close();
      ownAdmin.disconnect();
      await own.stop();
    }
  });

  test('a released middleware closes its connection; later requests are limited in memory', async () => {
    const name = `rl-${run}-released`;
    const middleware = config(name, { url: testRedisUrl });
    const gateway = await startHarness(middleware);
    try {
      await untilShared(gateway, admin!, name);
      await releaseRateLimit(middleware);
      await releaseRateLimit(middleware); // twice is harmless
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push((await timed(gateway, 'after-release')).reply.status);
      assert.deepEqual(replies, [200, 200, 200, 429]);
      assert.equal(await admin!.exists(`stampgate:ratelimit:${name}:after-release`), 0);
    } finally {
      await gateway.close();
      await deleteKeys(admin!, keysOf(name));
    }
  });
});
