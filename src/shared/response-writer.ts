// The part of an HTTP response that the shared answer helpers use. node:http's ServerResponse and
// the gateway's own Http1Response (src/gateway/http1/) both have it, so one helper serves the
// gateway's request path, its own endpoints and the control plane.
import type { IncomingHttpHeaders } from 'node:http';

export interface ResponseWriter {
  readonly headersSent: boolean;
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  setHeader(name: string, value: string | number): unknown;
  end(body?: string): unknown;
  destroy(): unknown;
}

/** …and what request handlers shared by both servers read of a request. */
export interface RequestReader {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
}
