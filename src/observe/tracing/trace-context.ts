// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
// headers, parsed strictly, and the context of one request through the gateway.
//
//   traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
//
// Parsing follows the spec's rules: lower-case hex only; trace-id and parent-id not all zeros;
// version ff is invalid; version 00 is exactly 55 characters; a higher version may be longer, and
// is read for its first four fields when character 55 is a dash. A header that fails is ignored and
// the gateway starts a new trace (and drops `tracestate`, which must not be read without a valid
// parent). The gateway always sends version 00 upstream, with its own span id as the parent id.
export interface TraceParent {
  readonly version: number;
  readonly traceId: string;
  readonly parentId: string;
  readonly flags: number;
}

export const SAMPLED_FLAG = 0x01;

/**
 * The trace context of one request: the trace it belongs to, the gateway's span in it, and the
 * headers to send upstream. Built once at request start by GatewayTracer.start().
 */
export class TraceContext {
  readonly traceId: string;
  /** The gateway's span for this request; the parent id of the upstream request. */
  readonly spanId: string;
  /** The caller's span (incoming traceparent's parent-id); null when the gateway started the trace. */
  readonly parentSpanId: string | null;
  /** Whether this request is sampled: recorded here (with an exporter) and flagged to upstreams. */
  readonly sampled: boolean;
  /** The incoming tracestate to forward unchanged; null when absent or invalid. */
  readonly traceState: string | null;
  /** The `traceparent` header value for the upstream request. */
  readonly traceparent: string;

  constructor(traceId: string, spanId: string, parentSpanId: string | null, sampled: boolean, traceState: string | null) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.parentSpanId = parentSpanId;
    this.sampled = sampled;
    this.traceState = traceState;
    this.traceparent = formatTraceparent(traceId, spanId, sampled);
  }
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return '00-' + traceId + '-' + spanId + (sampled ? '-01' : '-00');
}

// 1 for 0-9 and a-f: the spec allows lower-case hex only.
const LOWER_HEX = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;
const DASH = 0x2d;

function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

function isLowerHexRun(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || LOWER_HEX[code] === 0) return false;
  }
  return true;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

/** Parses a `traceparent` header; null when it is absent or invalid by the spec. */
export function parseTraceparent(value: string | undefined): TraceParent | null {
  if (value === undefined || value.length < 55) return null;
  if (!isLowerHexRun(value, 0, 2) || value.charCodeAt(2) !== DASH) return null;
  const version = hexValue(value.charCodeAt(0)) * 16 + hexValue(value.charCodeAt(1));
  if (version === 0xff) return null;
  if (version === 0 ? value.length !== 55 : value.length > 55 && value.charCodeAt(55) !== DASH) return null;
  if (!isLowerHexRun(value, 3, 35) || value.charCodeAt(35) !== DASH) return null;
  if (!isLowerHexRun(value, 36, 52) || value.charCodeAt(52) !== DASH) return null;
  if (!isLowerHexRun(value, 53, 55)) return null;
  const traceId = value.slice(3, 35);
  if (traceId === ZERO_TRACE_ID) return null;
  const parentId = value.slice(36, 52);
  if (parentId === ZERO_PARENT_ID) return null;
  const flags = hexValue(value.charCodeAt(53)) * 16 + hexValue(value.charCodeAt(54));
  return { version, traceId, parentId, flags };
}

// tracestate list members (spec §3.3.1): key = simple-key / tenant@system, value = printable ASCII
// without "," and "=", not ending in a space.
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;

/**
 * Whether a `tracestate` value is a valid list: at most 32 members, each `key=value` by the
 * grammar, no key twice. Empty members (",,") are allowed. Several headers arrive joined by ", ".
 */
export function isValidTracestate(value: string): boolean {
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    const equals = member.indexOf('=');
    if (equals <= 0) return false;
    const key = member.slice(0, equals);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(equals + 1))) return false;
    if (keys.has(key)) return false;
    keys.add(key);
    if (keys.size > MAX_TRACESTATE_MEMBERS) return false;
  }
  return true;
}
