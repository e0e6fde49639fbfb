// What the observability modules read from a request: a structural subset of the gateway's Exchange
// (src/gateway/pipeline/exchange.ts), declared here so that observe/ never imports gateway/. The
// gateway passes its Exchange as it is; nothing is copied.
import type { IncomingHttpHeaders } from 'node:http';

export interface ObservedExchange {
  /** The incoming request: its raw target (`url`, with the query) and `httpVersion` ("1.1"). */
  readonly req: { readonly url?: string | undefined; readonly httpVersion: string };
  readonly requestId: string;
  readonly entryPoint: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly clientIp: string;
  readonly method: string;
  readonly host: string;
  /** The path as middlewares left it; logs use `req.url`, what the client asked for. */
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly router: string | null;
  readonly service: string | null;
  readonly stamp: string | null;
  readonly tenant: string | null;
  readonly upstream: string | null;
  /** Non-null for a protocol upgrade (WebSocket). */
  readonly upgrade: object | null;
  readonly retries: number;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
}

/** Traefik's `protocol` label values. */
export const PROTOCOLS = ['http', 'websocket', 'sse', 'grpc', 'grpc-web'] as const;
export type RequestProtocol = (typeof PROTOCOLS)[number];

/** Index into PROTOCOLS, as Traefik tells them apart: upgrade, gRPC content type, SSE accept. */
export function requestProtocolIndex(exchange: ObservedExchange): number {
  if (exchange.upgrade !== null) return 1;
  const contentType = exchange.headers['content-type'];
  if (contentType !== undefined && contentType.startsWith('application/grpc')) return contentType.startsWith('application/grpc-web') ? 4 : 3;
  const accept = exchange.headers.accept;
  if (accept !== undefined && accept.includes('text/event-stream')) return 2;
  return 0;
}

/**
 * The request body size the client announced (Content-Length), 0 when absent or malformed. For a
 * chunked body the gateway counts the bytes it forwards instead.
 */
export function declaredRequestBytes(headers: IncomingHttpHeaders): number {
  const value = headers['content-length'];
  if (value === undefined) return 0;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
