// redirectScheme and redirectRegex through real HTTP: Location, status per method and
// `permanent`, and requests that pass on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { hostHeaderPort, redirectStatus } from '../../src/gateway/middleware/redirect.ts';
import { redirectRegex } from '../../src/gateway/middleware/redirect-regex.ts';
import { redirectScheme } from '../../src/gateway/middleware/redirect-scheme.ts';
import { echoOf, problemOf, send, startHarness, testContext } from './middleware-harness.ts';

describe('redirectScheme', () => {
  test('redirects to the target scheme and port, as Traefik composes the URL', async () => {
    const cases: Array<{ config: { scheme: string; port?: string; permanent?: boolean }; secure?: boolean; host: string; target: string; method?: string; status: number; location?: string }> = [
      { config: { scheme: 'https' }, host: 'shop.example.com', target: '/a?b=1', status: 302, location: 'https://shop.example.com/a?b=1' },
      { config: { scheme: 'https' }, host: 'shop.example.com:8080', target: '/', status: 302, location: 'https://shop.example.com/' },
      { config: { scheme: 'https' }, host: 'shop.example.com:80', target: '/x', status: 302, location: 'https://shop.example.com/x' },
      { config: { scheme: 'https', port: '8443' }, host: 'Shop.Example.com', target: '/x', status: 302, location: 'https://shop.example.com:8443/x' },
      { config: { scheme: 'https', port: '443' }, host: 'h', target: '/x', status: 302, location: 'https://h/x' },
      { config: { scheme: 'https', permanent: true }, host: 'h', target: '/x', status: 301, location: 'https://h/x' },
      { config: { scheme: 'https', permanent: true }, host: 'h', target: '/x', method: 'POST', status: 308, location: 'https://h/x' },
      { config: { scheme: 'https' }, host: 'h', target: '/x', method: 'PUT', status: 307, location: 'https://h/x' },
      { config: { scheme: 'https' }, host: 'h', target: '/x', method: 'HEAD', status: 307, location: 'https://h/x' },
      { config: { scheme: 'https' }, host: '[::1]:8080', target: '/x', status: 302, location: 'https://[::1]/x' },
      { config: { scheme: 'http' }, secure: true, host: 'h:443', target: '/x', status: 302, location: 'http://h/x' },
      // Already on the target scheme and port: passes on.
      { config: { scheme: 'https' }, secure: true, host: 'h', target: '/x', status: 200 },
      { config: { scheme: 'https' }, secure: true, host: 'h:443', target: '/x', status: 200 },
      { config: { scheme: 'https', port: '8443' }, secure: true, host: 'h:8443', target: '/x', status: 200 },
      { config: { scheme: 'HTTPS' }, secure: true, host: 'h', target: '/x', status: 200 },
      // Same scheme, other port: redirects to the configured one.
      { config: { scheme: 'https', port: '8443' }, secure: true, host: 'h', target: '/x', status: 302, location: 'https://h:8443/x' },
    ];
    for (const c of cases) {
      const harness = await startHarness(redirectScheme(c.config, testContext()), { secure: c.secure ?? false });
      try {
        const reply = await send(harness, c.target, { method: c.method ?? 'GET', headers: { host: c.host } });
        const what = `${JSON.stringify(c.config)} ${c.method ?? 'GET'} ${c.secure ? 'https' : 'http'}://${c.host}${c.target}`;
        assert.equal(reply.status, c.status, what);
        assert.equal(reply.headers.location, c.location, what);
        if (c.status !== 200) {
          assert.equal(harness.seen.length, 0, `${what}: no upstream call`);
          assert.equal(reply.text, c.method === 'HEAD' ? '' : { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' }[c.status]);
          assert.equal(typeof reply.headers['x-request-id'], 'string');
        }
      } finally {
        await harness.close();
      }
    }
  });

  test('config errors', () => {
    assert.throws(() => redirectScheme({ scheme: 'ht tp' }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && /scheme: "ht tp" is not a URL scheme/.test(e.message));
    assert.throws(() => redirectScheme({ scheme: 'https', port: 'abc' }, testContext()), /port: "abc" is not a port number/);
    assert.throws(() => redirectScheme({ scheme: 'https', port: '70000' }, testContext()), /port: "70000"/);
  });
});

describe('redirectRegex', () => {
  test('matches the full request URL and redirects to the expanded replacement', async () => {
    const cases: Array<{ regex: string; replacement: string; permanent?: boolean; secure?: boolean; host: string; target: string; method?: string; status: number; location?: string }> = [
      { regex: '^https?://www\\.(.*)', replacement: 'https://${1}', host: 'www.example.com', target: '/a?q=1', status: 302, location: 'https://example.com/a?q=1' },
      { regex: '^http://localhost:8080/(.*)', replacement: 'http://example.org/${1}', permanent: true, host: 'localhost:8080', target: '/x/y', status: 301, location: 'http://example.org/x/y' },
      { regex: '^http://localhost/(.*)', replacement: 'http://example.org/${1}', permanent: true, host: 'localhost', target: '/x', method: 'POST', status: 308, location: 'http://example.org/x' },
      { regex: '^https://(.*)/old/(.*)', replacement: 'https://$1/new/$2', secure: true, host: 'h', target: '/old/page', method: 'DELETE', status: 307, location: 'https://h/new/page' },
      // No match, or a replacement equal to the URL: passes on.
      { regex: '^https?://www\\.(.*)', replacement: 'https://${1}', host: 'example.com', target: '/a', status: 200 },
      { regex: '^(.*)$', replacement: '$1', host: 'h', target: '/same', status: 200 },
    ];
    for (const c of cases) {
      const harness = await startHarness(redirectRegex({ regex: c.regex, replacement: c.replacement, permanent: c.permanent }, testContext()), { secure: c.secure ?? false });
      try {
        const reply = await send(harness, c.target, { method: c.method ?? 'GET', headers: { host: c.host } });
        const what = `${c.regex} → ${c.replacement} for ${c.method ?? 'GET'} ${c.host}${c.target}`;
        assert.equal(reply.status, c.status, what);
        assert.equal(reply.headers.location, c.location, what);
        if (c.status === 200) assert.equal(echoOf(reply).path, c.target);
      } finally {
        await harness.close();
      }
    }
  });

  test('a replacement that is not a valid header value is a 500 problem, not a crash', async () => {
    const harness = await startHarness(redirectRegex({ regex: '^(.*)$', replacement: 'https://x/\u0001$1' }, testContext('bad')));
    try {
      const reply = await send(harness, '/p');
      assert.equal(reply.status, 500);
      const body = problemOf(reply);
      assert.equal(body.type, 'https://stampgate.dev/problems/bad-redirect');
      assert.match(body.detail, /middleware "bad"/);
    } finally {
      await harness.close();
    }
  });

  test('config errors name the pattern', () => {
    assert.throws(() => redirectRegex({ regex: '^(http', replacement: 'x' }, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && e.message.startsWith('regex: invalid regular expression "^(http"'));
  });
});

test('redirect helpers', () => {
  const ports: Array<[string | undefined, string]> = [[undefined, ''], ['h', ''], ['h:81', '81'], ['[::1]', ''], ['[::1]:8080', '8080'], ['1.2.3.4:5', '5']];
  for (const [host, port] of ports) assert.equal(hostHeaderPort(host), port, String(host));
  assert.deepEqual(['GET', 'POST', 'HEAD'].map((m) => [redirectStatus(m, false), redirectStatus(m, true)]), [[302, 301], [307, 308], [307, 308]]);
});
