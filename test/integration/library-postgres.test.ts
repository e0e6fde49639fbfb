// The sample stamp app on the machine's real PostgreSQL: one database per stamp, created on start.
// Every database this file creates has a per-run name and is dropped at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createLibraryApp } from '../../examples/library/app.ts';
import { MemoryBookCache } from '../../examples/library/cache/memory.ts';
import { readLibraryConfig, stampDatabaseName } from '../../examples/library/config.ts';
import { createLineLogger, type LineLogger } from '../../examples/library/log.ts';
import { StoreUnavailableError, type Book, type BookStore } from '../../examples/library/store/book-store.ts';
import { openBookStore } from '../../examples/library/store/open.ts';
import { quoteIdentifier } from '../../examples/library/store/postgres.ts';
import { serviceAvailable, testPostgresUrl } from '../helpers/services.ts';
import { freePort } from '../helpers/http-servers.ts';

const available = await serviceAvailable('postgres');
const skip = available ? false : `PostgreSQL does not answer at ${testPostgresUrl}`;
const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

const silent = (stampId: string): LineLogger => createLineLogger(stampId, () => {});

// The tests use separate databases, so they run concurrently: CREATE DATABASE takes a while.
describe('library app on PostgreSQL', { skip, concurrency: true }, () => {
  const createdDatabases = new Set<string>();
  const closers: Array<() => Promise<void>> = [];
  let admin: pg.Client;

  async function open(stampId: string, databaseName?: string): Promise<BookStore> {
    const config = readLibraryConfig({ STAMP_ID: stampId, DATABASE_URL: testPostgresUrl, DATABASE_NAME: databaseName });
    assert.equal(config.database.kind, 'postgres');
    if (config.database.kind === 'postgres') createdDatabases.add(config.database.database);
    const store = await openBookStore(config.database, silent(stampId));
    closers.push(() => store.close());
    return store;
  }

  async function serve(stampId: string, store: BookStore): Promise<{ app: FastifyInstance; url: string }> {
    const app = createLibraryApp({ stampId, store, cache: new MemoryBookCache(), log: silent(stampId) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  }

  async function databaseExists(name: string): Promise<boolean> {
    return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  }

  before(async () => {
    admin = new pg.Client({ connectionString: testPostgresUrl });
    await admin.connect();
  });

  after(async () => {
    // Apps before stores (in-flight requests first), pools before DROP DATABASE.
    for (const close of closers.reverse()) await close().catch(() => {});
    for (const name of createdDatabases) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  });

  it('names databases as the seed does', () => {
    assert.equal(stampDatabaseName('default'), 'biblioteca');
    assert.equal(stampDatabaseName('s1'), 'biblioteca_s1');
    assert.equal(stampDatabaseName('eu-west-2'), 'biblioteca_eu_west_2');
  });

  it("creates the stamp's database on start and serves CRUD from it", async () => {
    const stampId = `pg-${run}-crud`;
    const database = stampDatabaseName(stampId);
    assert.equal(await databaseExists(database), false);
    const store = await open(stampId);
    assert.equal(await databaseExists(database), true);
    const { url } = await serve(stampId, store);

    const created = await fetch(`${url}/libros`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ titulo: 'Pedro Páramo', autor: 'Rulfo' }),
    });
    assert.equal(created.status, 201);
    const book = (await created.json()) as Book;
    assert.equal(created.headers.get('location'), `/libros/${book.id}`);
    assert.equal(typeof book.id, 'number');
    assert.match(book.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const miss = await fetch(`${url}/libros/${book.id}`);
    assert.equal(miss.headers.get('x-cache'), 'miss');
    assert.deepEqual(await miss.json(), book);
    assert.equal((await fetch(`${url}/libros/${book.id}`)).headers.get('x-cache'), 'hit');

    const put = await fetch(`${url}/libros/${book.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ titulo: 'El llano en llamas', autor: 'Rulfo' }),
    });
    assert.equal(put.status, 200);
    const updated = (await put.json()) as Book;
    assert.equal(updated.titulo, 'El llano en llamas');
    assert.ok(updated.updated_at >= book.updated_at);
    const reread = await fetch(`${url}/libros/${book.id}`);
    assert.equal(reread.headers.get('x-cache'), 'miss');
    assert.deepEqual(await reread.json(), updated);

    assert.deepEqual(((await (await fetch(`${url}/libros`)).json()) as Book[]).map((b) => b.id), [book.id]);
    assert.equal((await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${url}/libros/${book.id}`)).status, 404);
    assert.equal((await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' })).status, 404);
    assert.deepEqual(await (await fetch(`${url}/libros`)).json(), []);
    const ready = await fetch(`${url}/ready`);
    assert.deepEqual(await ready.json(), { status: 'ready', db: 'ok', cache: 'ok', stamp: stampId });
  });

  it('survives two servers of one new stamp starting at the same time, and keeps data across restarts', async () => {
    const stampId = `pg-${run}-race`;
    const [first, second] = await Promise.all([open(stampId), open(stampId)]);
    const book = await first.create({ titulo: 'Aura', autor: 'Fuentes' });
    assert.deepEqual(await second.get(book.id), book);
    await first.close();
    const reopened = await open(stampId);
    assert.deepEqual(await reopened.list(), [book]);
  });

  it('honours DATABASE_NAME', async () => {
    const name = `biblioteca_named_${run}`;
    const store = await open(`pg-${run}-named`, name);
    assert.equal(await databaseExists(name), true);
    assert.equal(await databaseExists(stampDatabaseName(`pg-${run}-named`)), false);
    await store.create({ titulo: 'x', autor: 'y' });
    const count = new pg.Client({ connectionString: testPostgresUrl.replace(/\/[^/]*$/, `/${name}`) });
    await count.connect();
    try {
      assert.equal((await count.query('SELECT count(*)::int AS n FROM libros')).rows[0].n, 1);
    } finally {
      await count.end();
    }
  });

  it('keeps two stamps apart: one database each', async () => {
    const a = await serve(`pg-${run}-iso-a`, await open(`pg-${run}-iso-a`));
    const b = await serve(`pg-${run}-iso-b`, await open(`pg-${run}-iso-b`));
    const created = await fetch(`${a.url}/libros`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ titulo: 'Default', autor: 'Autor' }),
    });
    const book = (await created.json()) as Book;
    assert.equal(((await (await fetch(`${a.url}/libros`)).json()) as Book[]).length, 1);
    assert.deepEqual(await (await fetch(`${b.url}/libros`)).json(), []);
    assert.equal((await fetch(`${b.url}/libros/${book.id}`)).status, 404);
  });

  it('reports not_ready (503) once its database is dropped', async () => {
    const stampId = `pg-${run}-drop`;
    const { url } = await serve(stampId, await open(stampId));
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    await admin.query(`DROP DATABASE ${quoteIdentifier(stampDatabaseName(stampId))} WITH (FORCE)`);
    const started = performance.now();
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not_ready', db: 'error', cache: 'ok', stamp: stampId });
    assert.ok(performance.now() - started < 1500, '/ready answers within its timeout');
    const list = await fetch(`${url}/libros`);
    assert.equal(list.status, 503);
    assert.equal(((await list.json()) as { type: string }).type, 'https://stampgate.dev/problems/database-unavailable');
  });
});

describe('library store on an unreachable PostgreSQL', () => {
  it('fails to open quickly, with a message that names the database', async () => {
    const port = await freePort();
    const started = performance.now();
    await assert.rejects(
      openBookStore({ kind: 'postgres', url: `postgres://postgres:secret@127.0.0.1:${port}/postgres`, database: 'biblioteca_x' }, silent('x')),
      (error: Error) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.match(error.message, /biblioteca_x/);
        assert.match(error.message, /ECONNREFUSED/);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 3000);
  });
});
