// The deploy endpoints over real HTTP, on both stores, with the real process driver: a tenant's
// deploy answers 202 with where to follow it, its progress streams as SSE, the seed's states show
// in its status, a second deploy answers already_deployed, a conflicting operation is a 409 with
// the running operation's id, and undeploying removes the stamp, its process and its files. Bad
// input, unknown operations and roles are refused with problem answers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { ProcessStampDriver } from '../../src/control/deploy/drivers/process/process-stamp-driver.ts';
import { followOperation, parseSse, type ProgressEvent } from '../../src/control/deploy/progress.ts';
import { Provisioner } from '../../src/control/deploy/provisioner.ts';
import { TenantDeployments } from '../../src/control/deploy/tenant-deploy.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { tinyTemplate } from '../fixtures/deploy/templates.ts';
import { defer, freshStoreUrl, isAlive, stampPid, tempDir, type StoreKind } from '../fixtures/deploy/support.ts';

const adminToken = `admin-${randomBytes(16).toString('hex')}`;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
}

async function startApi(t: TestContext, kind: StoreKind, ports: { from: number; to: number }) {
  const dataDir = tempDir(t, 'deploy-api');
  const url = await freshStoreUrl(t, kind, dataDir);
  if (!url) return undefined;
  const store = await openStore(url);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  const viewer = (await tokens.create('dashboard', 'viewer')).token;
  const gateDir = join(dataDir, 'gates');
  mkdirSync(gateDir);
  const driver = new ProcessStampDriver({ template: tinyTemplate({ gateDir }), dataDir, ports });
  const provisioner = new Provisioner({ catalog, drivers: [driver], readyTimeoutMs: 10_000 });
  const deployments = new TenantDeployments({ catalog, provisioner });
  const app = await createAdminApi({ catalog, tokens, deployments, provisionStamp: provisioner.provisionStamp });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  defer(t, async () => {
    await app.close();
    await provisioner.close();
    await store.db.destroy();
  });
  const call = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}): Promise<Answer> => {
    const token = options.token === undefined ? adminToken : options.token;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return { catalog, provisioner, dataDir, base, call, viewer, open: (stampId: string) => writeFileSync(join(gateDir, stampId), '') };
}

// The suites below share nothing (own stores, directories and port ranges): they run side by side;
// the tests within each run one after another.
describe('deploy endpoints', { concurrency: true }, () => {
  for (const [kind, ports] of [['sqlite', { from: 23000, to: 23499 }], ['postgres', { from: 23500, to: 23999 }]] as const) {
    describe(`deploy endpoints (${kind} store)`, { concurrency: false }, () => {
      test('deploy a tenant, follow it, see it run, deploy again, undeploy it', async (t) => {
        const h = await startApi(t, kind, ports);
        if (!h) return;
        assert.deepEqual((await h.call('GET', '/api/v1/tenants/acme/deploy/status')).body.state, 'not_deployed');

        const deployed = await h.call('POST', '/api/v1/tenants/acme/deploy');
        assert.equal(deployed.status, 202);
        assert.equal(deployed.headers.get('location'), '/api/v1/tenants/acme/deploy/status');
        assert.equal(deployed.body.state, 'deploying');
        assert.equal(deployed.body.stamp.id, 't-acme');
        assert.deepEqual([deployed.body.stamp.capacity, deployed.body.stamp.labels], [1, { tenant: 'acme' }]);
        const operationId = deployed.body.operation.id as string;
        assert.equal(deployed.body.eventsUrl, `/api/v1/operations/${operationId}/events`);

        // While it deploys (the stamp waits at its gate), a second deploy and an undeploy are conflicts naming the operation.
        for (const [method, path] of [['POST', '/api/v1/tenants/acme/deploy'], ['DELETE', '/api/v1/tenants/acme/deploy'], ['POST', '/api/v1/stamps/t-acme/teardown']] as const) {
          const conflict = await h.call(method, path);
          assert.equal(conflict.status, 409, `${method} ${path}`);
          assert.equal(conflict.body.type, 'https://stampgate.dev/problems/operation-in-progress');
          assert.equal(conflict.body.operationId, operationId);
        }
        assert.equal((await h.call('GET', '/api/v1/tenants/acme/deploy/status')).body.state, 'deploying');

        // Progress over SSE, with the CLI's own client; the gate opens once the stream is under way.
        const events: ProgressEvent[] = [];
        const finished = await followOperation({
          baseUrl: h.base,
          token: h.viewer,
          operationId,
          onEvent: (event) => {
            events.push(event);
            if (event.type === 'step' && event.step === 'wait-ready' && event.status === 'running') h.open('t-acme');
          },
        });
        assert.equal(finished.state, 'succeeded');
        const story = events.map((e) => (e.type === 'step' ? `${e.step}:${e.status}` : `finished:${e.state}`));
        assert.deepEqual(story, ['record-tenant:running', 'record-tenant:done', 'allocate:running', 'allocate:done', 'prepare:running', 'prepare:done', 'start:running', 'start:done', 'wait-ready:running', 'wait-ready:done', 'activate:running', 'activate:done', 'finished:succeeded']);

        const status = (await h.call('GET', '/api/v1/tenants/acme/deploy/status', { token: h.viewer })).body;
        assert.equal(status.state, 'running');
        assert.equal(status.placedOn, 't-acme');
        assert.equal(status.stamp.state, 'active');
        assert.equal(status.runtime.running, true);
        const stampUrl = status.stamp.url as string;
        const reached = (await (await fetch(stampUrl, { headers: { 'x-tenant-id': 'acme' } })).json()) as { stamp: string; tenant: string };
        assert.deepEqual([reached.stamp, reached.tenant], ['t-acme', 'acme']);
        const feed = (await h.call('GET', '/v1/config')).body;
        assert.deepEqual(feed.stamps.find((s: { id: string }) => s.id === 't-acme'), { id: 't-acme', servers: [{ url: stampUrl }] });
        assert.equal(feed.tenants.acme, 't-acme');

        const again = await h.call('POST', '/api/v1/tenants/acme/deploy');
        assert.equal(again.status, 200);
        assert.equal(again.body.state, 'already_deployed');

        // The whole story of a finished operation replays, and the stream ends.
        const replay = await fetch(`${h.base}${deployed.body.eventsUrl}`, { headers: { authorization: `Bearer ${adminToken}` } });
        assert.equal(replay.headers.get('content-type'), 'text/event-stream; charset=utf-8');
        const replayed: string[] = [];
        for await (const message of parseSse(replay.body!)) replayed.push(message.event);
        assert.equal(replayed.length, 13);
        assert.equal(replayed.at(-1), 'finished');

        const pid = stampPid(status.stamp.dataDir);
        const undeployed = await h.call('DELETE', '/api/v1/tenants/acme/deploy');
        assert.equal(undeployed.status, 202);
        assert.equal(undeployed.body.state, 'undeploying');
        assert.equal((await h.provisioner.settled(undeployed.body.operation.id)).state, 'succeeded');
        const after = (await h.call('GET', '/api/v1/tenants/acme/deploy/status')).body;
        assert.equal(after.state, 'undeployed');
        assert.equal(after.stamp, null);
        assert.equal(after.placedOn, null, 'a tenant the deploy created leaves the directory with its stamp');
        assert.ok(!isAlive(pid), 'its process is gone');
        assert.ok(!existsSync(status.stamp.dataDir), 'its files are gone');
        assert.equal((await h.call('GET', '/v1/config')).body.stamps.length, 0);
        const nothing = await h.call('DELETE', '/api/v1/tenants/acme/deploy');
        assert.deepEqual([nothing.status, nothing.body.state], [200, 'undeployed']);
      });
    });
  }

  // The rest runs on SQLite only: the store's part in them is the same calls as above.
  describe('deploy endpoints: shared stamps, stamps, bad input and roles', { concurrency: false }, () => {
    test('a tenant that lived on a shared stamp goes back there when undeployed', async (t) => {
      const h = await startApi(t, 'sqlite', { from: 24200, to: 24299 });
      if (!h) return;
      assert.equal((await h.call('POST', '/api/v1/stamps', { body: { id: 'shared', driver: 'external', url: 'http://127.0.0.1:9' } })).status, 201);
      assert.equal((await h.call('POST', '/api/v1/tenants', { body: { id: 'globex' } })).body.stampId, 'shared');
      h.open('t-globex');
      const deployed = await h.call('POST', '/api/v1/tenants/globex/deploy');
      assert.equal((await h.provisioner.settled(deployed.body.operation.id)).state, 'succeeded');
      assert.equal((await h.call('GET', '/api/v1/tenants/globex')).body.stampId, 't-globex');
      const undeployed = await h.call('DELETE', '/api/v1/tenants/globex/deploy');
      assert.equal((await h.provisioner.settled(undeployed.body.operation.id)).state, 'succeeded');
      assert.equal((await h.call('GET', '/api/v1/tenants/globex')).body.stampId, 'shared');
    });

    test('provision and tear down a stamp created through the API', async (t) => {
      const h = await startApi(t, 'sqlite', { from: 24000, to: 24099 });
      if (!h) return;
      assert.equal((await h.call('POST', '/api/v1/stamps', { body: { id: 's9', capacity: 5 } })).body.state, 'provisioning');
      h.open('s9');
      const started = await h.call('POST', '/api/v1/stamps/s9/provision');
      assert.equal(started.status, 202);
      assert.equal(started.headers.get('location'), `/api/v1/operations/${started.body.id}`);
      assert.equal((await h.provisioner.settled(started.body.id)).state, 'succeeded');
      assert.equal((await h.call('GET', '/api/v1/stamps/s9')).body.state, 'active');
      const active = await h.call('POST', '/api/v1/stamps/s9/provision');
      assert.deepEqual([active.status, active.body.type], [409, 'https://stampgate.dev/problems/invalid-state']);
      await h.call('POST', '/api/v1/tenants', { body: { id: 'hooli', stamp: 's9' } });
      const occupied = await h.call('POST', '/api/v1/stamps/s9/teardown');
      assert.deepEqual([occupied.status, occupied.body.type], [409, 'https://stampgate.dev/problems/stamp-has-tenants']);
      await h.call('DELETE', '/api/v1/tenants/hooli');
      const down = await h.call('POST', '/api/v1/stamps/s9/teardown');
      assert.equal(down.status, 202);
      assert.equal((await h.provisioner.settled(down.body.id)).state, 'succeeded');
      assert.equal((await h.call('GET', '/api/v1/stamps/s9')).status, 404);
      // A new tenant that fits nowhere starts a stamp for such tenants (the admin API's hook); it stays at its gate, and the close ends it.
      const none = await h.call('POST', '/api/v1/tenants', { body: { id: 'initech', labels: { region: 'eu' } } });
      assert.equal(none.status, 409);
      assert.equal(none.body.provisioning.stamp, 's1');
    });

    test('bad input, unknown operations, a stamp that is not the tenant own, and roles', async (t) => {
      const h = await startApi(t, 'sqlite', { from: 24100, to: 24199 });
      if (!h) return;
      const refused: Array<[string, string, unknown, number, string, string?]> = [
        ['POST', '/api/v1/tenants/Bad_Id/deploy', undefined, 400, 'invalid-request', 'id'],
        ['POST', '/api/v1/tenants/acme/deploy', { driver: 'ftp' }, 400, 'invalid-request', 'driver'],
        ['POST', '/api/v1/tenants/acme/deploy', { driver: 'docker' }, 400, 'invalid-request', 'driver'],
        ['POST', '/api/v1/tenants/acme/deploy', { colour: 'red' }, 400, 'invalid-request', 'colour'],
        ['GET', '/api/v1/operations/00000000-0000-0000-0000-000000000000/events', undefined, 404, 'unknown-operation'],
        ['GET', '/api/v1/operations/not-an-id!/events', undefined, 400, 'invalid-request'],
        ['POST', '/api/v1/stamps/nope/provision', undefined, 404, 'unknown-stamp'],
        ['POST', '/api/v1/stamps/nope/teardown', undefined, 404, 'unknown-stamp'],
      ];
      for (const [method, path, body, status, type, field] of refused) {
        const answer = await h.call(method, path, { body });
        assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.type, `https://stampgate.dev/problems/${type}`);
        if (field) assert.equal(answer.body.errors[0].field, field);
      }
      await h.call('POST', '/api/v1/stamps', { body: { id: 't-umbrella', driver: 'external', url: 'http://127.0.0.1:9' } });
      const taken = await h.call('POST', '/api/v1/tenants/umbrella/deploy');
      assert.deepEqual([taken.status, taken.body.type], [409, 'https://stampgate.dev/problems/stamp-exists']);
      assert.equal((await h.call('GET', '/api/v1/tenants/umbrella/deploy/status')).body.state, 'not_deployed');

      assert.equal((await h.call('POST', '/api/v1/tenants/acme/deploy', { token: null })).status, 401);
      assert.equal((await h.call('POST', '/api/v1/tenants/acme/deploy', { token: h.viewer })).status, 403);
      assert.equal((await h.call('DELETE', '/api/v1/tenants/acme/deploy', { token: h.viewer })).status, 403);
      assert.equal((await h.call('GET', '/api/v1/tenants/acme/deploy/status', { token: h.viewer })).status, 200);
      assert.equal(await h.catalog.getStamp('t-acme'), undefined, 'nothing was written by refused requests');
      const documented = (await h.call('GET', '/openapi.json', { token: null })).body.paths;
      for (const path of ['/api/v1/tenants/{id}/deploy', '/api/v1/tenants/{id}/deploy/status', '/api/v1/operations/{id}/events', '/api/v1/stamps/{id}/provision', '/api/v1/stamps/{id}/teardown']) assert.ok(documented[path], `${path} is in the OpenAPI document`);
    });
  });
});
