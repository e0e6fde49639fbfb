// jwt through real HTTP: HS256 tokens made here with jose, and a real JWKS server on port 0
// serving the public half of generated key pairs. Valid tokens go on with their claims as
// upstream headers and their tenant claim as the exchange's tenant; every kind of bad token is a
// 401 problem with an RFC 6750 challenge; an unreachable key set is a 503.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { jwt, type JwtConfig } from '../../src/gateway/middleware/jwt.ts';
import { MiddlewareConfigError, type Middleware } from '../../src/gateway/middleware/middleware.ts';
import { VerifiedTokens } from '../../src/gateway/middleware/verified-tokens.ts';
import { setUpstreamHeader } from '../../src/gateway/pipeline/exchange.ts';
import { echoOf, problemOf, send, startHarness, testContext, type Harness, type Reply } from './middleware-harness.ts';

const secret = 'a-shared-secret-of-at-least-32-bytes!';
const secretKey = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hs(payload: JWTPayload, options: { alg?: string; key?: Uint8Array; exp?: number; iss?: string; aud?: string } = {}): Promise<string> {
  const token = new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? 'HS256' }).setIssuedAt().setExpirationTime(options.exp ?? now() + 300);
  token.setIssuer(options.iss ?? 'https://id.example.test/');
  token.setAudience(options.aud ?? 'books');
  return token.sign(options.key ?? secretKey);
}

/** Shows what the jwt middleware decided about the tenant, as an upstream header the harness records. */
const recordTenant: Middleware = (next) => (exchange) => {
  setUpstreamHeader(exchange, 'x-seen-tenant', exchange.tenant);
  next(exchange);
};

async function withJwt(config: JwtConfig, run: (harness: Harness) => Promise<void>): Promise<void> {
  const middleware = jwt(config, testContext('api-jwt'));
  const harness = await startHarness((next) => middleware(recordTenant(next)));
  try {
    await run(harness);
  } finally {
    await harness.close();
  }
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function assertRefused(reply: Reply, description: string | null): void {
  assert.equal(reply.status, 401);
  assert.equal(reply.headers['www-authenticate'], description === null ? 'Bearer' : `Bearer error="invalid_token", error_description="${description}"`);
  const body = problemOf(reply);
  assert.equal(body.type, 'https://stampgate.dev/problems/unauthorized');
  assert.equal(body.status, 401);
  if (description !== null) assert.equal(body.detail, `middleware "api-jwt" refused the token: ${description}`);
}

const hsConfig: JwtConfig = { secret, issuer: 'https://id.example.test/', audience: 'books', claimsToHeaders: { sub: 'X-User', roles: 'X-Roles', plan: 'X-Plan', limits: 'X-Limits' }, tenantClaim: 'org' };

describe('jwt with a shared secret (HS256)', () => {
  test('a valid token goes on: claims become upstream headers, the tenant claim the tenant', async () => {
    await withJwt(hsConfig, async (harness) => {
      const token = await hs({ sub: 'alice', roles: ['admin', 'reader'], limits: { rps: 5 }, org: 'acme' });
      const reply = await send(harness, '/books', { headers: { authorization: `Bearer ${token}`, 'x-plan': 'spoofed-by-client' } });
      assert.equal(reply.status, 200);
      assert.deepEqual(echoOf(reply).upstreamHeaders, { 'x-user': 'alice', 'x-roles': 'admin,reader', 'x-plan': null, 'x-limits': '{"rps":5}', 'x-seen-tenant': 'acme' });
      // A numeric tenant claim works too; `bearer` is case-insensitive.
      const numeric = await send(harness, '/', { headers: { authorization: `bearer ${await hs({ sub: 'bob', org: 42 })}` } });
      assert.equal(echoOf(numeric).upstreamHeaders['x-seen-tenant'], '42');
      // No tenant claim: the tenant stays unset.
      const none = await send(harness, '/', bearer(await hs({ sub: 'carol' })));
      assert.equal(echoOf(none).upstreamHeaders['x-seen-tenant'], null);
    });
  });

  test('a missing token: 401 with a bare Bearer challenge; a non-bearer Authorization is malformed', async () => {
    await withJwt(hsConfig, async (harness) => {
      const missing = await send(harness, '/');
      assertRefused(missing, null);
      assert.equal(problemOf(missing).detail, 'middleware "api-jwt" needs a bearer token in Authorization');
      const basic = await send(harness, '/', { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
      assert.equal(basic.status, 401);
      assert.equal(basic.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="the token is malformed"');
      assert.equal(problemOf(basic).detail, 'middleware "api-jwt" needs a bearer token in Authorization ("Bearer <token>")');
      assertRefused(await send(harness, '/', { headers: { authorization: 'Bearer not.a.token' } }), 'the token is malformed');
      assert.equal(harness.seen.length, 0);
    });
  });

  test('expired, not yet valid, wrong issuer, wrong audience, wrong algorithm, bad signature', async () => {
    await withJwt(hsConfig, async (harness) => {
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'a' }, { exp: now() - 3600 }))), 'the token has expired');
      const notYet = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example.test/').setAudience('books').setNotBefore(now() + 3600).sign(secretKey);
      assertRefused(await send(harness, '/', bearer(notYet)), 'the token is not valid yet');
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'a' }, { iss: 'https://evil.example.test/' }))), 'the token has an unexpected issuer');
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'a' }, { aud: 'payments' }))), 'the token is not meant for this audience');
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'a' }, { alg: 'HS512' }))), 'the token algorithm is not allowed');
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'a' }, { key: new TextEncoder().encode('another-secret-of-at-least-32-bytes') }))), 'the token signature is invalid');
      const tampered = (await hs({ sub: 'alice', org: 'acme' })).split('.');
      tampered[1] = Buffer.from(JSON.stringify({ sub: 'alice', org: 'globex', iss: 'https://id.example.test/', aud: 'books', exp: now() + 300 })).toString('base64url');
      assertRefused(await send(harness, '/', bearer(tampered.join('.'))), 'the token signature is invalid');
      assert.equal(harness.seen.length, 0);
      // A token a few seconds past its expiry is still accepted (5 s of clock tolerance).
      assert.equal((await send(harness, '/', bearer(await hs({ sub: 'a' }, { exp: now() - 2 })))).status, 200);
    });
  });

  test('a verified token is remembered, but never past its expiry', async () => {
    await withJwt(hsConfig, async (harness) => {
      // Expired 4 s ago: still accepted with 5 s of tolerance, for one more second. (Made just
      // after the clock's second turns, so that it does not turn before the first request.)
      await sleep(1010 - (Date.now() % 1000));
      const token = await hs({ sub: 'alice', org: 'acme' }, { exp: now() - 4 });
      const first = await send(harness, '/', bearer(token));
      assert.equal(first.status, 200);
      const again = await send(harness, '/', bearer(token));
      assert.deepEqual(echoOf(again).upstreamHeaders, echoOf(first).upstreamHeaders); // the same grant, from memory
      await sleep(1100);
      assertRefused(await send(harness, '/', bearer(token)), 'the token has expired');
    });
  });

  test('headerName: the token from another header, "Bearer " optional there; algorithms widen the choice', async () => {
    await withJwt({ secret, headerName: 'X-Api-Token', algorithms: ['HS256', 'HS512'] }, async (harness) => {
      const token = await hs({ sub: 'a' }, { alg: 'HS512' });
      assert.equal((await send(harness, '/', { headers: { 'x-api-token': token } })).status, 200);
      assert.equal((await send(harness, '/', { headers: { 'x-api-token': `Bearer ${token}` } })).status, 200);
      const missing = await send(harness, '/', bearer(token));
      assertRefused(missing, null);
      assert.equal(problemOf(missing).detail, 'middleware "api-jwt" needs a bearer token in X-Api-Token');
    });
  });
});

describe('jwt with a key set (JWKS)', () => {
  const jwks = { server: http.createServer(), url: '', fetches: 0, keys: [] as object[], up: true };
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;

  before(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    jwks.keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      jwks.fetches++;
      if (!jwks.up) {
        res.statusCode = 500;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: jwks.keys }));
    });
    await new Promise<void>((resolve) => jwks.server.listen(0, '127.0.0.1', resolve));
    jwks.url = `http://127.0.0.1:${(jwks.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  after(async () => {
    jwks.server.closeAllConnections();
    await new Promise<void>((resolve) => jwks.server.close(() => resolve()));
  });

  const signed = (alg: 'RS256' | 'ES256', kid: string, payload: JWTPayload = { sub: 'alice', org: 'acme' }) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg, kid })
      .setIssuer('https://id.example.test/')
      .setAudience('books')
      .setExpirationTime(now() + 300)
      .sign(alg === 'RS256' ? rsa.privateKey : ec.privateKey);

  test('tokens signed by the key set verify; the set is fetched once and cached', async () => {
    jwks.fetches = 0;
    jwks.up = true;
    await withJwt({ jwksUrl: jwks.url, issuer: 'https://id.example.test/', audience: 'books', claimsToHeaders: { sub: 'X-User' }, tenantClaim: 'org' }, async (harness) => {
      for (const [alg, kid] of [['RS256', 'rsa-1'], ['ES256', 'ec-1'], ['RS256', 'rsa-1']] as const) {
        const reply = await send(harness, '/', bearer(await signed(alg, kid)));
        assert.equal(reply.status, 200, `${alg}: ${reply.text}`);
        assert.deepEqual(echoOf(reply).upstreamHeaders, { 'x-user': 'alice', 'x-seen-tenant': 'acme' });
      }
      assert.equal(jwks.fetches, 1);
      // Unknown key id: one new fetch is allowed right away... then a 401, without another fetch during the cool-down.
      const other = await generateKeyPair('RS256');
      const stranger = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'unknown' }).setIssuer('https://id.example.test/').setAudience('books').setExpirationTime(now() + 60).sign(other.privateKey);
      assertRefused(await send(harness, '/', bearer(stranger)), 'no key of the key set matches the token');
      const fetchesAfterUnknown = jwks.fetches;
      assertRefused(await send(harness, '/', bearer(stranger)), 'no key of the key set matches the token');
      assert.equal(jwks.fetches, fetchesAfterUnknown);
      // A known key id with a signature of another key.
      const forged = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer('https://id.example.test/').setAudience('books').setExpirationTime(now() + 60).sign(other.privateKey);
      assertRefused(await send(harness, '/', bearer(forged)), 'the token signature is invalid');
      // An HMAC token against a key set: the algorithm is not allowed (no key confusion).
      assertRefused(await send(harness, '/', bearer(await hs({ sub: 'x' }))), 'the token algorithm is not allowed');
    });
  });

  test('algorithms restricts the accepted signatures', async () => {
    await withJwt({ jwksUrl: jwks.url, algorithms: ['ES256'] }, async (harness) => {
      assert.equal((await send(harness, '/', bearer(await signed('ES256', 'ec-1')))).status, 200);
      assertRefused(await send(harness, '/', bearer(await signed('RS256', 'rsa-1'))), 'the token algorithm is not allowed');
    });
  });

  test('jwksCacheDuration: the set is fetched again once the cache has expired', async () => {
    jwks.fetches = 0;
    jwks.up = true;
    await withJwt({ jwksUrl: jwks.url, jwksCacheDuration: '150ms' }, async (harness) => {
      assert.equal((await send(harness, '/', bearer(await signed('ES256', 'ec-1', { sub: 'one' })))).status, 200);
      assert.equal((await send(harness, '/', bearer(await signed('ES256', 'ec-1', { sub: 'two' })))).status, 200);
      assert.equal(jwks.fetches, 1);
      await sleep(200);
      // A token not seen before (a seen one is remembered as verified, without the key set).
      assert.equal((await send(harness, '/', bearer(await signed('ES256', 'ec-1', { sub: 'three' })))).status, 200);
      assert.equal(jwks.fetches, 2);
    });
  });

  test('a key set that cannot be fetched is a 503 problem, not a 401', async () => {
    jwks.up = false;
    const context = testContext('api-jwt');
    const harness = await startHarness(jwt({ jwksUrl: jwks.url }, context));
    try {
      const reply = await send(harness, '/', bearer(await signed('RS256', 'rsa-1')));
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['retry-after'], '5');
      assert.equal(problemOf(reply).type, 'https://stampgate.dev/problems/jwks-unavailable');
      assert.match(context.lines[0]!, /^503 jwt api-jwt request=\S+: the key set at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json is not available: Expected 200 OK/);
    } finally {
      jwks.up = true;
      await harness.close();
    }
    const unreachable = await startHarness(jwt({ jwksUrl: 'http://127.0.0.1:1/jwks.json' }, testContext('api-jwt')));
    try {
      assert.equal((await send(unreachable, '/', bearer(await signed('RS256', 'rsa-1')))).status, 503);
    } finally {
      await unreachable.close();
    }
  });
});

describe('VerifiedTokens', () => {
  const grant = { headers: [['x-user', 'alice']] as const, tenant: 'acme' };

  test('remembers until the token expires, for at most maxAge', () => {
    const tokens = new VerifiedTokens(60_000, 10);
    tokens.remember('a', grant, 5_000, 0);
    tokens.remember('b', grant, null, 0);
    assert.equal(tokens.get('a', 4_999), grant);
    assert.equal(tokens.get('a', 5_000), undefined);
    assert.equal(tokens.get('b', 59_999), grant);
    assert.equal(tokens.get('b', 60_000), undefined);
    tokens.remember('c', grant, 100, 200); // already expired: not kept
    assert.equal(tokens.get('c', 200), undefined);
  });

  test('drops the oldest when full', () => {
    const tokens = new VerifiedTokens(60_000, 3);
    for (const token of ['a', 'b', 'c', 'd']) tokens.remember(token, grant, null, 0);
    assert.equal(tokens.size, 3);
    assert.equal(tokens.get('a', 1), undefined);
    assert.equal(tokens.get('d', 1), grant);
  });
});

describe('jwt config', () => {
  test('errors name the field', () => {
    const context = testContext();
    const configError = (pattern: RegExp) => (e: unknown) => e instanceof MiddlewareConfigError && pattern.test(e.message);
    assert.throws(() => jwt({}, context), configError(/^set exactly one of jwksUrl \(a key set\) and secret \(HMAC\)$/));
    assert.throws(() => jwt({ secret, jwksUrl: 'http://id/jwks' }, context), configError(/^set exactly one of jwksUrl/));
    assert.throws(() => jwt({ secret, algorithms: ['RS256'] }, context), configError(/^algorithms\[0\]: RS256 needs a key set \(jwksUrl\), not a secret$/));
    assert.throws(() => jwt({ jwksUrl: 'http://id/jwks', algorithms: ['ES256', 'HS256'] }, context), configError(/^algorithms\[1\]: HS256 needs a secret, not a key set$/));
    assert.throws(() => jwt({ secret, algorithms: ['none'] }, context), configError(/^algorithms\[0\]: "none" is not one of /));
    assert.throws(() => jwt({ secret, headerName: 'X Token' }, context), configError(/^headerName: "X Token" is not a valid header name$/));
    assert.throws(() => jwt({ secret, claimsToHeaders: { sub: 'X User' } }, context), configError(/^claimsToHeaders\.sub: "X User" is not a valid header name$/));
    assert.throws(() => jwt({ secret, claimsToHeaders: { sub: 'Host' } }, context), configError(/^claimsToHeaders\.sub: Host cannot be set from a claim$/));
    assert.throws(() => jwt({ jwksUrl: 'http://id/jwks', jwksCacheDuration: 'soon' }, context), configError(/^jwksCacheDuration: /));
  });

  test('a short secret is accepted with a warning', () => {
    const context = testContext('short');
    jwt({ secret: 'short' }, context);
    assert.match(context.lines[0]!, /jwt\.secret is shorter than 32 bytes/);
  });
});
