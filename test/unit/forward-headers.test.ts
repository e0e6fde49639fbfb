import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Http1Request } from '../../src/gateway/http1/server-request.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/gateway/proxy/forward-headers.ts';

// A request as the gateway's server hands it over: only the fields the header builder reads.
function request(rawHeaders: string[], remoteAddress = '203.0.113.7', encrypted = false): Http1Request {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return { rawHeaders, headers, socket: encrypted ? { remoteAddress, encrypted } : { remoteAddress } } as unknown as Http1Request;
}

function asMap(flat: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    map.set(name, [...(map.get(name) ?? []), flat[i + 1]!]);
  }
  return map;
}

test('hop-by-hop headers and those the Connection header lists are not forwarded', () => {
  const out = asMap(
    upstreamRequestHeaders(
      request(['Host', 'shop.example', 'Connection', 'keep-alive, X-Secret-Hop', 'Keep-Alive', 'timeout=5', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Upgrade', 'h2c', 'X-Secret-Hop', '1', 'Accept', 'application/json', 'Cookie', 'a=1', 'Cookie', 'b=2']),
      'rid-1',
    ),
  );
  for (const gone of ['connection', 'keep-alive', 'proxy-authorization', 'te', 'upgrade', 'x-secret-hop']) assert.equal(out.has(gone), false, `${gone} removed`);
  assert.deepEqual(out.get('host'), ['shop.example'], 'the Host header passes through');
  assert.deepEqual(out.get('accept'), ['application/json']);
  assert.deepEqual(out.get('cookie'), ['a=1', 'b=2'], 'repeated headers keep every value, in order');
});

test('X-Forwarded-* and X-Request-Id are set by the gateway, replacing what the client sent', () => {
  const out = asMap(upstreamRequestHeaders(request(['Host', 'shop.example', 'X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil', 'X-Request-Id', 'client-id']), 'rid-2'));
  assert.deepEqual(out.get('x-forwarded-for'), ['203.0.113.7']);
  assert.deepEqual(out.get('x-forwarded-proto'), ['http']);
  assert.deepEqual(out.get('x-forwarded-host'), ['shop.example']);
  assert.deepEqual(out.get('x-request-id'), ['rid-2']);
  const tls = asMap(upstreamRequestHeaders(request(['Host', 'h'], '::1', true), 'r'));
  assert.deepEqual(tls.get('x-forwarded-proto'), ['https']);
});

test('response headers lose hop-by-hop ones and gain the request id when the stamp sent none', () => {
  const raw = ['Content-Type', 'application/json', 'Transfer-Encoding', 'chunked', 'Connection', 'close, X-Internal', 'X-Internal', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'];
  const out = asMap(downstreamResponseHeaders(raw, 'rid-3'));
  assert.deepEqual([...out.keys()].sort(), ['content-type', 'set-cookie', 'x-request-id']);
  assert.deepEqual(out.get('set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(out.get('x-request-id'), ['rid-3']);
  assert.deepEqual(asMap(downstreamResponseHeaders(['X-Request-Id', 'from-stamp'], 'rid-4')).get('x-request-id'), ['from-stamp']);
  // Each of several Connection headers names hop-by-hop headers, not only the last one.
  const two = asMap(downstreamResponseHeaders(['Connection', 'X-Secret', 'Connection', 'close', 'X-Secret', '1', 'X-Kept', '2'], 'rid-5'));
  assert.deepEqual([...two.keys()].sort(), ['x-kept', 'x-request-id']);
});

test('header values keep their exact bytes (latin1 round trip)', () => {
  const bytes = Buffer.from('caf\u00e9', 'utf8');
  const out = downstreamResponseHeaders(['X-Name', bytes.toString('latin1')], 'r');
  assert.deepEqual(Buffer.from(out[1]!, 'latin1'), bytes);
});
