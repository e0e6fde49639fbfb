import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compileGoRegexp,
  compileRule,
  compileRuleNode,
  parseQuery,
  printRule,
  ruleInput,
  type MatcherName,
  type RuleInput,
  type RuleNode,
} from '../../src/gateway/rules/index.ts';

type Fields = Omit<RuleInput, 'queryParams'>;

const base: Fields = { method: 'GET', host: 'shop.example.com', path: '/api/books', query: '', headers: {}, clientIp: '10.0.0.1' };
const request = (fields: Partial<Fields> = {}): RuleInput => ruleInput({ ...base, ...fields });

// [rule, request fields, expected]
const cases: Array<[string, Partial<Fields>, boolean]> = [
  // Host: exact, case-insensitive rule, trailing dot on either side ignored.
  ['Host(`shop.example.com`)', {}, true],
  ['Host(`Shop.Example.COM`)', {}, true],
  ['Host(`shop.example.com.`)', {}, true],
  ['Host(`shop.example.com`)', { host: 'shop.example.com.' }, true],
  ['Host(`shop.example.com`)', { host: 'shop.example.co' }, false],
  ['Host(`shop.example.com`)', { host: 'www.shop.example.com' }, false],
  ['Host(`shop.example.com`)', { host: 'shop.example.com..' }, false],
  ['Host(`example.com`)', { host: 'shop.example.com' }, false],
  ['Host(`shop.example.com`)', { host: '' }, false],
  ['Host(`.`)', { host: '' }, false],
  ['Host(`::1`)', { host: '::1' }, true],
  ['Host(`10.0.0.5`)', { host: '10.0.0.5' }, true],
  // HostRegexp: Go-flavoured, unanchored, against the lower-case host.
  ['HostRegexp(`^[a-z]+\\.example\\.com$`)', {}, true],
  ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'a.b.example.com' }, false],
  ['HostRegexp(`example`)', {}, true],
  ['HostRegexp(`^.+\\.example\\.com$`)', { host: 'example.com' }, false],
  ['HostRegexp(`(?i)^SHOP\\.`)', {}, true],
  ['HostRegexp(`^SHOP\\.`)', {}, false],
  // Path: exact.
  ['Path(`/api/books`)', {}, true],
  ['Path(`/api/books`)', { path: '/api/books/' }, false],
  ['Path(`/api`)', {}, false],
  ['Path(`/API/books`)', {}, false],
  // PathPrefix: string prefix, not segment-aware (as Traefik).
  ['PathPrefix(`/api`)', {}, true],
  ['PathPrefix(`/api`)', { path: '/api' }, true],
  ['PathPrefix(`/api`)', { path: '/api-docs' }, true],
  ['PathPrefix(`/api/`)', { path: '/api' }, false],
  ['PathPrefix(`/`)', { path: '/' }, true],
  ['PathPrefix(`/books`)', {}, false],
  // PathRegexp: unanchored.
  ['PathRegexp(`^/api/(books|authors)$`)', {}, true],
  ['PathRegexp(`\\.(jpe?g|png)$`)', { path: '/img/a.jpeg' }, true],
  ['PathRegexp(`\\.(jpe?g|png)$`)', { path: '/img/a.gif' }, false],
  ['PathRegexp(`books`)', {}, true],
  ['PathRegexp(`(?i)^/API`)', {}, true],
  ['PathRegexp(`^/api/[[:digit:]]+$`)', { path: '/api/123' }, true],
  ['PathRegexp(`^/api/[[:digit:]]+$`)', { path: '/api/12a' }, false],
  ['PathRegexp(`\\A/api\\z`)', { path: '/api' }, true],
  ['PathRegexp(`\\A/api\\z`)', { path: '/api\n' }, false],
  // Method: the rule's method in any case.
  ['Method(`GET`)', {}, true],
  ['Method(`get`)', {}, true],
  ['Method(`POST`)', {}, false],
  ['Method(`GET`)', { method: 'get' }, true],
  ['Method(`GET`)', { method: 'GETX' }, false],
  ['Method(`DELETE`)', { method: 'DELETE' }, true],
  // Header: any case of the name; the value exactly; array values (set-cookie) each tried.
  ['Header(`Content-Type`, `application/yaml`)', { headers: { 'content-type': 'application/yaml' } }, true],
  ['Header(`content-type`, `application/yaml`)', { headers: { 'content-type': 'application/yaml' } }, true],
  ['Header(`Content-Type`, `application/yaml`)', { headers: { 'content-type': 'Application/YAML' } }, false],
  ['Header(`Content-Type`, `application/yaml`)', { headers: {} }, false],
  ['Header(`Set-Cookie`, `b=2`)', { headers: { 'set-cookie': ['a=1', 'b=2'] } }, true],
  ['Header(`Set-Cookie`, `c=3`)', { headers: { 'set-cookie': ['a=1', 'b=2'] } }, false],
  ['HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)', { headers: { 'content-type': 'application/json' } }, true],
  ['HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)', { headers: { 'content-type': 'application/xml' } }, false],
  ['HeaderRegexp(`Content-Type`, `(?i)^application/(json|yaml)$`)', { headers: { 'content-type': 'Application/JSON' } }, true],
  ['HeaderRegexp(`X-A`, `.*`)', { headers: {} }, false],
  ['HeaderRegexp(`Set-Cookie`, `^b=`)', { headers: { 'set-cookie': ['a=1', 'b=2'] } }, true],
  // Query: Go's url.Query semantics; one argument = present with an empty value.
  ['Query(`mobile`, `true`)', { query: 'mobile=true' }, true],
  ['Query(`mobile`, `true`)', { query: 'a=1&mobile=false&mobile=true' }, true],
  ['Query(`mobile`, `true`)', { query: 'mobile=false' }, false],
  ['Query(`mobile`, `true`)', { query: '' }, false],
  ['Query(`mobile`)', { query: 'mobile' }, true],
  ['Query(`mobile`)', { query: 'mobile=' }, true],
  ['Query(`mobile`)', { query: 'mobile=true' }, false],
  ['Query(`q`, `a b`)', { query: 'q=a+b' }, true],
  ['Query(`q`, `a b`)', { query: 'q=a%20b' }, true],
  ['Query(`q`, `é`)', { query: 'q=%C3%A9' }, true],
  ['Query(`my key`, `1`)', { query: 'my+key=1' }, true],
  ['Query(`q`, `1`)', { query: 'q=1;x=2' }, false],
  ['Query(`q`, `1`)', { query: 'x=2;y&q=1' }, true],
  ['Query(`q`, `1`)', { query: 'q=1&bad=%zz' }, true],
  ['Query(`bad`)', { query: 'bad=%zz' }, false],
  ['QueryRegexp(`mobile`, `^(true|yes)$`)', { query: 'mobile=yes' }, true],
  ['QueryRegexp(`mobile`, `^(true|yes)$`)', { query: 'mobile=no' }, false],
  ['QueryRegexp(`mobile`, `^.*$`)', { query: 'mobile=' }, true],
  ['QueryRegexp(`mobile`, `^.*$`)', { query: 'other=1' }, false],
  ['QueryRegexp(`mobile`, `(?i)^(true|yes)$`)', { query: 'mobile=YES' }, true],
  ['QueryRegexp(`mobile`)', { query: 'mobile' }, true],
  ['QueryRegexp(`mobile`)', { query: 'mobile=1' }, false],
  // ClientIP: IPv4, IPv6, CIDR; IPv4-mapped IPv6 addresses (dual-stack sockets) count as IPv4.
  ['ClientIP(`10.0.0.1`)', {}, true],
  ['ClientIP(`10.0.0.2`)', {}, false],
  ['ClientIP(`10.0.0.0/8`)', { clientIp: '10.200.3.4' }, true],
  ['ClientIP(`10.0.0.0/8`)', { clientIp: '11.0.0.1' }, false],
  ['ClientIP(`192.168.1.77/24`)', { clientIp: '192.168.1.5' }, true],
  ['ClientIP(`10.0.0.1`)', { clientIp: '::ffff:10.0.0.1' }, true],
  ['ClientIP(`10.0.0.0/8`)', { clientIp: '::ffff:10.9.9.9' }, true],
  ['ClientIP(`::1`)', { clientIp: '::1' }, true],
  ['ClientIP(`::1`)', { clientIp: '127.0.0.1' }, false],
  ['ClientIP(`fe80::/10`)', { clientIp: 'fe80::1234' }, true],
  ['ClientIP(`fe80::/10`)', { clientIp: 'fec0::1' }, false],
  ['ClientIP(`0.0.0.0/0`)', { clientIp: '203.0.113.9' }, true],
  ['ClientIP(`10.0.0.1`)', { clientIp: '' }, false],
  ['ClientIP(`10.0.0.1`)', { clientIp: 'not-an-ip' }, false],
  // Operators.
  ['Host(`shop.example.com`) && PathPrefix(`/api`) && !Method(`DELETE`)', {}, true],
  ['Host(`shop.example.com`) && PathPrefix(`/api`) && !Method(`DELETE`)', { method: 'DELETE' }, false],
  ['Host(`other.com`) || PathPrefix(`/api`)', {}, true],
  ['Host(`other.com`) || PathPrefix(`/api`) && Method(`POST`)', {}, false],
  ['(Host(`other.com`) || PathPrefix(`/api`)) && Method(`GET`)', {}, true],
  ['!(Host(`other.com`) || Path(`/x`))', {}, true],
  ['!!Host(`shop.example.com`)', {}, true],
  ['Host(`a`) || Host(`b`) || Host(`shop.example.com`) || Host(`c`)', {}, true],
  ['Path(`/a`) || Path(`/b`) || Path(`/c`)', {}, false],
  ['Method(`GET`) && Host(`shop.example.com`) && Path(`/api/books`) && !Query(`x`)', {}, true],
  ['Method(`GET`) && Host(`shop.example.com`) && Path(`/api/books`) && !Query(`x`)', { query: 'x' }, false],
];

test('each matcher and operator, table-driven', () => {
  for (const [rule, fields, expected] of cases) {
    assert.equal(compileRule(rule)(request(fields)), expected, `${rule} on ${JSON.stringify(fields)}`);
  }
});

test('Query parses the query once per request and shares it between matchers', () => {
  const input = request({ query: 'a=1&b=2' });
  assert.equal(input.queryParams, undefined);
  assert.ok('queryParams' in input, 'ruleInput declares the field up front');
  assert.equal(compileRule('Query(`a`, `1`)')(input), true);
  const parsed = input.queryParams;
  assert.ok(parsed !== undefined);
  assert.equal(compileRule('QueryRegexp(`b`, `^2$`)')(input), true);
  assert.equal(input.queryParams, parsed, 'the second matcher reuses the first parse');
  const noQuery = request();
  assert.equal(compileRule('Query(`a`)')(noQuery), false);
  assert.equal(noQuery.queryParams, undefined, 'an empty query is never parsed');
  const plain: RuleInput = { ...base };
  assert.equal(compileRule('Query(`a`, `1`)')({ ...plain, query: 'a=1' }), true, 'the field is optional');
});

test('parseQuery follows Go url.ParseQuery', () => {
  const q = (raw: string): Record<string, readonly string[]> => Object.fromEntries(parseQuery(raw));
  assert.deepEqual(q(''), {});
  assert.deepEqual(q('a=1&a=2&b'), { a: ['1', '2'], b: [''] });
  assert.deepEqual(q('&&a=1&'), { a: ['1'] });
  assert.deepEqual(q('a=1=2'), { a: ['1=2'] });
  assert.deepEqual(q('=x'), { '': ['x'] });
  assert.deepEqual(q('a=1;b=2&c=3'), { c: ['3'] });
  assert.deepEqual(q('a=%41%42+c&b=%zz&c=%4'), { a: ['AB c'] });
  assert.deepEqual(q('a=%ff'), { a: ['\ufffd'] }, 'not UTF-8: replacement character');
  assert.deepEqual(q('a=%C3%A9%ff'), { a: ['é\ufffd'] });
  assert.deepEqual(q('é=ü'), { é: ['ü'] });
});

test('Go regexp syntax is translated, or refused when JavaScript would read it otherwise', () => {
  const source = (pattern: string): string => {
    const re = compileGoRegexp(pattern);
    assert.ok(re instanceof RegExp, `${pattern}: ${String(re)}`);
    return re.source;
  };
  assert.equal(source('(?i)^/api'), '(?i:^\\/api)');
  assert.equal(source('a(?i)b|c'), 'a(?i:b)|(?i:c)');
  assert.equal(source('(a(?s).b|c)d'), '(a(?s:.b)|(?s:c))d');
  assert.equal(source('(?i:x)y'), '(?i:x)y');
  assert.equal(source('(?P<id>[0-9]+)'), '(?<id>[0-9]+)');
  assert.equal(source('[]a]'), '[\\]a]');
  assert.equal(source('[^]a]'), '[^\\]a]');
  assert.equal(source('\\Qa.b*\\E+'), 'a\\.b\\*+');
  assert.equal(source('\\x{41}\\101\\0'), '\\x41\\x41\\x00');
  assert.equal(source('[[:alpha:][:digit:]_]'), '[A-Za-z0-9_]');
  const matches = (pattern: string, text: string): boolean => (compileGoRegexp(pattern) as RegExp).test(text);
  assert.equal(matches('a(?i)b|c', 'C'), true);
  assert.equal(matches('a(?i)b|c', 'AB'), false);
  assert.equal(matches('a(?i)b|c', 'aB'), true);
  assert.equal(matches('(?i)ab(?-i)c', 'ABc'), true);
  assert.equal(matches('(?i)ab(?-i)c', 'ABC'), false);
  assert.equal(matches('(?s)^a.b$', 'a\nb'), true);
  assert.equal(matches('^a.b$', 'a\nb'), false);
  assert.equal(matches('(?m)^b$', 'a\nb\nc'), true);
  for (const [pattern, problem] of [
    ['(a)\\1', /backreference/],
    ['\\k<x>', /invalid escape "\\k"/],
    ['a(?=b)', /lookaround/],
    ['a(?!b)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(?U)a*', /ungreedy/],
    ['(?x)a', /unknown regexp flag "x"/],
    ['(?)a', /invalid or unsupported group syntax/],
    ['\\p{Greek}', /Unicode class/],
    ['\\C', /invalid escape "\\C"/],
    ['[[:^alpha:]]', /negated POSIX class/],
    ['[[:nope:]]', /unknown POSIX class/],
    ['[a', /missing closing \]/],
    ['a\\', /trailing backslash/],
    ['\\x{1F600}', /Basic Multilingual Plane/],
    ['[\\b]', /invalid escape "\\b" in a character class/],
  ] as const) {
    const result = compileGoRegexp(pattern);
    assert.equal(typeof result, 'string', pattern);
    assert.match(result as string, problem, pattern);
  }
});

// ---- property: the compiled operators agree with a direct evaluation of the tree ----

interface Req {
  method: string;
  host: string;
  path: string;
  query: string;
  header: string | undefined;
  clientIp: string;
}

// Each leaf: the rule arguments and a plain reference meaning written without the compiler.
const leaves: Array<{ name: MatcherName; args: string[]; holds: (r: Req) => boolean }> = [
  { name: 'Host', args: ['a.com'], holds: (r) => r.host === 'a.com' },
  { name: 'Host', args: ['B.com'], holds: (r) => r.host === 'b.com' },
  { name: 'HostRegexp', args: ['^a'], holds: (r) => r.host.startsWith('a') },
  { name: 'Path', args: ['/a'], holds: (r) => r.path === '/a' },
  { name: 'PathPrefix', args: ['/a'], holds: (r) => r.path.startsWith('/a') },
  { name: 'PathPrefix', args: ['/b/'], holds: (r) => r.path.startsWith('/b/') },
  { name: 'PathRegexp', args: ['b$'], holds: (r) => r.path.endsWith('b') },
  { name: 'Method', args: ['get'], holds: (r) => r.method === 'GET' },
  { name: 'Method', args: ['POST'], holds: (r) => r.method === 'POST' },
  { name: 'Header', args: ['X-T', '1'], holds: (r) => r.header === '1' },
  { name: 'HeaderRegexp', args: ['x-t', '^[12]$'], holds: (r) => r.header === '1' || r.header === '2' },
  { name: 'Query', args: ['k'], holds: (r) => new URLSearchParams(r.query).getAll('k').includes('') },
  { name: 'Query', args: ['k', '1'], holds: (r) => new URLSearchParams(r.query).getAll('k').includes('1') },
  { name: 'QueryRegexp', args: ['k', '^[0-9]$'], holds: (r) => new URLSearchParams(r.query).getAll('k').some((v) => /^[0-9]$/.test(v)) },
  { name: 'ClientIP', args: ['10.0.0.0/8'], holds: (r) => r.clientIp.replace(/^::ffff:/, '').startsWith('10.') },
  { name: 'ClientIP', args: ['::1'], holds: (r) => r.clientIp === '::1' },
];

type Tree = { kind: 'leaf'; leaf: number } | { kind: 'not'; operand: Tree } | { kind: 'and' | 'or'; operands: Tree[] };

const { tree } = fc.letrec<{ tree: Tree; not: Tree; and: Tree; or: Tree }>((tie) => ({
  tree: fc.oneof({ maxDepth: 4, depthSize: 'small' }, fc.nat(leaves.length - 1).map((leaf): Tree => ({ kind: 'leaf', leaf })), tie('not'), tie('and'), tie('or')),
  not: tie('tree').map((operand): Tree => ({ kind: 'not', operand })),
  and: fc.array(tie('tree'), { minLength: 2, maxLength: 4 }).map((operands): Tree => ({ kind: 'and', operands })),
  or: fc.array(tie('tree'), { minLength: 2, maxLength: 4 }).map((operands): Tree => ({ kind: 'or', operands })),
}));

const req: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  host: fc.constantFrom('a.com', 'b.com', 'c.com', 'ab.org'),
  path: fc.constantFrom('/', '/a', '/ab', '/a/b', '/b/', '/b/x', '/cb'),
  query: fc.constantFrom('', 'k', 'k=1', 'k=2&k=', 'j=1', 'k=x'),
  header: fc.constantFrom(undefined, '1', '2', '3'),
  clientIp: fc.constantFrom('10.0.0.1', '10.1.2.3', '192.168.0.1', '::1', '::ffff:10.0.0.7'),
});

function reference(t: Tree, r: Req): boolean {
  switch (t.kind) {
    case 'leaf':
      return (leaves[t.leaf] as (typeof leaves)[number]).holds(r);
    case 'not':
      return !reference(t.operand, r);
    case 'and':
      return t.operands.every((operand) => reference(operand, r));
    case 'or':
      return t.operands.some((operand) => reference(operand, r));
  }
}

// The tree as the compiler's input (nested and/or are kept nested: the compiler takes any shape).
function toNode(t: Tree): RuleNode {
  switch (t.kind) {
    case 'leaf': {
      const leaf = leaves[t.leaf] as (typeof leaves)[number];
      return { kind: 'matcher', name: leaf.name, args: leaf.args.map((value) => ({ value, column: 1 })), column: 1 };
    }
    case 'not':
      return { kind: 'not', operand: toNode(t.operand), column: 1 };
    default:
      return { kind: t.kind, operands: t.operands.map(toNode), column: 1 };
  }
}

const toInput = (r: Req): RuleInput =>
  ruleInput({ method: r.method, host: r.host, path: r.path, query: r.query, headers: r.header === undefined ? {} : { 'x-t': r.header }, clientIp: r.clientIp });

test('property: !, && and || agree with a reference evaluator on random trees and requests', () => {
  fc.assert(
    fc.property(tree, fc.array(req, { minLength: 1, maxLength: 5 }), (t, requests) => {
      const node = toNode(t);
      const printed = printRule(node);
      const compiled = compileRuleNode(node, printed);
      const reparsed = compileRule(printed);
      for (const r of requests) {
        const expected = reference(t, r);
        assert.equal(compiled(toInput(r)), expected, `${printed} on ${JSON.stringify(r)}`);
        assert.equal(reparsed(toInput(r)), expected, `${printed} (printed and parsed) on ${JSON.stringify(r)}`);
      }
    }),
    { numRuns: 200 },
  );
});
