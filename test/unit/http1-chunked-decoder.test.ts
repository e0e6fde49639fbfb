// The incremental chunked-body decoder (src/gateway/http1/chunked-decoder.ts): the same bytes out
// whatever way the input is split, the index right after the body (pipelined bytes untouched), and
// errors on any framing two parsers could read differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedBodyError, ChunkedDecoder, STOPPED } from '../../src/gateway/http1/chunked-decoder.ts';

/** Four chunks with extensions (one quoted, one with BWS), a last-chunk extension and two trailers. */
const BODY = '4;name=value\r\nWiki\r\n5\r\npedia\r\nE ; quoted="a;b" ; x\r\n in\r\n\r\nchunks.\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nTrailer-One: 1\r\nTrailer-Two: two\r\n\r\n';
const DATA = 'Wikipedia in\r\n\r\nchunks.abcdefghijklmnopqrstuvwxyz';
const NEXT = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';

interface Decoded {
  data: string;
  /** Offset of the body's end in the concatenated input, -1 when it did not end. */
  end: number;
}

/** Feeds `pieces` one after the other (stopping at the body's end) and reports the data and the end. */
function decode(pieces: Buffer[], decoder = new ChunkedDecoder()): Decoded {
  let data = '';
  let offset = 0;
  for (const piece of pieces) {
    const end = decoder.feed(piece, 0, (chunk) => {
      assert.ok(chunk.length > 0, 'no empty data callbacks');
      data += chunk.toString('latin1');
    });
    if (end >= 0) {
      assert.ok(decoder.done);
      return { data, end: offset + end };
    }
    assert.equal(decoder.done, false);
    offset += piece.length;
  }
  return { data, end: -1 };
}

function splitAt(bytes: Buffer, points: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...points].sort((a, b) => a - b)) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

test('decodes a multi-chunk body with extensions and trailers in one piece', () => {
  const result = decode([Buffer.from(BODY, 'latin1')]);
  assert.equal(result.data, DATA);
  assert.equal(result.end, BODY.length);
});

test('returns the index right after the body; pipelined bytes after it are not touched', () => {
  const input = Buffer.from(BODY + NEXT, 'latin1');
  const decoder = new ChunkedDecoder();
  let data = '';
  const end = decoder.feed(input, 0, (chunk) => (data += chunk.toString('latin1')));
  assert.equal(end, BODY.length);
  assert.equal(data, DATA);
  assert.equal(input.subarray(end).toString('latin1'), NEXT);
  assert.ok(decoder.done);
  assert.equal(decoder.feed(input, end, () => assert.fail('no data after the end')), end, 'a finished decoder consumes nothing more');
});

test('starts at the given offset (the body begins after the head in the same buffer)', () => {
  const headText = 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n';
  const input = Buffer.from(headText + BODY + NEXT, 'latin1');
  let data = '';
  const end = new ChunkedDecoder().feed(input, headText.length, (chunk) => (data += chunk.toString('latin1')));
  assert.equal(end, headText.length + BODY.length);
  assert.equal(data, DATA);
});

test('every split point of the body (and the pipelined request after it) gives the same bytes and end', () => {
  const input = Buffer.from(BODY + NEXT, 'latin1');
  for (let i = 0; i <= input.length; i++) {
    const result = decode(splitAt(input, [i]));
    assert.equal(result.data, DATA, `split at ${i}`);
    assert.equal(result.end, BODY.length, `split at ${i}`);
  }
});

test('every pair of split points gives the same bytes and end', () => {
  const input = Buffer.from(BODY, 'latin1');
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      const result = decode(splitAt(input, [i, j]));
      assert.equal(result.data, DATA, `split at ${i}, ${j}`);
      assert.equal(result.end, BODY.length, `split at ${i}, ${j}`);
    }
  }
});

test('byte by byte gives the same bytes and end', () => {
  const input = Buffer.from(BODY + NEXT, 'latin1');
  const pieces = [...input].map((byte) => Buffer.from([byte]));
  const result = decode(pieces);
  assert.equal(result.data, DATA);
  assert.equal(result.end, BODY.length);
});

test('property: random pieces give the same bytes and end', () => {
  const input = Buffer.from(BODY + NEXT, 'latin1');
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: input.length }), { maxLength: 20 }), (points) => {
      const result = decode(splitAt(input, points));
      assert.equal(result.data, DATA);
      assert.equal(result.end, BODY.length);
    }),
    { numRuns: 500 },
  );
});

test('property: any chunk sizes and binary data, any split, round-trip', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }), fc.uniqueArray(fc.nat(), { maxLength: 8 }), fc.boolean(), (chunks, rawPoints, upper) => {
      let encoded = '';
      for (const chunk of chunks) {
        const size = chunk.length.toString(16);
        encoded += `${upper ? size.toUpperCase() : size}\r\n${Buffer.from(chunk).toString('latin1')}\r\n`;
      }
      encoded += '0\r\n\r\n';
      const input = Buffer.from(encoded + 'X', 'latin1');
      const points = rawPoints.map((p) => p % (input.length + 1));
      const result = decode(splitAt(input, points));
      assert.deepEqual(Buffer.from(result.data, 'latin1'), Buffer.concat(chunks));
      assert.equal(result.end, input.length - 1);
    }),
    { numRuns: 300 },
  );
});

test('data is handed over as slices of the input, not copies', () => {
  const input = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
  const slices: Buffer[] = [];
  new ChunkedDecoder().feed(input, 0, (chunk) => slices.push(chunk));
  assert.equal(slices.length, 1);
  assert.equal(slices[0]!.buffer, input.buffer);
  assert.equal(slices[0]!.toString(), 'hello');
});

test('an empty body (only the last chunk) ends without data', () => {
  assert.deepEqual(decode([Buffer.from('0\r\n\r\n')]), { data: '', end: 5 });
  assert.deepEqual(decode([Buffer.from('000\r\n\r\nrest')]), { data: '', end: 7 });
});

test('a large declared chunk is streamed as it arrives, without waiting for its end', () => {
  const decoder = new ChunkedDecoder();
  let received = 0;
  assert.equal(decoder.feed(Buffer.from('ffffffffffff\r\n'), 0, () => assert.fail()), -1);
  for (let i = 0; i < 10; i++) assert.equal(decoder.feed(Buffer.alloc(1000), 0, (chunk) => (received += chunk.length)), -1);
  assert.equal(received, 10_000);
  assert.equal(decoder.done, false);
});

function decodeError(text: string | Buffer, pieces = 1): ChunkedBodyError {
  const input = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const size = Math.ceil(input.length / pieces);
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) parts.push(input.subarray(i, i + size));
  try {
    decode(parts);
  } catch (error) {
    assert.ok(error instanceof ChunkedBodyError, `expected a ChunkedBodyError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(input.toString('latin1').slice(0, 80))} to be refused`);
}

test('invalid chunk sizes are refused', () => {
  for (const size of ['', 'x', 'g', '-1', '+1', '0x5', ' 5', '5 5', '1234567890123', '1.5', '\t5', '5\x00']) {
    for (const pieces of [1, 3]) decodeError(`${size}\r\nhello\r\n0\r\n\r\n`, pieces);
  }
  assert.match(decodeError('zz\r\n').message, /invalid chunk size/);
});

test('a size line that is not ended by CRLF is refused (bare LF)', () => {
  decodeError('5\nhello\r\n0\r\n\r\n');
  decodeError('5;ext\nhello\r\n0\r\n\r\n');
  decodeError('5\r\nhello\r\n0\n\r\n');
});

test('chunk data must be followed by exactly CRLF', () => {
  assert.match(decodeError('3\r\nabcX\r\n0\r\n\r\n').message, /longer than its declared size/);
  decodeError('3\r\nabc\n0\r\n\r\n');
  decodeError('3\r\nabc\r\r\n0\r\n\r\n');
  decodeError('3\r\nabc 0\r\n\r\n');
  for (let pieces = 2; pieces < 12; pieces++) decodeError('3\r\nabcX\r\n0\r\n\r\n', pieces);
});

test('trailer lines must end with CRLF too', () => {
  decodeError('0\r\nTrailer: x\n\r\n');
  decodeError('0\r\n\n');
});

test('a chunk-size line longer than the limit is refused while it arrives', () => {
  const long = Buffer.from('1'.repeat(5000));
  const decoder = new ChunkedDecoder();
  assert.throws(() => {
    for (let i = 0; i < long.length; i += 100) decoder.feed(long.subarray(i, i + 100), 0, () => {});
  }, ChunkedBodyError);
  assert.match(decodeError('1;' + 'e'.repeat(5000), 50).message, /too long/);
  // CRLF after chunk data that never comes.
  decodeError('1\r\nx' + 'y'.repeat(5000), 50);
});

test('a trailer section larger than the limit is refused', () => {
  const trailers = Array.from({ length: 400 }, (_, i) => `Trailer-${i}: ${'v'.repeat(50)}\r\n`).join('');
  assert.match(decodeError(`0\r\n${trailers}\r\n`, 7).message, /trailer section is too large/);
  assert.match(decodeError(`0\r\n${trailers}\r\n`, 1).message, /trailer section is too large/);
});

// BUG: the 4096-byte limit on a chunk-size line is checked only when the line's LF is not in the
// buffer just read, so a line as long as a whole read (64 KB) passes when it arrives in one piece
// and is refused when split: the limit depends on how TCP cut the bytes.
test('a chunk-size line (extension) longer than the limit is refused even when it arrives in one piece', () => {
  const input = `1;${'e'.repeat(10_000)}\r\nx\r\n0\r\n\r\n`;
  decodeError(input, 10);
  decodeError(input, 1);
});

test('bareLf (response bodies from upstreams): lines ending in LF alone are read like CRLF ones', () => {
  const input = Buffer.from('5;x\nhello\n3\r\n, w\n0\nTrailer: t\n\nNEXT', 'latin1');
  let data = '';
  const end = new ChunkedDecoder({ bareLf: true }).feed(input, 0, (chunk) => (data += chunk.toString('latin1')));
  assert.equal(data, 'hello, w');
  assert.equal(input.toString('latin1', end), 'NEXT');
  assert.throws(() => new ChunkedDecoder().feed(input, 0, () => {}), ChunkedBodyError, 'strict by default');
});

test('onData returning false stops the reading; the decoder resumes where it stopped', () => {
  const input = Buffer.from('2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n', 'latin1');
  const decoder = new ChunkedDecoder();
  const seen: string[] = [];
  assert.equal(decoder.feed(input, 0, (chunk) => (seen.push(chunk.toString('latin1')), false)), STOPPED);
  assert.deepEqual(seen, ['ab']);
  assert.equal(decoder.done, false);
});

test('maxTrailerBytes bounds the trailer section, a single long trailer line included', () => {
  const body = `0\r\nX-Big: ${'v'.repeat(6000)}\r\n\r\n`;
  assert.doesNotThrow(() => new ChunkedDecoder().feed(Buffer.from(body, 'latin1'), 0, () => {}), 'within the default 16 KiB');
  assert.throws(() => new ChunkedDecoder({ maxTrailerBytes: 1024 }).feed(Buffer.from(body, 'latin1'), 0, () => {}), /trailer section is too large/);
});
