// Forwards one request to a stamp over its keep-alive pool and streams the answer back. It uses
// undici's dispatch handler interface directly, with no promise or stream object per request, and
// maps each upstream failure to one clear problem response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { problem, sendProblem } from '../../shared/problem.ts';
import type { Stamp } from '../stamps/stamp-table.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forward-headers.ts';

export interface ForwardOptions {
  /** Largest request body accepted, in bytes; larger ones get 413 before or instead of reaching the stamp. */
  bodyLimit: number;
  /** Told of every upstream failure, for the operator's log. */
  onUpstreamError?: (stampId: string, requestId: string, status: number, reason: string) => void;
}

export function forward(req: IncomingMessage, res: ServerResponse, stamp: Stamp, path: string, requestId: string, options: ForwardOptions): void {
  const headers = req.headers;
  const contentLength = headers['content-length'];
  const chunked = headers['transfer-encoding'] !== undefined;
  if (contentLength !== undefined && Number(contentLength) > options.bodyLimit) {
    sendProblem(res, bodyTooLarge(options.bodyLimit, requestId, stamp.id), { connection: 'close' });
    return;
  }
  const hasBody = chunked || (contentLength !== undefined && contentLength !== '0');
  const handler = new ForwardHandler(req, res, stamp, requestId, options);
  if (chunked) handler.limitChunkedBody();
  stamp.pool.dispatch(
    {
      path,
      method: req.method ?? 'GET',
      headers: upstreamRequestHeaders(req, requestId),
      body: hasBody ? req : null,
    },
    handler,
  );
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly stamp: Stamp;
  readonly requestId: string;
  readonly options: ForwardOptions;
  controller: Dispatcher.DispatchController | null = null;
  /** Set when the gateway itself ended the exchange (client gone, body too large). */
  abandoned = false;

  constructor(req: IncomingMessage, res: ServerResponse, stamp: Stamp, requestId: string, options: ForwardOptions) {
    this.req = req;
    this.res = res;
    this.stamp = stamp;
    this.requestId = requestId;
    this.options = options;
    res.once('close', () => {
      // The client left before the answer was complete: stop the upstream exchange too.
      if (!res.writableFinished) this.abandon(new Error('client closed the connection'));
    });
  }

  /** Counts a chunked body as it streams and stops it at the limit (a Content-Length is checked before dispatch). */
  limitChunkedBody(): void {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.options.bodyLimit) {
        this.req.off('data', onData);
        this.abandon(new Error('request body too large'));
        sendProblem(this.res, bodyTooLarge(this.options.bodyLimit, this.requestId, this.stamp.id), { connection: 'close' });
      }
    };
    this.req.on('data', onData);
  }

  abandon(reason: Error): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abandoned) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusMessage?: string): void {
    if (statusCode < 200 || this.abandoned) return; // 1xx interim answers are not relayed
    const raw = (controller.rawHeaders ?? []) as (Buffer | string)[];
    this.res.writeHead(statusCode, statusMessage || undefined, downstreamResponseHeaders(raw, this.requestId));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.abandoned) return;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (!this.abandoned) this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.abandoned) return;
    const { status, reason } = classify(error);
    this.options.onUpstreamError?.(this.stamp.id, this.requestId, status, reason);
    if (this.res.headersSent) {
      // Part of the answer already left: closing the connection is the only honest signal.
      this.res.destroy();
      return;
    }
    const title = status === 503 ? 'Stamp unavailable' : status === 504 ? 'Stamp timed out' : 'Bad gateway';
    const code = status === 503 ? 'stamp-unavailable' : status === 504 ? 'upstream-timeout' : 'bad-gateway';
    sendProblem(this.res, problem(code, title, status, `stamp ${JSON.stringify(this.stamp.id)} at ${this.stamp.origin}: ${reason}`, { requestId: this.requestId, stamp: this.stamp.id }));
  }
}

const unreachableCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function classify(error: Error): { status: number; reason: string } {
  const code = (error as { code?: string }).code ?? '';
  if (unreachableCodes.has(code)) return { status: 503, reason: `not accepting connections (${code})` };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { status: 504, reason: 'no response headers in time' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { status: 504, reason: 'response body stalled' };
  return { status: 502, reason: `${code || 'error'}: ${error.message}` };
}

function bodyTooLarge(limit: number, requestId: string, stampId: string) {
  return problem('body-too-large', 'Request body too large', 413, `the request body exceeds the limit of ${limit} bytes`, { requestId, stamp: stampId });
}
