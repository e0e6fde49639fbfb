// Path rewriting middlewares (stripPrefix, stripPrefixRegex, addPrefix, replacePath,
// replacePathRegex) through real HTTP: what path, query and headers reach the upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addPrefix } from '../../src/gateway/middleware/add-prefix.ts';
import { MiddlewareConfigError, type Middleware } from '../../src/gateway/middleware/middleware.ts';
import { replacePath } from '../../src/gateway/middleware/replace-path.ts';
import { replacePathRegex } from '../../src/gateway/middleware/replace-path-regex.ts';
import { goReplaceAll, parseGoTemplate } from '../../src/gateway/middleware/regexp-replace.ts';
import { hasDotSegment } from '../../src/gateway/middleware/rewritten-path.ts';
import { stripPrefix } from '../../src/gateway/middleware/strip-prefix.ts';
import { stripPrefixRegex } from '../../src/gateway/middleware/strip-prefix-regex.ts';
import { echoOf, problemOf, send, startHarness, testContext, type Harness } from './middleware-harness.ts';

/** Chains middlewares so that the first listed runs first, as a router does. */
function chain(...middlewares: Middleware[]): Middleware {
  return (next) => middlewares.reduceRight((inner, middleware) => middleware(inner), next);
}

interface PathCase {
  request: string;
  path: string;
  query?: string;
  header?: string | null;
}

async function expectPaths(harness: Harness, headerName: string, cases: PathCase[]): Promise<void> {
  for (const c of cases) {
    const reply = await send(harness, c.request);
    assert.equal(reply.status, 200, `${c.request}: ${reply.text}`);
    const echo = echoOf(reply);
    assert.equal(echo.path, c.path, `path of ${c.request}`);
    assert.equal(echo.query, c.query ?? '', `query of ${c.request}`);
    assert.equal(echo.upstreamHeaders[headerName], c.header ?? undefined, `${headerName} for ${c.request}`);
  }
}

describe('stripPrefix', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness(stripPrefix({ prefixes: ['/api', '/static/'] }, testContext()));
  });
  after(() => harness.close());

  test('strips the first matching prefix and sets X-Forwarded-Prefix', () =>
    expectPaths(harness, 'x-forwarded-prefix', [
      { request: '/api/users', path: '/users', header: '/api' },
      { request: '/api/users?page=2&x=%2F', path: '/users', query: 'page=2&x=%2F', header: '/api' },
      { request: '/api', path: '/', header: '/api' },
      { request: '/api/', path: '/', header: '/api' },
      { request: '/static/app.js', path: '/app.js', header: '/static/' },
      { request: '/other/api', path: '/other/api' },
      { request: '/', path: '/' },
    ]));

  test('strips at any character, as Traefik does (not only at segment boundaries)', () =>
    expectPaths(harness, 'x-forwarded-prefix', [
      { request: '/apix', path: '/x', header: '/api' },
      { request: '/apiary/hive', path: '/ary/hive', header: '/api' },
      { request: '/staticfile', path: '/staticfile' }, // `/static/` needs its slash
    ]));

  test('sees the normalised path: dot-segments are resolved before the strip', () =>
    expectPaths(harness, 'x-forwarded-prefix', [
      { request: '/api/../admin', path: '/admin' },
      { request: '/api/%2e%2e/admin', path: '/admin' },
      { request: '/x/../api/v1', path: '/v1', header: '/api' },
      { request: '/api/a%2Fb', path: '/a%2Fb', header: '/api' },
    ]));

  test('refuses a strip that would leave a dot-segment', async () => {
    for (const target of ['/api../admin', '/api./x', '/api..']) {
      const reply = await send(harness, target);
      assert.equal(reply.status, 400, target);
      const body = problemOf(reply);
      assert.equal(body.type, 'https://stampgate.dev/problems/bad-request-target');
      assert.equal(body.status, 400);
      assert.match(body.detail, /dot-segment/);
      assert.equal(typeof body.requestId, 'string');
    }
    assert.ok(!harness.seen.some((s) => s.path.includes('..')));
  });

  test('a strip then addPrefix cannot reach outside the added prefix', async () => {
    const h = await startHarness(chain(stripPrefix({ prefixes: ['/api'] }, testContext()), addPrefix({ prefix: '/tenant-a' }, testContext())));
    try {
      assert.equal(echoOf(await send(h, '/api/x')).path, '/tenant-a/x');
      assert.equal(echoOf(await send(h, '/api/../tenant-b/x')).path, '/tenant-a/tenant-b/x');
      assert.equal((await send(h, '/api../tenant-b/x')).status, 400);
    } finally {
      await h.close();
    }
  });

  test('config errors', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ prefixes: [] }, /prefixes: at least one prefix/],
      [{ prefixes: ['/ok', 'api'] }, /prefixes\[1\]: "api" can never match/],
    ];
    for (const [config, message] of cases) {
      assert.throws(() => stripPrefix(config as { prefixes: string[] }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && message.test(e.message));
    }
  });

  test('forceSlash is accepted, logged as deprecated, and changes nothing', async () => {
    const context = testContext('legacy');
    const h = await startHarness(stripPrefix({ prefixes: ['/api'], forceSlash: false }, context));
    try {
      assert.match(context.lines.join('\n'), /forceSlash is deprecated/);
      assert.equal(echoOf(await send(h, '/api')).path, '/');
    } finally {
      await h.close();
    }
  });
});

describe('stripPrefixRegex', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness(stripPrefixRegex({ regex: ['^/t/[a-z0-9-]+', '/v[0-9]+'] }, testContext()));
  });
  after(() => harness.close());

  test('strips the matched prefix and sets X-Forwarded-Prefix to the matched text', () =>
    expectPaths(harness, 'x-forwarded-prefix', [
      { request: '/t/acme/orders?x=1', path: '/orders', query: 'x=1', header: '/t/acme' },
      { request: '/t/acme', path: '/', header: '/t/acme' },
      { request: '/t/acmeX/a', path: '/X/a', header: '/t/acme' }, // a match need not end at a segment
      { request: '/v2/users', path: '/users', header: '/v2' },
      { request: '/x/v2/users', path: '/x/v2/users' }, // a match that is not a prefix strips nothing
      { request: '/T/acme', path: '/T/acme' },
    ]));

  test('refuses a strip that would leave a dot-segment', async () => {
    const reply = await send(harness, '/t/a../b');
    assert.equal(reply.status, 400);
    assert.equal(problemOf(reply).type, 'https://stampgate.dev/problems/bad-request-target');
  });

  test('translates RE2 syntax and names a bad pattern', () => {
    assert.doesNotThrow(() => stripPrefixRegex({ regex: ['(?i)^/API', '^/(?P<tenant>[a-z]+)'] }, testContext()));
    assert.throws(() => stripPrefixRegex({ regex: ['^/ok', '^/(unclosed'] }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && e.message.startsWith('regex[1]: invalid regular expression "^/(unclosed"'));
    assert.throws(() => stripPrefixRegex({ regex: ['(?=x)'] }, testContext()), /regex\[0\]: invalid regular expression "\(\?=x\)": lookaround/);
    assert.throws(() => stripPrefixRegex({ regex: [] }, testContext()), /at least one regular expression/);
  });
});

describe('addPrefix', () => {
  test('prefixes the path and keeps the query', async () => {
    const h = await startHarness(addPrefix({ prefix: '/v2' }, testContext()));
    try {
      await expectPaths(h, 'x-forwarded-prefix', [
        { request: '/users?id=3', path: '/v2/users', query: 'id=3' },
        { request: '/', path: '/v2/' },
      ]);
    } finally {
      await h.close();
    }
  });

  test('config errors', () => {
    for (const [prefix, message] of [
      ['', /prefix: must not be empty/],
      ['v2', /prefix: "v2" must start with "\/"/],
      ['/a/../b', /prefix: "\/a\/..\/b" has a "." or ".." segment/],
      ['/a%zz', /invalid percent-escape/],
      ['/a b', /must be percent-encoded/],
      ['/a?b', /must be percent-encoded/],
    ] as const) {
      assert.throws(() => addPrefix({ prefix }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && message.test(e.message), prefix);
    }
  });
});

describe('replacePath', () => {
  test('replaces the path, keeps the query, and sets X-Replaced-Path to the former path', async () => {
    const h = await startHarness(replacePath({ path: '/health' }, testContext()));
    try {
      await expectPaths(h, 'x-replaced-path', [
        { request: '/anything/here?probe=1', path: '/health', query: 'probe=1', header: '/anything/here' },
        { request: '/a/../b', path: '/health', header: '/b' },
      ]);
    } finally {
      await h.close();
    }
  });

  test('config errors', () => {
    assert.throws(() => replacePath({ path: 'health' }, testContext()), /path: "health" must start with "\/"/);
    assert.throws(() => replacePath({ path: '/a/./b' }, testContext()), /path: "\/a\/.\/b" has a "." or ".." segment/);
    assert.throws(() => replacePath({ path: '/100%' }, testContext()), /invalid percent-escape/);
  });
});

describe('replacePathRegex', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness(replacePathRegex({ regex: '^/v1/(.*)', replacement: '/v2/$1' }, testContext()));
  });
  after(() => harness.close());

  test('replaces matching paths with Go template expansion and sets X-Replaced-Path', () =>
    expectPaths(harness, 'x-replaced-path', [
      { request: '/v1/users/7?x=y', path: '/v2/users/7', query: 'x=y', header: '/v1/users/7' },
      { request: '/v1/', path: '/v2/', header: '/v1/' },
      { request: '/v3/users', path: '/v3/users' },
    ]));

  test('templates: ${n}, named groups, $$, a result without a leading slash', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['^/api/(?P<version>v[0-9])/(.*)', '/${version}/${2}', '/api/v3/items', '/v3/items'],
      ['^/a/(.*)', '/b/${1}x', '/a/q', '/b/qx'],
      ['^/a/(.*)', '/b/$1x', '/a/q', '/b/'], // Go reads $1x as the group named "1x"
      ['^/a/(.*)', '/cost$$/$1', '/a/q', '/cost$/q'],
      ['^/a', 'b', '/a/q', '/b/q'], // a leading slash is added
      ['o', '0', '/foo/boo', '/f00/b00'], // every match is replaced, as ReplaceAllString
    ];
    for (const [regex, replacement, request, path] of cases) {
      const h = await startHarness(replacePathRegex({ regex, replacement }, testContext()));
      try {
        assert.equal(echoOf(await send(h, request)).path, path, `${regex} → ${replacement} on ${request}`);
      } finally {
        await h.close();
      }
    }
  });

  test('refuses a result with a dot-segment, and a result with a bad escape', async () => {
    const h = await startHarness(chain(replacePathRegex({ regex: '^/foo(.*)', replacement: '/bar/$1' }, testContext('rw'))));
    try {
      assert.equal(echoOf(await send(h, '/foo/x')).path, '/bar//x');
      const reply = await send(h, '/foo../x');
      assert.equal(reply.status, 400);
      assert.match(problemOf(reply).detail, /middleware "rw" would rewrite the path "\/foo..\/x" to "\/bar\/..\/x"/);
    } finally {
      await h.close();
    }
    const bad = await startHarness(replacePathRegex({ regex: '^/p/(.*)', replacement: '/%$1' }, testContext()));
    try {
      const reply = await send(bad, '/p/zz');
      assert.equal(reply.status, 500);
      assert.equal(problemOf(reply).type, 'https://stampgate.dev/problems/bad-rewrite');
    } finally {
      await bad.close();
    }
  });

  test('config errors', () => {
    assert.throws(() => replacePathRegex({ regex: '[', replacement: '/x' }, testContext()), /regex: invalid regular expression "\["/);
    assert.throws(() => replacePathRegex({ regex: '^/a', replacement: '  ' }, testContext()), /replacement: must not be empty/);
  });
});

describe('helpers', () => {
  test('hasDotSegment', () => {
    const cases: Array<[string, boolean]> = [
      ['/a/b', false], ['/a.b/c', false], ['/..a/b', false], ['/a/..', true], ['/../a', true], ['/./a', true],
      ['/a/%2e%2E/b', true], ['/a/.%2e', true], ['/a/%2E', true], ['..', true], ['/a/...', false], ['/', false], ['', false],
    ];
    for (const [path, expected] of cases) assert.equal(hasDotSegment(path), expected, path);
  });

  test('Go replacement templates', () => {
    assert.deepEqual(parseGoTemplate('/x/$1/${name}/$$/$'), ['/x/', 1, '/', { name: 'name' }, '/$/$']);
    assert.deepEqual(parseGoTemplate('${1'), ['${1']);
    assert.deepEqual(parseGoTemplate('$01'), [{ name: '01' }]);
    const swap = goReplaceAll(/(\w+)@(\w+)/, '$2 at ${1}');
    assert.equal(swap('mail bob@example now'), 'mail example at bob now');
    assert.equal(goReplaceAll(/a/, 'b')('banana'), 'bbnbnb');
    assert.equal(goReplaceAll(/(?<n>\d)/, '<$n>')('a1b2'), 'a<1>b<2>');
  });
});
