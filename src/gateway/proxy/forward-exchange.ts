// Forwards an exchange to one upstream server over its keep-alive pool and streams the answer
// back, through the pool's dispatch handler interface (no promise or stream object per request). What happens on failure is the calling service's decision (retry, failover, or a
// problem answer), through the UpstreamOutcome it passes.
import type { Writable } from 'node:stream';
import type { UpstreamController, UpstreamError, UpstreamHandler } from '../http1/upstream-pool.ts';
import type { Http1Response } from '../http1/server-response.ts';
import { problem, sendProblem, type Problem } from '../../shared/problem.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import { runResponseHooks, type Exchange, type ResponseHead } from '../pipeline/exchange.ts';
import { removeHeader, setHeader } from '../middleware/header-list.ts';
import { upstreamRequestHeaders, downstreamResponseHeaders } from './forward-headers.ts';
import { tunnelExchange } from './tunnel-exchange.ts';

export interface UpstreamFailure {
  /** 502, 503 (unreachable) or 504 (timeout). */
  status: number;
  reason: string;
  /** True when the request cannot have reached the server (connection refused, connect timeout): always safe to send again. */
  notSent: boolean;
}

/** How the service that chose the server hears about the result. */
export interface UpstreamOutcome {
  /** The exchange failed before anything reached the client. Return true when the caller takes it over (retry, failover). */
  onFailure(exchange: Exchange, server: UpstreamServer, failure: UpstreamFailure): boolean;
  /** The server answered with this status, nothing is written yet. Return true to discard this answer and take the exchange over. */
  onStatus(exchange: Exchange, server: UpstreamServer, status: number): boolean;
}

export interface ForwardSettings {
  /** How long an upgrade (WebSocket) waits for the server's connection; ordinary requests use the pool's. */
  connectTimeoutMs: number;
  /** Send the client's Host header (Traefik's passHostHeader, default true); else the server's. */
  passHostHeader: boolean;
  /** Told of every upstream failure that reaches the client, for the operator's log. */
  log: ((line: string) => void) | null;
}

export function forwardExchange(exchange: Exchange, server: UpstreamServer, settings: ForwardSettings, outcome: UpstreamOutcome): void {
  if (exchange.upgrade !== null) {
    tunnelExchange(exchange, server, settings, outcome, settings.connectTimeoutMs);
    return;
  }
  const req = exchange.req;
  const headers = upstreamRequestHeaders(req, exchange.requestId, exchange.forwardedTrusted, exchange.trace);
  if (exchange.upstreamHeaders !== null) applyHeaderEdits(headers, exchange.upstreamHeaders);
  // Without the client's Host, the pool sends the server's own (UpstreamExchange.prepare).
  if (!settings.passHostHeader) removeHeader(headers, 'host');
  const path = server.basePath + exchange.path + (exchange.query === '' ? '' : '?' + exchange.query);
  exchange.upstream = server.url;
  server.inFlight++;
  const body = exchange.bufferedBody ?? (req.hasBody ? req.body : null);
  // Without middleware edits, every header comes from the request parser or the gateway itself.
  const headersChecked = exchange.upstreamHeaders === null;
  server.pool.dispatch({ path, method: exchange.method, headers, body, headersChecked }, new ForwardHandler(exchange, server, settings, outcome));
}

/** Applies middleware edits to the flat upstream header list: set (replace all) or remove. */
function applyHeaderEdits(headers: string[], edits: Map<string, string | null>): void {
  for (const [name, value] of edits) {
    if (value === null) removeHeader(headers, name);
    else setHeader(headers, name, name, value);
  }
}

class ForwardHandler implements UpstreamHandler {
  readonly exchange: Exchange;
  readonly server: UpstreamServer;
  readonly settings: ForwardSettings;
  readonly outcome: UpstreamOutcome;
  controller: UpstreamController | null = null;
  /** The gateway ended this attempt itself: client gone, or the answer discarded for a retry. */
  abandoned = false;
  /** Where body chunks go: the client response, or a transform a response hook put in front of it. */
  sink: Writable | Http1Response | null = null;
  finished = false;

  constructor(exchange: Exchange, server: UpstreamServer, settings: ForwardSettings, outcome: UpstreamOutcome) {
    this.exchange = exchange;
    this.server = server;
    this.settings = settings;
    this.outcome = outcome;
    exchange.res.on('close', this.#onClientClose);
  }

  // The client left before the answer was complete: stop the upstream exchange too.
  readonly #onClientClose = (): void => {
    if (!this.exchange.res.writableFinished) this.abandon(new Error('client closed the connection'));
  };

  abandon(reason: Error): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.finish();
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.server.inFlight--;
  }

  onRequestStart(controller: UpstreamController): void {
    this.controller = controller;
    if (this.abandoned) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(_controller: UpstreamController, statusCode: number, rawHeaders: string[], statusMessage: string): void {
    if (statusCode < 200 || this.abandoned) return; // 1xx interim answers are not relayed
    if (this.outcome.onStatus(this.exchange, this.server, statusCode)) {
      this.abandon(new Error(`discarded a ${statusCode} answer`));
      return;
    }
    const res = this.exchange.res;
    if (res.headersSent || res.destroyed) {
      // A middleware answered already (a body over its limit while streaming): drop this answer.
      this.abandon(new Error('the response was already answered by the gateway'));
      return;
    }
    const head: ResponseHead = { status: statusCode, headers: downstreamResponseHeaders(rawHeaders, this.exchange.requestId), replaced: false };
    this.sink = runResponseHooks(this.exchange, head, res);
    const reason = head.status === statusCode ? statusMessage || undefined : undefined;
    // Every header is the upstream's as its parser checked it, the request id, or one a response hook
    // added, which that hook's contract says is valid (ResponseHook): none needs a second check.
    res.writeCheckedHead(head.status, reason, head.headers);
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.abandoned || this.sink === null) return;
    this.exchange.responseBytes += chunk.length;
    if (!this.sink.write(chunk)) {
      controller.pause();
      this.sink.once('drain', this.#onDrain);
    }
  }

  readonly #onDrain = (): void => {
    if (!this.abandoned) this.controller?.resume();
  };

  onResponseEnd(): void {
    if (this.abandoned) return;
    this.finish();
    this.sink?.end();
  }

  onResponseError(_controller: UpstreamController, error: UpstreamError): void {
    if (this.abandoned) return;
    this.finish();
    const failure = classify(error);
    const res = this.exchange.res;
    if (res.headersSent) {
      // Part of the answer already left: closing the connection is the only honest signal.
      this.settings.log?.(`${failure.status} ${this.server.url} request=${this.exchange.requestId}: ${failure.reason} (after the response started)`);
      res.destroy();
      return;
    }
    if (this.outcome.onFailure(this.exchange, this.server, failure)) return;
    this.settings.log?.(`${failure.status} ${this.server.url} request=${this.exchange.requestId}: ${failure.reason}`);
    sendProblem(res, upstreamProblem(this.exchange, failure));
  }
}

/** Failures to reach a server at all: answered 503, as for a server that is down. */
const unreachableCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT']);

function classify(error: UpstreamError): UpstreamFailure {
  const code = error.code ?? '';
  // The pool says whether the connection ever opened (a refused one, a failed TLS handshake…).
  const notSent = error.notSent === true;
  if (unreachableCodes.has(code)) return { status: 503, reason: `not accepting connections (${code})`, notSent };
  if (code === 'HEADERS_TIMEOUT') return { status: 504, reason: 'no response headers in time', notSent };
  if (code === 'BODY_TIMEOUT') return { status: 504, reason: 'response body stalled', notSent };
  return { status: 502, reason: `${code || 'error'}: ${error.message}`, notSent };
}

export function upstreamProblem(exchange: Exchange, failure: UpstreamFailure): Problem {
  const what = exchange.stamp !== null ? `stamp ${JSON.stringify(exchange.stamp)} at ${exchange.upstream}` : `${exchange.upstream} (service ${JSON.stringify(exchange.service)})`;
  const [code, title] = failure.status === 503 ? exchange.stamp !== null ? ['stamp-unavailable', 'Stamp unavailable'] : ['upstream-unavailable', 'Upstream unavailable'] : failure.status === 504 ? ['upstream-timeout', 'Upstream timed out'] : ['bad-gateway', 'Bad gateway'];
  return problem(code!, title!, failure.status, `${what}: ${failure.reason}`, { requestId: exchange.requestId, ...(exchange.stamp !== null ? { stamp: exchange.stamp } : {}) });
}
