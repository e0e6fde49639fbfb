// The gateway's own HTTP/1.1 server (src/gateway/http1/) over real sockets: raw `net` clients for
// exact bytes, plus fetch, node:http and node:https clients. Keep-alive, pipelining, bodies and
// their backpressure, 100-continue, every refusal, timeouts, HTTP/1.0, response framing, request
// smuggling, half-close and disconnects, upgrades and TLS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { Http1Server, type Http1ServerOptions } from '../../src/gateway/http1/http1-server.ts';
import type { Http1Request } from '../../src/gateway/http1/server-request.ts';
import type { Http1Response } from '../../src/gateway/http1/server-response.ts';
import { makeCertificate } from '../helpers/certificates.ts';
import { startHttp1Server } from '../helpers/http1-server.ts';

type Handler = (req: Http1Request, res: Http1Response) => void;

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An Http1Server with test defaults (those of test/helpers/http1-server.ts) and any option changed. */
async function startServer(onRequest: Handler, options: Partial<Omit<Http1ServerOptions, 'onRequest'>> = {}): Promise<{ server: Http1Server; port: number; url: string }> {
  const server = new Http1Server({ maxHeaderBytes: 16 * 1024, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000, maxRequestsPerSocket: 0, tls: null, onUpgrade: null, ...options, onRequest });
  await server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    server.closeAllConnections();
    await server.close();
  });
  const port = (server.listener.address() as AddressInfo).port;
  return { server, port, url: `http://127.0.0.1:${port}` };
}

async function startDefault(onRequest: Handler): Promise<{ port: number; url: string }> {
  const running = await startHttp1Server(onRequest);
  cleanups.push(() => running.close());
  return running;
}

/** The request body; what arrived when the body stream fails (tests that care listen for the error). */
async function readBody(req: Http1Request): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req.body) chunks.push(chunk as Buffer);
  } catch {
    // the connection went away; the handler's answer goes nowhere
  }
  return Buffer.concat(chunks);
}

interface RawResponse {
  status: number;
  reason: string;
  /** Lower-case names; repeated ones joined with ', '. */
  headers: Record<string, string>;
  /** The status line and header lines as sent. */
  head: string;
  body: Buffer;
  text: string;
  /** The whole response as sent, head and framed body. */
  raw: string;
}

/** The response starting at `offset`, or null while it is incomplete. `eof`: the peer ended (a close-delimited body is complete). */
function parseResponse(data: Buffer, offset: number, noBody: boolean, eof: boolean): { response: RawResponse; next: number } | null {
  const headEnd = data.indexOf('\r\n\r\n', offset);
  if (headEnd < 0) return null;
  const head = data.toString('latin1', offset, headEnd);
  const [statusLine, ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3}) (.*)$/.exec(statusLine!);
  assert.ok(match, `not a status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let pos = headEnd + 4;
  let body: Buffer;
  if (noBody || status < 200 || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (headers['transfer-encoding'] !== undefined) {
    assert.equal(headers['transfer-encoding'], 'chunked');
    assert.equal(headers['content-length'], undefined, 'never both Content-Length and Transfer-Encoding');
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = data.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const sizeText = data.toString('latin1', pos, lineEnd);
      assert.match(sizeText, /^[0-9a-f]+$/, 'chunk sizes in lower-case hex, no extensions');
      const size = parseInt(sizeText, 16);
      pos = lineEnd + 2;
      if (size === 0) {
        if (data.length < pos + 2) return null;
        assert.equal(data.toString('latin1', pos, pos + 2), '\r\n', 'no trailers');
        pos += 2;
        break;
      }
      if (data.length < pos + size + 2) return null;
      chunks.push(data.subarray(pos, pos + size));
      assert.equal(data.toString('latin1', pos + size, pos + size + 2), '\r\n');
      pos += size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (data.length < pos + length) {
      if (eof) assert.fail(`the connection ended ${pos + length - data.length} bytes short of Content-Length ${length}`);
      return null;
    }
    body = data.subarray(pos, pos + length);
    pos += length;
  } else {
    if (!eof) return null;
    body = data.subarray(pos);
    pos = data.length;
  }
  const raw = data.toString('latin1', offset, pos);
  return { response: { status, reason: match[2]!, headers, head, body, text: body.toString('latin1'), raw }, next: pos };
}

/** A raw TCP client: writes exact bytes and parses the responses as they arrive. */
class RawClient {
  readonly socket: net.Socket;
  #data = Buffer.alloc(0);
  #parsed = 0;
  ended = false;
  closed = false;
  error: Error | null = null;
  readonly #waiters = new Set<() => void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', (error) => {
      this.error = error;
      this.#wake();
    });
  }

  static async connect(port: number, allowHalfOpen = false): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
    await once(socket, 'connect');
    cleanups.push(() => void socket.destroy());
    return new RawClient(socket);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Everything received so far. */
  get received(): string {
    return this.#data.toString('latin1');
  }

  /** What was received after the responses already returned. */
  get unread(): string {
    return this.#data.toString('latin1', this.#parsed);
  }

  /** Resolves with check()'s first value other than undefined, re-checked on each socket event. */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 2000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.received.slice(0, 400))}`));
      }, timeoutMs);
      const attempt = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          clearTimeout(timer);
          this.#waiters.delete(attempt);
          reject(error as Error);
          return;
        }
        if (value === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(attempt);
        resolve(value);
      };
      this.#waiters.add(attempt);
      attempt();
    });
  }

  response(options: { noBody?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    return this.until(
      () => {
        const parsed = parseResponse(this.#data, this.#parsed, options.noBody ?? false, this.ended || this.closed);
        if (parsed === null) {
          if ((this.ended || this.closed) && this.#parsed < this.#data.length) assert.fail(`the connection ended inside a response: ${JSON.stringify(this.unread.slice(0, 200))}`);
          if (this.ended || this.closed) assert.fail('the connection ended before a response');
          return undefined;
        }
        this.#parsed = parsed.next;
        return parsed.response;
      },
      'a response',
      options.timeoutMs,
    );
  }

  /** Waits for the server to end or close the connection. */
  closedByServer(timeoutMs = 2000): Promise<true> {
    return this.until(() => (this.ended || this.closed ? true : undefined), 'the server to close the connection', timeoutMs);
  }
}

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A node:http request; resolves with status, headers, body and the client port (connection reuse). */
function httpRequest(url: string, options: http.RequestOptions & { body?: string | Buffer } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), localPort: req.socket!.localPort! }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Keep-alive and pipelining

test('keep-alive: fetch, node:http and raw clients reuse one connection for sequential requests', async () => {
  const { url, port } = await startDefault((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.url} from ${req.socket.remotePort}`);
  });
  // undici keeps two connections warm and alternates between them (it does so with node:http too)
  const fetchPorts = new Set<string>();
  for (let i = 0; i < 6; i++) fetchPorts.add((await (await fetch(`${url}/f${i}`)).text()).split(' from ')[1]!);
  assert.ok(fetchPorts.size <= 2, `fetch used ${fetchPorts.size} connections for 6 requests`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await httpRequest(`${url}/n${i}`, { agent }));
    assert.deepEqual(answers.map((a) => a.body.split(' ')[0]), ['/n0', '/n1', '/n2']);
    assert.equal(new Set(answers.map((a) => a.localPort)).size, 1, 'node:http reused its connection');
  } finally {
    agent.destroy();
  }

  const client = await RawClient.connect(port);
  for (let i = 0; i < 3; i++) {
    client.write(get(`/raw${i}`));
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(response.reason, 'OK');
    assert.equal(response.text, `/raw${i} from ${client.socket.localPort}`);
    assert.equal(response.headers.connection, undefined, 'HTTP/1.1 keeps alive without saying so');
    assert.match(response.headers.date!, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(response.headers['content-length'], String(response.body.length));
  }
  assert.equal(client.closed || client.ended, false);
});

test('pipelining: three requests in one write (one with a body) are answered in order', async () => {
  const { port } = await startDefault((req, res) => {
    void readBody(req).then((body) => res.end(`${req.method} ${req.url} [${body.toString()}]`));
  });
  const client = await RawClient.connect(port);
  client.write(get('/1') + 'POST /2 HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello' + get('/3'));
  assert.equal((await client.response()).text, 'GET /1 []');
  assert.equal((await client.response()).text, 'POST /2 [hello]');
  assert.equal((await client.response()).text, 'GET /3 []');
  assert.equal(client.unread, '');
});

test('pipelining: a late answer to the first request holds the next ones back, and order is kept', async () => {
  const started: string[] = [];
  const { port } = await startDefault((req, res) => {
    started.push(req.url);
    if (req.url === '/slow') setTimeout(() => res.end('slow'), 60);
    else res.end(req.url);
  });
  const client = await RawClient.connect(port);
  client.write(get('/slow') + get('/2') + 'POST /3 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' + get('/4'));
  await sleep(30);
  assert.deepEqual(started, ['/slow'], 'the next request waits for the answer under way');
  assert.equal(client.received, '');
  const texts = [];
  for (let i = 0; i < 4; i++) texts.push((await client.response()).text);
  assert.deepEqual(texts, ['slow', '/2', '/3', '/4']);
  assert.deepEqual(started, ['/slow', '/2', '/3', '/4']);
});

test('pipelining: many small requests in one write are all answered (synchronous handler, no recursion)', async () => {
  const { port } = await startDefault((req, res) => res.end(req.url));
  const client = await RawClient.connect(port);
  let text = '';
  for (let i = 0; i < 2000; i++) text += get(`/${i}`);
  client.write(text);
  for (let i = 0; i < 2000; i++) assert.equal((await client.response()).text, `/${i}`);
});

// ---------------------------------------------------------------------------------------------
// Request bodies

/** Writes `text` in small pieces, letting each leave as its own packet. */
async function writeInPieces(client: RawClient, data: Buffer, pieceSizes: number[]): Promise<void> {
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const size = pieceSizes[i++ % pieceSizes.length]!;
    client.write(data.subarray(offset, offset + size));
    offset += size;
    await sleep(1);
  }
}

test('request bodies with Content-Length and chunked arrive whole when split across many writes', async () => {
  const { port } = await startDefault((req, res) => {
    void readBody(req).then((body) => {
      res.writeHead(200, { 'x-sha': createHash('sha256').update(body).digest('hex') });
      res.end(`${req.headers['transfer-encoding'] ?? 'length'} ${body.length}`);
    });
  });
  const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
  const sha = createHash('sha256').update(binary).digest('hex');
  const client = await RawClient.connect(port);

  const withLength = Buffer.concat([Buffer.from(`POST /len HTTP/1.1\r\nHost: test\r\nContent-Length: ${binary.length}\r\n\r\n`), binary]);
  await writeInPieces(client, withLength, [1, 7, 3, 60]);
  const first = await client.response();
  assert.equal(first.text, 'length 512');
  assert.equal(first.headers['x-sha'], sha);

  const chunked = Buffer.concat([
    Buffer.from('POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n'),
    Buffer.from('100;ext=1\r\n'),
    binary.subarray(0, 256),
    Buffer.from('\r\nff\r\n'),
    binary.subarray(256, 511),
    Buffer.from('\r\n1\r\n'),
    binary.subarray(511),
    Buffer.from('\r\n0\r\nX-Trailer: t\r\n\r\n'),
  ]);
  await writeInPieces(client, chunked, [2, 1, 5, 33]);
  const second = await client.response();
  assert.equal(second.text, 'chunked 512');
  assert.equal(second.headers['x-sha'], sha);

  const viaFetch = await fetch(`http://127.0.0.1:${port}/fetch`, { method: 'POST', body: binary });
  assert.equal(viaFetch.headers.get('x-sha'), sha);
});

test('a 1 MB body read slowly: the socket is paused (memory bounded) and every byte arrives', async () => {
  const body = randomBytes(1024 * 1024);
  let maxUnconsumed = 0;
  let sawPaused = false;
  const { port } = await startDefault((req, res) => {
    void (async () => {
      const hash = createHash('sha256');
      let consumed = 0;
      for await (const chunk of req.body) {
        consumed += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
        // bytes the server read from the socket that the handler has not consumed yet
        maxUnconsumed = Math.max(maxUnconsumed, req.socket.bytesRead - consumed);
        await sleep(3);
        if (req.socket.isPaused()) sawPaused = true;
      }
      res.end(`${consumed} ${hash.digest('hex')}`);
    })();
  });
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([Buffer.from(`PUT /big HTTP/1.1\r\nHost: test\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  const response = await client.response({ timeoutMs: 5000 });
  assert.equal(response.text, `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  assert.ok(sawPaused, 'the socket was paused while the handler was behind');
  assert.ok(maxUnconsumed <= 256 * 1024, `at most ${maxUnconsumed} bytes buffered ahead of the reader`);
});

test('a request body larger than the body stream buffer, never read, does not stall the next request', async () => {
  const { port } = await startDefault((req, res) => {
    if (req.url === '/ignore') setTimeout(() => res.end('ignored'), 30);
    else res.end(req.url);
  });
  const client = await RawClient.connect(port);
  const body = Buffer.alloc(60 * 1024, 'b');
  client.write(Buffer.concat([Buffer.from(`POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: ${body.length}\r\n\r\n`), body, Buffer.from(get('/after'))]));
  assert.equal((await client.response()).text, 'ignored');
  assert.equal((await client.response()).text, '/after');
});

// BUG: the handler destroys the body stream of a request whose bytes filled the stream buffer (the
// socket is paused), then answers: responseDone() calls body.resume() on the destroyed stream,
// _read never runs, the socket stays paused and the connection hangs until the request timeout.
test('a handler that destroys an unread body and answers leaves the connection usable', async () => {
  const { port } = await startDefault((req, res) => {
    if (req.url !== '/reject') {
      res.end(req.url);
      return;
    }
    const check = () => {
      if (req.body.readableLength < 64 * 1024) return void setTimeout(check, 5);
      req.body.destroy();
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('too large');
    };
    check();
  });
  const client = await RawClient.connect(port);
  // 100 KB of a 120 KB body: enough to fill the body stream (the socket is paused), 20 KB still to come
  client.write(Buffer.concat([Buffer.from('POST /reject HTTP/1.1\r\nHost: test\r\nContent-Length: 122880\r\n\r\n'), Buffer.alloc(100 * 1024, 'x')]));
  assert.equal((await client.response()).status, 413);
  client.write(Buffer.concat([Buffer.alloc(20 * 1024, 'y'), Buffer.from(get('/next'))]));
  const next = await client.response({ timeoutMs: 800 }).catch((error: Error) => error);
  if (next instanceof Error) {
    // Closing the connection would be acceptable too; hanging is not.
    assert.ok(client.ended || client.closed, `the connection neither answered nor closed: ${next.message}`);
  } else {
    assert.equal(next.text, '/next');
  }
});

// ---------------------------------------------------------------------------------------------
// Expect: 100-continue

test('Expect: 100-continue: 100 is sent only when the handler reads the body', async () => {
  const { port } = await startDefault((req, res) => {
    setTimeout(() => void readBody(req).then((body) => res.end(`got ${body.toString()}`)), 60);
  });
  const client = await RawClient.connect(port);
  client.write('PUT /up HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  await sleep(30);
  assert.equal(client.received, '', 'no 100 before the handler reads');
  const interim = await client.response();
  assert.equal(interim.status, 100);
  assert.equal(interim.raw, 'HTTP/1.1 100 Continue\r\n\r\n');
  client.write('hello');
  const final = await client.response();
  assert.equal(final.status, 200);
  assert.equal(final.text, 'got hello');
});

test('Expect: 100-continue: no 100 when the handler answers without reading the body', async () => {
  const { port } = await startDefault((req, res) => {
    req.body.on('error', () => {}); // the unread body errors when the test ends (see the no-crash tests)
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('denied');
  });
  const client = await RawClient.connect(port);
  client.write('PUT /up HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const response = await client.response();
  assert.equal(response.status, 403);
  assert.equal(response.text, 'denied');
  await sleep(20);
  assert.doesNotMatch(client.received, /100 Continue/);
});

test('Expect: 100-continue with node:http: the client waits for 100, sends, gets the echo', async () => {
  const { url } = await startDefault((req, res) => void readBody(req).then((body) => res.end(body)));
  const answer = await new Promise<string>((resolve, reject) => {
    const req = http.request(`${url}/up`, { method: 'PUT', headers: { expect: '100-continue', 'content-length': 7 } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('continue', () => req.end('payload'));
    req.on('error', reject);
  });
  assert.equal(answer, 'payload');
});

// BUG: readMore() sends 100 Continue only when `!response.headersSent`, but headersSent turns true
// at writeHead while the head itself waits for the first body byte. A handler that calls
// writeHead and then reads the body (an echo, a proxy that copies upstream status early) never
// sends 100: the client waits for it and the server waits for the body.
test('Expect: 100-continue: 100 is sent when the handler calls writeHead before reading', async () => {
  const { port } = await startDefault((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    void readBody(req).then((body) => res.end(body));
  });
  const client = await RawClient.connect(port);
  client.write('PUT /up HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const interim = await client.response({ timeoutMs: 600 });
  assert.equal(interim.status, 100);
  client.write('hello');
  assert.equal((await client.response()).text, 'hello');
});

// ---------------------------------------------------------------------------------------------
// Refusals: 431, 400, 505

async function assertProblem(response: RawResponse, status: number, code: string): Promise<Record<string, unknown>> {
  assert.equal(response.status, status);
  assert.equal(response.headers['content-type'], 'application/problem+json');
  assert.equal(response.headers.connection, 'close');
  const body = JSON.parse(response.text) as Record<string, unknown>;
  assert.equal(body.type, `https://stampgate.dev/problems/${code}`);
  assert.equal(body.status, status);
  return body;
}

test('431 for an oversized head, and for a head that never ends; the connection closes', async () => {
  let calls = 0;
  const { port } = await startDefault((_req, res) => {
    calls++;
    res.end('ok');
  });
  const big = await RawClient.connect(port);
  big.write(`GET / HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n${get('/after')}`);
  await assertProblem(await big.response(), 431, 'headers-too-large');
  await big.closedByServer();
  assert.equal(big.unread, '', 'nothing after the refusal is answered');

  const endless = await RawClient.connect(port);
  endless.write('GET / HTTP/1.1\r\nHost: test\r\n');
  for (let i = 0; i < 40 && !endless.ended; i++) {
    endless.write(`X-Line-${i}: ${'b'.repeat(500)}\r\n`);
    await sleep(1);
  }
  await assertProblem(await endless.response(), 431, 'headers-too-large');
  await endless.closedByServer();

  const justUnder = await RawClient.connect(port);
  justUnder.write(`GET / HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(16 * 1024 - 100)}\r\n\r\n`);
  assert.equal((await justUnder.response()).status, 200);
  assert.equal(calls, 1);
});

test('heads the parser refuses get a 400 problem+json (505 for other versions) and the connection closes', async () => {
  let calls = 0;
  const { port } = await startDefault((_req, res) => {
    calls++;
    res.end('ok');
  });
  const cases: Array<[string, number, string]> = [
    ['GARBAGE\r\n\r\n', 400, 'malformed-request'],
    ['GET /a b HTTP/1.1\r\nHost: test\r\n\r\n', 400, 'malformed-request'],
    ['GET / HTTP/1.1\r\nHost: test\r\nX-A : b\r\n\r\n', 400, 'malformed-request'],
    ['GET / HTTP/1.1\r\nHost: test\r\nX-A: b\r\n  folded\r\n\r\n', 400, 'malformed-request'],
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'malformed-request'],
    ['POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'malformed-request'],
    ['POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400, 'malformed-request'],
    ['POST / HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n', 400, 'malformed-request'],
    ['POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n', 400, 'malformed-request'],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'malformed-request'],
    ['GET / HTTP/1.1\r\nHost: test\r\nX-A: a\x00b\r\n\r\n', 400, 'malformed-request'],
    ['GET / HTTP/2.0\r\nHost: test\r\n\r\n', 505, 'http-version-not-supported'],
  ];
  for (const [request, status, code] of cases) {
    const client = await RawClient.connect(port);
    client.write(request + get('/smuggled'));
    const body = await assertProblem(await client.response(), status, code);
    assert.equal(typeof body.detail, 'string');
    await client.closedByServer();
    assert.equal(client.unread, '', `${JSON.stringify(request)}: nothing else answered`);
  }
  assert.equal(calls, 0, 'the handler never saw a refused request');
});

test('a chunked body that turns bad after the handler started: 400, and the body stream errors', async () => {
  const errored = deferred<string>();
  const { port } = await startDefault((req, res) => {
    req.body.on('error', (error: Error & { code?: string }) => errored.resolve(error.code ?? error.message));
    req.body.resume();
    res.on('close', () => {});
  });
  const client = await RawClient.connect(port);
  client.write('POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  await sleep(20);
  client.write('nothex\r\n');
  await assertProblem(await client.response(), 400, 'malformed-request');
  assert.equal(await withTimeout(errored.promise, 1000, 'the body error'), 'BAD_CHUNKED_BODY');
  await client.closedByServer();
});

// BUG (crash): the connection destroys the body stream with an error (bad chunked framing, the
// client leaving mid-body, a 408), and a Readable destroyed with an error emits 'error' whether or
// not anyone listens: with no listener it is an uncaught exception and the gateway process exits.
// A handler that answers without touching req.body (404, 401, 429…) never listens. node:http's
// IncomingMessage emits 'error' only when it has listeners. (An uncaught exception fails the
// test that is running when it is thrown: each of these waits a little after the trigger.)
test('no crash: bad chunked framing in the first packet, before the handler runs', async () => {
  let calls = 0;
  const { port } = await startDefault((_req, res) => {
    calls++;
    res.end('ok');
  });
  const client = await RawClient.connect(port);
  client.write('POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  await assertProblem(await client.response(), 400, 'malformed-request');
  await client.closedByServer();
  await sleep(50);
  assert.equal(calls, 0);
});

test('no crash: bad chunked framing after a handler that does not read the body', async () => {
  const { port } = await startDefault(() => {});
  const client = await RawClient.connect(port);
  client.write('POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  await sleep(20);
  client.write('3\r\nabcX\r\n');
  await assertProblem(await client.response(), 400, 'malformed-request');
  await sleep(50);
});

test('no crash: the client leaves mid-upload while the handler has not read the body', async () => {
  const { port } = await startDefault((_req, res) => void setTimeout(() => res.end('checked'), 300));
  const client = await RawClient.connect(port, true);
  client.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\npartial');
  await sleep(20);
  client.socket.end();
  await client.closedByServer();
  await sleep(50);
});

test('no crash: the client resets while an unread body is being drained after the answer', async () => {
  const { port } = await startDefault((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not here');
  });
  const client = await RawClient.connect(port);
  client.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\npartial');
  assert.equal((await client.response()).status, 404);
  client.socket.resetAndDestroy();
  await sleep(100);
});

// ---------------------------------------------------------------------------------------------
// HTTP/1.0, framing of responses

test('HTTP/1.0: close-delimited body without a length, keep-alive when asked', async () => {
  const { port } = await startDefault((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part1-');
      setTimeout(() => res.end('part2'), 10);
    } else {
      res.end(`fixed ${req.httpVersion}`);
    }
  });
  const plain = await RawClient.connect(port);
  plain.write('GET /stream HTTP/1.0\r\n\r\n');
  await plain.closedByServer();
  const streamed = await plain.response();
  assert.equal(streamed.headers['content-length'], undefined);
  assert.equal(streamed.headers['transfer-encoding'], undefined, 'no chunked encoding for HTTP/1.0');
  assert.equal(streamed.headers.connection, 'close');
  assert.equal(streamed.text, 'part1-part2');

  const keepAlive = await RawClient.connect(port);
  keepAlive.write('GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const first = await keepAlive.response();
  assert.equal(first.headers.connection, 'keep-alive');
  assert.equal(first.headers['content-length'], '9');
  assert.equal(first.text, 'fixed 1.0');
  keepAlive.write('GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  await keepAlive.closedByServer();
  const second = await keepAlive.response();
  assert.equal(second.headers.connection, 'close', 'an unknown length ends with the connection even with keep-alive');
  assert.equal(second.text, 'part1-part2');

  const closing = await RawClient.connect(port);
  closing.write('GET /fixed HTTP/1.0\r\n\r\n');
  const answer = await closing.response();
  assert.equal(answer.headers.connection, 'close');
  assert.equal(answer.text, 'fixed 1.0');
  await closing.closedByServer();
});

test('HEAD, 204 and 304 answers carry no body, and the next pipelined answer follows right after', async () => {
  const { port } = await startDefault((req, res) => {
    switch (req.url) {
      case '/length':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
        res.end('hello');
        break;
      case '/stream':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('abc');
        res.end('def');
        break;
      case '/204':
        res.writeHead(204, { 'x-a': '1' });
        res.end('ignored');
        break;
      case '/304':
        res.writeHead(304, { etag: '"v1"' });
        res.write('ignored');
        res.end();
        break;
      default:
        res.end('last');
    }
  });
  const client = await RawClient.connect(port);
  client.write('HEAD /length HTTP/1.1\r\nHost: test\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: test\r\n\r\n' + get('/204') + get('/304') + get('/last'));
  const head1 = await client.response({ noBody: true });
  assert.equal(head1.headers['content-length'], '5', 'HEAD keeps the length of the body it would have');
  const head2 = await client.response({ noBody: true });
  assert.equal(head2.headers['transfer-encoding'], undefined);
  const noContent = await client.response();
  assert.equal(noContent.status, 204);
  assert.equal(noContent.headers['content-length'], undefined);
  assert.equal(noContent.headers['transfer-encoding'], undefined);
  const notModified = await client.response();
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers['transfer-encoding'], undefined);
  assert.equal(notModified.headers.etag, '"v1"');
  const last = await client.response();
  assert.equal(last.text, 'last', 'no stray body bytes were read as part of the stream');
  assert.equal(client.unread, '');
});

test('response framing: chunked when writing without a length, Content-Length when known at the end', async () => {
  const { port, url } = await startDefault((req, res) => {
    switch (req.url) {
      case '/chunked':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
        res.write(Buffer.alloc(3000, 'b'));
        res.write('');
        res.end('c');
        break;
      case '/declared':
        res.writeHead(200, { 'Content-Length': '6', 'Transfer-Encoding': 'chunked', Connection: 'keep-alive', 'Keep-Alive': 'timeout=5' });
        res.write('abc');
        res.end('def');
        break;
      case '/empty':
        res.end();
        break;
      case '/set-header':
        res.setHeader('X-Set', 'yes');
        res.setHeader('content-type', 'text/a');
        res.writeHead(201, { 'content-type': 'text/b' });
        res.end(Buffer.from('é'));
        break;
      case '/implicit':
        res.statusCode = 202;
        res.write('x');
        res.end();
        break;
      case '/x-close':
        res.writeHead(200, { Connection: 'x-close' });
        res.end('kept');
        break;
      case '/listed-close':
        res.writeHead(200, { Connection: 'keep-alive, Close' });
        res.end('closing');
        break;
      default:
        res.end('plain');
    }
  });
  const client = await RawClient.connect(port);
  client.write(get('/chunked'));
  const chunked = await client.response();
  assert.equal(chunked.headers['transfer-encoding'], 'chunked');
  assert.equal(chunked.headers['content-length'], undefined);
  assert.ok(chunked.raw.endsWith(`\r\n\r\n1\r\na\r\nbb8\r\n${'b'.repeat(3000)}\r\n1\r\nc\r\n0\r\n\r\n`), 'exact chunk framing, no empty chunk for an empty write');

  client.write(get('/declared'));
  const declared = await client.response();
  assert.equal(declared.headers['content-length'], '6');
  assert.equal(declared.headers['transfer-encoding'], undefined, "the handler's framing headers are replaced by the response's own");
  assert.equal(declared.headers['keep-alive'], undefined);
  assert.equal(declared.headers.connection, undefined);
  assert.equal(declared.text, 'abcdef');

  client.write(get('/empty'));
  const empty = await client.response();
  assert.equal(empty.headers['content-length'], '0');

  client.write(get('/set-header'));
  const set = await client.response();
  assert.equal(set.status, 201);
  assert.equal(set.headers['x-set'], 'yes');
  assert.equal(set.headers['content-type'], 'text/b', 'writeHead wins over setHeader');
  assert.equal(set.headers['content-length'], '2');
  assert.deepEqual(set.body, Buffer.from('é'));

  client.write(get('/implicit'));
  const implicit = await client.response();
  assert.equal(implicit.status, 202);
  assert.equal(implicit.text, 'x');

  client.write(get('/plain'));
  const plain = await client.response();
  assert.match(plain.raw, /^HTTP\/1\.1 200 OK\r\ndate: [^\r]+\r\ncontent-length: 5\r\n\r\nplain$/);

  client.write(get('/x-close'));
  const xClose = await client.response();
  assert.equal(xClose.headers.connection, undefined, 'x-close is another token than close: the connection stays');
  assert.equal(xClose.text, 'kept');

  client.write(get('/listed-close'));
  const listedClose = await client.response();
  assert.equal(listedClose.headers.connection, 'close', 'close among the tokens, in any case');
  assert.equal(listedClose.text, 'closing');
  await client.closedByServer();

  const viaFetch = await fetch(`${url}/chunked`);
  assert.equal((await viaFetch.text()).length, 3002);
});

test('a body that does not match the declared Content-Length closes the connection instead of desynchronising it', async () => {
  const { port } = await startDefault((req, res) => {
    if (req.url === '/too-long') {
      res.writeHead(200, { 'content-length': 3 });
      res.end('abcHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfake');
    } else if (req.url === '/too-short') {
      res.writeHead(200, { 'content-length': 10 });
      res.end('abc');
    } else {
      res.end('next');
    }
  });
  const long = await RawClient.connect(port);
  long.write(get('/too-long') + get('/next'));
  assert.equal((await long.response()).text, 'abc');
  await long.closedByServer();
  assert.equal(long.unread, '', 'the extra bytes never reach the client as a response');

  const short = await RawClient.connect(port);
  short.write(get('/too-short') + get('/next'));
  await short.closedByServer();
  assert.match(short.received, /\r\n\r\nabc$/);
});

// ---------------------------------------------------------------------------------------------
// Request smuggling: a body answered before it was read must never be read as a request

test('a POST answered before its body is read: the body bytes never become a request', async () => {
  const seen: string[] = [];
  const { port } = await startDefault((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.body.on('error', () => {}); // an unread body destroyed with an error has its own test
    res.end('ok');
  });
  const smuggled = get('/smuggled');

  // body in the same write as the head
  const sameWrite = await RawClient.connect(port);
  sameWrite.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}${get('/next')}`);
  await sameWrite.response();
  assert.equal((await sameWrite.response()).text, 'ok');

  // body after the answer
  const later = await RawClient.connect(port);
  later.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: ${smuggled.length}\r\n\r\n`);
  await later.response();
  later.write(smuggled + get('/next'));
  assert.equal((await later.response()).text, 'ok');

  // chunked body after the answer: drained or the connection closed
  const chunked = await RawClient.connect(port);
  chunked.write('POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n');
  await chunked.response();
  chunked.write(`${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n${get('/next')}`);
  await chunked.until(() => (chunked.ended || chunked.closed || chunked.unread.length > 0 ? true : undefined), 'an answer or a close');
  if (chunked.unread.length > 0) assert.equal((await chunked.response()).text, 'ok');

  // a large body (closing is cheaper than draining it)
  const large = await RawClient.connect(port);
  const filler = (smuggled + 'x'.repeat(1000)).repeat(200);
  large.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: ${filler.length}\r\n\r\n`);
  await large.response();
  large.write(filler);
  await sleep(50);

  assert.deepEqual(seen.filter((s) => s !== 'POST /upload' && s !== 'GET /next'), [], `requests seen: ${seen.join(', ')}`);
  assert.equal(seen.filter((s) => s === 'POST /upload').length, 4);
});

// ---------------------------------------------------------------------------------------------
// Half-close and disconnects

// The brief for these tests asked that a half-closed client still get its answer; since then
// ServerConnection#ended treats the client's FIN as leaving (as node:http and NGINX do), so that a
// client that goes away stops the upstream exchange at once. These tests pin that behaviour.
test('a client that half-closes while its request is under way abandons it: the response emits close', async () => {
  const closed = deferred();
  const { port } = await startDefault((_req, res) => {
    res.on('close', () => closed.resolve());
    setTimeout(() => res.end('too late'), 200);
  });
  const client = await RawClient.connect(port, true);
  client.write(get('/half'));
  await sleep(20);
  client.socket.end();
  await withTimeout(closed.promise, 1000, "the response's close event");
  await client.closedByServer();
  assert.equal(client.received, '');
});

test('a client that half-closes after its answer: the connection closes', async () => {
  const { port } = await startDefault((req, res) => res.end(req.url));
  const client = await RawClient.connect(port, true);
  client.write(get('/1'));
  assert.equal((await client.response()).text, '/1');
  client.socket.end();
  await client.closedByServer();
});

test('a client that resets mid-response: the response emits close, the unfinished body errors', async () => {
  const closed = deferred();
  const bodyError = deferred<string>();
  const firstData = deferred();
  let response!: Http1Response;
  const { port } = await startDefault((req, res) => {
    response = res;
    res.on('close', () => closed.resolve());
    req.body.on('error', (error: Error & { code?: string }) => bodyError.resolve(error.code ?? error.message));
    req.body.once('data', () => firstData.resolve());
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part');
  });
  const client = await RawClient.connect(port);
  client.write('POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n0123456789');
  await firstData.promise;
  await client.until(() => (client.received.includes('first part') ? true : undefined), 'the first part');
  client.socket.resetAndDestroy();
  await withTimeout(closed.promise, 1000, "the response's close event");
  assert.equal(await withTimeout(bodyError.promise, 1000, 'the body error'), 'ECONNRESET');
  assert.equal(response.destroyed, true);
  assert.equal(response.writableFinished, false);
  assert.equal(response.write('more'), false, 'writes after the close are refused');
});

test('a client that resets before the answer starts: the response emits close', async () => {
  const closed = deferred();
  const { port } = await startDefault((_req, res) => res.on('close', () => closed.resolve()));
  const client = await RawClient.connect(port);
  client.write(get('/wait'));
  await sleep(20);
  client.socket.resetAndDestroy();
  await withTimeout(closed.promise, 1000, "the response's close event");
});

// BUG: a client that closes its socket (FIN) in the middle of a request body is only noted as
// "half-closed" (#ended): the body can never complete, yet the body stream neither ends nor errors
// and the response never closes until the request timeout (60 s by default) answers 408. node:http
// errors the request at once ('aborted').
test('a client that closes mid-body: the body stream errors and the response closes promptly', async () => {
  const closed = deferred();
  const bodyError = deferred<string>();
  const firstData = deferred();
  const { port } = await startDefault((req, res) => {
    res.on('close', () => closed.resolve());
    req.body.on('error', (error: Error & { code?: string }) => bodyError.resolve(error.code ?? error.message));
    req.body.on('data', () => firstData.resolve());
  });
  const client = await RawClient.connect(port, true);
  client.write('POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n0123456789');
  await firstData.promise;
  client.socket.end();
  await withTimeout(bodyError.promise, 1000, 'the body error');
  await withTimeout(closed.promise, 1000, "the response's close event");
});

test('res.write returns false when the client does not read, and drain follows when it does', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'z');
  const result = deferred<{ written: number; firstFalseAt: number; drains: number }>();
  const { port } = await startDefault((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let written = 0;
    let firstFalseAt = -1;
    let drains = 0;
    while (written < 1024) {
      written++;
      if (!res.write(chunk)) {
        firstFalseAt = written;
        break;
      }
    }
    assert.equal(res.writableNeedDrain, firstFalseAt > 0);
    res.once('drain', () => {
      drains++;
      res.end('end');
      result.resolve({ written, firstFalseAt, drains });
    });
  });
  const socket = net.connect({ port, host: '127.0.0.1' });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  socket.write(get('/big'));
  await sleep(150);
  let received = 0;
  let tail = '';
  socket.on('data', (data: Buffer) => {
    received += data.length;
    tail = (tail + data.toString('latin1')).slice(-20);
  });
  socket.resume();
  const { written, firstFalseAt, drains } = await withTimeout(result.promise, 5000, 'drain');
  assert.ok(firstFalseAt > 0, 'write returned false at some point');
  assert.equal(drains, 1);
  await (async () => {
    for (let i = 0; i < 200 && !tail.endsWith('3\r\nend\r\n0\r\n\r\n'); i++) await sleep(10);
  })();
  assert.ok(tail.endsWith('3\r\nend\r\n0\r\n\r\n'), 'the whole chunked body arrived');
  assert.ok(received > written * chunk.length);
});

test('res.destroy() closes the connection without completing the answer', async () => {
  const { port } = await startDefault((_req, res) => {
    res.writeHead(200, { 'content-length': 100 });
    res.write('partial');
    setTimeout(() => res.destroy(), 10);
  });
  const client = await RawClient.connect(port);
  client.write(get('/x') + get('/y'));
  await client.closedByServer();
  assert.match(client.received, /\r\n\r\npartial$/);
});

// ---------------------------------------------------------------------------------------------
// Upgrades

/** An upgraded socket is the handler's: it ends with the client's end and is destroyed after the tests. */
function adopt(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
  cleanups.push(() => void socket.destroy());
}

test('an upgrade goes to onUpgrade with the socket and the bytes after the head', async () => {
  const seen = deferred<{ upgrade: string | undefined; head: string; url: string }>();
  const { port } = await startServer((_req, res) => res.end('plain'), {
    onUpgrade: (req, _res, socket, head) => {
      seen.resolve({ upgrade: req.headers.upgrade as string | undefined, head: head.toString(), url: req.url });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.on('data', (data: Buffer) => socket.write(data));
      socket.resume();
      adopt(socket);
    },
  });
  const client = await RawClient.connect(port);
  client.write('GET /tunnel HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly-bytes');
  assert.deepEqual(await seen.promise, { upgrade: 'echo', head: 'early-bytes', url: '/tunnel' });
  const switching = await client.response();
  assert.equal(switching.status, 101);
  await client.until(() => (client.unread === 'early-bytes' ? true : undefined), 'the echoed early bytes');
  client.write('ping');
  await client.until(() => (client.unread === 'early-bytesping' ? true : undefined), 'the echo');
});

test('an upgrade refused through res: the answer says close and the socket ends', async () => {
  const { port } = await startServer((_req, res) => res.end('plain'), {
    onUpgrade: (_req, res, socket) => {
      adopt(socket);
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('no upgrades here');
    },
  });
  const client = await RawClient.connect(port);
  client.write('GET /tunnel HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  const response = await client.response();
  assert.equal(response.status, 403);
  assert.equal(response.headers.connection, 'close');
  assert.equal(response.text, 'no upgrades here');
  await client.closedByServer();
});

// The gateway observes a request's end, and inFlightReq frees its slot, on the response's 'close':
// for a tunnel the handler never ends the response, so the socket closing must emit it.
test('an upgrade the handler took over: its response emits close once when the socket closes, head never sent', async () => {
  const closes: boolean[] = [];
  const upgraded = deferred<net.Socket>();
  const closed = deferred();
  const { port } = await startServer((_req, res) => res.end('plain'), {
    onUpgrade: (_req, res, socket) => {
      res.on('close', () => {
        closes.push(res.headersSent);
        closed.resolve();
      });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.resume();
      adopt(socket);
      upgraded.resolve(socket);
    },
  });
  const client = await RawClient.connect(port);
  client.write('GET /tunnel HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  assert.equal((await client.response()).status, 101);
  const socket = await upgraded.promise;
  await sleep(20);
  assert.deepEqual(closes, [], 'no close while the tunnel is open');
  client.socket.end();
  await withTimeout(closed.promise, 1000, "the response's close");
  await sleep(20);
  assert.equal(socket.destroyed, true);
  assert.deepEqual(closes, [false], "one close, and headersSent false: the gateway reports the tunnel's 101");
});

test('without onUpgrade, an upgrade request is an ordinary request', async () => {
  const { port } = await startDefault((req, res) => res.end(`plain ${req.url} ${String(req.headers.upgrade)}`));
  const client = await RawClient.connect(port);
  client.write('GET /tunnel HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  assert.equal((await client.response()).text, 'plain /tunnel echo');
});

// BUG: #detach() removes the connection's 'data' listener but leaves the socket flowing, so bytes
// that arrive before the upgrade handler attaches its own listener are emitted to nobody and lost.
// The gateway's tunnel attaches it only once the upstream connection is up. node:http sets
// `socket.readableFlowing = null` before emitting 'upgrade' (checked: node 24 keeps those bytes).
test('bytes that arrive after the upgrade head, before the handler reads the socket, are kept', async () => {
  const upgraded = deferred();
  const received = deferred<string>();
  const { port } = await startServer((_req, res) => res.end('plain'), {
    onUpgrade: (_req, _res, socket, head) => {
      adopt(socket);
      upgraded.resolve();
      // as the gateway's tunnel does: the socket is read once the upstream is connected
      setTimeout(() => {
        let text = head.toString();
        socket.on('data', (data: Buffer) => {
          text += data.toString();
          if (text.includes('later')) received.resolve(text);
        });
        socket.resume(); // as pipe() does: works whether the server left the socket paused or not flowing
      }, 60);
    },
  });
  const client = await RawClient.connect(port);
  client.write('GET /tunnel HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly-');
  await upgraded.promise;
  client.write('later');
  assert.equal(await withTimeout(received.promise, 500, 'the bytes sent before the handler read'), 'early-later');
});

// ---------------------------------------------------------------------------------------------
// TLS

test('TLS: requests over https, with keep-alive and a body', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'http1-tls-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const { certFile, keyFile } = makeCertificate(dir, ['localhost']);
  const cert = readFileSync(certFile);
  const { port } = await startServer(
    (req, res) => {
      void readBody(req).then((body) => {
        const socket = req.socket as TLSSocket;
        res.end(`${req.method} ${req.url} encrypted=${String(socket.encrypted)} ${body.toString()}`);
      });
    },
    { tls: { key: readFileSync(keyFile), cert } },
  );
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert, servername: 'localhost' });
  try {
    const request = (path: string, body?: string) =>
      new Promise<{ text: string; localPort: number }>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent, servername: 'localhost' }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ text, localPort: req.socket!.localPort! }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const first = await request('/secure');
    assert.equal(first.text, 'GET /secure encrypted=true ');
    const second = await request('/post', 'payload');
    assert.equal(second.text, 'POST /post encrypted=true payload');
    assert.equal(first.localPort, second.localPort, 'the TLS connection was kept alive');
  } finally {
    agent.destroy();
  }

  // a client offering h2 first is told http/1.1
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, ALPNProtocols: ['h2', 'http/1.1'] });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'secureConnect');
  assert.equal(socket.alpnProtocol, 'http/1.1');
  const client = new RawClient(socket);
  client.write(get('/alpn'));
  assert.equal((await client.response()).text, 'GET /alpn encrypted=true ');
});

// ---------------------------------------------------------------------------------------------
// Timeouts and limits (the sweep runs each second: these run side by side)

test('timeouts and limits', { concurrency: true }, async (t) => {
  const subtests: Array<Promise<void>> = [];
  subtests.push(t.test('408 when a head stalls, and the connection closes', async () => {
    let calls = 0;
    const { port } = await startServer(
      (_req, res) => {
        calls++;
        res.end();
      },
      { requestTimeoutMs: 300 },
    );
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: test\r\n');
    const started = performance.now();
    await assertProblem(await client.response({ timeoutMs: 2500 }), 408, 'request-timeout');
    assert.ok(performance.now() - started >= 250, 'not before the timeout');
    await client.closedByServer();
    assert.equal(calls, 0);
  }));

  subtests.push(t.test('408 when a body stalls: the body stream errors with REQUEST_TIMEOUT', async () => {
    const bodyError = deferred<string>();
    const { port } = await startServer(
      (req) => {
        req.body.on('error', (error: Error & { code?: string }) => bodyError.resolve(error.code ?? error.message));
        req.body.resume();
      },
      { requestTimeoutMs: 300 },
    );
    const client = await RawClient.connect(port);
    client.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly a part');
    await assertProblem(await client.response({ timeoutMs: 2500 }), 408, 'request-timeout');
    assert.equal(await bodyError.promise, 'REQUEST_TIMEOUT');
    await client.closedByServer();
  }));

  subtests.push(t.test('no crash: 408 for a stalled body that nobody reads', async () => {
    const { port } = await startServer(() => {}, { requestTimeoutMs: 300 });
    const client = await RawClient.connect(port);
    client.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly a part');
    await assertProblem(await client.response({ timeoutMs: 2500 }), 408, 'request-timeout');
    await sleep(50);
  }));

  subtests.push(t.test('a slow handler is not a slow request: no 408 once the request is read', async () => {
    const { port } = await startServer((_req, res) => void setTimeout(() => res.end('late but fine'), 1100), { requestTimeoutMs: 300 });
    const client = await RawClient.connect(port);
    client.write(get('/slow'));
    const response = await client.response({ timeoutMs: 3000 });
    assert.equal(response.status, 200);
    assert.equal(response.text, 'late but fine');
  }));

  subtests.push(t.test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const { port } = await startServer((_req, res) => res.end('ok'), { keepAliveTimeoutMs: 300 });
    const [client, silent] = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
    client.write(get('/'));
    await client.response();
    const answered = performance.now();
    await Promise.all([client.closedByServer(2500), silent.closedByServer(2500)]);
    assert.ok(performance.now() - answered >= 250, 'not before the idle timeout');
  }));

  // BUG: end() emits 'finish' as soon as the bytes are handed to the socket, responseDone() makes
  // the connection idle, and the sweep destroys an idle connection after keepAliveTimeoutMs even
  // though megabytes of the answer still wait in the socket's write buffer for a slow client:
  // the client gets a truncated body. (node:http arms its keep-alive timer only once the response
  // is flushed, and socket writes count as activity.)
  subtests.push(t.test('the idle timeout does not cut an answer a slow client is still receiving', async () => {
    const size = 16 * 1024 * 1024;
    const { port } = await startServer((_req, res) => res.end(Buffer.alloc(size, 'q')), { keepAliveTimeoutMs: 300 });
    const socket = net.connect({ port, host: '127.0.0.1' });
    cleanups.push(() => void socket.destroy());
    await once(socket, 'connect');
    socket.pause();
    socket.write(get('/big'));
    await sleep(1500);
    let received = 0;
    socket.on('data', (data: Buffer) => (received += data.length));
    socket.on('error', () => {});
    socket.resume();
    const complete = () => received >= size;
    for (let i = 0; i < 100 && !complete() && !socket.destroyed && !socket.readableEnded; i++) await sleep(10);
    assert.ok(received >= size, `received ${received} bytes of a ${size}-byte body before the connection closed`);
  }));

  subtests.push(t.test('maxRequestsPerSocket: the last answer says connection: close and the socket closes', async () => {
    const { port } = await startServer((req, res) => res.end(req.url), { maxRequestsPerSocket: 2 });
    const client = await RawClient.connect(port);
    client.write(get('/1') + get('/2') + get('/3'));
    const first = await client.response();
    assert.equal(first.headers.connection, undefined);
    const second = await client.response();
    assert.equal(second.headers.connection, 'close');
    assert.equal(second.text, '/2');
    await client.closedByServer();
    assert.equal(client.unread, '', 'the third request is not answered');
  }));

  subtests.push(t.test('server.close() closes idle connections at once and a busy one after its answer', async () => {
    const { server, port } = await startServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('finished'), 100);
      else res.end('ok');
    });
    const idle = await RawClient.connect(port);
    idle.write(get('/'));
    await idle.response();
    const busy = await RawClient.connect(port);
    busy.write(get('/slow'));
    await sleep(20);
    const closing = server.close();
    await idle.closedByServer();
    const answer = await busy.response();
    assert.equal(answer.text, 'finished');
    await busy.closedByServer();
    await withTimeout(closing, 2000, 'server.close()');
  }));

  // BUG: close() clears the sweep timer, so a connection holding a partial head (or a stalled
  // body) is never timed out any more; it is not idle either, so close() never resolves.
  subtests.push(t.test('server.close() resolves even when a client holds a partial head open', async () => {
    const { server, port } = await startServer((_req, res) => res.end('ok'), { requestTimeoutMs: 300 });
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: te');
    await sleep(20);
    await withTimeout(server.close(), 2000, 'server.close() with a stalled head');
  }));
  await Promise.all(subtests);
});

// ---------------------------------------------------------------------------------------------
// Memory: bytes nobody will use are not kept

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Full GCs, with pauses: V8 frees ArrayBuffer memory on a background thread after a GC. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
}

/** Growth of the process's ArrayBuffer memory after `action`, both sides of it measured after full GCs. */
async function retainedBytes(action: () => Promise<void>): Promise<number> {
  await collect();
  const before = process.memoryUsage().arrayBuffers;
  await action();
  await collect();
  return process.memoryUsage().arrayBuffers - before;
}

/** Writes `total` bytes of `piece` repeated (the same Buffer, so the client allocates nothing), ignoring errors. */
async function flood(socket: net.Socket, piece: Buffer, total: number): Promise<void> {
  socket.on('error', () => {});
  for (let sent = 0; sent < total && !socket.destroyed && socket.writable; sent += piece.length) {
    if (!socket.write(piece)) await Promise.race([once(socket, 'drain'), once(socket, 'close'), sleep(500)]);
  }
  await sleep(100); // the server reads what is in flight
}

// BUG: after a refusal (431/400/408) or a `connection: close` answer, #end() half-closes but keeps
// reading: #read() appends every later byte to #buffer (Buffer.concat each time, quadratic) and
// #process() does nothing with it. A client that keeps sending grows server memory without bound
// (its activity also defeats the 5 s end timer).
test('bytes a client sends after a refusal are dropped, not buffered', async () => {
  const { port } = await startDefault((_req, res) => res.end('ok'));
  const client = await RawClient.connect(port, true);
  client.write(`GET / HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n`);
  assert.equal((await client.response()).status, 431);
  const growth = await retainedBytes(() => flood(client.socket, Buffer.alloc(64 * 1024, 'j'), 4 * 1024 * 1024));
  assert.ok(growth < 1.5 * 1024 * 1024, `${(growth / 1024 / 1024).toFixed(1)} MB kept after the refusal`);
});

// BUG: empty lines before a request line are skipped but kept in #buffer, and the 431 check
// subtracts them (`buffer.length - start > limit`): a client sending CRLF forever is buffered
// without limit (and rescanned from the start on every read) until the request timeout.
test('a flood of empty lines before a request line is refused or dropped, not buffered', async () => {
  const { port } = await startDefault((_req, res) => res.end('ok'));
  const client = await RawClient.connect(port, true);
  const growth = await retainedBytes(() => flood(client.socket, Buffer.from('\r\n'.repeat(32 * 1024)), 4 * 1024 * 1024));
  assert.ok(growth < 1.5 * 1024 * 1024, `${(growth / 1024 / 1024).toFixed(1)} MB of empty lines kept`);
});

test('a few empty lines before a request line are ignored (RFC 9112 §2.2)', async () => {
  const { port } = await startDefault((req, res) => res.end(req.url));
  const client = await RawClient.connect(port);
  client.write('\r\n\r\n' + get('/after-empty-lines'));
  assert.equal((await client.response()).text, '/after-empty-lines');
  client.write('POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\nx\r\n' + get('/after-extra-crlf'));
  assert.equal((await client.response()).text, '/p');
  assert.equal((await client.response()).text, '/after-extra-crlf');
});

// ---------------------------------------------------------------------------------------------
// Robustness: arbitrary bytes never crash the server

test('arbitrary bytes from clients never crash the server; it still serves afterwards', async () => {
  const { port } = await startDefault((req, res) => {
    req.body.on('error', () => {});
    req.body.resume();
    res.end('ok');
  });
  const fragments = fc.constantFrom('GET / HTTP/1.1\r\n', 'POST / HTTP/1.1\r\n', 'Host: a\r\n', 'Content-Length: 3\r\n', 'Transfer-Encoding: chunked\r\n', 'Expect: 100-continue\r\n', 'Connection: close\r\n', 'Upgrade: x\r\nConnection: upgrade\r\n', '\r\n', '\r\n\r\n', '5\r\nhello\r\n', '0\r\n\r\n', 'zz', '\x00', ' ', ':', '\n');
  const inputs = fc.sample(fc.oneof(fc.array(fragments, { maxLength: 12 }).map((p) => Buffer.from(p.join(''), 'latin1')), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), { numRuns: 60, seed: 42 });
  await Promise.all(
    inputs.map(async (input) => {
      const client = await RawClient.connect(port, true);
      client.write(input);
      client.socket.end();
      await client.closedByServer(300).catch(() => {});
      client.socket.destroy();
    }),
  );
  const client = await RawClient.connect(port);
  client.write(get('/still-alive'));
  assert.equal((await client.response()).text, 'ok');
});
