// A request as the gateway's own HTTP/1.1 server read it: the parsed head, the client's socket, and
// the body as a stream that exists only when someone asks for it (most requests have none, and
// a Readable per request is measurable on the hot path).
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { RequestHead } from './request-head.ts';

/** What the body stream asks of the connection that feeds it. */
export interface BodySource {
  /** The stream wants more: resume reading the socket (and answer `Expect: 100-continue` once). */
  readMore(): void;
}

export class RequestBody extends Readable {
  readonly #source: BodySource;
  /** Every byte of the body has arrived (it may not all have been read yet). */
  complete = false;

  constructor(source: BodySource) {
    super({ highWaterMark: 64 * 1024 });
    this.#source = source;
  }

  override _read(): void {
    this.#source.readMore();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    callback(error !== null && this.listenerCount('error') > 0 ? error : null);
  }
}

export class Http1Request {
  readonly method: string;
  /** The request target as sent; a handler may replace it (the API's /ping alias does). */
  url: string;
  readonly httpVersion: string;
  readonly httpVersionMinor: number;
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
  /** Whether the request declares a body (a Content-Length above 0, or chunked). */
  readonly hasBody: boolean;
  #body: RequestBody | null;

  constructor(head: RequestHead, socket: Socket, body: RequestBody | null) {
    this.method = head.method;
    this.url = head.target;
    this.httpVersionMinor = head.versionMinor;
    this.httpVersion = head.versionMinor === 1 ? '1.1' : '1.0';
    this.rawHeaders = head.rawHeaders;
    this.headers = head.headers;
    this.socket = socket;
    this.hasBody = body !== null;
    this.#body = body;
  }

  /** The body as a stream; an empty, ended one when the request has none. */
  get body(): RequestBody {
    if (this.#body === null) {
      const empty = new RequestBody({ readMore() {} });
      empty.complete = true;
      empty.push(null);
      this.#body = empty;
    }
    return this.#body;
  }

  /** Whether any of the body has been read: a request whose body was consumed cannot be sent again. */
  get bodyConsumed(): boolean {
    return this.hasBody && this.#body!.readableDidRead;
  }
}
