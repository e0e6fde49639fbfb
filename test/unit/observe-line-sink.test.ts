// The access log's BatchingSink against real files: every line arrives whole and in order, across
// slab boundaries and past the slab's size, in UTF-8; close() and process exit write what is
// pending; a destination too far behind drops lines and counts them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchingSink } from '../../src/observe/access-log/line-sink.ts';

const root = await mkdtemp(join(tmpdir(), 'stampgate-line-sink-'));
after(() => rm(root, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => join(root, `access-${++files}.log`);

/** Lines of every kind the sink must carry: ASCII, Latin-1, BMP, astral, one longer than a slab. */
function sampleLines(): string[] {
  const lines = ['{"a":1}\n', 'señor ñ\n', 'price 10 € ≈ ¥\n', 'emoji 😀 and \u2028\n'];
  lines.push('x'.repeat(70 * 1024) + '\n'); // longer than the 64 KiB slab: a buffer of its own
  for (let i = 0; i < 3000; i++) lines.push(`line ${i} ${'é'.repeat(i % 50)} ${'-'.repeat(i % 97)}\n`); // ~300 KB: several slabs
  lines.push('last\n');
  return lines;
}

for (const bufferingSize of [0, 1, 3, 100]) {
  test(`every line reaches the file whole and in order (bufferingSize ${bufferingSize})`, async () => {
    const filePath = freshFile();
    const sink = new BatchingSink({ filePath, bufferingSize });
    const lines = sampleLines();
    // Written in bursts, with event-loop turns in between, as requests end.
    for (let i = 0; i < lines.length; i++) {
      sink.write(lines[i]!);
      if (i % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await sink.flush();
    assert.equal(await readFile(filePath, 'utf8'), lines.join(''));
    await sink.close();
    assert.equal(sink.dropped, 0);
  });
}

test('close() writes pending lines; lines written after it are ignored', async () => {
  const filePath = freshFile();
  const sink = new BatchingSink({ filePath, bufferingSize: 1000 });
  sink.write('one\n');
  sink.write('two\n');
  await sink.close();
  sink.write('three\n');
  await sink.close();
  assert.equal(await readFile(filePath, 'utf8'), 'one\ntwo\n');
});

test('a line written while close() is under way neither crashes nor is half-written', async () => {
  const filePath = freshFile();
  const sink = new BatchingSink({ filePath, bufferingSize: 100 });
  sink.write('before\n');
  const closing = sink.close();
  sink.write('during\n'); // would start the quiet-time timer on a destination about to end
  await closing;
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past that timer
  assert.equal(await readFile(filePath, 'utf8'), 'before\n');
});

test('lines still pending when the process exits are written', async () => {
  const filePath = freshFile();
  const sinkModule = new URL('../../src/observe/access-log/line-sink.ts', import.meta.url).href;
  // bufferingSize 1000: nothing is handed over before exit; the 'exit' hook must write it all.
  const script = `
    import { BatchingSink } from ${JSON.stringify(sinkModule)};
    const sink = new BatchingSink({ filePath: ${JSON.stringify(filePath)}, bufferingSize: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the file is open
    for (let i = 0; i < 5; i++) sink.write('exit line ' + i + ' ñ\\n');
    process.exit(0);
  `;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(await readFile(filePath, 'utf8'), Array.from({ length: 5 }, (_, i) => `exit line ${i} ñ\n`).join(''));
});

test('a destination too far behind drops whole lines and counts them', async () => {
  const filePath = freshFile();
  // The file opens asynchronously: until then every line waits in the destination, which holds
  // at most 250 bytes, so of ten 100-byte lines the first two are kept.
  const sink = new BatchingSink({ filePath, bufferingSize: 1, maxBufferedBytes: 250 });
  const line = (i: number): string => `${i}`.padEnd(99, '.') + '\n';
  for (let i = 0; i < 10; i++) sink.write(line(i));
  await sink.close();
  assert.equal(sink.dropped, 8);
  assert.equal(await readFile(filePath, 'utf8'), line(0) + line(1));
});
