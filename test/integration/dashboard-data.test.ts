// What the dashboard's data endpoints answer, over real HTTP: with the catalog only (no gateway in
// the process) and with a gateway in the process routing to real upstreams on port 0 — stamps with
// their servers, readiness and sampled traffic (requests per second, error rate, p95), the routing
// view (the gateway API's own answers), operations with their progress, and tenant search on
// SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import type { OverviewBody } from '../../src/dashboard/overview.ts';
import type { OperationView } from '../../src/dashboard/operations.ts';
import { dashboardGateway } from '../../src/dashboard/gateway-source.ts';
import type { DashboardSources, RoutingView } from '../../src/dashboard/sources.ts';
import { bucketBoundMs, bucketOf, quantileMs, StampTrafficRecorder, TrafficRecordingObserver } from '../../src/dashboard/stamp-traffic.ts';
import type { TenantSearchPage } from '../../src/dashboard/tenant-search.ts';
import { createGatewayApi } from '../../src/gateway/api/gateway-api.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { stampsGatewayConfig } from '../../src/gateway/stamps/stamps-config.ts';
import { createRequestObserver } from '../../src/observe/request-observer.ts';
import { freshStoreUrl, type StoreKind } from '../helpers/fresh-store.ts';
import { closedPort, startServer, type TestServer } from '../helpers/http-servers.ts';

const adminToken = 'sgt_dashboard-data-test-admin-token-0123';

interface Harness {
  catalog: Catalog;
  base: string;
  cookie: string;
  get<T>(path: string): Promise<{ status: number; body: T }>;
}

async function startHarness(t: TestContext, kind: StoreKind, sources: (catalog: Catalog, store: DashboardSources['store']) => DashboardSources): Promise<Harness | undefined> {
  const url = await freshStoreUrl(t, kind, 'dashboard-data');
  if (!url) return undefined;
  const store = await openStore(url);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  const app: FastifyInstance = await createAdminApi({ catalog, tokens, dashboard: { sources: sources(catalog, store.db), liveIntervalMs: 100 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await store.db.destroy();
  });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const login = await fetch(`${base}/login?token=${adminToken}`, { redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  return {
    catalog,
    base,
    cookie,
    async get<T>(path: string) {
      const res = await fetch(base + path, { headers: { cookie } });
      return { status: res.status, body: (await res.json()) as T };
    },
  };
}

describe('catalog only (a control plane without a local gateway)', () => {
  test('stamps show their catalog state, the system says why there is no live data', async (t) => {
    const h = await startHarness(t, 'sqlite', (catalog, store) => ({ catalog, store }));
    if (!h) return;
    await h.catalog.saveStamp({ id: 'default', driver: 'process', url: 'http://127.0.0.1:1', state: 'active', version: 'library-1', capacity: 10, labels: { region: 'eu' } });
    await h.catalog.saveStamp({ id: 's1', aliases: ['1'], driver: 'process', url: 'http://127.0.0.1:2', state: 'failed', stateReason: 'killed by SIGKILL; restarting in 500 ms' });
    await h.catalog.saveStamp({ id: 's2', driver: 'process', url: '', state: 'provisioning', stateReason: 'waiting for the process driver' });
    await h.catalog.placeTenant('acme', 'default');
    await h.catalog.placeTenant('globex', 'default');

    const { status, body } = await h.get<OverviewBody>('/dashboard/api/overview');
    assert.equal(status, 200);
    assert.deepEqual(body.sources, { catalog: true, gateway: false });
    assert.equal(body.system.status, 'unknown');
    assert.equal(body.system.summary, 'Catalog only · no local gateway');
    assert.equal(body.system.tenants, 2);
    assert.equal(body.system.totalRequests, null);
    assert.equal(body.traffic, null);
    assert.deepEqual(
      body.stamps.map((s) => [s.id, s.health, s.catalog?.state, s.catalog?.tenantCount, s.catalog?.capacity]),
      [
        ['default', 'unknown', 'active', 2, 10],
        ['s1', 'down', 'failed', 0, 1000],
        ['s2', 'pending', 'provisioning', 0, 1000],
      ],
    );
    assert.equal(body.stamps[1]!.healthReason, 'killed by SIGKILL; restarting in 500 ms');
    assert.deepEqual(body.stamps[0]!.catalog!.labels, { region: 'eu' });
    assert.equal(body.stamps[0]!.gateway, null);

    const routing = await h.get<{ type: string; detail: string }>('/dashboard/api/routing');
    assert.equal(routing.status, 404);
    assert.equal(routing.body.type, 'https://stampgate.dev/problems/no-gateway');
    assert.equal((await h.get('/dashboard/api/gateway/api/overview')).status, 404);
  });

  test('operations come with their steps and progress, newest first', async (t) => {
    const h = await startHarness(t, 'sqlite', (catalog, store) => ({ catalog, store }));
    if (!h) return;
    await h.catalog.saveStamp({ id: 's1', driver: 'process', url: 'http://127.0.0.1:2', state: 'active' });
    await h.catalog.saveStamp({ id: 's2', driver: 'process', url: 'http://127.0.0.1:3', state: 'active' });
    const first = await h.catalog.startOperation({ stampId: 's1', kind: 'provision', steps: [{ name: 'allocate port', state: 'done' }, { name: 'start process', state: 'failed', error: 'exit code 1' }, { name: 'register', state: 'compensated' }] }, 'admin');
    await h.catalog.finishOperation(first.id, 'failed', 'start process: exit code 1');
    await new Promise((r) => setTimeout(r, 5));
    const second = await h.catalog.startOperation({ stampId: 's2', kind: 'deploy', steps: ['pull image', 'migrate database', 'switch traffic'] }, 'admin');
    await h.catalog.updateOperationSteps(second.id, [{ name: 'pull image', status: 'succeeded' }, { name: 'migrate database', startedAt: new Date().toISOString() }, { name: 'switch traffic' }]);

    const { status, body } = await h.get<{ operations: OperationView[] }>('/dashboard/api/operations');
    assert.equal(status, 200);
    assert.deepEqual(body.operations.map((o) => [o.kind, o.stampId, o.state]), [['deploy', 's2', 'running'], ['provision', 's1', 'failed']]);
    const [deploy, provision] = body.operations;
    assert.deepEqual(deploy!.steps.map((s) => [s.name, s.state]), [['pull image', 'succeeded'], ['migrate database', 'running'], ['switch traffic', 'pending']]);
    assert.deepEqual(deploy!.progress, { done: 1, failed: 0, total: 3 });
    assert.deepEqual(provision!.progress, { done: 1, failed: 1, total: 3 }, 'a compensated step is undone, not failed');
    assert.equal(provision!.steps[1]!.detail, 'exit code 1');
    assert.equal(provision!.error, 'start process: exit code 1');
    assert.equal(provision!.rawSteps.length, 3);
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`tenant search on ${kind}: substring, stamp filter, pages by id, a count of matches`, async (t) => {
    const viaStore = await startHarness(t, kind, (catalog, store) => ({ catalog, store }));
    if (!viaStore) return;
    // The same search without the database (the catalog's pages, filtered) gives the same answers.
    const viaPages = await startHarness(t, kind, (catalog) => ({ catalog }));
    if (!viaPages) return;
    for (const h of [viaStore, viaPages]) {
      await h.catalog.saveStamp({ id: 'default', driver: 'process', url: 'http://127.0.0.1:1', state: 'active' });
      await h.catalog.saveStamp({ id: 's1', driver: 'process', url: 'http://127.0.0.1:2', state: 'active' });
      await h.catalog.importTenants([
        ...Array.from({ length: 25 }, (_, i) => [`acme-${String(i).padStart(2, '0')}`, i % 2 === 0 ? 'default' : 's1'] as const),
        ['globex', 's1'],
        ['initech', 'default'],
        ['pacme', 'default'],
      ]);
    }
    for (const h of [viaStore, viaPages]) {
      const all = await h.get<TenantSearchPage>('/dashboard/api/tenants');
      assert.equal(all.status, 200);
      assert.deepEqual(all.body.matches, { count: 28, more: false });
      assert.equal(all.body.items.length, 28);

      const acme = await h.get<TenantSearchPage>('/dashboard/api/tenants?q=ACME&limit=10');
      assert.deepEqual(acme.body.matches, { count: 26, more: false }, 'case-insensitive, substring (pacme too)');
      assert.deepEqual(acme.body.items.map((x) => x.id), Array.from({ length: 10 }, (_, i) => `acme-0${i}`));
      assert.equal(acme.body.next, 'acme-09');
      const page2 = await h.get<TenantSearchPage>(`/dashboard/api/tenants?q=acme&limit=10&cursor=${acme.body.next}`);
      assert.deepEqual(page2.body.items.map((x) => x.id), Array.from({ length: 10 }, (_, i) => `acme-${10 + i}`));
      const page3 = await h.get<TenantSearchPage>(`/dashboard/api/tenants?q=acme&limit=10&cursor=${page2.body.next}`);
      assert.deepEqual(page3.body.items.map((x) => x.id), ['acme-20', 'acme-21', 'acme-22', 'acme-23', 'acme-24', 'pacme']);
      assert.equal(page3.body.next, null);

      const onS1 = await h.get<TenantSearchPage>('/dashboard/api/tenants?q=acme-1&stamp=s1');
      assert.deepEqual(onS1.body.items.map((x) => [x.id, x.stampId]), [['acme-11', 's1'], ['acme-13', 's1'], ['acme-15', 's1'], ['acme-17', 's1'], ['acme-19', 's1']]);
      const none = await h.get<TenantSearchPage>('/dashboard/api/tenants?q=zzz');
      assert.deepEqual([none.body.items, none.body.next, none.body.matches.count], [[], null, 0]);

      for (const bad of ['q=a%25', 'q=a_b', 'q=%20%27or%201', 'limit=0', 'limit=x']) {
        const res = await h.get<{ type: string }>(`/dashboard/api/tenants?${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(res.body.type, 'https://stampgate.dev/problems/invalid-request');
      }
    }
  });
}

describe('with a gateway in the process', () => {
  const upstreams: TestServer[] = [];

  test('stamps with servers, readiness and sampled traffic; routing as the gateway API shows it', async (t) => {
    // s1 answers everything (a 500 on /fail, 30 ms late on /slow); s2's server is gone.
    const s1 = await startServer((req, res) => {
      if (req.url === '/ready') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready","db":"ok"}');
      if (req.url === '/fail') return void res.writeHead(500).end();
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('slow'), 30);
      res.writeHead(200).end('ok');
    });
    upstreams.push(s1);
    t.after(() => Promise.all(upstreams.map((u) => u.close())));
    const gone = `http://127.0.0.1:${await closedPort()}`;
    const { staticConfig, dynamicConfig } = stampsGatewayConfig({ address: '127.0.0.1:0', stamps: [{ id: 's1', aliases: ['1'], url: s1.url }, { id: 's2', url: gone }] });
    const traffic = new StampTrafficRecorder();
    const observer = new TrafficRecordingObserver(await createRequestObserver({ metrics: { prometheus: { processMetrics: false } } }), traffic);
    const gateway = new Gateway({ staticConfig, observer });
    gateway.applyConfig(dynamicConfig);
    const address = (await gateway.listen()).get('web')!;
    const gatewayUrl = `http://127.0.0.1:${address.port}`;
    const source = dashboardGateway(gateway, { url: gatewayUrl, traffic, sampleIntervalMs: 100 });
    t.after(async () => {
      source.close?.();
      await gateway.close();
    });
    const h = await startHarness(t, 'sqlite', (catalog, store) => ({ catalog, store, gateway: source }));
    if (!h) return;
    await h.catalog.saveStamp({ id: 's1', aliases: ['1'], driver: 'process', url: s1.url, state: 'active', version: 'v7' });
    await h.catalog.saveStamp({ id: 's2', driver: 'process', url: gone, state: 'active', version: 'v7' });

    // 40 fast answers, 10 slow ones and 10 failures on s1 (errors: 1/6 of its answers).
    const send = (path: string) => fetch(`${gatewayUrl}${path}?stamp=s1`).then((r) => r.arrayBuffer());
    await Promise.all([...Array.from({ length: 40 }, () => send('/')), ...Array.from({ length: 10 }, () => send('/slow')), ...Array.from({ length: 10 }, () => send('/fail'))]);
    await new Promise((r) => setTimeout(r, 250));

    const { body } = await h.get<OverviewBody>('/dashboard/api/overview');
    assert.deepEqual(body.sources, { catalog: true, gateway: true });
    assert.equal(body.system.gatewayUrl, gatewayUrl);
    assert.equal(body.system.totalRequests, 60);
    assert.equal(body.system.status, 'degraded');
    assert.match(body.system.summary, /^1 of 2 stamps healthy · s2 down/);
    const [one, two] = body.stamps;
    assert.equal(one!.id, 's1');
    assert.equal(one!.health, 'up');
    assert.deepEqual(one!.readiness, { status: 'ready', db: 'ok' });
    assert.deepEqual(one!.gateway!.servers.map((s) => [s.url, s.status, s.reachable]), [[s1.url, 'UP', true]]);
    assert.equal(one!.gateway!.requests, 60);
    assert.equal(one!.catalog!.version, 'v7');
    // Every answer counted, by stamp: 1 in 6 a 5xx, and a p95 set by the slow sixth (30 ms answers).
    const tally = traffic.tally('s1')!;
    assert.deepEqual([tally.answers, tally.errors], [60, 10]);
    const p95 = quantileMs(tally.buckets, 0.95)!;
    assert.ok(p95 >= 25 && p95 < 200, `p95 ${p95} ms`);
    // The charts' series: the samples that saw the requests (how they split between samples varies).
    const series = one!.traffic!;
    assert.ok(series.rps.some((v) => v > 0), `requests per second rose: ${series.rps.join(' ')}`);
    assert.ok(series.errorRate.some((v) => v !== null && v > 0 && v < 1), `an error rate between 0 and 1: ${series.errorRate.join(' ')}`);
    assert.ok(series.p95Ms.some((v) => v !== null && v > 0), `a p95: ${series.p95Ms.join(' ')}`);
    assert.equal(two!.traffic!.errorRate.every((v) => v === null), true, 'no answers from s2: no error rate');

    assert.equal(two!.health, 'down');
    assert.match(two!.healthReason, /^not answering: /);
    assert.equal(two!.readiness!.status, 'down');
    assert.deepEqual(two!.gateway!.servers.map((s) => s.reachable), [false], 'a server the readiness probe cannot reach shows as down');

    // The routing view is the gateway API's own answers.
    const routing = await h.get<RoutingView>('/dashboard/api/routing');
    assert.equal(routing.status, 200);
    const api = createGatewayApi(gateway);
    const apiServer = await startServer(api);
    upstreams.push(apiServer);
    for (const [key, path] of [['routers', '/api/http/routers'], ['services', '/api/http/services'], ['middlewares', '/api/http/middlewares'], ['entryPoints', '/api/entrypoints']] as const) {
      const expected = await (await fetch(apiServer.url + path)).json();
      assert.deepEqual(routing.body[key], expected, key);
      const passthrough: { status: number; body: unknown } = await h.get(`/dashboard/api/gateway${path}`);
      assert.equal(passthrough.status, 200);
      assert.deepEqual(passthrough.body, expected, `/dashboard/api/gateway${path}`);
    }
    assert.deepEqual((routing.body.routers as Array<{ name: string; service: string }>).map((r) => [r.name, r.service]), [['stamps@file', 'stamps@file']]);
    // The gateway API stays read-only behind the dashboard too.
    const post = await fetch(`${h.base}/dashboard/api/gateway/api/overview`, { method: 'POST', headers: { cookie: h.cookie } });
    assert.ok(post.status >= 400 && post.status < 500, `POST answers ${post.status}`);
  });
});

test('answer times fall in buckets 15 % apart: a p95 within 8 % of the true one', () => {
  for (const ms of [0.01, 0.05, 0.3, 1, 7.5, 42, 980, 5000]) {
    const i = bucketOf(ms);
    assert.ok(ms <= bucketBoundMs(i) + 1e-9 && (i === 0 || ms > bucketBoundMs(i - 1)), `${ms} ms in bucket ${i}`);
  }
  for (const scale of [0.4, 3, 25, 700]) {
    const buckets = new Float64Array(200);
    const times = Array.from({ length: 1000 }, (_, i) => scale * (1 + i / 100));
    for (const ms of times) buckets[bucketOf(ms)]!++;
    const truth = times[949]!;
    const estimate = quantileMs(buckets, 0.95)!;
    assert.ok(Math.abs(estimate - truth) / truth < 0.08, `p95 ${estimate} vs ${truth}`);
  }
  assert.equal(quantileMs(new Float64Array(10), 0.95), null);
});
