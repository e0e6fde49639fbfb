// Builds the exchange for one request: request id, host without port, normalised path and query.
// A request whose target cannot be routed safely is answered here and gets no exchange.
import type { Http1Request } from '../http1/server-request.ts';
import type { Http1Response } from '../http1/server-response.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { requestIdFor } from '../proxy/request-id.ts';
import type { Exchange } from './exchange.ts';
import { normalizePath } from './normalize-path.ts';

export function createExchange(req: Http1Request, res: Http1Response, entryPoint: string, secure: boolean, trustForwarded?: (address: string) => boolean): Exchange | null {
  const target = req.url;
  const requestId = requestIdFor(req.headers['x-request-id']);
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    sendProblem(res, problem('bad-request-target', 'Bad request target', 400, `the request target must be a path starting with "/", found ${JSON.stringify(target.slice(0, 100))}`, { requestId }));
    return null;
  }
  const hostHeader = req.headers.host;
  if (hostHeader === undefined && req.httpVersionMinor === 1) {
    sendProblem(res, problem('missing-host', 'Missing Host header', 400, 'an HTTP/1.1 request must carry a Host header', { requestId }));
    return null;
  }
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const path = normalizePath(rawPath);
  if (path === null) {
    sendProblem(res, problem('bad-request-target', 'Bad request target', 400, `the path ${JSON.stringify(rawPath.slice(0, 100))} has an invalid percent-escape`, { requestId }));
    return null;
  }
  const remoteAddress = req.socket.remoteAddress ?? '';
  return {
    req,
    res,
    requestId,
    entryPoint,
    secure,
    remoteAddress,
    forwardedTrusted: trustForwarded !== undefined && trustForwarded(remoteAddress),
    clientIp: remoteAddress,
    method: req.method,
    host: hostWithoutPort(hostHeader ?? ''),
    path,
    query: queryAt < 0 ? '' : target.slice(queryAt + 1),
    headers: req.headers,
    queryParams: undefined,
    upstreamHeaders: null,
    responseHooks: null,
    router: null,
    service: null,
    stamp: null,
    tenant: null,
    upstream: null,
    upgrade: null,
    statusFallback: null,
    bufferedBody: null,
    retry: null,
    retries: 0,
    attempted: null,
    startedAt: performance.now(),
    trace: null,
    responseBytes: 0,
  };
}

/** `shop.example.com` from `Shop.Example.com:8080`; `::1` from `[::1]:8080`. */
export function hostWithoutPort(host: string): string {
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const end = host.indexOf(']');
    return (end < 0 ? host.slice(1) : host.slice(1, end)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
