import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RendezvousHash } from '../../src/gateway/balancer/rendezvous-hash.ts';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const created: UpstreamServer[] = [];
after(() => Promise.all(created.map((s) => s.pool.close())));

function servers(weights: number[]): UpstreamServer[] {
  const list = weights.map((weight, i) => new UpstreamServer(`http://10.0.0.${i + 1}:8080`, weight, timeouts));
  created.push(...list);
  return list;
}

function ips(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `198.51.${(i >> 8) & 255}.${i & 255}`);
}

function exchangeFrom(clientIp: string): Exchange {
  return { clientIp, req: { headers: {} }, responseHooks: null } as unknown as Exchange;
}

test('a client IP always gets the same server', () => {
  const hrw = new RendezvousHash(servers([1, 1, 1, 1]));
  for (const ip of ips(200)) {
    const first = hrw.pick(exchangeFrom(ip));
    for (let i = 0; i < 3; i++) assert.equal(hrw.pick(exchangeFrom(ip)), first);
  }
});

test('a server that goes down moves only its own clients, and they come back with it', () => {
  const list = servers([1, 1, 1, 1, 1]);
  const hrw = new RendezvousHash(list);
  const clients = ips(5000);
  const before = clients.map((ip) => hrw.pickFor(ip));
  const leaving = list[2]!;
  leaving.healthy = false;
  let moved = 0;
  clients.forEach((ip, i) => {
    const now = hrw.pickFor(ip);
    if (before[i] === leaving) {
      assert.notEqual(now, leaving);
      moved++;
    } else {
      assert.equal(now, before[i], `${ip} kept its server`);
    }
  });
  assert.ok(moved > 800 && moved < 1200, `about a fifth of the clients moved (${moved})`);
  leaving.healthy = true;
  clients.forEach((ip, i) => assert.equal(hrw.pickFor(ip), before[i]));
});

test('removing a server from the config moves only its clients (scores depend on URLs, not positions)', () => {
  const list = servers([1, 1, 1, 1]);
  const full = new RendezvousHash(list);
  const without = new RendezvousHash([list[0]!, list[1]!, list[3]!]);
  for (const ip of ips(2000)) {
    const was = full.pickFor(ip);
    if (was !== list[2]) assert.equal(without.pickFor(ip), was);
  }
});

test('shares follow the weights over many client IPs', () => {
  const list = servers([1, 2, 3, 4]);
  const hrw = new RendezvousHash(list);
  const counts = new Map<UpstreamServer, number>();
  const clients = ips(40_000);
  for (const ip of clients) {
    const server = hrw.pickFor(ip)!;
    counts.set(server, (counts.get(server) ?? 0) + 1);
  }
  for (const server of list) {
    const expected = (clients.length * server.weight) / 10;
    const got = counts.get(server) ?? 0;
    assert.ok(Math.abs(got - expected) / expected < 0.06, `${server.url} weight ${server.weight}: ${got} vs ${expected}`);
  }
});

test('excluded and unavailable servers are skipped; none left gives undefined', () => {
  const list = servers([1, 1]);
  const hrw = new RendezvousHash(list);
  const ip = '203.0.113.9';
  const first = hrw.pickFor(ip)!;
  const other = list.find((s) => s !== first)!;
  assert.equal(hrw.pickFor(ip, new Set([first])), other);
  other.healthy = false;
  assert.equal(hrw.pickFor(ip, new Set([first])), undefined);
});
