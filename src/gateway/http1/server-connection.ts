// One client connection of the gateway's HTTP/1.1 server: reads request heads and bodies from the
// socket, hands each request to the server's handler, and writes responses one after the other
// (pipelined requests wait their turn in the read buffer). A request the parser refuses is
// answered with a problem and the connection closes: after a framing error nobody can tell where
// the next request starts.
import type { Socket } from 'node:net';
import { problem } from '../../shared/problem.ts';
import { ChunkedBodyError, ChunkedDecoder } from './chunked-decoder.ts';
import { parseRequestHead, RequestHeadError, type RequestHead } from './request-head.ts';
import { Http1Request, RequestBody, type BodySource } from './server-request.ts';
import { Http1Response, type ResponseConnection } from './server-response.ts';

/** What a connection needs from its server (settings and handlers). */
export interface ConnectionHost {
  readonly maxHeaderBytes: number;
  /** Requests allowed per connection; 0 for no limit. */
  readonly maxRequestsPerSocket: number;
  /** Whether the server is stopping: answers say `Connection: close`. */
  readonly closing: boolean;
  onRequest(req: Http1Request, res: Http1Response): void;
  /** A request with `Upgrade`: the socket is the handler's from now on, `head` holds the bytes read past the head. */
  onUpgrade: ((req: Http1Request, res: Http1Response, socket: Socket, head: Buffer) => void) | null;
  connectionClosed(connection: ServerConnection): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Pipelined bytes kept while a request is answered before the socket is paused. */
const MAX_PIPELINED = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class ServerConnection implements ResponseConnection, BodySource {
  readonly socket: Socket;
  readonly #host: ConnectionHost;
  /** Bytes read and not yet parsed: a head in progress, or pipelined requests. */
  #buffer: Buffer | null = null;
  /** Where the CRLFCRLF search resumes in #buffer (a head arriving in many reads is not rescanned). */
  #scanned = 0;
  #request: Http1Request | null = null;
  #response: Http1Response | null = null;
  /** The body being received: a stream, and its framing. */
  #body: RequestBody | null = null;
  #bodyRemaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #expectContinue = false;
  #requests = 0;
  /** Inside #process: a response finished synchronously lets the loop go on instead of recursing. */
  #processing = false;
  #closed = false;
  /** The client half-closed (see #ended). */
  #clientEnded = false;
  #paused = false;
  /** performance.now() of the last bytes read or the last answer (idle timeout). */
  lastActivity = performance.now();
  /** When the head (or, with a body, the request) under way started arriving; 0 when none is. */
  requestStartedAt = 0;
  readonly #onData = (chunk: Buffer) => this.#read(chunk);
  readonly #onDrain = () => {
    this.lastActivity = performance.now(); // the idle time starts once the last answer has left
    this.#response?.drained();
  };

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket;
    this.#host = host;
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('end', () => this.#ended());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#socketClosed());
  }

  /** No request is under way and nothing is buffered. */
  get idle(): boolean {
    return this.#request === null && this.#buffer === null;
  }

  #read(chunk: Buffer): void {
    if (this.#closed) return;
    this.lastActivity = performance.now();
    if (this.#body !== null) {
      const rest = this.#feedBody(chunk, 0);
      if (rest < 0 || this.#closed) return;
      chunk = chunk.subarray(rest);
      if (chunk.length === 0) return;
    }
    if (this.#buffer === null) {
      this.#buffer = chunk;
    } else {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
    }
    if (this.#request !== null) {
      // Pipelined: waits for the answer under way, within limits.
      if (this.#buffer.length > MAX_PIPELINED) this.#pause();
      return;
    }
    this.#process();
  }

  /** Starts every complete request in the buffer, one at a time. */
  #process(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#request === null && this.#buffer !== null && !this.#closed) {
        if (!this.#startRequest(this.#buffer)) break;
      }
    } finally {
      this.#processing = false;
    }
  }

  /** Parses a head from `buffer` and runs its request; false when the head is not complete yet. */
  #startRequest(buffer: Buffer): boolean {
    if (this.requestStartedAt === 0) this.requestStartedAt = performance.now();
    let start = 0;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    while (start + 1 < buffer.length && buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
    const end = buffer.indexOf(CRLFCRLF, Math.max(start, this.#scanned - 3));
    const limit = this.#host.maxHeaderBytes;
    if (end < 0) {
      if (buffer.length > limit) this.#refuse(431, 'headers-too-large', 'Request header fields too large', 'the request line and headers exceed the size limit');
      else this.#scanned = buffer.length;
      return false;
    }
    if (end - start > limit) {
      this.#refuse(431, 'headers-too-large', 'Request header fields too large', 'the request line and headers exceed the size limit');
      return false;
    }
    this.#scanned = 0;
    let head: RequestHead;
    try {
      head = parseRequestHead(buffer.toString('latin1', start, end));
    } catch (error) {
      if (!(error instanceof RequestHeadError)) throw error;
      this.#refuse(error.status, error.code === 'http-version-not-supported' ? error.code : 'malformed-request', error.status === 505 ? 'HTTP version not supported' : 'Malformed request', `the request could not be parsed: ${error.message}`);
      return false;
    }
    const bodyStart = end + 4;
    this.#buffer = bodyStart === buffer.length ? null : buffer.subarray(bodyStart);
    this.#requests++;
    const host = this.#host;
    const limitReached = host.maxRequestsPerSocket > 0 && this.#requests >= host.maxRequestsPerSocket;
    const close = head.close || limitReached || host.closing || this.#clientEnded;
    const hasBody = head.chunked || head.contentLength > 0;

    if (head.upgrade && host.onUpgrade !== null) {
      const socket = this.socket;
      this.#detach();
      socket.pause();
      const req = new Http1Request(head, socket, null);
      const res = new Http1Response(new UpgradeResponseConnection(socket), head.method === 'HEAD', head.versionMinor === 0, true);
      // A tunnel's response is never ended: the socket closing is the request's end ('close', which
      // the gateway observes and inFlightReq releases on). A refusal already emitted it at end().
      socket.once('close', () => res.connectionClosed());
      const rest = this.#buffer ?? EMPTY;
      this.#buffer = null;
      host.onUpgrade(req, res, socket, rest);
      return false;
    }

    const body = hasBody ? new RequestBody(this) : null;
    const req = new Http1Request(head, this.socket, body);
    const res = new Http1Response(this, head.method === 'HEAD', head.versionMinor === 0, close);
    this.#request = req;
    this.#response = res;
    if (body !== null) {
      this.#body = body;
      this.#expectContinue = head.expectContinue;
      if (head.chunked) this.#chunked = new ChunkedDecoder();
      else this.#bodyRemaining = head.contentLength;
      const pending = this.#buffer;
      this.#buffer = null;
      if (pending !== null) {
        const rest = this.#feedBody(pending, 0);
        if (this.#closed) return false;
        if (rest >= 0 && rest < pending.length) this.#buffer = pending.subarray(rest);
      }
    } else {
      this.requestStartedAt = 0;
    }
    host.onRequest(req, res);
    return true;
  }

  /** Hands body bytes from `chunk` at `start` to the body stream; returns where the body ended, or -1. */
  #feedBody(chunk: Buffer, start: number): number {
    const body = this.#body!;
    let end: number;
    if (this.#chunked !== null) {
      try {
        end = this.#chunked.feed(chunk, start, (data) => this.#push(body, data));
      } catch (error) {
        if (!(error instanceof ChunkedBodyError)) throw error;
        body.destroy(Object.assign(new Error(`bad chunked body: ${error.message}`), { code: 'BAD_CHUNKED_BODY' }));
        this.#refuse(400, 'malformed-request', 'Malformed request', `the request body's chunked framing is invalid: ${error.message}`);
        return -1;
      }
    } else {
      const take = Math.min(this.#bodyRemaining, chunk.length - start);
      if (take > 0) this.#push(body, start === 0 && take === chunk.length ? chunk : chunk.subarray(start, start + take));
      this.#bodyRemaining -= take;
      end = this.#bodyRemaining === 0 ? start + take : -1;
    }
    if (end >= 0) {
      this.#body = null;
      this.#chunked = null;
      this.requestStartedAt = 0;
      body.complete = true;
      body.push(null);
      // The answer may have finished before the body did (a refusal): the connection moves on now.
      if (this.#request === null) this.#afterResponse(false);
    }
    return end;
  }

  #push(body: RequestBody, data: Buffer): void {
    if (body.destroyed) return;
    if (!body.push(data)) this.#pause();
  }

  /** The body stream wants more bytes. */
  readMore(): void {
    if (this.#expectContinue) {
      this.#expectContinue = false;
      if (this.#response !== null && !this.#response.headWritten) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.#resume();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  write(data: string | Buffer, latin1: boolean): boolean {
    if (this.#closed) return false;
    return latin1 ? this.socket.write(data as string, 'latin1') : this.socket.write(data);
  }

  writeMany(head: string, pieces: (string | Buffer)[]): boolean {
    if (this.#closed) return false;
    const socket = this.socket;
    socket.cork();
    socket.write(head, 'latin1');
    let ok = true;
    for (const piece of pieces) ok = typeof piece === 'string' ? socket.write(piece, 'latin1') : socket.write(piece);
    socket.uncork();
    return ok;
  }

  willClose(): boolean {
    return this.#host.closing || this.#clientEnded || (this.#body !== null && !this.#drainsBody());
  }

  /**
   * The answer is complete but the request body is not: the rest of it is read and dropped only
   * when little is left and the client is sending it; otherwise closing is cheaper than reading
   * what nobody wants (and a client that waits for `100 Continue` would never send it).
   */
  #drainsBody(): boolean {
    return this.#chunked === null && this.#bodyRemaining <= MAX_PIPELINED && !this.#expectContinue;
  }

  responseDone(response: Http1Response, close: boolean): void {
    if (response !== this.#response) return;
    this.#request = null;
    this.#response = null;
    this.lastActivity = performance.now();
    if (this.#body !== null) {
      if (close || !this.#drainsBody()) {
        this.#end();
        return;
      }
      if (this.#body.destroyed) this.#resume(); // #push drops the bytes
      else this.#body.resume(); // nobody reads it now: let it flow away
      return;
    }
    this.#afterResponse(close);
  }

  #afterResponse(close: boolean): void {
    if (close || this.#clientEnded || this.#host.closing) {
      this.#end();
      return;
    }
    this.#resume();
    if (this.#buffer !== null) this.#process();
  }

  /** Answers a request that cannot be read with a problem and closes the connection. */
  #refuse(status: number, code: string, title: string, detail: string): void {
    if (this.#closed) return;
    const response = this.#response;
    this.#buffer = null;
    if (response === null || !response.headersSent) {
      const body = JSON.stringify(problem(code, title, status, detail));
      this.socket.write(`HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`);
      this.#end();
    } else {
      this.destroy();
    }
  }

  /** Answers 408 when the head or body took too long, then closes (the server's timer calls this). */
  timedOut(): void {
    if (this.#response !== null && this.#response.headersSent) {
      this.destroy();
      return;
    }
    this.#body?.destroy(Object.assign(new Error('the request was not received in time'), { code: 'REQUEST_TIMEOUT' }));
    this.#refuse(408, 'request-timeout', 'Request timeout', 'the request was not received in time');
  }

  /** Closes the connection once it is idle (used by a stopping server); a busy one closes after its answer. */
  closeIfIdle(): boolean {
    if (!this.idle) return false;
    this.#end();
    return true;
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.end();
    // A client that never reads its end of the connection does not keep it open.
    this.socket.setTimeout(30_000, () => this.socket.destroy());
  }

  destroy(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  /**
   * The client half-closed. As node:http and NGINX do, that counts as the client leaving: a request
   * under way is abandoned (its response emits 'close', so the upstream exchange stops too).
   */
  #ended(): void {
    this.#clientEnded = true;
    if (this.#request === null) this.#end();
    else this.destroy();
  }

  /** The socket is the upgrade handler's now: this connection lets go of it. */
  #detach(): void {
    this.#closed = true;
    const socket = this.socket;
    socket.removeListener('data', this.#onData);
    socket.removeListener('drain', this.#onDrain);
    socket.removeAllListeners('end');
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    this.#host.connectionClosed(this);
  }

  #socketClosed(): void {
    this.#closed = true;
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      if (!body.destroyed) body.destroy(Object.assign(new Error('the client closed the connection'), { code: 'ECONNRESET' }));
    }
    const response = this.#response;
    this.#request = null;
    this.#response = null;
    response?.connectionClosed();
    this.#host.connectionClosed(this);
  }
}

/** An upgrade request's answer when the gateway refuses it itself: written to the socket, which then ends. */
class UpgradeResponseConnection implements ResponseConnection {
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  write(data: string | Buffer, latin1: boolean): boolean {
    return latin1 ? this.#socket.write(data as string, 'latin1') : this.#socket.write(data);
  }

  writeMany(head: string, pieces: (string | Buffer)[]): boolean {
    this.#socket.write(head, 'latin1');
    let ok = true;
    for (const piece of pieces) ok = typeof piece === 'string' ? this.#socket.write(piece, 'latin1') : this.#socket.write(piece);
    return ok;
  }

  responseDone(): void {
    this.#socket.end();
  }

  willClose(): boolean {
    return true;
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
