// The gateway's own request-head parser (src/gateway/http1/request-head.ts): what it reads from
// valid heads, how it combines repeated headers (as node:http does), and every head it must refuse
// because two parsers could read it differently (request smuggling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasToken } from '../../src/gateway/http1/field-syntax.ts';
import { parseRequestHead, RequestHeadError, type RequestHead } from '../../src/gateway/http1/request-head.ts';

/** A head from its lines (the caller's text before the blank line, without it). */
function head(...lines: string[]): string {
  return lines.join('\r\n');
}

function refusal(text: string): RequestHeadError {
  try {
    parseRequestHead(text);
  } catch (error) {
    assert.ok(error instanceof RequestHeadError, `expected a RequestHeadError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

function assertRefused(text: string, status: number, code: string): void {
  const error = refusal(text);
  assert.equal(error.status, status, `${JSON.stringify(text)}: ${error.message}`);
  assert.equal(error.code, code, `${JSON.stringify(text)}: ${error.message}`);
}

test('a plain GET: request line, headers in order and case, no body, keep-alive', () => {
  const parsed = parseRequestHead(head('GET /items?id=7 HTTP/1.1', 'Host: example.com', 'X-Trace-ID: abc', 'accept: */*'));
  assert.equal(parsed.method, 'GET');
  assert.equal(parsed.target, '/items?id=7');
  assert.equal(parsed.versionMinor, 1);
  assert.deepEqual(parsed.rawHeaders, ['Host', 'example.com', 'X-Trace-ID', 'abc', 'accept', '*/*']);
  assert.deepEqual({ ...parsed.headers }, { host: 'example.com', 'x-trace-id': 'abc', accept: '*/*' });
  assert.equal(parsed.contentLength, -1);
  assert.equal(parsed.chunked, false);
  assert.equal(parsed.close, false);
  assert.equal(parsed.upgrade, false);
  assert.equal(parsed.expectContinue, false);
});

test('a request line alone (no headers) is a valid head', () => {
  const parsed = parseRequestHead('GET / HTTP/1.1');
  assert.deepEqual(parsed.rawHeaders, []);
  assert.deepEqual({ ...parsed.headers }, {});
});

test('every token is a method: standard, WebDAV, extension methods', () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH', 'X_CUSTOM', 'get']) {
    assert.equal(parseRequestHead(`${method} / HTTP/1.1\r\nHost: a`).method, method);
  }
  assert.equal(parseRequestHead('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443').target, 'example.com:443');
});

test('request targets are kept exactly as sent: origin, absolute, asterisk and authority forms, escapes, obs-text', () => {
  for (const target of ['/', '/a/b/../c?x=1&y=%20z#frag', 'http://example.com/x?y', '*', 'example.com:8443', '/caf\xe9', '/%00%2F', "/!$&'()*+,;=:@~"]) {
    assert.equal(parseRequestHead(`OPTIONS ${target} HTTP/1.1\r\nHost: a`).target, target);
  }
});

test('HTTP/1.0 closes unless it asks for keep-alive; HTTP/1.1 keeps alive unless it asks to close', () => {
  const cases: Array<[string, boolean]> = [
    ['GET / HTTP/1.0', true],
    ['GET / HTTP/1.0\r\nConnection: keep-alive', false],
    ['GET / HTTP/1.0\r\nConnection: Keep-Alive', false],
    ['GET / HTTP/1.0\r\nConnection: close', true],
    ['GET / HTTP/1.0\r\nConnection: foo, keep-alive', false],
    ['GET / HTTP/1.1', false],
    ['GET / HTTP/1.1\r\nConnection: close', true],
    ['GET / HTTP/1.1\r\nConnection: CLOSE', true],
    ['GET / HTTP/1.1\r\nConnection: keep-alive, close', true],
    ['GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close', true],
    ['GET / HTTP/1.1\r\nConnection: keep-alive', false],
    ['GET / HTTP/1.1\r\nConnection: closed', false],
    ['GET / HTTP/1.1\r\nConnection: not-close', false],
  ];
  for (const [text, close] of cases) assert.equal(parseRequestHead(text).close, close, JSON.stringify(text));
  assert.equal(parseRequestHead('GET / HTTP/1.0').versionMinor, 0);
  assert.equal(parseRequestHead('GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close').headers.connection, 'keep-alive, close');
});

test('repeated headers are combined as node:http does', () => {
  const parsed = parseRequestHead(
    head(
      'POST / HTTP/1.1',
      'Host: a',
      'Cookie: a=1',
      'Cookie: b=2',
      'Set-Cookie: s=1',
      'Set-Cookie: t=2',
      'Content-Type: text/plain',
      'Content-Type: application/json',
      'User-Agent: first',
      'User-Agent: second',
      'Authorization: Bearer one',
      'Authorization: Bearer two',
      'Referer: /one',
      'Referer: /two',
      'Accept: text/html',
      'accept: application/json',
      'X-Forwarded-For: 10.0.0.1',
      'X-Forwarded-For: 10.0.0.2',
    ),
  );
  assert.equal(parsed.headers.cookie, 'a=1; b=2');
  assert.deepEqual(parsed.headers['set-cookie'], ['s=1', 't=2']);
  assert.equal(parsed.headers['content-type'], 'text/plain');
  assert.equal(parsed.headers['user-agent'], 'first');
  assert.equal(parsed.headers.authorization, 'Bearer one');
  assert.equal(parsed.headers.referer, '/one');
  assert.equal(parsed.headers.accept, 'text/html, application/json');
  assert.equal(parsed.headers['x-forwarded-for'], '10.0.0.1, 10.0.0.2');
  assert.equal(parsed.rawHeaders.length, 34, 'every line stays in rawHeaders');
  assert.deepEqual(parseRequestHead('GET / HTTP/1.1\r\nSet-Cookie: only').headers['set-cookie'], ['only']);
});

test('values lose surrounding spaces and tabs only; empty values are kept', () => {
  const parsed = parseRequestHead(head('GET / HTTP/1.1', 'X-A:   spaced  out \t', 'X-B:', 'X-C:\tx', 'X-D:no-space', 'X-E: caf\xe9 \x80\xff'));
  assert.equal(parsed.headers['x-a'], 'spaced  out');
  assert.equal(parsed.headers['x-b'], '');
  assert.equal(parsed.headers['x-c'], 'x');
  assert.equal(parsed.headers['x-d'], 'no-space');
  assert.equal(parsed.headers['x-e'], 'caf\xe9 \x80\xff', 'obs-text is allowed in values');
  assert.deepEqual(parsed.rawHeaders.slice(0, 4), ['X-A', 'spaced  out', 'X-B', '']);
});

test('Content-Length: the declared length; the same value twice is accepted', () => {
  assert.equal(parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 42').contentLength, 42);
  assert.equal(parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 0').contentLength, 0);
  assert.equal(parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 007').contentLength, 7);
  assert.equal(parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 999999999999999').contentLength, 999999999999999);
  const twice = parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5');
  assert.equal(twice.contentLength, 5);
  assert.equal(twice.headers['content-length'], '5');
  assert.equal(twice.chunked, false);
});

test('Transfer-Encoding: chunked last makes a chunked body, in any case and across header lines', () => {
  for (const text of [
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked',
    'POST / HTTP/1.1\r\nTransfer-Encoding: Chunked',
    'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked',
    'POST / HTTP/1.1\r\nTransfer-Encoding: gzip,chunked',
    'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked',
  ]) {
    const parsed = parseRequestHead(text);
    assert.equal(parsed.chunked, true, JSON.stringify(text));
    assert.equal(parsed.contentLength, -1);
  }
  assert.equal(parseRequestHead('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked').headers['transfer-encoding'], 'gzip, chunked');
});

test('upgrade needs both an Upgrade header and the upgrade token in Connection', () => {
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade').upgrade, true);
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, upgrade').upgrade, true);
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: h2c\r\nConnection: Upgrade').upgrade, true);
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nUpgrade: websocket').upgrade, false, 'no Connection: upgrade');
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nConnection: upgrade').upgrade, false, 'no Upgrade header');
  assert.equal(parseRequestHead('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgraded').upgrade, false);
});

test('Expect: 100-continue, in any case; other expectations are not 100-continue', () => {
  assert.equal(parseRequestHead('PUT / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue').expectContinue, true);
  assert.equal(parseRequestHead('PUT / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-Continue').expectContinue, true);
  assert.equal(parseRequestHead('PUT / HTTP/1.1\r\nExpect: something-else').expectContinue, false);
  assert.equal(parseRequestHead('PUT / HTTP/1.1\r\nExpect: something-else').headers.expect, 'something-else');
});

test('malformed request lines are refused with 400 bad-request-line', () => {
  for (const text of [
    '',
    'GET',
    'GET /',
    'GET / ',
    ' GET / HTTP/1.1',
    'GET  / HTTP/1.1',
    'GET /  HTTP/1.1',
    'GET / HTTP/1.1 ',
    'GET / x HTTP/1.1',
    'GET\t/ HTTP/1.1',
    'G(T / HTTP/1.1',
    'GET: / HTTP/1.1',
    'GET /a\tb HTTP/1.1',
    'GET /a\x00b HTTP/1.1',
    'GET /a\x7fb HTTP/1.1',
    'GET /a\x1bb HTTP/1.1',
    'GET /a\rb HTTP/1.1',
    'GET /a\nb HTTP/1.1',
    'GET / http/1.1',
    'GET / HTTP/1.1x',
    'GET / HTTP/11',
    'GET / HTTP/1',
    'GET / HTTPS/1.1',
    'GET / HTTP/1.1\n',
    'GET / HTTP/1.1\nHost: a',
  ]) {
    assertRefused(text, 400, 'bad-request-line');
  }
});

test('well-formed but unsupported versions are refused with 505', () => {
  for (const version of ['HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/9.9']) assertRefused(`GET / ${version}\r\nHost: a`, 505, 'http-version-not-supported');
});

test('malformed header lines are refused with 400 bad-header', () => {
  for (const line of [
    'X-No-Colon value',
    ': no name',
    'X-Space : before colon',
    'X Space: in name',
    'X\tTab: in name',
    'X-Ctl\x01: in name',
    'X-Quote": in name',
    'X-A: a\rb',
    'X-A: a\nb',
    'X-A: a\x00b',
    'X-A: a\x7fb',
    'X-A: a\x1fb',
    'X-A: \x00',
    '',
  ]) {
    assertRefused(head('GET / HTTP/1.1', 'Host: a', line, 'X-After: 1'), 400, 'bad-header');
  }
});

test('obs-fold (a header continued on an indented line) is refused', () => {
  for (const fold of [' continued', '\tcontinued', ' x: y']) {
    const error = refusal(head('GET / HTTP/1.1', 'Host: a', 'X-Long: first part', fold));
    assert.equal(error.status, 400);
    assert.equal(error.code, 'bad-header');
  }
  assert.match(refusal(head('GET / HTTP/1.1', 'X-Long: first', ' continued')).message, /obs-fold/);
});

test('two Host headers are refused, in any case', () => {
  assertRefused(head('GET / HTTP/1.1', 'Host: a', 'Host: a'), 400, 'bad-header');
  assertRefused(head('GET / HTTP/1.1', 'Host: a', 'host: b'), 400, 'bad-header');
  assertRefused(head('GET / HTTP/1.1', 'HOST: a', 'X: 1', 'hOsT: a'), 400, 'bad-header');
});

test('Content-Length must be digits, and never two different values', () => {
  for (const value of ['abc', '-1', '+5', '5, 5', '5,5', '1e3', '0x10', '5.0', '', '5 5', '1234567890123456']) {
    assertRefused(head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${value}`), 400, 'bad-content-length');
  }
  assertRefused(head('POST / HTTP/1.1', 'Content-Length: 5', 'Content-Length: 6'), 400, 'bad-content-length');
  assertRefused(head('POST / HTTP/1.1', 'Content-Length: 0', 'Content-Length: 1'), 400, 'bad-content-length');
});

test('Content-Length with Transfer-Encoding is refused, in either order', () => {
  assertRefused(head('POST / HTTP/1.1', 'Content-Length: 5', 'Transfer-Encoding: chunked'), 400, 'length-conflict');
  assertRefused(head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Content-Length: 5'), 400, 'length-conflict');
  assertRefused(head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Content-Length: 0'), 400, 'length-conflict');
});

test('Transfer-Encoding must end with chunked, exactly once', () => {
  for (const te of [['gzip'], ['chunked, gzip'], ['chunked', 'gzip'], ['chunked, chunked'], ['chunked', 'chunked'], [''], ['chunked, '], ['identity'], ['chunkedx'], ['x-chunked']]) {
    assertRefused(head('POST / HTTP/1.1', 'Host: a', ...te.map((v) => `Transfer-Encoding: ${v}`)), 400, 'bad-transfer-encoding');
  }
});

test('Transfer-Encoding in an HTTP/1.0 request is refused', () => {
  assertRefused(head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), 400, 'bad-transfer-encoding');
});

// BUG: values are trimmed with String.prototype.trim, which also strips VT, FF, NBSP (0xa0 in
// latin1)… at either end: "chunked\v" is read as chunked and "5\f" as 5, where a strict parser
// in front of or behind the gateway refuses them or reads them differently.
test('framing headers with control characters or NBSP around the value are refused, not trimmed', () => {
  for (const value of ['5\x0b', '\x0b5', '5\x0c', '\xa05', '5\xa0']) {
    assert.throws(() => parseRequestHead(head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${value}`)), RequestHeadError, JSON.stringify(value));
  }
  for (const value of ['chunked\x0b', '\x0cchunked', 'chunked\xa0', '\xa0chunked']) {
    assert.throws(() => parseRequestHead(head('POST / HTTP/1.1', 'Host: a', `Transfer-Encoding: ${value}`)), RequestHeadError, JSON.stringify(value));
  }
  assert.throws(() => parseRequestHead(head('GET / HTTP/1.1', 'Host: a', 'X-A: value\x0b')), RequestHeadError);
});

test('__proto__ is kept in rawHeaders but never becomes a key of the headers object', () => {
  const parsed = parseRequestHead(head('GET / HTTP/1.1', '__proto__: polluted', 'X: 1'));
  assert.deepEqual(parsed.rawHeaders, ['__proto__', 'polluted', 'X', '1']);
  assert.equal(Object.getPrototypeOf(parsed.headers), Object.prototype);
  assert.equal(Object.hasOwn(parsed.headers, '__proto__'), false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

// BUG: the headers object inherits from Object.prototype, so a header named like an inherited
// property is "already present": `Constructor: x` becomes "function Object() { [native code] }, x".
test('a header named after an Object.prototype property reads as sent (node:http gives "x")', () => {
  const parsed = parseRequestHead(head('GET / HTTP/1.1', 'Constructor: x'));
  assert.equal(parsed.headers.constructor, 'x');
});

test('hasToken finds a token in a lower-case comma-separated list', () => {
  assert.equal(hasToken('', 'close'), false);
  assert.equal(hasToken('close', 'close'), true);
  assert.equal(hasToken('keep-alive,close', 'close'), true);
  assert.equal(hasToken('keep-alive , close ', 'close'), true);
  assert.equal(hasToken('closed', 'close'), false);
  assert.equal(hasToken('x-close, upgrade', 'close'), false);
});

function outcome(text: string): RequestHead | RequestHeadError {
  try {
    return parseRequestHead(text);
  } catch (error) {
    if (error instanceof RequestHeadError) return error;
    throw error;
  }
}

test('property: any bytes give a RequestHead or a RequestHeadError with a 4xx/505 status, never another exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const result = outcome(Buffer.from(bytes).toString('latin1'));
      if (result instanceof RequestHeadError) assert.ok(result.status === 400 || result.status === 505);
    }),
    { numRuns: 2000 },
  );
});

const interesting = fc.constantFrom('GET ', 'POST ', '/ ', 'HTTP/1.1', 'HTTP/1.0', '\r\n', '\r', '\n', ':', ' ', '\t', 'Host: a', 'Content-Length: ', 'Transfer-Encoding: ', 'chunked', 'Connection: ', 'close', 'keep-alive', 'upgrade', 'Upgrade: ws', 'Expect: 100-continue', 'Set-Cookie: ', 'Cookie: ', '__proto__', 'constructor', '5', '\x00', '\x0b', '\xa0', ',');

test('property: heads made of HTTP-ish fragments never throw anything but RequestHeadError, and accepted ones are consistent', () => {
  fc.assert(
    fc.property(fc.array(interesting, { maxLength: 30 }), (pieces) => {
      const text = 'GET / HTTP/1.1\r\n' + pieces.join('');
      const result = outcome(text);
      if (result instanceof RequestHeadError) return;
      assert.equal(result.rawHeaders.length % 2, 0);
      assert.ok(!(result.chunked && result.contentLength >= 0), 'never both chunked and a length');
      for (let i = 0; i < result.rawHeaders.length; i += 2) {
        assert.match(result.rawHeaders[i]!, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
        assert.match(result.rawHeaders[i + 1]!, /^[\t\x20-\x7e\x80-\xff]*$/);
      }
    }),
    { numRuns: 3000 },
  );
});

const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
const token = fc.array(tokenChar, { minLength: 1, maxLength: 12 }).map((chars) => chars.join(''));
const fieldValue = fc
  .array(fc.integer({ min: 0x21, max: 0x7e }), { maxLength: 20 })
  .map((codes) => String.fromCharCode(...codes));
const reserved = new Set(['host', 'content-length', 'transfer-encoding', 'connection', '__proto__', 'constructor']);

test('property: a well-formed head parses, keeping every header line in rawHeaders as sent', () => {
  fc.assert(
    fc.property(token, fc.array(fc.tuple(token, fieldValue), { maxLength: 10 }), (method, fields) => {
      const lines = fields.filter(([name]) => !reserved.has(name.toLowerCase()));
      const parsed = parseRequestHead([`${method} /x HTTP/1.1`, ...lines.map(([n, v]) => `${n}: ${v}`)].join('\r\n'));
      assert.equal(parsed.method, method);
      assert.deepEqual(parsed.rawHeaders, lines.flat());
      for (const [name] of lines) assert.ok(parsed.headers[name.toLowerCase()] !== undefined);
    }),
    { numRuns: 1000 },
  );
});
