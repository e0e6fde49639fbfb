// compress through real HTTP: the response hook's zlib stream is applied by the harness as the
// forwarder applies it, and the client decompresses what arrives. Negotiation (q-values, Traefik's
// order, `*`, defaultEncoding), the size threshold, the content-type lists and every skip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { compress, type CompressConfig } from '../../src/gateway/middleware/compress.ts';
import { removeHeader, setHeader } from '../../src/gateway/middleware/header-list.ts';
import { MiddlewareConfigError, type Middleware } from '../../src/gateway/middleware/middleware.ts';
import { addResponseHook } from '../../src/gateway/pipeline/exchange.ts';
import { startHarness, testContext, type Harness, type HarnessOptions } from './middleware-harness.ts';

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request; the body as bytes (the harness's `send` decodes text). */
function fetchRaw(harness: Harness, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: harness.port, path: '/', method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

function decode(reply: RawReply): Buffer {
  switch (reply.headers['content-encoding']) {
    case 'gzip':
      return zlib.gunzipSync(reply.body);
    case 'br':
      return zlib.brotliDecompressSync(reply.body);
    case 'zstd':
      return zlib.zstdDecompressSync(reply.body);
    case undefined:
      return reply.body;
    default:
      throw new Error(`unexpected encoding ${reply.headers['content-encoding']}`);
  }
}

/** A text body that compresses well, of exactly `size` bytes. */
function textBody(size: number): Buffer {
  const line = 'The Library of Babel is composed of an indefinite number of hexagonal galleries. ';
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

const body = textBody(4096);

/** Edits the upstream response head before compress sees it (hooks run in registration order). */
function upstreamHeaders(edit: (headers: string[]) => void): Middleware {
  return (next) => (exchange) => {
    addResponseHook(exchange, (_exchange, head) => {
      edit(head.headers);
      return null;
    });
    next(exchange);
  };
}

async function withCompress(config: CompressConfig, options: HarnessOptions, run: (harness: Harness) => Promise<void>, before?: Middleware): Promise<void> {
  const middleware = compress(config, testContext('gz'));
  const harness = await startHarness(before === undefined ? middleware : (next) => before(middleware(next)), { upstream: { body }, ...options });
  try {
    await run(harness);
  } finally {
    await harness.close();
  }
}

async function encodingFor(harness: Harness, acceptEncoding: string | undefined): Promise<string> {
  const reply = await fetchRaw(harness, acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });
  assert.equal(reply.status, 200);
  assert.deepEqual(decode(reply), body); // whatever was chosen, the client gets the body back
  return reply.headers['content-encoding'] ?? 'none';
}

describe('compress', () => {
  for (const encoding of ['gzip', 'br', 'zstd']) {
    test(`${encoding}: the body arrives compressed, without Content-Length, with Vary: Accept-Encoding`, async () => {
      await withCompress({}, {}, async (harness) => {
        const reply = await fetchRaw(harness, { 'accept-encoding': encoding });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers['content-encoding'], encoding);
        assert.equal(reply.headers['content-length'], undefined);
        assert.equal(reply.headers['transfer-encoding'], 'chunked');
        assert.equal(reply.headers.vary, 'Accept-Encoding'); // the fixture's own, not doubled
        assert.equal(reply.headers['x-upstream'], 'fixture');
        assert.ok(reply.body.length < body.length / 4, `${reply.body.length} bytes`);
        assert.deepEqual(decode(reply), body);
      });
    });
  }

  test('negotiation: q-values, then Traefik order gzip, br, zstd; * and identity', async () => {
    await withCompress({}, {}, async (harness) => {
      const cases: Array<[string | undefined, string]> = [
        ['gzip, deflate, br, zstd', 'gzip'],
        ['br;q=1.0, zstd;q=1.0, gzip;q=1.0', 'gzip'],
        ['gzip;q=0.5, br;q=0.9, zstd;q=0.8', 'br'],
        ['zstd, gzip;q=0.1', 'zstd'],
        ['BR', 'br'],
        ['compress, gzip', 'gzip'],
        ['compress, rar', 'none'],
        ['*', 'gzip'],
        ['br;q=0.5, *;q=0.1', 'br'],
        ['gzip;q=0, *', 'br'], // Stampgate: `*` never picks an encoding refused with q=0
        ['identity', 'none'],
        ['identity, gzip;q=0.5', 'none'],
        ['gzip;q=0', 'none'],
        ['gzip;q=nonsense, br', 'br'],
        ['', 'none'], // an empty header asks for no encoding
        [undefined, 'none'], // no header and no defaultEncoding: left alone (Traefik)
      ];
      for (const [accept, expected] of cases) assert.equal(await encodingFor(harness, accept), expected, `Accept-Encoding: ${accept}`);
      // The same values again come from the negotiation cache.
      for (const [accept, expected] of cases) assert.equal(await encodingFor(harness, accept), expected, `Accept-Encoding: ${accept} (cached)`);
    });
  });

  test('encodings sets the supported list and its order; defaultEncoding answers * and a missing header', async () => {
    await withCompress({ encodings: ['zstd', 'br'], defaultEncoding: 'br' }, {}, async (harness) => {
      assert.equal(await encodingFor(harness, 'gzip'), 'none');
      assert.equal(await encodingFor(harness, 'gzip, br, zstd'), 'zstd');
      assert.equal(await encodingFor(harness, '*'), 'br');
      assert.equal(await encodingFor(harness, undefined), 'br');
      assert.equal(await encodingFor(harness, ''), 'none');
    });
  });

  test('minResponseBodyBytes (default 1024) is judged from Content-Length', async () => {
    for (const [size, expected] of [[1023, 'none'], [1024, 'gzip']] as const) {
      const harness = await startHarness(compress({}, testContext()), { upstream: { body: textBody(size) } });
      try {
        const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
        assert.equal(reply.headers['content-encoding'] ?? 'none', expected, `${size} bytes`);
        if (expected === 'none') assert.equal(reply.headers['content-length'], String(size));
        assert.deepEqual(decode(reply), textBody(size));
      } finally {
        await harness.close();
      }
    }
    await withCompress({ minResponseBodyBytes: 5000 }, {}, async (harness) => {
      assert.equal(await encodingFor(harness, 'gzip'), 'none');
    });
  });

  test('a response without Content-Length is compressed whatever its size (the forwarder streams)', async () => {
    const small = Buffer.from('{"small":true}');
    const harness = await startHarness(compress({}, testContext()), { upstream: { body: small, chunked: true } });
    try {
      for (const encoding of ['gzip', 'br', 'zstd']) {
        const reply = await fetchRaw(harness, { 'accept-encoding': encoding });
        assert.equal(reply.headers['content-encoding'], encoding);
        assert.deepEqual(decode(reply), small);
      }
    } finally {
      await harness.close();
    }
  });

  test('skipped for HEAD, Range requests and a request Content-Type of gRPC', async () => {
    await withCompress({}, {}, async (harness) => {
      const head = await fetchRaw(harness, { 'accept-encoding': 'gzip' }, 'HEAD');
      assert.equal(head.headers['content-encoding'], undefined);
      assert.equal(head.headers['content-length'], String(body.length));
      const range = await fetchRaw(harness, { 'accept-encoding': 'gzip', range: 'bytes=0-99' });
      assert.equal(range.headers['content-encoding'], undefined);
      const grpc = await fetchRaw(harness, { 'accept-encoding': 'gzip', 'content-type': 'application/grpc' });
      assert.equal(grpc.headers['content-encoding'], undefined);
    });
  });

  test('skipped for 204 and 304 answers and for a response that already has a Content-Encoding', async () => {
    for (const status of [204, 304]) {
      await withCompress({}, { upstream: { status, body: '' } }, async (harness) => {
        const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
        assert.equal(reply.status, status);
        assert.equal(reply.headers['content-encoding'], undefined);
      });
    }
    const encoded = zlib.brotliCompressSync(body);
    const harness = await startHarness(compress({}, testContext()), { upstream: { body: encoded, headers: ['Content-Encoding', 'br'] } });
    try {
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip, br' });
      assert.equal(reply.headers['content-encoding'], 'br');
      assert.equal(reply.headers['content-length'], String(encoded.length));
      assert.deepEqual(decode(reply), body);
    } finally {
      await harness.close();
    }
  });

  test('content types: application/grpc never, excludedContentTypes, includedContentTypes (with parameters)', async () => {
    const typed = (type: string | null) =>
      upstreamHeaders((headers) => {
        if (type === null) removeHeader(headers, 'content-type');
        else setHeader(headers, 'content-type', 'Content-Type', type);
      });
    const check = async (config: CompressConfig, type: string | null, expected: string) => {
      await withCompress(config, {}, async (harness) => assert.equal(await encodingFor(harness, 'gzip'), expected, `${JSON.stringify(config)} with ${type}`), typed(type));
    };
    await check({}, 'application/grpc', 'none');
    await check({}, 'text/html; charset=utf-8', 'gzip');
    await check({}, null, 'gzip'); // no type: compressed unless a list of included types is set
    await check({ excludedContentTypes: ['Text/Event-Stream'] }, 'text/event-stream', 'none');
    await check({ excludedContentTypes: ['text/event-stream'] }, 'application/json', 'gzip');
    await check({ includedContentTypes: ['application/json', 'text/html'] }, 'text/html;charset=utf-8', 'gzip');
    await check({ includedContentTypes: ['application/json', 'text/html'] }, 'image/png', 'none');
    await check({ includedContentTypes: ['application/json'] }, null, 'none');
    await check({ includedContentTypes: ['text/plain; charset=utf-8'] }, 'text/plain; charset="utf-8"', 'gzip');
    await check({ includedContentTypes: ['text/plain; charset=utf-8'] }, 'text/plain; charset=latin1', 'none');
  });

  test('Vary is added once, ETag weakened, Accept-Ranges dropped; no-transform is respected', async () => {
    const edit = (change: (headers: string[]) => void) => upstreamHeaders(change);
    await withCompress({}, {}, async (harness) => {
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
      assert.equal(reply.headers['content-encoding'], 'gzip');
      assert.equal(reply.headers.vary, 'Origin, Accept-Encoding');
      assert.equal(reply.headers.etag, 'W/"v1"');
      assert.equal(reply.headers['accept-ranges'], undefined);
    }, edit((headers) => {
      removeHeader(headers, 'vary');
      headers.push('Vary', 'Origin', 'ETag', '"v1"', 'Accept-Ranges', 'bytes');
    }));
    await withCompress({}, {}, async (harness) => {
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
      assert.equal(reply.headers.vary, '*');
      assert.equal(reply.headers.etag, 'W/"weak"');
    }, edit((headers) => {
      setHeader(headers, 'vary', 'Vary', '*');
      headers.push('ETag', 'W/"weak"');
    }));
    await withCompress({}, {}, async (harness) => {
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(reply.headers['content-length'], String(body.length));
    }, edit((headers) => headers.push('Cache-Control', 'public, no-transform')));
    // A response too small to compress still says it varies by Accept-Encoding.
    await withCompress({ minResponseBodyBytes: 10_000 }, {}, async (harness) => {
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(reply.headers.vary, 'Accept-Encoding');
    }, edit((headers) => removeHeader(headers, 'vary')));
  });

  test('a client that leaves mid-body does not break the gateway', async () => {
    const big = textBody(2_000_000);
    const harness = await startHarness(compress({}, testContext()), { upstream: { body: big } });
    try {
      await new Promise<void>((resolve) => {
        const request = http.request({ host: '127.0.0.1', port: harness.port, path: '/', headers: { 'accept-encoding': 'br' }, agent: false }, (response) => {
          response.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.on('error', () => {});
        request.end();
      });
      const reply = await fetchRaw(harness, { 'accept-encoding': 'gzip' });
      assert.deepEqual(decode(reply), big);
    } finally {
      await harness.close();
    }
  });

  test('config errors name the field', () => {
    const context = testContext();
    const configError = (pattern: RegExp) => (e: unknown) => e instanceof MiddlewareConfigError && pattern.test(e.message);
    assert.throws(() => compress({ excludedContentTypes: ['a/b'], includedContentTypes: ['c/d'] }, context), configError(/^excludedContentTypes and includedContentTypes are mutually exclusive/));
    assert.throws(() => compress({ encodings: [] }, context), configError(/^encodings: list at least one of gzip, br, zstd$/));
    assert.throws(() => compress({ encodings: ['gzip'], defaultEncoding: 'br' }, context), configError(/^defaultEncoding: "br" is not one of encodings \(gzip\)$/));
    assert.throws(() => compress({ excludedContentTypes: ['text/html', 'nonsense'] }, context), configError(/^excludedContentTypes\[1\]: "nonsense" is not a media type/));
    assert.throws(() => compress({ includedContentTypes: ['text/html; charset'] }, context), configError(/^includedContentTypes\[0\]: "text\/html; charset" has a parameter without a value$/));
  });
});
