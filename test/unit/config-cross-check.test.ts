import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossCheckDynamic, crossCheckStatic, splitProvider } from '../../src/config/cross-check.ts';
import { validateDynamicDocument, validateStaticDocument } from '../../src/config/validate.ts';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import type { StaticConfig } from '../../src/config/schema/static.ts';

function dynamic(document: unknown): DynamicConfig {
  const result = validateDynamicDocument(document);
  assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => i.message).join('\n'));
  return result.value;
}

function staticConfig(document: unknown): StaticConfig {
  const result = validateStaticDocument(document);
  assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => i.message).join('\n'));
  return result.value;
}

function messages(document: unknown, entryPoints?: string[]): string[] {
  return crossCheckDynamic(dynamic(document), entryPoints === undefined ? {} : { entryPoints }).map((issue) => issue.message);
}

const servers = [{ url: 'http://127.0.0.1:3001' }];
const lb = { loadBalancer: { servers } };
const strip = { stripPrefix: { prefixes: ['/api'] } };

test('a consistent config has no issue', () => {
  assert.deepEqual(
    messages(
      {
        http: {
          routers: { web: { rule: 'Path(`/`)', service: 'api@file', middlewares: ['strip', 'both@stampgate'], entryPoints: ['web'], tls: { options: 'modern' } } },
          middlewares: { strip, both: { chain: { middlewares: ['strip'] } } },
          services: { api: { weighted: { services: [{ name: 'a', weight: 1 }, { name: 'b@file', weight: 1 }] } }, a: lb, b: lb },
        },
        tls: { options: { modern: { minVersion: 'VersionTLS13' } } },
      },
      ['web'],
    ),
    [],
  );
});

test('name@provider: the suffix is stripped; unknown providers and internal names are reported', () => {
  assert.deepEqual(splitProvider('auth@file'), { name: 'auth', provider: 'file' });
  assert.deepEqual(splitProvider('auth'), { name: 'auth', provider: undefined });
  assert.deepEqual(
    messages({
      http: {
        routers: {
          a: { rule: 'Path(`/a`)', service: 'api@internal' },
          b: { rule: 'Path(`/b`)', service: 'api@docker', middlewares: ['x@internal', '@file'] },
          c: { rule: 'Path(`/c`)', service: 'nothing@internal' },
        },
      },
    }),
    [
      'http.routers.b.service: unknown provider "docker" in "api@docker" (Stampgate has @file, @stampgate, @internal)',
      'http.routers.b.middlewares[0]: unknown internal middleware "x@internal" (Stampgate has no internal middlewares)',
      'http.routers.b.middlewares[1]: empty middleware name in "@file"',
      'http.routers.c.service: unknown internal service "nothing@internal" (Stampgate has api@internal, dashboard@internal, ping@internal, noop@internal, prometheus@internal)',
    ],
  );
});

test("routers' services, middlewares, entry points and TLS options must exist", () => {
  assert.deepEqual(
    messages(
      {
        http: {
          routers: { web: { rule: 'Path(`/`)', service: 'apii', middlewares: ['strip', 'auth@file'], entryPoints: ['web', 'websecur'], tls: { options: 'modrn' } } },
          middlewares: { strip },
          services: { api: lb },
        },
        tls: { options: { modern: {} } },
      },
      ['web', 'websecure'],
    ),
    [
      'http.routers.web.service: unknown service "apii" (did you mean "api"?)',
      'http.routers.web.middlewares[1]: unknown middleware "auth"',
      'http.routers.web.tls.options: unknown TLS options "modrn" (did you mean "modern"?)',
      'http.routers.web.entryPoints[1]: unknown entry point "websecur" (did you mean "websecure"?) (defined: web, websecure)',
    ],
  );
  // TLS options "default" always exist, and without the entry point list routers' entryPoints are not checked.
  assert.deepEqual(messages({ http: { routers: { web: { rule: 'Path(`/`)', service: 'api', entryPoints: ['any'], tls: { options: 'default' } } }, services: { api: lb } } }), []);
});

test('chains: members must exist and must not loop', () => {
  assert.deepEqual(
    messages({
      http: {
        middlewares: {
          a: { chain: { middlewares: ['b'] } },
          b: { chain: { middlewares: ['strip', 'a@file'] } },
          self: { chain: { middlewares: ['self'] } },
          missing: { chain: { middlewares: ['nope'] } },
          strip,
        },
      },
    }),
    ['http.middlewares.missing.chain.middlewares[0]: unknown middleware "nope"', 'http.middlewares.b.chain.middlewares[1]: chain cycle: a -> b -> a', 'http.middlewares.self.chain.middlewares[0]: chain cycle: self -> self'],
  );
});

test('weighted, mirroring and failover services: targets must exist and must not loop', () => {
  assert.deepEqual(
    messages({
      http: {
        services: {
          w: { weighted: { services: [{ name: 'm', weight: 1 }, { name: 'ghost', weight: 1 }] } },
          m: { mirroring: { service: 'f', mirrors: [{ name: 'lb', percent: 10 }] } },
          f: { failover: { service: 'lb', fallback: 'w' } },
          lb,
        },
      },
    }),
    ['http.services.w.weighted.services[1].name: unknown service "ghost"', 'http.services.f.failover.fallback: service cycle: w -> m -> f -> w'],
  );
});

test('stamps: unique ids and aliases, a real default stamp, tenants on real stamps, keys with names', () => {
  const stamp = (id: string, aliases?: string[]): Record<string, unknown> => ({ id, servers, ...(aliases ? { aliases } : {}) });
  assert.deepEqual(
    messages({
      http: {
        services: {
          app: {
            stamps: {
              stamps: [stamp('default'), stamp('s1', ['1', 's1']), stamp('s2', ['1', 'default']), stamp('s1')],
              defaultStamp: 's3',
              tenants: { acme: 's1', globex: '2', initech: '1' },
              keys: [{ from: 'header', kind: 'tenant' }, { from: 'host', kind: 'tenant' }],
            },
          },
        },
      },
    }),
    [
      'http.services.app.stamps.stamps[1].aliases[1]: alias "s1" repeats the stamp\'s own id',
      'http.services.app.stamps.stamps[2].aliases[0]: alias "1" is already an alias of stamp "s1"',
      'http.services.app.stamps.stamps[2].aliases[1]: alias "default" is the id of stamp "default"',
      'http.services.app.stamps.stamps[3].id: duplicate stamp id "s1"',
      'http.services.app.stamps.defaultStamp: unknown stamp "s3" (did you mean "s1"?) (stamps: default, s1, s2, s1)',
      'http.services.app.stamps.tenants.globex: unknown stamp "2" (did you mean "1"?) (stamps: default, s1, s2, s1)',
      'http.services.app.stamps.keys[0]: missing required key "name" (the header to read) when from is "header"',
    ],
  );
});

test('server URLs must parse', () => {
  assert.deepEqual(messages({ http: { services: { api: { loadBalancer: { servers: [{ url: 'http://' }, { url: 'http://ok:80' }] } } } } }), ['http.services.api.loadBalancer.servers[0].url: invalid URL "http://"']);
});

test('static: file provider source, addresses, redirections and ping', () => {
  const issues = crossCheckStatic(
    staticConfig({
      entryPoints: {
        web: { address: ':80', http: { redirections: { entryPoint: { to: 'websecur' } } } },
        other: { address: '0.0.0.0:80' },
        big: { address: ':99999' },
        loop: { address: ':81', http: { redirections: { entryPoint: { to: 'loop' } } } },
        port: { address: ':82', http: { redirections: { entryPoint: { to: ':443' } } } },
        websecure: { address: '127.0.0.1:443' },
      },
      providers: { file: { filename: 'a.yml', directory: 'conf' } },
      ping: { entryPoint: 'wbe' },
    }),
  ).map((issue) => issue.message);
  assert.deepEqual(issues, [
    'providers.file: filename and directory are mutually exclusive; set one of them',
    'entryPoints.web.http.redirections.entryPoint.to: unknown entry point "websecur" (did you mean "websecure"?) (defined: web, other, big, loop, port, websecure)',
    'entryPoints.other.address: "0.0.0.0:80" is also the address of entry point "web"',
    'entryPoints.big.address: port 99999 is out of range (0 to 65535)',
    'entryPoints.loop.http.redirections.entryPoint.to: entry point "loop" redirects to itself',
    'ping.entryPoint: unknown entry point "wbe" (did you mean "web"?) (defined: web, other, big, loop, port, websecure)',
  ]);
  assert.deepEqual(crossCheckStatic(staticConfig({ entryPoints: { web: { address: ':80' } }, providers: { file: {} } })).map((i) => i.message), [
    'providers.file: expected filename or directory, found neither',
  ]);
});
