import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.ts';
import { listConfigFiles, loadDynamicConfig } from '../../src/config/load-dynamic.ts';
import { mergeDynamicConfigs } from '../../src/config/merge-dynamic.ts';

const root = await mkdtemp(join(tmpdir(), 'stampgate-config-dynamic-'));
after(() => rm(root, { recursive: true, force: true }));

let counter = 0;
async function directoryWith(files: Record<string, string>): Promise<string> {
  const dir = join(root, `case-${++counter}`);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function loadError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('a directory: every YAML, TOML and JSON file, subdirectories included, merged', async () => {
  const dir = await directoryWith({
    'routers.yml': 'http:\n  routers:\n    web:\n      rule: Path(`/`)\n      service: api\n      middlewares: [strip]\n',
    'services.toml': '[http.services.api.loadBalancer]\nservers = [{ url = "http://127.0.0.1:3001" }]\n',
    'more/middlewares.json': '{"http":{"middlewares":{"strip":{"stripPrefix":{"prefixes":["/api"]}}}}}',
    'tls.yaml': 'tls:\n  certificates:\n    - certFile: certs/a.pem\n      keyFile: /abs/a.key\n',
    'notes.txt': 'not a config',
    '.hidden.yml': 'this: [is not read',
    'editor.yml~': 'nor: [this',
  });
  const loaded = await loadDynamicConfig({ directory: dir }, { entryPoints: ['web'] });
  assert.deepEqual(loaded.files, [join(dir, 'more/middlewares.json'), join(dir, 'routers.yml'), join(dir, 'services.toml'), join(dir, 'tls.yaml')]);
  assert.deepEqual(loaded.directories, [dir, join(dir, 'more')]);
  assert.deepEqual(Object.keys(loaded.config.http?.routers ?? {}), ['web']);
  assert.deepEqual(Object.keys(loaded.config.http?.services ?? {}), ['api']);
  assert.deepEqual(Object.keys(loaded.config.http?.middlewares ?? {}), ['strip']);
  // Relative file references are relative to the file that holds them.
  assert.deepEqual(loaded.config.tls?.certificates, [{ certFile: join(dir, 'certs/a.pem'), keyFile: '/abs/a.key' }]);
});

test('a name defined in two files is an error naming both files', async () => {
  const dir = await directoryWith({
    'a.yml': 'http:\n  services:\n    api:\n      loadBalancer:\n        servers: [{ url: "http://a" }]\n',
    'b.yml': 'http:\n  routers:\n    web: { rule: "Path(`/`)", service: api }\n  services:\n    api:\n      loadBalancer:\n        servers: [{ url: "http://b" }]\n',
  });
  const error = await loadError(loadDynamicConfig({ directory: dir }));
  assert.equal(error.issues.length, 1);
  assert.equal(error.issues[0]?.message, `http.services.api: service "api" is defined in both ${join(dir, 'a.yml')} and ${join(dir, 'b.yml')}`);
  assert.equal(error.issues[0]?.file, join(dir, 'b.yml'));
  assert.equal(error.issues[0]?.line, 5);
});

test('errors of several files are reported together, each with its file and line', async () => {
  const dir = await directoryWith({
    'a.yml': 'http:\n  routers:\n    web:\n      rule: 42\n      service: api\n',
    'b.toml': '[http.middlewares.strip]\n[http.middlewares.strip.stripPrefixx]\nprefixes = ["/a"]\n',
    'c.json': '{ "http": ',
  });
  const error = await loadError(loadDynamicConfig({ directory: dir }));
  assert.deepEqual(
    error.issues.map((i) => [i.file, i.line, i.message]),
    [
      [join(dir, 'a.yml'), 4, 'http.routers.web.rule: expected a string, found 42'],
      [join(dir, 'b.toml'), undefined, 'http.middlewares.strip.stripPrefixx: unknown middleware "stripPrefixx" (did you mean "stripPrefix"?)'],
      [join(dir, 'c.json'), 1, 'invalid JSON: Unexpected end of JSON input'],
    ],
  );
  assert.match(error.format(), /^.*case-\d+: 3 errors\n {2}.*a\.yml:4:7: http\.routers\.web\.rule: expected a string, found 42\n/);
});

test('cross-check issues point at the file that defines the entry', async () => {
  const dir = await directoryWith({
    'services.yml': 'http:\n  services:\n    api:\n      loadBalancer:\n        servers: [{ url: "http://a" }]\n',
    'routers.yml': '# routers\nhttp:\n  routers:\n    web:\n      rule: Path(`/`)\n      service: apii\n',
  });
  const error = await loadError(loadDynamicConfig({ directory: dir }));
  assert.equal(error.issues.length, 1);
  assert.equal(error.issues[0]?.file, join(dir, 'routers.yml'));
  assert.equal(error.issues[0]?.line, 6);
  assert.equal(error.issues[0]?.message, 'http.routers.web.service: unknown service "apii" (did you mean "api"?)');
});

test('an empty directory is an empty config; a missing one is an error', async () => {
  const dir = await directoryWith({});
  assert.deepEqual((await loadDynamicConfig({ directory: dir })).config, {});
  const missing = await loadError(loadDynamicConfig({ directory: join(root, 'nope') }));
  assert.equal(missing.message, `${join(root, 'nope')}: cannot read the directory: no such directory`);
});

test('a symlinked config file is read; a hidden directory is not', async () => {
  const dir = await directoryWith({ '..data/real.yml': 'http:\n  middlewares:\n    m: { addPrefix: { prefix: /x } }\n' });
  await symlink(join(dir, '..data/real.yml'), join(dir, 'real.yml'));
  const listing = await listConfigFiles(dir);
  assert.deepEqual(listing.files, [join(dir, 'real.yml')]);
});

test('merging concatenates TLS certificates and keeps the first file as origin', () => {
  const merged = mergeDynamicConfigs([
    { file: 'a.yml', config: { tls: { certificates: [{ certFile: 'a', keyFile: 'a' }], options: { modern: {} } } } },
    { file: 'b.yml', config: { tls: { certificates: [{ certFile: 'b', keyFile: 'b' }] }, http: { routers: { r: { rule: 'Path(`/`)', service: 's' } } } } },
    { file: 'c.yml', config: { tls: { options: { modern: {} } } } },
  ]);
  assert.deepEqual(merged.config.tls?.certificates?.map((c) => c.certFile), ['a', 'b']);
  assert.deepEqual(merged.issues.map((i) => i.message), ['tls.options.modern: TLS options "modern" is defined in both a.yml and c.yml']);
  assert.equal(merged.origins.get(['http', 'routers', 'r'].join('\u0000')), 'b.yml');
});
