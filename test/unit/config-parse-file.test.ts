import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.ts';
import { configFormatOf, parseConfigText, readConfigFile } from '../../src/config/parse-file.ts';

const dir = await mkdtemp(join(tmpdir(), 'stampgate-config-parse-'));
after(() => rm(dir, { recursive: true, force: true }));

function parseError(text: string, path: string): ConfigError {
  try {
    parseConfigText(text, path);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail(`${path} parsed`);
}

test('the format follows the extension, case-insensitively', () => {
  assert.equal(configFormatOf('a/b.yml'), 'yaml');
  assert.equal(configFormatOf('b.YAML'), 'yaml');
  assert.equal(configFormatOf('b.toml'), 'toml');
  assert.equal(configFormatOf('b.json'), 'json');
  assert.equal(configFormatOf('b.ini'), undefined);
  assert.equal(configFormatOf('b.yml~'), undefined);
});

test('YAML, TOML and JSON give the same document', () => {
  const yaml = parseConfigText('http:\n  routers:\n    web:\n      rule: Path(`/`)\n      service: api\n', 'd.yml');
  const toml = parseConfigText('[http.routers.web]\nrule = "Path(`/`)"\nservice = "api"\n', 'd.toml');
  const json = parseConfigText('{"http":{"routers":{"web":{"rule":"Path(`/`)","service":"api"}}}}', 'd.json');
  const expected = { http: { routers: { web: { rule: 'Path(`/`)', service: 'api' } } } };
  assert.deepEqual(yaml.document, expected);
  assert.deepEqual(JSON.parse(JSON.stringify(toml.document)), expected);
  assert.deepEqual(json.document, expected);
});

test('an empty file is an empty document; YAML anchors and merge keys work', () => {
  assert.deepEqual(parseConfigText('', 'e.yml').document, {});
  assert.deepEqual(parseConfigText('# only a comment\n', 'e.yml').document, {});
  assert.deepEqual(parseConfigText('', 'e.json').document, {});
  const merged = parseConfigText('base: &b { a: 1, b: 2 }\nthing:\n  <<: *b\n  b: 3\n', 'm.yml');
  assert.deepEqual(merged.document, { base: { a: 1, b: 2 }, thing: { a: 1, b: 3 } });
});

test('syntax errors give file, line and column', () => {
  const yaml = parseError('http:\n  routers:\n    web: [1, 2\n  services: {}\n', 'dyn.yml');
  assert.equal(yaml.issues.length, 1);
  assert.equal(yaml.issues[0]?.file, 'dyn.yml');
  assert.equal(yaml.issues[0]?.line, 4);
  assert.match(yaml.message, /^dyn\.yml:4:\d+: invalid YAML: /);

  const dup = parseError('a: 1\na: 2\n', 'dup.yml');
  assert.equal(dup.message, 'dup.yml:2:1: invalid YAML: Map keys must be unique');

  const toml = parseError('a = 1\nb = [1,\nc = x\n', 'dyn.toml');
  assert.equal(toml.message, 'dyn.toml:3:1: invalid TOML: invalid value');

  const json = parseError('{\n  "a": 1,\n}\n', 'dyn.json');
  assert.equal(json.message, 'dyn.json:3:1: invalid JSON: Expected double-quoted property name');
});

test('a parsed file locates a path, case-insensitively, down to the deepest existing key', () => {
  const file = parseConfigText('entryPoints:\n  web:\n    Address: 80\n  other:\n    - a\n    - b\n', 's.yml');
  assert.deepEqual(file.locate(['entryPoints', 'web', 'address']), { line: 3, column: 5 });
  assert.deepEqual(file.locate(['entryPoints', 'other', 1]), { line: 6, column: 7 });
  assert.deepEqual(file.locate(['entryPoints', 'web', 'missing']), { line: 2, column: 3 });
  const json = parseConfigText('{\n  "a": {\n    "b": 1\n  }\n}', 'j.json');
  assert.deepEqual(json.locate(['a', 'b']), { line: 3, column: 5 });
});

test('readConfigFile names the file when it cannot be read or has an unknown extension', async () => {
  await assert.rejects(readConfigFile(join(dir, 'missing.yml')), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `${join(dir, 'missing.yml')}: cannot read the file: no such file`);
    return true;
  });
  await writeFile(join(dir, 'conf.ini'), 'a=1');
  await assert.rejects(readConfigFile(join(dir, 'conf.ini')), /unsupported file extension "\.ini" \(use \.yml, \.yaml, \.toml or \.json\)/);
  await writeFile(join(dir, 'bom.yml'), '\uFEFFa: 1\n');
  assert.deepEqual((await readConfigFile(join(dir, 'bom.yml'))).document, { a: 1 });
});
