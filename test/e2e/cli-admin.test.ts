// The admin verbs as a user runs them: the real `node bin/stampgate.js stamp|tenant|status … --api URL
// --token T` (or STAMPGATE_API / STAMPGATE_TOKEN) as child processes against a real admin API
// (in-process, SQLite, port 0). Tables for people, --json for scripts, one-line errors with the right
// exit code (1: the API or the network said no; 2: usage).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { closedPort } from '../helpers/http-servers.ts';
import { stampgateBin } from '../helpers/stampgate-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'stampgate-cli-admin-'));
const adminToken = `admin-${randomBytes(16).toString('hex')}`;
let store: OpenedStore;
let app: FastifyInstance;
let api = '';

before(async () => {
  store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  app = await createAdminApi({ catalog: new Catalog(store.db), tokens });
  await app.listen({ port: 0, host: '127.0.0.1' });
  api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await store.db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `stampgate <args>`, told the API and the token by `--api URL --token T` (default), or by
 * STAMPGATE_API and STAMPGATE_TOKEN (`via: 'env'`; `env` may override them).
 */
function stampgate(args: string[], options: { via?: 'flags' | 'env'; env?: Record<string, string> } = {}): Promise<Result> {
  const { STAMPGATE_API: _api, STAMPGATE_TOKEN: _token, ...inherited } = process.env;
  const viaEnv = options.via === 'env';
  const env = { ...inherited, ...(viaEnv ? { STAMPGATE_API: api, STAMPGATE_TOKEN: adminToken } : {}), ...options.env };
  const argv = viaEnv ? args : [...args, '--api', api, '--token', adminToken];
  return new Promise((resolve) => {
    execFile(process.execPath, [stampgateBin, ...argv], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Asserts success and returns stdout. */
function ok(result: Result): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

/** Asserts the one-line failure `stampgate: …` with the exit code; returns the line. */
function fails(result: Result, code: number): string {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^stampgate: /);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  return lines[0]!;
}

/** Column start of each header word of a table's first line, checked against every row. */
function assertAligned(table: string): string[][] {
  const lines = table.trimEnd().split('\n');
  const header = lines[0]!;
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  for (const line of lines.slice(1)) {
    for (const start of starts.slice(1)) assert.equal(line[start - 1], ' ', `column at ${start} is aligned in:\n${table}`);
  }
  return lines.map((line) => line.trim().split(/\s{2,}/));
}

/** A write through the API itself, for what a test needs but does not test. */
async function apiCall(method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(api + path, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

describe('stampgate stamp', () => {
  test('create, then list as a table and as JSON, and get', async () => {
    const [s1, s2] = await Promise.all([
      stampgate(['stamp', 'create', 's1', '--url', 'http://127.0.0.1:3002', '--alias', '1', '--capacity', '500', '--label', 'region=eu', '--app-version', 'library-2']),
      stampgate(['stamp', 'create', 's2', '--url', 'http://127.0.0.1:3003', '--capacity', '20']),
    ]);
    assert.equal(ok(s1).trim(), 'stamp s1 created: active (external stamp registered by admin), capacity 500, http://127.0.0.1:3002');
    assert.match(ok(s2), /^stamp s2 created: active/);

    const [table, json, one] = await Promise.all([stampgate(['stamp', 'list']), stampgate(['stamp', 'list', '--json']), stampgate(['stamp', 'get', 's1'])]);
    const rows = assertAligned(ok(table));
    assert.deepEqual(rows[0], ['ID', 'ALIASES', 'STATE', 'VERSION', 'TENANTS', 'USE', 'LABELS', 'URL']);
    assert.deepEqual(rows.find((r) => r[0] === 's1'), ['s1', '1', 'active', 'library-2', '0/500', '0%', 'region=eu', 'http://127.0.0.1:3002']);
    const items = (JSON.parse(ok(json)) as { items: Array<{ id: string; capacity: number; labels: Record<string, string> }> }).items;
    assert.deepEqual(items.map((s) => s.id).sort(), ['s1', 's2']);
    assert.deepEqual(items.find((s) => s.id === 's1')?.labels, { region: 'eu' });
    assert.match(ok(one), /^id\s+s1$/m);
    assert.match(ok(one), /^state\s+active \(external stamp registered by admin\)$/m);
    assert.match(ok(one), /^tenants\s+0 of 500 \(0%\)$/m);
  });

  test('update, drain and delete', async () => {
    for (const id of ['t1', 't2']) assert.equal(await apiCall('POST', '/api/v1/stamps', { id, driver: 'external', url: 'http://127.0.0.1:1' }), 201);
    const [updated, drained, deleted] = await Promise.all([
      stampgate(['stamp', 'update', 's2', '--capacity', '30', '--label', 'tier=gold']),
      stampgate(['stamp', 'drain', 't1', '--reason', 'new hardware']),
      stampgate(['stamp', 'delete', 't2']),
    ]);
    assert.equal(ok(updated).trim(), 'stamp s2 updated: capacity 30, labels tier=gold');
    assert.equal(ok(drained).trim(), 'stamp t1 draining: no new tenants; it keeps serving its 0 tenants');
    assert.equal(ok(deleted).trim(), 'stamp t2 deleted');
    assert.equal(await apiCall('GET', '/api/v1/stamps/t2'), 404);
    assert.equal(await apiCall('DELETE', '/api/v1/stamps/t1'), 204);
  });
});

describe('stampgate: errors are one line with the right exit code', { concurrency: true }, () => {
  test('a bad id names the field (the API said no: exit 1)', async () => {
    const result = await stampgate(['stamp', 'create', 'Bad_Id', '--url', 'http://127.0.0.1:1']);
    assert.equal(fails(result, 1), 'stampgate: id: must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, 'one line');
    assert.equal(fails(await stampgate(['stamp', 'get', 'nope']), 1), 'stampgate: no stamp is named "nope"');
  });

  test('what the CLI itself refuses is a usage error (exit 2)', async () => {
    const [badCapacity, nothing, noArgument, badLabel] = await Promise.all([
      stampgate(['stamp', 'create', 's9', '--capacity', 'lots']),
      stampgate(['stamp', 'update', 's1']),
      stampgate(['stamp', 'create']),
      stampgate(['tenant', 'create', 'x', '--label', 'eu']),
    ]);
    assert.match(fails(badCapacity, 2), /--capacity <n>.*expected a whole number from 0 to 100000000, found "lots"/);
    assert.match(fails(nothing, 2), /nothing to update: give --capacity/);
    assert.match(fails(noArgument, 2), /missing required argument 'id'/);
    assert.match(fails(badLabel, 2), /expected KEY=VALUE \(for example region=eu\), found "eu"/);
  });

  test('an unreachable control plane is named, with why (exit 1)', async () => {
    const port = await closedPort();
    const result = await stampgate(['stamp', 'list', '--api', `http://127.0.0.1:${port}`], { via: 'env' });
    assert.equal(fails(result, 1), `stampgate: cannot reach the control plane at http://127.0.0.1:${port}: connection refused`);
  });

  test('the token comes from --data-dir\'s admin-token file; none is a usage error; a wrong one is the API\'s 401', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'admin-token'), `${adminToken}\n`, { mode: 0o600 });
    const [fromFile, none, wrong] = await Promise.all([
      stampgate(['stamp', 'list', '--data-dir', dataDir], { via: 'env', env: { STAMPGATE_TOKEN: '' } }),
      stampgate(['stamp', 'list', '--data-dir', join(dir, 'empty')], { via: 'env', env: { STAMPGATE_TOKEN: '' } }),
      stampgate(['stamp', 'list', '--token', 'sgt_wrong'], { via: 'env' }),
    ]);
    assert.match(ok(fromFile), /^ID\s+ALIASES/);
    assert.match(fails(none, 2), /^stampgate: no token: pass --token, set STAMPGATE_TOKEN, or run where .*empty\/admin-token exists/);
    assert.equal(fails(wrong, 1), 'stampgate: the bearer token is not known (mistyped, or revoked)');
  });
});

describe('stampgate tenant and status', () => {
  test('create (explicit, by label, least used), move, list, get, delete', async () => {
    assert.equal(await apiCall('POST', '/api/v1/stamps', { id: 's3', driver: 'external', url: 'http://127.0.0.1:3004', capacity: 10, labels: { region: 'us' } }), 201);
    const [explicit, byLabel, leastUsed] = await Promise.all([
      stampgate(['tenant', 'create', 'acme', '--stamp', 's1']),
      stampgate(['tenant', 'create', 'initech', '--label', 'region=us']),
      stampgate(['tenant', 'create', 'globex', '--policy', 'least-used']),
    ]);
    assert.equal(ok(explicit).trim(), 'tenant acme created on stamp s1');
    assert.equal(ok(byLabel).trim(), 'tenant initech created on stamp s3');
    assert.match(ok(leastUsed), /^tenant globex created on stamp s\d$/m);

    const [moved, noStamp, unknownStamp] = await Promise.all([
      stampgate(['tenant', 'move', 'acme', '--stamp', 's3']),
      stampgate(['tenant', 'move', 'acme']),
      stampgate(['tenant', 'create', 'hooli', '--stamp', 'nope']),
    ]);
    assert.equal(ok(moved).trim(), 'tenant acme moved: s1 → s3');
    assert.match(fails(noStamp, 2), /required option '--stamp <id>' not specified/);
    assert.match(fails(unknownStamp, 1), /^stampgate: .*"nope"/);

    const [table, json, one, deleted] = await Promise.all([
      stampgate(['tenant', 'list', '--stamp', 's3']),
      stampgate(['tenant', 'list', '--stamp', 's3', '--limit', '1', '--json']),
      stampgate(['tenant', 'get', 'acme']),
      stampgate(['tenant', 'delete', 'globex']),
    ]);
    const rows = assertAligned(ok(table));
    assert.deepEqual(rows.map((r) => r.slice(0, 2)), [['TENANT', 'STAMP'], ['acme', 's3'], ['initech', 's3']]);
    const page = JSON.parse(ok(json)) as { items: Array<{ id: string }>; next: string | null };
    assert.deepEqual(page.items.map((t) => t.id), ['acme']);
    assert.equal(page.next, 'acme');
    assert.match(ok(one), /^stamp\s+s3$/m);
    assert.equal(ok(deleted).trim(), 'tenant globex deleted');
  });

  test('status: config version, stamps with state and use, tenants and room', async () => {
    const [table, json] = await Promise.all([stampgate(['status'], { via: 'env' }), stampgate(['status', '--json'])]);
    const head = await fetch(`${api}/v1/config`, { method: 'HEAD', headers: { authorization: `Bearer ${adminToken}` } });
    const version = Number(head.headers.get('stampgate-config-version'));
    const text = ok(table);
    assert.match(text, new RegExp(`^control plane\\s+${api.replace(/[.:/]/g, '\\$&')} \\(config version ${version}\\)$`, 'm'));
    // s1 (500), s2 (30), s3 (10, acme and initech): 3 active stamps, room for 538.
    assert.match(text, /^stamps\s+3: 3 active$/m);
    assert.match(text, /^tenants\s+2 placed; room for 538 more on 3 active stamps \(0% used\)$/m);
    assert.match(text, /^ID\s+ALIASES\s+STATE/m);
    const status = JSON.parse(ok(json)) as { config: { version: number; epoch: string }; stamps: unknown[]; tenants: { placed: number; capacity: number; room: number } };
    assert.equal(status.config.version, version);
    assert.deepEqual(status.tenants, { placed: 2, capacity: 540, room: 538 });
    assert.equal(status.stamps.length, 3);
  });
});
