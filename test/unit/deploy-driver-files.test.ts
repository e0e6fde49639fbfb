// The files the docker and kubernetes drivers generate for one stamp, compared with expected files
// (test/fixtures/deploy/). There is neither a Docker engine nor a cluster on the test machines:
// running them is covered by the clear errors of test/integration/deploy-drivers.test.ts.
//
// docker: a compose project `stamp-<id>` with its own network `stamp-<id>`, the app on its own
// host port (loopback only), PostgreSQL and Redis of its own; the password in .env (mode 0600),
// kept when the stamp is provisioned again.
//
// kubernetes: a namespace `stamp-<id>` with the app's Deployment and Service, a Secret, and a
// PostgreSQL StatefulSet with its headless Service or an external database URL; validated with
// kubernetes-models before anything is sent, so bad input is refused here and not by a cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { composeFiles, passwordFromEnv } from '../../src/control/deploy/drivers/docker/compose-files.ts';
import { DockerDriver } from '../../src/control/deploy/drivers/docker/docker-driver.ts';
import { ManifestError, manifestsYaml, stampManifests, type StampManifestsInput } from '../../src/control/deploy/drivers/kubernetes/manifests.ts';
import { libraryContainerTemplate } from '../../src/control/deploy/stamp-template.ts';

const dockerFixtures = new URL('../fixtures/deploy/docker/', import.meta.url);
const kubernetesFixtures = new URL('../fixtures/deploy/kubernetes/', import.meta.url);
const template = libraryContainerTemplate({ image: 'stampgate/library:0.1.0' });

test('kubernetes: a stamp with its own PostgreSQL StatefulSet: the expected objects, in apply order', () => {
  const objects = stampManifests({ stampId: 't-acme', template, database: { kind: 'statefulset', password: 'test-password-1' } });
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata?.name}`),
    ['Namespace/stamp-t-acme', 'Secret/stamp-secrets', 'Service/postgres', 'StatefulSet/postgres', 'Deployment/app', 'Service/app'],
  );
  assert.equal(manifestsYaml(objects), readFileSync(new URL('statefulset.yaml', kubernetesFixtures), 'utf8'));
});

test('kubernetes: a stamp on an external database: no StatefulSet, the URL in the Secret only', () => {
  const yaml = manifestsYaml(stampManifests({ stampId: 's7', template, replicas: 2, database: { kind: 'external', url: 'postgres://stamps:secret@db.example.com:5432/postgres' } }));
  assert.equal(yaml, readFileSync(new URL('external-database.yaml', kubernetesFixtures), 'utf8'));
  const documents = parseAllDocuments(yaml).map((d) => d.toJSON() as { kind: string; metadata: { namespace?: string } });
  assert.deepEqual(documents.map((d) => d.kind), ['Namespace', 'Secret', 'Deployment', 'Service']);
  for (const d of documents.slice(1)) assert.equal(d.metadata.namespace, 'stamp-s7', 'every object lives in the stamp namespace');
  const deployment = yaml.split('---\n').find((d) => d.includes('kind: Deployment'))!;
  assert.ok(!deployment.includes('secret@'), 'the database password never appears in the Deployment');
});

test('kubernetes: validation refuses bad input before anything reaches a cluster', () => {
  const base: StampManifestsInput = { stampId: 's1', template, database: { kind: 'external', url: 'postgres://db/postgres' } };
  const refused: Array<[string, StampManifestsInput, RegExp]> = [
    ['a fractional replica count', { ...base, replicas: 1.5 }, /Deployment app is not valid: .*replicas must be integer/],
    ['a negative replica count', { ...base, replicas: -1 }, /replicas: must be a whole number >= 0/],
    ['a port that is not an integer', { ...base, template: { ...template, containerPort: 80.5 } }, /containerPort must be integer/],
    ['a storage size that is not a quantity', { ...base, database: { kind: 'statefulset', password: 'p', storage: 'lots' } }, /StatefulSet postgres is not valid: .*storage/],
    ['no image', { ...base, template: { ...template, image: ' ' } }, /template\.image: must name a container image/],
    ['a stamp id that makes no namespace name', { ...base, stampId: 'x'.repeat(60) }, /does not make a valid namespace name/],
    ['an uppercase stamp id', { ...base, stampId: 'Acme' }, /does not make a valid namespace name/],
  ];
  for (const [what, input, message] of refused) assert.throws(() => stampManifests(input), (e: unknown) => e instanceof ManifestError && message.test(e.message), what);
});

test('docker: the compose file and .env of a stamp are the expected ones', () => {
  const files = composeFiles({ stampId: 't-acme', hostPort: 9001, template, postgresPassword: 'test-password-1' });
  assert.equal(files.compose, readFileSync(new URL('docker-compose.yml', dockerFixtures), 'utf8'));
  assert.equal(files.env, readFileSync(new URL('.env', dockerFixtures), 'utf8'));
});

test('docker: each stamp is its own project on its own network, published on its own port', () => {
  const a = parse(composeFiles({ stampId: 's1', hostPort: 9001, template, postgresPassword: 'p' }).compose) as ComposeDoc;
  const b = parse(composeFiles({ stampId: 's2', hostPort: 9002, template, postgresPassword: 'p' }).compose) as ComposeDoc;
  assert.equal(a.name, 'stamp-s1');
  assert.equal(a.networks.stamp.name, 'stamp-s1');
  assert.equal(b.networks.stamp.name, 'stamp-s2');
  assert.deepEqual(Object.keys(a.services).sort(), ['app', 'postgres', 'redis']);
  for (const service of Object.values(a.services)) assert.deepEqual(service.networks, ['stamp'], 'every service is on the stamp network only');
  assert.deepEqual(a.services.app!.ports, ['127.0.0.1:9001:3000']);
  assert.deepEqual(b.services.app!.ports, ['127.0.0.1:9002:3000']);
  assert.equal(a.services.postgres!.ports, undefined, 'the database is not published on the host');
});

test('docker: a value compose could misread is quoted, and one it cannot hold is refused', () => {
  const spaced = { ...template, env: () => ({ GREETING: 'hello world' }) };
  assert.match(composeFiles({ stampId: 's1', hostPort: 9001, template: spaced, postgresPassword: 'p' }).env, /^GREETING='hello world'$/m);
  const quoted = { ...template, env: () => ({ BAD: "it's" }) };
  assert.throws(() => composeFiles({ stampId: 's1', hostPort: 9001, template: quoted, postgresPassword: 'p' }), /cannot hold a quote/);
});

test('docker: prepare writes the files under <dataDir>/stamps/<id>/, .env readable by its owner only, and keeps the password', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stampgate-deploy-docker-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let made = 0;
  const driver = new DockerDriver({ template, dataDir, newPassword: () => `generated-${++made}` });
  const placement = await driver.place('t-acme', new Set());
  assert.equal(placement.dataDir, join(dataDir, 'stamps', 't-acme'));
  assert.ok(placement.port !== null && placement.port >= 9000 && placement.port <= 9999);
  const stamp = { id: 't-acme', ...placement };
  await driver.prepare(stamp);
  const envPath = join(placement.dataDir, '.env');
  assert.equal(statSync(envPath).mode & 0o777, 0o600);
  assert.equal(passwordFromEnv(readFileSync(envPath, 'utf8')), 'generated-1');
  assert.match(readFileSync(join(placement.dataDir, 'docker-compose.yml'), 'utf8'), new RegExp(`127\\.0\\.0\\.1:${placement.port}:3000`));
  await driver.prepare(stamp);
  assert.equal(made, 1, 'provisioning again keeps the database password it made');
  await driver.remove(stamp);
  assert.throws(() => statSync(placement.dataDir), /ENOENT/);
});

interface ComposeDoc {
  name: string;
  services: Record<string, { networks: string[]; ports?: string[] }>;
  networks: { stamp: { name: string } };
}
