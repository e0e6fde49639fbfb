// The JSON access-log line: one object per request, fields in FIELDS order, dropped fields absent,
// redacted ones "REDACTED", unknown ones (no router for a 404) absent.
//
// Built as an object of one fixed shape (a dropped field is `undefined`, which JSON.stringify leaves
// out) and serialised by V8's JSON.stringify, whose fast path for flat objects beat the other ways
// measured (Node 24, 20 fields, CPU time per line): this ~0.8 µs, string concatenation with an
// escape test per value ~1.05 µs, pino's logger.info(record) ~2.7 µs.
import type { IncomingHttpHeaders } from 'node:http';
import { DROP, FIELD_INDEX as F, KEEP } from './access-log-fields.ts';
import type { AccessLogSettings, HeaderSelection } from './access-log-config.ts';
import { forEachHeaderField } from './header-fields.ts';
import type { LineFormatter } from './line-formatter.ts';
import { isoTime } from './log-time.ts';

const REDACTED = 'REDACTED';

function pick<T>(mode: number | undefined, value: T): T | string | undefined {
  return mode === KEEP ? value : mode === DROP ? undefined : REDACTED;
}

function addHeaders(record: Record<string, unknown>, selection: HeaderSelection, headers: IncomingHttpHeaders): void {
  forEachHeaderField(selection, headers, (key, value) => {
    record[key] = value;
  });
}

export function jsonFormatter(settings: Pick<AccessLogSettings, 'modes' | 'headers'>): LineFormatter {
  const m = settings.modes;
  const headers = settings.headers;
  return (exchange, trace, status, durationMs, requestBytes, responseBytes, endedAt) => {
    const record = {
      time: m[F.time] === KEEP ? isoTime(endedAt - durationMs) : pick(m[F.time], ''),
      requestId: pick(m[F.requestId], exchange.requestId),
      traceId: trace === null ? undefined : pick(m[F.traceId], trace.traceId),
      spanId: trace === null ? undefined : pick(m[F.spanId], trace.spanId),
      client: pick(m[F.client], exchange.clientIp),
      method: pick(m[F.method], exchange.method),
      host: pick(m[F.host], exchange.host),
      path: pick(m[F.path], exchange.req.url ?? exchange.path),
      protocol: m[F.protocol] === KEEP ? 'HTTP/' + exchange.req.httpVersion : pick(m[F.protocol], ''),
      status: pick(m[F.status], status),
      duration: pick(m[F.duration], Math.round(durationMs * 1000) / 1000),
      bytesIn: pick(m[F.bytesIn], requestBytes),
      bytesOut: pick(m[F.bytesOut], responseBytes),
      entryPoint: pick(m[F.entryPoint], exchange.entryPoint),
      router: exchange.router === null ? undefined : pick(m[F.router], exchange.router),
      service: exchange.service === null ? undefined : pick(m[F.service], exchange.service),
      stamp: exchange.stamp === null ? undefined : pick(m[F.stamp], exchange.stamp),
      tenant: exchange.tenant === null ? undefined : pick(m[F.tenant], exchange.tenant),
      upstream: exchange.upstream === null ? undefined : pick(m[F.upstream], exchange.upstream),
      retries: pick(m[F.retries], exchange.retries),
    };
    if (headers !== null) addHeaders(record, headers, exchange.headers);
    return JSON.stringify(record) + '\n';
  };
}
