// `stampgate gateway --control URL` as an operator runs it: a real gateway process following a real
// admin API (in-process, SQLite), routing what is created through the API, routing on while the
// control plane is down, and a second gateway started during the outage routing from the cache file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { echoServer, type TestServer } from '../helpers/http-servers.ts';
import { runStampgate, type RunningCommand } from '../helpers/stampgate-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'stampgate-cli-gateway-control-'));
const adminToken = `admin-${randomBytes(16).toString('hex')}`;
const gatewayToken = `gw-${randomBytes(16).toString('hex')}`;
const cacheFile = join(dir, 'cache.json');
let store: OpenedStore | undefined;
let app: FastifyInstance | undefined;
let api = '';
let upstream: TestServer;
const gateways: RunningCommand[] = [];

before(async () => {
  upstream = await echoServer('app-a');
  store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  await tokens.register('edge', 'gateway', gatewayToken);
  app = await createAdminApi({ catalog: new Catalog(store.db), tokens });
  await app.listen({ port: 0, host: '127.0.0.1' });
  api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

async function stopControlPlane(): Promise<void> {
  await app?.close();
  await store?.db.destroy();
  app = undefined;
  store = undefined;
}

after(async () => {
  for (const gateway of gateways) if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
  await stopControlPlane();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startGateway(): Promise<{ process: RunningCommand; url: string }> {
  const gateway = runStampgate(['gateway', '--control', api, '--token', gatewayToken, '--address', '127.0.0.1:0', '--cache-file', cacheFile]);
  gateways.push(gateway);
  const [, port] = await gateway.waitForLine(/entrypoint web listening on 127\.0\.0\.1:(\d+)/);
  return { process: gateway, url: `http://127.0.0.1:${port}` };
}

async function post(path: string, body: unknown): Promise<number> {
  const response = await fetch(api + path, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

async function routed(url: string, tenant: string, withinMs: number): Promise<string> {
  const started = performance.now();
  let last = '';
  while (performance.now() - started < withinMs) {
    const response = await fetch(`${url}/books`, { headers: { 'x-tenant-id': tenant } });
    last = response.status === 200 ? ((await response.json()) as { stamp: string }).stamp : `${response.status} ${await response.text()}`;
    if (response.status === 200) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  return last;
}

test('stampgate gateway: no source, and a refused token with no cached copy, stop it with a clear message (exit 2)', async () => {
  const none = runStampgate(['gateway']);
  assert.equal((await none.exited).code, 2);
  assert.match(none.lines.join('\n'), /stampgate: give --config <static file>, --control <control plane URL>, or both/);

  const badAddress = runStampgate(['gateway', '--control', api, '--address', 'nonsense']);
  const refused = runStampgate(['gateway', '--control', api, '--token', 'sgt_wrong', '--address', '127.0.0.1:0', '--cache-file', join(dir, 'none.json')]);
  assert.equal((await badAddress.exited).code, 2);
  assert.match(badAddress.lines.join('\n'), /--address "nonsense": expected \[host\]:port/);
  assert.equal((await refused.exited).code, 2);
  assert.match(refused.lines.join('\n'), /stampgate: control plane http:.*\/v1\/config refused the token \(401 the bearer token is not known \(mistyped, or revoked\)\); check the gateway's token/);
});

test('stampgate gateway --control: routes what the API creates, keeps routing while the control plane is down, and a gateway started meanwhile routes from the cache', async () => {
  const first = await startGateway();
  await first.process.waitForLine(/configuration version 1 in service \(control plane http:/);
  assert.equal(await post('/api/v1/stamps', { id: 's1', driver: 'external', url: upstream.url }), 201);
  assert.equal(await post('/api/v1/tenants', { id: 'acme', stamp: 's1' }), 201);
  assert.equal(await routed(first.url, 'acme', 1000), 'app-a');
  // The cache is written right after each version arrives.
  const waitStarted = performance.now();
  while (!existsSync(cacheFile) && performance.now() - waitStarted < 2000) await new Promise((r) => setTimeout(r, 20));

  await stopControlPlane();
  await first.process.waitForLine(/control plane .* unreachable \([a-z ]+\); routing on its version \d+ meanwhile; retrying with backoff/, 5000);
  assert.equal(await routed(first.url, 'acme', 1000), 'app-a');

  const second = await startGateway();
  await second.process.waitForLine(/unreachable \(connection refused\): routing from the cached configuration .*cache\.json \(version \d+ saved .*, 1 stamp, 1 tenant\)/);
  assert.equal(await routed(second.url, 'acme', 1000), 'app-a');

  for (const gateway of [first, second]) gateway.process.child.kill('SIGTERM');
  for (const gateway of [first, second]) assert.equal((await gateway.process.exited).code, 0, gateway.process.lines.join('\n'));
  assert.equal(first.process.lines.filter((l) => /unreachable/.test(l)).length, 1, `the outage is logged once:\n${first.process.lines.join('\n')}`);
});
