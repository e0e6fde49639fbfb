// The sample stamp app's HTTP contract, over real HTTP on port 0 with a SQLite file in a temp dir.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLibraryApp, type LibraryAppOptions } from '../../examples/library/app.ts';
import { MemoryBookCache } from '../../examples/library/cache/memory.ts';
import { createLineLogger } from '../../examples/library/log.ts';
import type { ProblemBody } from '../../examples/library/problem.ts';
import type { Book, BookStore } from '../../examples/library/store/book-store.ts';
import { SqliteBookStore } from '../../examples/library/store/sqlite.ts';

interface RunningApp {
  app: FastifyInstance;
  url: string;
  lines: string[];
}

async function startApp(options: Omit<LibraryAppOptions, 'cache' | 'log'> & { cache?: LibraryAppOptions['cache'] }): Promise<RunningApp> {
  const lines: string[] = [];
  const app = createLibraryApp({
    cache: new MemoryBookCache(),
    ...options,
    log: createLineLogger(options.stampId, (line) => lines.push(line)),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, lines };
}

function sendJson(url: string, method: string, body: unknown): Promise<Response> {
  return fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function expectProblem(response: Response, stampId: string, status: number, code: string): Promise<ProblemBody> {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(response.headers.get('x-stamp-id'), stampId);
  const body = (await response.json()) as ProblemBody;
  assert.equal(body.type, `https://stampgate.dev/problems/${code}`);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.stamp, stampId);
  return body;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stampgate-library-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('library app on SQLite', () => {
  const stampId = 'sqlite-a';
  let store: SqliteBookStore;
  let running: RunningApp;
  let url: string;

  before(async () => {
    store = new SqliteBookStore(path.join(dir, 'nested', 'a.db'));
    running = await startApp({ stampId, store, bodyLimit: 4096 });
    url = running.url;
  });
  after(async () => {
    await running.app.close();
    await store.close();
  });

  it('answers /health without the database and tags every response with X-Stamp-Id', async () => {
    const response = await fetch(`${url}/health`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-stamp-id'), stampId);
    assert.deepEqual(await response.json(), { status: 'ok', stamp: stampId });
  });

  it('reports ready when the database answers', async () => {
    const response = await fetch(`${url}/ready`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ready', db: 'ok', cache: 'ok', stamp: stampId });
  });

  it('creates, lists, reads, updates and deletes books', async () => {
    const created = await sendJson(`${url}/libros`, 'POST', { titulo: '  Cien años de soledad ', autor: 'García Márquez' });
    assert.equal(created.status, 201);
    const book = (await created.json()) as Book;
    assert.equal(created.headers.get('location'), `/libros/${book.id}`);
    assert.equal(book.titulo, 'Cien años de soledad', 'titles are trimmed');
    assert.equal(book.autor, 'García Márquez');
    assert.ok(Number.isInteger(book.id) && book.id > 0);
    assert.ok(!Number.isNaN(Date.parse(book.created_at)));
    assert.equal(book.updated_at, book.created_at);

    const second = (await (await sendJson(`${url}/libros`, 'POST', { titulo: 'Rayuela', autor: 'Cortázar' })).json()) as Book;
    assert.ok(second.id > book.id);

    const list = await fetch(`${url}/libros`);
    assert.equal(list.status, 200);
    assert.match(list.headers.get('content-type') ?? '', /^application\/json/);
    const books = (await list.json()) as Book[];
    assert.deepEqual(books.map((b) => b.id), [book.id, second.id]);

    const read = await fetch(`${url}/libros/${book.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(await read.json(), book);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = await sendJson(`${url}/libros/${book.id}`, 'PUT', { titulo: 'El otoño del patriarca', autor: 'García Márquez' });
    assert.equal(updated.status, 200);
    const changed = (await updated.json()) as Book;
    assert.equal(changed.titulo, 'El otoño del patriarca');
    assert.equal(changed.created_at, book.created_at);
    assert.ok(changed.updated_at > book.updated_at);

    const deleted = await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal(await deleted.text(), '');
    await expectProblem(await fetch(`${url}/libros/${book.id}`), stampId, 404, 'book-not-found');
    await expectProblem(await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' }), stampId, 404, 'book-not-found');
    await expectProblem(await sendJson(`${url}/libros/${book.id}`, 'PUT', { titulo: 'x', autor: 'y' }), stampId, 404, 'book-not-found');

    const remaining = (await (await fetch(`${url}/libros`)).json()) as Book[];
    assert.deepEqual(remaining.map((b) => b.id), [second.id]);
  });

  it('serves GET /libros/:id cache-aside and invalidates on PUT and DELETE', async () => {
    const book = (await (await sendJson(`${url}/libros`, 'POST', { titulo: 'Ficciones', autor: 'Borges' })).json()) as Book;
    const first = await fetch(`${url}/libros/${book.id}`);
    assert.equal(first.headers.get('x-cache'), 'miss');
    const second = await fetch(`${url}/libros/${book.id}`);
    assert.equal(second.headers.get('x-cache'), 'hit');
    assert.deepEqual(await second.json(), book);

    await sendJson(`${url}/libros/${book.id}`, 'PUT', { titulo: 'El Aleph', autor: 'Borges' });
    const afterPut = await fetch(`${url}/libros/${book.id}`);
    assert.equal(afterPut.headers.get('x-cache'), 'miss');
    assert.equal(((await afterPut.json()) as Book).titulo, 'El Aleph');
    assert.equal((await fetch(`${url}/libros/${book.id}`)).headers.get('x-cache'), 'hit');

    assert.equal((await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' })).status, 204);
    await expectProblem(await fetch(`${url}/libros/${book.id}`), stampId, 404, 'book-not-found');
  });

  it('rejects a missing, empty, non-string or too long titulo or autor, naming the field', async () => {
    const missing = await expectProblem(await sendJson(`${url}/libros`, 'POST', { autor: 'Borges' }), stampId, 400, 'invalid-book');
    assert.match(missing.detail, /titulo is required/);
    assert.deepEqual(missing.errors, [{ field: 'titulo', detail: 'titulo is required' }]);

    const empty = await expectProblem(await sendJson(`${url}/libros`, 'POST', { titulo: 'x', autor: '   ' }), stampId, 400, 'invalid-book');
    assert.match(empty.detail, /autor must not be empty/);

    const wrongType = await expectProblem(await sendJson(`${url}/libros`, 'POST', { titulo: 42, autor: null }), stampId, 400, 'invalid-book');
    assert.match(wrongType.detail, /titulo must be a string, got number/);
    assert.match(wrongType.detail, /autor must be a string, got null/);

    const tooLong = await expectProblem(await sendJson(`${url}/libros`, 'POST', { titulo: 'ñ'.repeat(501), autor: 'x' }), stampId, 400, 'invalid-book');
    assert.match(tooLong.detail, /titulo must be at most 500 characters, got 501/);
    assert.equal((await sendJson(`${url}/libros`, 'POST', { titulo: 'ñ'.repeat(500), autor: 'x' })).status, 201);

    const put = await expectProblem(await sendJson(`${url}/libros/1`, 'PUT', { titulo: 'solo' }), stampId, 400, 'invalid-book');
    assert.match(put.detail, /autor is required/);
  });

  it('rejects unknown fields and bodies that are not a JSON object', async () => {
    const unknown = await expectProblem(
      await sendJson(`${url}/libros`, 'POST', { titulo: 'a', autor: 'b', isbn: '123', paginas: 3 }),
      stampId,
      400,
      'invalid-book',
    );
    assert.match(unknown.detail, /unknown fields "isbn", "paginas"/);
    const array = await expectProblem(await sendJson(`${url}/libros`, 'POST', [{ titulo: 'a', autor: 'b' }]), stampId, 400, 'invalid-book');
    assert.match(array.detail, /must be a JSON object.*got an array/);
    const missingBody = await expectProblem(await fetch(`${url}/libros`, { method: 'POST' }), stampId, 400, 'invalid-book');
    assert.match(missingBody.detail, /request body is missing/);
  });

  it('answers malformed JSON with 400 and other media types with 415', async () => {
    const headers = { 'content-type': 'application/json' };
    const malformed = await expectProblem(
      await fetch(`${url}/libros`, { method: 'POST', headers, body: '{"titulo": "a",' }),
      stampId,
      400,
      'invalid-json',
    );
    assert.match(malformed.detail, /not valid JSON.*position/);
    const empty = await expectProblem(await fetch(`${url}/libros`, { method: 'POST', headers, body: '' }), stampId, 400, 'invalid-json');
    assert.match(empty.detail, /empty/);

    const text = await expectProblem(
      await fetch(`${url}/libros`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'titulo=a' }),
      stampId,
      415,
      'unsupported-media-type',
    );
    assert.match(text.detail, /'text\/plain' is not supported/);
    const form = await expectProblem(
      await fetch(`${url}/libros`, { method: 'POST', body: new URLSearchParams({ titulo: 'a', autor: 'b' }) }),
      stampId,
      415,
      'unsupported-media-type',
    );
    assert.match(form.detail, /application\/x-www-form-urlencoded/);
    const untyped = await expectProblem(
      await fetch(`${url}/libros`, { method: 'POST', body: new TextEncoder().encode('{"titulo":"a","autor":"b"}') }),
      stampId,
      415,
      'unsupported-media-type',
    );
    assert.match(untyped.detail, /needs Content-Type: application\/json/);
  });

  it('answers a body over BODY_LIMIT with 413', async () => {
    const big = JSON.stringify({ titulo: 'x'.repeat(5000), autor: 'y' });
    const problem = await expectProblem(
      await fetch(`${url}/libros`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }),
      stampId,
      413,
      'body-too-large',
    );
    assert.match(problem.detail, /4096 bytes/);
  });

  it('rejects ids that are not positive integers with 400 and unknown ids with 404', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '01', '1e3', '99999999999999999999']) {
      const problem = await expectProblem(await fetch(`${url}/libros/${id}`), stampId, 400, 'invalid-id');
      assert.match(problem.detail, /positive integer/, id);
    }
    const missing = await expectProblem(await fetch(`${url}/libros/987654`), stampId, 404, 'book-not-found');
    assert.match(missing.detail, /987654/);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as problems', async () => {
    const route = await expectProblem(await fetch(`${url}/autores`), stampId, 404, 'route-not-found');
    assert.match(route.detail, /GET \/autores/);
    const method = await fetch(`${url}/libros/1`, { method: 'PATCH' });
    assert.equal(method.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
    await expectProblem(method, stampId, 405, 'method-not-allowed');
  });

  it('writes one prefixed log line per request', () => {
    assert.ok(running.lines.length > 0);
    for (const line of running.lines) assert.ok(line.startsWith(`[STAMP:${stampId}] `), line);
    assert.ok(running.lines.some((line) => /^\[STAMP:sqlite-a\] GET \/health 200 \d+\.\dms$/.test(line)));
  });
});

describe('library app failures', () => {
  it('answers an unexpected error with 500 and no stack trace, and logs it with the prefix', async () => {
    const store = new SqliteBookStore(':memory:');
    const failing: BookStore = {
      kind: 'sqlite',
      list: () => Promise.reject(new Error('kaboom in a query')),
      get: (id) => store.get(id),
      create: (input) => store.create(input),
      update: (id, input) => store.update(id, input),
      remove: (id) => store.remove(id),
      ping: (timeoutMs) => store.ping(timeoutMs),
      close: () => store.close(),
    };
    const running = await startApp({ stampId: 'broken', store: failing });
    try {
      const response = await fetch(`${running.url}/libros`);
      const text = await response.clone().text();
      const problem = await expectProblem(response, 'broken', 500, 'internal');
      assert.doesNotMatch(text, /kaboom|at .*\.ts/);
      assert.match(problem.detail, new RegExp(problem.requestId));
      const logged = running.lines.filter((line) => line.includes('kaboom') || line.includes('    at '));
      assert.ok(logged.length > 1, 'the stack trace is logged, one prefixed line per frame');
      for (const line of running.lines) assert.ok(line.startsWith('[STAMP:broken] '), line);
    } finally {
      await running.app.close();
      await store.close();
    }
  });

  it('reports not_ready (503) and answers 503 problems when the database is gone', async () => {
    const store = new SqliteBookStore(path.join(dir, 'gone.db'));
    const running = await startApp({ stampId: 'gone', store });
    try {
      assert.equal((await fetch(`${running.url}/ready`)).status, 200);
      await store.close();
      const ready = await fetch(`${running.url}/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'not_ready', db: 'error', cache: 'ok', stamp: 'gone' });
      const health = await fetch(`${running.url}/health`);
      assert.equal(health.status, 200, 'liveness does not depend on the database');
      const list = await fetch(`${running.url}/libros`);
      assert.equal(list.headers.get('retry-after'), '1');
      await expectProblem(list, 'gone', 503, 'database-unavailable');
      assert.ok(running.lines.some((line) => line.startsWith('[STAMP:gone] warning: database:')));
    } finally {
      await running.app.close();
    }
  });

  it('keeps two stamps apart: a book created on one is not on the other', async () => {
    const storeA = new SqliteBookStore(path.join(dir, 'iso-a.db'));
    const storeB = new SqliteBookStore(path.join(dir, 'iso-b.db'));
    const a = await startApp({ stampId: 'iso-a', store: storeA });
    const b = await startApp({ stampId: 'iso-b', store: storeB });
    try {
      assert.equal((await sendJson(`${a.url}/libros`, 'POST', { titulo: 'Default', autor: 'Autor' })).status, 201);
      const onA = await fetch(`${a.url}/libros`);
      const onB = await fetch(`${b.url}/libros`);
      assert.equal(onA.headers.get('x-stamp-id'), 'iso-a');
      assert.equal(onB.headers.get('x-stamp-id'), 'iso-b');
      assert.equal(((await onA.json()) as Book[]).length, 1);
      assert.deepEqual(await onB.json(), []);
      await expectProblem(await fetch(`${b.url}/libros/1`), 'iso-b', 404, 'book-not-found');
    } finally {
      await Promise.all([a.app.close(), b.app.close()]);
      await Promise.all([storeA.close(), storeB.close()]);
    }
  });
});

describe('memory cache', () => {
  const book = (id: number): Book => ({ id, titulo: `t${id}`, autor: 'a', created_at: 'c', updated_at: 'u' });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const cache = new MemoryBookCache({ maxEntries: 2 });
    await cache.set(book(1));
    await cache.set(book(2));
    assert.ok(await cache.get(1), 'reading 1 makes 2 the least recently used');
    await cache.set(book(3));
    assert.equal(cache.size, 2);
    assert.equal(await cache.get(2), undefined);
    assert.deepEqual(await cache.get(1), book(1));
    assert.deepEqual(await cache.get(3), book(3));
  });

  it('expires entries after the TTL and returns copies', async () => {
    let now = 1000;
    const cache = new MemoryBookCache({ ttlMs: 50, now: () => now });
    await cache.set(book(1));
    const copy = await cache.get(1);
    assert.ok(copy);
    copy.titulo = 'changed';
    assert.equal((await cache.get(1))?.titulo, 't1');
    now += 50;
    assert.equal(await cache.get(1), undefined);
    assert.equal(cache.size, 0);
  });
});
