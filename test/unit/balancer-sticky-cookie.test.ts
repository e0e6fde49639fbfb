import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createBalancer } from '../../src/gateway/balancer/create-balancer.ts';
import { PowerOfTwoChoices } from '../../src/gateway/balancer/power-of-two-choices.ts';
import { RendezvousHash } from '../../src/gateway/balancer/rendezvous-hash.ts';
import {
  findCookie,
  serializeStickyCookie,
  StickyCookieBalancer,
  stickyCookieName,
  stickyCookieValue,
} from '../../src/gateway/balancer/sticky-cookie.ts';
import { UpstreamServer } from '../../src/gateway/balancer/upstream-server.ts';
import { WeightedRoundRobin } from '../../src/gateway/balancer/weighted-round-robin.ts';
import type { Exchange, ResponseHead } from '../../src/gateway/pipeline/exchange.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const created: UpstreamServer[] = [];
after(() => Promise.all(created.map((s) => s.pool.close())));

function servers(count: number): UpstreamServer[] {
  const list = Array.from({ length: count }, (_, i) => new UpstreamServer(`http://10.0.0.${i + 1}:8080/app`, 1, timeouts));
  created.push(...list);
  return list;
}

function exchangeWith(cookie?: string): Exchange {
  const headers = cookie === undefined ? {} : { cookie };
  return { clientIp: '192.0.2.1', req: { headers }, responseHooks: null } as unknown as Exchange;
}

/** The Set-Cookie lines the exchange's response hooks add. */
function setCookies(exchange: Exchange): string[] {
  const head: ResponseHead = { status: 200, headers: ['content-type', 'text/plain'], replaced: false };
  for (const hook of exchange.responseHooks ?? []) assert.equal(hook(exchange, head), null);
  const lines: string[] = [];
  for (let i = 0; i < head.headers.length; i += 2) if (head.headers[i] === 'set-cookie') lines.push(head.headers[i + 1]!);
  return lines;
}

test('a new client is pinned with a hash of the server URL, never the URL itself', () => {
  const list = servers(3);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc@file');
  const exchange = exchangeWith();
  const server = sticky.pick(exchange)!;
  assert.equal(server, list[0]);
  const [line, ...more] = setCookies(exchange);
  assert.deepEqual(more, []);
  const value = createHash('sha256').update(server.url).digest('hex').slice(0, 16);
  assert.equal(line, `lb=${value}; Path=/`);
  assert.equal(stickyCookieValue(server.url), value);
  assert.ok(!line!.includes('10.0.0'));
});

test('a pinned client returns to its server, and no cookie is set again', () => {
  const list = servers(3);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc');
  const pinned = `lb=${stickyCookieValue(list[2]!.url)}`;
  for (let i = 0; i < 5; i++) {
    const exchange = exchangeWith(`theme=dark; ${pinned}; other=1`);
    assert.equal(sticky.pick(exchange), list[2]);
    assert.equal(exchange.responseHooks, null);
  }
});

test('when the pinned server goes down the client is re-pinned, and stays on the new server', () => {
  const list = servers(3);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc');
  const first = exchangeWith(`lb=${stickyCookieValue(list[0]!.url)}`);
  assert.equal(sticky.pick(first), list[0]);
  list[0]!.healthy = false;
  const second = exchangeWith(`lb=${stickyCookieValue(list[0]!.url)}`);
  const moved = sticky.pick(second)!;
  assert.notEqual(moved, list[0]);
  assert.deepEqual(setCookies(second), [`lb=${stickyCookieValue(moved.url)}; Path=/`]);
  // The browser now sends the new cookie: the client stays there even when the old server is back.
  list[0]!.healthy = true;
  const third = exchangeWith(`lb=${stickyCookieValue(moved.url)}`);
  assert.equal(sticky.pick(third), moved);
  assert.equal(third.responseHooks, null);
});

test('an unknown or stale cookie value is replaced', () => {
  const list = servers(2);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc');
  const exchange = exchangeWith('lb=0123456789abcdef');
  const server = sticky.pick(exchange)!;
  assert.deepEqual(setCookies(exchange), [`lb=${stickyCookieValue(server.url)}; Path=/`]);
});

test('a retry that excludes the pinned server re-pins once, with a single Set-Cookie for the final server', () => {
  const list = servers(3);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc');
  const exchange = exchangeWith();
  const first = sticky.pick(exchange)!;
  const second = sticky.pick(exchange, new Set([first]))!;
  assert.notEqual(second, first);
  assert.equal(exchange.responseHooks?.length, 1);
  assert.deepEqual(setCookies(exchange), [`lb=${stickyCookieValue(second.url)}; Path=/`]);

  const pinned = exchangeWith(`lb=${stickyCookieValue(list[1]!.url)}`);
  assert.equal(sticky.pick(pinned), list[1]);
  const retried = sticky.pick(pinned, new Set([list[1]!]))!;
  assert.notEqual(retried, list[1]);
  assert.deepEqual(setCookies(pinned), [`lb=${stickyCookieValue(retried.url)}; Path=/`]);
});

test('no server left gives undefined and no cookie', () => {
  const list = servers(1);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb' }, 'svc');
  list[0]!.healthy = false;
  const exchange = exchangeWith(`lb=${stickyCookieValue(list[0]!.url)}`);
  assert.equal(sticky.pick(exchange), undefined);
  assert.equal(exchange.responseHooks, null);
});

test('cookie attributes follow the config, in Go\'s net/http order', () => {
  assert.equal(
    serializeStickyCookie('lb', 'v', { secure: true, httpOnly: true, sameSite: 'strict', maxAge: 3600, path: '/shop' }),
    'lb=v; Path=/shop; Max-Age=3600; HttpOnly; Secure; SameSite=Strict',
  );
  assert.equal(serializeStickyCookie('lb', 'v', { sameSite: 'none', secure: true }), 'lb=v; Path=/; Secure; SameSite=None');
  assert.equal(serializeStickyCookie('lb', 'v', { sameSite: 'lax' }), 'lb=v; Path=/; SameSite=Lax');
  assert.equal(serializeStickyCookie('lb', 'v', { sameSite: '', maxAge: 0 }), 'lb=v; Path=/');
  assert.equal(serializeStickyCookie('lb', 'v', { maxAge: -1 }), 'lb=v; Path=/; Max-Age=0');

  const list = servers(2);
  const sticky = new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb', secure: true, httpOnly: true, sameSite: 'lax', maxAge: 60 }, 'svc');
  const exchange = exchangeWith();
  const server = sticky.pick(exchange)!;
  assert.deepEqual(setCookies(exchange), [`lb=${stickyCookieValue(server.url)}; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax`]);
});

test('the default cookie name is Traefik\'s, generated from the service name; configured names are sanitised', () => {
  // Traefik's own test vector (pkg/server/cookie).
  assert.equal(stickyCookieName(undefined, '/my/BACKEND-v1.0~rc1'), '_5f7bc');
  assert.equal(stickyCookieName('', 'svc@file'), stickyCookieName(undefined, 'svc@file'));
  assert.match(stickyCookieName(undefined, 'svc@file'), /^_[0-9a-f]{5}$/);
  assert.equal(stickyCookieName('/my/BACKEND-v1.0~rc1', 'x'), '_my_BACKEND-v1.0~rc1');
  assert.equal(stickyCookieName('session id;', 'x'), 'session_id_');
});

test('the Cookie header is read without splitting it into a map', () => {
  assert.equal(findCookie('lb=abc', 'lb'), 'abc');
  assert.equal(findCookie('a=1; lb=abc; b=2', 'lb'), 'abc');
  assert.equal(findCookie('a=1;lb=abc', 'lb'), 'abc');
  assert.equal(findCookie('a=1;  lb = abc ', 'lb'), undefined, 'a space before = makes another name');
  assert.equal(findCookie('a=1;  lb= abc ', 'lb'), 'abc');
  assert.equal(findCookie('xlb=1; lb=2', 'lb'), '2');
  assert.equal(findCookie('a=lb=1; lb=2', 'lb'), '2');
  assert.equal(findCookie('lbx=1', 'lb'), undefined);
  assert.equal(findCookie('lb="quoted"', 'lb'), 'quoted');
  assert.equal(findCookie('lb=', 'lb'), '');
  assert.equal(findCookie('', 'lb'), undefined);
  assert.equal(findCookie('a=1; b=2', 'lb'), undefined);
});

test('createBalancer builds the strategy and wraps it when sticky.cookie is set', () => {
  const list = servers(2);
  assert.ok(createBalancer(list) instanceof WeightedRoundRobin);
  assert.ok(createBalancer(list, { strategy: 'wrr' }) instanceof WeightedRoundRobin);
  assert.ok(createBalancer(list, { strategy: 'p2c' }) instanceof PowerOfTwoChoices);
  assert.ok(createBalancer(list, { strategy: 'hrw' }) instanceof RendezvousHash);
  // Traefik turns stickiness on only when a cookie section is present.
  assert.ok(createBalancer(list, { sticky: {} }) instanceof WeightedRoundRobin);
  const sticky = createBalancer(list, { strategy: 'p2c', sticky: { cookie: {} }, serviceName: '/my/BACKEND-v1.0~rc1' });
  assert.ok(sticky instanceof StickyCookieBalancer);
  assert.equal(sticky.cookieName, '_5f7bc');
  assert.equal(sticky.servers, list);
  assert.throws(() => createBalancer(list, { strategy: 'random' as never }), /unknown load-balancer strategy "random"/);
});

test('a cookie that would not be a valid header value is refused when the balancer is built', () => {
  const list = servers(2);
  // The config schema refuses these paths first; the balancer refuses them too, since response hooks are written unchecked.
  assert.throws(() => new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb', path: '/a\r\nX-Injected: 1' }, 'svc'), /not a valid header value/);
  assert.throws(() => new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb', path: '/a\u010d\u010aX-Injected: 1' }, 'svc'), /not a valid header value/);
  assert.doesNotThrow(() => new StickyCookieBalancer(new WeightedRoundRobin(list), { name: 'lb', path: '/app' }, 'svc'));
});
