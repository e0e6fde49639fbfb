// The upstream connection pool against real servers on port 0: node:http servers for ordinary
// answers, raw net servers for the malformed, stalled and edge-case ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamPool, type UpstreamController, type UpstreamError, type UpstreamHandler, type UpstreamPoolOptions, type UpstreamRequest } from '../../src/gateway/http1/upstream-pool.ts';
import { makeCertificate } from '../helpers/certificates.ts';
import { closedPort, startServer } from '../helpers/http-servers.ts';

const quick: UpstreamPoolOptions = { connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, keepAliveTimeoutMs: 4000 };

function pool(url: string, options: Partial<UpstreamPoolOptions> = {}): UpstreamPool {
  return new UpstreamPool(url, { ...quick, ...options });
}

/** Records every callback; `done` settles at the end or the error. */
class Recorder implements UpstreamHandler {
  readonly events: string[] = [];
  controller: UpstreamController | null = null;
  status = 0;
  message = '';
  headers: string[] = [];
  readonly chunks: Buffer[] = [];
  error: UpstreamError | null = null;
  readonly done: Promise<void>;
  #settle!: () => void;
  onStart: ((controller: UpstreamController) => void) | null = null;
  onData: ((controller: UpstreamController, chunk: Buffer) => void) | null = null;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  onRequestStart(controller: UpstreamController): void {
    this.events.push('start');
    this.controller = controller;
  }

  onResponseStart(controller: UpstreamController, statusCode: number, rawHeaders: string[], statusMessage: string): void {
    this.events.push(`head ${statusCode}`);
    this.status = statusCode;
    this.headers = rawHeaders;
    this.message = statusMessage;
    this.onStart?.(controller);
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.events.at(-1) !== 'data') this.events.push('data');
    this.chunks.push(chunk);
    this.onData?.(controller, chunk);
  }

  onResponseEnd(): void {
    this.events.push('end');
    this.#settle();
  }

  onResponseError(_controller: UpstreamController, error: UpstreamError): void {
    this.events.push(`error ${error.code}`);
    this.error = error;
    this.#settle();
  }
}

function get(path: string, headers: string[] = ['host', 'upstream.test']): UpstreamRequest {
  return { method: 'GET', path, headers, body: null };
}

async function send(p: UpstreamPool, request: UpstreamRequest, setup?: (r: Recorder) => void): Promise<Recorder> {
  const recorder = new Recorder();
  setup?.(recorder);
  p.dispatch(request, recorder);
  await recorder.done;
  return recorder;
}

interface RawRequest {
  head: string;
  body: Buffer;
  /** 0 for the first request on its connection. */
  index: number;
  /** The connection's number on this server, from 0. */
  connection: number;
  path: string;
}

interface RawServer {
  url: string;
  port: number;
  connections: number;
  closedByPeer: number;
  requests: RawRequest[];
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A net server that reads HTTP/1.1 requests (Content-Length or chunked bodies) and lets the test answer with raw bytes. */
async function rawServer(answer: (socket: net.Socket, request: RawRequest) => void, onConnection?: (socket: net.Socket) => void): Promise<RawServer> {
  const state: RawServer = { url: '', port: 0, connections: 0, closedByPeer: 0, requests: [], sockets: new Set(), close: async () => {} };
  const server = net.createServer((socket) => {
    const connection = state.connections++;
    state.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('end', () => state.closedByPeer++);
    socket.on('close', () => state.sockets.delete(socket));
    onConnection?.(socket);
    let buffer = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const rest = buffer.subarray(end + 4);
        let body: Buffer;
        let used: number;
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length) {
          if (rest.length < Number(length[1])) return;
          body = rest.subarray(0, Number(length[1]));
          used = body.length;
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          const last = rest.indexOf('0\r\n\r\n');
          if (last < 0) return;
          body = dechunk(rest.subarray(0, last + 5));
          used = last + 5;
        } else {
          body = Buffer.alloc(0);
          used = 0;
        }
        buffer = rest.subarray(used);
        const request: RawRequest = { head, body, index: index++, connection, path: head.split(' ')[1]! };
        state.requests.push(request);
        answer(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as net.AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of state.sockets) socket.destroy();
      server.close(() => resolve());
    });
  return state;
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Resolves when `check` holds, polling; fails after `withinMs`. */
async function until(check: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`${what} within ${withinMs} ms`);
    await sleep(5);
  }
}

async function cleanup(pools: UpstreamPool[], servers: { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
}

/** Silences console.error for one test and keeps what it was given. */
function captureConsoleErrors(t: { after(fn: () => void): void }): unknown[][] {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  t.after(() => {
    console.error = original;
  });
  return logged;
}

// --- keep-alive and framing -----------------------------------------------------------------

test('sequential requests share one keep-alive connection; concurrent ones open more, then reuse them', async (t) => {
  let connections = 0;
  const server = await startServer((req, res) => res.end(`you asked for ${req.url}`));
  server.server.on('connection', () => connections++);
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));

  for (let i = 0; i < 5; i++) {
    const r = await send(p, get(`/seq/${i}?q=${i}`));
    assert.equal(r.status, 200);
    assert.equal(r.message, 'OK');
    assert.equal(r.body, `you asked for /seq/${i}?q=${i}`);
    assert.deepEqual(r.events, ['start', 'head 200', 'data', 'end']);
  }
  assert.equal(connections, 1);
  assert.deepEqual(p.stats, { connections: 1, idle: 1 });

  const together = await Promise.all([1, 2, 3].map((i) => send(p, get(`/together/${i}`))));
  assert.deepEqual(together.map((r) => r.body), ['you asked for /together/1', 'you asked for /together/2', 'you asked for /together/3']);
  assert.equal(connections, 3);
  await Promise.all([1, 2, 3].map((i) => send(p, get(`/again/${i}`))));
  assert.equal(connections, 3, 'idle connections are reused');
  assert.deepEqual(p.stats, { connections: 3, idle: 3 });
});

test('the request head goes out as given, with Host added when missing and the body length set', async (t) => {
  const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));

  await send(p, { method: 'GET', path: '/a?b=c&d', headers: ['Host', 'shop.example', 'X-Mixed-Case', 'Value', 'cookie', 'a=1', 'cookie', 'b=2'], body: null });
  assert.equal(server.requests[0]!.head, 'GET /a?b=c&d HTTP/1.1\r\nHost: shop.example\r\nX-Mixed-Case: Value\r\ncookie: a=1\r\ncookie: b=2');

  await send(p, { method: 'POST', path: '/form', headers: ['accept', '*/*'], body: null });
  assert.equal(server.requests[1]!.head, `POST /form HTTP/1.1\r\naccept: */*\r\nhost: 127.0.0.1:${server.port}\r\ncontent-length: 0`);

  await send(p, { method: 'PUT', path: '/put', headers: ['host', 'h', 'Content-Length', '999'], body: Buffer.from('twelve bytes') });
  assert.equal(server.requests[2]!.head, 'PUT /put HTTP/1.1\r\nhost: h\r\ncontent-length: 12');
  assert.equal(server.requests[2]!.body.toString(), 'twelve bytes');

  const large = Buffer.alloc(100_000, 'x');
  await send(p, { method: 'POST', path: '/large', headers: ['host', 'h'], body: large });
  assert.equal(server.requests[3]!.body.length, large.length);
  assert.equal(server.connections, 1);
});

test('request heads that would break the protocol are refused with INVALID_REQUEST, asynchronously', async (t) => {
  const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  for (const request of [
    { method: 'GET', path: '/x', headers: ['host', 'h', 'x-evil', 'a\r\nInjected: 1'], body: null },
    { method: 'GET', path: '/x', headers: ['host', 'h', 'bad name', 'v'], body: null },
    { method: 'GET', path: '/x y', headers: ['host', 'h'], body: null },
    { method: 'GET', path: '/x', headers: ['host', 'h', 'x-wide', 'caf\u0100'], body: null },
    { method: 'G T', path: '/x', headers: ['host', 'h'], body: null },
  ]) {
    const recorder = new Recorder();
    p.dispatch(request, recorder);
    assert.deepEqual(recorder.events, ['start'], 'not reported from inside dispatch()');
    await recorder.done;
    assert.equal(recorder.error?.code, 'INVALID_REQUEST', JSON.stringify(request));
  }
  assert.equal(server.requests.length, 0, 'nothing reached the server');
  assert.equal((await send(p, get('/fine'))).status, 200);
});

test('content-length, chunked and close-delimited bodies, and answers without a body', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh');
  const server = await startServer((req, res) => {
    if (req.url === '/length') res.end(big);
    else if (req.url === '/chunked') {
      res.write('first,');
      setTimeout(() => {
        res.write('second,');
        res.end('third');
      }, 5);
    } else if (req.url === '/head') {
      res.setHeader('content-length', '100');
      res.end();
    } else if (req.url === '/no-content') {
      res.statusCode = 204;
      res.end();
    } else if (req.url === '/not-modified') {
      res.statusCode = 304;
      res.end();
    } else res.end('default');
  });
  let connections = 0;
  server.server.on('connection', () => connections++);
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));

  const length = await send(p, get('/length'));
  assert.equal(length.chunks.reduce((n, c) => n + c.length, 0), big.length);
  assert.ok(Buffer.concat(length.chunks).equals(big));
  const chunked = await send(p, get('/chunked'));
  assert.equal(chunked.body, 'first,second,third');
  assert.ok(chunked.headers.some((h) => h.toLowerCase() === 'transfer-encoding'), 'hop-by-hop headers are reported as received');
  const head = await send(p, { method: 'HEAD', path: '/head', headers: ['host', 'h'], body: null });
  assert.deepEqual(head.events, ['start', 'head 200', 'end']);
  for (const path of ['/no-content', '/not-modified']) {
    const r = await send(p, get(path));
    assert.deepEqual(r.events, ['start', `head ${path === '/no-content' ? 204 : 304}`, 'end']);
  }
  assert.equal((await send(p, get('/last'))).body, 'default');
  assert.equal(connections, 1, 'every one of these left the connection reusable');
});

test('a close-delimited body ends with the connection, which is not reused', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.path === '/close') {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setTimeout(() => socket.end('the end'), 10);
    } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const r = await send(p, get('/close'));
  assert.deepEqual(r.events, ['start', 'head 200', 'data', 'end']);
  assert.equal(r.body, 'until the end');
  assert.equal((await send(p, get('/next'))).body, 'ok');
  assert.equal(server.connections, 2);
});

test('a chunked body split at every byte, with extensions and trailers, parses the same and keeps the connection', async (t) => {
  const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Sum: 42\r\nX-Other: y\r\n\r\n';
  const server = await rawServer((socket, request) => {
    const at = Number(request.path.slice(1));
    socket.write(response.slice(0, at), 'latin1');
    setTimeout(() => socket.write(response.slice(at), 'latin1'), 1);
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  for (let at = 1; at < response.length; at++) {
    const r = await send(p, get(`/${at}`));
    assert.equal(r.error, null, `split at ${at}: ${r.error?.message}`);
    assert.equal(r.body, 'hello 0123456789', `split at ${at}`);
  }
  assert.equal(server.connections, 1);
});

test('100 Continue and 103 Early Hints are skipped, even when split across reads', async (t) => {
  const server = await rawServer((socket) => {
    socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 2');
    setTimeout(() => socket.write('01 Created\r\nContent-Length: 4\r\n\r\ndone'), 5);
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const r = await send(p, get('/'));
  assert.deepEqual(r.events, ['start', 'head 201', 'data', 'end']);
  assert.equal(r.message, 'Created');
  assert.deepEqual(r.headers, ['Content-Length', '4']);
  assert.equal(r.body, 'done');
  assert.equal((await send(p, get('/'))).status, 201);
  assert.equal(server.connections, 1);
});

test('Connection: close, HTTP/1.0 and bytes after the body keep a connection from being reused', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.path === '/close') socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na');
    else if (request.path === '/http10') socket.write('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb');
    else if (request.path === '/http10-keep-alive') socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nc');
    else if (request.path === '/extra') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ndJUNK');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ne');
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const expect = async (path: string, body: string, reused: boolean) => {
    const before = server.connections;
    const r = await send(p, get(path));
    assert.equal(r.body, body);
    await until(() => p.stats.connections === (reused ? 1 : 0), 1000, `${path}: connection ${reused ? 'kept' : 'closed'}`);
    assert.ok(server.connections <= before + 1);
  };
  await expect('/close', 'a', false);
  await expect('/http10', 'b', false);
  await expect('/http10-keep-alive', 'c', true);
  await expect('/extra', 'd', false);
  await expect('/plain', 'e', true);
  await expect('/plain', 'e', true);
  assert.equal(server.connections, 4, '/extra went out on the kept HTTP/1.0 connection, /plain twice on one new one');
});

// --- keep-alive lifetime and stale connections --------------------------------------------

test('idle connections close after keepAliveTimeoutMs, or sooner when the server says Keep-Alive: timeout', async (t) => {
  const server = await rawServer((socket, request) => {
    const keepAlive = request.path === '/short' ? 'Keep-Alive: timeout=1\r\n' : request.path === '/two' ? 'Keep-Alive: timeout=2\r\n' : '';
    socket.write(`HTTP/1.1 200 OK\r\n${keepAlive}Content-Length: 0\r\n\r\n`);
  });
  const p = pool(server.url, { keepAliveTimeoutMs: 300, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 });
  t.after(() => cleanup([p], [server]));

  await send(p, get('/plain'));
  assert.equal(p.stats.idle, 1);
  await sleep(150);
  assert.equal(p.stats.idle, 1, 'still open halfway');
  await until(() => p.stats.connections === 0, 600, 'the idle connection closed');
  await until(() => server.closedByPeer === 1, 200, 'the server saw it close');

  await send(p, get('/short'));
  await until(() => p.stats.connections === 0, 100, 'timeout=1 leaves no time to reuse: closed at once');

  const long = pool(server.url, { keepAliveTimeoutMs: 10_000 });
  t.after(() => long.close());
  await send(long, get('/two'));
  await sleep(700);
  assert.equal(long.stats.idle, 1, 'open for timeout=2 minus a second');
  await until(() => long.stats.connections === 0, 800, 'closed one second before the server would');
});

test('a stale keep-alive connection is retried once on a fresh one for GET, not for POST', async (t) => {
  // The server closes every connection at its second request, without answering.
  const server = await rawServer((socket, request) => {
    if (request.index === 1) socket.destroy();
    else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${request.path.length}\r\n\r\n${request.path}`);
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));

  assert.equal((await send(p, get('/one'))).body, '/one');
  const retried = await send(p, get('/two'));
  assert.deepEqual(retried.events, ['start', 'head 200', 'data', 'end']);
  assert.equal(retried.body, '/two');
  assert.equal(server.connections, 2);

  const post = await send(p, { method: 'POST', path: '/three', headers: ['host', 'h'], body: Buffer.from('x') });
  assert.equal(post.error?.code, 'UPSTREAM_CLOSED');
  assert.deepEqual(post.events, ['start', 'error UPSTREAM_CLOSED']);
  assert.equal(server.connections, 2, 'no new connection for the POST');

  // A streamed body cannot be replayed either, even for PUT.
  assert.equal((await send(p, get('/four'))).body, '/four');
  const put = await send(p, { method: 'PUT', path: '/five', headers: ['host', 'h', 'content-length', '1'], body: Readable.from([Buffer.from('y')]) });
  assert.equal(put.error?.code, 'UPSTREAM_CLOSED');
});

test('a connection the server closed while idle is never handed out', async (t) => {
  const server = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    setTimeout(() => socket.end(), 20);
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  await send(p, get('/'));
  await until(() => p.stats.connections === 0, 500, 'the closed idle connection left the pool');
  assert.equal((await send(p, get('/'))).body, 'ok');
  assert.equal(server.connections, 2);
});

// --- failures -----------------------------------------------------------------------------

test('a refused connection reports ECONNREFUSED', async (t) => {
  const p = pool(`http://127.0.0.1:${await closedPort()}`);
  t.after(() => p.close());
  const r = await send(p, get('/'));
  assert.equal(r.error?.code, 'ECONNREFUSED');
  assert.deepEqual(r.events, ['start', 'error ECONNREFUSED']);
  assert.equal(p.stats.connections, 0);
  assert.equal(r.error?.notSent, true, 'a refused connection never carried the request');
});

test('notSent marks every failure before the connection opened, and no failure after it', async (t) => {
  // A TLS handshake the server cuts: Node's code or CONNECT_FAILED, never sent either way.
  const dropper = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  const closesAfterRequest = await rawServer((socket) => socket.destroy());
  const tlsPool = new UpstreamPool(`https://127.0.0.1:${(dropper.address() as net.AddressInfo).port}`, quick);
  const plainPool = pool(closesAfterRequest.url);
  t.after(async () => {
    await cleanup([tlsPool, plainPool], [closesAfterRequest]);
    await new Promise((resolve) => dropper.close(resolve));
  });
  const handshake = await send(tlsPool, { method: 'POST', path: '/', headers: [], body: Buffer.from('x') });
  assert.ok(handshake.error !== null, 'the handshake failed');
  assert.equal(handshake.error.notSent, true, `${handshake.error.code} before the connection opened`);
  const afterRequest = await send(plainPool, { method: 'POST', path: '/', headers: [], body: Buffer.from('x') });
  assert.equal(afterRequest.error?.code, 'UPSTREAM_CLOSED');
  assert.notEqual(afterRequest.error.notSent, true, 'the request may have reached the server');
});

test('a name that does not resolve reports the resolver\'s code', async (t) => {
  const p = pool('http://no-such-host.invalid:8080', { connectTimeoutMs: 3000 });
  t.after(() => p.close());
  const r = await send(p, get('/'));
  assert.ok(['ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT'].includes(r.error?.code ?? ''), `got ${r.error?.code}`);
});

test('dispatch() never throws, even for a request it cannot send', async (t) => {
  const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const recorder = new Recorder();
  assert.doesNotThrow(() => p.dispatch({ method: 'GET', path: '/', headers: null as unknown as string[], body: null }, recorder));
  await recorder.done;
  assert.equal(recorder.error?.code, 'INVALID_REQUEST');
  assert.equal(p.stats.connections, 0);
});

test('an IPv6 literal origin connects to the bracket-less address and sends the bracketed Host', async (t) => {
  const v6 = net.createServer();
  const listening = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen(0, '::1', () => resolve(true));
  });
  if (!listening) {
    t.skip('no IPv6 loopback here');
    return;
  }
  let head = '';
  v6.on('connection', (socket) => {
    socket.once('data', (data: Buffer) => {
      head = data.toString('latin1');
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6');
    });
  });
  const port = (v6.address() as net.AddressInfo).port;
  const p = pool(`http://[::1]:${port}`);
  t.after(async () => {
    await p.close();
    await new Promise((resolve) => v6.close(resolve));
  });
  const r = await send(p, { method: 'GET', path: '/', headers: [], body: null });
  assert.equal(r.body, 'v6');
  assert.equal(head, `GET / HTTP/1.1\r\nhost: [::1]:${port}\r\n\r\n`);
});

test('CONNECT_TIMEOUT when the TLS handshake never completes', async (t) => {
  const silent = await rawServer(() => {});
  const p = new UpstreamPool(`https://127.0.0.1:${silent.port}`, { ...quick, connectTimeoutMs: 100 });
  t.after(() => cleanup([p], [silent]));
  const started = performance.now();
  const r = await send(p, get('/'));
  assert.equal(r.error?.code, 'CONNECT_TIMEOUT');
  assert.ok(performance.now() - started >= 95);
  assert.equal(p.stats.connections, 0);
});

test('HEADERS_TIMEOUT when the head does not arrive in time, even when it trickles', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.path === '/trickle') {
      socket.write('HTTP/1.1 200 OK\r\n');
      const timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 20);
      socket.on('close', () => clearInterval(timer));
    }
  });
  const p = pool(server.url, { headersTimeoutMs: 150 });
  t.after(() => cleanup([p], [server]));
  for (const path of ['/silent', '/trickle']) {
    const started = performance.now();
    const r = await send(p, get(path));
    const took = performance.now() - started;
    assert.equal(r.error?.code, 'HEADERS_TIMEOUT', path);
    assert.ok(took >= 145 && took < 600, `${path} took ${took} ms`);
  }
  assert.equal(p.stats.connections, 0);
});

test('BODY_TIMEOUT when the body stalls, but not while the handler has paused it', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.path === '/stall') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345');
    else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
      setTimeout(() => socket.write('1234567890'), 250);
    }
  });
  const p = pool(server.url, { bodyTimeoutMs: 150 });
  t.after(() => cleanup([p], [server]));
  const started = performance.now();
  const stalled = await send(p, get('/stall'));
  const took = performance.now() - started;
  assert.deepEqual(stalled.events, ['start', 'head 200', 'data', 'error BODY_TIMEOUT']);
  assert.ok(took >= 145 && took < 700, `took ${took} ms`);

  const paused = await send(p, get('/whole'), (r) => {
    r.onStart = (controller) => {
      controller.pause();
      setTimeout(() => controller.resume(), 400);
    };
  });
  assert.equal(paused.error, null);
  assert.equal(paused.body, '1234567890');
});

test('malformed answers fail with UPSTREAM_PROTOCOL', async (t) => {
  const answers: Record<string, string> = {
    '/garbage': 'this is not http\r\n\r\n',
    '/te-and-cl': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    '/nan-length': 'HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello',
    '/bad-chunk-size': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    '/chunk-too-long': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n',
    '/injected': 'HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n',
    '/bad-name': 'HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 0\r\n\r\n',
    '/switching': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    '/huge-head': `HTTP/1.1 200 OK\r\n${'X-Filler: '.padEnd(1000, 'x')}\r\n`.repeat(70),
  };
  const server = await rawServer((socket, request) => socket.write(answers[request.path]!, 'latin1'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  for (const path of Object.keys(answers)) {
    const r = await send(p, get(path));
    assert.equal(r.error?.code, 'UPSTREAM_PROTOCOL', `${path}: ${r.events.join(', ')}`);
    assert.equal(r.events.filter((e) => e.startsWith('error')).length, 1);
  }
  assert.equal(p.stats.connections, 0, 'no connection with a protocol error is kept');
});

test('UPSTREAM_CLOSED when the server closes in the middle of a body', async (t) => {
  const server = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345');
    setTimeout(() => socket.end(), 10);
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const r = await send(p, get('/'));
  assert.deepEqual(r.events, ['start', 'head 200', 'data', 'error UPSTREAM_CLOSED']);
  assert.equal(r.body, '12345');
});

test('abort() in the middle of a body closes the connection, and no callback follows', async (t) => {
  const server = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
    const timer = setInterval(() => socket.write(Buffer.alloc(1000, 'z')), 2);
    socket.on('close', () => clearInterval(timer));
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const recorder = new Recorder();
  recorder.onData = (controller) => {
    if (recorder.chunks.length === 3) {
      controller.abort(new Error('client went away'));
      assert.equal(controller.aborted, true);
    }
  };
  p.dispatch(get('/'), recorder);
  await until(() => server.closedByPeer === 1, 1000, 'the server saw the connection close');
  await sleep(30);
  assert.deepEqual(recorder.events, ['start', 'head 200', 'data']);
  assert.equal(recorder.chunks.length, 3);
  assert.equal(p.stats.connections, 0);
});

test('abort() inside onRequestStart sends nothing', async (t) => {
  const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const recorder = new Recorder();
  const original = recorder.onRequestStart.bind(recorder);
  recorder.onRequestStart = (controller) => {
    original(controller);
    controller.abort(new Error('changed my mind'));
  };
  p.dispatch(get('/'), recorder);
  await sleep(50);
  assert.deepEqual(recorder.events, ['start']);
  assert.equal(server.connections, 0);
});

test('pause() stops reading a large body until resume(): the server feels the backpressure', async (t) => {
  const total = 16 * 1024 * 1024;
  let serverBlocked = false;
  let written = 0;
  const server = await startServer((_req, res) => {
    res.setHeader('content-length', String(total));
    const piece = Buffer.alloc(64 * 1024, 'p');
    const pump = () => {
      while (written < total) {
        written += piece.length;
        if (!res.write(piece)) {
          serverBlocked = true;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const recorder = new Recorder();
  let bytes = 0;
  let controller: UpstreamController | null = null;
  recorder.onData = (c, chunk) => {
    bytes += chunk.length;
    recorder.chunks.length = 0; // keep memory flat
    if (controller === null) {
      controller = c;
      c.pause();
    }
  };
  p.dispatch(get('/big'), recorder);
  await until(() => controller !== null, 1000, 'the first body bytes');
  await until(() => serverBlocked, 1000, 'the server blocked on a full socket');
  await sleep(50);
  const during = bytes;
  const writtenDuring = written;
  await sleep(100);
  assert.equal(bytes, during, 'no body delivered while paused');
  assert.equal(written, writtenDuring, 'the server could not write more');
  assert.ok(bytes < total);
  controller!.resume();
  await recorder.done;
  assert.equal(recorder.error, null);
  assert.equal(bytes, total);
});

test('a handler that throws is reported once, its connection closed, and the pool keeps working', async (t) => {
  const logged = captureConsoleErrors(t);
  const server = await startServer((_req, res) => res.end('fine'));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const r = await send(p, get('/'), (recorder) => {
    recorder.onData = () => {
      throw new Error('handler bug');
    };
  });
  assert.deepEqual(r.events, ['start', 'head 200', 'data', 'error HANDLER_ERROR']);
  assert.equal(logged.length, 1);
  assert.equal(p.stats.connections, 0);
  assert.equal((await send(p, get('/'))).body, 'fine');
});

test('a stale controller cannot pause or abort the next exchange on the same connection', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.index === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
    else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsec');
      setTimeout(() => socket.write('ond'), 30);
    }
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const first = await send(p, get('/1'));
  const old = first.controller!;
  const second = await send(p, get('/2'), (r) => {
    r.onStart = () => {
      old.pause();
      old.abort(new Error('stale'));
    };
  });
  assert.equal(second.error, null);
  assert.equal(second.body, 'second');
  assert.equal(old.aborted, false, 'aborting an ended exchange does nothing');
  assert.equal(server.connections, 1);
});

// --- request bodies -----------------------------------------------------------------------

test('streamed request bodies: raw with Content-Length, chunked without, with backpressure', async (t) => {
  const echo = await startServer((req, res) => {
    let bytes = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (chunks.length < 4) chunks.push(c);
    });
    req.on('end', () => res.end(JSON.stringify({ bytes, start: Buffer.concat(chunks).subarray(0, 20).toString(), length: req.headers['content-length'] ?? null, te: req.headers['transfer-encoding'] ?? null })));
  });
  const p = pool(echo.url);
  t.after(() => cleanup([p], [echo]));

  const withLength = await send(p, { method: 'POST', path: '/', headers: ['host', 'h', 'Content-Length', '11'], body: Readable.from([Buffer.from('hello '), Buffer.from('world')]) });
  assert.deepEqual(JSON.parse(withLength.body), { bytes: 11, start: 'hello world', length: '11', te: null });

  const chunked = await send(p, { method: 'POST', path: '/', headers: ['host', 'h'], body: Readable.from([Buffer.from('chunk one,'), '', 'chunk two']) });
  assert.deepEqual(JSON.parse(chunked.body), { bytes: 19, start: 'chunk one,chunk two', length: null, te: 'chunked' });

  // 32 MiB through a body the test produces slowly enough to need drain events.
  const piece = Buffer.alloc(256 * 1024, 'b');
  let produced = 0;
  const big = new Readable({
    read() {
      if (produced >= 128) this.push(null);
      else {
        produced++;
        this.push(piece);
      }
    },
  });
  const large = await send(p, { method: 'PUT', path: '/', headers: ['host', 'h'], body: big });
  assert.equal(JSON.parse(large.body).bytes, 128 * piece.length);
  assert.equal((await send(p, get('/'))).status, 200, 'the connection stays usable');
});

test('REQUEST_BODY when the request body fails, ends short, or runs long', async (t) => {
  const server = await rawServer(() => {}); // reads, never answers
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));

  const failing = new PassThrough();
  const recorder = new Recorder();
  p.dispatch({ method: 'POST', path: '/', headers: ['host', 'h'], body: failing }, recorder);
  failing.write('some');
  setTimeout(() => failing.destroy(new Error('client reset')), 10);
  await recorder.done;
  assert.equal(recorder.error?.code, 'REQUEST_BODY');

  const ended = new PassThrough();
  ended.end();
  ended.resume();
  await new Promise((resolve) => ended.once('end', resolve));
  const alreadyEnded = new Recorder();
  p.dispatch({ method: 'POST', path: '/', headers: ['host', 'h', 'content-length', '3'], body: ended }, alreadyEnded);
  assert.deepEqual(alreadyEnded.events, ['start'], 'a body that ended short before dispatch() is reported later');
  await alreadyEnded.done;
  assert.equal(alreadyEnded.error?.code, 'REQUEST_BODY');

  const short = await send(p, { method: 'POST', path: '/', headers: ['host', 'h', 'content-length', '10'], body: Readable.from([Buffer.from('12345')]) });
  assert.equal(short.error?.code, 'REQUEST_BODY');
  const long = await send(p, { method: 'POST', path: '/', headers: ['host', 'h', 'content-length', '2'], body: Readable.from([Buffer.from('12345')]) });
  assert.equal(long.error?.code, 'REQUEST_BODY');
  await until(() => p.stats.connections === 0, 500, 'every such connection closed');
});

test('an answer that comes before the request body ends is delivered, and the connection is not reused', async (t) => {
  const server = await rawServer(
    () => {},
    (socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!'));
    },
  );
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const body = new PassThrough();
  body.write('the start of a long upload');
  const recorder = new Recorder();
  p.dispatch({ method: 'POST', path: '/upload', headers: ['host', 'h'], body }, recorder);
  await recorder.done;
  assert.deepEqual(recorder.events, ['start', 'head 413', 'data', 'end']);
  assert.equal(recorder.body, 'too big!');
  await until(() => p.stats.connections === 0, 500, 'the connection closed');
  body.end('more'); // the body is no longer read by the pool: nothing breaks
});

test('an answer whose head came before the request body ended is not reused, even when the body then ends', async (t) => {
  const server = await rawServer(
    (socket) => socket.write('done'), // the whole (chunked) request body arrived: finish the answer
    (socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'));
    },
  );
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const body = new PassThrough();
  body.write('part one');
  const r = await send(p, { method: 'POST', path: '/', headers: ['host', 'h'], body }, (recorder) => {
    recorder.onStart = () => body.end('part two'); // the body ends once the answer has begun
  });
  assert.equal(r.body, 'done');
  assert.equal(server.requests[0]!.body.toString(), 'part onepart two', 'the body was still sent in full');
  await until(() => p.stats.connections === 0, 500, 'the connection closed');
});

test('a request sent from inside onResponseEnd reuses the connection just released; a throwing onResponseEnd is only logged', async (t) => {
  const logged = captureConsoleErrors(t);
  const server = await rawServer((socket, request) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${request.path.length}\r\n\r\n${request.path}`));
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const second = new Recorder();
  const first = new Recorder();
  const end = first.onResponseEnd.bind(first);
  first.onResponseEnd = () => {
    end();
    p.dispatch(get('/second'), second);
    throw new Error('bug after the end');
  };
  p.dispatch(get('/first'), first);
  await second.done;
  assert.deepEqual(first.events, ['start', 'head 200', 'data', 'end']);
  assert.equal(second.body, '/second');
  assert.equal(server.connections, 1);
  assert.equal(logged.length, 1);
});

// --- https, close, process lifetime ---------------------------------------------------------

test('https with a certificate the pool trusts through `ca`; an untrusted one fails verification', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'upstream-pool-'));
  const { certFile, keyFile } = makeCertificate(dir, ['localhost']);
  const cert = readFileSync(certFile);
  let connections = 0;
  const server = https.createServer({ cert, key: readFileSync(keyFile) }, (req, res) => res.end(`secure ${req.url} ${(req.socket as TLSSocket).servername}`));
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const trusting = new UpstreamPool(`https://localhost:${port}`, { ...quick, ca: cert });
  const strict = new UpstreamPool(`https://localhost:${port}`, quick);
  t.after(async () => {
    await Promise.all([trusting.close(), strict.close()]);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  for (let i = 0; i < 3; i++) assert.equal((await send(trusting, get(`/s${i}`, ['host', `localhost:${port}`]))).body, `secure /s${i} localhost`);
  assert.equal(connections, 1, 'one TLS connection, kept alive');
  const refused = await send(strict, get('/'));
  assert.ok(refused.error !== null && /CERT|SELF_SIGNED/.test(refused.error.code), `a certificate error, got ${refused.error?.code}`);
});

test('close(): idle connections close at once, busy ones finish their answer, later dispatches get POOL_CLOSED', async (t) => {
  const server = await rawServer((socket, request) => {
    if (request.path === '/slow') setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow'), 100);
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast');
  });
  const p = pool(server.url);
  t.after(() => server.close());
  await Promise.all([send(p, get('/fast')), send(p, get('/fast'))]);
  assert.deepEqual(p.stats, { connections: 2, idle: 2 });
  const slow = new Recorder();
  p.dispatch(get('/slow'), slow);
  let closed = false;
  const closing = p.close().then(() => {
    closed = true;
  });
  assert.equal(p.stats.idle, 0, 'idle connections closed at once');
  const late = new Recorder();
  p.dispatch(get('/late'), late);
  assert.deepEqual(late.events, ['start'], 'the failure is not reported from inside dispatch()');
  await late.done;
  assert.equal(late.error?.code, 'POOL_CLOSED');
  await sleep(20);
  assert.equal(closed, false, 'close() waits for the busy connection');
  await slow.done;
  assert.equal(slow.body, 'slow');
  await closing;
  assert.equal(p.stats.connections, 0);
  await until(() => server.sockets.size === 0, 500, 'the server saw every connection close');
});

test('an idle pool does not keep the process alive', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  server.server.keepAliveTimeout = 60_000;
  t.after(() => server.close());
  const poolModule = new URL('../../src/gateway/http1/upstream-pool.ts', import.meta.url).href;
  const script = `
    import { UpstreamPool } from ${JSON.stringify(poolModule)};
    const pool = new UpstreamPool(${JSON.stringify(server.url)}, { connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, keepAliveTimeoutMs: 60000 });
    const r = await pool.request({ path: '/', timeoutMs: 1000 });
    console.log(r.statusCode, r.body.toString());
  `;
  const started = performance.now();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  assert.equal(output.trim(), '200 ok');
  assert.ok(performance.now() - started < 3000, 'exited with its connection still open (keep-alive 60 s)');
});

test('request(): the whole body, its status and headers; rejections carry a code', async (t) => {
  const server = await startServer((req, res) => {
    if (req.url === '/big') res.end(Buffer.alloc(100 * 1024));
    else if (req.url === '/hang') return;
    else {
      res.statusCode = 503;
      res.setHeader('x-why', 'warming up');
      res.end('{"db":"starting"}');
    }
  });
  const p = pool(server.url);
  t.after(() => cleanup([p], [server]));
  const r = await p.request({ path: '/ready', timeoutMs: 1000 });
  assert.equal(r.statusCode, 503);
  assert.equal(r.body.toString(), '{"db":"starting"}');
  assert.ok(r.headers.includes('x-why'));
  await assert.rejects(p.request({ path: '/hang', timeoutMs: 100 }), { code: 'REQUEST_TIMEOUT' });
  await assert.rejects(p.request({ path: '/big', timeoutMs: 1000 }), { code: 'RESPONSE_TOO_LARGE' });
  const refused = pool(`http://127.0.0.1:${await closedPort()}`);
  await assert.rejects(refused.request({ path: '/', timeoutMs: 1000 }), { code: 'ECONNREFUSED' });
});
