// The gateway's HTTP/1.1 client towards one upstream origin: keep-alive connections, as many as
// there are requests at once, idle ones reused last-in first-out. One request at a time per
// connection (no pipelining). Callers drive an exchange through a handler (callbacks, no promise
// or stream per request) and steer it through the controller it is handed.
//
// Error codes reported to onResponseError:
// - ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN, ECONNRESET, TLS codes…: Node's
//   own error, unchanged, when the connection could not be made (the request was never sent);
//   CONNECT_FAILED in the unlikely case Node gave no code.
// - CONNECT_TIMEOUT: no connection (TCP, and TLS for https) within connectTimeoutMs; never sent.
// - HEADERS_TIMEOUT: no complete response head within headersTimeoutMs of the request being fully
//   written (a streamed request body is written first).
// - BODY_TIMEOUT: no response body bytes for bodyTimeoutMs while not paused.
// - UPSTREAM_CLOSED: the connection closed or was reset before the response was complete (the
//   Node error, e.g. ECONNRESET or EPIPE, is the `cause` and named in the message).
// - UPSTREAM_PROTOCOL: malformed status line or headers, bad chunked framing, Content-Length
//   conflicts, Transfer-Encoding with Content-Length, a head over 64 KiB, a 101 answer.
// - REQUEST_BODY: the streamed request body failed, closed early, or did not match its Content-Length.
// - INVALID_REQUEST: the method, target or a header could not be sent as is (CR, LF, non-latin1…).
// - POOL_CLOSED: dispatch() after close().
// - HANDLER_ERROR: the handler itself threw in onRequestStart, onResponseStart or onResponseData
//   (logged; the connection is closed). A throw in onResponseEnd or onResponseError is only logged.
// - request() only: REQUEST_TIMEOUT (no complete answer within its timeoutMs) and
//   RESPONSE_TOO_LARGE (a body over 64 KiB).
// Failures are never reported synchronously from inside dispatch().
//
// A request written on a reused connection that closes before any byte of the answer (the server
// timed the idle connection out as the request left) is sent once more, on a new connection, when
// its body is null or a Buffer and its method idempotent; otherwise that is UPSTREAM_CLOSED.
import net from 'node:net';
import type { Readable } from 'node:stream';
import { failLater, upstreamError, UpstreamConnection, UpstreamExchange, type ConnectionOwner } from './upstream-connection.ts';

export interface UpstreamRequest {
  method: string;
  /** origin-form target, query included, e.g. "/api/x?y=1" */
  path: string;
  /** flat [name, value, name, value, …]; already free of hop-by-hop headers; may hold content-length; holds host */
  headers: string[];
  /** null: no body. Buffer: sent with content-length (set/replace it). Readable: streamed — raw when headers carry content-length, else chunked transfer-encoding (add the header). */
  body: Readable | Buffer | null;
  /**
   * The caller vouches that every header name is a token and every value free of CR, LF and NUL
   * (they come from a parser that checked them): the per-header check is skipped.
   */
  headersChecked?: boolean;
}

export interface UpstreamController {
  readonly aborted: boolean;
  /** Ends this exchange: the connection is destroyed (never reused); no handler callback is called afterwards. */
  abort(reason: Error): void;
  /** Backpressure from the client side: stop reading the upstream socket / resume it. */
  pause(): void;
  resume(): void;
}

export interface UpstreamHandler {
  /** Called synchronously inside dispatch(). */
  onRequestStart(controller: UpstreamController): void;
  /** The final (>= 200) response head; rawHeaders flat as received (latin1, original case, hop-by-hop included). 1xx answers are skipped. */
  onResponseStart(controller: UpstreamController, statusCode: number, rawHeaders: string[], statusMessage: string): void;
  /** Body bytes with chunked framing removed: views of what the socket read (never reused by it, so they may be kept). */
  onResponseData(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd(controller: UpstreamController): void;
  /** At most once, never after onResponseEnd, never after abort(). */
  onResponseError(controller: UpstreamController, error: UpstreamError): void;
}

export interface UpstreamError extends Error {
  code: string;
  /** The connection never opened, so the request cannot have reached the server: safe to send elsewhere. */
  notSent?: boolean;
}

export interface UpstreamPoolOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Certificate authorities to trust for https instead of the default ones (tests, private CAs). */
  ca?: string | Buffer;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: string[];
  body: Buffer;
}

/** The most request() buffers of a response body. */
const MAX_BUFFERED_BODY = 64 * 1024;

export class UpstreamPool implements ConnectionOwner {
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly servername: string | undefined;
  readonly hostHeader: string;
  readonly ca: string | Buffer | undefined;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly tickMs: number;
  tlsSession: Buffer | undefined = undefined;
  /** Idle connections, the most recently used last. */
  readonly #idle: UpstreamConnection[] = [];
  /** Connections open or opening. */
  #count = 0;
  #closing = false;
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;

  constructor(origin: string, options: UpstreamPoolOptions) {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`an upstream origin must be http: or https:, not ${url.protocol}`);
    this.origin = url.origin;
    this.secure = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.secure ? 443 : 80) : Number(url.port);
    this.servername = net.isIP(this.host) === 0 ? this.host : undefined;
    this.hostHeader = url.host;
    this.ca = options.ca;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.bodyTimeoutMs = options.bodyTimeoutMs;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs;
    // Timeouts are checked by a scan: often enough that none fires much later than it should.
    const shortest = Math.min(options.headersTimeoutMs, options.bodyTimeoutMs, options.keepAliveTimeoutMs);
    this.tickMs = Math.max(5, Math.min(250, Math.floor(shortest / 4)));
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Connections open or opening, and idle ones among them (for tests and views). */
  get stats(): { connections: number; idle: number } {
    return { connections: this.#count, idle: this.#idle.length };
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const exchange = new UpstreamExchange(request, handler);
    try {
      handler.onRequestStart(exchange);
    } catch (thrown) {
      console.error('stampgate: an upstream handler threw in onRequestStart', thrown);
      process.nextTick(failLater, exchange, upstreamError('HANDLER_ERROR', `the handler threw in onRequestStart: ${(thrown as Error)?.message ?? String(thrown)}`, thrown));
      return;
    }
    if (exchange.done) return; // aborted in onRequestStart
    if (this.#closing) {
      process.nextTick(failLater, exchange, upstreamError('POOL_CLOSED', `the connection pool of ${this.origin} is closed`));
      return;
    }
    let invalid: UpstreamError | null;
    try {
      invalid = exchange.prepare(this.hostHeader);
    } catch (error) {
      invalid = upstreamError('INVALID_REQUEST', `the request could not be read: ${(error as Error).message}`, error);
    }
    if (invalid !== null) {
      process.nextTick(failLater, exchange, invalid);
      return;
    }
    const idle = this.#idle;
    while (idle.length > 0) {
      const connection = idle.pop()!;
      if (connection.expired()) {
        connection.destroy();
        continue;
      }
      this.#assign(connection, exchange);
      return;
    }
    this.#open(exchange);
  }

  /** Sends a request and buffers the whole answer (for probes): rejects on failure, after timeoutMs, or past 64 KiB of body. */
  request(options: { method?: string; path: string; headers?: string[]; timeoutMs: number }): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const handler = new BufferingHandler(resolve, reject, options.timeoutMs, `${options.method ?? 'GET'} ${this.origin}${options.path}`);
      this.dispatch({ method: options.method ?? 'GET', path: options.path, headers: options.headers ?? [], body: null }, handler);
    });
  }

  /** Stops taking requests; idle connections close now, busy ones after their exchange. Resolves when none is left. */
  close(): Promise<void> {
    if (this.#closed === null) {
      this.#closing = true;
      this.#closed = new Promise<void>((resolve) => {
        this.#resolveClosed = resolve;
      });
      for (const connection of this.#idle.splice(0)) connection.destroy();
      if (this.#count === 0) this.#resolveClosed!();
    }
    return this.#closed;
  }

  // ConnectionOwner

  release(connection: UpstreamConnection): void {
    if (this.#closing) connection.destroy();
    else this.#idle.push(connection);
  }

  forget(connection: UpstreamConnection): void {
    this.#count--;
    const idle = this.#idle;
    const at = idle.lastIndexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    if (this.#count === 0 && this.#resolveClosed !== null) this.#resolveClosed();
  }

  retry(exchange: UpstreamExchange): void {
    this.#open(exchange);
  }

  #open(exchange: UpstreamExchange): void {
    this.#count++;
    let connection: UpstreamConnection;
    try {
      connection = new UpstreamConnection(this);
    } catch (error) {
      // net.connect and tls.connect throw synchronously only on invalid options (a bad port or CA, say).
      this.#count--;
      process.nextTick(failLater, exchange, upstreamError('CONNECT_FAILED', `could not connect to ${this.origin}: ${(error as Error).message}`, error));
      return;
    }
    this.#assign(connection, exchange);
  }

  #assign(connection: UpstreamConnection, exchange: UpstreamExchange): void {
    try {
      connection.assign(exchange);
    } catch (error) {
      // Not expected (the request is validated before anything is written): never let it escape dispatch().
      connection.exchange = null;
      exchange.connection = null;
      connection.destroy();
      process.nextTick(failLater, exchange, upstreamError('INVALID_REQUEST', `the request could not be sent: ${(error as Error).message}`, error));
    }
  }
}

/** request()'s handler: the body in memory, one timer for the whole exchange. */
class BufferingHandler implements UpstreamHandler {
  readonly #resolve: (response: UpstreamResponse) => void;
  readonly #reject: (error: Error) => void;
  readonly #timeoutMs: number;
  readonly #what: string;
  #timer: NodeJS.Timeout | null = null;
  #statusCode = 0;
  #headers: string[] = [];
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(resolve: (response: UpstreamResponse) => void, reject: (error: Error) => void, timeoutMs: number, what: string) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
  }

  onRequestStart(controller: UpstreamController): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const error = upstreamError('REQUEST_TIMEOUT', `${this.#what}: no complete answer within ${this.#timeoutMs} ms`);
      controller.abort(error);
      this.#reject(error);
    }, this.#timeoutMs);
  }

  onResponseStart(_controller: UpstreamController, statusCode: number, rawHeaders: string[]): void {
    this.#statusCode = statusCode;
    this.#headers = rawHeaders;
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_BUFFERED_BODY) {
      const error = upstreamError('RESPONSE_TOO_LARGE', `${this.#what}: a response body over ${MAX_BUFFERED_BODY} bytes`);
      controller.abort(error);
      this.#settle();
      this.#reject(error);
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#settle();
    this.#resolve({ statusCode: this.#statusCode, headers: this.#headers, body: Buffer.concat(this.#chunks) });
  }

  onResponseError(_controller: UpstreamController, error: UpstreamError): void {
    this.#settle();
    this.#reject(error);
  }

  #settle(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
