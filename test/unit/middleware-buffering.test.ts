// buffering through real HTTP: request limits by Content-Length and while a chunked body streams,
// response limits by Content-Length (500 problem) and while a body streams (connection closed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buffering } from '../../src/gateway/middleware/buffering.ts';
import { compress } from '../../src/gateway/middleware/compress.ts';
import type { Middleware } from '../../src/gateway/middleware/middleware.ts';
import type { Handler } from '../../src/gateway/pipeline/exchange.ts';
import { echoOf, problemOf, send, startHarness, testContext, type Reply, type UpstreamFixture } from './middleware-harness.ts';

function assertRequestTooLarge(reply: Reply, limit: number): void {
  assert.equal(reply.status, 413);
  assert.equal(reply.headers.connection, 'close');
  const body = problemOf(reply);
  assert.equal(body.type, 'https://stampgate.dev/problems/body-too-large');
  assert.equal(body.title, 'Request body too large');
  assert.equal(body.status, 413);
  assert.equal(body.detail, `the request body exceeds the limit of ${limit} bytes set by middleware "buf"`);
  assert.equal(typeof body.requestId, 'string');
}

const kib = (n: number): Buffer => Buffer.alloc(n * 1024, 0x61);

describe('maxRequestBodyBytes', () => {
  test('by Content-Length, before anything is forwarded', async () => {
    const harness = await startHarness(buffering({ maxRequestBodyBytes: 1000 }, testContext('buf')));
    try {
      assertRequestTooLarge(await send(harness, '/', { method: 'POST', body: Buffer.alloc(1001) }), 1000);
      assert.equal(harness.seen.length, 0);
      const ok = await send(harness, '/', { method: 'POST', body: Buffer.alloc(1000) });
      assert.equal(ok.status, 200);
      assert.equal(echoOf(ok).bodyBytes, 1000);
      assert.equal((await send(harness, '/')).status, 200);
    } finally {
      await harness.close();
    }
  });

  test('while a chunked body streams', async () => {
    const harness = await startHarness(buffering({ maxRequestBodyBytes: 100 * 1024 }, testContext('buf')));
    try {
      const ok = await send(harness, '/', { method: 'POST', chunks: [kib(40), kib(40), kib(20)] });
      assert.equal(ok.status, 200);
      assert.equal(echoOf(ok).bodyBytes, 100 * 1024);
      assertRequestTooLarge(await send(harness, '/', { method: 'POST', chunks: [kib(40), kib(40), kib(40), kib(40)] }), 100 * 1024);
      assert.equal(harness.seen.length, 1, 'the over-limit body never completed upstream');
    } finally {
      await harness.close();
    }
  });

  test('counting loses no chunk when the consumer starts reading late', { timeout: 2000 }, async () => {
    // A step that waits before the terminal attaches its reader, as the forwarder does while it connects.
    const late: Middleware = (next: Handler) => (exchange) => {
      setTimeout(() => next(exchange), 30);
    };
    const limit = buffering({ maxRequestBodyBytes: 1024 * 1024 }, testContext('buf'));
    const harness = await startHarness((next) => limit(late(next)));
    try {
      const reply = await send(harness, '/', { method: 'PUT', chunks: [kib(8), kib(8), kib(8), kib(8)] });
      assert.equal(reply.status, 200);
      assert.equal(echoOf(reply).bodyBytes, 32 * 1024);
    } finally {
      await harness.close();
    }
  });
});

describe('maxResponseBodyBytes', () => {
  async function fetchWith(upstream: UpstreamFixture, method = 'GET'): Promise<Reply> {
    const harness = await startHarness(buffering({ maxResponseBodyBytes: 1000 }, testContext('buf')), { upstream });
    try {
      return await send(harness, '/', { method });
    } finally {
      await harness.close();
    }
  }

  test('a Content-Length over the limit becomes a 500 problem', async () => {
    const reply = await fetchWith({ body: 'x'.repeat(1001), headers: ['Set-Cookie', 'a=b'] });
    assert.equal(reply.status, 500);
    assert.equal(reply.error, null);
    assert.equal(reply.headers['set-cookie'], undefined);
    const body = problemOf(reply);
    assert.equal(body.type, 'https://stampgate.dev/problems/response-too-large');
    assert.equal(body.status, 500);
    assert.equal(body.detail, 'the upstream response of 1001 bytes exceeds the limit of 1000 bytes set by middleware "buf"');
    assert.equal(reply.headers['x-request-id'], body.requestId);
  });

  test('the 500 problem that replaces an answer is left alone by a later compress', async () => {
    // buffering before compress: compress sees the problem's head, which is small enough to compress,
    // but the body is the gateway's own and the head must stay as buffering wrote it.
    const limit = buffering({ maxResponseBodyBytes: 1000 }, testContext('buf'));
    const gzip = compress({ encodings: ['gzip'], minResponseBodyBytes: 10 }, testContext('gzip'));
    const harness = await startHarness((next) => limit(gzip(next)), { upstream: { body: 'x'.repeat(1001), headers: ['Content-Type', 'application/json'] } });
    try {
      const reply = await send(harness, '/', { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(reply.status, 500);
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(problemOf(reply).type, 'https://stampgate.dev/problems/response-too-large');
    } finally {
      await harness.close();
    }
  });

  test('bodies within the limit pass unchanged, with or without Content-Length', async () => {
    for (const chunked of [false, true]) {
      const reply = await fetchWith({ body: 'y'.repeat(1000), chunked });
      assert.equal(reply.status, 200, `chunked ${chunked}`);
      assert.equal(reply.error, null);
      assert.equal(reply.text, 'y'.repeat(1000));
      assert.equal(reply.headers['transfer-encoding'], chunked ? 'chunked' : undefined);
    }
  });

  test('a streamed body that grows past the limit closes the connection', async () => {
    // Depending on what was flushed, the client sees a cut answer or a connection closed before one.
    const outcome = await fetchWith({ body: 'z'.repeat(4000), chunked: true }).then(
      (reply) => {
        assert.ok(reply.text.length <= 1000, `got ${reply.text.length} bytes`);
        return reply.error ?? 'complete';
      },
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );
    assert.notEqual(outcome, 'complete');
  });

  test('HEAD answers are not limited', async () => {
    const reply = await fetchWith({ body: 'x'.repeat(5000) }, 'HEAD');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], '5000');
  });
});

describe('accepted but unused fields', () => {
  test('memRequestBodyBytes, memResponseBodyBytes and retryExpression are logged and ignored', async () => {
    const context = testContext('buf');
    const middleware = buffering({ memRequestBodyBytes: 10, memResponseBodyBytes: 10, retryExpression: 'IsNetworkError() && Attempts() < 2' }, context);
    assert.equal(context.lines.length, 3);
    assert.match(context.lines[0]!, /memRequestBodyBytes is accepted and ignored: Stampgate streams bodies/);
    assert.match(context.lines[2]!, /retryExpression is accepted and ignored: use the retry middleware/);
    const terminal: Handler = () => {};
    assert.equal(middleware(terminal), terminal, 'without limits the middleware adds no step');
    const harness = await startHarness(middleware);
    try {
      assert.equal((await send(harness, '/', { method: 'POST', body: Buffer.alloc(50) })).status, 200);
    } finally {
      await harness.close();
    }
  });
});
