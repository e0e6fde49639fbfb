import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.ts';
import { STATIC_DEFAULTS, applyStaticDefaults, loadStaticConfig } from '../../src/config/load-static.ts';

const dir = await mkdtemp(join(tmpdir(), 'stampgate-config-static-'));
after(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test("defaults are Traefik's, and relative paths are resolved against the static file's directory", async () => {
  const path = await write(
    'static.yml',
    [
      'entryPoints:',
      '  web:',
      '    address: ":80"',
      '    http:',
      '      redirections:',
      '        entryPoint: { to: websecure }',
      '  websecure:',
      '    address: ":443"',
      '    transport:',
      '      respondingTimeouts: { readTimeout: 5 }',
      'providers:',
      '  file:',
      '    directory: conf.d',
      '  stampgate:',
      '    endpoint: http://127.0.0.1:8080',
      '    cacheFile: cache/config.json',
      'api: {}',
    ].join('\n'),
  );
  const config = await loadStaticConfig(path);
  assert.equal(config.providers?.file?.watch, true);
  assert.equal(config.providers?.file?.directory, join(dir, 'conf.d'));
  assert.equal(config.providers?.stampgate?.cacheFile, join(dir, 'cache/config.json'));
  assert.equal(config.providers?.providersThrottleDuration, '2s');
  assert.deepEqual(config.entryPoints['web']?.http?.redirections?.entryPoint, { to: 'websecure', scheme: 'https', permanent: true, priority: 2147483646 });
  assert.deepEqual(config.entryPoints['websecure']?.transport?.respondingTimeouts, { readTimeout: 5, writeTimeout: '0s', idleTimeout: '180s' });
  assert.deepEqual(config.entryPoints['websecure']?.transport?.lifeCycle, { requestAcceptGraceTimeout: '0s', graceTimeOut: '10s' });
  assert.equal(config.entryPoints['web']?.forwardedHeaders?.insecure, false);
  assert.equal(config.api?.dashboard, true);
  assert.equal(config.log?.level, 'ERROR');
  assert.equal(config.workers, 1);
});

test('values given are kept over defaults, and absent sections are not invented', () => {
  const config = applyStaticDefaults({ entryPoints: { web: { address: ':80' } }, providers: { file: { filename: 'd.yml', watch: false } }, log: { level: 'DEBUG' }, workers: 4 });
  assert.equal(config.providers?.file?.watch, false);
  assert.equal(config.log?.level, 'DEBUG');
  assert.equal(config.workers, 4);
  assert.equal(config.api, undefined);
  assert.equal(config.ping, undefined);
  assert.equal(applyStaticDefaults({ entryPoints: { web: { address: ':80' } } }).providers, undefined);
  assert.equal(STATIC_DEFAULTS.fileWatch, true);
});

test('schema and cross-check errors come together with the file, line and column', async () => {
  const path = await write('bad.yml', 'entryPoints:\n  web:\n    adress: ":80"\n  other:\n    address: 80\n');
  await assert.rejects(loadStaticConfig(path), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.format(), [
      `${path}: 2 errors`,
      `  ${path}:3:5: entryPoints.web.adress: unknown key "adress" (did you mean "address"?)`,
      `  ${path}:5:5: entryPoints.other.address: expected a string, found 80`,
    ].join('\n'));
    return true;
  });
  const both = await write('both.toml', '[entryPoints.web]\naddress = ":80"\n[providers.file]\nfilename = "a.yml"\ndirectory = "conf"\n');
  await assert.rejects(loadStaticConfig(both), { message: `${both}: providers.file: filename and directory are mutually exclusive; set one of them` });
});
