// headers through real HTTP: custom request/response headers, security headers and the preset,
// allowedHosts, CORS preflights and CORS response headers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type HeadersConfig } from '../../src/gateway/middleware/headers.ts';
import { getJoinedHeader, removeHeader, setHeader } from '../../src/gateway/middleware/header-list.ts';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { echoOf, problemOf, send, startHarness, testContext, type HarnessOptions, type Reply, type SendOptions } from './middleware-harness.ts';

async function call(config: HeadersConfig, path = '/', options: SendOptions = {}, harnessOptions: HarnessOptions = {}): Promise<{ reply: Reply; upstreamCalls: number }> {
  const harness = await startHarness(headers(config, testContext('hdr')), harnessOptions);
  try {
    const reply = await send(harness, path, options);
    return { reply, upstreamCalls: harness.seen.length };
  } finally {
    await harness.close();
  }
}

describe('custom headers', () => {
  test('request headers are set, or removed when the value is empty', async () => {
    const { reply } = await call({ customRequestHeaders: { 'X-Script-Name': 'test', Authorization: '', 'X-Forwarded-For': '' } });
    assert.deepEqual(echoOf(reply).upstreamHeaders, { 'x-script-name': 'test', authorization: null, 'x-forwarded-for': null });
  });

  test('response headers are set over the upstream\'s, or removed when the value is empty', async () => {
    const { reply } = await call({ customResponseHeaders: { 'X-Custom-Response-Header': 'yes', 'X-Upstream': '', Vary: 'Cookie' } });
    assert.equal(reply.headers['x-custom-response-header'], 'yes');
    assert.equal(reply.headers['x-upstream'], undefined);
    assert.equal(reply.headers.vary, 'Cookie');
    assert.equal(reply.headers['content-type'], 'application/json');
  });
});

describe('security headers', () => {
  const presetHeaders = {
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'x-xss-protection': '1; mode=block',
  };

  test('securityPreset gives seed 003\'s headers, HSTS only on TLS', async () => {
    const plain = (await call({ securityPreset: true })).reply;
    for (const [name, value] of Object.entries(presetHeaders)) assert.equal(plain.headers[name], value, name);
    assert.equal(plain.headers['strict-transport-security'], undefined);
    const tls = (await call({ securityPreset: true }, '/', {}, { secure: true })).reply;
    for (const [name, value] of Object.entries(presetHeaders)) assert.equal(tls.headers[name], value, name);
    assert.equal(tls.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });

  test('explicit fields override the preset', async () => {
    const { reply } = await call({ securityPreset: true, frameDeny: false, stsSeconds: 60, stsIncludeSubdomains: false, customBrowserXSSValue: '0' }, '/', {}, { secure: true });
    assert.equal(reply.headers['x-frame-options'], undefined);
    assert.equal(reply.headers['strict-transport-security'], 'max-age=60');
    assert.equal(reply.headers['x-xss-protection'], '0');
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
  });

  test('each field, replacing what the upstream sent', async () => {
    const config: HeadersConfig = {
      stsSeconds: 315360000,
      stsIncludeSubdomains: true,
      stsPreload: true,
      forceSTSHeader: true,
      frameDeny: true,
      customFrameOptionsValue: 'SAMEORIGIN',
      contentTypeNosniff: true,
      browserXssFilter: true,
      contentSecurityPolicy: "default-src 'self'",
      contentSecurityPolicyReportOnly: "script-src 'none'",
      referrerPolicy: 'same-origin',
      permissionsPolicy: 'camera=()',
    };
    const { reply } = await call(config, '/', {}, { upstream: { headers: ['X-Frame-Options', 'ALLOWALL', 'Referrer-Policy', 'unsafe-url'] } });
    assert.equal(reply.headers['strict-transport-security'], 'max-age=315360000; includeSubDomains; preload'); // forced on plain HTTP
    assert.equal(reply.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['x-xss-protection'], '1; mode=block');
    assert.equal(reply.headers['content-security-policy'], "default-src 'self'");
    assert.equal(reply.headers['content-security-policy-report-only'], "script-src 'none'");
    assert.equal(reply.headers['referrer-policy'], 'same-origin');
    assert.equal(reply.headers['permissions-policy'], 'camera=()');
  });

  test('stsSeconds 0 means no HSTS, even forced', async () => {
    const { reply } = await call({ stsSeconds: 0, forceSTSHeader: true, stsIncludeSubdomains: true, contentTypeNosniff: true }, '/', {}, { secure: true });
    assert.equal(reply.headers['strict-transport-security'], undefined);
  });

  test('custom response headers come after the security headers', async () => {
    const { reply } = await call({ securityPreset: true, customResponseHeaders: { 'X-Frame-Options': '', 'X-Content-Type-Options': 'other' } });
    assert.equal(reply.headers['x-frame-options'], undefined);
    assert.equal(reply.headers['x-content-type-options'], 'other');
  });

  test('allowedHosts: other hosts get a 400 problem', async () => {
    const config: HeadersConfig = { allowedHosts: ['shop.example.com', 'admin.example.com:8443'] };
    const cases: Array<[string, number]> = [
      ['shop.example.com', 200],
      ['SHOP.example.com:8080', 200],
      ['admin.example.com:8443', 200],
      ['admin.example.com', 400],
      ['evil.example.com', 400],
    ];
    for (const [host, status] of cases) {
      const { reply, upstreamCalls } = await call(config, '/', { headers: { host } });
      assert.equal(reply.status, status, host);
      if (status === 400) {
        const body = problemOf(reply);
        assert.equal(body.type, 'https://stampgate.dev/problems/host-not-allowed');
        assert.equal(body.status, 400);
        assert.match(body.detail, /middleware "hdr"/);
        assert.equal(upstreamCalls, 0);
      }
    }
  });
});

describe('CORS', () => {
  const cors: HeadersConfig = {
    accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
    accessControlAllowHeaders: ['Content-Type', 'X-Tenant-Id'],
    accessControlAllowOriginList: ['https://app.example.com'],
    accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.example\\.org$'],
    accessControlExposeHeaders: ['X-Request-Id', 'X-Stamp-Id'],
    accessControlMaxAge: 100,
    accessControlAllowCredentials: true,
    addVaryHeader: true,
  };
  const preflight = (origin: string): SendOptions => ({ method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT' } });

  test('a preflight is answered by the gateway with 200', async () => {
    const { reply, upstreamCalls } = await call(cors, '/api', preflight('https://app.example.com'));
    assert.equal(reply.status, 200);
    assert.equal(upstreamCalls, 0);
    assert.equal(reply.text, '');
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(reply.headers['access-control-allow-methods'], 'GET,OPTIONS,PUT');
    assert.equal(reply.headers['access-control-allow-headers'], 'Content-Type,X-Tenant-Id');
    assert.equal(reply.headers['access-control-allow-credentials'], 'true');
    assert.equal(reply.headers['access-control-max-age'], '100');
    assert.equal(typeof reply.headers['x-request-id'], 'string');
  });

  test('a preflight from another origin is answered without Allow-Origin', async () => {
    const { reply, upstreamCalls } = await call(cors, '/api', preflight('https://evil.example.net'));
    assert.equal(reply.status, 200);
    assert.equal(upstreamCalls, 0);
    assert.equal(reply.headers['access-control-allow-origin'], undefined);
  });

  test('a preflight matched by a regex gets its own origin back', async () => {
    const { reply } = await call(cors, '/api', preflight('https://shop.example.org'));
    assert.equal(reply.headers['access-control-allow-origin'], 'https://shop.example.org');
  });

  test('an OPTIONS that is not a preflight goes upstream', async () => {
    const notPreflights: Array<Record<string, string>> = [{ origin: 'https://app.example.com' }, { 'access-control-request-method': 'PUT' }];
    for (const headersSent of notPreflights) {
      const { reply, upstreamCalls } = await call(cors, '/api', { method: 'OPTIONS', headers: headersSent });
      assert.equal(upstreamCalls, 1);
      assert.equal(echoOf(reply).method, 'OPTIONS');
    }
  });

  test('simple requests get the CORS response headers', async () => {
    const allowed = (await call(cors, '/api', { headers: { origin: 'https://app.example.com' } })).reply;
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.equal(allowed.headers['access-control-expose-headers'], 'X-Request-Id,X-Stamp-Id');
    assert.equal(allowed.headers.vary, 'Accept-Encoding,Origin');
    const other = (await call(cors, '/api', { headers: { origin: 'https://evil.example.net' } })).reply;
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers['access-control-allow-credentials'], 'true'); // as Traefik: always set
    const regex = (await call(cors, '/api', { headers: { origin: 'https://x.example.org' } })).reply;
    assert.equal(regex.headers['access-control-allow-origin'], 'https://x.example.org');
  });

  test('a wildcard origin answers * to every request, with or without Origin', async () => {
    const context = testContext('wild');
    headers({ accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true }, context);
    assert.match(context.lines.join('\n'), /wildcard origin/);
    for (const options of [{}, { headers: { origin: 'https://any.example' } }]) {
      const { reply } = await call({ accessControlAllowOriginList: ['*'] }, '/', options);
      assert.equal(reply.headers['access-control-allow-origin'], '*');
      assert.equal(reply.headers.vary, 'Accept-Encoding');
    }
  });

  test('Vary: Origin is added once', async () => {
    const already = (await call({ addVaryHeader: true }, '/', {}, { upstream: { headers: ['Vary', 'origin'] } })).reply;
    assert.equal(already.headers.vary, 'Accept-Encoding, origin');
    const twoLines = (await call({ addVaryHeader: true, accessControlAllowOriginList: ['https://a'] }, '/', {}, { upstream: { headers: ['Vary', 'Cookie'] } })).reply;
    assert.equal(twoLines.headers.vary, 'Accept-Encoding, Cookie,Origin');
  });
});

describe('config errors', () => {
  const cases: Array<[HeadersConfig, RegExp]> = [
    [{}, /nothing to do/],
    [{ customRequestHeaders: {} }, /nothing to do/],
    [{ customRequestHeaders: { 'Bad Name': 'x' } }, /customRequestHeaders: "Bad Name" is not a valid header name/],
    [{ customResponseHeaders: { 'X-A': 'line\r\nInjected: yes' } }, /customResponseHeaders\.X-A: the value has a character not allowed/],
    [{ customResponseHeaders: { 'Content-Length': '5' } }, /Content-Length is managed by the gateway/],
    [{ customRequestHeaders: { 'Transfer-Encoding': 'chunked' } }, /Transfer-Encoding is managed by the gateway/],
    [{ contentSecurityPolicy: "default-src 'self'\n" }, /contentSecurityPolicy: the value has a character/],
    [{ accessControlAllowOriginListRegex: ['^https://ok$', '(bad'] }, /accessControlAllowOriginListRegex\[1\]: invalid regular expression "\(bad"/],
  ];
  for (const [config, message] of cases) {
    test(JSON.stringify(config), () => {
      assert.throws(() => headers(config, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && message.test(e.message));
    });
  }
});

test('flat header list helpers', () => {
  const list = ['Content-Type', 'text/plain', 'Vary', 'a', 'set-cookie', 'x=1', 'VARY', 'b'];
  assert.equal(getJoinedHeader(list, 'vary'), 'a, b');
  setHeader(list, 'vary', 'Vary', 'c');
  assert.deepEqual(list, ['Content-Type', 'text/plain', 'set-cookie', 'x=1', 'Vary', 'c']);
  removeHeader(list, 'content-type');
  assert.deepEqual(list, ['set-cookie', 'x=1', 'Vary', 'c']);
  assert.equal(getJoinedHeader(list, 'missing'), undefined);
});
