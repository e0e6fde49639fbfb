// The sample stamp app as the process driver runs it: `node examples/library/server.ts` with its
// configuration in environment variables, stopped by signals.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseDatabaseUrl, readLibraryConfig } from '../../examples/library/config.ts';
import { freePort } from '../helpers/http-servers.ts';

const serverPath = path.resolve(import.meta.dirname, '../../examples/library/server.ts');
const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
const children = new Set<ChildProcess>();

interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr lines, in arrival order. */
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(env: Record<string, string>, cwd: string): ServerProcess {
  // The test's own environment must not leak a DATABASE_URL or REDIS_URL into the stamp.
  const base = { ...process.env };
  for (const name of ['PORT', 'HOST', 'STAMP_ID', 'DATABASE_URL', 'DATABASE_NAME', 'REDIS_URL', 'BODY_LIMIT']) delete base[name];
  const child = spawn(process.execPath, [serverPath], { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const wake of waiters) wake();
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 5000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = lines.find((candidate) => pattern.test(candidate));
        if (line === undefined) return;
        cleanup();
        resolve(line);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      void exited.then(() => setImmediate(check));
      check();
    });
  return { child, lines, waitForLine, exited };
}

async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<number | null> {
  const started = performance.now();
  server.child.kill(signal);
  const { code } = await server.exited;
  assert.ok(performance.now() - started < 3000, 'the stamp stops within a few seconds');
  return code;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stampgate-library-process-'));
});
after(async () => {
  // A failed assertion must not leave a stamp running.
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('library server process', () => {
  it('logs prefixed lines, exits 0 on SIGTERM and keeps its data across a restart', async () => {
    const stampId = `proc-${run}`;
    // No DATABASE_URL: the default SQLite file ./data/biblioteca-<stamp>.db under the working dir.
    const first = startServer({ STAMP_ID: stampId, PORT: String(await freePort()), HOST: '127.0.0.1' }, dir);
    const listening = await first.waitForLine(/API escuchando en/);
    const port = /:(\d+)$/.exec(listening)?.[1];
    assert.match(listening, new RegExp(`^\\[STAMP:${stampId}\\] API escuchando en http://127\\.0\\.0\\.1:\\d+$`));
    const url = `http://127.0.0.1:${port}`;
    const created = await fetch(`${url}/libros`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ titulo: 'Default', autor: 'Autor' }),
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('x-stamp-id'), stampId);
    assert.equal(await stop(first, 'SIGTERM'), 0);
    assert.ok(existsSync(path.join(dir, 'data', `biblioteca-${stampId}.db`)));
    assert.ok(first.lines.some((line) => line.includes('SIGTERM received')));
    assert.ok(first.lines.some((line) => line === `[STAMP:${stampId}] POST /libros 201 ${line.split(' ').at(-1)}`));
    for (const line of first.lines) assert.ok(line.startsWith(`[STAMP:${stampId}] `), line);

    const second = startServer({ STAMP_ID: stampId, PORT: String(await freePort()), HOST: '127.0.0.1' }, dir);
    const again = /:(\d+)$/.exec(await second.waitForLine(/API escuchando en/))?.[1];
    const books = (await (await fetch(`http://127.0.0.1:${again}/libros`)).json()) as Array<{ titulo: string }>;
    assert.deepEqual(books.map((book) => book.titulo), ['Default']);
    assert.equal(await stop(second, 'SIGINT'), 0);
    for (const line of second.lines) assert.ok(line.startsWith(`[STAMP:${stampId}] `), line);
  });

  it('exits 1 with one prefixed line when it cannot start', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as AddressInfo).port;
    const deadPort = await freePort();
    const sqlite = `sqlite:${path.join(dir, 'fail.db')}`;
    const cases: Array<{ env: Record<string, string>; line: RegExp }> = [
      {
        env: { STAMP_ID: 'bad-url', DATABASE_URL: 'mysql://localhost/db', PORT: '0' },
        line: /^\[STAMP:bad-url\] error: startup failed: DATABASE_URL scheme 'mysql:' is not supported/,
      },
      { env: { STAMP_ID: 'Bad Id', PORT: '0' }, line: /^\[STAMP:Bad\?Id\] error: startup failed: STAMP_ID 'Bad Id' is invalid/ },
      { env: { STAMP_ID: 'bad-port', PORT: '70000', DATABASE_URL: sqlite }, line: /^\[STAMP:bad-port\] error: startup failed: PORT must be an integer/ },
      {
        env: { STAMP_ID: 'busy', PORT: String(busyPort), HOST: '127.0.0.1', DATABASE_URL: sqlite },
        line: new RegExp(`^\\[STAMP:busy\\] error: startup failed: port ${busyPort} on 127\\.0\\.0\\.1 is already in use$`),
      },
      {
        env: { STAMP_ID: 'no-pg', PORT: '0', DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${deadPort}/postgres` },
        line: /^\[STAMP:no-pg\] error: startup failed: cannot prepare PostgreSQL database "biblioteca_no_pg" via postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: .*ECONNREFUSED/,
      },
    ];
    try {
      await Promise.all(
        cases.map(async ({ env, line }) => {
          const server = startServer(env, dir);
          const { code } = await server.exited;
          assert.equal(code, 1, server.lines.join('\n'));
          assert.equal(server.lines.length, 1, server.lines.join('\n'));
          assert.match(server.lines[0] ?? '', line);
        }),
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('library configuration', () => {
  it('defaults to port 3000, the default stamp and its SQLite file', () => {
    assert.deepEqual(readLibraryConfig({}), {
      stampId: 'default',
      host: '0.0.0.0',
      port: 3000,
      database: { kind: 'sqlite', path: path.join('data', 'biblioteca-default.db') },
      redisUrl: undefined,
      bodyLimit: 1024 * 1024,
    });
    const s1 = readLibraryConfig({ STAMP_ID: 's1', PORT: '3002', HOST: '127.0.0.1', REDIS_URL: 'redis://r:6379', BODY_LIMIT: '2048' });
    assert.equal(s1.port, 3002);
    assert.equal(s1.redisUrl, 'redis://r:6379');
    assert.equal(s1.bodyLimit, 2048);
    assert.deepEqual(s1.database, { kind: 'sqlite', path: path.join('data', 'biblioteca-s1.db') });
    assert.equal(readLibraryConfig({ REDIS_URL: '' }).redisUrl, undefined, 'an empty variable is unset');
  });

  it('reads every accepted DATABASE_URL form', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:./x/a.db', 's1'), { kind: 'sqlite', path: './x/a.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///abs/a.db', 's1'), { kind: 'sqlite', path: '/abs/a.db' });
    assert.deepEqual(parseDatabaseUrl('file:rel/a.db', 's1'), { kind: 'sqlite', path: 'rel/a.db' });
    assert.deepEqual(parseDatabaseUrl('file:///abs/a.db', 's1'), { kind: 'sqlite', path: '/abs/a.db' });
    assert.deepEqual(parseDatabaseUrl('/var/lib/a.db', 's1'), { kind: 'sqlite', path: '/var/lib/a.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:', 's1'), { kind: 'sqlite', path: ':memory:' });
    const url = 'postgres://u:p@db:5432/postgres';
    assert.deepEqual(parseDatabaseUrl(url, 'default'), { kind: 'postgres', url, database: 'biblioteca' });
    assert.deepEqual(parseDatabaseUrl(url.replace('postgres:', 'postgresql:'), 's-2'), {
      kind: 'postgres',
      url: url.replace('postgres:', 'postgresql:'),
      database: 'biblioteca_s_2',
    });
    assert.deepEqual(parseDatabaseUrl(url, 's1', 'mine'), { kind: 'postgres', url, database: 'mine' });
  });

  it('rejects invalid settings with a message naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ STAMP_ID: 'S1' }, /STAMP_ID 'S1' is invalid/],
      [{ STAMP_ID: 'x'.repeat(53) }, /STAMP_ID/],
      [{ PORT: 'http' }, /PORT must be an integer from 0 to 65535, got 'http'/],
      [{ BODY_LIMIT: '0' }, /BODY_LIMIT must be an integer/],
      [{ DATABASE_URL: 'mongodb://x/y' }, /DATABASE_URL scheme 'mongodb:' is not supported/],
      [{ DATABASE_URL: 'sqlite:' }, /names no file/],
      [{ DATABASE_URL: 'postgres:///db' }, /names no PostgreSQL host/],
      [{ DATABASE_URL: 'postgres://a:secret@h:99999/db' }, /not a valid URL; expected postgres:\/\//],
      [{ DATABASE_URL: 'postgres://h/db', DATABASE_NAME: 'n'.repeat(64) }, /63-byte/],
      [{ REDIS_URL: 'memcached://x' }, /REDIS_URL must start with redis:\/\//],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => readLibraryConfig(env), (error: Error) => error instanceof ConfigError && message.test(error.message));
    }
  });
});
