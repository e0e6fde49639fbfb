// The control plane's store on both databases (the embedded SQLite file and the real PostgreSQL):
// stamps and tenants with their audit rows and config version, placement policies and capacity
// under concurrent placements, the one-running-operation rule, tokens and the admin token file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Kysely, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { ensureAdminToken } from '../../src/control/api/admin-token.ts';
import { Catalog, CatalogError, type CatalogErrorCode } from '../../src/control/store/catalog.ts';
import { migrationProvider } from '../../src/control/store/migrations.ts';
import { openNodeSqlite } from '../../src/control/store/node-sqlite-database.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import type { StoreSchema } from '../../src/control/store/schema.ts';
import { hashToken, TokenStore } from '../../src/control/store/tokens.ts';
import { freshStoreUrl, type StoreKind } from '../helpers/fresh-store.ts';

type Kind = StoreKind;


async function withStore(t: TestContext, kind: Kind, run: (store: OpenedStore, url: string) => Promise<void>): Promise<void> {
  const url = await freshStoreUrl(t, kind, 'control-store');
  if (!url) return;
  const store = await openStore(url);
  try {
    await run(store, url);
  } finally {
    await store.db.destroy();
  }
}

function catalogError(code: CatalogErrorCode, details: Record<string, unknown> = {}) {
  return (error: unknown) => {
    assert.ok(error instanceof CatalogError, `expected a CatalogError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const [key, value] of Object.entries(details)) assert.deepEqual(error.details[key], value);
    return true;
  };
}

// The two stores run side by side: each test has its own database.
describe('control store on both stores', { concurrency: true }, () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    test(`stamps: create, update, drain, delete, with audit rows and one config version per change (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }) => {
        const catalog = new Catalog(db);
        const seen: number[] = [];
        catalog.onChange((v) => seen.push(v));
        const v0 = (await catalog.configVersion()).version;

        const s1 = await catalog.createStamp({ id: 's1', aliases: ['1'], driver: 'external', url: 'http://127.0.0.1:3001', capacity: 2, labels: { region: 'eu' }, version: 'v1' }, 'alice');
        assert.equal(s1.state, 'active');
        assert.equal(s1.tenantCount, 0);
        const s2 = await catalog.createStamp({ id: 's2' }, 'alice');
        assert.equal(s2.state, 'provisioning');
        assert.match(s2.stateReason, /waiting for the process driver/);
        assert.equal(s2.capacity, 1000);
        assert.deepEqual(seen, [v0 + 1, v0 + 2]);

        await assert.rejects(catalog.createStamp({ id: 's1' }, 'alice'), catalogError('stamp-exists'));
        await assert.rejects(catalog.createStamp({ id: 's3', aliases: ['1'] }, 'alice'), catalogError('alias-taken', { stamp: 's1' }));
        await assert.rejects(catalog.createStamp({ id: '1' }, 'alice'), catalogError('alias-taken'));
        await assert.rejects(catalog.createStamp({ id: 's3', driver: 'external' }, 'alice'), catalogError('invalid-input', { field: 'url' }));
        // The catalog checks ids itself: the CLI and `stampgate up` call it without the API in front.
        await assert.rejects(catalog.createStamp({ id: 'S 3' }, 'alice'), catalogError('invalid-input', { field: 'id' }));
        await assert.rejects(catalog.saveStamp({ id: 's3', aliases: ['ok', '../x'], driver: 'process', url: '' }), catalogError('invalid-input', { field: 'aliases[1]' }));
        await assert.rejects(catalog.createStamp({ id: 's3', capacity: -1 }, 'alice'), catalogError('invalid-input', { field: 'capacity' }));
        await assert.rejects(catalog.placeTenant('"quoted"', 's1'), catalogError('invalid-input', { field: 'id' }));
        await assert.rejects(catalog.createTenant('x'.repeat(64), { policy: 'least-used' }, 'alice'), catalogError('invalid-input', { field: 'id' }));
        assert.equal((await catalog.configVersion()).version, v0 + 2, 'refused changes bump nothing');

        const updated = await catalog.updateStamp('s1', { capacity: 3, labels: { region: 'us' }, version: 'v2' }, 'bob');
        assert.deepEqual([updated.capacity, updated.labels, updated.version], [3, { region: 'us' }, 'v2']);
        const unchanged = await catalog.updateStamp('s1', { capacity: 3 }, 'bob');
        assert.equal(unchanged.updatedAt, updated.updatedAt);
        assert.equal((await catalog.configVersion()).version, v0 + 3, 'a no-op update bumps nothing');

        await catalog.placeTenant('acme', 's1');
        await catalog.placeTenant('globex', 's1');
        await assert.rejects(catalog.updateStamp('s1', { capacity: 1 }, 'bob'), catalogError('capacity-below-use', { tenantCount: 2 }));
        await assert.rejects(catalog.updateStamp('nope', { capacity: 1 }, 'bob'), catalogError('unknown-stamp'));

        await assert.rejects(catalog.drainStamp('s2', '', 'bob'), catalogError('invalid-state', { state: 'provisioning' }));
        const drained = await catalog.drainStamp('s1', 'moving to new hardware', 'bob');
        assert.deepEqual([drained.state, drained.stateReason], ['draining', 'moving to new hardware']);
        const version = (await catalog.configVersion()).version;
        assert.equal((await catalog.drainStamp('s1', '', 'bob')).state, 'draining');
        assert.equal((await catalog.configVersion()).version, version, 'draining a draining stamp changes nothing');

        await assert.rejects(catalog.deleteStamp('s1', 'carol'), catalogError('stamp-has-tenants', { tenantCount: 2 }));
        const deleted = await catalog.deleteStamp('s2', 'carol');
        assert.equal(deleted.id, 's2');
        assert.equal(await catalog.getStamp('s2'), undefined);
        await assert.rejects(catalog.deleteStamp('s2', 'carol'), catalogError('unknown-stamp'));

        const audit = await catalog.listAudit({ targetKind: 'stamp', targetId: 's1' });
        assert.deepEqual(audit.items.map((e) => e.action), ['stamp.drain', 'stamp.update', 'stamp.create']);
        const update = audit.items[1]!;
        assert.equal(update.actor, 'bob');
        assert.deepEqual([(update.before as { capacity: number }).capacity, (update.after as { capacity: number }).capacity], [2, 3]);
        assert.equal(audit.items[2]!.before, null);
        const deletion = (await catalog.listAudit({ action: 'stamp.delete' })).items[0]!;
        assert.deepEqual([deletion.actor, deletion.after, (deletion.before as { id: string }).id], ['carol', null, 's2']);
        assert.equal((await catalog.listAudit({ actor: 'alice' })).items.length, 2);

        // Paging, newest first; and a time window.
        const first = await catalog.listAudit({ limit: 2 });
        assert.equal(first.items.length, 2);
        assert.ok(first.next);
        const second = await catalog.listAudit({ limit: 2, cursor: first.next });
        assert.ok(second.items[0]!.id < first.items[1]!.id);
        assert.equal((await catalog.listAudit({ since: new Date(Date.now() + 60_000).toISOString() })).items.length, 0);
        assert.ok((await catalog.listAudit({ until: new Date(Date.now() + 60_000).toISOString() })).items.length > 5);
      });
    });

    test(`placement: least used, label match, explicit, capacity and state respected (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }) => {
        const catalog = new Catalog(db);
        await catalog.createStamp({ id: 'eu1', driver: 'external', url: 'http://127.0.0.1:1', capacity: 2, labels: { region: 'eu', tier: 'gold' } }, 'a');
        await catalog.createStamp({ id: 'eu2', driver: 'external', url: 'http://127.0.0.1:2', capacity: 3, labels: { region: 'eu' } }, 'a');
        await catalog.createStamp({ id: 'us1', driver: 'external', url: 'http://127.0.0.1:3', capacity: 3, labels: { region: 'us' } }, 'a');
        await catalog.createStamp({ id: 'new', capacity: 100 }, 'a'); // provisioning: never chosen

        const place = async (id: string, placement: Parameters<Catalog['createTenant']>[1]) => (await catalog.createTenant(id, placement, 'a')).stampId;
        // least-used: fewest tenants, ties by id.
        assert.equal(await place('t1', { policy: 'least-used' }), 'eu1');
        assert.equal(await place('t2', { policy: 'least-used' }), 'eu2');
        assert.equal(await place('t3', { policy: 'least-used' }), 'us1');
        assert.equal(await place('t4', { policy: 'least-used' }), 'eu1');
        assert.equal(await place('t5', { policy: 'least-used' }), 'eu2', 'eu1 is full (2 of 2)');
        // label: all labels equal; least used among those.
        assert.equal(await place('t6', { policy: 'label', labels: { region: 'us' } }), 'us1');
        await assert.rejects(place('t7', { policy: 'label', labels: { region: 'eu', tier: 'gold' } }), catalogError('no-stamp-available', { policy: 'label', labels: { region: 'eu', tier: 'gold' } }));
        await assert.rejects(place('t7', { policy: 'label', labels: { region: 'mars' } }), catalogError('no-stamp-available'));
        // explicit: exists, active, room.
        await assert.rejects(place('t7', { policy: 'explicit', stampId: 'eu1' }), catalogError('stamp-full', { stamp: 'eu1', capacity: 2, tenantCount: 2 }));
        await assert.rejects(place('t7', { policy: 'explicit', stampId: 'new' }), catalogError('stamp-not-accepting', { state: 'provisioning' }));
        await assert.rejects(place('t7', { policy: 'explicit', stampId: 'zzz' }), catalogError('unknown-stamp'));
        await assert.rejects(place('t1', { policy: 'explicit', stampId: 'us1' }), catalogError('tenant-exists'));
        assert.equal(await place('t7', { policy: 'explicit', stampId: 'us1' }), 'us1');
        // A draining stamp takes nobody new: eu1 and us1 are full, eu2 (with room) drains.
        await catalog.drainStamp('eu2', '', 'a');
        await assert.rejects(place('t8', { policy: 'least-used' }), catalogError('no-stamp-available', { policy: 'least-used' }));

        const counts = Object.fromEntries((await catalog.listStamps()).map((s) => [s.id, s.tenantCount]));
        assert.deepEqual(counts, { eu1: 2, eu2: 2, us1: 3, new: 0 });

        // Moves: to an active stamp with room; to where it is already is a no-op.
        await assert.rejects(catalog.moveTenant('t1', 'us1', 'a'), catalogError('stamp-full'));
        await assert.rejects(catalog.moveTenant('t1', 'eu2', 'a'), catalogError('stamp-not-accepting', { state: 'draining' }));
        await assert.rejects(catalog.moveTenant('nobody', 'us1', 'a'), catalogError('unknown-tenant'));
        const version = (await catalog.configVersion()).version;
        assert.equal((await catalog.moveTenant('t1', 'eu1', 'a')).stampId, 'eu1');
        assert.equal((await catalog.configVersion()).version, version);
        await catalog.deleteTenant('t6', 'a');
        assert.equal((await catalog.moveTenant('t1', 'us1', 'a')).stampId, 'us1');
        const after = Object.fromEntries((await catalog.listStamps()).map((s) => [s.id, s.tenantCount]));
        assert.deepEqual(after, { eu1: 1, eu2: 2, us1: 3, new: 0 });
        const move = (await catalog.listAudit({ targetKind: 'tenant', targetId: 't1', action: 'tenant.move' })).items[0]!;
        assert.deepEqual([(move.before as { stampId: string }).stampId, (move.after as { stampId: string }).stampId], ['eu1', 'us1']);

        // Pages by id, optionally of one stamp.
        const page1 = await catalog.listTenantsPage({ limit: 3 });
        assert.deepEqual(page1.items.map((x) => x.id), ['t1', 't2', 't3']);
        const page2 = await catalog.listTenantsPage({ limit: 3, cursor: page1.next! });
        assert.deepEqual([page2.items.map((x) => x.id), page2.next], [['t4', 't5', 't7'], null]);
        assert.deepEqual((await catalog.listTenantsPage({ stampId: 'us1' })).items.map((x) => x.id), ['t1', 't3', 't7']);
        await assert.rejects(catalog.listTenantsPage({ stampId: 'zzz' }), catalogError('unknown-stamp'));
      });
    });

    test(`concurrent placements never overfill a stamp (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }, url) => {
        // On PostgreSQL a second control plane (its own pool) places at the same time.
        const other = kind === 'postgres' ? await openStore(url) : undefined;
        try {
          const a = new Catalog(db);
          const b = other ? new Catalog(other.db) : a;
          await a.createStamp({ id: 'small', driver: 'external', url: 'http://127.0.0.1:1', capacity: 5 }, 'x');
          await a.createStamp({ id: 'other', driver: 'external', url: 'http://127.0.0.1:2', capacity: 5 }, 'x');
          const attempts = Array.from({ length: 30 }, (_, i) =>
            (i % 2 === 0 ? a : b).createTenant(`t${i}`, i % 3 === 0 ? { policy: 'least-used' } : { policy: 'explicit', stampId: 'small' }, 'x'),
          );
          const results = await Promise.allSettled(attempts);
          const placed = results.filter((r) => r.status === 'fulfilled').length;
          for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof CatalogError && ['stamp-full', 'no-stamp-available'].includes(r.reason.code), String(r.reason));
          const stamps = await a.listStamps();
          for (const stamp of stamps) {
            assert.ok(stamp.tenantCount <= stamp.capacity, `${stamp.id}: ${stamp.tenantCount} of ${stamp.capacity}`);
            assert.equal((await a.listTenantsPage({ stampId: stamp.id, limit: 1000 })).items.length, stamp.tenantCount, 'the kept count is the real count');
          }
          assert.equal(stamps.find((s) => s.id === 'small')!.tenantCount, 5);
          assert.equal(placed, stamps.reduce((n, s) => n + s.tenantCount, 0));
          // Every placement bumped the version once: no lost update.
          assert.equal((await a.configVersion()).version, 1 + 2 + placed);
        } finally {
          await other?.db.destroy();
        }
      });
    });

    test(`one running operation per stamp; stamp changes wait for it (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }, url) => {
        const catalog = new Catalog(db);
        await catalog.createStamp({ id: 's1', driver: 'external', url: 'http://127.0.0.1:1' }, 'x');
        await catalog.createStamp({ id: 's2', driver: 'external', url: 'http://127.0.0.1:2' }, 'x');
        const op = await catalog.startOperation({ stampId: 's1', kind: 'deploy', steps: [{ name: 'start', state: 'pending' }] }, 'x');
        assert.equal(op.state, 'running');
        await assert.rejects(catalog.startOperation({ stampId: 's1', kind: 'deploy' }, 'x'), catalogError('operation-in-progress', { operationId: op.id }));
        await assert.rejects(catalog.startOperation({ stampId: 'zzz', kind: 'deploy' }, 'x'), catalogError('unknown-stamp'));
        await assert.rejects(catalog.updateStamp('s1', { capacity: 9 }, 'x'), catalogError('operation-in-progress', { operationId: op.id }));
        await assert.rejects(catalog.drainStamp('s1', '', 'x'), catalogError('operation-in-progress', { operationId: op.id }));
        await assert.rejects(catalog.deleteStamp('s1', 'x'), catalogError('operation-in-progress', { operationId: op.id }));
        await catalog.startOperation({ stampId: 's2', kind: 'deploy' }, 'x');

        // The partial unique index holds even for a writer that skips the check.
        const row = { id: 'manual', stamp_id: 's1', kind: 'deploy', state: 'running' as const, steps: '[]', error: null, actor: 'x', started_at: new Date().toISOString(), finished_at: null };
        await assert.rejects(db.insertInto('operations').values(row).execute());
        await db.insertInto('operations').values({ ...row, state: 'failed' }).execute();

        const progressed = await catalog.updateOperationSteps(op.id, [{ name: 'start', state: 'done' }]);
        assert.deepEqual(progressed.steps, [{ name: 'start', state: 'done' }]);
        const done = await catalog.finishOperation(op.id, 'succeeded', null, 'x');
        assert.equal(done.state, 'succeeded');
        assert.ok(done.finishedAt);
        await assert.rejects(catalog.finishOperation(op.id, 'failed', 'late', 'x'), catalogError('invalid-state'));
        await assert.rejects(catalog.updateOperationSteps(op.id, []), catalogError('invalid-state'));
        assert.equal(await catalog.runningOperation('s1'), undefined);
        assert.equal((await catalog.updateStamp('s1', { capacity: 9 }, 'x')).capacity, 9);
        assert.deepEqual((await catalog.listOperations('s1')).map((o) => o.state).sort(), ['failed', 'succeeded']);
        assert.deepEqual((await catalog.listAudit({ targetKind: 'operation', targetId: op.id })).items.map((e) => e.action), ['operation.succeeded', 'operation.start']);

        // Concurrent starts (two control planes on PostgreSQL): exactly one runs.
        const other = kind === 'postgres' ? await openStore(url) : undefined;
        try {
          const b = other ? new Catalog(other.db) : catalog;
          const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? catalog : b).startOperation({ stampId: 's1', kind: 'rollout' }, 'x')));
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        } finally {
          await other?.db.destroy();
        }
      });
    });

    test(`tokens: only a hash is stored, constant-time verify, roles, revocation (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }) => {
        const tokens = new TokenStore(db);
        const { token, info } = await tokens.create('ci', 'viewer', 'admin');
        assert.match(token, /^sgt_[A-Za-z0-9_-]{43}$/);
        assert.equal(info.role, 'viewer');
        const row = await db.selectFrom('tokens').selectAll().where('name', '=', 'ci').executeTakeFirstOrThrow();
        assert.equal(row.token_hash, hashToken(token));
        assert.ok(!JSON.stringify(row).includes(token));
        assert.deepEqual(await tokens.verify(token), { name: 'ci', role: 'viewer' });
        assert.equal(await tokens.verify(`${token}x`), undefined);
        assert.equal(await tokens.verify(''), undefined);
        assert.ok((await tokens.list())[0]!.lastUsedAt, 'last use is recorded');
        await assert.rejects(tokens.create('ci', 'admin'), catalogError('token-exists'));

        await tokens.register('admin', 'admin', 'a-secret-of-sufficient-length');
        assert.deepEqual(await tokens.register('admin', 'admin', 'a-secret-of-sufficient-length'), { changed: false });
        assert.deepEqual(await tokens.verify('a-secret-of-sufficient-length'), { name: 'admin', role: 'admin' });
        await tokens.register('admin', 'admin', 'another-secret-of-sufficient-length');
        assert.equal(await tokens.verify('a-secret-of-sufficient-length'), undefined, 'replaced');
        await assert.rejects(tokens.remove('admin', 'admin'), catalogError('last-admin-token'));
        await tokens.remove('ci', 'admin');
        assert.equal(await tokens.verify(token), undefined, 'revoked at once');
        await assert.rejects(tokens.remove('ci', 'admin'), catalogError('unknown-token'));
        const actions = (await new Catalog(db).listAudit({ targetKind: 'token' })).items.map((e) => `${e.action}:${e.targetId}`);
        assert.deepEqual(actions, ['token.delete:ci', 'token.replace:admin', 'token.create:admin', 'token.create:ci']);
      });
    });

    test(`bulk import: all or nothing, capacity after the batch, one version, an audit row per tenant (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }) => {
        const catalog = new Catalog(db);
        await catalog.createStamp({ id: 'a', driver: 'external', url: 'http://127.0.0.1:1', capacity: 1000 }, 'x');
        await catalog.createStamp({ id: 'b', driver: 'external', url: 'http://127.0.0.1:2', capacity: 700 }, 'x');
        await catalog.placeTenant('t0000', 'b');
        const v0 = (await catalog.configVersion()).version;
        const entries = Array.from({ length: 1200 }, (_, i) => [`t${String(i).padStart(4, '0')}`, i % 2 ? 'a' : 'b'] as const);
        assert.deepEqual(await catalog.importTenants(entries, 'loader'), { created: 1199, moved: 0, unchanged: 1 });
        assert.equal((await catalog.configVersion()).version, v0 + 1);
        assert.deepEqual((await catalog.listStamps()).map((s) => [s.id, s.tenantCount]), [['a', 600], ['b', 600]]);
        assert.equal((await catalog.listAudit({ actor: 'loader', limit: 1000 })).items.length, 1000);
        assert.deepEqual(await catalog.importTenants(entries, 'loader'), { created: 0, moved: 0, unchanged: 1200 });
        assert.equal((await catalog.configVersion()).version, v0 + 1, 'an import that changes nothing bumps nothing');

        // Moving 150 tenants from a to b would put b at 750 of 700: nothing is written.
        const moves = entries.filter(([, stamp]) => stamp === 'a').slice(0, 150).map(([id]) => [id, 'b'] as const);
        await assert.rejects(catalog.importTenants(moves, 'loader'), catalogError('stamp-full', { stamp: 'b' }));
        await assert.rejects(catalog.importTenants([['fresh', 'a'], ['other', 'nope']], 'loader'), catalogError('unknown-stamp', { stamp: 'nope' }));
        await assert.rejects(catalog.importTenants([['Bad', 'a']], 'loader'), catalogError('invalid-input', { field: 'id' }));
        assert.equal(await catalog.getTenant('fresh'), undefined);
        assert.deepEqual((await catalog.listStamps()).map((s) => [s.id, s.tenantCount]), [['a', 600], ['b', 600]]);
        assert.equal((await catalog.configVersion()).version, v0 + 1);

        assert.deepEqual(await catalog.importTenants(moves.slice(0, 100), 'loader'), { created: 0, moved: 100, unchanged: 0 });
        assert.deepEqual((await catalog.listStamps()).map((s) => [s.id, s.tenantCount]), [['a', 500], ['b', 700]]);
        assert.equal((await catalog.listAudit({ action: 'tenant.move', limit: 1000 })).items.length, 100);
      });
    });

    test(`directory reads: one consistent snapshot, and the changes since a version (${kind})`, async (t) => {
      await withStore(t, kind, async ({ db }) => {
        const catalog = new Catalog(db);
        await catalog.createStamp({ id: 's1', driver: 'external', url: 'http://127.0.0.1:1', capacity: 10_000 }, 'x');
        for (let i = 0; i < 25; i++) await catalog.createTenant(`t${String(i).padStart(2, '0')}`, { policy: 'least-used' }, 'x');
        const chunks: string[] = [];
        const snapshot = await catalog.readDirectory((members) => chunks.push(members), 10);
        assert.ok(chunks.length >= 3, `chunks of about 10: ${chunks.length}`);
        const directory = JSON.parse(`{${chunks.join(',')}}`) as Record<string, string>;
        assert.equal(Object.keys(directory).length, 25);
        assert.equal(directory['t07'], 's1');
        assert.equal(snapshot.version, 1 + 1 + 25);
        const since = snapshot.version;
        await catalog.deleteTenant('t00', 'x');
        await catalog.createTenant('new', { policy: 'least-used' }, 'x');
        await catalog.createTenant('gone', { policy: 'least-used' }, 'x');
        await catalog.deleteTenant('gone', 'x');
        const changes = await catalog.readDirectoryChanges(since);
        assert.ok(changes);
        assert.deepEqual(changes.placed, [['new', 's1']]);
        assert.deepEqual(changes.removed.sort(), ['gone', 't00']);
        assert.equal(changes.version, since + 4);
        assert.equal(await catalog.readDirectoryChanges(since + 100), undefined, 'a version from the future (another store)');
        assert.equal(await catalog.readDirectoryChanges(since, 1), undefined, 'too many changes: read everything');
      });
    });
  }
});

test('migration 0002 counts the tenants of a store made before it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-control-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'control.db');
  const old = new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database: openNodeSqlite(path) }) });
  const { error } = await new Migrator({ db: old, provider: migrationProvider }).migrateTo('0001_stamps_and_tenants');
  assert.equal(error, undefined);
  const now = new Date().toISOString();
  await old.insertInto('stamps').values({ id: 's1', aliases: '[]', driver: 'process', url: 'http://x', port: null, data_dir: null, state: 'active', state_reason: '', version: '', capacity: 10, labels: '{}', created_at: now, updated_at: now }).execute();
  await old.insertInto('tenants').values([{ id: 'a', stamp_id: 's1', created_at: now }, { id: 'b', stamp_id: 's1', created_at: now }]).execute();
  await old.destroy();
  const store = await openStore(`sqlite:${path}`);
  try {
    assert.equal((await new Catalog(store.db).getStamp('s1'))!.tenantCount, 2);
  } finally {
    await store.db.destroy();
  }
});

test('ensureAdminToken: generated once into a 0600 file and reused; STAMPGATE_ADMIN_TOKEN wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-admin-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  try {
    const tokens = new TokenStore(store.db);
    const dataDir = join(dir, 'data');
    const first = await ensureAdminToken(dataDir, {}, tokens);
    assert.equal(first.created, true);
    assert.equal(first.source, 'file');
    const path = join(dataDir, 'admin-token');
    assert.equal(first.path, path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8').trim(), first.token);
    assert.deepEqual(await tokens.verify(first.token), { name: 'admin', role: 'admin' });

    chmodSync(path, 0o644);
    const second = await ensureAdminToken(dataDir, {}, tokens);
    assert.deepEqual([second.created, second.token], [false, first.token]);
    assert.equal(statSync(path).mode & 0o777, 0o600, 'a loosened file is tightened again');

    const operator = 'operator-chosen-token-123';
    const fromEnv = await ensureAdminToken(dataDir, { STAMPGATE_ADMIN_TOKEN: operator }, tokens);
    assert.deepEqual([fromEnv.created, fromEnv.source, fromEnv.token], [false, 'env', operator]);
    assert.deepEqual(await tokens.verify(operator), { name: 'admin', role: 'admin' });
    assert.equal(await tokens.verify(first.token), undefined, 'the admin token is replaced, not added');
    await assert.rejects(ensureAdminToken(dataDir, { STAMPGATE_ADMIN_TOKEN: 'short' }, tokens), /at least 16 characters/);

    writeFileSync(path, '\n');
    await assert.rejects(ensureAdminToken(dataDir, {}, tokens), /is empty/);
  } finally {
    await store.db.destroy();
  }
});
