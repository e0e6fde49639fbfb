// Builds the header list sent upstream: the client's headers less hop-by-hop ones, with
// X-Forwarded-For/-Proto/-Host and X-Request-Id set by the gateway. A client's own X-Forwarded-*
// values are replaced, not appended to: they cannot be trusted from the open internet.
import type { Http1Request } from '../http1/server-request.ts';
import { connectionListed, isHopByHop } from './hop-by-hop.ts';

const replacedByGateway = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'traceparent', 'tracestate']);

/** The trace context to send upstream (the gateway's own span as the parent). */
export interface UpstreamTrace {
  readonly traceparent: string;
  readonly traceState: string | null;
}

/**
 * Flat [name, value, name, value, …] list, the form undici takes without copying. When the peer is
 * a trusted proxy (entrypoint forwardedHeaders), its X-Forwarded-For is extended and its
 * X-Forwarded-Proto/-Host kept.
 */
export function upstreamRequestHeaders(req: Http1Request, requestId: string, trustForwarded = false, trace: UpstreamTrace | null = null): string[] {
  const raw = req.rawHeaders;
  const headers = req.headers;
  const listed = connectionListed(headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || replacedByGateway.has(lower) || (listed !== null && listed.has(lower))) continue;
    out.push(name, raw[i + 1]!);
  }
  const socket = req.socket;
  const peer = socket.remoteAddress ?? '';
  const proto = 'encrypted' in socket && socket.encrypted ? 'https' : 'http';
  const priorFor = trustForwarded ? headers['x-forwarded-for'] : undefined;
  out.push(
    'x-forwarded-for', priorFor ? `${priorFor}, ${peer}` : peer,
    'x-forwarded-proto', (trustForwarded && firstValue(headers['x-forwarded-proto'])) || proto,
    'x-forwarded-host', (trustForwarded && firstValue(headers['x-forwarded-host'])) || (headers.host ?? ''),
    'x-request-id', requestId,
  );
  if (trace !== null) {
    out.push('traceparent', trace.traceparent);
    if (trace.traceState !== null) out.push('tracestate', trace.traceState);
  } else {
    // Without a trace of the gateway's own, the client's context passes through unchanged.
    const parent = headers.traceparent;
    if (typeof parent === 'string') out.push('traceparent', parent);
    const state = headers.tracestate;
    if (typeof state === 'string') out.push('tracestate', state);
  }
  return out;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Flat list of the upstream's response headers, less hop-by-hop ones, for `writeHead`. */
export function downstreamResponseHeaders(raw: readonly string[], requestId: string): string[] {
  // Every Connection header counts: each may name more hop-by-hop headers.
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') connection = connection === undefined ? raw[i + 1]! : `${connection}, ${raw[i + 1]!}`;
  }
  const listed = connectionListed(connection);
  const out: string[] = [];
  let sawRequestId = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || (listed !== null && listed.has(lower))) continue;
    if (lower === 'x-request-id') sawRequestId = true;
    out.push(name, raw[i + 1]!);
  }
  if (!sawRequestId) out.push('x-request-id', requestId);
  return out;
}
