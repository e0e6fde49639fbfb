// src/config/README.md is the reference of supported keys: its examples must load, and its tables must
// cover the schemas and the table of rejected Traefik keys, so the document cannot drift from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadDynamicConfig } from '../../src/config/load-dynamic.ts';
import { loadStaticConfig } from '../../src/config/load-static.ts';
import { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import { StaticConfig } from '../../src/config/schema/static.ts';
import { UNSUPPORTED_DYNAMIC, UNSUPPORTED_STATIC } from '../../src/config/traefik-unsupported.ts';

const configDir = fileURLToPath(new URL('../../src/config/', import.meta.url));
const readme = await readFile(`${configDir}README.md`, 'utf8');

interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly patternProperties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
}

/** Every key path of a schema, written as the README writes them: `<name>` for map entries, `[]` for list items. */
function keyPaths(schemaObject: object, prefix = ''): string[] {
  const schema = schemaObject as SchemaNode;
  const out: string[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push(path, ...keyPaths(child, path));
  }
  for (const child of Object.values(schema.patternProperties ?? {})) out.push(...keyPaths(child, `${prefix}.<name>`));
  if (schema.items !== undefined) out.push(...keyPaths(schema.items, `${prefix}[]`));
  return out;
}

/** The first-column keys of the README's tables, and those whose row refers to another ("same keys as"). */
function documentedKeys(): { keys: Set<string>; sameAs: string[] } {
  const keys = new Set<string>();
  const sameAs: string[] = [];
  const tables = readme.slice(readme.indexOf('## Static keys'), readme.indexOf('## Traefik keys Stampgate rejects'));
  for (const line of tables.split('\n')) {
    const match = /^\| `([^`]+)` \|/.exec(line);
    if (match?.[1] === undefined) continue;
    keys.add(match[1]);
    if (line.includes('same keys as')) sameAs.push(match[1]);
  }
  return { keys, sameAs };
}

test("the README's examples are the example files, and they load and cross-check", async () => {
  const staticText = await readFile(`${configDir}examples/static.yml`, 'utf8');
  const dynamicText = await readFile(`${configDir}examples/dynamic.yml`, 'utf8');
  assert.ok(readme.includes(`\`\`\`yaml\n${staticText}\`\`\``), 'README embeds examples/static.yml verbatim');
  assert.ok(readme.includes(`\`\`\`yaml\n${dynamicText}\`\`\``), 'README embeds examples/dynamic.yml verbatim');

  const staticConfig = await loadStaticConfig(`${configDir}examples/static.yml`);
  const file = staticConfig.providers?.file;
  assert.equal(file?.filename, `${configDir}examples/dynamic.yml`);
  const loaded = await loadDynamicConfig({ filename: file.filename }, { entryPoints: Object.keys(staticConfig.entryPoints) });
  assert.deepEqual(Object.keys(loaded.config.http?.routers ?? {}), ['library', 'status']);
  assert.equal(loaded.config.http?.services?.['library']?.stamps?.tenants?.['globex'], '2');
});

test('the README lists every key of the static and dynamic schemas, and only those', () => {
  const { keys, sameAs } = documentedKeys();
  const schemaKeys = [...keyPaths(StaticConfig), ...keyPaths(DynamicConfig)];
  const covered = (key: string): boolean => keys.has(key) || sameAs.some((prefix) => key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[]`));
  assert.deepEqual(schemaKeys.filter((key) => !covered(key)), [], 'schema keys missing from the README');
  const known = new Set(schemaKeys);
  assert.deepEqual([...keys].filter((key) => !known.has(key)), [], 'README keys that are not in the schemas');
});

test('the README names every Traefik key that Stampgate rejects', () => {
  const section = readme.slice(readme.indexOf('## Traefik keys Stampgate rejects'));
  for (const table of [UNSUPPORTED_STATIC, UNSUPPORTED_DYNAMIC]) {
    for (const [shape, group] of Object.entries(table)) {
      for (const key of group.keys) assert.ok(section.includes(`\`${key}\``), `${shape || '(top level)'}: ${key}`);
    }
  }
});
