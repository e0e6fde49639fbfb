// The control plane's catalog on both stores: the embedded SQLite file and the real PostgreSQL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { CatalogError } from '../../src/control/store/catalog.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { serviceAvailable, testPostgresUrl } from '../helpers/services.ts';

async function exerciseCatalog(url: string): Promise<void> {
  const store = await openStore(url);
  try {
    const catalog = new Catalog(store.db);
    const saved = await catalog.saveStamp({ id: 's1', aliases: ['1'], driver: 'process', url: 'http://127.0.0.1:3002', port: 3002, dataDir: '/tmp/s1', labels: { region: 'eu' } });
    assert.equal(saved.state, 'provisioning');
    assert.deepEqual(saved.aliases, ['1']);
    assert.deepEqual(saved.labels, { region: 'eu' });
    await catalog.saveStamp({ id: 'default', driver: 'process', url: 'http://127.0.0.1:3001', port: 3001 });
    const moved = await catalog.saveStamp({ ...saved, port: 3005, url: 'http://127.0.0.1:3005' });
    assert.equal(moved.port, 3005);
    assert.equal(moved.createdAt, saved.createdAt, 'saving again updates, it does not recreate');
    await catalog.setStampState('s1', 'active', 'pid 42');
    assert.equal((await catalog.getStamp('s1'))?.state, 'active');
    await assert.rejects(catalog.setStampState('nope', 'active', ''), (e: CatalogError) => e.code === 'unknown-stamp');
    assert.deepEqual((await catalog.listStamps()).map((s) => s.id).sort(), ['default', 's1']);

    await catalog.placeTenant('acme', 's1');
    await catalog.placeTenant('globex', 'default');
    await catalog.placeTenant('acme', 'default');
    assert.deepEqual((await catalog.listTenants()).map((t) => [t.id, t.stampId]), [['acme', 'default'], ['globex', 'default']]);
    await assert.rejects(catalog.placeTenant('initech', 'nope'), /no stamp is named "nope"/);
    assert.equal((await catalog.listTenants()).length, 2, 'a failed placement writes nothing');
    await catalog.removeTenant('globex');
    await assert.rejects(catalog.removeTenant('globex'), (e: CatalogError) => e.code === 'unknown-tenant');

    // The methods `stampgate up` uses are audited (actor `system`) and move the config version too.
    const version = (await catalog.configVersion()).version;
    await catalog.placeTenant('globex', 's1');
    assert.equal((await catalog.configVersion()).version, version + 1);
    const placed = (await catalog.listAudit({ targetKind: 'tenant', targetId: 'globex', limit: 1 })).items[0]!;
    assert.deepEqual([placed.actor, placed.action, placed.configVersion], ['system', 'tenant.create', version + 1]);
    await catalog.removeTenant('globex');
    await catalog.saveStamp({ ...(await catalog.getStamp('s1'))! });
    await catalog.setStampState('s1', 'active', 'pid 42');
    assert.equal((await catalog.configVersion()).version, version + 2, 'saving or recording what is already there changes nothing');
    assert.equal((await catalog.getStamp('default'))!.tenantCount, 1);
  } finally {
    await store.db.destroy();
  }
  // Reopening runs the migrations again without harm and finds the data.
  const again = await openStore(url);
  try {
    assert.equal((await new Catalog(again.db).listTenants()).length, 1);
  } finally {
    await again.db.destroy();
  }
}

test('catalog on the embedded SQLite store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-catalog-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  await exerciseCatalog(`sqlite:${join(dir, 'nested', 'control.db')}`);
});

test('catalog on PostgreSQL', async (t) => {
  if (!(await serviceAvailable('postgres'))) return t.skip('PostgreSQL is not reachable');
  const name = `stampgate_test_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    const url = new URL(testPostgresUrl);
    url.pathname = `/${name}`;
    await exerciseCatalog(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
});

test('an unreachable PostgreSQL store fails to open with a clear error', async () => {
  await assert.rejects(openStore('postgres://postgres@127.0.0.1:1/none'), /ECONNREFUSED|connect/);
});
