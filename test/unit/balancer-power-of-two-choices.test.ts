import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PowerOfTwoChoices } from '../../src/gateway/balancer/power-of-two-choices.ts';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const created: UpstreamServer[] = [];
after(() => Promise.all(created.map((s) => s.pool.close())));

function servers(count: number, weight = 1): UpstreamServer[] {
  const list = Array.from({ length: count }, (_, i) => new UpstreamServer(`http://s${i}.test:8080`, weight, timeouts));
  created.push(...list);
  return list;
}

const exchange = { clientIp: '192.0.2.1', req: { headers: {} }, responseHooks: null } as unknown as Exchange;

/** A small seeded generator (mulberry32), so that the tests are repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('of two servers, the one with fewer requests in flight always wins', () => {
  const [a, b] = servers(2);
  const p2c = new PowerOfTwoChoices([a!, b!], { random: seeded(1) });
  a!.inFlight = 10;
  b!.inFlight = 2;
  for (let i = 0; i < 100; i++) assert.equal(p2c.pick(exchange), b);
  b!.inFlight = 11;
  for (let i = 0; i < 100; i++) assert.equal(p2c.pick(exchange), a);
});

test('the most loaded server is never picked while the others are less loaded', () => {
  const list = servers(5);
  const p2c = new PowerOfTwoChoices(list, { random: seeded(7) });
  list[3]!.inFlight = 50;
  const counts = new Map<UpstreamServer, number>();
  for (let i = 0; i < 4000; i++) {
    const server = p2c.pick(exchange)!;
    counts.set(server, (counts.get(server) ?? 0) + 1);
  }
  assert.equal(counts.get(list[3]!), undefined);
  // Ties go to the first draw, which is uniform: the others share the rest about evenly.
  for (const i of [0, 1, 2, 4]) assert.ok((counts.get(list[i]!) ?? 0) > 800, `s${i}: ${counts.get(list[i]!)}`);
});

test('the two choices are always distinct servers', () => {
  const [a, b, c] = servers(3);
  // A generator that always draws 0 would pick the same server twice without the step-over.
  const p2c = new PowerOfTwoChoices([a!, b!, c!], { random: () => 0 });
  a!.inFlight = 5;
  b!.inFlight = 1;
  assert.equal(p2c.pick(exchange), b);
});

test('under load tracked by the caller, requests spread evenly', () => {
  const list = servers(4);
  const p2c = new PowerOfTwoChoices(list, { random: seeded(42) });
  // Requests that never finish: p2c must keep the in-flight counts level.
  for (let i = 0; i < 400; i++) p2c.pick(exchange)!.inFlight++;
  const loads = list.map((s) => s.inFlight);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 2, `loads ${loads.join(',')}`);
});

test('unavailable and excluded servers are skipped; weights only matter as 0 (never picked)', () => {
  const [a, b, c] = servers(3);
  const zero = new UpstreamServer('http://zero.test:8080', 0, timeouts);
  created.push(zero);
  const p2c = new PowerOfTwoChoices([a!, b!, c!, zero], { random: seeded(3) });
  b!.healthy = false;
  c!.ejectedUntil = performance.now() + 60_000;
  for (let i = 0; i < 50; i++) assert.equal(p2c.pick(exchange), a);
  assert.equal(p2c.pick(exchange, new Set([a!])), undefined);
  b!.healthy = true;
  for (let i = 0; i < 50; i++) assert.equal(p2c.pick(exchange, new Set([a!])), b);
});
