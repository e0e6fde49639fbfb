import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compareRouters,
  defaultPriority,
  routerPriority,
  RouterTable,
  RuleSyntaxError,
  ruleInput,
  type RouterDefinition,
  type RuleInput,
} from '../../src/gateway/rules/index.ts';

const request = (host: string, path = '/', fields: Partial<Omit<RuleInput, 'queryParams'>> = {}): RuleInput =>
  ruleInput({ method: 'GET', host, path, query: '', headers: {}, clientIp: '10.0.0.1', ...fields });

const linearMatch = (table: RouterTable, input: RuleInput): string | undefined => table.routers.find((router) => router.matcher(input))?.name;

test('default priority is the rule length in bytes (Traefik: len(rule)); 0 means default', () => {
  assert.equal(defaultPriority('Host(`a.com`)'), 13);
  assert.equal(defaultPriority('Path(`/é`)'), 11, 'é is two bytes in UTF-8');
  assert.equal(routerPriority('Host(`a.com`)'), 13);
  assert.equal(routerPriority('Host(`a.com`)', 0), 13);
  assert.equal(routerPriority('Host(`a.com`)', 5), 5);
  assert.equal(routerPriority('Host(`a.com`)', -5), -5);
  assert.throws(() => routerPriority('Host(`a.com`)', 1.5), RangeError);
  assert.throws(() => routerPriority('Host(`a.com`)', Number.NaN), RangeError);
  assert.ok(compareRouters({ name: 'b', priority: 2 }, { name: 'a', priority: 1 }) < 0);
  assert.ok(compareRouters({ name: 'a', priority: 1 }, { name: 'b', priority: 1 }) < 0);
  assert.equal(compareRouters({ name: 'a', priority: 1 }, { name: 'a', priority: 1 }), 0);
});

test('routers are tried by priority, then by name; the Traefik docs example', () => {
  const table = new RouterTable([
    { name: 'Router-2', rule: 'Host(`foobar.traefik.com`)' },
    { name: 'Router-1', rule: 'HostRegexp(`[a-z]+\\.traefik\\.com`)' },
  ]);
  assert.deepEqual(
    table.routers.map((router) => [router.name, router.priority]),
    [
      ['Router-1', 34],
      ['Router-2', 26],
    ],
  );
  assert.equal(table.match(request('foobar.traefik.com')), 'Router-1');
  const reordered = new RouterTable([
    { name: 'Router-2', rule: 'Host(`foobar.traefik.com`)' },
    { name: 'Router-1', rule: 'HostRegexp(`[a-z]+\\.traefik\\.com`)', priority: 2 },
  ]);
  assert.equal(reordered.match(request('foobar.traefik.com')), 'Router-2');
  assert.equal(reordered.match(request('other.traefik.com')), 'Router-1');
  assert.equal(reordered.match(request('example.com')), undefined);
  const ties = new RouterTable([
    { name: 'b', rule: 'PathPrefix(`/`)', priority: 7 },
    { name: 'c', rule: 'PathPrefix(`/`)', priority: 7 },
    { name: 'a', rule: 'PathPrefix(`/`)', priority: 7 },
  ]);
  assert.deepEqual(
    ties.routers.map((router) => router.name),
    ['a', 'b', 'c'],
  );
  assert.equal(ties.match(request('x')), 'a');
});

test('host index: exact hosts, trailing dots, || of hosts, && of hosts, and host-free routers merged by priority', () => {
  const table = new RouterTable([
    { name: 'shop', rule: 'Host(`shop.example.com`)', priority: 10 },
    { name: 'shop-api', rule: 'Host(`Shop.Example.com`) && PathPrefix(`/api`)', priority: 20 },
    { name: 'dotted', rule: 'Host(`dotted.example.com.`)', priority: 10 },
    { name: 'either', rule: 'Host(`a.com`) || Host(`b.com`)', priority: 10 },
    { name: 'never', rule: 'Host(`a.com`) && Host(`b.com`)', priority: 100 },
    { name: 'both-dots', rule: 'Host(`c.com`) && Host(`c.com.`)', priority: 10 },
    { name: 'regexp', rule: 'HostRegexp(`^shop\\.`) && Path(`/special`)', priority: 15 },
    { name: 'health', rule: 'Path(`/health`)', priority: 30 },
    { name: 'not-shop', rule: '!Host(`shop.example.com`) && PathPrefix(`/`)', priority: 1 },
  ]);
  const cases: Array<[string, string, string | undefined]> = [
    ['shop.example.com', '/', 'shop'],
    ['shop.example.com', '/api/x', 'shop-api'],
    ['shop.example.com.', '/api/x', 'shop-api'],
    ['shop.example.com', '/health', 'health'],
    ['shop.example.com', '/special', 'regexp'],
    ['dotted.example.com', '/', 'dotted'],
    ['dotted.example.com.', '/', 'dotted'],
    ['a.com', '/', 'either'],
    ['b.com.', '/', 'either'],
    ['c.com', '/', 'both-dots'],
    ['c.com.', '/', 'both-dots'],
    ['elsewhere.com', '/', 'not-shop'],
    ['elsewhere.com', '/health', 'health'],
    ['', '/', 'not-shop'],
  ];
  for (const [host, path, expected] of cases) {
    const input = request(host, path);
    assert.equal(table.match(input), expected, `${host} ${path}`);
    assert.equal(linearMatch(table, input), expected, `linear: ${host} ${path}`);
    assert.equal(table.matchRouter(input)?.name, expected);
  }
});

test('path index: many routers on one host, keyed by first path segment', () => {
  const definitions: RouterDefinition[] = [];
  for (let i = 0; i < 50; i++) {
    definitions.push({ name: `prefix-${i}`, rule: `Host(\`one.com\`) && PathPrefix(\`/p${i}\`)` });
    definitions.push({ name: `exact-${i}`, rule: `Host(\`one.com\`) && Path(\`/e${i}/x\`)` });
    definitions.push({ name: `deep-${i}`, rule: `PathPrefix(\`/d${i}/\`)` });
  }
  definitions.push({ name: 'api-or', rule: 'Host(`one.com`) && (PathPrefix(`/api/`) || Path(`/v1`))', priority: 1000 });
  definitions.push({ name: 'catch-all', rule: 'Host(`one.com`)', priority: 1 });
  definitions.push({ name: 'regexp', rule: 'PathRegexp(`^/p1[0-9]/z$`)', priority: 999 });
  const table = new RouterTable(definitions);
  const cases: Array<[string, string | undefined]> = [
    ['/p7', 'prefix-7'],
    ['/p7/x', 'prefix-7'],
    ['/p12', 'prefix-12'],
    ['/p12/z', 'regexp'],
    ['/p1', 'prefix-1'],
    ['/p1x', 'prefix-1'],
    ['/p49-and-more', 'prefix-49'],
    ['/e3/x', 'exact-3'],
    ['/e3/y', 'catch-all'],
    ['/d5/', 'deep-5'],
    ['/d5', 'catch-all'],
    ['/api/v', 'api-or'],
    ['/v1', 'api-or'],
    ['/v1/', 'catch-all'],
    ['/', 'catch-all'],
    ['no-slash', 'catch-all'],
  ];
  for (const [path, expected] of cases) {
    const input = request('one.com', path);
    assert.equal(table.match(input), expected, path);
    assert.equal(linearMatch(table, input), expected, `linear: ${path}`);
  }
  assert.equal(table.match(request('two.com', '/d5/')), 'deep-5');
  assert.equal(table.match(request('two.com', '/p5')), undefined);
});

test('a bad rule fails the whole table, naming the router; duplicate names are refused', () => {
  assert.throws(
    () => new RouterTable([{ name: 'ok', rule: 'Host(`a`)' }, { name: 'broken', rule: 'Host(`a`) && Path(`x`)' }]),
    (error: unknown) =>
      error instanceof RuleSyntaxError &&
      error.router === 'broken' &&
      error.column === 19 &&
      error.message === 'router "broken": rule column 19: Path argument "x" must start with "/"',
  );
  assert.throws(() => new RouterTable([{ name: 'x', rule: 'Host(`a`)' }, { name: 'x', rule: 'Host(`b`)' }]), /duplicate router name "x"/);
  assert.equal(new RouterTable([]).match(request('a')), undefined);
});

// ---- property: the index returns exactly what a linear scan in priority order returns ----

const hosts = ['a.com', 'b.com', 'a.com.', 'c.com'];
const paths = ['/', '/a', '/ab', '/a/', '/a/b', '/b', '/abc/d', '/abc'];
const leaf = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...hosts).map((h) => `Host(\`${h}\`)`) },
  { weight: 4, arbitrary: fc.constantFrom(...paths).map((p) => `PathPrefix(\`${p}\`)`) },
  { weight: 3, arbitrary: fc.constantFrom(...paths).map((p) => `Path(\`${p}\`)`) },
  { weight: 1, arbitrary: fc.constantFrom('HostRegexp(`^a`)', 'PathRegexp(`b$`)', 'Method(`POST`)', 'Query(`k`)') },
);
const { rule } = fc.letrec<{ rule: string; not: string; and: string; or: string }>((tie) => ({
  rule: fc.oneof({ maxDepth: 3, depthSize: 'small' }, leaf, tie('and'), tie('and'), tie('or'), tie('not')),
  not: tie('rule').map((r) => `!(${r})`),
  and: fc.array(tie('rule'), { minLength: 2, maxLength: 3 }).map((rs) => rs.map((r) => `(${r})`).join(' && ')),
  or: fc.array(tie('rule'), { minLength: 2, maxLength: 3 }).map((rs) => rs.map((r) => `(${r})`).join(' || ')),
}));
const definitions = fc
  .array(fc.record({ rule, priority: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }) }), { maxLength: 40 })
  .map((routers) => routers.map((router, i): RouterDefinition => ({ name: `r${(i * 7) % 40}-${i}`, ...router })));
const requests = hosts.concat(['d.com', '', 'a.com..']).flatMap((host) =>
  paths.concat(['/abcd', '/x', '/ab/c', 'a']).flatMap((path) => [request(host, path), request(host, path, { method: 'POST', query: 'k' })]),
);

test('property: the indexed table agrees with a linear scan in priority order', () => {
  fc.assert(
    fc.property(definitions, (defs) => {
      const table = new RouterTable(defs);
      const expectedOrder = defs
        .map((d) => ({ name: d.name, priority: routerPriority(d.rule, d.priority) }))
        .sort(compareRouters)
        .map((d) => d.name);
      assert.deepEqual(
        table.routers.map((router) => router.name),
        expectedOrder,
      );
      for (const input of requests) {
        assert.equal(table.match(input), linearMatch(table, input), `${input.host} ${input.path} ${input.method}`);
      }
    }),
    { numRuns: 200 },
  );
});

// Long lists of path rules, where the first-segment index (prefix keys that start one another) is used.
const segmentPaths = ['/', '/a', '/ab', '/abc', '/abc/', '/a/b', '/b', '/ba/'];
const pathLeaf = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...segmentPaths).map((p) => `PathPrefix(\`${p}\`)`) },
  { weight: 3, arbitrary: fc.constantFrom(...segmentPaths).map((p) => `Path(\`${p}\`)`) },
  { weight: 1, arbitrary: fc.constantFrom('Host(`a.com`)', 'PathRegexp(`c$`)', '!Path(`/a`)') },
);
const pathRule = fc.oneof(
  { weight: 4, arbitrary: pathLeaf },
  { weight: 1, arbitrary: fc.tuple(pathLeaf, pathLeaf).map(([x, y]) => `${x} && ${y}`) },
  { weight: 1, arbitrary: fc.tuple(pathLeaf, pathLeaf).map(([x, y]) => `${x} || ${y}`) },
);
const pathDefinitions = fc
  .array(fc.record({ rule: pathRule, priority: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }), { minLength: 9, maxLength: 30 })
  .map((routers) => routers.map((router, i): RouterDefinition => ({ name: `p${i}`, ...router })));
const segmentRequests = ['a.com', 'b.com'].flatMap((host) =>
  segmentPaths.concat(['/abcd', '/abx/y', '/ab/', '/a/bc', '/bb', '/c', '//a', 'x']).map((path) => request(host, path)),
);

test('property: with long lists of Path/PathPrefix rules the segment index agrees with a linear scan', () => {
  fc.assert(
    fc.property(pathDefinitions, (defs) => {
      const table = new RouterTable(defs);
      for (const input of segmentRequests) {
        assert.equal(table.match(input), linearMatch(table, input), `${input.host} ${input.path}`);
      }
    }),
    { numRuns: 200 },
  );
});
