// A short line for a person at a terminal (the default format when stdout is a TTY):
//   09:34:00.123 200 GET shop.example.com/api/books 12.3ms 1.2kB router=books service=books stamp=s1 tenant=acme upstream=http://10.0.0.5:8080 id=4bf92f35
// Status coloured by class when `color` is on. Field modes apply (dropped fields are left out,
// redacted ones read REDACTED). Written here rather than with pino-pretty, measured (Node 24, CPU
// time per line): this ~1.3 µs; pino-pretty's prettyFactory on the JSON line ~9.8 µs (7.3 µs given
// the object), and its single-line output is a level, a message and the JSON blob again.
import { DROP, FIELD_INDEX as F, KEEP } from './access-log-fields.ts';
import type { AccessLogSettings } from './access-log-config.ts';
import { forEachHeaderField } from './header-fields.ts';
import type { LineFormatter } from './line-formatter.ts';
import { clockTime } from './log-time.ts';

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const STATUS_COLORS = ['', '\x1b[36m', '\x1b[32m', '\x1b[36m', '\x1b[33m', '\x1b[31m']; // by status / 100

/** 950B, 1.2kB, 3.4MB. */
export function humanBytes(bytes: number): string {
  if (bytes < 1000) return bytes + 'B';
  if (bytes < 1_000_000) return (bytes / 1000).toFixed(1) + 'kB';
  if (bytes < 1_000_000_000) return (bytes / 1_000_000).toFixed(1) + 'MB';
  return (bytes / 1_000_000_000).toFixed(1) + 'GB';
}

/** 0.42ms, 12.3ms, 1.23s. */
export function humanDuration(ms: number): string {
  if (ms < 1) return ms.toFixed(2) + 'ms';
  if (ms < 1000) return ms.toFixed(1) + 'ms';
  return (ms / 1000).toFixed(2) + 's';
}

// Control characters would let a request write escape sequences into the operator's terminal.
function safe(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

export function prettyFormatter(settings: Pick<AccessLogSettings, 'modes' | 'headers'>, color: boolean): LineFormatter {
  const m = settings.modes;
  const headers = settings.headers;
  const dim = color ? DIM : '';
  const reset = color ? RESET : '';
  const value = (mode: number | undefined, text: string): string => (mode === KEEP ? text : 'REDACTED');
  const pair = (mode: number | undefined, name: string, text: string | null): string =>
    text === null || mode === DROP ? '' : ' ' + dim + name + '=' + reset + value(mode, safe(text));
  return (exchange, trace, status, durationMs, _requestBytes, responseBytes, endedAt) => {
    let s = '';
    if (m[F.time] !== DROP) s += dim + value(m[F.time], clockTime(endedAt - durationMs)) + reset + ' ';
    if (m[F.status] !== DROP) s += (color ? (STATUS_COLORS[Math.floor(status / 100)] ?? '') : '') + value(m[F.status], String(status)) + reset + ' ';
    if (m[F.method] !== DROP) s += value(m[F.method], exchange.method) + ' ';
    if (m[F.host] !== DROP) s += value(m[F.host], safe(exchange.host));
    if (m[F.path] !== DROP) s += value(m[F.path], safe(exchange.req.url ?? exchange.path));
    if (m[F.duration] !== DROP) s += ' ' + value(m[F.duration], humanDuration(durationMs));
    if (m[F.bytesOut] !== DROP) s += ' ' + value(m[F.bytesOut], humanBytes(responseBytes));
    s += pair(m[F.router], 'router', exchange.router);
    s += pair(m[F.service], 'service', exchange.service);
    s += pair(m[F.stamp], 'stamp', exchange.stamp);
    s += pair(m[F.tenant], 'tenant', exchange.tenant);
    s += pair(m[F.upstream], 'upstream', exchange.upstream);
    if (exchange.retries > 0) s += pair(m[F.retries], 'retries', String(exchange.retries));
    s += pair(m[F.requestId], 'id', exchange.requestId);
    if (trace !== null) s += pair(m[F.traceId], 'trace', trace.traceId);
    if (headers !== null) {
      forEachHeaderField(headers, exchange.headers, (key, text) => {
        s += ' ' + dim + key + '=' + reset + safe(text);
      });
    }
    return s.trimStart() + '\n';
  };
}
