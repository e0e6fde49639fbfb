// The access log's fields, in the order a JSON line carries them, and Traefik's names for them so
// that a Traefik `accessLog.fields.names` section keeps working (`RequestPath: drop` drops `path`).

export const FIELDS = [
  'time', // request start, ISO 8601 UTC with milliseconds
  'requestId',
  'traceId',
  'spanId', // the gateway's span: the parent id its upstream received
  'client', // the client address as the gateway trusts it (X-Forwarded-For from trusted proxies)
  'method',
  'host',
  'path', // the request target as the client sent it, query included (Traefik's RequestPath)
  'protocol', // HTTP/1.1
  'status',
  'duration', // milliseconds, to the microsecond
  'bytesIn', // request body bytes
  'bytesOut', // response body bytes
  'entryPoint',
  'router',
  'service',
  'stamp',
  'tenant',
  'upstream', // the server URL finally used
  'retries',
] as const;

export type FieldName = (typeof FIELDS)[number];

export const FIELD_INDEX: Readonly<Record<FieldName, number>> = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<FieldName, number>;

/** Traefik's core field names that map onto a Stampgate field. */
export const TRAEFIK_FIELD_ALIASES: Readonly<Record<string, FieldName>> = {
  StartUTC: 'time',
  StartLocal: 'time',
  TraceId: 'traceId',
  SpanId: 'spanId',
  ClientHost: 'client',
  ClientAddr: 'client',
  RequestMethod: 'method',
  RequestHost: 'host',
  RequestPath: 'path',
  RequestProtocol: 'protocol',
  DownstreamStatus: 'status',
  Duration: 'duration',
  RequestContentSize: 'bytesIn',
  DownstreamContentSize: 'bytesOut',
  entryPointName: 'entryPoint',
  RouterName: 'router',
  ServiceName: 'service',
  ServiceURL: 'upstream',
  RetryAttempts: 'retries',
};

/** Traefik fields Stampgate does not write: a mode for them is accepted and has nothing to act on. */
export const TRAEFIK_FIELDS_NOT_WRITTEN: ReadonlySet<string> = new Set([
  'ClientPort',
  'ClientUsername',
  'RequestAddr',
  'RequestPort',
  'RequestScheme',
  'RequestLine',
  'RequestCount',
  'OriginDuration',
  'OriginContentSize',
  'OriginStatus',
  'Overhead',
  'ServiceAddr',
  'GzipRatio',
  'TLSVersion',
  'TLSCipher',
  'TLSClientSubject',
  'level',
  'msg',
]);

export const DROP = 0;
export const KEEP = 1;
export const REDACT = 2;
export type FieldMode = typeof DROP | typeof KEEP | typeof REDACT;

export function fieldMode(mode: 'keep' | 'drop' | 'redact'): FieldMode {
  return mode === 'keep' ? KEEP : mode === 'drop' ? DROP : REDACT;
}
