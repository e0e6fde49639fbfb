// The sample stamp app with its cache on the machine's real Redis. Keys are per-run stamp ids and are
// deleted at the end; the shared Redis is never flushed or stopped (outages go through a TCP proxy).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLibraryApp } from '../../examples/library/app.ts';
import type { BookCache } from '../../examples/library/cache/book-cache.ts';
import { RedisBookCache, redisKeyPrefix } from '../../examples/library/cache/redis.ts';
import { createLineLogger } from '../../examples/library/log.ts';
import type { Book } from '../../examples/library/store/book-store.ts';
import { SqliteBookStore } from '../../examples/library/store/sqlite.ts';
import { serviceAvailable, testRedisUrl } from '../helpers/services.ts';
import { freePort } from '../helpers/http-servers.ts';

const available = await serviceAvailable('redis');
const skip = available ? false : `Redis does not answer at ${testRedisUrl}`;
const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

interface Stamp {
  url: string;
  lines: string[];
  cache: BookCache;
  close(): Promise<void>;
}

async function startStamp(stampId: string, redisUrl: string): Promise<Stamp> {
  const lines: string[] = [];
  const log = createLineLogger(stampId, (line) => lines.push(line));
  const store = new SqliteBookStore(':memory:');
  const cache = await RedisBookCache.open({ url: redisUrl, stampId, log, connectTimeoutMs: 500 });
  const app = createLibraryApp({ stampId, store, cache, log, logRequests: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    lines,
    cache,
    async close() {
      await app.close();
      await Promise.all([store.close(), cache.close()]);
    },
  };
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/libros`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function put(url: string, id: number, body: unknown): Promise<Response> {
  return fetch(`${url}/libros/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function cacheHeader(url: string, id: number): Promise<string | null> {
  const response = await fetch(`${url}/libros/${id}`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  return response.headers.get('x-cache');
}

/** A TCP proxy to the real Redis that the test can cut and restore, to simulate an outage. */
class RedisProxy {
  readonly port: number;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(port: number) {
    this.port = port;
  }

  async start(): Promise<void> {
    const target = new URL(testRedisUrl);
    this.#server = net.createServer((client) => {
      const upstream = net.connect({ host: target.hostname, port: Number(target.port || 6379) });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server?.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
    this.#server = undefined;
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 4000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('library app with a Redis cache', { skip }, () => {
  const stampIds: string[] = [];
  const stamps: Stamp[] = [];
  const admin = available ? new Redis(testRedisUrl) : undefined;

  async function stamp(name: string, redisUrl = testRedisUrl): Promise<Stamp> {
    const stampId = `rd-${run}-${name}`;
    stampIds.push(stampId);
    const started = await startStamp(stampId, redisUrl);
    stamps.push(started);
    return started;
  }

  async function keysOf(stampId: string): Promise<string[]> {
    assert.ok(admin);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${redisKeyPrefix(stampId)}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  }

  after(async () => {
    for (const started of stamps) await started.close().catch(() => {});
    if (admin === undefined) return;
    for (const stampId of stampIds) {
      const keys = await keysOf(stampId);
      if (keys.length > 0) await admin.del(...keys);
    }
    await admin.quit();
  });

  it('caches GET /libros/:id under the stamp prefix, with a TTL, and invalidates on PUT and DELETE', async () => {
    const { url } = await stamp('crud');
    const stampId = `rd-${run}-crud`;
    const book = (await (await post(url, { titulo: 'La tregua', autor: 'Benedetti' })).json()) as Book;
    assert.equal(await cacheHeader(url, book.id), 'miss');
    assert.equal(await cacheHeader(url, book.id), 'hit');

    const key = `${redisKeyPrefix(stampId)}libro:${book.id}`;
    assert.deepEqual(await keysOf(stampId), [key]);
    assert.deepEqual(JSON.parse((await admin?.get(key)) ?? 'null'), book);
    const ttl = (await admin?.pttl(key)) ?? 0;
    assert.ok(ttl > 0 && ttl <= 60_000, `TTL ${ttl}`);

    assert.equal((await put(url, book.id, { titulo: 'Montevideanos', autor: 'Benedetti' })).status, 200);
    assert.equal(await admin?.exists(key), 0, 'PUT invalidates');
    const reread = await fetch(`${url}/libros/${book.id}`);
    assert.equal(reread.headers.get('x-cache'), 'miss');
    assert.equal(((await reread.json()) as Book).titulo, 'Montevideanos');
    assert.equal(await cacheHeader(url, book.id), 'hit');

    assert.equal((await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await admin?.exists(key), 0, 'DELETE invalidates');
    assert.equal((await fetch(`${url}/libros/${book.id}`)).status, 404);

    const ready = await fetch(`${url}/ready`);
    assert.deepEqual(await ready.json(), { status: 'ready', db: 'ok', cache: 'ok', stamp: stampId });
  });

  it('treats a corrupt cache entry as a miss', async () => {
    const { url } = await stamp('corrupt');
    const book = (await (await post(url, { titulo: 'x', autor: 'y' })).json()) as Book;
    await admin?.set(`${redisKeyPrefix(`rd-${run}-corrupt`)}libro:${book.id}`, 'not json', 'PX', 60_000);
    const response = await fetch(`${url}/libros/${book.id}`);
    assert.equal(response.headers.get('x-cache'), 'miss');
    assert.deepEqual(await response.json(), book);
    assert.equal(await cacheHeader(url, book.id), 'hit');
  });

  it('keeps two stamps sharing one Redis apart', async () => {
    const a = await stamp('iso-a');
    const b = await stamp('iso-b');
    const onA = (await (await post(a.url, { titulo: 'Libro de A', autor: 'A' })).json()) as Book;
    const onB = (await (await post(b.url, { titulo: 'Libro de B', autor: 'B' })).json()) as Book;
    assert.equal(onA.id, onB.id, 'both stamps number their books from 1');
    assert.equal(await cacheHeader(a.url, onA.id), 'miss');
    assert.equal(await cacheHeader(b.url, onB.id), 'miss', "A's entry is not B's");
    assert.equal(((await (await fetch(`${a.url}/libros/${onA.id}`)).json()) as Book).titulo, 'Libro de A');
    assert.equal(((await (await fetch(`${b.url}/libros/${onB.id}`)).json()) as Book).titulo, 'Libro de B');
    assert.equal((await fetch(`${a.url}/libros/${onA.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await cacheHeader(b.url, onB.id), 'hit', "deleting on A does not evict B's entry");
  });

  it('starts and serves from the database when Redis is unreachable, and stays ready', async () => {
    const port = await freePort();
    const { url, lines } = await stamp('down', `redis://127.0.0.1:${port}`);
    const book = (await (await post(url, { titulo: 'Rayuela', autor: 'Cortázar' })).json()) as Book;
    assert.equal(await cacheHeader(url, book.id), 'miss');
    assert.equal(await cacheHeader(url, book.id), 'miss');
    assert.equal((await put(url, book.id, { titulo: 'Bestiario', autor: 'Cortázar' })).status, 200);
    assert.equal((await fetch(`${url}/libros/${book.id}`, { method: 'DELETE' })).status, 204);
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', db: 'ok', cache: 'error', stamp: `rd-${run}-down` });
    assert.ok(lines.some((line) => /^\[STAMP:rd-\w+-down\] warning: cache: redis at .* unavailable/.test(line)), lines.join('\n'));
  });

  it('falls back to the database while Redis is away and uses it again when it returns', async () => {
    const proxy = new RedisProxy(await freePort());
    await proxy.start();
    try {
      const { url } = await stamp('outage', `redis://127.0.0.1:${proxy.port}`);
      const book = (await (await post(url, { titulo: 'Sobre héroes y tumbas', autor: 'Sabato' })).json()) as Book;
      assert.equal(await cacheHeader(url, book.id), 'miss');
      assert.equal(await cacheHeader(url, book.id), 'hit');

      await proxy.stop();
      const started = performance.now();
      assert.equal(await cacheHeader(url, book.id), 'miss', 'served from the database');
      assert.ok(performance.now() - started < 1000, 'a down cache does not stall reads');
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { cache: string }).cache, 'error');

      await proxy.start();
      await eventually(async () => ((await (await fetch(`${url}/ready`)).json()) as { cache: string }).cache === 'ok');
      await cacheHeader(url, book.id);
      assert.equal(await cacheHeader(url, book.id), 'hit');
    } finally {
      await proxy.stop();
    }
  });
});
