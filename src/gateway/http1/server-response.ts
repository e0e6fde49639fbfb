// The answer to one request on the gateway's own HTTP/1.1 server. It keeps the small part of
// node:http's ServerResponse that the gateway uses (writeHead, write, end, destroy, the 'drain',
// 'finish' and 'close' events, so a stream can be piped into it) and frames the body itself:
// Content-Length when known, chunked when not, nothing for HEAD, 1xx, 204 and 304.
//
// The head is not written at writeHead: it waits for the first body bytes or the end, so that a
// small answer leaves in a single write (one syscall; this matters more than anything else on the
// request path).
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { hasToken, isFieldValue, isToken } from './field-syntax.ts';

/** What a response needs from its connection. */
export interface ResponseConnection {
  /** Writes bytes to the client; false when the socket's buffer is full ('drain' follows). */
  write(data: string | Buffer, latin1: boolean): boolean;
  /** Writes several pieces as one (cork/uncork). */
  writeMany(head: string, pieces: (string | Buffer)[]): boolean;
  /** The response is complete; `close` says the connection must end after it. */
  responseDone(response: Http1Response, close: boolean): void;
  /** Whether the connection will close after this answer anyway (stopping server, a request body it will not wait for). */
  willClose(): boolean;
  destroy(): void;
}

export type OutgoingHeaders = readonly string[] | Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** Body pieces up to this size are copied into the head's string so the answer leaves in one write. */
const INLINE_BODY = 2048;
const EMPTY = Buffer.alloc(0);

let dateText = '';
let dateAt = 0;

/** The Date header value, recomputed at most once a second. */
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateText = new Date(dateAt).toUTCString();
  }
  return dateText;
}

export class Http1Response extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  writableNeedDrain = false;
  readonly #connection: ResponseConnection;
  /** No body may be sent: a HEAD request, 1xx, 204 or 304. */
  readonly #headRequest: boolean;
  /** HTTP/1.0 client: no chunked encoding; keep-alive only when asked for. */
  readonly #http10: boolean;
  /** The connection ends after this response (client asked, limit reached, gateway stopping). */
  #close: boolean;
  /** Status line and headers, without framing headers and the blank line, until flushed. */
  #pendingHead: string | null = null;
  #noBody = false;
  #chunked = false;
  /** Declared Content-Length, -1 when none. */
  #contentLength = -1;
  #sent = 0;
  #extraHeaders: Map<string, string | number | readonly string[]> | null = null;
  #closeEmitted = false;

  constructor(connection: ResponseConnection, headRequest: boolean, http10: boolean, close: boolean) {
    super();
    this.#connection = connection;
    this.#headRequest = headRequest;
    this.#http10 = http10;
    this.#close = close;
  }

  /** Whether the head has been written to the socket (writeHead only prepares it). */
  get headWritten(): boolean {
    return this.headersSent && this.#pendingHead === null;
  }

  /** Headers set before writeHead, merged into it (the API handler uses this). */
  setHeader(name: string, value: string | number | readonly string[]): this {
    (this.#extraHeaders ??= new Map()).set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): string | number | readonly string[] | undefined {
    const lower = name.toLowerCase();
    if (lower === 'content-length' && this.#contentLength >= 0) return this.#contentLength;
    return this.#extraHeaders?.get(lower);
  }

  /**
   * writeHead for a flat header list whose names and values are already known to be valid (the
   * forwarder's copy of an upstream answer, which a parser checked, plus what response hooks added
   * under their contract): the per-header check is skipped.
   */
  writeCheckedHead(status: number, reason: string | undefined, headers: readonly string[]): this {
    return this.#writeHead(status, reason, headers, true);
  }

  writeHead(status: number, reasonOrHeaders?: string | OutgoingHeaders, maybeHeaders?: OutgoingHeaders): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const headers = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    return this.#writeHead(status, reason, headers, false);
  }

  /** `checked`: the names and values need no check (writeCheckedHead). */
  #writeHead(status: number, reason: string | undefined, headers: OutgoingHeaders | undefined, checked: boolean): this {
    if (this.headersSent) throw new Error('writeHead called twice for one response');
    if (!(status >= 100 && status <= 999)) throw new RangeError(`invalid status code ${status}`);
    const phrase = reason !== undefined && isFieldValue(reason) ? reason : (STATUS_CODES[status] ?? 'Unknown');
    this.statusCode = status;
    this.headersSent = true;
    this.#noBody = this.#headRequest || status < 200 || status === 204 || status === 304;
    let head = `HTTP/1.1 ${status} ${phrase}\r\n`;
    let sawDate = false;
    const extra = this.#extraHeaders;
    if (extra !== null) {
      for (const [name, value] of extra) {
        if (headers !== undefined && hasHeader(headers, name)) continue;
        head = this.#appendHeader(head, name, value, false);
        if (name === 'date') sawDate = true;
      }
    }
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        const flat = headers as readonly string[];
        for (let i = 0; i < flat.length; i += 2) {
          const name = flat[i]!;
          if (name.length === 4 && name.toLowerCase() === 'date') sawDate = true;
          head = this.#appendHeader(head, name, flat[i + 1]!, checked);
        }
      } else {
        for (const name in headers) {
          const value = (headers as Record<string, string | number | readonly string[] | undefined>)[name];
          if (value === undefined) continue;
          if (name.length === 4 && name.toLowerCase() === 'date') sawDate = true;
          head = this.#appendHeader(head, name, value, false);
        }
      }
    }
    if (!sawDate) head += `date: ${httpDate()}\r\n`;
    this.#pendingHead = head;
    return this;
  }

  /** Adds one header to the head, except those whose framing is the response's own to decide. */
  #appendHeader(head: string, name: string, value: string | number | readonly string[], checked: boolean): string {
    switch (name.length) {
      case 10: {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          if (hasToken(String(value).toLowerCase(), 'close')) this.#close = true;
          return head;
        }
        if (lower === 'keep-alive') return head;
        break;
      }
      case 14:
        if (name.toLowerCase() === 'content-length') {
          this.#contentLength = Number(value);
          return head;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return head; // the response frames its body itself
        break;
    }
    if (checked && typeof value === 'string') return head + name + ': ' + value + '\r\n';
    if (!isToken(name)) throw new TypeError(`invalid response header name ${JSON.stringify(name)}`);
    if (typeof value === 'object') {
      for (const item of value) head = this.#appendHeader(head, name, item, checked);
      return head;
    }
    const text = typeof value === 'string' ? value : String(value);
    if (!isFieldValue(text)) throw new TypeError(`invalid character in the value of response header ${name}`);
    return head + name + ': ' + text + '\r\n';
  }

  /** Completes the pending head with the framing decided now that the first body bytes (or the end) are known. */
  #finishHead(bodyAtEnd: number): string {
    let head = this.#pendingHead!;
    this.#pendingHead = null;
    if (this.#contentLength >= 0) {
      head += `content-length: ${this.#contentLength}\r\n`;
    } else if (this.#noBody) {
      // HEAD, 1xx, 204, 304: no framing header is needed
    } else if (bodyAtEnd >= 0) {
      this.#contentLength = bodyAtEnd;
      head += `content-length: ${bodyAtEnd}\r\n`;
    } else if (this.#http10) {
      this.#close = true; // the body ends when the connection does
    } else {
      this.#chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    if (!this.#close && this.#connection.willClose()) this.#close = true;
    if (this.#close) head += 'connection: close\r\n';
    else if (this.#http10) head += 'connection: keep-alive\r\n';
    return head + '\r\n';
  }

  write(chunk: string | Buffer | Uint8Array, encodingOrCallback?: unknown, callback?: unknown): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const data = toBuffer(chunk, encodingOrCallback);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    const ok = this.#writeBody(data, -1);
    if (typeof done === 'function') queueMicrotask(done as () => void);
    return ok;
  }

  #writeBody(data: Buffer, bodyAtEnd: number): boolean {
    const head = this.#pendingHead !== null ? this.#finishHead(bodyAtEnd) : null;
    let body = data;
    if (this.#noBody || body.length === 0) return head === null ? true : this.#track(this.#connection.write(head, true));
    if (this.#contentLength >= 0) {
      const room = this.#contentLength - this.#sent;
      if (body.length > room) {
        // More than the declared length: the extra bytes would be read as the next response.
        body = body.subarray(0, Math.max(room, 0));
        this.#close = true;
      }
    }
    this.#sent += body.length;
    const connection = this.#connection;
    if (this.#chunked) {
      const size = body.length.toString(16) + '\r\n';
      if (body.length <= INLINE_BODY) return this.#track(connection.write((head ?? '') + size + body.toString('latin1') + '\r\n', true));
      return this.#track(connection.writeMany((head ?? '') + size, [body, '\r\n']));
    }
    if (head === null) return this.#track(connection.write(body, false));
    if (body.length <= INLINE_BODY) return this.#track(connection.write(head + body.toString('latin1'), true));
    return this.#track(connection.writeMany(head, [body]));
  }

  #track(ok: boolean): boolean {
    if (!ok) this.writableNeedDrain = true;
    return ok;
  }

  /** The socket drained: the connection tells the response that is writing. */
  drained(): void {
    if (!this.writableNeedDrain) return;
    this.writableNeedDrain = false;
    this.emit('drain');
  }

  end(chunk?: string | Buffer | Uint8Array | (() => void), encodingOrCallback?: unknown, callback?: unknown): this {
    if (this.writableEnded || this.destroyed) return this;
    let done: unknown = callback;
    if (typeof chunk === 'function') {
      done = chunk;
      chunk = undefined;
    } else if (typeof encodingOrCallback === 'function') {
      done = encodingOrCallback;
    }
    if (!this.headersSent) this.writeHead(this.statusCode);
    const data = chunk === undefined ? null : toBuffer(chunk, encodingOrCallback);
    const connection = this.#connection;
    if (this.#pendingHead !== null) {
      // Nothing sent yet: the whole body is known, so it goes with a Content-Length.
      this.#writeBody(data ?? EMPTY, data === null ? 0 : data.length);
    } else if (data !== null && data.length > 0) {
      this.#writeBody(data, -1);
    }
    if (this.#chunked) connection.write('0\r\n\r\n', true);
    // A body shorter than its Content-Length leaves the client waiting for bytes that never come.
    if (this.#contentLength >= 0 && !this.#noBody && this.#sent < this.#contentLength) this.#close = true;
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit('finish');
    this.#emitClose();
    connection.responseDone(this, this.#close);
    if (typeof done === 'function') queueMicrotask(done as () => void);
    return this;
  }

  /** Ends the connection without completing the answer (the client sees it close). */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#connection.destroy();
    this.#emitClose();
    return this;
  }

  /** The client's connection closed under this response. */
  connectionClosed(): void {
    if (this.writableFinished) return;
    this.destroyed = true;
    this.#emitClose();
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.emit('close');
  }
}

/** A body piece as bytes: a string in its encoding (utf8 unless one is given), a Uint8Array without copying. */
function toBuffer(chunk: string | Buffer | Uint8Array, encoding: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function hasHeader(headers: OutgoingHeaders, lower: string): boolean {
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === lower) return true;
    return false;
  }
  for (const name in headers) if (name.toLowerCase() === lower) return true;
  return false;
}
