// The upstream response head parser: status line, header block, the headers that decide framing
// and reuse, and what it refuses (injection, smuggling, malformed heads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findHeadEnd, newResponseHead, parseContentLength, parseResponseHead, type ResponseHead } from '../../src/gateway/http1/response-head-parser.ts';

function parse(text: string): { consumed: number; head: ResponseHead } {
  const head = newResponseHead();
  return { consumed: parseResponseHead(text, head), head };
}

function refused(text: string, why: RegExp): void {
  const { consumed, head } = parse(text);
  assert.equal(consumed, -1, `refused: ${JSON.stringify(text)}`);
  assert.match(head.error, why);
}

test('a typical head: status, reason, headers in order with their case, framing fields', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nKeep-Alive: timeout=5\r\n\r\n';
  const { consumed, head } = parse(text);
  assert.equal(consumed, text.length);
  assert.equal(head.statusCode, 200);
  assert.equal(head.statusMessage, 'OK');
  assert.equal(head.minorVersion, 1);
  assert.deepEqual(head.rawHeaders, ['Content-Type', 'text/plain', 'Content-Length', '12', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Keep-Alive', 'timeout=5']);
  assert.equal(head.contentLength, 12);
  assert.equal(head.transferEncoding, false);
  assert.equal(head.keepAliveTimeoutS, 5);
  assert.equal(head.connectionClose, false);
});

test('the parse stops at the first empty line and reports how much it took', () => {
  const text = 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n';
  assert.equal(parse(text).consumed, 'HTTP/1.1 204 No Content\r\n\r\n'.length);
  assert.equal(parse('HTTP/1.1 200 OK\r\nA: b\r\n').consumed, 0, 'no empty line yet');
  assert.equal(parse('HTTP/1.1 200 OK').consumed, 0);
});

test('bare LF line ends are tolerated', () => {
  const { consumed, head } = parse('HTTP/1.1 404 Not Found\nContent-Length: 3\nX-A: b\n\nabc');
  assert.equal(consumed, 'HTTP/1.1 404 Not Found\nContent-Length: 3\nX-A: b\n\n'.length);
  assert.equal(head.statusCode, 404);
  assert.deepEqual(head.rawHeaders, ['Content-Length', '3', 'X-A', 'b']);
});

test('status lines: no reason, empty reason, HTTP/1.0, and malformed ones', () => {
  assert.equal(parse('HTTP/1.1 200\r\n\r\n').head.statusMessage, '');
  assert.equal(parse('HTTP/1.1 200 \r\n\r\n').head.statusCode, 200);
  assert.equal(parse('HTTP/1.1 599 Whatever You Like\r\n\r\n').head.statusMessage, 'Whatever You Like');
  assert.equal(parse('HTTP/1.0 200 OK\r\n\r\n').head.minorVersion, 0);
  refused('HTTP/2 200 OK\r\n\r\n', /status line/);
  refused('HTTP/1.1 20 OK\r\n\r\n', /status line/);
  refused('HTTP/1.1 2000 OK\r\n\r\n', /status line/);
  refused('HTTP/1.1 099 Low\r\n\r\n', /status line/);
  refused('HTTP/1.1  200 OK\r\n\r\n', /status line/);
  refused('ICY 200 OK\r\n\r\n', /status line/);
  refused('<html>\r\n\r\n', /status line/);
  refused('HTTP/1.1 200 O\rK\r\n\r\n', /bare CR/);
});

test('header values lose surrounding whitespace but keep inner whitespace and latin1 bytes', () => {
  const { head } = parse('HTTP/1.1 200 OK\r\nX-A:   spaced  value \t\r\nX-Empty:\r\nX-Latin: caf\u00e9\r\n\r\n');
  assert.deepEqual(head.rawHeaders, ['X-A', 'spaced  value', 'X-Empty', '', 'X-Latin', 'caf\u00e9']);
});

test('header injection and folding are refused', () => {
  refused('HTTP/1.1 200 OK\r\nX-A: a\rInjected: 1\r\n\r\n', /bare CR/);
  refused('HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n', /NUL/);
  refused('HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n\r\n', /folding/);
  refused('HTTP/1.1 200 OK\r\nX A: a\r\n\r\n', /header name/);
  refused('HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n', /header name/);
  refused('HTTP/1.1 200 OK\r\n: a\r\n\r\n', /without a name/);
  refused('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /header name/);
  refused('HTTP/1.1 200 OK\r\nX-\u00e9: a\r\n\r\n', /header name/);
});

test('control bytes other than HTAB are refused anywhere in the head (the forwarder copies values unchecked)', () => {
  refused('HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n', /control byte \(0x01\)/);
  refused('HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n', /control byte \(0x7f\)/);
  refused('HTTP/1.1 200 OK\x1b\r\n\r\n', /control byte \(0x1b\)/);
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\x0b\r\n\r\n', /control byte \(0x0b\)/);
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nX-A: a\tb\r\n\r\n').head.rawHeaders, ['X-A', 'a\tb']);
  assert.equal(parse('HTTP/1.1 200 OK\r\n\r\n\x01 body bytes are not the head\'s').consumed, 19);
});

test('Content-Length: numbers, equal repeats, and refusals', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n').head.contentLength, 0);
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCONTENT-LENGTH: 5\r\n\r\n').head.contentLength, 5);
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n').head.contentLength, 7);
  assert.equal(parse('HTTP/1.1 200 OK\r\nX: y\r\n\r\n').head.contentLength, -1);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', /differing/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', /Content-Length/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /Content-Length/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', /Content-Length/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n', /Content-Length/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n', /Content-Length/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n', /Content-Length/);
  assert.equal(parseContentLength('123456789012345'), 123456789012345);
  assert.equal(parseContentLength('+5'), -1);
});

test('Transfer-Encoding: chunked when final, never with Content-Length, never in HTTP/1.0', () => {
  const chunked = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n').head;
  assert.equal(chunked.transferEncoding, true);
  assert.equal(chunked.chunked, true);
  const notFinal = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n').head;
  assert.equal(notFinal.transferEncoding, true);
  assert.equal(notFinal.chunked, false, 'read until close');
  assert.equal(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n').head.chunked, true, 'a later line continues the list');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', /both/);
  refused('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', /both/);
  refused('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', /HTTP\/1\.0/);
  // Only SP and HTAB are whitespace: a stricter server would not read `chunked<NBSP>` as chunked either.
  const nbsp = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,chunked\u00a0\r\n\r\n').head;
  assert.equal(nbsp.transferEncoding, true);
  assert.equal(nbsp.chunked, false);
  assert.equal(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\tchunked \r\n\r\n').head.chunked, true);
});

test('Connection and Keep-Alive', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n').head.connectionClose, true);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\n\r\n').head.connectionClose, true);
  assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n').head.connectionKeepAlive, true);
  const both = parse('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: x-close, Close\r\n\r\n').head;
  assert.equal(both.connectionKeepAlive, true);
  assert.equal(both.connectionClose, true);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: x-close\r\n\r\n').head.connectionClose, false);
  assert.equal(parse('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=7, max=100\r\n\r\n').head.keepAliveTimeoutS, 7);
  assert.equal(parse('HTTP/1.1 200 OK\r\nKeep-Alive: max=100; Timeout = "3"\r\n\r\n').head.keepAliveTimeoutS, 3);
  assert.equal(parse('HTTP/1.1 200 OK\r\nKeep-Alive: max=100\r\n\r\n').head.keepAliveTimeoutS, -1);
  assert.equal(parse('HTTP/1.1 200 OK\r\n\r\n').head.keepAliveTimeoutS, -1);
});

test('the parse result object is reused: every field is reset', () => {
  const head = newResponseHead();
  parseResponseHead('HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\nKeep-Alive: timeout=2\r\n\r\n', head);
  const first = head.rawHeaders;
  parseResponseHead('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n', head);
  assert.equal(head.statusCode, 201);
  assert.equal(head.minorVersion, 1);
  assert.equal(head.contentLength, -1);
  assert.equal(head.connectionClose, false);
  assert.equal(head.keepAliveTimeoutS, -1);
  assert.equal(head.chunked, true);
  assert.notEqual(head.rawHeaders, first, 'a new header list each time (the handler may keep the old one)');
  assert.equal(first.length, 6);
});

test('findHeadEnd: CRLF and bare-LF ends, from an offset, and a resumed search', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  assert.equal(findHeadEnd(b('HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody'), 0, 0), 25);
  assert.equal(findHeadEnd(b('HTTP/1.1 200 OK\nA: b\n\nbody'), 0, 0), 22);
  assert.equal(findHeadEnd(b('HTTP/1.1 200 OK\r\nA: b\r\n'), 0, 0), -1);
  const two = b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n');
  assert.equal(findHeadEnd(two, 0, 0), 25);
  assert.equal(findHeadEnd(two, 25, 0), two.length);
  assert.equal(findHeadEnd(b('HTTP/1.1 200 OK\r\nA: b\r\n\r\n'), 0, 21), 25, 'a search resumed 3 bytes before the old end still finds it');
});
