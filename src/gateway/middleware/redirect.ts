// What the two redirect middlewares share: the request's URL as the client used it, and the
// redirect answer itself. Traefik's status choice: 302 (307 for any method but GET), or with
// `permanent` 301 (308 for any method but GET), so that a POST is re-sent as a POST.
import { STATUS_CODES } from 'node:http';
import { problem, sendProblem } from '../../shared/problem.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { isFieldValue } from '../http1/field-syntax.ts';

/** The port of a Host header (`example.com:8080` → `8080`), '' when it has none. */
export function hostHeaderPort(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  const colon = hostHeader.lastIndexOf(':');
  if (colon < 0) return '';
  // `[::1]` has colons but no port; `[::1]:8080` has one after the bracket.
  if (hostHeader.charCodeAt(0) === 0x5b /* [ */ && hostHeader.lastIndexOf(']') > colon) return '';
  return hostHeader.slice(colon + 1);
}

/** The host as it goes in a URL: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.indexOf(':') >= 0 ? '[' + host + ']' : host;
}

/** Path and query as they go in a URL. */
export function pathAndQuery(exchange: Exchange): string {
  return exchange.query === '' ? exchange.path : exchange.path + '?' + exchange.query;
}

export function redirectStatus(method: string, permanent: boolean): number {
  if (permanent) return method === 'GET' ? 301 : 308;
  return method === 'GET' ? 302 : 307;
}

/** Answers with a redirect to `location` (a short text body, as Traefik). */
export function sendRedirect(exchange: Exchange, location: string, permanent: boolean, middlewareName: string): void {
  const res = exchange.res;
  if (!isFieldValue(location)) {
    sendProblem(res, problem('bad-redirect', 'Bad redirect target', 500, `middleware ${JSON.stringify(middlewareName)} built a redirect target that is not a valid header value`, { requestId: exchange.requestId }));
    return;
  }
  const status = redirectStatus(exchange.method, permanent);
  const body = STATUS_CODES[status] ?? '';
  res.writeHead(status, {
    location,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': exchange.requestId,
  });
  res.end(exchange.method === 'HEAD' ? undefined : body);
}
