// The admin API over real HTTP (port 0), on both stores: stamp and tenant CRUD, every bad-input
// answer with its status and the field it names, bearer auth (401/403, and nothing written without
// a valid admin token), the audit endpoint, the OpenAPI document and the offline docs page.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi, type StampNeed } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { freshStoreUrl, type StoreKind } from '../helpers/fresh-store.ts';

type Kind = StoreKind;


const adminToken = `admin-${randomBytes(16).toString('hex')}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> & { errors?: Array<{ field: string; message: string }> };
}

interface Harness {
  store: OpenedStore;
  catalog: Catalog;
  tokens: TokenStore;
  app: FastifyInstance;
  base: string;
  viewer: string;
  gateway: string;
  provisioned: StampNeed[];
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Answer>;
}

async function startHarness(t: TestContext, kind: Kind): Promise<Harness | undefined> {
  const url = await freshStoreUrl(t, kind, 'control-api');
  if (!url) return undefined;
  const store = await openStore(url);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  const viewer = (await tokens.create('dashboard', 'viewer')).token;
  const gateway = (await tokens.create('edge-1', 'gateway')).token;
  const provisioned: StampNeed[] = [];
  const app = await createAdminApi({
    catalog,
    tokens,
    provisionStamp: async (need) => {
      provisioned.push(need);
      return need.labels?.['region'] === 'auto' ? { stampId: 'auto-1', operationId: 'op-1' } : undefined;
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await store.db.destroy();
  });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const call: Harness['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? adminToken : options.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(base + path, { method, headers, body: payload });
    const text = await response.text();
    let body = {} as Answer['body'];
    if (text && (response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text) as Answer['body'];
    return { status: response.status, headers: response.headers, text, body };
  };
  return { store, catalog, tokens, app, base, viewer, gateway, provisioned, call };
}

function assertProblem(answer: Answer, status: number, type: string, field?: string, message?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(answer.body['type'], `https://stampgate.dev/problems/${type}`, answer.text);
  assert.equal(answer.body['status'], status);
  assert.equal(typeof answer.body['title'], 'string');
  assert.equal(typeof answer.body['detail'], 'string');
  assert.doesNotMatch(answer.text, /\bat .+\.(ts|js):\d+|"stack"/, 'never a stack trace');
  if (field !== undefined) {
    const error = answer.body.errors?.find((e) => e.field === field);
    assert.ok(error, `an error names ${field}: ${answer.text}`);
    if (message) assert.match(error.message, message);
    assert.match(String(answer.body['detail']), new RegExp(`${field.replace(/[.[\]]/g, '\\$&')}: `));
  }
}

// The two stores run side by side: each test has its own database.
describe('admin API on both stores', { concurrency: true }, () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    test(`admin API on ${kind}`, async (t) => {
      const h = await startHarness(t, kind);
      if (!h) return;
      const { call } = h;

      await t.test('stamps: create, list, get, update, drain, delete', async () => {
        const created = await call('POST', '/api/v1/stamps', { body: { id: 's1', aliases: ['1'], driver: 'external', url: 'http://127.0.0.1:3001', capacity: 2, labels: { region: 'eu' }, version: 'v1' } });
        assert.equal(created.status, 201, created.text);
        assert.equal(created.headers.get('location'), '/api/v1/stamps/s1');
        assert.deepEqual([created.body['state'], created.body['capacity'], created.body['tenantCount']], ['active', 2, 0]);
        assert.match(String(created.body['stateReason']), /registered by admin/);
        const provisioning = await call('POST', '/api/v1/stamps', { body: { id: 's2', labels: { region: 'us' } } });
        assert.deepEqual([provisioning.status, provisioning.body['state'], provisioning.body['driver']], [201, 'provisioning', 'process']);

        const list = await call('GET', '/api/v1/stamps');
        assert.equal(list.status, 200);
        assert.deepEqual((list.body['items'] as Array<{ id: string }>).map((s) => s.id), ['s1', 's2']);
        assert.equal((await call('GET', '/api/v1/stamps/s1')).body['version'], 'v1');

        const patched = await call('PATCH', '/api/v1/stamps/s1', { body: { capacity: 3, labels: { region: 'eu', tier: 'gold' }, version: 'v2' } });
        assert.equal(patched.status, 200, patched.text);
        assert.deepEqual([patched.body['capacity'], patched.body['labels'], patched.body['version']], [3, { region: 'eu', tier: 'gold' }, 'v2']);

        await call('POST', '/api/v1/stamps', { body: { id: 'old', driver: 'external', url: 'http://127.0.0.1:9' } });
        const drained = await call('POST', '/api/v1/stamps/old/drain');
        assert.deepEqual([drained.status, drained.body['state'], drained.body['stateReason']], [200, 'draining', 'drained by admin']);
        const drainedWithReason = await call('POST', '/api/v1/stamps/old/drain', { body: { reason: 'again' } });
        assert.equal(drainedWithReason.status, 200, 'draining again is harmless');
        assertProblem(await call('POST', '/api/v1/stamps/s2/drain', { body: {} }), 409, 'invalid-state');

        const deleted = await call('DELETE', '/api/v1/stamps/old');
        assert.equal(deleted.status, 204);
        assertProblem(await call('GET', '/api/v1/stamps/old'), 404, 'unknown-stamp');
        assertProblem(await call('DELETE', '/api/v1/stamps/old'), 404, 'unknown-stamp');
        assertProblem(await call('POST', '/api/v1/stamps', { body: { id: 's1' } }), 409, 'stamp-exists');
        assertProblem(await call('POST', '/api/v1/stamps', { body: { id: 's3', aliases: ['1'] } }), 409, 'alias-taken');
        assertProblem(await call('POST', '/api/v1/stamps', { body: { id: 's3', driver: 'external' } }), 400, 'invalid-request', 'url', /required when driver is "external"/);
      });

      await t.test('tenants: placement policies, capacity, list, move, delete', async () => {
        const explicit = await call('POST', '/api/v1/tenants', { body: { id: 'acme', stamp: 's1' } });
        assert.equal(explicit.status, 201, explicit.text);
        assert.equal(explicit.headers.get('location'), '/api/v1/tenants/acme');
        assert.equal(explicit.body['stampId'], 's1');
        await call('POST', '/api/v1/stamps', { body: { id: 's4', driver: 'external', url: 'http://127.0.0.1:3004', capacity: 1, labels: { region: 'us' } } });
        assert.equal((await call('POST', '/api/v1/tenants', { body: { id: 'globex' } })).body['stampId'], 's4', 'least used');
        assert.equal((await call('POST', '/api/v1/tenants', { body: { id: 'initech', labels: { region: 'eu' } } })).body['stampId'], 's1', 'label match');
        assert.equal((await call('POST', '/api/v1/tenants', { body: { id: 'hooli', policy: 'least-used' } })).body['stampId'], 's1');
        assertProblem(await call('POST', '/api/v1/tenants', { body: { id: 'umbrella' } }), 409, 'no-stamp-available');
        assertProblem(await call('POST', '/api/v1/tenants', { body: { id: 'umbrella', stamp: 's1' } }), 409, 'stamp-full');
        assertProblem(await call('POST', '/api/v1/tenants', { body: { id: 'umbrella', stamp: 's2' } }), 409, 'stamp-not-accepting');
        assertProblem(await call('POST', '/api/v1/tenants', { body: { id: 'umbrella', stamp: 'nope' } }), 404, 'unknown-stamp');
        assertProblem(await call('POST', '/api/v1/tenants', { body: { id: 'acme', stamp: 's4' } }), 409, 'tenant-exists');
        // No stamp fits, and a provisioner is configured: it is asked, and the answer says what it started.
        const auto = await call('POST', '/api/v1/tenants', { body: { id: 'umbrella', labels: { region: 'auto' } } });
        assertProblem(auto, 409, 'no-stamp-available');
        assert.deepEqual(auto.body['provisioning'], { stamp: 'auto-1', operationId: 'op-1' });
        assert.deepEqual(h.provisioned.at(-1), { tenant: 'umbrella', policy: 'label', labels: { region: 'auto' }, actor: 'admin' });
        assertProblem(await call('GET', '/api/v1/tenants/umbrella'), 404, 'unknown-tenant');

        const stamps = (await call('GET', '/api/v1/stamps')).body['items'] as Array<{ id: string; tenantCount: number; capacity: number }>;
        assert.deepEqual(stamps.map((s) => [s.id, s.tenantCount, s.capacity]), [['s1', 3, 3], ['s2', 0, 1000], ['s4', 1, 1]]);

        const page1 = await call('GET', '/api/v1/tenants?limit=2');
        assert.deepEqual((page1.body['items'] as Array<{ id: string }>).map((x) => x.id), ['acme', 'globex']);
        const page2 = await call('GET', `/api/v1/tenants?limit=2&cursor=${String(page1.body['next'])}`);
        assert.deepEqual([(page2.body['items'] as Array<{ id: string }>).map((x) => x.id), page2.body['next']], [['hooli', 'initech'], null]);
        const ofS4 = await call('GET', '/api/v1/tenants?stamp=s4');
        assert.deepEqual((ofS4.body['items'] as Array<{ id: string }>).map((x) => x.id), ['globex']);
        assertProblem(await call('GET', '/api/v1/tenants?stamp=nope'), 404, 'unknown-stamp');
        assert.equal((await call('GET', '/api/v1/tenants/acme')).body['stampId'], 's1');

        assertProblem(await call('POST', '/api/v1/tenants/acme/move', { body: { stamp: 's4' } }), 409, 'stamp-full');
        await call('PATCH', '/api/v1/stamps/s4', { body: { capacity: 5 } });
        const moved = await call('POST', '/api/v1/tenants/acme/move', { body: { stamp: 's4' } });
        assert.deepEqual([moved.status, moved.body['stampId']], [200, 's4']);
        assert.equal((await call('POST', '/api/v1/tenants/acme/move', { body: { stamp: 's4' } })).status, 200, 'moving where it is: no change');
        assertProblem(await call('POST', '/api/v1/tenants/nobody/move', { body: { stamp: 's4' } }), 404, 'unknown-tenant');
        assertProblem(await call('POST', '/api/v1/tenants/acme/move', { body: { stamp: 'nope' } }), 404, 'unknown-stamp');
        assertProblem(await call('DELETE', '/api/v1/stamps/s4'), 409, 'stamp-has-tenants');

        assert.equal((await call('DELETE', '/api/v1/tenants/hooli')).status, 204);
        assertProblem(await call('DELETE', '/api/v1/tenants/hooli'), 404, 'unknown-tenant');
        assert.equal((await call('GET', '/api/v1/stamps/s1')).body['tenantCount'], 1);
      });

      await t.test('a conflicting operation in progress: 409 with its id', async () => {
        const op = await h.catalog.startOperation({ stampId: 's2', kind: 'deploy' }, 'admin');
        for (const [method, path, body] of [['PATCH', '/api/v1/stamps/s2', { capacity: 10 }], ['DELETE', '/api/v1/stamps/s2', undefined]] as const) {
          const answer = await call(method, path, { body });
          assertProblem(answer, 409, 'operation-in-progress');
          assert.equal(answer.body['operationId'], op.id);
        }
        const fetched = await call('GET', `/api/v1/operations/${op.id}`);
        assert.deepEqual([fetched.status, fetched.body['state'], fetched.body['kind']], [200, 'running', 'deploy']);
        assert.equal(((await call('GET', '/api/v1/stamps/s2/operations')).body['items'] as unknown[]).length, 1);
        assertProblem(await call('GET', '/api/v1/operations/00000000-0000-0000-0000-000000000000'), 404, 'unknown-operation');
        await h.catalog.finishOperation(op.id, 'succeeded', null);
        assert.equal((await call('PATCH', '/api/v1/stamps/s2', { body: { capacity: 10 } })).status, 200);
      });

      await t.test('bad input: 400 naming the field, 404, 415', async () => {
        const cases: Array<[string, string, unknown, string, RegExp]> = [
          ['POST', '/api/v1/stamps', { id: 'Bad_Id' }, 'id', /1-63 characters of a-z, 0-9 and "-"/],
          ['POST', '/api/v1/stamps', { id: 'a'.repeat(64) }, 'id', /1-63 characters/],
          ['POST', '/api/v1/stamps', { id: '-edge' }, 'id', /starting and ending with a letter or digit/],
          ['POST', '/api/v1/stamps', { id: 'ok', capacity: '5' }, 'capacity', /must be an integer/],
          ['POST', '/api/v1/stamps', { id: 'ok', capacity: -1 }, 'capacity', /must be >= 0/],
          ['POST', '/api/v1/stamps', { id: 'ok', colour: 'red' }, 'colour', /is not a known field/],
          ['POST', '/api/v1/stamps', { capacity: 5 }, 'id', /is required/],
          ['POST', '/api/v1/stamps', { id: 'ok', driver: 'vm' }, 'driver', /must be one of: process, docker, kubernetes, external/],
          ['POST', '/api/v1/stamps', { id: 'ok', url: 'ftp://x' }, 'url', /http:\/\/ or https:\/\/ URL/],
          ['POST', '/api/v1/stamps', { id: 'ok', aliases: ['1', 'B'] }, 'aliases[1]', /1-63 characters/],
          ['POST', '/api/v1/stamps', [1, 2], 'body', /must be an object/],
          ['PATCH', '/api/v1/stamps/s1', { labels: { region: 1 } }, 'labels.region', /must be a string/],
          ['PATCH', '/api/v1/stamps/s1', { state: 'active' }, 'state', /is not a known field \(known: aliases, version, capacity, labels\)/],
          ['PATCH', '/api/v1/stamps/S1', { capacity: 1 }, 'id', /1-63 characters/],
          ['POST', '/api/v1/stamps/s1/drain', { why: 'x' }, 'why', /is not a known field/],
          ['POST', '/api/v1/tenants', { id: 'x', stamp: 's1', policy: 'least-used' }, 'policy', /must be explicit/],
          ['POST', '/api/v1/tenants', { id: 'x', policy: 'explicit' }, 'stamp', /is required with policy explicit/],
          ['POST', '/api/v1/tenants', { id: 'x', policy: 'label' }, 'labels', /at least one label/],
          ['POST', '/api/v1/tenants', { id: 'x', stamp: 's1', labels: { a: 'b' } }, 'labels', /policy label only/],
          ['POST', '/api/v1/tenants', { id: 'x', policy: 'random' }, 'policy', /must be one of/],
          ['POST', '/api/v1/tenants', { id: 'x', stamp: 'S!' }, 'stamp', /1-63 characters/],
          ['POST', '/api/v1/tenants/acme/move', {}, 'stamp', /is required/],
          ['POST', '/api/v1/tenants/acme/move', { stamp: 's1', now: true }, 'now', /is not a known field/],
          ['GET', '/api/v1/tenants/ACME', undefined, 'id', /1-63 characters/],
          ['GET', '/api/v1/tenants?limit=0', undefined, 'limit', /must be >= 1/],
          ['GET', '/api/v1/tenants?limit=ten', undefined, 'limit', /must be an integer/],
          ['GET', '/api/v1/tenants?page=2', undefined, 'page', /is not a known field/],
          ['GET', '/api/v1/audit?since=yesterday', undefined, 'since', /ISO 8601/],
          ['GET', '/api/v1/audit?since=2025-13-45T99:00:00Z', undefined, 'since', /not a valid date/],
          ['GET', '/api/v1/audit?targetKind=planet', undefined, 'targetKind', /must be one of/],
          ['POST', '/api/v1/tokens', { name: 'x', role: 'root' }, 'role', /must be one of: admin, viewer, gateway/],
        ];
        const before = await h.catalog.configVersion();
        for (const [method, path, body, field, message] of cases) {
          const answer = await call(method, path, { body });
          assertProblem(answer, 400, 'invalid-request', field, message);
        }
        assert.deepEqual(await h.catalog.configVersion(), before, 'no bad request wrote anything');

        assertProblem(await call('POST', '/api/v1/stamps', { raw: '{"id": "s9",' }), 400, 'malformed-request');
        assertProblem(await call('POST', '/api/v1/stamps', { raw: '{"__proto__": {"x": 1}, "id": "s9"}' }), 400, 'malformed-request');
        assertProblem(await call('POST', '/api/v1/stamps', { raw: 'id=s9', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported-media-type');
        assertProblem(await call('POST', '/api/v1/stamps', { raw: '' }), 400, 'invalid-request', 'body', /must be an object/);
        assertProblem(await call('GET', '/api/v1/nothing'), 404, 'not-found');
        assertProblem(await call('PUT', '/api/v1/stamps/s1', { body: {} }), 404, 'not-found');
        assert.equal(await h.catalog.getStamp('s9'), undefined);
      });

      await t.test('auth: 401 without or with an unknown token, 403 for a viewer writing, nothing written', async () => {
        const before = await h.catalog.configVersion();
        const auditBefore = (await h.catalog.listAudit({ limit: 1 })).items[0]!.id;
        const writes: Array<[string, string, unknown]> = [
          ['POST', '/api/v1/stamps', { id: 'sneaky' }],
          ['PATCH', '/api/v1/stamps/s1', { capacity: 100 }],
          ['POST', '/api/v1/stamps/s1/drain', {}],
          ['DELETE', '/api/v1/stamps/s2', undefined],
          ['POST', '/api/v1/tenants', { id: 'sneaky' }],
          ['POST', '/api/v1/tenants/acme/move', { stamp: 's1' }],
          ['DELETE', '/api/v1/tenants/acme', undefined],
          ['POST', '/api/v1/tokens', { name: 'sneaky', role: 'admin' }],
        ];
        for (const [method, path, body] of writes) {
          const anonymous = await call(method, path, { body, token: null });
          assertProblem(anonymous, 401, 'unauthorized');
          assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="stampgate"');
          const wrong = await call(method, path, { body, token: `${adminToken}x` });
          assertProblem(wrong, 401, 'unauthorized');
          assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer realm="stampgate", error="invalid_token"$/);
          assertProblem(await call(method, path, { body, headers: { authorization: `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}` }, token: null }), 401, 'unauthorized');
          assertProblem(await call(method, path, { body, token: h.viewer }), 403, 'forbidden');
          assertProblem(await call(method, path, { body, token: h.gateway }), 403, 'forbidden');
        }
        // Authentication comes first: an anonymous bad request learns nothing about the schema.
        assertProblem(await call('POST', '/api/v1/stamps', { body: { nonsense: true }, token: null }), 401, 'unauthorized');
        assert.deepEqual(await h.catalog.configVersion(), before);
        assert.equal((await h.catalog.listAudit({ limit: 1 })).items[0]!.id, auditBefore, 'no audit row either');
        assert.equal(await h.catalog.getTenant('sneaky'), undefined);

        for (const path of ['/api/v1/stamps', '/api/v1/stamps/s1', '/api/v1/tenants', '/api/v1/tenants/acme', '/api/v1/audit']) {
          assert.equal((await call('GET', path, { token: h.viewer })).status, 200, path);
          assertProblem(await call('GET', path, { token: null }), 401, 'unauthorized');
          assertProblem(await call('GET', path, { token: h.gateway }), 403, 'forbidden');
        }
        assert.equal((await call('GET', '/v1/config', { token: h.gateway })).status, 200);
        assert.equal((await call('GET', '/v1/config', { token: h.viewer })).status, 200);
        assertProblem(await call('GET', '/v1/config', { token: null }), 401, 'unauthorized');
        assertProblem(await call('GET', '/api/v1/tokens', { token: h.viewer }), 403, 'forbidden');
      });

      await t.test('tokens: created by an admin, shown once, revoked', async () => {
        const created = await call('POST', '/api/v1/tokens', { body: { name: 'ops', role: 'admin' } });
        assert.equal(created.status, 201, created.text);
        const secret = String(created.body['token']);
        assert.equal(created.body['role'], 'admin');
        assert.equal(created.headers.get('cache-control'), 'no-store');
        const listed = await call('GET', '/api/v1/tokens');
        assert.deepEqual((listed.body['items'] as Array<{ name: string }>).map((x) => x.name), ['admin', 'dashboard', 'edge-1', 'ops']);
        assert.ok(!listed.text.includes(secret) && !listed.text.includes('hash'));
        assertProblem(await call('POST', '/api/v1/tokens', { body: { name: 'ops', role: 'viewer' } }), 409, 'token-exists');
        const made = await call('POST', '/api/v1/stamps', { body: { id: 'by-ops', driver: 'external', url: 'http://127.0.0.1:1' }, token: secret });
        assert.equal(made.status, 201);
        assert.equal((await call('DELETE', '/api/v1/stamps/by-ops', { token: secret })).status, 204);
        assert.equal((await call('DELETE', '/api/v1/tokens/ops')).status, 204);
        assertProblem(await call('GET', '/api/v1/stamps', { token: secret }), 401, 'unauthorized');
        assertProblem(await call('DELETE', '/api/v1/tokens/ops'), 404, 'unknown-token');
        assertProblem(await call('DELETE', '/api/v1/tokens/admin'), 409, 'last-admin-token');
      });

      await t.test('audit: every change with who, what, when, before and after; filtered and paged', async () => {
        const forAcme = await call('GET', '/api/v1/audit?targetKind=tenant&targetId=acme');
        const entries = forAcme.body['items'] as Array<{ action: string; actor: string; before: { stampId: string } | null; after: { stampId: string } | null; at: string; configVersion: number }>;
        assert.deepEqual(entries.map((e) => e.action), ['tenant.move', 'tenant.create']);
        assert.deepEqual([entries[0]!.before!.stampId, entries[0]!.after!.stampId, entries[0]!.actor], ['s1', 's4', 'admin']);
        assert.equal(entries[1]!.before, null);
        assert.ok(entries[0]!.configVersion > entries[1]!.configVersion);

        const byOps = await call('GET', '/api/v1/audit?actor=ops');
        assert.deepEqual((byOps.body['items'] as Array<{ action: string }>).map((e) => e.action), ['stamp.delete', 'stamp.create']);
        const tokenDeletion = await call('GET', '/api/v1/audit?targetKind=token&action=token.delete');
        assert.deepEqual((tokenDeletion.body['items'] as Array<{ targetId: string; before: unknown }>).map((e) => [e.targetId, e.before]), [['ops', { name: 'ops', role: 'admin' }]]);

        const all: number[] = [];
        let cursor: string | null = null;
        do {
          const page: Answer = await call('GET', `/api/v1/audit?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
          all.push(...(page.body['items'] as Array<{ id: number }>).map((e) => e.id));
          cursor = page.body['next'] as string | null;
        } while (cursor);
        assert.deepEqual(all, [...all].sort((a, b) => b - a), 'newest first');
        assert.equal(new Set(all).size, all.length);
        const firstAt = (await h.catalog.listAudit({ limit: 1000 })).items.at(-1)!.at;
        const since = await call('GET', `/api/v1/audit?since=${encodeURIComponent(firstAt)}&limit=1000`);
        assert.equal((since.body['items'] as unknown[]).length, all.length);
        const until = await call('GET', `/api/v1/audit?until=${encodeURIComponent(firstAt)}`);
        assert.equal((until.body['items'] as unknown[]).length, 0);
        const future = new Date(Date.now() + 3_600_000).toISOString().replace('Z', '+00:00');
        assert.equal(((await call('GET', `/api/v1/audit?since=${encodeURIComponent(future)}`)).body['items'] as unknown[]).length, 0);
      });

      await t.test('OpenAPI document and the docs page, with its assets served locally, without a token', async () => {
        const openapi = await call('GET', '/openapi.json', { token: null });
        assert.equal(openapi.status, 200);
        const document = JSON.parse(openapi.text) as { openapi: string; paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown }>>; components: { securitySchemes: Record<string, unknown> } };
        assert.match(document.openapi, /^3\./);
        for (const path of ['/api/v1/stamps', '/api/v1/stamps/{id}', '/api/v1/stamps/{id}/drain', '/api/v1/tenants', '/api/v1/tenants/{id}', '/api/v1/tenants/{id}/move', '/api/v1/audit', '/api/v1/tokens', '/v1/config']) {
          assert.ok(document.paths[path], `documents ${path}`);
        }
        assert.ok(document.paths['/api/v1/stamps']!['post']!.requestBody);
        for (const [path, item] of Object.entries(document.paths)) {
          for (const [method, operation] of Object.entries(item) as Array<[string, { responses?: Record<string, unknown>; summary?: string }]>) {
            assert.ok(operation.summary, `${method} ${path} has a summary`);
            assert.ok(Object.keys(operation.responses ?? {}).some((code) => /^2|^304$/.test(code)), `${method} ${path} documents its success`);
          }
        }
        assert.deepEqual(document.components.securitySchemes['bearer'], { type: 'http', scheme: 'bearer' });
        assert.ok(!('/openapi.json' in document.paths) && !Object.keys(document.paths).some((p) => p.startsWith('/docs')));

        const page = await call('GET', '/docs', { token: null });
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        assert.ok(assets.length >= 4, page.text);
        assert.ok(assets.every((a) => a.startsWith('/docs/')), `every asset is local: ${assets.join(', ')}`);
        for (const asset of [...assets, '/docs/json']) {
          const answer = await fetch(h.base + asset);
          const body = await answer.arrayBuffer();
          assert.equal(answer.status, 200, asset);
          assert.ok(body.byteLength > 0, asset);
        }
        const csp = page.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/);
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'the page works over plain http');
        const initializer = await (await fetch(`${h.base}/docs/static/swagger-initializer.js`)).text();
        assert.match(initializer, /validatorUrl":null|validatorUrl: null/, 'no call to the online validator');
      });
    });
  }
});

test('an unexpected error is a 500 problem with a request id and no details', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-control-api-500-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  const catalog = new Catalog(store.db);
  catalog.listStamps = async () => {
    throw new Error('connection to secret-host:5432 lost');
  };
  const app = await createAdminApi({ catalog, tokens });
  t.after(async () => {
    await app.close();
    await store.db.destroy();
  });
  const answer = await app.inject({ method: 'GET', url: '/api/v1/stamps', headers: { authorization: `Bearer ${adminToken}`, 'x-request-id': 'trace-42' } });
  assert.equal(answer.statusCode, 500);
  assert.match(answer.headers['content-type'] as string, /^application\/problem\+json/);
  const body = answer.json<Record<string, unknown>>();
  assert.deepEqual([body['type'], body['requestId']], ['https://stampgate.dev/problems/internal-error', 'trace-42']);
  assert.doesNotMatch(answer.body, /secret-host|stack|at .*\.ts/);
  assert.equal(answer.headers['x-request-id'], 'trace-42');
});
