// The JSON access-log line: one object per request, fields in FIELDS order, dropped fields absent,
// redacted ones "REDACTED", unknown ones (no router for a 404) absent, then the selected request
// headers. The text is exactly what JSON.stringify gives for that object (a test holds it to that).
//
// Built by string concatenation rather than JSON.stringify of a record: in the gateway under load
// the record-and-stringify way cost ~1.7 µs a line and made the whole request path slower around
// it (a call into V8's C++ serialiser, one more object per request); this way no record is made and
// V8's own JSON escaping runs only for the rare value that needs it (a quote, a backslash, a control
// character or anything outside ASCII).
import type { IncomingHttpHeaders } from 'node:http';
import { DROP, FIELD_INDEX as F, FIELDS, KEEP } from './access-log-fields.ts';
import type { AccessLogSettings, HeaderSelection } from './access-log-config.ts';
import { forEachHeaderField } from './header-fields.ts';
import type { LineFormatter } from './line-formatter.ts';
import { isoTime } from './log-time.ts';

const REDACTED = '"REDACTED"';
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/** A string as a JSON string literal. */
function quoted(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : '"' + value + '"';
}

/** A number as JSON writes it (non-finite numbers are null). */
function numeric(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `,"name":` for each field, in FIELDS order. */
const KEYS = FIELDS.map((name) => ',"' + name + '":');

function headerMembers(selection: HeaderSelection, headers: IncomingHttpHeaders): string {
  let text = '';
  forEachHeaderField(selection, headers, (key, value) => {
    text += ',' + quoted(key) + ':' + quoted(value);
  });
  return text;
}

export function jsonFormatter(settings: Pick<AccessLogSettings, 'modes' | 'headers'>): LineFormatter {
  const m = settings.modes;
  const headers = settings.headers;
  const member = (field: number, json: string): string => (m[field] === KEEP ? KEYS[field] + json : m[field] === DROP ? '' : KEYS[field] + REDACTED);
  const text = (field: number, value: string): string => (m[field] === KEEP ? KEYS[field] + quoted(value) : member(field, ''));
  const number = (field: number, value: number): string => member(field, numeric(value));
  return (exchange, trace, status, durationMs, requestBytes, responseBytes, endedAt) => {
    let line =
      text(F.time, isoTime(endedAt - durationMs)) +
      text(F.requestId, exchange.requestId) +
      (trace === null ? '' : text(F.traceId, trace.traceId) + text(F.spanId, trace.spanId)) +
      text(F.client, exchange.clientIp) +
      text(F.method, exchange.method) +
      text(F.host, exchange.host) +
      text(F.path, exchange.req.url ?? exchange.path) +
      text(F.protocol, 'HTTP/' + exchange.req.httpVersion) +
      number(F.status, status) +
      number(F.duration, Math.round(durationMs * 1000) / 1000) +
      number(F.bytesIn, requestBytes) +
      number(F.bytesOut, responseBytes) +
      text(F.entryPoint, exchange.entryPoint);
    if (exchange.router !== null) line += text(F.router, exchange.router);
    if (exchange.service !== null) line += text(F.service, exchange.service);
    if (exchange.stamp !== null) line += text(F.stamp, exchange.stamp);
    if (exchange.tenant !== null) line += text(F.tenant, exchange.tenant);
    if (exchange.upstream !== null) line += text(F.upstream, exchange.upstream);
    line += number(F.retries, exchange.retries);
    if (headers !== null) line += headerMembers(headers, exchange.headers);
    // Every member starts with a comma: the first one's becomes the opening brace.
    return line === '' ? '{}\n' : '{' + line.slice(1) + '}\n';
  };
}
