import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import { defaultFailTimeoutMs, PassiveHealth } from '../../src/gateway/health/passive-health.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const created: UpstreamServer[] = [];
after(() => Promise.all(created.map((s) => s.pool.close())));

function server(): UpstreamServer {
  const s = new UpstreamServer(`http://10.0.0.${created.length + 1}:8080`, 1, timeouts);
  created.push(s);
  return s;
}

/** Records every change event as "healthy:reason". */
function watch(passive: PassiveHealth): string[] {
  const events: string[] = [];
  passive.on('change', (_server, healthy, reason) => events.push(`${healthy}:${reason}`));
  return events;
}

// Times below are fake performance.now() values passed explicitly, far in the future of the
// real clock, so that the real timers that announce returns never fire during a test.
const t0 = 1e12;

test('maxFails failures within failTimeout eject the server for failTimeout', (t) => {
  const passive = new PassiveHealth({ maxFails: 3, failTimeout: '1s' });
  t.after(() => passive.stop());
  const events = watch(passive);
  const s = server();
  passive.recordFailure(s, t0);
  passive.recordFailure(s, t0 + 600);
  assert.ok(s.isAvailable(t0 + 600));
  // The failure at t0 is more than 1s old: only two failures in the window.
  passive.recordFailure(s, t0 + 1200);
  assert.ok(s.isAvailable(t0 + 1200));
  assert.deepEqual(events, []);
  passive.recordFailure(s, t0 + 1300);
  assert.equal(s.ejectedUntil, t0 + 2300);
  assert.ok(!s.isAvailable(t0 + 2299));
  assert.ok(s.isAvailable(t0 + 2300));
  assert.deepEqual(events, ['false:3 failure(s) within 1000 ms']);
});

test('failures reported while ejected do not extend the ejection', (t) => {
  const passive = new PassiveHealth({ maxFails: 1, failTimeout: 0.5 });
  t.after(() => passive.stop());
  const s = server();
  passive.recordFailure(s, t0);
  assert.equal(s.ejectedUntil, t0 + 500);
  passive.recordFailure(s, t0 + 100);
  passive.recordFailure(s, t0 + 499);
  assert.equal(s.ejectedUntil, t0 + 500);
});

test('after an ejection, one failure ejects again and one success clears the record (NGINX)', (t) => {
  const passive = new PassiveHealth({ maxFails: 3, failTimeout: '100ms' });
  t.after(() => passive.stop());
  const events = watch(passive);
  const s = server();
  for (const at of [0, 10, 20]) passive.recordFailure(s, t0 + at);
  assert.equal(s.ejectedUntil, t0 + 120);
  // Back at t0 + 120, on probation: a single failure is enough.
  passive.recordFailure(s, t0 + 130);
  assert.equal(s.ejectedUntil, t0 + 230);
  assert.match(events[1]!, /^false:failed again/);
  // Back again; a success ends the probation, so it takes maxFails failures again.
  passive.recordSuccess(s, t0 + 240);
  passive.recordFailure(s, t0 + 250);
  passive.recordFailure(s, t0 + 260);
  assert.ok(s.isAvailable(t0 + 260));
  passive.recordFailure(s, t0 + 270);
  assert.equal(s.ejectedUntil, t0 + 370);
});

test('successes outside probation do not reset the window: maxFails is a count within failTimeout', (t) => {
  const passive = new PassiveHealth({ maxFails: 2, failTimeout: '1s' });
  t.after(() => passive.stop());
  const s = server();
  passive.recordFailure(s, t0);
  passive.recordSuccess(s, t0 + 10);
  passive.recordFailure(s, t0 + 20);
  assert.equal(s.ejectedUntil, t0 + 1020);
});

test('a success answered for a request sent before the ejection does not end it', (t) => {
  const passive = new PassiveHealth({ maxFails: 1, failTimeout: '1s' });
  t.after(() => passive.stop());
  const s = server();
  passive.recordFailure(s, t0);
  passive.recordSuccess(s, t0 + 10);
  assert.equal(s.ejectedUntil, t0 + 1000);
  // Still on probation once back: one failure ejects it again.
  passive.recordFailure(s, t0 + 1001);
  assert.equal(s.ejectedUntil, t0 + 2001);
});

test('servers are tracked separately; defaults are NGINX\'s fail_timeout of 10s', (t) => {
  const passive = new PassiveHealth({ maxFails: 2 });
  t.after(() => passive.stop());
  assert.equal(passive.failTimeoutMs, defaultFailTimeoutMs);
  assert.equal(defaultFailTimeoutMs, 10_000);
  const a = server();
  const b = server();
  passive.recordFailure(a, t0);
  passive.recordFailure(b, t0 + 1);
  assert.ok(a.isAvailable(t0 + 2) && b.isAvailable(t0 + 2));
  passive.recordFailure(a, t0 + 2);
  assert.equal(a.ejectedUntil, t0 + 10_002);
  assert.equal(b.ejectedUntil, 0);
  // A success for a server never seen costs nothing and changes nothing.
  passive.recordSuccess(server());
});

test('after stop() reports are ignored', () => {
  const passive = new PassiveHealth({ maxFails: 1, failTimeout: '1s' });
  passive.stop();
  const s = server();
  passive.recordFailure(s, t0);
  assert.equal(s.ejectedUntil, 0);
});

test('a listener that throws becomes a process warning instead of breaking the caller', async (t) => {
  const passive = new PassiveHealth({ maxFails: 1, failTimeout: '1s' });
  t.after(() => passive.stop());
  passive.on('change', () => {
    throw new Error('listener bug');
  });
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  const s = server();
  assert.doesNotThrow(() => passive.recordFailure(s, t0));
  assert.equal(s.ejectedUntil, t0 + 1000);
  const warning = await warned;
  assert.equal(warning.message, "a health 'change' listener threw: listener bug");
  assert.equal((warning as Error & { code?: string }).code, 'STAMPGATE_HEALTH_LISTENER');
});
