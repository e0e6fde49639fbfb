// inFlightReq through real HTTP: requests are held in the terminal so that the count is known;
// slots come back when a response finishes and when a client disconnects.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inFlightReq } from '../../src/gateway/middleware/in-flight-req.ts';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { eventually, open, problemOf, send, startHarness, testContext, type Harness, type Reply } from './middleware-harness.ts';

function assertTooMany(reply: Reply, amount: number): void {
  assert.equal(reply.status, 429);
  assert.equal(reply.headers['retry-after'], '1');
  const body = problemOf(reply);
  assert.equal(body.type, 'https://stampgate.dev/problems/too-many-in-flight');
  assert.equal(body.status, 429);
  assert.equal(body.detail, `middleware "limit" allows ${amount} request${amount === 1 ? '' : 's'} under way at once from this source`);
  assert.equal(typeof body.requestId, 'string');
}

async function hold(harness: Harness, count: number, headers: Record<string, string> = {}): Promise<Array<Promise<Reply>>> {
  const replies: Array<Promise<Reply>> = [];
  const before = harness.held.length;
  for (let i = 0; i < count; i++) replies.push(open(harness, '/', { headers }).reply);
  await eventually(() => harness.held.length === before + count);
  return replies;
}

describe('inFlightReq', () => {
  test('answers 429 over the amount and frees a slot when a response finishes', async () => {
    const harness = await startHarness(inFlightReq({ amount: 2 }, testContext('limit')), { upstream: { hold: true } });
    try {
      const first = await hold(harness, 2);
      assertTooMany(await send(harness, '/'), 2);
      harness.held.shift()!();
      assert.equal((await first[0]!).status, 200);
      const third = await hold(harness, 1);
      assertTooMany(await send(harness, '/'), 2);
      for (const answer of harness.held.splice(0)) answer();
      assert.deepEqual((await Promise.all([first[1]!, third[0]!])).map((r) => r.status), [200, 200]);
    } finally {
      await harness.close();
    }
  });

  test('frees a slot when the client disconnects before its answer', async () => {
    const harness = await startHarness(inFlightReq({ amount: 1 }, testContext('limit')), { upstream: { hold: true } });
    try {
      const abandoned = open(harness, '/');
      abandoned.reply.catch(() => {}); // it never gets an answer
      await eventually(() => harness.held.length === 1);
      assertTooMany(await send(harness, '/'), 1);
      abandoned.request.destroy();
      await eventually(() => harness.closed === 2); // the 429 and the abandoned request
      const [reply] = await hold(harness, 1);
      harness.held.at(-1)!();
      assert.equal((await reply!).status, 200);
    } finally {
      await harness.close();
    }
  });

  test('counts per source: the host by default, or a request header', async () => {
    const byHost = await startHarness(inFlightReq({ amount: 1 }, testContext('limit')), { upstream: { hold: true } });
    try {
      await hold(byHost, 1, { host: 'a.example.com' });
      assertTooMany(await send(byHost, '/', { headers: { host: 'A.example.com:8080' } }), 1);
      await hold(byHost, 1, { host: 'b.example.com' });
      for (const answer of byHost.held.splice(0)) answer();
    } finally {
      await byHost.close();
    }
    const byKey = await startHarness(inFlightReq({ amount: 1, sourceCriterion: { requestHeaderName: 'X-Api-Key' } }, testContext('limit')), { upstream: { hold: true } });
    try {
      await hold(byKey, 1, { 'x-api-key': 'one' });
      await hold(byKey, 1, { 'x-api-key': 'two' });
      assertTooMany(await send(byKey, '/', { headers: { 'x-api-key': 'one' } }), 1);
      await hold(byKey, 1); // no key: its own budget, shared by every request without one
      assertTooMany(await send(byKey, '/'), 1);
      for (const answer of byKey.held.splice(0)) answer();
    } finally {
      await byKey.close();
    }
  });

  test('config errors', () => {
    assert.throws(() => inFlightReq({ amount: 0 }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && /amount: 0 must be a whole number, 1 or more/.test(e.message));
    assert.throws(() => inFlightReq({ amount: 1, sourceCriterion: { requestHost: true, requestHeaderName: 'x' } }, testContext()), /sourceCriterion: requestHeaderName and requestHost are mutually exclusive/);
    assert.throws(() => inFlightReq({ amount: 1, sourceCriterion: { ipStrategy: { excludedIPs: ['nope'] } } }, testContext()), /sourceCriterion\.ipStrategy\.excludedIPs\[0\]: "nope" is not an IP address/);
  });
});
