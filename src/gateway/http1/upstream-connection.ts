// One keep-alive HTTP/1.1 connection to an upstream server, and the exchange (request and its
// answer) it carries at a time. The connection writes the request head in one write (with the
// body when it is a small Buffer), parses the response head from what the socket read, and hands
// body bytes to the handler: counted for Content-Length, unframed for chunked, until the end for a
// close-delimited body. Plain sockets read into one shared buffer (net's `onread`), so body bytes
// are copied out before the handler gets them; TLS sockets hand over their own Buffers.
//
// Nothing here is allocated per request except the exchange (which is also the controller, so a
// stale controller cannot touch the next exchange), the head string, the parsed header list and,
// for a chunked answer, its decoder (chunked-decoder.ts, shared with the server side).
// Timeouts are stamps checked by one coarse interval for every connection of the process.
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { ChunkedBodyError, ChunkedDecoder } from './chunked-decoder.ts';
import { isFieldValue, isRequestTarget, isToken } from './field-syntax.ts';
import { findHeadEnd, MAX_HEAD_BYTES, newResponseHead, parseContentLength, parseResponseHead, type ResponseHead } from './response-head-parser.ts';
import type { UpstreamController, UpstreamError, UpstreamHandler, UpstreamRequest } from './upstream-pool.ts';

/** Where and how a pool's connections connect, and what they need from the pool. */
export interface ConnectionOwner {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** SNI name; undefined for an IP literal. */
  readonly servername: string | undefined;
  /** host[:port] for a request without a Host header. */
  readonly hostHeader: string;
  readonly ca: string | Buffer | undefined;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Period of the timeout scan this owner's timeouts need. */
  readonly tickMs: number;
  /** Last TLS session, to resume on the next connection. */
  tlsSession: Buffer | undefined;
  /** The pool no longer keeps connections. */
  readonly closing: boolean;
  /** The exchange ended cleanly and the connection may carry another one. */
  release(connection: UpstreamConnection): void;
  /** The connection is gone (called once). */
  forget(connection: UpstreamConnection): void;
  /** Sends the exchange again on a fresh connection (stale keep-alive connection). */
  retry(exchange: UpstreamExchange): void;
}

class HttpUpstreamError extends Error implements UpstreamError {
  code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
    this.code = code;
  }
}

export function upstreamError(code: string, message: string, cause?: unknown): UpstreamError {
  return new HttpUpstreamError(code, message, cause);
}

/** Methods whose request may be sent again when a reused connection turned out to be closed. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Methods that carry a body: without one they send Content-Length: 0 (servers may require a length). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** A Buffer body up to this size is copied behind the head and sent in the same write. */
const COALESCE_BYTES = 8 * 1024;
const MAX_TRAILER_BYTES = 64 * 1024;

// Connection states.
const CONNECTING = 0;
const IDLE = 1;
/** Request written (or being written), waiting for the response head. */
const HEAD = 2;
const BODY_LENGTH = 3;
const BODY_CHUNKED = 4;
const BODY_CLOSE = 5;
const CLOSED = 6;
/** Not a state: a response without a body ends with its head. */
const NO_BODY = -1;

interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number): number;
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------
// The exchange: one request and its answer, and the controller the handler holds.

export class UpstreamExchange implements UpstreamController {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  /** The connection carrying this exchange, null before one is assigned and once it ended. */
  connection: UpstreamConnection | null = null;
  /** No handler callback may follow (ended, failed or aborted). */
  done = false;
  /** Sent again once already (stale keep-alive connection). */
  retried = false;
  /** The request head, built once by prepare() (a retry sends it again). */
  head = '';
  /** A streamed body's Content-Length; -1 when it goes chunked (or is not streamed). */
  streamLength = -1;
  #aborted = false;

  constructor(request: UpstreamRequest, handler: UpstreamHandler) {
    this.request = request;
    this.handler = handler;
  }

  /**
   * Builds the request head as one latin1 string: the request line, the headers as given (any
   * Content-Length replaced by the body's), Host when missing, the body's framing. Returns why
   * the request cannot be sent as is, or null.
   */
  prepare(hostHeader: string): UpstreamError | null {
    const request = this.request;
    const method = request.method;
    const path = request.path;
    if (!isToken(method) || !isRequestTarget(path)) {
      return upstreamError('INVALID_REQUEST', `invalid request line: ${JSON.stringify(`${method} ${path}`.slice(0, 80))}`);
    }
    let head = method + ' ' + path + ' HTTP/1.1\r\n';
    const headers = request.headers;
    const checked = request.headersChecked === true;
    let hasHost = false;
    let contentLength: string | null = null;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (!checked && (!isToken(name) || !isFieldValue(value))) {
        return upstreamError('INVALID_REQUEST', `invalid request header: ${JSON.stringify(String(name).slice(0, 40))}`);
      }
      const length = name.length;
      if (length === 14 && name.toLowerCase() === 'content-length') {
        contentLength = value;
        continue;
      }
      if (length === 4 && !hasHost && name.toLowerCase() === 'host') hasHost = true;
      head += name + ': ' + value + '\r\n';
    }
    if (!hasHost) head += 'host: ' + hostHeader + '\r\n';

    const body = request.body;
    if (body === null) {
      if (contentLength !== null || BODY_METHODS.has(method)) head += 'content-length: 0\r\n';
      head += '\r\n';
    } else if (Buffer.isBuffer(body)) {
      head += 'content-length: ' + body.length + '\r\n\r\n';
    } else {
      if (contentLength !== null) {
        const n = parseContentLength(contentLength);
        if (n < 0) return upstreamError('INVALID_REQUEST', `invalid request Content-Length: ${JSON.stringify(contentLength.slice(0, 40))}`);
        head += 'content-length: ' + n + '\r\n\r\n';
        this.streamLength = n;
      } else {
        head += 'transfer-encoding: chunked\r\n\r\n';
        this.streamLength = -1;
      }
      // The body is ours to consume from now on, so are its errors (reported while it is being
      // sent): one that fails before that, or after the exchange, must not crash the process.
      body.on('error', noop);
    }
    this.head = head;
    return null;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(_reason: Error): void {
    if (this.done) return;
    this.#aborted = true;
    this.done = true;
    const connection = this.connection;
    this.connection = null;
    if (connection !== null) connection.abandon(this);
  }

  pause(): void {
    if (!this.done && this.connection !== null) this.connection.pauseFor(this);
  }

  resume(): void {
    if (!this.done && this.connection !== null) this.connection.resumeFor(this);
  }

  /** Reports the failure to the handler, at most once and never after the end. */
  fail(error: UpstreamError): void {
    if (this.done) return;
    this.done = true;
    this.connection = null;
    try {
      this.handler.onResponseError(this, error);
    } catch (thrown) {
      console.error('stampgate: an upstream handler threw in onResponseError', thrown);
    }
  }
}

/** Marks a failure that happened before the connection opened. */
function notSent(error: UpstreamError): UpstreamError {
  error.notSent = true;
  return error;
}

/** For process.nextTick: a failure is never reported from inside dispatch(). */
export function failLater(exchange: UpstreamExchange, error: UpstreamError): void {
  exchange.fail(error);
}

// ---------------------------------------------------------------------------------------------
// The timeout scan: one interval for all connections of the process, started while any exists.

const live = new Set<UpstreamConnection>();
let ticker: NodeJS.Timeout | null = null;
let tickMs = Infinity;
/** performance.now() as of the last tick or request write: at most one tick behind. */
let coarseNow = 0;

function track(connection: UpstreamConnection, wantedTickMs: number): void {
  live.add(connection);
  coarseNow = performance.now();
  if (wantedTickMs < tickMs) {
    tickMs = wantedTickMs;
    if (ticker !== null) clearInterval(ticker);
    ticker = setInterval(tick, tickMs);
    ticker.unref();
  }
}

function untrack(connection: UpstreamConnection): void {
  live.delete(connection);
  if (live.size === 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
    tickMs = Infinity;
  }
}

function tick(): void {
  const now = performance.now();
  coarseNow = now;
  for (const connection of live) connection.checkTimeouts(now, tickMs);
}

/**
 * Where plain (non-TLS) upstream sockets read into: one buffer for all of them, through net's
 * `onread`, instead of a fresh 64 KiB allocation and a stream 'data' event per read. Read
 * callbacks run one at a time and parse what they need right away; bytes kept past the callback
 * (a partial head, body chunks handed to the handler) are copied out first (see keep()). It is
 * Buffer.alloc'd, never taken from Buffer's shared pool, because keep() tells it apart by its
 * ArrayBuffer.
 */
const readBuffer = Buffer.alloc(64 * 1024);
const readArrayBuffer = readBuffer.buffer;

function connectTimedOut(connection: UpstreamConnection): void {
  connection.connectTimedOut();
}

/** `bytes`, copied when they are a view of the shared read buffer (which the next read overwrites). */
function keep(bytes: Buffer): Buffer {
  return bytes.buffer === readArrayBuffer ? Buffer.from(bytes) : bytes;
}

// ---------------------------------------------------------------------------------------------

export class UpstreamConnection {
  readonly owner: ConnectionOwner;
  readonly socket: net.Socket;
  state = CONNECTING;
  exchange: UpstreamExchange | null = null;
  /** Exchanges this connection completed: a reused connection may have been closed by the server meanwhile. */
  served = 0;
  /** HEAD: when the request was fully written (0: not yet); BODY_*: last body bytes; IDLE: since when. */
  stamp = 0;
  /** How long this connection may stay idle (from the pool's setting and the server's Keep-Alive). */
  idleTimeoutMs = 0;
  paused = false;
  #connectTimer: NodeJS.Timeout | null = null;

  // The request being written.
  /** The request, body included, is fully written. */
  requestDone = false;
  #body: Readable | null = null;
  #bodyChunked = false;
  /** Bytes still to send of a streamed body with Content-Length (-1 when chunked). */
  #bodyRemaining = -1;
  #waitingDrain = false;

  // The response being read.
  readonly head: ResponseHead = newResponseHead();
  /** Part of a response head that spans reads. */
  #pending: Buffer | null = null;
  /** Some response byte arrived for this exchange (a stale-connection retry is no longer possible). */
  #gotBytes = false;
  #keepAlive = false;
  /** Body bytes still expected (Content-Length) or left in the current chunk. */
  #remaining = 0;
  /** The chunked body being read, null for other framings. */
  #chunks: ChunkedDecoder | null = null;

  readonly #onBodyData: (chunk: Buffer | string) => void;
  readonly #onBodyEnd: () => void;
  readonly #onBodyError: (error: Error) => void;
  readonly #onBodyClose: () => void;

  constructor(owner: ConnectionOwner) {
    this.owner = owner;
    let socket: net.Socket;
    if (owner.secure) {
      socket = tls.connect({ host: owner.host, port: owner.port, servername: owner.servername, ca: owner.ca, ALPNProtocols: ['http/1.1'], session: owner.tlsSession });
      socket.on('secureConnect', () => this.#connected());
      socket.on('session', (session: Buffer) => {
        owner.tlsSession = session;
      });
    } else {
      socket = net.connect({ host: owner.host, port: owner.port, onread: { buffer: readBuffer, callback: (length: number) => this.#onRead(length) } });
      socket.on('connect', () => this.#connected());
    }
    this.socket = socket;
    socket.setNoDelay(true);
    if (owner.secure) socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#lost(null, true));
    socket.on('error', (error: Error) => this.#lost(error, false));
    socket.on('close', () => this.#lost(null, false));
    socket.on('drain', () => this.#onDrain());
    this.#onBodyData = (chunk) => this.#writeBodyChunk(chunk);
    this.#onBodyEnd = () => this.#bodyEnded();
    this.#onBodyError = (error) => this.#bodyFailed(error);
    this.#onBodyClose = () => this.#bodyClosed();
    this.#connectTimer = setTimeout(connectTimedOut, owner.connectTimeoutMs, this);
    track(this, owner.tickMs);
  }

  // --- carrying exchanges -------------------------------------------------------------------

  /** Takes the exchange: written now on an idle connection, once connected on a new one. */
  assign(exchange: UpstreamExchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    if (this.state === IDLE) {
      this.socket.ref();
      this.#writeRequest(exchange);
    }
  }

  /** Whether this idle connection outlived its keep-alive time (the scan may not have run yet). */
  expired(): boolean {
    return coarseNow - this.stamp >= this.idleTimeoutMs || this.socket.destroyed;
  }

  /** The exchange was aborted: the connection is closed, without any callback. */
  abandon(exchange: UpstreamExchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = null;
    this.destroy();
  }

  pauseFor(exchange: UpstreamExchange): void {
    if (this.exchange !== exchange || this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  resumeFor(exchange: UpstreamExchange): void {
    if (this.exchange !== exchange || !this.paused) return;
    this.paused = false;
    if (this.state >= BODY_LENGTH) this.stamp = coarseNow;
    this.socket.resume();
  }

  /** Closes the socket and leaves the pool (idempotent). Reports nothing to the exchange. */
  destroy(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    if (this.#connectTimer !== null) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
    this.#detachBody();
    this.#pending = null;
    this.socket.destroy();
    untrack(this);
    this.owner.forget(this);
  }

  /** Called by the scan: fails an exchange whose head or body is late, closes an expired idle connection. */
  checkTimeouts(now: number, period: number): void {
    const state = this.state;
    if (state === HEAD) {
      if (this.requestDone && now - this.stamp >= this.owner.headersTimeoutMs) {
        this.#failExchange(upstreamError('HEADERS_TIMEOUT', `${this.#where()} sent no complete response head within ${this.owner.headersTimeoutMs} ms`));
      }
    } else if (state === BODY_LENGTH || state === BODY_CHUNKED || state === BODY_CLOSE) {
      // The stamp is coarse (up to one period early): one period more keeps the timeout from firing early.
      if (!this.paused && now - this.stamp - period >= this.owner.bodyTimeoutMs) {
        this.#failExchange(upstreamError('BODY_TIMEOUT', `${this.#where()} sent no body bytes for ${this.owner.bodyTimeoutMs} ms`));
      }
    } else if (state === IDLE) {
      if (now - this.stamp >= this.idleTimeoutMs) this.destroy();
    }
  }

  connectTimedOut(): void {
    this.#connectTimer = null;
    if (this.state !== CONNECTING) return;
    const exchange = this.exchange;
    this.exchange = null;
    this.destroy();
    exchange?.fail(notSent(upstreamError('CONNECT_TIMEOUT', `no connection to ${this.#where()} within ${this.owner.connectTimeoutMs} ms`)));
  }

  #connected(): void {
    if (this.state !== CONNECTING) return;
    if (this.#connectTimer !== null) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
    const exchange = this.exchange;
    if (exchange === null) {
      this.destroy();
      return;
    }
    try {
      this.#writeRequest(exchange);
    } catch (error) {
      // Not expected (prepare() checked the request): an event handler must not throw.
      this.#failExchange(upstreamError('INVALID_REQUEST', `the request could not be sent: ${(error as Error).message}`, error), true);
    }
  }

  #where(): string {
    return `${this.owner.secure ? 'https' : 'http'}://${this.owner.hostHeader}`;
  }

  // --- writing the request ------------------------------------------------------------------

  #writeRequest(exchange: UpstreamExchange): void {
    this.state = HEAD;
    this.requestDone = false;
    this.stamp = 0;
    this.paused = false;
    this.#pending = null;
    this.#gotBytes = false;
    const head = exchange.head;
    const body = exchange.request.body;
    const socket = this.socket;
    if (body === null) {
      socket.write(head, 'latin1');
      this.#requestWritten();
    } else if (Buffer.isBuffer(body)) {
      const headBytes = head.length; // latin1: one byte per character (prepare() checked)
      if (body.length <= COALESCE_BYTES) {
        const out = Buffer.allocUnsafe(headBytes + body.length) as FastBuffer;
        out.latin1Write(head, 0);
        body.copy(out, headBytes);
        socket.write(out);
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      this.#requestWritten();
    } else {
      this.#bodyChunked = exchange.streamLength < 0;
      this.#bodyRemaining = exchange.streamLength;
      socket.write(head, 'latin1');
      this.#streamBody(body);
    }
  }

  #requestWritten(): void {
    this.requestDone = true;
    const now = performance.now();
    coarseNow = now;
    this.stamp = now;
  }

  #streamBody(body: Readable): void {
    if (body.destroyed && !body.readableEnded) {
      this.#failExchange(upstreamError('REQUEST_BODY', 'the request body stream was destroyed before it was sent', body.errored ?? undefined), true);
      return;
    }
    this.#body = body;
    this.#waitingDrain = false;
    if (body.readableEnded) {
      this.#bodyEnded();
      return;
    }
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
    body.on('close', this.#onBodyClose);
    body.resume();
  }

  #writeBodyChunk(data: Buffer | string): void {
    if (this.#body === null) return;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const length = chunk.length;
    if (length === 0) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.#bodyChunked) {
      socket.cork();
      socket.write(length.toString(16) + '\r\n', 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      if (length > this.#bodyRemaining) {
        this.#bodyFailed(new Error(`the request body is longer than its Content-Length`));
        return;
      }
      this.#bodyRemaining -= length;
      ok = socket.write(chunk);
    }
    if (!ok) {
      this.#waitingDrain = true;
      this.#body.pause();
    }
  }

  #onDrain(): void {
    if (this.#waitingDrain && this.#body !== null) {
      this.#waitingDrain = false;
      this.#body.resume();
    }
  }

  #bodyEnded(): void {
    if (this.#body === null) return;
    if (!this.#bodyChunked && this.#bodyRemaining > 0) {
      this.#bodyFailed(new Error(`the request body ended ${this.#bodyRemaining} bytes short of its Content-Length`));
      return;
    }
    this.#detachBody();
    if (this.#bodyChunked) this.socket.write('0\r\n\r\n', 'latin1');
    // An answer may have come before the body ended: it then leaves the connection anyway.
    if (this.state === HEAD) this.#requestWritten();
    else this.requestDone = true;
  }

  #bodyClosed(): void {
    const body = this.#body;
    if (body !== null && !body.readableEnded) this.#bodyFailed(new Error('the request body stream closed before its end'));
  }

  #bodyFailed(error: Error): void {
    if (this.#body === null) return;
    this.#detachBody();
    // Reported on the next tick: this may run inside dispatch() (a body that ended short already).
    this.#failExchange(upstreamError('REQUEST_BODY', `the request body could not be read: ${error.message}`, error), true);
  }

  #detachBody(): void {
    const body = this.#body;
    if (body === null) return;
    this.#body = null;
    this.#waitingDrain = false;
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
    body.off('error', this.#onBodyError);
    body.off('close', this.#onBodyClose);
  }

  // --- reading the response -----------------------------------------------------------------

  /** net's onread callback: `length` bytes are in the shared read buffer. True: go on reading (pausing is the socket's). */
  #onRead(length: number): boolean {
    this.#onData(readBuffer.subarray(0, length));
    return true;
  }

  #onData(chunk: Buffer): void {
    const state = this.state;
    if (state === HEAD) this.#onHeadData(chunk);
    else if (state === BODY_LENGTH || state === BODY_CHUNKED || state === BODY_CLOSE) {
      this.stamp = coarseNow;
      this.#onBody(chunk, 0);
    } else if (state !== CLOSED) {
      // Bytes nobody asked for (idle connection): the connection cannot be trusted any more.
      this.destroy();
    }
  }

  #onHeadData(chunk: Buffer): void {
    const exchange = this.exchange!;
    this.#gotBytes = true;
    let buf = chunk;
    let from = 0;
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      from = pending.length > 3 ? pending.length - 3 : 0;
      buf = Buffer.concat([pending, chunk]);
    }
    let start = 0;
    for (;;) {
      const end = findHeadEnd(buf, start, from);
      if (end < 0) {
        if (buf.length - start > MAX_HEAD_BYTES) {
          this.#failProtocol(`a response head over ${MAX_HEAD_BYTES} bytes`);
          return;
        }
        this.#pending = keep(start === 0 ? buf : buf.subarray(start));
        return;
      }
      if (end - start > MAX_HEAD_BYTES) {
        this.#failProtocol(`a response head over ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      const head = this.head;
      const consumed = parseResponseHead((buf as FastBuffer).latin1Slice(start, end), head);
      if (consumed <= 0) {
        this.#failProtocol(consumed < 0 ? head.error : 'an unterminated response head');
        return;
      }
      start += consumed;
      from = start;
      const status = head.statusCode;
      if (status >= 200) break;
      // 1xx: interim answers are skipped; 101 would switch protocols, which no request here asked for.
      if (status === 101) {
        this.#failProtocol('101 Switching Protocols for a request that asked for no upgrade');
        return;
      }
      if (start === buf.length) return;
    }
    this.#startBody(exchange, buf, start);
  }

  #startBody(exchange: UpstreamExchange, buf: Buffer, offset: number): void {
    const head = this.head;
    const status = head.statusCode;
    let state: number;
    if (exchange.request.method === 'HEAD' || status === 204 || status === 304) state = NO_BODY;
    else if (head.transferEncoding) state = head.chunked ? BODY_CHUNKED : BODY_CLOSE;
    else if (head.contentLength >= 0) state = head.contentLength === 0 ? NO_BODY : BODY_LENGTH;
    else state = BODY_CLOSE;
    // An answer that comes before the whole request was sent leaves the connection in an unknown
    // state (how much of the body did the server read?): it is not reused.
    this.#keepAlive = state !== BODY_CLOSE && !head.connectionClose && (head.minorVersion >= 1 || head.connectionKeepAlive) && this.requestDone;
    let idle = this.owner.keepAliveTimeoutMs;
    if (head.keepAliveTimeoutS >= 0 && head.keepAliveTimeoutS * 1000 - 1000 < idle) idle = head.keepAliveTimeoutS * 1000 - 1000;
    this.idleTimeoutMs = idle;
    this.state = state === NO_BODY ? HEAD : state;
    this.stamp = coarseNow;
    if (state === BODY_LENGTH) this.#remaining = head.contentLength;
    else if (state === BODY_CHUNKED) this.#chunks = new ChunkedDecoder({ bareLf: true, maxTrailerBytes: MAX_TRAILER_BYTES });
    try {
      exchange.handler.onResponseStart(exchange, status, head.rawHeaders, head.statusMessage);
    } catch (thrown) {
      this.#handlerThrew(exchange, thrown, 'onResponseStart');
      return;
    }
    if (this.exchange !== exchange) return;
    if (state === NO_BODY) this.#finish(offset < buf.length);
    else if (offset < buf.length) this.#onBody(buf, offset);
  }

  #onBody(buf: Buffer, offset: number): void {
    const state = this.state;
    if (state === BODY_LENGTH) {
      const available = buf.length - offset;
      if (available < this.#remaining) {
        this.#remaining -= available;
        this.#deliver(offset === 0 ? buf : buf.subarray(offset));
        return;
      }
      const take = this.#remaining;
      this.#remaining = 0;
      const exchange = this.exchange;
      this.#deliver(offset === 0 && take === buf.length ? buf : buf.subarray(offset, offset + take));
      if (this.exchange === exchange) this.#finish(offset + take < buf.length);
    } else if (state === BODY_CHUNKED) {
      this.#onChunked(buf, offset);
    } else if (state === BODY_CLOSE) {
      this.#deliver(offset === 0 ? buf : buf.subarray(offset));
    }
  }

  #onChunked(buf: Buffer, offset: number): void {
    let end: number;
    try {
      end = this.#chunks!.feed(buf, offset, this.#onChunkData);
    } catch (error) {
      if (!(error instanceof ChunkedBodyError)) throw error;
      this.#failProtocol(error.message);
      return;
    }
    if (end >= 0) this.#finish(end < buf.length);
  }

  /** Hands chunk data to the handler; false once the exchange has ended (the handler aborted it). */
  readonly #onChunkData = (data: Buffer): boolean => {
    const exchange = this.exchange;
    this.#deliver(data);
    return this.exchange === exchange;
  };

  #deliver(chunk: Buffer): void {
    const exchange = this.exchange!;
    try {
      exchange.handler.onResponseData(exchange, keep(chunk));
    } catch (thrown) {
      this.#handlerThrew(exchange, thrown, 'onResponseData');
    }
  }

  /** The response is complete; `leftover`: bytes followed it (the connection is not clean). */
  #finish(leftover: boolean): void {
    const exchange = this.exchange!;
    this.exchange = null;
    exchange.connection = null;
    exchange.done = true;
    this.served++;
    // Not reused either when part of the request is still in the socket's buffer.
    if (this.#keepAlive && !leftover && this.socket.writableLength === 0 && this.idleTimeoutMs > 0 && !this.owner.closing) {
      // Back in the pool before the handler hears of the end, so what it sends next can reuse it.
      this.state = IDLE;
      this.stamp = coarseNow;
      if (this.paused) {
        this.paused = false;
        this.socket.resume();
      }
      this.socket.unref();
      this.owner.release(this);
    } else {
      this.destroy();
    }
    try {
      exchange.handler.onResponseEnd(exchange);
    } catch (thrown) {
      // The exchange is complete and the connection clean (or closed): nothing to undo.
      console.error('stampgate: an upstream handler threw in onResponseEnd', thrown);
    }
  }

  // --- failures -----------------------------------------------------------------------------

  /** Ends the current exchange with an error and closes the connection. */
  #failExchange(error: UpstreamError, nextTick = false): void {
    const exchange = this.exchange;
    this.exchange = null;
    this.destroy();
    if (exchange === null) return;
    exchange.connection = null;
    if (nextTick) process.nextTick(failLater, exchange, error);
    else exchange.fail(error);
  }

  #failProtocol(message: string): void {
    this.#failExchange(upstreamError('UPSTREAM_PROTOCOL', `${this.#where()}: ${message}`));
  }

  #handlerThrew(exchange: UpstreamExchange, thrown: unknown, where: string): void {
    console.error(`stampgate: an upstream handler threw in ${where}`, thrown);
    if (this.exchange === exchange) {
      this.exchange = null;
      this.destroy();
    }
    exchange.fail(upstreamError('HANDLER_ERROR', `the response handler threw in ${where}: ${(thrown as Error)?.message ?? String(thrown)}`, thrown));
  }

  /** The socket ended (`fin`), failed or closed. */
  #lost(error: Error | null, fin: boolean): void {
    if (this.state === CLOSED) return;
    const exchange = this.exchange;
    if (exchange === null) {
      this.destroy();
      return;
    }
    if (this.state === CONNECTING) {
      this.exchange = null;
      this.destroy();
      // Node's own error (ECONNREFUSED, ENOTFOUND, a TLS verification code…) or CONNECT_FAILED: either way the request was never sent.
      const code = (error as NodeJS.ErrnoException | null)?.code;
      exchange.fail(notSent(error !== null && typeof code === 'string' ? (error as UpstreamError) : upstreamError('CONNECT_FAILED', `could not connect to ${this.#where()}: ${error?.message ?? 'the connection closed'}`, error ?? undefined)));
      return;
    }
    if (this.state === BODY_CLOSE && fin) {
      // The end of a close-delimited body.
      this.#keepAlive = false;
      this.#finish(false);
      return;
    }
    this.exchange = null;
    const request = exchange.request;
    const stale = this.served > 0 && !this.#gotBytes && this.state === HEAD && !exchange.retried && (request.body === null || Buffer.isBuffer(request.body)) && IDEMPOTENT.has(request.method);
    this.destroy();
    if (stale) {
      exchange.retried = true;
      exchange.connection = null;
      this.owner.retry(exchange);
      return;
    }
    const why = error === null ? (fin ? 'closed the connection' : 'the connection closed') : `${(error as NodeJS.ErrnoException).code ?? error.message}`;
    exchange.fail(upstreamError('UPSTREAM_CLOSED', `${this.#where()}: ${why} before the response was complete`, error ?? undefined));
  }
}
