// rateLimit in memory, through real HTTP: Traefik's token bucket (average per period refills a
// bucket of burst), its short hold-back instead of a refusal, 429 problems with Retry-After, and
// the source criteria (header, tenant with the client-address fallback).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rateLimit } from '../../src/gateway/middleware/rate-limit.ts';
import { MiddlewareConfigError, type Middleware } from '../../src/gateway/middleware/middleware.ts';
import { TokenBuckets } from '../../src/gateway/middleware/token-buckets.ts';
import { problemOf, send, startHarness, testContext, type Harness, type Reply } from './middleware-harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function assertLimited(reply: Reply, retryAfter: string): void {
  assert.equal(reply.status, 429);
  assert.equal(reply.headers['retry-after'], retryAfter);
  const body = problemOf(reply);
  assert.equal(body.type, 'https://stampgate.dev/problems/rate-limited');
  assert.equal(body.status, 429);
  assert.match(body.detail, /^middleware "limit" allows \d+ requests? per \S+ \(burst \d+\) from this source; retry in \d+s$/);
  assert.equal(typeof body.requestId, 'string');
}

/**
 * `count` requests written at once on one connection (HTTP/1.1 pipelining): the gateway reads them
 * within a millisecond, whatever the machine's load, so that token-bucket timing is exact.
 */
function pipelined(harness: Harness, count: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(harness.port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => resolve(parseResponses(raw)));
    let requests = '';
    for (let i = 0; i < count; i++) requests += `GET /${i} HTTP/1.1\r\nHost: gateway.test\r\n${i === count - 1 ? 'Connection: close\r\n' : ''}\r\n`;
    socket.write(requests);
  });
}

/** Splits a stream of HTTP/1.1 responses with Content-Length bodies. */
function parseResponses(raw: string): Reply[] {
  const replies: Reply[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    const [statusLine, ...lines] = raw.slice(at, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    const text = raw.slice(headEnd + 4, headEnd + 4 + length);
    replies.push({ status: Number(statusLine!.split(' ')[1]), headers, text, error: null });
    at = headEnd + 4 + length;
  }
  return replies;
}

/** `count` requests at once (each on its own connection); statuses in the order they were sent. */
async function burst(harness: Harness, count: number, headers: Record<string, string> = {}): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => send(harness, '/', { headers })));
}

function statuses(replies: Reply[]): number[] {
  return replies.map((r) => r.status).sort();
}

/** Stands in for a jwt middleware with tenantClaim: the tenant from a test header. */
const tenantFromHeader: Middleware = (next) => (exchange) => {
  const tenant = exchange.req.headers['x-test-tenant'];
  if (typeof tenant === 'string') exchange.tenant = tenant;
  next(exchange);
};

describe('rateLimit (memory)', () => {
  test('average 10/s with burst 5: 5 of 8 quick requests pass, then 429 with Retry-After; the bucket refills over the period', async () => {
    // The limiter's clock stands still during each burst, so that a loaded machine cannot spread
    // the 8 requests over more than Traefik's 50 ms hold-back window.
    let now = 0;
    const harness = await startHarness(rateLimit({ average: 10, burst: 5 }, testContext('limit'), () => now));
    try {
      const first = await pipelined(harness, 8);
      assert.deepEqual(first.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429, 429]);
      for (const reply of first.slice(5)) assertLimited(reply, '1');
      now += 300; // 3 tokens back
      assert.deepEqual((await pipelined(harness, 4)).map((r) => r.status), [200, 200, 200, 429]);
      now += 1000; // one period: 10 tokens' worth, the bucket holds 5
      const second = await pipelined(harness, 6);
      assert.deepEqual(second.map((r) => r.status), [200, 200, 200, 200, 200, 429]);
    } finally {
      await harness.close();
    }
  });

  test('the same with the real clock', async () => {
    const harness = await startHarness(rateLimit({ average: 10, burst: 5 }, testContext('limit')));
    try {
      // Written at once on one connection, the 8 requests reach the limiter within a millisecond or
      // so; only a stall of more than 50 ms in the middle would let a 6th through (held back).
      const first = await pipelined(harness, 8);
      assert.deepEqual(first.slice(0, 5).map((r) => r.status), [200, 200, 200, 200, 200]);
      assert.equal(first[7]!.status, 429);
      await sleep(1000);
      assert.deepEqual((await pipelined(harness, 5)).map((r) => r.status), [200, 200, 200, 200, 200]);
    } finally {
      await harness.close();
    }
  });

  test('a request that would get a token within maxDelay is held back until then, not refused (Traefik)', async () => {
    // 10/s, burst 1: a token every 100 ms; maxDelay is half of that, 50 ms.
    let now = 0;
    const harness = await startHarness(rateLimit({ average: 10, burst: 1 }, testContext('limit'), () => now));
    try {
      const [first, second] = await pipelined(harness, 2);
      assert.equal(first!.status, 200);
      assertLimited(second!, '1'); // the next token is 100 ms away
      now += 60; // now it is 40 ms away
      const started = performance.now();
      const held = await send(harness, '/');
      const took = performance.now() - started;
      assert.equal(held.status, 200);
      assert.ok(took >= 35, `held back ${took.toFixed(1)} ms, not 40`);
      assertLimited(await send(harness, '/'), '1'); // that token was this request's
    } finally {
      await harness.close();
    }
  });

  test('a slow rate: Retry-After counts the seconds to the next token', async () => {
    const harness = await startHarness(rateLimit({ average: 1, period: '1m' }, testContext('limit')));
    try {
      assert.equal((await send(harness, '/')).status, 200);
      const reply = await send(harness, '/');
      assert.equal(reply.status, 429);
      const seconds = Number(reply.headers['retry-after']);
      assert.ok(seconds >= 59 && seconds <= 60, `Retry-After ${seconds}`);
      assert.match(problemOf(reply).detail, /allows 1 request per 1m \(burst 1\)/);
    } finally {
      await harness.close();
    }
  });

  test('average 0 means no limit', async () => {
    const middleware = rateLimit({ average: 0, burst: 1 }, testContext('limit'));
    const terminal = () => {};
    assert.equal(middleware(terminal), terminal);
    const harness = await startHarness(middleware);
    try {
      assert.deepEqual([...new Set(statuses(await burst(harness, 20)))], [200]);
    } finally {
      await harness.close();
    }
  });

  test('keyed by a request header: each value has its own bucket, requests without it share one', async () => {
    const harness = await startHarness(rateLimit({ average: 1, period: '1m', burst: 2, sourceCriterion: { requestHeaderName: 'X-Api-Key' } }, testContext('limit')));
    try {
      assert.deepEqual(statuses(await burst(harness, 3, { 'x-api-key': 'one' })), [200, 200, 429]);
      assert.deepEqual(statuses(await burst(harness, 2, { 'x-api-key': 'two' })), [200, 200]);
      assert.deepEqual(statuses(await burst(harness, 3)), [200, 200, 429]);
      assert.equal((await send(harness, '/', { headers: { 'x-api-key': 'one' } })).status, 429);
    } finally {
      await harness.close();
    }
  });

  test('keyed by tenant: each tenant has its own bucket; without a tenant, the client address', async () => {
    const limit = rateLimit({ average: 1, period: '1m', burst: 2, sourceCriterion: { tenant: true } }, testContext('limit'));
    const harness = await startHarness((next) => tenantFromHeader(limit(next)));
    try {
      assert.deepEqual(statuses(await burst(harness, 3, { 'x-test-tenant': 'acme' })), [200, 200, 429]);
      assert.deepEqual(statuses(await burst(harness, 2, { 'x-test-tenant': 'globex' })), [200, 200]);
      // No tenant: keyed by 127.0.0.1, a budget of its own (not acme's, not one shared by "no tenant").
      assert.deepEqual(statuses(await burst(harness, 3)), [200, 200, 429]);
      // A tenant named like the client address does not share the address's bucket.
      assert.equal((await send(harness, '/', { headers: { 'x-test-tenant': '127.0.0.1' } })).status, 200);
    } finally {
      await harness.close();
    }
  });

  test('the client address by default, through an ipStrategy when one is set', async () => {
    const harness = await startHarness(rateLimit({ average: 1, period: '1m', burst: 1, sourceCriterion: { ipStrategy: { depth: 1 } } }, testContext('limit')));
    try {
      assert.equal((await send(harness, '/', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
      assert.equal((await send(harness, '/', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 429);
      assert.equal((await send(harness, '/', { headers: { 'x-forwarded-for': '203.0.113.8' } })).status, 200);
    } finally {
      await harness.close();
    }
  });

  test('config errors name the field', () => {
    const context = testContext();
    const configError = (pattern: RegExp) => (e: unknown) => e instanceof MiddlewareConfigError && pattern.test(e.message);
    assert.throws(() => rateLimit({ average: -1 }, context), configError(/^average: -1 must be a whole number, 0 or more$/));
    assert.throws(() => rateLimit({ average: 1, period: '10 parsecs' }, context), configError(/^period: /));
    assert.throws(() => rateLimit({ average: 1, sourceCriterion: { tenant: true, requestHost: true } }, context), configError(/^sourceCriterion: requestHost and tenant are mutually exclusive/));
    assert.throws(() => rateLimit({ average: 1, redis: {} }, context), configError(/^redis: set url \(redis:\/\/host:port\) or endpoints/));
    assert.throws(() => rateLimit({ average: 1, redis: { url: 'redis://a:1', endpoints: ['b:2'] } }, context), configError(/^redis: url and endpoints are mutually exclusive/));
    assert.throws(() => rateLimit({ average: 1, redis: { endpoints: ['host:port'] } }, context), configError(/^redis\.endpoints\[0\]: "host:port" is not host:port$/));
    assert.throws(() => rateLimit({ average: 1, redis: { url: 'redis://a:1', timeout: '0s' } }, context), configError(/^redis\.timeout: must be at least 1ms$/));
  });
});

function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} is not ${expected}`);
}

describe('TokenBuckets', () => {
  test('refills at the rate, up to the burst', () => {
    const buckets = new TokenBuckets({ ratePerMs: 0.01, burst: 2, maxDelayMs: 50 });
    assert.equal(buckets.take('a', 0), 0);
    assert.equal(buckets.take('a', 0), 0);
    near(buckets.take('a', 0), -100); // empty: a token in 100 ms, beyond maxDelay: refused
    near(buckets.take('a', 60), 40); // 0.6 tokens: held back 40 ms, the token is reserved
    near(buckets.take('a', 100), -100); // the reserved token is spent: 0 now, next at 200
    assert.equal(buckets.take('a', 10_000), 0); // refilled, capped at 2
    assert.equal(buckets.take('a', 10_000), 0);
    assert.ok(buckets.take('a', 10_000) < 0);
  });

  test('stays bounded: refilled buckets are swept, the oldest dropped past maxSources', () => {
    const buckets = new TokenBuckets({ ratePerMs: 0.001, burst: 1, maxDelayMs: 0, maxSources: 2000 });
    for (let i = 0; i < 5000; i++) buckets.take(`busy-${i}`, 0);
    assert.ok(buckets.size <= 2000, `size ${buckets.size}`);
    // Much later every bucket has refilled: the next sweep forgets them all.
    for (let i = 0; i < 2000; i++) buckets.take(`later-${i}`, 1e9);
    assert.ok(buckets.size <= 2000, `size ${buckets.size}`);
    assert.equal(buckets.take('later-1999', 1e9), -1000); // still remembered: empty
  });
});
