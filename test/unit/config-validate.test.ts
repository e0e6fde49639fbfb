import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configIssue, formatPath } from '../../src/config/config-error.ts';
import { locateIssues, parseConfigText } from '../../src/config/parse-file.ts';
import { validateDynamicDocument, validateStaticDocument } from '../../src/config/validate.ts';

function dynamicMessages(document: unknown): string[] {
  const result = validateDynamicDocument(document);
  assert.equal(result.ok, false, 'expected the document to be invalid');
  return result.ok ? [] : result.issues.map((issue) => issue.message);
}

function staticMessages(document: unknown): string[] {
  const result = validateStaticDocument(document);
  assert.equal(result.ok, false, 'expected the document to be invalid');
  return result.ok ? [] : result.issues.map((issue) => issue.message);
}

const lb = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:3001' }] } };

test('a wrong type names the path, what was expected and what was found', () => {
  assert.deepEqual(dynamicMessages({ http: { routers: { web: { rule: 42, service: 'api' } } } }), ['http.routers.web.rule: expected a string, found 42']);
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'http://a', weight: 1.5 }], passHostHeader: 'yes' } } } } }), [
    'http.services.api.loadBalancer.servers[0].weight: expected an integer, found 1.5',
    'http.services.api.loadBalancer.passHostHeader: expected true or false, found "yes"',
  ]);
  assert.deepEqual(dynamicMessages({ http: { routers: 'web' } }), ['http.routers: expected a map, found "web"']);
});

test('an unknown key is named, with the likely intended key', () => {
  assert.deepEqual(staticMessages({ entryPoints: { web: { adress: ':80' } } }), ['entryPoints.web.adress: unknown key "adress" (did you mean "address"?)']);
  assert.deepEqual(dynamicMessages({ http: { routers: { web: { rule: 'Path(`/`)', service: 'api', colour: 'red' } } } }), ['http.routers.web.colour: unknown key "colour"']);
});

test('a key Stampgate does not support from Traefik is an error that says so', () => {
  assert.deepEqual(dynamicMessages({ http: { middlewares: { cb: { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5' } } } } }), [
    'http.middlewares.cb.circuitBreaker: Traefik middleware "circuitBreaker" is not supported by Stampgate',
  ]);
  assert.deepEqual(staticMessages({ entryPoints: { web: { address: ':80', http3: {} } }, hostResolver: {} }), [
    'hostResolver: Traefik section "hostResolver" is not supported by Stampgate',
    'entryPoints.web.http3: Traefik key "http3" is not supported by Stampgate',
  ]);
  assert.deepEqual(staticMessages({ entryPoints: { web: { address: ':80' } }, providers: { docker: {} } }), [
    'providers.docker: Traefik provider "docker" is not supported by Stampgate (Stampgate has the file provider and its own stampgate provider)',
  ]);
  assert.deepEqual(dynamicMessages({ tcp: { routers: {} } }), ['tcp: Traefik section "tcp" is not supported by Stampgate (Stampgate routes HTTP only)']);
});

test('static keys in a dynamic file, and the reverse, say where they belong', () => {
  assert.deepEqual(dynamicMessages({ entryPoints: { web: { address: ':80' } } }), ['entryPoints: "entryPoints" belongs in the static configuration, not in a dynamic configuration file']);
  assert.deepEqual(staticMessages({ entryPoints: { web: { address: ':80' } }, http: {} }), [
    'http: "http" belongs in a dynamic configuration file (the one providers.file names), not in the static configuration',
  ]);
});

test('"exactly one of" objects: none, several, or an unknown kind', () => {
  assert.deepEqual(dynamicMessages({ http: { middlewares: { strip: {} } } }), ['http.middlewares.strip: expected exactly one middleware kind, found none']);
  assert.deepEqual(dynamicMessages({ http: { middlewares: { strip: { stripPrefix: { prefixes: ['/a'] }, addPrefix: { prefix: '/b' } } } } }), [
    'http.middlewares.strip: expected exactly one middleware kind, found 2: stripPrefix, addPrefix',
  ]);
  assert.deepEqual(dynamicMessages({ http: { middlewares: { x: { stripPrefixx: { prefixes: ['/a'] } } } } }), [
    'http.middlewares.x.stripPrefixx: unknown middleware "stripPrefixx" (did you mean "stripPrefix"?)',
  ]);
  assert.deepEqual(dynamicMessages({ http: { services: { api: {} } } }), [
    'http.services.api: expected exactly one service kind (loadBalancer, weighted, mirroring, failover or stamps), found none',
  ]);
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancr: lb.loadBalancer } } } }), [
    'http.services.api.loadBalancr: unknown service kind "loadBalancr" (did you mean "loadBalancer"?)',
  ]);
});

test("a union's errors collapse into one message", () => {
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'http://a' }], strategy: 'rr' } } } } }), [
    'http.services.api.loadBalancer.strategy: expected one of "wrr", "p2c" or "hrw", found "rr" (did you mean "wrr"?)',
  ]);
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'http://a' }], healthCheck: { interval: '10x', timeout: true } } } } } }), [
    'http.services.api.loadBalancer.healthCheck.interval: invalid duration "10x": unknown unit "x" (use ns, us, ms, s, m or h)',
    'http.services.api.loadBalancer.healthCheck.timeout: expected a duration such as "10s", "250ms", "1m30s", or a number of seconds, found true',
  ]);
});

test('patterns, ranges, lengths and required keys read as sentences', () => {
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'ftp://x' }] } } } } }), [
    'http.services.api.loadBalancer.servers[0].url: expected an http:// or https:// URL, found "ftp://x"',
  ]);
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [] } } } } }), ['http.services.api.loadBalancer.servers: expected at least one item, found none']);
  assert.deepEqual(dynamicMessages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'http://a' }], healthCheck: { port: 70000, path: 'ready' } } } } } }), [
    'http.services.api.loadBalancer.healthCheck.path: expected a path starting with "/", found "ready"',
    'http.services.api.loadBalancer.healthCheck.port: expected an integer from 1 to 65535, found 70000',
  ]);
  assert.deepEqual(dynamicMessages({ http: { routers: { web: { rule: '', service: 'api' } } } }), ['http.routers.web.rule: expected a non-empty string, found ""']);
  assert.deepEqual(dynamicMessages({ http: { routers: { web: { rule: 'Path(`/`)' } } } }), ['http.routers.web: missing required key "service"']);
  // A misspelled required key is reported once, as the misspelling.
  assert.deepEqual(dynamicMessages({ http: { routers: { web: { rule: 'Path(`/`)', servce: 'api' } } } }), ['http.routers.web.servce: unknown key "servce" (did you mean "service"?)']);
  assert.deepEqual(staticMessages({ entryPoints: {} }), ['entryPoints: expected at least one entry, found none']);
  assert.deepEqual(staticMessages({ entryPoints: { 'web.1': { address: ':80' } } }), ['entryPoints["web.1"]: invalid name "web.1": expected a name matching ^[A-Za-z0-9_-]+$']);
  assert.deepEqual(dynamicMessages({ http: { services: { s: { stamps: { stamps: [{ id: 'S1', servers: [{ url: 'http://a' }] }] } } } } }), [
    'http.services.s.stamps.stamps[0].id: expected 1-63 characters of [a-z0-9-], found "S1"',
  ]);
});

test('every error is returned, not only the first', () => {
  const messages = dynamicMessages({
    http: {
      routers: { a: { rule: 1, service: 2 }, b: { service: 'x' } },
      middlewares: { m: {}, n: { retry: { attempts: 0 } } },
    },
  });
  assert.deepEqual(messages, [
    'http.routers.a.rule: expected a string, found 1',
    'http.routers.a.service: expected a string, found 2',
    'http.routers.b: missing required key "rule"',
    'http.middlewares.m: expected exactly one middleware kind, found none',
    'http.middlewares.n.retry.attempts: expected an integer >= 1, found 0',
  ]);
});

test("Traefik's parser leniencies are kept: key case, null values, comma lists, choice case", () => {
  const result = validateDynamicDocument({
    HTTP: {
      Routers: { web: { Rule: 'Path(`/`)', Service: 'api', EntryPoints: 'web, websecure', middlewares: null } },
      services: { api: { LoadBalancer: { Servers: [{ URL: 'http://a' }], Strategy: 'WRR' } } },
      middlewares: null,
    },
  });
  assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => i.message).join('\n'));
  assert.deepEqual(result.value, {
    http: {
      routers: { web: { rule: 'Path(`/`)', service: 'api', entryPoints: ['web', 'websecure'] } },
      services: { api: { loadBalancer: { servers: [{ url: 'http://a' }], strategy: 'wrr' } } },
    },
  });
  const level = validateStaticDocument({ entryPoints: { web: { address: ':80' } }, log: { level: 'info' } });
  assert.ok(level.ok);
  assert.equal(level.value.log?.level, 'INFO');
  // Names the user chose stay as written.
  const names = validateDynamicDocument({ http: { services: { API: lb } } });
  assert.ok(names.ok);
  assert.deepEqual(Object.keys(names.value.http?.services ?? {}), ['API']);
});

test('paths quote keys that are not plain names', () => {
  assert.equal(formatPath(['http', 'routers', 'my.router', 'middlewares', 0]), 'http.routers["my.router"].middlewares[0]');
  assert.deepEqual(dynamicMessages({ http: { routers: { 'my router': { rule: 5, service: 'a' } } } }), ['http.routers["my router"].rule: expected a string, found 5']);
});

test('ConfigError formats its issues with file, line and column', () => {
  const file = parseConfigText('http:\n  routers:\n    web:\n      rule: 42\n      service: api\n      colour: red\n', 'dynamic.yml');
  const result = validateDynamicDocument(file.document);
  assert.ok(!result.ok);
  const error = new ConfigError(locateIssues(result.issues, file), 'dynamic.yml');
  assert.equal(error.format(), [
    'dynamic.yml: 2 errors',
    '  dynamic.yml:4:7: http.routers.web.rule: expected a string, found 42',
    '  dynamic.yml:6:7: http.routers.web.colour: unknown key "colour"',
  ].join('\n'));
  assert.equal(error.message, error.format());
  assert.equal(new ConfigError([configIssue(['a'], 'bad')], 'x.toml').message, 'x.toml: a: bad');
  assert.deepEqual(JSON.parse(JSON.stringify(error)).issues[0].line, 4);
});

test('a sticky cookie path that would break its Set-Cookie header is refused', () => {
  const sticky = (path: string) => ({ http: { services: { api: { loadBalancer: { ...lb.loadBalancer, sticky: { cookie: { path } } } } } } });
  assert.deepEqual(dynamicMessages(sticky('/a\r\nX-Injected: 1')), [
    'http.services.api.loadBalancer.sticky.cookie.path: expected a cookie path of visible ASCII characters and spaces, without ";", found "/a\\r\\nX-Injected: 1"',
  ]);
  assert.equal(dynamicMessages(sticky('/a; Domain=evil.test')).length, 1);
  // Written as latin1, U+010D U+010A would reach the client as CR LF.
  assert.equal(dynamicMessages(sticky('/a\u010d\u010aX-Injected: 1')).length, 1);
  assert.equal(dynamicMessages(sticky('/caf\u00e9')).length, 1);
  assert.equal(validateDynamicDocument(sticky('/app')).ok, true);
});
