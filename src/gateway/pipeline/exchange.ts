// One request's passage through the gateway. Built once per request by the entrypoint, read by the
// router table, edited by middlewares (path rewrites, headers to add), and finally forwarded by a
// service. Fields that most requests never use stay null, so the common request allocates little.
import type { IncomingHttpHeaders } from 'node:http';
import type { Http1Request } from '../http1/server-request.ts';
import type { Http1Response } from '../http1/server-response.ts';
import type { QueryParams } from '../rules/query.ts';
import type { TraceContext } from '../../observe/tracing/trace-context.ts';
import type { Duplex, Writable } from 'node:stream';
import type { UpstreamServer } from '../balancer/upstream-server.ts';

/**
 * Runs when the upstream's response head is known, before it is written to the client. It may
 * change `head.status` and edit `head.headers` (a flat [name, value, …] list) in place, and may
 * return a stream that the body is written through (compression); `null` leaves the body as is.
 * Every name it adds must be a token and every value a valid field value (tab, space to `~`, and
 * 0x80-0xFF only: the head is written as latin1, so U+010D would become a CR), checked when the
 * config was built or taken from a message a parser checked: the head is written without a check.
 */
export type ResponseHook = (exchange: Exchange, head: ResponseHead) => Writable | null;

export interface ResponseHead {
  status: number;
  headers: string[];
  /**
   * Set by a hook that replaced the answer with the gateway's own (buffering's 500 problem): the
   * hooks after it are not run, so that none dresses that body as something else (compressed).
   */
  replaced: boolean;
}

export interface Exchange {
  readonly req: Http1Request;
  readonly res: Http1Response;
  readonly requestId: string;
  /** Name of the entrypoint that accepted the request. */
  readonly entryPoint: string;
  /** Whether the client connection is TLS. */
  readonly secure: boolean;
  /** The TCP peer's address (trusted-proxy handling derives the client from X-Forwarded-For when configured). */
  readonly remoteAddress: string;
  /** Whether the peer is a trusted proxy (entrypoint forwardedHeaders): its X-Forwarded-* are kept and extended. */
  readonly forwardedTrusted: boolean;
  /** The client's address as the gateway trusts it. */
  clientIp: string;
  readonly method: string;
  /** Host without port, lower-cased; '' when the request has none. */
  readonly host: string;
  /** Normalised path (no `..`, no encoded slash tricks), without the query. Middlewares may rewrite it. */
  path: string;
  /** The raw query without the leading `?`; '' when there is none. Middlewares may rewrite it. */
  query: string;
  /** The request headers by lower-case name (repeated ones combined as node:http does). */
  readonly headers: IncomingHttpHeaders;
  /** The query parsed, filled lazily by the first Query rule that needs it (the exchange is the rule input). */
  queryParams?: QueryParams | undefined;
  /** Headers to set (value) or remove (null) on the upstream request, by lower-case name. */
  upstreamHeaders: Map<string, string | null> | null;
  /** Hooks run on the upstream response head, in the order middlewares registered them. */
  responseHooks: ResponseHook[] | null;
  /** What routing decided, for logs, metrics and problems. */
  router: string | null;
  service: string | null;
  stamp: string | null;
  tenant: string | null;
  /** Upstream server URL finally used. */
  upstream: string | null;
  /** For a protocol upgrade (WebSocket): the client's socket and the bytes read past the head. */
  upgrade: { socket: Duplex; head: Buffer } | null;
  /** Set by a failover service: the handler to use instead when the primary answers this status. */
  statusFallback: ((status: number) => Handler | null) | null;
  /** The request body, when a service had to read it whole (mirroring); forwarded instead of the stream. */
  bufferedBody: Buffer | null;
  /** Set by the retry middleware: how the service may try again. */
  retry: RetryPolicy | null;
  /** Number of retries made. */
  retries: number;
  /** Servers already tried by this request (only allocated on a retry). */
  attempted: Set<UpstreamServer> | null;
  /** When the gateway received the request (performance.now()). */
  readonly startedAt: number;
  /** W3C trace context of this request: its `traceparent` goes upstream (always propagated). */
  trace: TraceContext | null;
  /** Response body bytes sent to the client by the forwarder (metrics, access log). */
  responseBytes: number;
}

export interface RetryPolicy {
  /** Total attempts, the first one included. */
  attempts: number;
  /** Wait before the first retry, doubling after each (Traefik's initialInterval). */
  initialIntervalMs: number;
  /** Statuses that also count as failures to retry; null: connection errors only. */
  retryOnStatus: ((status: number) => boolean) | null;
  /** Whether a request that may have side effects (POST, PATCH, …) may be sent again. */
  retryNonIdempotent: boolean;
}

/** A step of the request path: handles the exchange, usually by calling the next step. */
export type Handler = (exchange: Exchange) => void;

/** Sets an upstream request header (or removes it with null). */
export function setUpstreamHeader(exchange: Exchange, lowerCaseName: string, value: string | null): void {
  (exchange.upstreamHeaders ??= new Map()).set(lowerCaseName, value);
}

export function addResponseHook(exchange: Exchange, hook: ResponseHook): void {
  (exchange.responseHooks ??= []).push(hook);
}

/**
 * Runs the exchange's response hooks on `head`, in the order they were added, until one replaces
 * the answer; returns where the body goes: `res`, or the last transform a hook returned (each
 * transform writes into the one returned before it, the first into `res`).
 */
export function runResponseHooks(exchange: Exchange, head: ResponseHead, res: Http1Response): Writable | Http1Response {
  let sink: Writable | Http1Response = res;
  const hooks = exchange.responseHooks;
  if (hooks === null) return sink;
  for (const hook of hooks) {
    const transform = hook(exchange, head);
    if (transform !== null) {
      transform.pipe(sink as NodeJS.WritableStream);
      sink = transform;
    }
    if (head.replaced) break;
  }
  return sink;
}
