// Seed 002 end to end with the sample app: deploying a tenant starts a stamp of the library app of
// its own (its own port, data directory and SQLite database), which answers the tenant's requests
// (X-Tenant-Id); the stamp is active with its URL in the catalog and in GET /v1/config, where a
// gateway picks it up. Undeploying stops its processes and removes its files.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { ProcessStampDriver } from '../../src/control/deploy/drivers/process/process-stamp-driver.ts';
import { followOperation, formatProgressEvent } from '../../src/control/deploy/progress.ts';
import { Provisioner } from '../../src/control/deploy/provisioner.ts';
import { libraryTemplate } from '../../src/control/deploy/stamp-template.ts';
import { TenantDeployments } from '../../src/control/deploy/tenant-deploy.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { childrenOf, defer, isAlive, portAnswers, tempDir } from '../fixtures/deploy/support.ts';

test('deploy a tenant: a library stamp of its own runs and answers it; undeploy: its processes and files are gone', async (t) => {
  const dataDir = tempDir(t, 'deploy-e2e');
  const store = await openStore(`sqlite:${join(dataDir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  const token = `admin-${randomBytes(16).toString('hex')}`;
  await tokens.register('admin', 'admin', token);
  const output: string[] = [];
  const driver = new ProcessStampDriver({ template: libraryTemplate(), dataDir, ports: { from: 25000, to: 25099 }, output: (line) => output.push(line) });
  const provisioner = new Provisioner({ catalog, drivers: [driver], readyTimeoutMs: 15_000 });
  const app = await createAdminApi({ catalog, tokens, deployments: new TenantDeployments({ catalog, provisioner }), provisionStamp: provisioner.provisionStamp });
  await app.listen({ port: 0, host: '127.0.0.1' });
  defer(t, async () => {
    await app.close();
    await provisioner.close();
    await store.db.destroy();
  });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const api = async (method: string, path: string) => {
    const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
  };

  const deployed = await api('POST', '/api/v1/tenants/acme/deploy');
  assert.equal(deployed.status, 202);
  const progress: string[] = [];
  const finished = await followOperation({ baseUrl: base, token, operationId: deployed.body.operation.id, onEvent: (e) => progress.push(formatProgressEvent(e)) });
  assert.equal(finished.state, 'succeeded', `${finished.error}\n${output.join('\n')}`);
  assert.equal(progress.at(-1), 'provision of stamp t-acme succeeded');

  const status = (await api('GET', '/api/v1/tenants/acme/deploy/status')).body;
  assert.equal(status.state, 'running');
  const stamp = (await catalog.getStamp('t-acme'))!;
  assert.equal(stamp.state, 'active');
  assert.equal(stamp.url, `http://127.0.0.1:${stamp.port}`);
  assert.equal(stamp.dataDir, join(dataDir, 'stamps', 't-acme'));
  const feed = (await api('GET', '/v1/config')).body;
  assert.deepEqual(feed.stamps, [{ id: 't-acme', servers: [{ url: stamp.url }] }]);
  assert.deepEqual(feed.tenants, { acme: 't-acme' });

  // The tenant's requests reach its own stamp, and its data lands in the stamp's own database file.
  const created = await fetch(`${stamp.url}/libros`, { method: 'POST', headers: { 'x-tenant-id': 'acme', 'content-type': 'application/json' }, body: JSON.stringify({ titulo: 'Cien años de soledad', autor: 'Gabriel García Márquez' }) });
  assert.equal(created.status, 201, await created.clone().text());
  const books = (await (await fetch(`${stamp.url}/libros`, { headers: { 'x-tenant-id': 'acme' } })).json()) as unknown[];
  assert.equal(books.length, 1);
  assert.ok(existsSync(join(stamp.dataDir!, 'biblioteca.db')), 'the stamp has its own SQLite database');

  const leash = driver.process('t-acme')!.pid!;
  const app1 = childrenOf(leash);
  if (existsSync('/proc')) assert.equal(app1.length, 1, 'the leash runs the library process');
  const undeployed = await api('DELETE', '/api/v1/tenants/acme/deploy');
  assert.equal(undeployed.status, 202);
  assert.equal((await provisioner.settled(undeployed.body.operation.id)).state, 'succeeded');
  assert.equal((await api('GET', '/api/v1/tenants/acme/deploy/status')).body.state, 'undeployed');
  assert.equal(await catalog.getStamp('t-acme'), undefined);
  assert.ok(!isAlive(leash), 'the stamp supervisor child is gone');
  for (const pid of app1) assert.ok(!isAlive(pid), `the library process ${pid} is gone`);
  assert.equal(await portAnswers(stamp.port!), false);
  assert.ok(!existsSync(stamp.dataDir!), 'its data directory and database are removed');
  assert.deepEqual((await api('GET', '/v1/config')).body.stamps, []);
});
