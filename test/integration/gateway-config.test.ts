// The gateway driven by Traefik-format dynamic configs, against real upstream servers on port 0:
// rules, middlewares, balancing, health, retries, TLS and reloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import type { StaticConfig } from '../../src/config/schema/static.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createRequestObserver } from '../../src/observe/request-observer.ts';
import { makeCertificate } from '../helpers/certificates.ts';
import { closedPort, startServer, type TestServer } from '../helpers/http-servers.ts';

const servers: TestServer[] = [];
const gateways: Gateway[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'stampgate-gwcfg-'));
after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

/** An upstream that says who it is and what it received. */
async function named(name: string, status = 200): Promise<TestServer> {
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-server': name });
      res.end(JSON.stringify({ server: name, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  servers.push(server);
  return server;
}

async function start(dynamic: DynamicConfig, entryPoints: StaticConfig['entryPoints'] = { web: { address: '127.0.0.1:0' } }, extra: Partial<Pick<StaticConfig, 'api' | 'ping'>> = {}): Promise<{ gateway: Gateway; ports: Map<string, number> }> {
  const gateway = new Gateway({ staticConfig: { entryPoints, ...extra } });
  gateway.applyConfig(dynamic);
  gateways.push(gateway);
  const addresses = await gateway.listen();
  return { gateway, ports: new Map([...addresses].map(([name, a]) => [name, a.port])) };
}

async function get(port: number, path: string, init: RequestInit & { host?: string } = {}): Promise<{ status: number; server: string | null; body: Record<string, unknown> }> {
  const headers = new Headers(init.headers);
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, server: res.headers.get('x-server'), body };
}

/** A GET with a Host header of our choosing (fetch does not let a caller set Host). */
function withHost(port: number, path: string, host: string): Promise<{ status: number; server: string | undefined; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, server: res.headers['x-server'] as string | undefined, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('rules route by path and method, priority breaks ties, stripPrefix rewrites, no match is a 404 problem', async () => {
  const users = await named('users');
  const music = await named('music');
  const web = await named('web');
  const { ports } = await start({
    http: {
      routers: {
        users: { rule: 'PathPrefix(`/api/users`)', service: 'users', middlewares: ['strip-api'] },
        music: { rule: 'PathPrefix(`/api/music`) && !Method(`DELETE`)', service: 'music', middlewares: ['strip-api'] },
        catchall: { rule: 'PathPrefix(`/`)', priority: 1, service: 'web' },
      },
      middlewares: { 'strip-api': { stripPrefix: { prefixes: ['/api'] } } },
      services: {
        users: { loadBalancer: { servers: [{ url: users.url }] } },
        music: { loadBalancer: { servers: [{ url: music.url }] } },
        web: { loadBalancer: { servers: [{ url: web.url }] } },
      },
    },
  });
  const port = ports.get('web')!;
  const user = await get(port, '/api/users/7?x=1');
  assert.equal(user.server, 'users');
  assert.equal(user.body.url, '/users/7?x=1');
  assert.equal((user.body.headers as Record<string, string>)['x-forwarded-prefix'], '/api');
  assert.equal((await get(port, '/api/music/1')).server, 'music');
  assert.equal((await get(port, '/api/music/1', { method: 'DELETE' })).server, 'web', 'the negated method falls through to the catch-all');
  assert.equal((await get(port, '/')).server, 'web');
  assert.equal((await get(port, '/api/users/../music/1')).server, 'music', 'dot-segments are resolved before matching');
  assert.equal((await get(port, '/api/users%2F..%2Fmusic')).server, 'users', 'an encoded slash is not a separator');
});

test('no router matches: 404 problem', async () => {
  const a = await named('a');
  const { ports } = await start({ http: { routers: { a: { rule: 'Host(`a.example`)', service: 'a' } }, services: { a: { loadBalancer: { servers: [{ url: a.url }] } } } } });
  const res = await fetch(`http://127.0.0.1:${ports.get('web')}/x`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.match(((await res.json()) as { detail: string }).detail, /no router on entrypoint "web" matches GET 127\.0\.0\.1\/x/);
  assert.equal((await withHost(ports.get('web')!, '/x', 'A.Example:8080')).server, 'a');
});

test('round robin is exact for equal weights and within 5% of the weights over 10,000 requests', async () => {
  const a = await named('a');
  const b = await named('b');
  const c = await named('c');
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'equal' }, weighted: { rule: 'PathPrefix(`/w`)', service: 'weighted' } },
      services: {
        equal: { loadBalancer: { servers: [{ url: a.url }, { url: b.url }] } },
        weighted: { loadBalancer: { servers: [{ url: a.url, weight: 3 }, { url: b.url, weight: 1 }, { url: c.url, weight: 1 }] } },
      },
    },
  });
  const port = ports.get('web')!;
  const sequence: string[] = [];
  for (let i = 0; i < 6; i++) sequence.push((await get(port, '/')).server!);
  assert.deepEqual(sequence, ['a', 'b', 'a', 'b', 'a', 'b']);

  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  const result = await autocannon({ url: `http://127.0.0.1:${port}/w`, connections: 20, amount: 10_000, setupClient: (client) => {
    // autocannon's typings say a header object; at run time it passes the raw [name, value, …] list.
    const onHeaders = ({ headers }: { headers: string[] }) => {
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'x-server') counts[headers[i + 1]!]!++;
    };
    client.on('headers', onHeaders as never);
  } });
  assert.equal(result.non2xx + result.errors, 0);
  const total = counts.a! + counts.b! + counts.c!;
  assert.equal(total, 10_000);
  for (const [name, share] of [['a', 0.6], ['b', 0.2], ['c', 0.2]] as const) {
    assert.ok(Math.abs(counts[name]! / total - share) < 0.05, `${name}: ${counts[name]} of ${total}`);
  }
});

test('sticky cookie pins a client, and re-pins when its server goes down', async () => {
  const a = await named('a');
  const b = await named('b');
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'sticky', middlewares: ['retry'] } },
      middlewares: { retry: { retry: { attempts: 2, initialInterval: '0s' } } },
      services: { sticky: { loadBalancer: { servers: [{ url: a.url }, { url: b.url }], sticky: { cookie: { name: 'pin', httpOnly: true, sameSite: 'lax' } } } } },
    },
  });
  const port = ports.get('web')!;
  const first = await fetch(`http://127.0.0.1:${port}/`);
  const cookie = first.headers.get('set-cookie')!;
  assert.match(cookie, /^pin=[0-9a-f]+; Path=\/; HttpOnly; SameSite=Lax/);
  const pinnedTo = first.headers.get('x-server');
  await first.arrayBuffer();
  const jar = cookie.split(';')[0]!;
  for (let i = 0; i < 5; i++) assert.equal((await get(port, '/', { headers: { cookie: jar } })).server, pinnedTo);
  const pinned = pinnedTo === 'a' ? a : b;
  await pinned.close();
  servers.splice(servers.indexOf(pinned), 1);
  // The pinned server is gone: the retry reaches the other one and the client is re-pinned.
  const repinned = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: jar } });
  assert.equal(repinned.status, 200);
  assert.equal(repinned.headers.get('x-server'), pinnedTo === 'a' ? 'b' : 'a');
  assert.match(repinned.headers.get('set-cookie') ?? '', /^pin=/);
  await repinned.arrayBuffer();
});

test('a server failing its health check leaves rotation within two intervals and returns after recovering', async () => {
  let healthy = true;
  const flaky = await startServer((req, res) => {
    if (req.url === '/health') res.writeHead(healthy ? 200 : 503).end();
    else res.writeHead(200, { 'x-server': 'flaky' }).end('{}');
  });
  servers.push(flaky);
  const steady = await named('steady');
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'svc' } },
      services: { svc: { loadBalancer: { servers: [{ url: flaky.url }, { url: steady.url }], healthCheck: { path: '/health', interval: '50ms', timeout: '40ms' } } } },
    },
  });
  const port = ports.get('web')!;
  const seen = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add((await get(port, '/')).server!);
    return names;
  };
  assert.deepEqual([...(await seen(4))].sort(), ['flaky', 'steady']);
  healthy = false;
  await new Promise((r) => setTimeout(r, 110));
  assert.deepEqual([...(await seen(6))], ['steady']);
  healthy = true;
  await new Promise((r) => setTimeout(r, 110));
  assert.deepEqual([...(await seen(4))].sort(), ['flaky', 'steady']);
});

test('retry: a GET goes to the next server; a POST that reached a server is never sent twice', async () => {
  let postsOnBroken = 0;
  const broken = await startServer((req) => {
    if (req.method === 'POST') postsOnBroken++;
    req.socket.destroy(); // reset mid-exchange: the request did reach this server
  });
  servers.push(broken);
  const good = await named('good');
  const down = await closedPort();
  const { ports } = await start({
    http: {
      routers: { reset: { rule: 'PathPrefix(`/reset`)', service: 'reset', middlewares: ['retry'] }, refused: { rule: 'PathPrefix(`/refused`)', service: 'refused', middlewares: ['retry'] } },
      middlewares: { retry: { retry: { attempts: 3, initialInterval: '0s' } } },
      services: {
        reset: { loadBalancer: { servers: [{ url: broken.url }, { url: good.url }] } },
        refused: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${down}` }, { url: good.url }] } },
      },
    },
  });
  const port = ports.get('web')!;
  for (let i = 0; i < 4; i++) assert.equal((await get(port, '/reset')).server, 'good', 'GETs retried on the good server');
  const posts = [];
  for (let i = 0; i < 4; i++) posts.push(await get(port, '/reset', { method: 'POST', body: 'x' }));
  assert.equal(postsOnBroken, 2, 'round robin sent 2 of the 4 POSTs to the broken server, once each');
  assert.equal(posts.filter((p) => p.status === 502).length, 2, 'and those answer 502 rather than being sent again');
  for (let i = 0; i < 4; i++) {
    const post = await get(port, '/refused', { method: 'POST', body: 'y' });
    assert.equal(post.server, 'good', 'a refused connection never carried the POST: it is safe to send to the next server');
    assert.equal(post.body.body, 'y');
  }
});

test('TLS with SNI and TLS 1.2 minimum; HTTP is redirected to HTTPS', async () => {
  const app = await named('secure-app');
  const cert = makeCertificate(tmp, ['shop.test', '*.shop.test']);
  const { ports } = await start(
    {
      http: { routers: { app: { rule: 'HostRegexp(`^(.+\\.)?shop\\.test$`)', service: 'app', tls: {}, entryPoints: ['websecure'] } }, services: { app: { loadBalancer: { servers: [{ url: app.url }] } } } },
      tls: { certificates: [cert] },
    },
    { web: { address: '127.0.0.1:0', http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https' } } } }, websecure: { address: '127.0.0.1:0' } },
  );
  const body = await new Promise<{ status: number; server: string; proto: string; tls: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: ports.get('websecure'), path: '/x', servername: 'eu.shop.test', headers: { host: 'eu.shop.test' }, ca: [readFileSync(cert.certFile)] }, (res) => {
      const tls = (res.socket as TLSSocket).getProtocol() ?? '';
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, server: String(res.headers['x-server']), proto: (JSON.parse(text) as { headers: Record<string, string> }).headers['x-forwarded-proto']!, tls }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual({ status: body.status, server: body.server, proto: body.proto }, { status: 200, server: 'secure-app', proto: 'https' });
  assert.match(body.tls, /^TLSv1\.[23]$/);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: ports.get('websecure'), path: '/', servername: 'shop.test', maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false }, resolve);
      req.on('error', reject);
      req.end();
    }),
    /protocol|version/i,
  );
  const redirect = await withHost(ports.get('web')!, '/a?b=1', 'shop.test');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.location, `https://shop.test:${ports.get('websecure')}/a?b=1`);
});

test('a reload under load fails no request; an invalid version is rejected and the running one kept', async () => {
  const a = await named('a');
  const b = await named('b');
  const config = (url: string): DynamicConfig => ({ http: { routers: { all: { rule: 'PathPrefix(`/`)', service: 'svc' } }, services: { svc: { loadBalancer: { servers: [{ url }] } } } } });
  const { gateway, ports } = await start(config(a.url));
  const port = ports.get('web')!;
  const load = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: 1.5 });
  let version = 1;
  const reloads = setInterval(() => gateway.applyConfig(config(++version % 2 === 0 ? b.url : a.url)), 50);
  const result = await load;
  clearInterval(reloads);
  assert.ok(version > 10, `reloaded ${version} times`);
  assert.ok(result.requests.total > 100);
  assert.equal(result.errors + result.non2xx + result.timeouts, 0, 'no request failed across the reloads');

  const before = gateway.configStatus.version;
  assert.throws(() => gateway.applyConfig({ http: { routers: { all: { rule: 'PathPrefix(`/`', service: 'svc' } }, services: { svc: { loadBalancer: { servers: [{ url: a.url }] } } } } }), /rule column/);
  assert.equal(gateway.configStatus.version, before);
  assert.equal(gateway.configStatus.lastReloadSucceeded, false);
  assert.match(gateway.configStatus.lastError ?? '', /router "all"/);
  assert.equal((await get(port, '/')).status, 200, 'the running version keeps serving');
});

test('weighted splits by weight across services; failover takes over when the primary is down or answers a chosen status', async () => {
  const stable = await named('stable');
  const canary = await named('canary');
  const failing = await named('failing', 503);
  const backup = await named('backup');
  const down = await closedPort();
  const { ports } = await start({
    http: {
      routers: {
        split: { rule: 'PathPrefix(`/split`)', service: 'split' },
        byHealth: { rule: 'PathPrefix(`/health-failover`)', service: 'byHealth' },
        byStatus: { rule: 'PathPrefix(`/status-failover`)', service: 'byStatus' },
      },
      services: {
        split: { weighted: { services: [{ name: 'stable', weight: 3 }, { name: 'canary', weight: 1 }] } },
        stable: { loadBalancer: { servers: [{ url: stable.url }] } },
        canary: { loadBalancer: { servers: [{ url: canary.url }] } },
        byHealth: { failover: { service: 'deadPrimary', fallback: 'backup' } },
        deadPrimary: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${down}` }], passiveHealthCheck: { maxFails: 1, failTimeout: '10s' } } },
        byStatus: { failover: { service: 'failing', fallback: 'backup', statusCodes: ['500-599'] } },
        failing: { loadBalancer: { servers: [{ url: failing.url }] } },
        backup: { loadBalancer: { servers: [{ url: backup.url }] } },
      },
    },
  });
  const port = ports.get('web')!;
  const split: string[] = [];
  for (let i = 0; i < 8; i++) split.push((await get(port, '/split')).server!);
  assert.deepEqual(split.filter((s) => s === 'canary').length, 2, `3:1 over 8 requests: ${split.join(' ')}`);
  // The first request to the dead primary fails and ejects it (passive health); then the fallback serves.
  assert.equal((await get(port, '/health-failover')).status, 503);
  assert.equal((await get(port, '/health-failover')).server, 'backup');
  const byStatus = await get(port, '/status-failover');
  assert.equal(byStatus.status, 200);
  assert.equal(byStatus.server, 'backup');
  const post = await get(port, '/status-failover', { method: 'POST', body: 'x' });
  assert.equal(post.status, 503, 'a POST whose body went to the primary is not sent to the fallback');
  assert.equal(post.server, 'failing');
});

test('mirroring copies requests, with their body, to the mirror; the client only sees the main answer', async () => {
  const main = await named('main');
  const seen: Array<{ method: string; url: string; body: string }> = [];
  const mirror = await startServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body });
      res.writeHead(500).end('the mirror answer is discarded');
    });
  });
  servers.push(mirror);
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'mirrored' } },
      services: {
        mirrored: { mirroring: { service: 'main', mirrors: [{ name: 'shadow', percent: 100 }] } },
        main: { loadBalancer: { servers: [{ url: main.url }] } },
        shadow: { loadBalancer: { servers: [{ url: mirror.url }] } },
      },
    },
  });
  const port = ports.get('web')!;
  const got = await get(port, '/orders?id=1');
  assert.equal(got.server, 'main');
  const posted = await get(port, '/orders', { method: 'POST', body: '{"n":1}' });
  assert.equal(posted.body.body, '{"n":1}', 'the main service gets the body');
  for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, [
    { method: 'GET', url: '/orders?id=1', body: '' },
    { method: 'POST', url: '/orders', body: '{"n":1}' },
  ]);
});

test('mirroring after a middleware that already read the body (forwardAuth with forwardBody) mirrors that body instead of waiting for it', async () => {
  const main = await named('main');
  const auth = await startServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  servers.push(auth);
  const seen: string[] = [];
  const mirror = await startServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(body);
      res.writeHead(204).end();
    });
  });
  servers.push(mirror);
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'mirrored', middlewares: ['auth'] } },
      middlewares: { auth: { forwardAuth: { address: auth.url, forwardBody: true } } },
      services: {
        mirrored: { mirroring: { service: 'main', mirrors: [{ name: 'shadow', percent: 100 }] } },
        main: { loadBalancer: { servers: [{ url: main.url }] } },
        shadow: { loadBalancer: { servers: [{ url: mirror.url }] } },
      },
    },
  });
  const posted = await get(ports.get('web')!, '/orders', { method: 'POST', body: '{"n":2}', signal: AbortSignal.timeout(5000) });
  assert.equal(posted.body.body, '{"n":2}', 'the main service gets the body');
  for (let i = 0; i < 50 && seen.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['{"n":2}']);
});

test('a service cycle and an unknown middleware kind are rejected when compiling', async () => {
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
  assert.throws(() => gateway.applyConfig({ http: { services: { a: { weighted: { services: [{ name: 'b', weight: 1 }] } }, b: { failover: { service: 'a', fallback: 'a' } } } } }), /service cycle: a → b → a/);
  assert.throws(() => gateway.applyConfig({ http: { routers: { r: { rule: 'Path(`/`)', service: 'nope' } } } }), /http\.routers\.r\.service: service "nope" is not defined/);
});

test('the read-only API: on the internal entrypoint with api.insecure, and through a router to api@internal behind basicAuth', async () => {
  const app = await named('app');
  const { ports } = await start(
    {
      http: {
        routers: {
          app: { rule: 'PathPrefix(`/`)', priority: 1, service: 'app' },
          dashboard: { rule: 'PathPrefix(`/api`)', service: 'api@internal', middlewares: ['auth'] },
        },
        middlewares: { auth: { basicAuth: { users: ['ops:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='] } } },
        services: { app: { loadBalancer: { servers: [{ url: app.url }] } } },
      },
    },
    { web: { address: '127.0.0.1:0' }, traefik: { address: '127.0.0.1:0' } },
    { api: { insecure: true }, ping: {} },
  );
  const internal = ports.get('traefik')!;
  const overview = (await (await fetch(`http://127.0.0.1:${internal}/api/overview`)).json()) as { http: { routers: { total: number } } };
  assert.equal(overview.http.routers.total, 2);
  assert.equal(await (await fetch(`http://127.0.0.1:${internal}/ping`)).text(), 'OK');
  assert.equal((await fetch(`http://127.0.0.1:${internal}/anything`)).status, 404, 'the internal entrypoint routes nothing');
  const web = ports.get('web')!;
  assert.equal((await fetch(`http://127.0.0.1:${web}/api/http/routers`)).status, 401);
  const routers = await fetch(`http://127.0.0.1:${web}/api/http/routers`, { headers: { authorization: `Basic ${Buffer.from('ops:test').toString('base64')}` } });
  assert.equal(routers.status, 200);
  assert.deepEqual(((await routers.json()) as Array<{ name: string }>).map((r) => r.name).sort(), ['app@file', 'dashboard@file']);
  assert.equal((await get(web, '/other')).server, 'app');
});

test('an upstream that resets in the middle of its body closes the client connection, never leaves it hanging', async () => {
  const resetting = await startServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write('x'.repeat(1000));
    setTimeout(() => res.socket?.destroy(), 20);
  });
  servers.push(resetting);
  const { ports } = await start({ http: { routers: { all: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: resetting.url }] } } } } });
  const outcome = await new Promise<string>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: ports.get('web'), path: '/' }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve('ended'));
      res.on('error', () => resolve('closed'));
      res.on('aborted', () => resolve('closed'));
    });
    req.on('error', () => resolve('closed'));
    req.setTimeout(3000, () => resolve('hung'));
  });
  assert.equal(outcome, 'closed');
});

test('routers without entryPoints are on every entrypoint, and an entrypoint with http.tls serves them over TLS (as Traefik)', async () => {
  const app = await named('everywhere');
  const cert = makeCertificate(tmp, ['all.test']);
  const { ports } = await start(
    { http: { routers: { app: { rule: 'PathPrefix(`/`)', service: 'app' } }, services: { app: { loadBalancer: { servers: [{ url: app.url }] } } } }, tls: { certificates: [cert] } },
    { web: { address: '127.0.0.1:0' }, websecure: { address: '127.0.0.1:0', http: { tls: {} } } },
  );
  assert.equal((await get(ports.get('web')!, '/')).server, 'everywhere');
  const status = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: ports.get('websecure'), path: '/', servername: 'all.test', ca: [readFileSync(cert.certFile)] }, (res) => {
      res.resume();
      resolve(`${res.statusCode} ${res.headers['x-server']}`);
    }).on('error', reject);
  });
  assert.equal(status, '200 everywhere');
});

test('rateLimit and compress from a config: 429 with Retry-After over the burst; gzip for a large JSON answer', async () => {
  const big = await startServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) })));
  servers.push(big);
  const { ports } = await start({
    http: {
      routers: { all: { rule: 'PathPrefix(`/`)', service: 'big', middlewares: ['limit', 'gzip'] } },
      middlewares: { limit: { rateLimit: { average: 1, period: '10s', burst: 2 } }, gzip: { compress: { encodings: ['gzip'] } } },
      services: { big: { loadBalancer: { servers: [{ url: big.url }] } } },
    },
  });
  const port = ports.get('web')!;
  const statuses: number[] = [];
  let encoding: string | undefined;
  let retryAfter: string | undefined;
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', headers: { 'accept-encoding': 'gzip' } }, (res) => {
        statuses.push(res.statusCode!);
        if (res.statusCode === 200) encoding = res.headers['content-encoding'];
        else retryAfter = res.headers['retry-after'];
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal(encoding, 'gzip');
  assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
});

test('metrics, access log and trace context from the static config: scraped after real traffic', async () => {
  const seen: string[] = [];
  const app = await startServer((req, res) => {
    seen.push(String(req.headers.traceparent));
    res.writeHead(req.url === '/fail' ? 502 : 200).end('ok');
  });
  servers.push(app);
  const logLines: string[] = [];
  const staticConfig = { entryPoints: { web: { address: '127.0.0.1:0' }, traefik: { address: '127.0.0.1:0' } }, metrics: { prometheus: {} }, accessLog: { format: 'json' as const } };
  const sink = { write: (line: string) => void logLines.push(line), flush: () => Promise.resolve(), close: () => Promise.resolve() };
  const observer = await createRequestObserver(staticConfig, { accessLog: { sink } });
  const gateway = new Gateway({ staticConfig, observer });
  gateway.applyConfig({ http: { routers: { app: { rule: 'PathPrefix(`/`)', service: 'app' } }, services: { app: { stamps: { stamps: [{ id: 's9', servers: [{ url: app.url }] }] } } } } });
  gateways.push(gateway);
  const ports = await gateway.listen();
  const web = ports.get('web')!.port;
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  for (const path of ['/a', '/b', '/fail']) await (await fetch(`http://127.0.0.1:${web}${path}`, { headers: { traceparent: parent } })).arrayBuffer();
  assert.equal(seen.length, 3);
  for (const sent of seen) assert.match(sent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/, 'the trace continues upstream with the gateway as parent');
  assert.notEqual(seen[0]!.split('-')[2], 'b7ad6b7169203331');
  await new Promise((r) => setTimeout(r, 50));
  const text = await (await fetch(`http://127.0.0.1:${ports.get('traefik')!.port}/metrics`)).text();
  assert.match(text, /traefik_router_requests_total\{[^}]*code="200"[^}]*router="app"[^}]*\} 2/);
  assert.match(text, /traefik_service_requests_total\{[^}]*code="502"[^}]*service="app"[^}]*\} 1/);
  assert.match(text, /stampgate_stamp_requests_total\{[^}]*stamp="s9"[^}]*\} 2/);
  assert.match(text, /traefik_config_reloads_total 1/);
  assert.match(text, /traefik_service_server_up\{[^}]*service="app"[^}]*\} 1/);
  assert.equal(logLines.length, 3);
  const line = JSON.parse(logLines[2]!) as Record<string, unknown>;
  assert.equal(line.status, 502);
  assert.equal(line.router, 'app');
  assert.equal(line.stamp, 's9');
  assert.equal(line.traceId, '0af7651916cd43dd8448eb211c80319c');
});
