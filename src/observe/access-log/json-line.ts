// The JSON access-log line: one object per request, fields in FIELDS order, dropped fields absent,
// redacted ones "REDACTED", unknown ones (no router for a 404) absent, then the selected request
// headers. The text is exactly what JSON.stringify gives for that object (a test holds it to that).
//
// Why it is written out by hand: the access log was the dearest part of the request path's chain
// (scenario c of the benchmark). Measured per line (Node 24, a realistic exchange, joined in
// batches): a record object through JSON.stringify ~1.75 µs; one concatenation per field through
// small helpers ~2.4 µs; the fixed template below, for the default where every field is kept,
// ~1.4 µs. The template glues each value between constant pieces (`","host":"`), escapes only a
// value that needs it, and writes numbers without the general number-to-string conversion. A
// config that drops or redacts fields takes the general path, which is slower but the same text.
import type { IncomingHttpHeaders } from 'node:http';
import { DROP, FIELD_INDEX as F, FIELDS, KEEP } from './access-log-fields.ts';
import type { AccessLogSettings, HeaderSelection } from './access-log-config.ts';
import { forEachHeaderField } from './header-fields.ts';
import type { LineFormatter } from './line-formatter.ts';
import { isoTime } from './log-time.ts';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/** A string's characters as they go between JSON quotes. */
function escaped(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}

const SMALL_INTEGERS = Array.from({ length: 1024 }, (_, i) => String(i));

/** A number as JSON writes it; small non-negative integers (status, retries, sizes) from a table. */
function numberText(value: number): string {
  if (value >= 0 && value < 1024 && (value | 0) === value) return SMALL_INTEGERS[value]!;
  return Number.isFinite(value) ? String(value) : 'null';
}

/** The decimal tail of a thousandth, as JSON writes it: 0 → "", 500 → ".5", 50 → ".05", 345 → ".345". */
const THOUSANDTHS = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : '.' + String(i).padStart(3, '0').replace(/0+$/, '')));

/**
 * Milliseconds rounded to the microsecond, as JSON writes Math.round(ms * 1000) / 1000 ("12",
 * "12.5", "0.031"), from integers and tables: the general double-to-text conversion was a visible cost.
 */
function millisecondsText(ms: number): string {
  const micros = Math.round(ms * 1000);
  if (!(micros >= 0 && micros < 2 ** 31)) return numberText(micros / 1000);
  const whole = (micros / 1000) | 0;
  return numberText(whole) + THOUSANDTHS[micros - whole * 1000]!;
}

function headerMembers(selection: HeaderSelection, headers: IncomingHttpHeaders): string {
  let text = '';
  forEachHeaderField(selection, headers, (key, value) => {
    text += ',"' + escaped(key) + '":"' + escaped(value) + '"';
  });
  return text;
}

export function jsonFormatter(settings: Pick<AccessLogSettings, 'modes' | 'headers'>): LineFormatter {
  const headers = settings.headers;
  if (settings.modes.some((mode) => mode !== KEEP)) return generalFormatter(settings);
  // The members from entryPoint to stamp come from the config: the same few strings on request
  // after request. The text made for the last ones is kept and reused while they stay the same
  // (usually the very same string objects, which compare at once): cheaper than escaping and
  // gluing them again.
  let lastEntryPoint = '';
  let lastRouter: string | null = null;
  let lastService: string | null = null;
  let lastStamp: string | null = null;
  let routeText: string | null = null;
  let lastUpstream = '';
  let upstreamText: string | null = null;
  return (exchange, trace, status, durationMs, requestBytes, responseBytes, endedAt) => {
    const entryPoint = exchange.entryPoint;
    const router = exchange.router;
    const service = exchange.service;
    const stamp = exchange.stamp;
    if (routeText === null || entryPoint !== lastEntryPoint || router !== lastRouter || service !== lastService || stamp !== lastStamp) {
      routeText = routeMembers(entryPoint, router, service, stamp);
      lastEntryPoint = entryPoint;
      lastRouter = router;
      lastService = service;
      lastStamp = stamp;
    }
    // Trace and span ids are lower-case hex (TraceContext), the time digits: never escaped.
    let line =
      '{"time":"' + isoTime(endedAt - durationMs) +
      '","requestId":"' + escaped(exchange.requestId) +
      (trace === null ? '' : '","traceId":"' + trace.traceId + '","spanId":"' + trace.spanId) +
      '","client":"' + escaped(exchange.clientIp) +
      '","method":"' + escaped(exchange.method) +
      '","host":"' + escaped(exchange.host) +
      '","path":"' + escaped(exchange.req.url ?? exchange.path) +
      '","protocol":"HTTP/' + exchange.req.httpVersion +
      '","status":' + numberText(status) +
      ',"duration":' + millisecondsText(durationMs) +
      ',"bytesIn":' + numberText(requestBytes) +
      ',"bytesOut":' + numberText(responseBytes) +
      routeText;
    if (exchange.tenant !== null) line += ',"tenant":"' + escaped(exchange.tenant) + '"';
    const upstream = exchange.upstream;
    if (upstream !== null) {
      if (upstreamText === null || upstream !== lastUpstream) {
        lastUpstream = upstream;
        upstreamText = flat(',"upstream":"' + escaped(upstream) + '"');
      }
      line += upstreamText;
    }
    line += ',"retries":' + numberText(exchange.retries);
    if (headers !== null) line += headerMembers(headers, exchange.headers);
    return line + '}\n';
  };
}

/** `,"entryPoint":…` to `"stamp":…`, the unknown ones (null) left out. */
function routeMembers(entryPoint: string, router: string | null, service: string | null, stamp: string | null): string {
  let text = ',"entryPoint":"' + escaped(entryPoint) + '"';
  if (router !== null) text += ',"router":"' + escaped(router) + '"';
  if (service !== null) text += ',"service":"' + escaped(service) + '"';
  if (stamp !== null) text += ',"stamp":"' + escaped(stamp) + '"';
  return flat(text);
}

/** The string as one piece: kept text is then copied, not walked, on every line it goes into. */
function flat(text: string): string {
  // Reading a character makes V8 flatten a concatenated string in place.
  text.charCodeAt(0);
  return text;
}

/** `,"name":` for each field, in FIELDS order. */
const KEYS = FIELDS.map((name) => ',"' + name + '":');

/** Any field modes: each field kept, redacted or left out as its mode says. */
function generalFormatter(settings: Pick<AccessLogSettings, 'modes' | 'headers'>): LineFormatter {
  const m = settings.modes;
  const headers = settings.headers;
  const member = (field: number, json: string): string => (m[field] === KEEP ? KEYS[field] + json : m[field] === DROP ? '' : KEYS[field] + '"REDACTED"');
  const text = (field: number, value: string): string => member(field, '"' + escaped(value) + '"');
  return (exchange, trace, status, durationMs, requestBytes, responseBytes, endedAt) => {
    let line =
      (m[F.time] === KEEP ? text(F.time, isoTime(endedAt - durationMs)) : member(F.time, '')) +
      text(F.requestId, exchange.requestId) +
      (trace === null ? '' : text(F.traceId, trace.traceId) + text(F.spanId, trace.spanId)) +
      text(F.client, exchange.clientIp) +
      text(F.method, exchange.method) +
      text(F.host, exchange.host) +
      text(F.path, exchange.req.url ?? exchange.path) +
      text(F.protocol, 'HTTP/' + exchange.req.httpVersion) +
      member(F.status, numberText(status)) +
      member(F.duration, millisecondsText(durationMs)) +
      member(F.bytesIn, numberText(requestBytes)) +
      member(F.bytesOut, numberText(responseBytes)) +
      text(F.entryPoint, exchange.entryPoint);
    if (exchange.router !== null) line += text(F.router, exchange.router);
    if (exchange.service !== null) line += text(F.service, exchange.service);
    if (exchange.stamp !== null) line += text(F.stamp, exchange.stamp);
    if (exchange.tenant !== null) line += text(F.tenant, exchange.tenant);
    if (exchange.upstream !== null) line += text(F.upstream, exchange.upstream);
    line += member(F.retries, numberText(exchange.retries));
    if (headers !== null) line += headerMembers(headers, exchange.headers);
    // Every member starts with a comma: the first one's becomes the opening brace.
    return line === '' ? '{}\n' : '{' + line.slice(1) + '}\n';
  };
}
