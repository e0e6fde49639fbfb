import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import { WeightedRoundRobin } from '../../src/gateway/balancer/weighted-round-robin.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const created: UpstreamServer[] = [];
after(() => Promise.all(created.map((s) => s.pool.close())));

function servers(weights: Record<string, number>): UpstreamServer[] {
  const list = Object.entries(weights).map(([name, weight]) => new UpstreamServer(`http://${name}.test:8080`, weight, timeouts));
  created.push(...list);
  return list;
}

const exchange = { clientIp: '192.0.2.1', req: { headers: {} }, responseHooks: null } as unknown as Exchange;

function names(balancer: WeightedRoundRobin, picks: number, exclude?: ReadonlySet<UpstreamServer>): string {
  const out: string[] = [];
  for (let i = 0; i < picks; i++) out.push(new URL(balancer.pick(exchange, exclude)?.url ?? 'http://none.test').hostname.split('.')[0]!);
  return out.join(' ');
}

test('weights 5,1,1 give NGINX\'s smooth sequence a a b a c a a, cycle after cycle', () => {
  const wrr = new WeightedRoundRobin(servers({ a: 5, b: 1, c: 1 }));
  assert.equal(names(wrr, 7), 'a a b a c a a');
  assert.equal(names(wrr, 14), 'a a b a c a a a a b a c a a');
});

test('equal weights rotate exactly in the configured order', () => {
  const wrr = new WeightedRoundRobin(servers({ a: 1, b: 1, c: 1, d: 1 }));
  assert.equal(names(wrr, 12), 'a b c d a b c d a b c d');
  const heavy = new WeightedRoundRobin(servers({ a: 3, b: 3 }));
  assert.equal(names(heavy, 6), 'a b a b a b');
});

test('over 10,000 picks each server gets its weight\'s share within 5%', () => {
  const list = servers({ a: 7, b: 3, c: 2, d: 1 });
  const wrr = new WeightedRoundRobin(list);
  const counts = new Map<UpstreamServer, number>();
  for (let i = 0; i < 10_000; i++) {
    const server = wrr.pick(exchange)!;
    counts.set(server, (counts.get(server) ?? 0) + 1);
  }
  for (const server of list) {
    const expected = (10_000 * server.weight) / 13;
    const got = counts.get(server) ?? 0;
    assert.ok(Math.abs(got - expected) / expected < 0.05, `${server.url}: ${got} vs ${expected}`);
  }
});

test('unhealthy, ejected and excluded servers are skipped; the others keep their rotation', () => {
  const [a, b, c] = servers({ a: 1, b: 1, c: 1 });
  const wrr = new WeightedRoundRobin([a!, b!, c!]);
  assert.equal(names(wrr, 3), 'a b c');
  b!.healthy = false;
  assert.equal(names(wrr, 4), 'a c a c');
  b!.healthy = true;
  c!.ejectedUntil = performance.now() + 60_000;
  assert.equal(names(wrr, 4), 'a b a b');
  c!.ejectedUntil = 0;
  assert.equal(names(wrr, 3, new Set([a!])), 'b c b');
  // All three back: still an exact rotation, each once per round.
  assert.equal(names(wrr, 6), 'c a b c a b');
});

test('a server that is down does not disturb the smoothness of the others', () => {
  const list = servers({ a: 5, b: 1, c: 1 });
  const wrr = new WeightedRoundRobin(list);
  list[2]!.healthy = false;
  const sequence = names(wrr, 600);
  assert.ok(!sequence.includes('b b'), 'b is never picked twice in a row');
  assert.ok(!sequence.includes('c'));
  assert.equal(sequence.split(' ').filter((n) => n === 'b').length, 100);
  assert.ok(sequence.startsWith('a a a b a a a a a b'));
});

test('no available server gives undefined; a weight of 0 is never picked', () => {
  const [a, zero] = servers({ a: 1, zero: 0 });
  const wrr = new WeightedRoundRobin([a!, zero!]);
  assert.equal(names(wrr, 3), 'a a a');
  a!.healthy = false;
  assert.equal(wrr.pick(exchange), undefined);
  assert.equal(new WeightedRoundRobin([]).pick(exchange), undefined);
});
