// Traefik's Common Log Format line (`format: common`), whose fields cannot be chosen:
//   <client> - <user> [<time>] "<method> <path> <protocol>" <status> <bytes out> "<referer>" "<user agent>" <request count> "<router>" "<upstream>" <duration>ms
import type { LineFormatter } from './line-formatter.ts';
import { clfTime } from './log-time.ts';

/** A value inside the line's quotes: "-" when empty, quotes and control characters escaped. */
function quoted(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '"-"';
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /["\\\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value) : '"' + value + '"';
}

/** A bare token (client, method, path): "-" when empty, spaces and quotes escaped. */
function token(value: string): string {
  if (value === '') return '-';
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\s"\\\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value).slice(1, -1).replace(/ /g, '%20') : value;
}

export function commonFormatter(): LineFormatter {
  let requestCount = 0;
  return (exchange, _trace, status, durationMs, _requestBytes, responseBytes, endedAt) => {
    requestCount++;
    const referer = exchange.headers.referer;
    const userAgent = exchange.headers['user-agent'];
    return (
      token(exchange.clientIp) +
      ' - - [' +
      clfTime(endedAt - durationMs) +
      '] "' +
      token(exchange.method) +
      ' ' +
      token(exchange.req.url ?? exchange.path) +
      ' HTTP/' +
      exchange.req.httpVersion +
      '" ' +
      status +
      ' ' +
      responseBytes +
      ' ' +
      quoted(referer) +
      ' ' +
      quoted(userAgent) +
      ' ' +
      requestCount +
      ' ' +
      quoted(exchange.router) +
      ' ' +
      quoted(exchange.upstream) +
      ' ' +
      Math.round(durationMs) +
      'ms\n'
    );
  };
}
