// forwardAuth against a real auth server on port 0: what the auth request carries, how 2xx and
// other answers are applied, cookies, forwardBody (the upstream still gets the same body), trust
// of X-Forwarded-* headers, and an auth server that is down or slow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { forwardAuth, type ForwardAuthConfig } from '../../src/gateway/middleware/forward-auth.ts';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { createExchange } from '../../src/gateway/pipeline/create-exchange.ts';
import { startHttp1Server } from '../helpers/http1-server.ts';
import { echoOf, problemOf, send, startHarness, testContext, type Harness, type HarnessOptions, type SendOptions } from './middleware-harness.ts';

interface AuthRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

type AuthAnswer = (request: AuthRequest, res: http.ServerResponse) => void;

/** The auth server: records each request, answers with the current `answer`. */
const auth = {
  server: http.createServer(),
  url: '',
  seen: [] as AuthRequest[],
  answer: ((_request, res) => res.end()) as AuthAnswer,
};

before(async () => {
  auth.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: AuthRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() };
      auth.seen.push(request);
      auth.answer(request, res);
    });
  });
  await new Promise<void>((resolve) => auth.server.listen(0, '127.0.0.1', resolve));
  auth.url = `http://127.0.0.1:${(auth.server.address() as AddressInfo).port}`;
});

after(async () => {
  auth.server.closeAllConnections();
  await new Promise<void>((resolve) => auth.server.close(() => resolve()));
});

function answer(status: number, headers: Array<[string, string]> = [], body = ''): AuthAnswer {
  return (_request, res) => {
    for (const [name, value] of headers) res.appendHeader(name, value);
    res.statusCode = status;
    res.end(body);
  };
}

async function withAuth(config: Partial<ForwardAuthConfig>, answerWith: AuthAnswer, run: (harness: Harness) => Promise<void>, options: HarnessOptions = {}): Promise<void> {
  auth.seen.length = 0;
  auth.answer = answerWith;
  const harness = await startHarness(forwardAuth({ address: `${auth.url}/verify?app=books`, ...config }, testContext('sso')), options);
  try {
    await run(harness);
  } finally {
    await harness.close();
  }
}

const post = (body: string, headers: Record<string, string> = {}): SendOptions => ({ method: 'POST', body, headers: { 'content-type': 'text/plain', ...headers } });

describe('forwardAuth', () => {
  test('the auth request: GET to the address, the client headers, X-Forwarded-* describing the request', async () => {
    await withAuth({}, answer(200), async (harness) => {
      const reply = await send(harness, '/api/items?page=2', {
        method: 'POST',
        body: 'payload',
        headers: {
          host: 'books.example.test:8080',
          authorization: 'Bearer abc',
          cookie: 'sid=1',
          'x-forwarded-uri': '/spoofed',
          'x-forwarded-method': 'DELETE',
          'x-forwarded-port': '1',
          connection: 'x-hop',
          'x-hop': 'dropped',
        },
      });
      assert.equal(reply.status, 200);
      const [request] = auth.seen;
      assert.equal(request!.method, 'GET');
      assert.equal(request!.url, '/verify?app=books');
      assert.equal(request!.body, ''); // no forwardBody: the body is not sent, and not touched
      const h = request!.headers;
      assert.equal(h.authorization, 'Bearer abc');
      assert.equal(h.cookie, 'sid=1');
      assert.equal(h['x-forwarded-method'], 'POST');
      assert.equal(h['x-forwarded-proto'], 'http');
      assert.equal(h['x-forwarded-host'], 'books.example.test:8080');
      assert.equal(h['x-forwarded-uri'], '/api/items?page=2');
      assert.equal(h['x-forwarded-for'], '127.0.0.1');
      assert.equal(h['x-forwarded-port'], undefined);
      assert.equal(h['x-hop'], undefined);
      assert.equal(h.host, new URL(auth.url).host);
      assert.equal(h['content-length'], undefined);
      const seen = echoOf(reply);
      assert.equal(seen.method, 'POST');
      assert.equal(seen.bodyBytes, 7);
    });
  });

  test('authRequestHeaders: only those client headers (X-Forwarded-* always)', async () => {
    await withAuth({ authRequestHeaders: ['Authorization', 'X-Missing'] }, answer(204), async (harness) => {
      assert.equal((await send(harness, '/', { headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'user-agent': 'test' } })).status, 200);
      const names = auth.seen[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      assert.deepEqual(names.filter((n) => !n.startsWith('x-forwarded-') && n !== 'host' && n !== 'connection'), ['authorization']);
      assert.ok(names.includes('x-forwarded-uri'));
    });
  });

  test('2xx: authResponseHeaders replace the request headers upstream, missing ones are removed', async () => {
    await withAuth({ authResponseHeaders: ['X-Auth-User', 'X-Auth-Groups', 'X-Auth-Email'] }, answer(200, [['X-Auth-User', 'alice'], ['X-Auth-Groups', 'admins'], ['X-Auth-Groups', 'readers'], ['X-Other', 'not copied']]), async (harness) => {
      const reply = await send(harness, '/', { headers: { 'x-auth-user': 'mallory', 'x-auth-email': 'mallory@example.test' } });
      assert.equal(reply.status, 200);
      assert.deepEqual(echoOf(reply).upstreamHeaders, { 'x-auth-user': 'alice', 'x-auth-groups': 'admins, readers', 'x-auth-email': null });
    });
  });

  test('2xx: authResponseHeadersRegex copies matching headers; matching request headers are removed first', async () => {
    await withAuth({ authResponseHeadersRegex: '^X-Auth-' }, answer(200, [['X-Auth-User', 'alice'], ['x-auth-role', 'admin'], ['X-Other', 'no']]), async (harness) => {
      const reply = await send(harness, '/', { headers: { 'x-auth-spoof': 'yes', 'x-auth-user': 'mallory', 'x-kept': 'ok' } });
      assert.deepEqual(echoOf(reply).upstreamHeaders, { 'x-auth-spoof': null, 'x-auth-user': 'alice', 'x-auth-role': 'admin' });
    });
  });

  test('non-2xx: the auth server answer (status, headers, body) is the client answer; the upstream is not asked', async () => {
    await withAuth({}, answer(401, [['WWW-Authenticate', 'Bearer realm="books"'], ['X-Auth-Reason', 'expired'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Type', 'text/plain']], 'token expired'), async (harness) => {
      const reply = await send(harness, '/private');
      assert.equal(reply.status, 401);
      assert.equal(reply.text, 'token expired');
      assert.equal(reply.headers['www-authenticate'], 'Bearer realm="books"');
      assert.equal(reply.headers['x-auth-reason'], 'expired');
      assert.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(reply.headers['content-length'], '13');
      assert.equal(typeof reply.headers['x-request-id'], 'string');
      assert.equal(harness.seen.length, 0);
    });
  });

  test('a relative Location is resolved against the address, unless preserveLocationHeader', async () => {
    const redirect = answer(302, [['Location', '/login?rd=%2Fprivate']]);
    await withAuth({}, redirect, async (harness) => {
      const reply = await send(harness, '/private');
      assert.equal(reply.status, 302);
      assert.equal(reply.headers.location, `${auth.url}/login?rd=%2Fprivate`);
    });
    await withAuth({ preserveLocationHeader: true }, redirect, async (harness) => {
      assert.equal((await send(harness, '/private')).headers.location, '/login?rd=%2Fprivate');
    });
  });

  test('addAuthCookiesToResponse: those cookies of the auth answer replace the upstream ones', async () => {
    const cookies = answer(200, [['Set-Cookie', 'session=fresh; Path=/; HttpOnly'], ['Set-Cookie', 'tracking=no; Path=/']]);
    await withAuth(
      { addAuthCookiesToResponse: ['session'] },
      cookies,
      async (harness) => {
        const reply = await send(harness, '/');
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.headers['set-cookie'], ['keep=1', 'session=fresh; Path=/; HttpOnly']);
      },
      { upstream: { headers: ['Set-Cookie', 'session=stale', 'Set-Cookie', 'keep=1'] } },
    );
  });

  test('forwardBody: the auth server gets the body, and so does the upstream', async () => {
    await withAuth({ forwardBody: true, maxBodySize: 64 }, answer(200), async (harness) => {
      const reply = await send(harness, '/upload', post('hello auth server'));
      assert.equal(reply.status, 200);
      assert.equal(auth.seen[0]!.method, 'GET');
      assert.equal(auth.seen[0]!.body, 'hello auth server');
      assert.equal(auth.seen[0]!.headers['content-length'], '17');
      assert.equal(echoOf(reply).bodyBytes, 17);

      const chunked = await send(harness, '/upload', { method: 'PUT', chunks: [Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')] });
      assert.equal(chunked.status, 200);
      assert.equal(auth.seen[1]!.body, 'one,two,three');
      assert.equal(echoOf(chunked).bodyBytes, 13);

      const empty = await send(harness, '/upload', { method: 'POST', chunks: [] });
      assert.equal(empty.status, 200);
      assert.equal(auth.seen[2]!.body, '');
      assert.equal(echoOf(empty).bodyBytes, 0);

      const none = await send(harness, '/');
      assert.equal(none.status, 200);
      assert.equal(auth.seen[3]!.body, '');
    });
  });

  test('forwardBody: a body over maxBodySize is a 413 problem; the auth server is not asked', async () => {
    await withAuth({ forwardBody: true, maxBodySize: 10 }, answer(200), async (harness) => {
      const declared = await send(harness, '/upload', post('x'.repeat(11)));
      assert.equal(declared.status, 413);
      const body = problemOf(declared);
      assert.equal(body.type, 'https://stampgate.dev/problems/body-too-large');
      assert.equal(body.detail, 'middleware "sso" sends request bodies of up to 10 bytes to its auth server');
      const streamed = await send(harness, '/upload', { method: 'POST', chunks: [Buffer.from('x'.repeat(6)), Buffer.from('x'.repeat(6))] });
      assert.equal(streamed.status, 413);
      assert.equal(auth.seen.length, 0);
      assert.equal(harness.seen.length, 0);
      assert.equal((await send(harness, '/upload', post('x'.repeat(10)))).status, 200);
    });
  });

  test('a large forwarded body arrives whole upstream', async () => {
    const big = Buffer.alloc(300_000, 'b');
    await withAuth({ forwardBody: true, maxBodySize: 1_000_000 }, answer(200), async (harness) => {
      const reply = await send(harness, '/upload', { method: 'POST', body: big });
      assert.equal(reply.status, 200);
      assert.equal(auth.seen[0]!.body.length, big.length);
      assert.equal(echoOf(reply).bodyBytes, big.length);
    });
  });

  test('trustForwardHeader: the client X-Forwarded-* are used when the entrypoint trusts the peer too', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-method': 'PATCH', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.test', 'x-forwarded-uri': '/public/path', 'x-forwarded-port': '443' };
    // Through the harness the peer is not trusted: the gateway's own values.
    await withAuth({ trustForwardHeader: true }, answer(200), async (harness) => {
      await send(harness, '/local', { headers });
      const h = auth.seen[0]!.headers;
      assert.deepEqual([h['x-forwarded-for'], h['x-forwarded-method'], h['x-forwarded-proto'], h['x-forwarded-uri'], h['x-forwarded-port']], ['127.0.0.1', 'GET', 'http', '/local', undefined]);
    });
    // An entrypoint that trusts the peer (forwardedHeaders.trustedIPs).
    auth.seen.length = 0;
    auth.answer = answer(200);
    for (const trustForwardHeader of [true, false]) {
      const handler = forwardAuth({ address: `${auth.url}/verify`, trustForwardHeader }, testContext('sso'))((exchange) => exchange.res.end('ok'));
      const server = await startHttp1Server((req, res) => {
        const exchange = createExchange(req, res, 'web', false, () => true);
        if (exchange !== null) handler(exchange);
      });
      try {
        const port = server.port;
        await new Promise<void>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/local', headers, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
      } finally {
        await server.close();
      }
    }
    const [trusted, untrusted] = auth.seen.map((r) => r.headers);
    assert.deepEqual(
      [trusted!['x-forwarded-for'], trusted!['x-forwarded-method'], trusted!['x-forwarded-proto'], trusted!['x-forwarded-host'], trusted!['x-forwarded-uri'], trusted!['x-forwarded-port']],
      ['203.0.113.9, 127.0.0.1', 'PATCH', 'https', 'public.example.test', '/public/path', '443'],
    );
    assert.deepEqual([untrusted!['x-forwarded-for'], untrusted!['x-forwarded-method'], untrusted!['x-forwarded-uri'], untrusted!['x-forwarded-port']], ['127.0.0.1', 'GET', '/local', undefined]);
  });

  test('an unreachable auth server is a quick 503 problem; a silent one a 504 after the timeout', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const context = testContext('sso');
    const down = await startHarness(forwardAuth({ address: `http://127.0.0.1:${closedPort}/verify` }, context));
    try {
      const started = performance.now();
      const reply = await send(down, '/');
      assert.ok(performance.now() - started < 1000);
      assert.equal(reply.status, 503);
      const body = problemOf(reply);
      assert.equal(body.type, 'https://stampgate.dev/problems/auth-unavailable');
      assert.match(body.detail, new RegExp(`^the auth server at http://127\\.0\\.0\\.1:${closedPort}/verify is not reachable \\(ECONNREFUSED`));
      assert.equal(down.seen.length, 0);
      assert.match(context.lines[0]!, /^503 forwardAuth sso request=\S+: the auth server/);
    } finally {
      await down.close();
    }

    const silent = http.createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const slow = await startHarness(forwardAuth({ address: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/verify` }, testContext('sso'), { connectMs: 500, headersMs: 200, bodyMs: 200 }));
    try {
      const started = performance.now();
      const reply = await send(slow, '/');
      const took = performance.now() - started;
      assert.equal(reply.status, 504);
      assert.equal(problemOf(reply).type, 'https://stampgate.dev/problems/auth-timeout');
      assert.ok(took >= 150 && took < 1500, `took ${took.toFixed(0)} ms`);
    } finally {
      await slow.close();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('config errors name the field', () => {
    const context = testContext();
    const configError = (pattern: RegExp) => (e: unknown) => e instanceof MiddlewareConfigError && pattern.test(e.message);
    assert.throws(() => forwardAuth({ address: 'http://auth', authResponseHeadersRegex: '(' }, context), configError(/^authResponseHeadersRegex: invalid regular expression "\("/));
    assert.throws(() => forwardAuth({ address: 'http://auth', authResponseHeaders: ['X Bad'] }, context), configError(/^authResponseHeaders\[0\]: "X Bad" is not a valid header name$/));
    assert.throws(() => forwardAuth({ address: 'http://auth', authRequestHeaders: ['ok', ''] }, context), configError(/^authRequestHeaders\[1\]: "" is not a valid header name$/));
    assert.throws(() => forwardAuth({ address: 'http://auth', forwardBody: true, maxBodySize: -2 }, context), configError(/^maxBodySize: -2 must be a number of bytes, or -1 for no limit$/));
    assert.throws(() => forwardAuth({ address: 'http://user:pw@auth' }, context), configError(/^address: credentials in the URL are not supported/));
    assert.throws(() => forwardAuth({ address: 'http://' }, context), configError(/^address: "http:\/\/" is not a URL$/));
  });
});
