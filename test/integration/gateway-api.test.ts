// The gateway's read-only API (src/gateway/api/) against a gateway built from a dynamic config and
// real upstreams on port 0: every endpoint's shape and values, live server state (active check and
// passive ejection), stamps and their request counts, problems, and pagination.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import { createGatewayApi } from '../../src/gateway/api/gateway-api.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { closedPort, echoServer, startServer, type TestServer } from '../helpers/http-servers.ts';

const servers: TestServer[] = [];
const gateways: Gateway[] = [];
let gateway: Gateway;
let api: TestServer;
let gatewayPort: number;
let healthy: TestServer;
let failing: TestServer;
let goneUrl: string;

const apiRule = 'PathPrefix(`/api`)';

before(async () => {
  healthy = await startServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  // Fails its health check, answers everything else.
  failing = await startServer((req, res) => res.writeHead(req.url === '/health' ? 503 : 200).end());
  const stampDefault = await echoServer('default');
  const stampOne = await echoServer('s1');
  const stampTwo = await echoServer('s2');
  servers.push(healthy, failing, stampDefault, stampOne, stampTwo);
  goneUrl = `http://127.0.0.1:${await closedPort()}`;

  const dynamic: DynamicConfig = {
    http: {
      routers: {
        api: { rule: apiRule, service: 'api', middlewares: ['strip-api', 'add-header'] },
        flaky: { rule: 'Host(`flaky.test`)', priority: 5, service: 'flaky@file', middlewares: ['strip-api@file'] },
        gone: { rule: 'PathPrefix(`/gone`)', service: 'gone' },
        app: { rule: 'PathPrefix(`/`)', priority: 1, service: 'app' },
      },
      middlewares: {
        'strip-api': { stripPrefix: { prefixes: ['/api'] } },
        'add-header': { headers: { customRequestHeaders: { 'x-from': 'gateway' } } },
        retry: { retry: { attempts: 2 } },
      },
      services: {
        api: { loadBalancer: { servers: [{ url: healthy.url, weight: 2 }] } },
        flaky: { loadBalancer: { servers: [{ url: failing.url }, { url: healthy.url }], healthCheck: { path: '/health', interval: '30ms', timeout: '25ms' } } },
        gone: { loadBalancer: { servers: [{ url: goneUrl }], passiveHealthCheck: { maxFails: 1, failTimeout: '30s' } } },
        app: {
          stamps: {
            stamps: [
              { id: 'default', servers: [{ url: stampDefault.url }] },
              { id: 's1', aliases: ['1'], servers: [{ url: stampOne.url }] },
              { id: 's2', draining: true, servers: [{ url: stampTwo.url }] },
            ],
            tenants: { acme: 's1', globex: 'default' },
          },
        },
      },
    },
  };
  gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
  gateways.push(gateway);
  gateway.applyConfig(dynamic);
  gatewayPort = (await gateway.listen()).get('web')!.port;
  api = await startServer(createGatewayApi(gateway));
  servers.push(api);
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all(servers.map((s) => s.close()));
});

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T = Record<string, unknown>>(path: string, init: RequestInit = {}, server: TestServer = api): Promise<Answer<T>> {
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, body: (json && text !== '' ? JSON.parse(text) : text) as T };
}

async function through(path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gatewayPort}${path}`, { headers });
  await res.arrayBuffer();
  return res.status;
}

interface ServerView {
  url: string;
  weight: number;
  status: 'UP' | 'DOWN';
  health: { healthy: boolean; ejected: boolean; ejectedUntil: string | null; inFlight: number };
}

interface ServiceView {
  name: string;
  type: string;
  loadBalancer?: { servers: ServerView[] };
  stamps?: { defaultStamp: string; stamps: Array<{ id: string; aliases: string[]; default: boolean; draining: boolean; available: boolean; servers: ServerView[] }> };
  serverStatus: Record<string, string>;
  available: boolean;
  usedBy: string[];
}

/** Polls a service until `done` holds (or gives up after 2 s, answering the last view). */
async function serviceUntil(name: string, done: (s: ServiceView) => boolean): Promise<ServiceView> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const { body } = await call<ServiceView>(`/api/http/services/${name}`);
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 15));
  }
}

const up = (url: string, weight = 1): ServerView => ({ url, weight, status: 'UP', health: { healthy: true, ejected: false, ejectedUntil: null, inFlight: 0 } });

test('GET /ping answers a plain OK; HEAD has no body; other methods are 405 with Allow', async () => {
  const ping = await call('/ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.body, 'OK');
  assert.match(ping.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(ping.headers.get('cache-control'), 'no-store');
  const head = await call('/ping', { method: 'HEAD' });
  assert.deepEqual([head.status, head.body], [200, '']);
  const post = await call<{ status: number; type: string }>('/ping', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(post.headers.get('content-type'), 'application/problem+json');
  assert.equal(post.body.type, 'https://stampgate.dev/problems/method-not-allowed');
});

test('GET /api/overview: Traefik counts, entrypoints, config version, last reload, stamps, directory size', async () => {
  const { status, headers, body } = await call('/api/overview');
  assert.equal(status, 200);
  assert.equal(headers.get('content-type'), 'application/json');
  assert.equal(headers.get('cache-control'), 'no-store');
  assert.deepEqual(body.http, {
    routers: { total: 4, warnings: 0, errors: 0 },
    services: { total: 4, warnings: 0, errors: 0 },
    middlewares: { total: 3, warnings: 0, errors: 0 },
  });
  assert.deepEqual(body.entryPoints, [{ name: 'web', address: `127.0.0.1:${gatewayPort}`, tls: false }]);
  assert.deepEqual(body.providers, ['file']);
  assert.equal(body.configVersion, 1);
  const reload = body.lastReload as { time: string; success: boolean; error: string | null };
  assert.equal(reload.success, true);
  assert.equal(reload.error, null);
  assert.ok(Math.abs(Date.parse(reload.time) - Date.now()) < 60_000, reload.time);
  assert.deepEqual(body.stamps, { total: 3, draining: 1, ids: ['default', 's1', 's2'] });
  assert.deepEqual(body.tenantDirectory, { size: 2 });
  const servers = body.servers as { total: number; up: number; down: number };
  assert.equal(servers.total, 7, '1 api + 2 flaky + 1 gone + 3 stamps');
  assert.equal(servers.up + servers.down, 7);
});

test('GET /api/http/routers: Traefik router shape, sorted by name, with filters', async () => {
  const { status, headers, body } = await call<Array<Record<string, unknown>>>('/api/http/routers');
  assert.equal(status, 200);
  assert.equal(headers.get('x-next-page'), '1', 'one page: the next page is 1');
  assert.deepEqual(body.map((r) => r.name), ['api@file', 'app@file', 'flaky@file', 'gone@file']);
  assert.deepEqual(body[0], {
    name: 'api@file',
    provider: 'file',
    status: 'enabled',
    rule: apiRule,
    priority: apiRule.length,
    entryPoints: ['web'],
    middlewares: ['strip-api@file', 'add-header@file'],
    service: 'api@file',
  });
  assert.equal(body[2]!.priority, 5);
  assert.equal(body[2]!.service, 'flaky@file', 'a service named with @file is shown once qualified');
  assert.ok(body.every((r) => !('tls' in r)), 'tls appears only on routers that serve TLS');

  const names = async (query: string) => (await call<Array<{ name: string }>>(`/api/http/routers?${query}`)).body.map((r) => r.name);
  assert.deepEqual(await names('search=FLAK'), ['flaky@file']);
  assert.deepEqual(await names('search=gone'), ['gone@file'], 'search reads the rule too');
  assert.deepEqual(await names('serviceName=app@file'), ['app@file']);
  assert.deepEqual(await names('middlewareName=strip-api'), ['api@file', 'flaky@file']);
  assert.deepEqual(await names('serviceName=app@docker'), []);
});

test('GET /api/http/routers/{name} accepts the name with or without @file; unknown is a 404 problem', async () => {
  const bare = await call('/api/http/routers/flaky');
  const suffixed = await call('/api/http/routers/flaky@file');
  assert.equal(bare.status, 200);
  assert.deepEqual(bare.body, suffixed.body);
  assert.equal(bare.body.rule, 'Host(`flaky.test`)');
  assert.deepEqual(bare.body.middlewares, ['strip-api@file']);
  for (const name of ['nope', 'flaky@docker', 'nope%40file']) {
    const missing = await call(`/api/http/routers/${name}`);
    assert.equal(missing.status, 404, name);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    assert.equal(missing.headers.get('cache-control'), 'no-store');
    assert.equal(missing.body.type, 'https://stampgate.dev/problems/unknown-router');
    assert.equal(missing.body.status, 404);
  }
});

test('GET /api/http/services: loadBalancer servers with state, stamps per stamp, usedBy', async () => {
  const { status, headers, body } = await call<ServiceView[]>('/api/http/services');
  assert.equal(status, 200);
  assert.equal(headers.get('x-next-page'), '1');
  assert.deepEqual(body.map((s) => [s.name, s.type]), [['api@file', 'loadbalancer'], ['app@file', 'stamps'], ['flaky@file', 'loadbalancer'], ['gone@file', 'loadbalancer']]);
  const apiService = body[0]!;
  assert.deepEqual(apiService, {
    name: 'api@file',
    provider: 'file',
    status: 'enabled',
    type: 'loadbalancer',
    loadBalancer: { servers: [up(healthy.url, 2)] },
    serverStatus: { [healthy.url]: 'UP' },
    available: true,
    usedBy: ['api@file'],
  });
  const app = body[1]!;
  assert.equal(app.loadBalancer, undefined);
  assert.deepEqual(app.usedBy, ['app@file']);
  assert.equal(app.available, true);
  assert.equal(app.stamps!.defaultStamp, 'default');
  assert.deepEqual(app.stamps!.stamps.map((s) => [s.id, s.aliases, s.default, s.draining, s.available, s.servers.map((v) => v.status)]), [
    ['default', [], true, false, true, ['UP']],
    ['s1', ['1'], false, false, true, ['UP']],
    ['s2', [], false, true, false, ['UP']],
  ]);
  assert.equal(Object.keys(app.serverStatus).length, 3);
  assert.deepEqual((await call<ServiceView[]>('/api/http/services?search=FL')).body.map((s) => s.name), ['flaky@file']);
});

test('a server failing its active health check shows DOWN within a few intervals', async () => {
  const flaky = await serviceUntil('flaky@file', (s) => s.serverStatus[failing.url] === 'DOWN');
  assert.deepEqual(flaky.serverStatus, { [failing.url]: 'DOWN', [healthy.url]: 'UP' });
  assert.deepEqual(flaky.loadBalancer!.servers[0], { url: failing.url, weight: 1, status: 'DOWN', health: { healthy: false, ejected: false, ejectedUntil: null, inFlight: 0 } });
  assert.equal(flaky.available, true, 'the other server still takes requests');
  assert.deepEqual(flaky.usedBy, ['flaky@file']);
});

test('a passively ejected server shows DOWN with the end of its ejection; the service is unavailable', async () => {
  assert.equal((await call<ServiceView>('/api/http/services/gone')).body.serverStatus[goneUrl], 'UP');
  assert.ok((await through('/gone')) >= 500, 'nothing listens: the attempt fails');
  const gone = await call<ServiceView>('/api/http/services/gone');
  const server = gone.body.loadBalancer!.servers[0]!;
  assert.equal(server.status, 'DOWN');
  assert.equal(server.health.healthy, true, 'the service has no active check');
  assert.equal(server.health.ejected, true);
  const until = Date.parse(server.health.ejectedUntil!) - Date.now();
  assert.ok(until > 20_000 && until <= 30_000, `ejected for ${until} ms more`);
  assert.equal(gone.body.available, false);
  const overview = await call<{ unavailableServices: string[]; servers: { down: number } }>('/api/overview');
  assert.deepEqual(overview.body.unavailableServices, ['gone@file']);
  assert.ok(overview.body.servers.down >= 1);
});

test('GET /api/http/services/{name}: with or without @file; unknown is a 404 problem', async () => {
  assert.deepEqual((await call('/api/http/services/api')).body, (await call('/api/http/services/api@file')).body);
  const missing = await call('/api/http/services/app%2Fs1');
  assert.equal(missing.status, 404, 'a stamp\'s own balancer is not a service of the config');
  assert.equal(missing.body.type, 'https://stampgate.dev/problems/unknown-service');
  assert.equal(missing.body.name, 'app/s1');
});

test('GET /api/http/middlewares and /{name}: name, type, usedBy', async () => {
  const { status, headers, body } = await call<Array<Record<string, unknown>>>('/api/http/middlewares');
  assert.equal(status, 200);
  assert.equal(headers.get('x-next-page'), '1');
  assert.deepEqual(body, [
    { name: 'add-header@file', provider: 'file', status: 'enabled', type: 'headers', usedBy: ['api@file'] },
    { name: 'retry@file', provider: 'file', status: 'enabled', type: 'retry', usedBy: [] },
    { name: 'strip-api@file', provider: 'file', status: 'enabled', type: 'stripprefix', usedBy: ['api@file', 'flaky@file'] },
  ]);
  assert.deepEqual((await call('/api/http/middlewares/strip-api')).body, body[2]);
  assert.deepEqual((await call('/api/http/middlewares/retry@file')).body, body[1]);
  assert.deepEqual((await call<Array<{ name: string }>>('/api/http/middlewares?search=T')).body.map((m) => m.name), ['retry@file', 'strip-api@file']);
  const missing = await call('/api/http/middlewares/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.type, 'https://stampgate.dev/problems/unknown-middleware');
});

test('GET /api/entrypoints and /{name}: the listening address', async () => {
  const list = await call('/api/entrypoints');
  assert.deepEqual(list.body, [{ name: 'web', address: `127.0.0.1:${gatewayPort}`, tls: false }]);
  assert.equal(list.headers.get('x-next-page'), '1');
  assert.deepEqual((await call('/api/entrypoints/web')).body, { name: 'web', address: `127.0.0.1:${gatewayPort}`, tls: false });
  const missing = await call('/api/entrypoints/websecure');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.type, 'https://stampgate.dev/problems/unknown-entrypoint');
});

test('GET /api/stamps: every stamp with its servers and request count, and the directory size', async () => {
  assert.equal(await through('/books'), 200);
  assert.equal(await through('/books?stamp=1'), 200);
  assert.equal(await through('/books', { 'x-tenant-id': 'acme' }), 200);
  assert.equal(await through('/books?stamp=s2'), 503, 'draining');
  const { status, body } = await call<{ configVersion: number; tenantDirectory: { size: number }; totalRequests: number; stamps: Array<Record<string, unknown>> }>('/api/stamps');
  assert.equal(status, 200);
  assert.equal(body.configVersion, 1);
  assert.deepEqual(body.tenantDirectory, { size: 2 });
  assert.equal(body.totalRequests, 3, 'a draining stamp is not counted: nothing was sent to it');
  assert.deepEqual(body.stamps.map((s) => [s.service, s.id, s.requests, s.draining, s.available]), [
    ['app@file', 'default', 1, false, true],
    ['app@file', 's1', 2, false, true],
    ['app@file', 's2', 0, true, false],
  ]);
  const s1 = body.stamps[1]!;
  assert.deepEqual(s1.aliases, ['1']);
  assert.equal(s1.readyPath, '/ready');
  assert.deepEqual((s1.servers as ServerView[]).map((s) => [s.status, s.health.inFlight]), [['UP', 0]]);
});

test('GET /api/rawdata: everything keyed by qualified name', async () => {
  const { status, body } = await call<Record<string, Record<string, unknown>>>('/api/rawdata');
  assert.equal(status, 200);
  assert.equal(body.configVersion, 1);
  assert.deepEqual(Object.keys(body.routers!), ['api@file', 'app@file', 'flaky@file', 'gone@file']);
  assert.deepEqual(Object.keys(body.services!), ['api@file', 'app@file', 'flaky@file', 'gone@file']);
  assert.deepEqual(Object.keys(body.middlewares!), ['add-header@file', 'retry@file', 'strip-api@file']);
  assert.deepEqual(Object.keys(body.entryPoints!), ['web']);
  assert.deepEqual((body.services!['api@file'] as ServiceView).usedBy, ['api@file']);
  assert.equal((body.stamps!.stamps as unknown[]).length, 3);
});

test('pagination as Traefik: per_page, page, X-Next-Page; a page past the end or a bad number is a 400 problem', async () => {
  const first = await call<Array<{ name: string }>>('/api/http/routers?per_page=3');
  assert.deepEqual(first.body.map((r) => r.name), ['api@file', 'app@file', 'flaky@file']);
  assert.equal(first.headers.get('x-next-page'), '2');
  const second = await call<Array<{ name: string }>>('/api/http/routers?per_page=3&page=2');
  assert.deepEqual(second.body.map((r) => r.name), ['gone@file']);
  assert.equal(second.headers.get('x-next-page'), '1');
  const exact = await call<unknown[]>('/api/http/services?per_page=2&page=2');
  assert.deepEqual([exact.body.length, exact.headers.get('x-next-page')], [2, '1']);
  const searched = await call<unknown[]>('/api/http/middlewares?search=e&per_page=1');
  assert.deepEqual([searched.body.length, searched.headers.get('x-next-page')], [1, '2'], 'pages count the filtered list');
  for (const query of ['per_page=3&page=3', 'page=0', 'per_page=-1', 'per_page=abc', 'page=1.5']) {
    const bad = await call(`/api/http/routers?${query}`);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    assert.equal(bad.body.type, 'https://stampgate.dev/problems/invalid-pagination');
  }
  const empty = await call<unknown[]>('/api/http/routers?search=nothing-matches');
  assert.deepEqual([empty.status, empty.body, empty.headers.get('x-next-page')], [200, [], '1'], 'the first page of nothing is an empty list');
});

test('unknown paths are 404 problems; other methods on a resource are 405 problems with Allow', async () => {
  for (const path of ['/', '/api', '/api/', '/api/unknown', '/api/http/routers/', '/api/http/routers/a/b', '/api/http/routers/%E0%A4%A', '/api/overview/x', '/dashboard/']) {
    const res = await call(path);
    assert.equal(res.status, 404, path);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  }
  for (const [method, path] of [['POST', '/api/overview'], ['DELETE', '/api/http/routers/api'], ['PUT', '/api/stamps']] as const) {
    const res = await call(path, { method });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  }
  const absolute = await new Promise<number>((resolve, reject) => {
    // The absolute-form target a client sends to a proxy names the same resource.
    const req = http.request({ host: '127.0.0.1', port: api.port, path: `${api.url}/api/entrypoints/web?x=1` }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(absolute, 200);
  const head = await call('/api/overview', { method: 'HEAD' });
  assert.deepEqual([head.status, head.body, head.headers.get('content-type')], [200, '', 'application/json']);
});

test('a gateway with no config yet answers empty lists and zero counts; a failure inside is a 500 problem', async () => {
  const empty = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
  const emptyApi = await startServer(createGatewayApi(empty));
  servers.push(emptyApi);
  const overview = await call('/api/overview', {}, emptyApi);
  assert.equal(overview.status, 200);
  assert.equal(overview.body.configVersion, 0);
  assert.deepEqual(overview.body.lastReload, { time: null, success: false, error: null });
  assert.deepEqual(overview.body.entryPoints, []);
  assert.deepEqual((overview.body.http as { routers: unknown }).routers, { total: 0, warnings: 0, errors: 0 });
  for (const path of ['/api/http/routers', '/api/http/services', '/api/http/middlewares', '/api/entrypoints']) assert.deepEqual((await call(path, {}, emptyApi)).body, [], path);
  assert.equal((await call('/api/http/routers/api', {}, emptyApi)).status, 404);

  class BrokenGateway extends Gateway {
    override get config(): never {
      throw new Error('boom');
    }
  }
  const logged: string[] = [];
  const brokenApi = await startServer(createGatewayApi(new BrokenGateway({ staticConfig: { entryPoints: {} } }), { log: (line) => logged.push(line) }));
  servers.push(brokenApi);
  const broken = await call('/api/overview', {}, brokenApi);
  assert.equal(broken.status, 500);
  assert.equal(broken.headers.get('content-type'), 'application/problem+json');
  assert.equal(broken.body.type, 'https://stampgate.dev/problems/internal-error');
  assert.ok(!JSON.stringify(broken.body).includes('boom'), 'no internals in the answer');
  assert.match(logged[0] ?? '', /boom/);
  assert.equal((await call('/ping', {}, brokenApi)).body, 'OK', 'the process still answers');
});
