// How the control plane's stamps combine with the file provider's config: the rules of
// compose-config.ts one by one, then a real gateway with a file config (its own router, and a
// `stamps` service as the template with its keys and a middleware in front) following a real
// control plane.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FileProvider } from '../../src/config/file-provider.ts';
import type { DynamicConfig, StampDefinitionConfig } from '../../src/config/schema/dynamic.ts';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { ComposeError, composeDynamicConfig } from '../../src/gateway/providers/compose-config.ts';
import { ControlPlaneProvider } from '../../src/gateway/providers/control-plane-provider.ts';
import { GatewayConfigSources } from '../../src/gateway/providers/gateway-config-sources.ts';
import { echoServer, startServer } from '../helpers/http-servers.ts';

const feed: StampDefinitionConfig[] = [
  { id: 's1', aliases: ['1'], servers: [{ url: 'http://10.0.0.1:3000' }] },
  { id: 's2', servers: [{ url: 'http://10.0.0.2:3000' }], draining: true },
];
const catchAll = { rule: 'PathPrefix(`/`)', priority: 1, service: 'stamps' };

describe('composeDynamicConfig', () => {
  test('the control plane alone: a stamps service of its stamps and a catch-all router', () => {
    const { config, staticTenants, feedStamps } = composeDynamicConfig(undefined, feed);
    assert.deepEqual(config.http?.services, { stamps: { stamps: { stamps: feed } } });
    assert.deepEqual(config.http?.routers, { stamps: catchAll });
    assert.deepEqual(staticTenants, {});
    assert.equal(feedStamps, true);
  });

  test('no stamp from the control plane and no template: no stamps service, no router', () => {
    const { config, feedStamps } = composeDynamicConfig(undefined, []);
    assert.deepEqual(config.http, { routers: {}, services: {} });
    assert.equal(feedStamps, false);
  });

  test('file routers are kept; the catch-all is added unless the file has a router named stamps or one using the service', () => {
    const file: DynamicConfig = { http: { routers: { api: { rule: 'PathPrefix(`/api`)', service: 'api' } }, services: { api: { loadBalancer: { servers: [{ url: 'http://10.0.0.9' }] } } } } };
    const withCatchAll = composeDynamicConfig(file, feed).config;
    assert.deepEqual(Object.keys(withCatchAll.http?.routers ?? {}), ['api', 'stamps']);
    assert.deepEqual(withCatchAll.http?.services?.['api'], file.http?.services?.['api']);

    const named = composeDynamicConfig({ http: { routers: { stamps: { rule: 'Host(`x`)', service: 'api' } }, services: file.http!.services! } }, feed).config;
    assert.deepEqual(named.http?.routers?.['stamps'], { rule: 'Host(`x`)', service: 'api' });

    const using = composeDynamicConfig({ http: { routers: { app: { rule: 'Host(`app`)', service: 'stamps@stampgate' } } } }, feed).config;
    assert.deepEqual(Object.keys(using.http?.routers ?? {}), ['app']);
  });

  test('a file stamps service is the template: keys, default and per-stamp settings kept, stamps from the control plane, static tenants apart', () => {
    const keys = [{ from: 'query' as const, name: 'org', kind: 'tenant' as const }];
    const file: DynamicConfig = {
      http: {
        routers: { tenants: { rule: 'PathPrefix(`/`)', service: 'stamps', middlewares: ['limit'] } },
        services: {
          stamps: {
            stamps: {
              keys,
              defaultStamp: 's1',
              requireKey: true,
              tenants: { legacy: 's1' },
              stamps: [{ id: 's1', servers: [{ url: 'http://placeholder' }], healthCheck: { path: '/health' }, readyPath: '/ready-now' }],
            },
          },
        },
      },
    };
    const { config, staticTenants } = composeDynamicConfig(file, feed);
    const service = config.http?.services?.['stamps']?.stamps;
    assert.deepEqual(service, {
      keys,
      requireKey: true,
      defaultStamp: 's1',
      stamps: [{ healthCheck: { path: '/health' }, readyPath: '/ready-now', ...feed[0]! }, feed[1]!],
    });
    assert.deepEqual(staticTenants, { legacy: 's1' });
    assert.deepEqual(Object.keys(config.http?.routers ?? {}), ['tenants'], 'the file routes to the stamps itself: no catch-all');

    // A default the control plane does not list is dropped (the service falls back to `default`, else the first stamp).
    const other = composeDynamicConfig({ http: { services: { stamps: { stamps: { defaultStamp: 'gone', stamps: [{ id: 'gone', servers: [{ url: 'http://x' }] }] } } } } }, feed);
    assert.equal(other.config.http?.services?.['stamps']?.stamps?.defaultStamp, undefined);
    // Until the control plane lists a stamp, the template's own stamps serve.
    const bootstrap = composeDynamicConfig(file, []);
    assert.deepEqual(bootstrap.config.http?.services?.['stamps']?.stamps?.stamps.map((s) => s.servers[0]!.url), ['http://placeholder']);
    assert.equal(bootstrap.feedStamps, false);
  });

  test('a file service named stamps of another kind is refused with what to do', () => {
    assert.throws(() => composeDynamicConfig({ http: { services: { stamps: { loadBalancer: { servers: [{ url: 'http://x' }] } } } } }, feed), (error: unknown) => {
      assert.ok(error instanceof ComposeError);
      assert.match(error.message, /^http\.services\.stamps: .*defines it as a loadBalancer service; rename it/);
      return true;
    });
  });
});

test('a gateway with a file config and the control plane: file routes, the template\'s keys and middleware in front of the control plane\'s stamps', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-control-compose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [appA, appB, side] = await Promise.all([echoServer('app-a'), echoServer('app-b'), startServer((_req, res) => res.end('side'))]);
  t.after(() => Promise.all([appA.close(), appB.close(), side.close()]));

  const token = `admin-${randomBytes(16).toString('hex')}`;
  const store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', token);
  const app = await createAdminApi({ catalog: new Catalog(store.db), tokens });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await store.db.destroy();
  });
  const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(api + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(response.ok, `${path}: ${response.status} ${await response.text()}`);
  };
  await post('/api/v1/stamps', { id: 's1', driver: 'external', url: appA.url });
  await post('/api/v1/stamps', { id: 's2', driver: 'external', url: appB.url });
  await post('/api/v1/tenants', { id: 'acme', stamp: 's2' });

  // The file: its own router and service, and the `stamps` service as the template (the file
  // provider checks references within the file, so a router using the stamps names it here).
  writeFileSync(join(dir, 'dynamic.yml'), [
    'http:',
    '  routers:',
    '    side:',
    '      rule: PathPrefix(`/side`)',
    '      service: side',
    '    tenants:',
    '      rule: PathPrefix(`/`)',
    '      middlewares: [mark]',
    '      service: stamps@stampgate',
    '  middlewares:',
    '    mark:',
    '      headers:',
    '        customRequestHeaders: { X-Via: file-template }',
    '  services:',
    '    side:',
    '      loadBalancer:',
    `        servers: [{ url: "${side.url}" }]`,
    '    stamps:',
    '      stamps:',
    '        keys: [{ from: query, name: org, kind: tenant }]',
    '        tenants: { legacy: s1, acme: s1 }',
    '        stamps:',
    `          - { id: s1, servers: [{ url: "http://127.0.0.1:1" }] }`,
    '',
  ].join('\n'));
  const files = new FileProvider({ filename: join(dir, 'dynamic.yml'), watch: false, entryPoints: ['web'] });
  t.after(() => files.close());
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
  t.after(() => gateway.close());
  const sources = new GatewayConfigSources({ gateway, control: new ControlPlaneProvider({ endpoint: api, token, cacheFile: join(dir, 'cache.json') }) });
  t.after(() => sources.close());
  sources.setFileConfig(await files.start(), files.status().version);
  await sources.start();
  const url = `http://127.0.0.1:${(await gateway.listen()).get('web')!.port}`;

  const get = async (path: string) => {
    const response = await fetch(url + path);
    const text = await response.text();
    return response.status === 200 && text.startsWith('{') ? (JSON.parse(text) as { stamp: string; url: string; headers: Record<string, string> }) : { status: response.status, text };
  };
  assert.deepEqual(await get('/side'), { status: 200, text: 'side' });
  // The control plane places acme on s2 (over the file's acme: s1); the file's legacy tenant stays on s1.
  const acme = await get('/books?org=acme');
  assert.ok('stamp' in acme);
  assert.equal(acme.stamp, 'app-b');
  assert.equal(acme.headers['x-via'], 'file-template');
  assert.equal(((await get('/books?org=legacy')) as { stamp: string }).stamp, 'app-a');
  // X-Tenant-Id is not among the template's keys: no key means the default stamp (s1, the first).
  const byHeader = await fetch(`${url}/books`, { headers: { 'x-tenant-id': 'acme' } });
  assert.equal(((await byHeader.json()) as { stamp: string }).stamp, 'app-a');
});
