// The file provider against real files: watch, reload on change, keep the last good config on a bad
// one, reload on demand (SIGHUP), and refuse to start on a broken config.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.ts';
import { FileProvider } from '../../src/config/file-provider.ts';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';

const root = await mkdtemp(join(tmpdir(), 'stampgate-file-provider-'));
after(() => rm(root, { recursive: true, force: true }));

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${++counter}`);
  await mkdir(dir);
  return dir;
}

function dynamicYaml(prefix: string, url = 'http://127.0.0.1:3001'): string {
  return ['http:', '  routers:', '    web:', `      rule: PathPrefix(\`${prefix}\`)`, '      service: api', '  services:', '    api:', '      loadBalancer:', `        servers: [{ url: "${url}" }]`, ''].join('\n');
}

function ruleOf(config: DynamicConfig | undefined): string | undefined {
  return config?.http?.routers?.['web']?.rule;
}

/** Polls until the condition holds; fails after the deadline. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Recorder {
  readonly configs: Array<{ config: DynamicConfig; version: number }>;
  readonly errors: ConfigError[];
}

function record(provider: FileProvider): Recorder {
  const recorder: Recorder = { configs: [], errors: [] };
  provider.on('config', (config, version) => recorder.configs.push({ config, version }));
  provider.on('error', (error) => recorder.errors.push(error));
  return recorder;
}

test('a watched file: a change is a new version, a broken file is an error event and the last good config stays', async (t) => {
  const dir = await freshDir();
  const file = join(dir, 'dynamic.yml');
  await writeFile(file, dynamicYaml('/v1'));
  const provider = new FileProvider({ filename: file, entryPoints: ['web'] });
  t.after(() => provider.close());
  const seen = record(provider);

  const first = await provider.start();
  assert.equal(ruleOf(first), 'PathPrefix(`/v1`)');
  assert.deepEqual(seen.configs.map((c) => c.version), [1]);
  assert.equal(provider.status().watching, true);

  await writeFile(file, dynamicYaml('/v2'));
  await waitFor('version 2', () => seen.configs.length === 2);
  assert.equal(seen.configs[1]?.version, 2);
  assert.equal(ruleOf(seen.configs[1]?.config), 'PathPrefix(`/v2`)');

  await writeFile(file, dynamicYaml('/v3').replace('service: api', 'service: apii'));
  await waitFor('an error event', () => seen.errors.length === 1);
  const error = seen.errors[0];
  assert.ok(error instanceof ConfigError);
  assert.equal(error.issues[0]?.message, 'http.routers.web.service: unknown service "apii" (did you mean "api"?)');
  assert.equal(error.issues[0]?.line, 5);
  assert.equal(provider.current()?.version, 2);
  assert.equal(ruleOf(provider.current()?.config), 'PathPrefix(`/v2`)');
  const status = provider.status();
  assert.equal(status.version, 2);
  assert.equal(status.lastLoadOk, false);
  assert.equal(status.lastError, error);
  assert.ok(status.lastErrorAt !== undefined && status.lastSuccessAt !== undefined && status.lastErrorAt >= status.lastSuccessAt);

  // Editors save by writing a temporary file and renaming it over the original.
  await writeFile(join(dir, '.dynamic.yml.tmp'), dynamicYaml('/v4'));
  await rename(join(dir, '.dynamic.yml.tmp'), file);
  await waitFor('version 3 after an atomic save', () => seen.configs.length === 3);
  assert.equal(seen.configs[2]?.version, 3);
  assert.equal(ruleOf(seen.configs[2]?.config), 'PathPrefix(`/v4`)');
  assert.equal(provider.status().lastLoadOk, true);

  await provider.close();
  await writeFile(file, dynamicYaml('/after-close'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(seen.configs.length, 3);
  assert.equal(provider.status().watching, false);
});

test('reload() on demand (SIGHUP): a new version, no version for an unchanged file, an error keeps the version', async (t) => {
  const dir = await freshDir();
  const file = join(dir, 'dynamic.toml');
  const toml = (prefix: string): string => `[http.routers.web]\nrule = "PathPrefix(\`${prefix}\`)"\nservice = "api"\n[http.services.api.loadBalancer]\nservers = [{ url = "http://127.0.0.1:3001" }]\n`;
  await writeFile(file, toml('/a'));
  const provider = new FileProvider({ filename: file, watch: false });
  t.after(() => provider.close());
  const seen = record(provider);
  await provider.start();
  assert.equal(provider.status().watching, false);

  await writeFile(file, toml('/b'));
  assert.deepEqual(await provider.reload(), { ok: true, version: 2, changed: true });
  assert.deepEqual(await provider.reload(), { ok: true, version: 2, changed: false });
  assert.deepEqual(seen.configs.map((c) => c.version), [1, 2]);

  await writeFile(file, '[http.routers.web\n');
  const failed = await provider.reload();
  assert.equal(failed.ok, false);
  assert.equal(failed.version, 2);
  assert.equal(seen.errors.length, 1);
  assert.match(seen.errors[0]?.message ?? '', /dynamic\.toml:1:\d+: invalid TOML/);

  // Calls made while a reload waits share it.
  await writeFile(file, toml('/c'));
  const [x, y, z] = await Promise.all([provider.reload(), provider.reload(), provider.reload()]);
  assert.equal(x.version, 3);
  assert.equal(z, y);
  assert.deepEqual(seen.configs.map((c) => c.version), [1, 2, 3]);
});

test('a watched directory: a new file merges in, a duplicate name is an error naming both files', async (t) => {
  const dir = await freshDir();
  await writeFile(join(dir, 'routers.yml'), 'http:\n  routers:\n    web: { rule: "Path(`/`)", service: api, middlewares: [strip] }\n');
  await writeFile(join(dir, 'services.yml'), 'http:\n  services:\n    api: { loadBalancer: { servers: [{ url: "http://a" }] } }\n  middlewares:\n    strip: { stripPrefix: { prefixes: [/x] } }\n');
  const provider = new FileProvider({ directory: dir, debounceMs: 100 });
  t.after(() => provider.close());
  const seen = record(provider);
  await provider.start();

  await writeFile(join(dir, 'extra.yml'), 'http:\n  middlewares:\n    more: { addPrefix: { prefix: /y } }\n');
  await waitFor('version 2', () => seen.configs.length === 2);
  assert.deepEqual(Object.keys(seen.configs[1]?.config.http?.middlewares ?? {}).sort(), ['more', 'strip']);

  await writeFile(join(dir, 'zz-dup.yml'), 'http:\n  middlewares:\n    strip: { addPrefix: { prefix: /z } }\n');
  await waitFor('an error event', () => seen.errors.length === 1);
  assert.equal(seen.errors[0]?.issues[0]?.message, `http.middlewares.strip: middleware "strip" is defined in both ${join(dir, 'services.yml')} and ${join(dir, 'zz-dup.yml')}`);
  assert.equal(provider.current()?.version, 2);

  // Back to the config in service: a good load, but no new version.
  await rm(join(dir, 'zz-dup.yml'));
  await mkdir(join(dir, 'sub'));
  await waitFor('a good load once the duplicate is gone', () => provider.status().lastLoadOk === true);
  assert.equal(provider.current()?.version, 2);
  // A file in a new subdirectory is seen too.
  await writeFile(join(dir, 'sub', 'late.yml'), 'http:\n  middlewares:\n    late: { addPrefix: { prefix: /l } }\n');
  await waitFor('version 3 from the subdirectory', () => seen.configs.length === 3);
  assert.ok('late' in (seen.configs[2]?.config.http?.middlewares ?? {}));
});

test('start() rejects with the ConfigError of a broken first load, and emits nothing', async () => {
  const dir = await freshDir();
  const file = join(dir, 'dynamic.yml');
  await writeFile(file, 'http:\n  middlewares:\n    strip: {}\n');
  const provider = new FileProvider({ filename: file });
  const seen = record(provider);
  await assert.rejects(provider.start(), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `${file}:3:5: http.middlewares.strip: expected exactly one middleware kind, found none`);
    return true;
  });
  assert.deepEqual(seen, { configs: [], errors: [] });
  assert.equal(provider.status().watching, false);
  assert.equal(provider.status().version, 0);
  await provider.close();

  const missing = new FileProvider({ filename: join(dir, 'missing.yml') });
  await assert.rejects(missing.start(), { message: `${join(dir, 'missing.yml')}: cannot read the file: no such file` });
  await missing.close();
});
