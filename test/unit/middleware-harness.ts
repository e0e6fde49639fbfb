// A real HTTP server for middleware tests. Each request becomes an Exchange (the entrypoint's own
// createExchange: request id, host without port, normalised path, query) and runs through
// `middleware(terminal)`. The terminal stands in for the service and the upstream: it reads the
// request body, records what reached it (path, query, upstream header edits, body size), then
// answers with a fixed upstream response (200, a few headers, a JSON echo body) after running the
// registered response hooks on its head and piping the body through the streams they return, as
// the forwarder does, so that response-hook behaviour is observable from the client side.
import http from 'node:http';
import type { Writable } from 'node:stream';
import { startHttp1Server } from '../helpers/http1-server.ts';
import { createExchange } from '../../src/gateway/pipeline/create-exchange.ts';
import { runResponseHooks, type Exchange, type Handler, type ResponseHead } from '../../src/gateway/pipeline/exchange.ts';
import type { Middleware, MiddlewareContext } from '../../src/gateway/middleware/middleware.ts';

export interface UpstreamFixture {
  status?: number;
  /** Headers added to the fixture's own (Content-Type, X-Upstream, Vary). */
  headers?: string[];
  /** Body to answer with instead of the JSON echo. */
  body?: string | Buffer;
  /** Answer without Content-Length, the body in several chunks. */
  chunked?: boolean;
  /** Keep the answer until the test calls one of `harness.held`. */
  hold?: boolean;
}

/** What reached the terminal. */
export interface Seen {
  method: string;
  path: string;
  query: string;
  host: string;
  clientIp: string;
  upstreamHeaders: Record<string, string | null>;
  bodyBytes: number;
}

export interface Harness {
  url: string;
  port: number;
  seen: Seen[];
  /** Answers of held requests, to send in the test's order. */
  held: Array<() => void>;
  /** How many responses have closed (finished, or their client left). */
  readonly closed: number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** What `exchange.secure` says (the harness itself listens on plain HTTP). */
  secure?: boolean;
  upstream?: UpstreamFixture;
}

export async function startHarness(middleware: Middleware, options: HarnessOptions = {}): Promise<Harness> {
  const seen: Seen[] = [];
  const held: Array<() => void> = [];
  const upstream = options.upstream ?? {};
  const terminal: Handler = (exchange) => {
    let bodyBytes = 0;
    const req = exchange.req.body;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on('error', () => {}); // a limit may end the request stream
    req.on('end', () => {
      if (exchange.res.writableEnded || exchange.res.destroyed) return;
      const record: Seen = {
        method: exchange.method,
        path: exchange.path,
        query: exchange.query,
        host: exchange.host,
        clientIp: exchange.clientIp,
        upstreamHeaders: exchange.upstreamHeaders === null ? {} : Object.fromEntries(exchange.upstreamHeaders),
        bodyBytes,
      };
      seen.push(record);
      const answer = () => answerAsUpstream(exchange, upstream, record);
      if (upstream.hold === true) held.push(answer);
      else answer();
    });
    req.resume(); // what undici does with a request body stream
  };
  const handler = middleware(terminal);
  let closed = 0;
  const server = await startHttp1Server((req, res) => {
    res.on('close', () => {
      closed++;
    });
    const exchange = createExchange(req, res, 'web', options.secure ?? false);
    if (exchange !== null) handler(exchange);
  });
  const port = server.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    held,
    get closed() {
      return closed;
    },
    close: () => server.close(),
  };
}

function answerAsUpstream(exchange: Exchange, upstream: UpstreamFixture, record: Seen): void {
  const res = exchange.res;
  if (res.writableEnded || res.destroyed) return;
  const body = Buffer.from(upstream.body ?? JSON.stringify(record));
  const head: ResponseHead = {
    status: upstream.status ?? 200,
    headers: ['Content-Type', 'application/json', 'X-Upstream', 'fixture', 'Vary', 'Accept-Encoding', ...(upstream.headers ?? []), 'x-request-id', exchange.requestId],
    replaced: false,
  };
  if (upstream.chunked !== true) head.headers.push('Content-Length', String(body.length));
  // The response stands in for a Writable here, as in the forwarder.
  const sink = runResponseHooks(exchange, head, res) as Writable;
  res.writeHead(head.status, head.headers);
  if (upstream.chunked === true) {
    const step = Math.max(1, Math.ceil(body.length / 4));
    for (let at = 0; at < body.length; at += step) sink.write(body.subarray(at, at + step));
    sink.end();
  } else {
    sink.end(body);
  }
}

/** A MiddlewareContext whose log lines the test can read. */
export function testContext(name = 'test'): MiddlewareContext & { lines: string[] } {
  const lines: string[] = [];
  return { name, lines, log: (line) => lines.push(line) };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Set when the connection broke before the whole answer arrived. */
  error: string | null;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with chunked encoding, one write each. */
  chunks?: Buffer[];
}

/** One request over a fresh connection (no keep-alive), with full control of the headers. */
export function send(harness: Harness, path: string, options: SendOptions = {}): Promise<Reply> {
  return open(harness, path, options).reply;
}

/** Starts a request; the test may destroy it before its answer. */
export function open(harness: Harness, path: string, options: SendOptions = {}): { request: http.ClientRequest; reply: Promise<Reply> } {
  const request = http.request({ host: '127.0.0.1', port: harness.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false });
  const reply = new Promise<Reply>((resolve, reject) => {
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      let error: string | null = null;
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (e) => {
        error = e.message;
      });
      response.on('close', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString(), error: error ?? (response.complete ? null : 'incomplete') }));
    });
    request.on('error', (error) => {
      // Writing a body the server refused can fail after the answer arrived; only a missing answer matters.
      if (!answered) reject(error);
    });
  });
  if (options.chunks !== undefined) {
    for (const chunk of options.chunks) request.write(chunk);
    request.end();
  } else {
    request.end(options.body);
  }
  return { request, reply };
}

/** The problem body of a reply, checked to be application/problem+json. */
export function problemOf(reply: Reply): { type: string; title: string; status: number; detail: string; requestId?: string } {
  if (reply.headers['content-type'] !== 'application/problem+json') throw new Error(`expected a problem, got ${reply.headers['content-type']}: ${reply.text}`);
  return JSON.parse(reply.text) as { type: string; title: string; status: number; detail: string; requestId?: string };
}

/** The terminal's echo of a reply whose body is the default JSON echo. */
export function echoOf(reply: Reply): Seen {
  return JSON.parse(reply.text) as Seen;
}

/** Waits until `check` holds (for effects that follow a connection's close). */
export async function eventually(check: () => boolean, timeoutMs = 1000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
