// The control-plane provider against a real admin API (SQLite store, in-process, port 0) and real
// gateways with real upstream servers: stamps and tenants made through the API route within a
// second, a moved tenant follows, the gateway keeps routing while the control plane is down, a new
// gateway started meanwhile routes from the cache file, and changes flow again once it is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { cacheFormat } from '../../src/gateway/providers/config-cache.ts';
import { ControlPlaneClient } from '../../src/gateway/providers/control-plane-client.ts';
import { ControlPlaneProvider } from '../../src/gateway/providers/control-plane-provider.ts';
import { GatewayConfigSources } from '../../src/gateway/providers/gateway-config-sources.ts';
import { echoServer, type TestServer } from '../helpers/http-servers.ts';

const adminToken = `admin-${randomBytes(16).toString('hex')}`;
const gatewayToken = `gw-${randomBytes(16).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'stampgate-control-provider-'));

interface ControlPlane {
  base: string;
  port: number;
  catalog: Catalog;
  stop(): Promise<void>;
}

/** The admin API over the SQLite store in `dir`, on `port` (0: any free one). */
async function startControlPlane(port = 0): Promise<ControlPlane> {
  const store: OpenedStore = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  await tokens.register('edge', 'gateway', gatewayToken);
  const app: FastifyInstance = await createAdminApi({ catalog, tokens });
  await app.listen({ port, host: '127.0.0.1' });
  const bound = (app.server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${bound}`,
    port: bound,
    catalog,
    stop: async () => {
      await app.close();
      await store.db.destroy();
    },
  };
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

interface RunningGateway {
  gateway: Gateway;
  provider: ControlPlaneProvider;
  sources: GatewayConfigSources;
  url: string;
  log: string[];
  close(): Promise<void>;
}

async function startGateway(endpoint: string, cacheFile: string, token = gatewayToken): Promise<RunningGateway> {
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    if (process.env.STAMPGATE_TEST_VERBOSE) console.log(`gateway | ${line}`);
  };
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } }, log: say });
  const provider = new ControlPlaneProvider({ endpoint, token, cacheFile, log: say, retryInitialMs: 50, retryMaxMs: 200, connectTimeoutMs: 1000 });
  const sources = new GatewayConfigSources({ gateway, control: provider, log: say });
  await sources.start();
  const address = (await gateway.listen()).get('web')!;
  return {
    gateway,
    provider,
    sources,
    url: `http://127.0.0.1:${address.port}`,
    log,
    close: async () => {
      await sources.close();
      await gateway.close();
    },
  };
}

/** What the gateway answers for a tenant: the stamp that served it, or the status. */
async function stampFor(gatewayUrl: string, tenant: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/books`, { headers: { 'x-tenant-id': tenant } });
  const text = await response.text();
  return response.status === 200 ? (JSON.parse(text) as { stamp: string }).stamp : String(response.status);
}

/** Polls until the tenant is served by `stamp`; returns how long it took (ms). */
async function until(gatewayUrl: string, tenant: string, stamp: string, withinMs: number): Promise<number> {
  const started = performance.now();
  let last = '';
  while (performance.now() - started < withinMs) {
    last = await stampFor(gatewayUrl, tenant);
    if (last === stamp) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`tenant ${tenant} was not routed to ${stamp} within ${withinMs} ms (last answer: ${last})`);
}

const upstreams: TestServer[] = [];
const running: RunningGateway[] = [];
let controlPlane: ControlPlane | undefined;

before(async () => {
  upstreams.push(await echoServer('app-a'), await echoServer('app-b'));
});

after(async () => {
  await Promise.all(running.map((g) => g.close()));
  await controlPlane?.stop();
  await Promise.all(upstreams.map((u) => u.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('control-plane provider', () => {
  const cacheFile = join(dir, 'cache', 'gateway-config-cache.json');
  let first: RunningGateway;

  test('a gateway follows stamps and tenants created through the admin API within a second', async () => {
    controlPlane = await startControlPlane();
    first = await startGateway(controlPlane.base, cacheFile);
    running.push(first);
    // No stamp yet: nothing routes.
    assert.equal(await stampFor(first.url, 'acme'), '404');

    assert.equal((await api(controlPlane.base, 'POST', '/api/v1/stamps', { id: 's1', driver: 'external', url: upstreams[0]!.url, capacity: 10 })).status, 201);
    assert.equal((await api(controlPlane.base, 'POST', '/api/v1/stamps', { id: 's2', driver: 'external', url: upstreams[1]!.url, capacity: 10 })).status, 201);
    const created = performance.now();
    assert.equal((await api(controlPlane.base, 'POST', '/api/v1/tenants', { id: 'acme', stamp: 's1' })).status, 201);
    const took = await until(first.url, 'acme', 'app-a', 1000);
    assert.ok(performance.now() - created < 1000, `routed after ${took} ms`);
    assert.equal(await stampFor(first.url, 'nobody'), '404', 'an unknown tenant is refused, never guessed');
  });

  test('a moved tenant follows within a second; a tenant-only change does not recompile the routes', async () => {
    const version = first.gateway.configStatus.version;
    assert.equal((await api(controlPlane!.base, 'POST', '/api/v1/tenants/acme/move', { stamp: 's2' })).status, 200);
    await until(first.url, 'acme', 'app-b', 1000);
    assert.equal(first.gateway.configStatus.version, version, 'tenant changes go to the directory only');
    assert.equal((await api(controlPlane!.base, 'POST', '/api/v1/tenants', { id: 'globex', stamp: 's1' })).status, 201);
    await until(first.url, 'globex', 'app-a', 1000);
    assert.equal((await api(controlPlane!.base, 'DELETE', '/api/v1/tenants/globex')).status, 204);
    await until(first.url, 'globex', '404', 1000);
    assert.equal(first.gateway.directory.size, 1);
  });

  test('every good config is written to the cache file, atomically', async () => {
    await first.provider.flush();
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { format: string; etag: string; document: { version: number; tenants: Record<string, string>; stamps: Array<{ id: string }> } };
    assert.equal(cached.format, cacheFormat);
    assert.deepEqual(cached.document.tenants, { acme: 's2' });
    assert.deepEqual(cached.document.stamps.map((s) => s.id), ['s1', 's2']);
    assert.equal(cached.document.version, first.provider.state!.version);
    assert.match(cached.etag, /^W\/"[0-9a-f-]+\.\d+"$/);
  });

  test('with the control plane down, the gateway keeps routing and logs the outage once', async () => {
    await controlPlane!.stop();
    // Several retries happen meanwhile (every 50-200 ms).
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await stampFor(first.url, 'acme'), 'app-b');
    const outage = first.log.filter((l) => /unreachable/.test(l));
    assert.equal(outage.length, 1, `one line for the outage, not one per attempt:\n${first.log.join('\n')}`);
    assert.match(outage[0]!, /unreachable \([a-z ]+\); routing on its version \d+ meanwhile; retrying with backoff/);
    assert.equal(first.provider.status().connected, false);
  });

  test('a gateway started while the control plane is down routes from the cache file', async () => {
    const second = await startGateway(controlPlane!.base, cacheFile);
    running.push(second);
    assert.equal(await stampFor(second.url, 'acme'), 'app-b');
    assert.equal(second.provider.state!.source, 'cache');
    assert.ok(second.log.some((l) => l.includes(`routing from the cached configuration ${cacheFile}`)), second.log.join('\n'));
  });

  test('once the control plane is back, changes flow to both gateways again', async () => {
    controlPlane = await startControlPlane(controlPlane!.port);
    assert.equal((await api(controlPlane.base, 'POST', '/api/v1/tenants', { id: 'initech', stamp: 's1' })).status, 201);
    for (const gateway of running) await until(gateway.url, 'initech', 'app-a', 2000);
    assert.equal((await api(controlPlane.base, 'POST', '/api/v1/tenants/acme/move', { stamp: 's1' })).status, 200);
    for (const gateway of running) await until(gateway.url, 'acme', 'app-a', 1000);
    assert.ok(first.log.some((l) => /answers again after/.test(l)), first.log.join('\n'));
    assert.equal(running[1]!.provider.state!.source, 'control-plane');
  });

  test('a drained stamp answers 503 to its tenants; a stamp deleted leaves the routes', async () => {
    const base = controlPlane!.base;
    assert.equal((await api(base, 'POST', '/api/v1/stamps/s2/drain', { reason: 'test' })).status, 200);
    assert.equal((await api(base, 'POST', '/api/v1/tenants', { id: 'hooli', stamp: 's1' })).status, 201);
    await until(first.url, 'hooli', 'app-a', 1000);
    const started = performance.now();
    while (performance.now() - started < 1000) {
      const response = await fetch(`${first.url}/`, { headers: { 'x-stamp-id': 's2' } });
      await response.text();
      if (response.status === 503) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const draining = await fetch(`${first.url}/`, { headers: { 'x-stamp-id': 's2' } });
    assert.equal(draining.status, 503);
    assert.equal(((await draining.json()) as { type: string }).type, 'https://stampgate.dev/problems/stamp-draining');

    assert.equal((await api(base, 'DELETE', '/api/v1/stamps/s2')).status, 204);
    const deleted = performance.now();
    let status = 0;
    while (performance.now() - deleted < 1000 && status !== 404) {
      const response = await fetch(`${first.url}/`, { headers: { 'x-stamp-id': 's2' } });
      await response.text();
      status = response.status;
    }
    assert.equal(status, 404, 'a deleted stamp is gone from the routes');
  });
});

describe('control-plane client', () => {
  test('a large document comes gzip-compressed and is read whole; a watch with the current ETag answers 304 after its timeout', async (t) => {
    const cp = await startControlPlane();
    t.after(() => cp.stop());
    assert.equal((await api(cp.base, 'POST', '/api/v1/stamps', { id: 'big', driver: 'external', url: upstreams[0]!.url, capacity: 5000 })).status, 201);
    for (let i = 0; i < 800; i++) await cp.catalog.placeTenant(`tenant-${String(i).padStart(5, '0')}`, 'big');
    const raw = await fetch(`${cp.base}/v1/config`, { headers: { authorization: `Bearer ${gatewayToken}`, 'accept-encoding': 'gzip' } });
    await raw.arrayBuffer();
    assert.equal(raw.headers.get('content-encoding'), 'gzip', 'the control plane compresses documents this large');

    const client = new ControlPlaneClient({ endpoint: `${cp.base}/`, token: gatewayToken });
    t.after(() => client.close());
    const answer = await client.fetch();
    assert.equal(answer.status, 200);
    if (answer.status !== 200) return;
    assert.ok(Object.keys(answer.document.tenants).length >= 800);
    assert.match(answer.etag ?? '', /^W\/"/);
    const started = performance.now();
    const unchanged = await client.fetch({ etag: answer.etag, watch: true, delta: true, timeoutSeconds: 1 });
    assert.equal(unchanged.status, 304);
    assert.ok(performance.now() - started >= 900, 'the watch waited for a change');
  });
});

describe('control-plane provider: failures at start', () => {
  test('a refused token with no cached copy fails the start with the reason', async (t) => {
    const cp = await startControlPlane();
    t.after(() => cp.stop());
    const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
    t.after(() => gateway.close());
    const provider = new ControlPlaneProvider({ endpoint: cp.base, token: 'not-a-token', cacheFile: join(dir, 'none', 'cache.json') });
    const sources = new GatewayConfigSources({ gateway, control: provider });
    await assert.rejects(sources.start(), /refused the token \(401 the bearer token is not known/);
    await sources.close();
  });

  test('a corrupt cache file is ignored (and said so); with the control plane up the gateway starts from it', async (t) => {
    const cp = await startControlPlane();
    t.after(() => cp.stop());
    const broken = join(dir, 'broken-cache.json');
    writeFileSync(broken, '{"format": "something else"}');
    const log: string[] = [];
    const provider = new ControlPlaneProvider({ endpoint: cp.base, token: gatewayToken, cacheFile: broken, log: (l) => log.push(l) });
    const state = await provider.start();
    assert.equal(state.source, 'control-plane');
    assert.ok(log.some((l) => /ignoring the config cache: .*not a Stampgate gateway config cache/.test(l)), log.join('\n'));
    await provider.close();
    assert.equal(JSON.parse(readFileSync(broken, 'utf8')).format, cacheFormat, 'replaced by a good copy');
  });

  test('no control plane and no cache: start waits (logging once) and succeeds when it comes up', async (t) => {
    const cp = await startControlPlane();
    const port = cp.port;
    await cp.stop();
    const cacheFile = join(dir, 'late', 'cache.json');
    const log: string[] = [];
    const provider = new ControlPlaneProvider({ endpoint: `http://127.0.0.1:${port}`, token: gatewayToken, cacheFile, log: (l) => log.push(l), retryInitialMs: 50, retryMaxMs: 100 });
    const starting = provider.start();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(log.filter((l) => /waiting for it before listening/.test(l)).length, 1, log.join('\n'));
    const late = await startControlPlane(port);
    t.after(() => late.stop());
    const state = await starting;
    assert.equal(state.source, 'control-plane');
    await provider.close();
    assert.ok(existsSync(cacheFile));
  });
});
