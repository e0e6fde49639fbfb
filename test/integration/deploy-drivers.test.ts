// The docker and kubernetes drivers where nothing answers — the test machines have neither a Docker
// engine nor a cluster, and these tests point the drivers at a socket and a port where none is, so
// they behave the same anywhere: provisioning fails with a clear error naming what did not answer,
// and the saga removes the files it wrote. Nothing is mocked: the real docker command and the real
// Kubernetes client are run against nothing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { DockerDriver } from '../../src/control/deploy/drivers/docker/docker-driver.ts';
import { KubernetesDriver } from '../../src/control/deploy/drivers/kubernetes/kubernetes-driver.ts';
import type { StampDriver } from '../../src/control/deploy/driver.ts';
import { Provisioner } from '../../src/control/deploy/provisioner.ts';
import { libraryContainerTemplate } from '../../src/control/deploy/stamp-template.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { closedPort, defer, tempDir } from '../fixtures/deploy/support.ts';

const template = libraryContainerTemplate({ image: 'stampgate/library:0.1.0' });

async function provisionWith(t: TestContext, make: (dataDir: string) => StampDriver) {
  const dataDir = tempDir(t, 'deploy-drivers');
  const store = await openStore(`sqlite:${join(dataDir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  const driver = make(dataDir);
  const provisioner = new Provisioner({ catalog, drivers: [driver] });
  defer(t, async () => {
    await provisioner.close();
    await store.db.destroy();
  });
  await catalog.createStamp({ id: 's1', driver: driver.kind }, 'admin');
  const operation = await provisioner.settled((await provisioner.provision('s1', { actor: 'admin' })).id);
  return { operation, stamp: (await catalog.getStamp('s1'))!, dataDir };
}

test('docker: no engine answers → a clear error, the compose files written for it are removed', async (t) => {
  const { operation, stamp, dataDir } = await provisionWith(t, (dir) => new DockerDriver({ template, dataDir: dir, ports: { from: 22000, to: 22099 }, env: { ...process.env, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DOCKER_CONTEXT: '' } }));
  assert.equal(operation.state, 'failed');
  assert.match(operation.error!, /^step start failed: no Docker engine answers: .+; rolled back$/);
  assert.equal(stamp.state, 'failed');
  assert.match(stamp.stateReason, /no Docker engine answers/);
  assert.deepEqual([stamp.port, stamp.dataDir], [null, null]);
  assert.ok(!existsSync(join(dataDir, 'stamps', 's1')), 'docker-compose.yml and .env are removed');
  const steps = operation.steps as Array<{ name: string; status: string }>;
  assert.deepEqual(steps.map((s) => `${s.name}:${s.status}`), ['allocate:done', 'prepare:compensated', 'start:compensated', 'wait-ready:pending', 'activate:pending']);
});

test('kubernetes: no cluster answers → a clear error naming the server, the manifests written for it are removed', async (t) => {
  const port = await closedPort();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'nowhere', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'not-a-real-token' }],
    contexts: [{ name: 'nowhere', cluster: 'nowhere', user: 'test' }],
    currentContext: 'nowhere',
  });
  const { operation, stamp, dataDir } = await provisionWith(t, (dir) => new KubernetesDriver({ template, dataDir: dir, kubeConfig }));
  assert.equal(operation.state, 'failed');
  assert.match(operation.error!, new RegExp(`^step start failed: no Kubernetes cluster answers at https://127\\.0\\.0\\.1:${port}: .*(ECONNREFUSED|fetch failed).*; rolled back$`));
  assert.equal(stamp.state, 'failed');
  assert.ok(!existsSync(join(dataDir, 'stamps', 's1')), 'manifests.yaml is removed');
});
