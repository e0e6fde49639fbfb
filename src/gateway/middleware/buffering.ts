// buffering: Traefik's size limits, without the buffering. Stampgate streams bodies both ways, so:
//
// - maxRequestBodyBytes: a Content-Length above it is answered 413 before anything is forwarded.
//   A chunked body is counted as it streams; when it passes the limit the client gets 413 (if no
//   response has started, else its connection is closed) with `Connection: close`, and node:http
//   then closes the connection, which ends the request stream the upstream was reading from.
//   Counting listens to the body's 'data' events without changing its flow: the stream is left
//   paused for its consumer to resume (undici and pipe() do), so no chunk is lost.
// - maxResponseBodyBytes: a response hook. A Content-Length above the limit replaces the answer
//   with a 500 problem, as Traefik does (the upstream body is read and dropped). A response without
//   Content-Length is counted as it streams and, when it grows past the limit, the response is
//   destroyed: its head has left, so closing the connection is the only honest signal.
// - memRequestBodyBytes, memResponseBodyBytes and retryExpression are accepted, so Traefik configs
//   load, and ignored (a note goes to the log): nothing is buffered, and retries are the retry
//   middleware's.
//
//   http.middlewares.limit.buffering: { maxRequestBodyBytes: 2000000 }
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { addResponseHook, type Exchange, type ResponseHook } from '../pipeline/exchange.ts';
import { getHeader } from './header-list.ts';
import type { Middleware, MiddlewareContext } from './middleware.ts';
import type { Http1Response } from '../http1/server-response.ts';

export type BufferingConfig = NonNullable<MiddlewareConfig['buffering']>;

export function buffering(config: BufferingConfig, context: MiddlewareContext): Middleware {
  const name = context.name;
  for (const field of ['memRequestBodyBytes', 'memResponseBodyBytes'] as const) {
    if (config[field] !== undefined) context.log(`middleware ${name}: buffering.${field} is accepted and ignored: Stampgate streams bodies and never buffers them`);
  }
  if (config.retryExpression !== undefined) context.log(`middleware ${name}: buffering.retryExpression is accepted and ignored: use the retry middleware`);
  const maxRequest = config.maxRequestBodyBytes ?? 0;
  const maxResponse = config.maxResponseBodyBytes ?? 0;
  if (maxRequest === 0 && maxResponse === 0) return (next) => next;
  const hook = maxResponse > 0 ? responseLimit(maxResponse, name) : null;

  return (next) => (exchange) => {
    if (maxRequest > 0) {
      const requestHeaders = exchange.req.headers;
      const length = requestHeaders['content-length'];
      if (length !== undefined) {
        if (Number(length) > maxRequest) {
          sendProblem(exchange.res, requestTooLarge(exchange, maxRequest, name), { connection: 'close' });
          return;
        }
      } else if (requestHeaders['transfer-encoding'] !== undefined) {
        countRequestBody(exchange, maxRequest, name);
      }
    }
    if (hook !== null) addResponseHook(exchange, hook);
    next(exchange);
  };
}

function requestTooLarge(exchange: Exchange, limit: number, name: string) {
  return problem('body-too-large', 'Request body too large', 413, `the request body exceeds the limit of ${limit} bytes set by middleware ${JSON.stringify(name)}`, { requestId: exchange.requestId });
}

// ---- streamed request bodies ------------------------------------------------------------------

interface BodyCount {
  readonly exchange: Exchange;
  readonly limit: number;
  readonly name: string;
  received: number;
}

const counting = new WeakMap<Readable, BodyCount>();

function countRequestBody(exchange: Exchange, limit: number, name: string): void {
  const req = exchange.req.body;
  // Keep the stream paused: a 'data' listener would otherwise start the flow before the consumer
  // (the forwarder) listens, and the chunks read meanwhile would never reach it.
  if (req.readableFlowing !== true) req.pause();
  counting.set(req, { exchange, limit, name, received: 0 });
  req.on('data', onRequestData);
}

function onRequestData(this: Readable, chunk: Buffer): void {
  const count = counting.get(this);
  if (count === undefined) return;
  count.received += chunk.length;
  if (count.received <= count.limit) return;
  this.off('data', onRequestData);
  counting.delete(this);
  const res = count.exchange.res;
  if (res.headersSent) res.destroy();
  else sendProblem(res, requestTooLarge(count.exchange, count.limit, count.name), { connection: 'close' });
}

// ---- response bodies --------------------------------------------------------------------------

function responseLimit(limit: number, name: string): ResponseHook {
  return (exchange, head) => {
    if (exchange.method === 'HEAD' || head.status === 204 || head.status === 304) return null;
    const length = getHeader(head.headers, 'content-length');
    if (length === undefined) return new ResponseBodyLimit(exchange.res, limit);
    if (Number(length) <= limit) return null;
    const payload = JSON.stringify(problem('response-too-large', 'Response too large', 500, `the upstream response of ${length} bytes exceeds the limit of ${limit} bytes set by middleware ${JSON.stringify(name)}`, { requestId: exchange.requestId }));
    head.status = 500;
    head.replaced = true;
    head.headers.length = 0;
    head.headers.push('content-type', 'application/problem+json', 'content-length', String(Buffer.byteLength(payload)), 'cache-control', 'no-store', 'x-request-id', exchange.requestId);
    return new ReplacedBody(payload);
  };
}

/** Drops the upstream body and writes `payload` instead. */
class ReplacedBody extends Transform {
  readonly payload: string;

  constructor(payload: string) {
    super();
    this.payload = payload;
  }

  override _transform(_chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.payload);
  }
}

/** Passes a body through and destroys the response once more than `limit` bytes went by. */
class ResponseBodyLimit extends Transform {
  readonly res: Http1Response;
  readonly limit: number;
  received = 0;

  constructor(res: Http1Response, limit: number) {
    super();
    this.res = res;
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.received > this.limit) {
      callback();
      return;
    }
    this.received += chunk.length;
    if (this.received > this.limit) {
      this.res.destroy();
      callback();
      return;
    }
    callback(null, chunk);
  }
}
