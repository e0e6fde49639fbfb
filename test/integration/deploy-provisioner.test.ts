// The provisioner with the real process driver, on both stores: a stamp gets a port of its own
// (checked free, recorded), a data directory and a SQLite file of its own, and a supervisor that
// restarts it; one operation per stamp; a template whose command exits rolls back and leaves only
// the failed stamp and why; a teardown leaves nothing; the admin API's auto-provision hook.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ProcessStampDriver } from '../../src/control/deploy/drivers/process/process-stamp-driver.ts';
import { Provisioner, autoStampLabel } from '../../src/control/deploy/provisioner.ts';
import type { ProcessStampTemplate } from '../../src/control/deploy/stamp-template.ts';
import { TenantDeployments } from '../../src/control/deploy/tenant-deploy.ts';
import { Catalog, CatalogError } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { exitingTemplate, tinyTemplate } from '../fixtures/deploy/templates.ts';
import { defer, freshStoreUrl, isAlive, portAnswers, stampPid, tempDir, waitFor, type StoreKind } from '../fixtures/deploy/support.ts';

interface Harness {
  catalog: Catalog;
  driver: ProcessStampDriver;
  provisioner: Provisioner;
  dataDir: string;
  gateDir: string;
}

async function start(t: TestContext, kind: StoreKind, ports: { from: number; to: number }, template?: (gateDir: string) => ProcessStampTemplate): Promise<Harness | undefined> {
  const dataDir = tempDir(t, 'deploy-provisioner');
  const url = await freshStoreUrl(t, kind, dataDir);
  if (!url) return undefined;
  const store = await openStore(url);
  const catalog = new Catalog(store.db);
  const gateDir = join(dataDir, 'gates');
  mkdirSync(gateDir);
  const driver = new ProcessStampDriver({ template: template ? template(gateDir) : tinyTemplate({ gateDir }), dataDir, ports, backoff: { initialMs: 50, maxMs: 200, resetAfterMs: 5000 } });
  const provisioner = new Provisioner({ catalog, drivers: [driver], readyTimeoutMs: 10_000 });
  defer(t, async () => {
    await provisioner.close();
    await store.db.destroy();
  });
  return { catalog, driver, provisioner, dataDir, gateDir };
}

const open = (h: Harness, stampId: string) => {
  writeFileSync(join(h.gateDir, stampId), '');
};

// The suites below share nothing (own stores, directories and port ranges): they run side by side;
// the tests within each run one after another.
describe('provisioner', { concurrency: true }, () => {
  for (const [kind, ports] of [['sqlite', { from: 21000, to: 21499 }], ['postgres', { from: 21500, to: 21999 }]] as const) {
    describe(`provisioner with the process driver (${kind} store)`, { concurrency: false }, () => {
      test('each stamp: its own free port from the range, recorded; its own data directory and database; supervised', async (t) => {
        const h = await start(t, kind, ports);
        if (!h) return;
        const { catalog, provisioner } = h;
        await catalog.createStamp({ id: 's1' }, 'admin');
        await catalog.createStamp({ id: 's2' }, 'admin');
        const first = await provisioner.provision('s1', { actor: 'admin' });
        const second = await provisioner.provision('s2', { actor: 'admin' });
        // One operation per stamp: s1 waits at its gate, and a second operation is refused with the running one's id.
        await assert.rejects(provisioner.provision('s1', { actor: 'admin' }), (e: unknown) => e instanceof CatalogError && e.code === 'operation-in-progress' && e.details['operationId'] === first.id);
        await assert.rejects(provisioner.teardown('s1', { actor: 'admin' }), (e: unknown) => e instanceof CatalogError && e.code === 'operation-in-progress');
        await waitFor('s1 to wait for its gate', async () => (await catalog.getOperation(first.id))!.steps.some((s) => (s as { name: string; status: string }).name === 'wait-ready' && (s as { status: string }).status === 'running'));
        open(h, 's1');
        open(h, 's2');
        assert.equal((await provisioner.settled(first.id)).state, 'succeeded');
        assert.equal((await provisioner.settled(second.id)).state, 'succeeded');

        const [s1, s2] = [(await catalog.getStamp('s1'))!, (await catalog.getStamp('s2'))!];
        for (const stamp of [s1, s2]) {
          assert.equal(stamp.state, 'active');
          assert.ok(stamp.port !== null && stamp.port >= ports.from && stamp.port <= ports.to, `port ${stamp.port} is from the range`);
          assert.equal(stamp.url, `http://127.0.0.1:${stamp.port}`);
          assert.equal(stamp.dataDir, join(h.dataDir, 'stamps', stamp.id));
          assert.ok(existsSync(join(stamp.dataDir!, 'tiny.db')), 'its own SQLite database file');
          const answer = (await (await fetch(stamp.url)).json()) as { stamp: string };
          assert.equal(answer.stamp, stamp.id);
        }
        assert.notEqual(s1.port, s2.port);
        const steps = (await catalog.getOperation(first.id))!.steps as Array<{ name: string; status: string; attempts: number }>;
        assert.deepEqual(steps.map((s) => `${s.name}:${s.status}`), ['allocate:done', 'prepare:done', 'start:done', 'wait-ready:done', 'activate:done']);

        // Supervised: the stamp's process is killed, recorded failed, started again and recorded active.
        const pid = stampPid(s1.dataDir!);
        process.kill(pid, 'SIGKILL');
        await waitFor('s1 to be started again', async () => existsSync(join(s1.dataDir!, 'pid')) && stampPid(s1.dataDir!) !== pid && (await portAnswers(s1.port!)) && (await catalog.getStamp('s1'))!.state === 'active');
        const states = (await catalog.listAudit({ targetKind: 'stamp', targetId: 's1', action: 'stamp.state' })).items.map((e) => (e.after as { state: string }).state);
        assert.ok(states.includes('failed'), `the crash was recorded (${states.join(', ')})`);

        // Teardown: the process and the files go, then the stamp's row; its port is free again.
        const down = await provisioner.teardown('s2', { actor: 'admin' });
        const s2pid = stampPid(s2.dataDir!);
        assert.equal((await provisioner.settled(down.id)).state, 'succeeded');
        assert.equal(await catalog.getStamp('s2'), undefined);
        assert.ok(!existsSync(s2.dataDir!), 'its data directory is removed');
        assert.ok(!isAlive(s2pid), 'its process is gone');
        assert.equal(await portAnswers(s2.port!), false);
      });
    });
  }

  // The rest runs on SQLite only: the store's part in them is the same calls as above.
  describe('provisioner with the process driver: failures and the auto-provision hook', { concurrency: false }, () => {
    const kind = 'sqlite';
    const ports = { from: 22500, to: 22999 };
    test('a template whose command exits rolls back: the failed stamp with why, and nothing else', async (t) => {
      const h = await start(t, kind, ports, () => exitingTemplate());
      if (!h) return;
      const { catalog, provisioner } = h;
      // A tenant deploy, for a tenant that lives on a shared stamp: it must stay there.
      await catalog.createStamp({ id: 'shared', driver: 'external', url: 'http://127.0.0.1:1' }, 'admin');
      await catalog.createTenant('globex', { policy: 'explicit', stampId: 'shared' }, 'admin');
      const deployments = new TenantDeployments({ catalog, provisioner });
      const answer = await deployments.deploy('globex', { actor: 'admin' });
      assert.equal(answer.accepted, true);
      assert.equal(answer.status.state, 'deploying');
      const operation = await provisioner.settled(answer.status.operation!.id);
      assert.equal(operation.state, 'failed');
      assert.match(operation.error!, /^step wait-ready failed: stamp "t-globex" exited with code 3; restarting in \d+ ms before it was ready; its last output:\n.*disk on fire[\s\S]*; rolled back$/);
      const steps = operation.steps as Array<{ name: string; status: string }>;
      assert.deepEqual(steps.map((s) => `${s.name}:${s.status}`), ['record-tenant:done', 'allocate:done', 'prepare:compensated', 'start:compensated', 'wait-ready:failed', 'activate:pending']);

      const status = await deployments.status('globex');
      assert.equal(status.state, 'error');
      assert.match(status.reason, /provisioning failed: step wait-ready failed: .*exited with code 3/);
      assert.equal(status.placedOn, 'shared', 'the tenant stays where it was');
      const stamp = (await catalog.getStamp('t-globex'))!;
      assert.equal(stamp.state, 'failed');
      assert.deepEqual([stamp.port, stamp.url, stamp.dataDir], [null, '', null], 'its port and data directory are released');
      assert.ok(!existsSync(join(h.dataDir, 'stamps', 't-globex')), 'its files are removed');
      assert.equal(h.driver.process('t-globex'), undefined, 'no process is left');
      assert.equal((await catalog.getStamp('shared'))!.tenantCount, 1);

      // Undeploying the failed deploy removes the stamp's row too.
      const down = await deployments.undeploy('globex', { actor: 'admin' });
      assert.equal((await provisioner.settled(down.status.operation!.id)).state, 'succeeded');
      assert.equal((await deployments.status('globex')).state, 'undeployed');
      assert.equal((await catalog.getTenant('globex'))!.stampId, 'shared');
    });

    test('a stamp provisioned again that fails keeps the data it had', async (t) => {
      const h = await start(t, kind, ports);
      if (!h) return;
      const { catalog, provisioner } = h;
      await catalog.createStamp({ id: 's1' }, 'admin');
      open(h, 's1');
      assert.equal((await provisioner.settled((await provisioner.provision('s1', { actor: 'admin' })).id)).state, 'succeeded');
      const { dataDir } = (await catalog.getStamp('s1'))!;
      // It is stopped by hand; provisioned again, this time it exits before it is ready.
      await h.driver.stop({ id: 's1', port: null, url: '', dataDir: dataDir! });
      await catalog.setStampState('s1', 'stopped', 'stopped by hand');
      writeFileSync(join(h.gateDir, 's1.fail'), '');
      const again = await provisioner.settled((await provisioner.provision('s1', { actor: 'admin' })).id);
      assert.equal(again.state, 'failed');
      assert.match(again.error!, /step wait-ready failed: stamp "s1" exited with code 4; .*told to fail/s);
      assert.ok(existsSync(join(dataDir!, 'tiny.db')), 'its database is still there');
      assert.equal(h.driver.process('s1'), undefined, 'its process is stopped');
      assert.equal((await catalog.getStamp('s1'))!.state, 'failed');
    });

    test('the admin API hook provisions one stamp for tenants that fit nowhere, with the labels they asked for', async (t) => {
      const h = await start(t, kind, ports);
      if (!h) return;
      const { catalog, provisioner } = h;
      const need = { tenant: 'initech', policy: 'label', labels: { region: 'eu' }, actor: 'admin' };
      const made = (await provisioner.provisionStamp(need))!;
      const again = (await provisioner.provisionStamp({ ...need, tenant: 'hooli' }))!;
      assert.deepEqual(again, made, 'a burst of tenants starts one stamp');
      assert.equal(made.stampId, 's1');
      open(h, 's1');
      assert.equal((await provisioner.settled(made.operationId!)).state, 'succeeded');
      const stamp = (await catalog.getStamp('s1'))!;
      assert.deepEqual(stamp.labels, { region: 'eu', [autoStampLabel]: 'true' });
      assert.equal((await catalog.createTenant('initech', { policy: 'label', labels: { region: 'eu' } }, 'admin')).stampId, 's1');
    });
  });
});
