// The static config's `accessLog` section: Traefik v3's shape plus Stampgate's `sampling` and
// `pretty` format, and its compiled form (what the access log reads per request).
//
//   accessLog:
//     filePath: /var/log/stampgate/access.log   # default: stdout
//     format: json                               # json | common | pretty (default: pretty on a TTY, json otherwise)
//     bufferingSize: 100                         # lines held before a write (default: write once per event-loop turn)
//     filters:                                   # a line is kept when ANY filter matches (Traefik's rule)
//       statusCodes: ["200-299", "404"]
//       retryAttempts: true
//       minDuration: 10ms
//     fields:
//       defaultMode: keep                        # keep | drop | redact
//       names: { tenant: redact, RequestPath: drop }   # Stampgate or Traefik field names
//       headers:
//         defaultMode: drop
//         names: { User-Agent: keep, Authorization: redact }   # written as request_User-Agent
//     sampling: 0.1                              # Stampgate: share of the kept lines written, 0-1
//
// Differences from Traefik: the default format is JSON (Traefik: common); `format: common` is
// Traefik's CLF line; header fields are the request's (request_*), not origin_/downstream_.
import { Type, type Static } from '@sinclair/typebox';
import { Closed, Duration } from '../../config/schema/common.ts';
import { parseDuration } from '../../config/duration.ts';
import { DROP, FIELDS, FIELD_INDEX, TRAEFIK_FIELD_ALIASES, TRAEFIK_FIELDS_NOT_WRITTEN, fieldMode, type FieldMode, type FieldName } from './access-log-fields.ts';

const Mode = Type.Union([Type.Literal('keep'), Type.Literal('drop'), Type.Literal('redact')]);

export const AccessLogConfig = Closed({
  filePath: Type.Optional(Type.String({ minLength: 1 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('common'), Type.Literal('pretty')])),
  bufferingSize: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Traefik: log the gateway's own endpoints too; Stampgate never passes them to the access log. */
  addInternals: Type.Optional(Type.Boolean()),
  filters: Type.Optional(Closed({
    statusCodes: Type.Optional(Type.Array(Type.String({ pattern: '^[1-9][0-9]{2}(-[1-9][0-9]{2})?$', description: 'a status ("404") or a range ("500-599")' }))),
    retryAttempts: Type.Optional(Type.Boolean()),
    minDuration: Type.Optional(Duration),
  })),
  fields: Type.Optional(Closed({
    defaultMode: Type.Optional(Mode),
    names: Type.Optional(Type.Record(Type.String(), Mode)),
    headers: Type.Optional(Closed({
      defaultMode: Type.Optional(Mode),
      names: Type.Optional(Type.Record(Type.String(), Mode)),
    })),
  })),
  /** Stampgate: the share of kept lines that are written (1: all; 0.1: one in ten, at random). */
  sampling: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
});

export type AccessLogConfig = Static<typeof AccessLogConfig>;

export type AccessLogFormat = 'json' | 'common' | 'pretty';

export interface StatusFilter {
  /** [from, to] pairs, inclusive. */
  readonly ranges: readonly number[];
  readonly retryAttempts: boolean;
  /** 0: no duration filter. */
  readonly minDurationMs: number;
}

export interface HeaderField {
  /** The JSON key: `request_` + the name as configured (or canonical: `User-Agent`). */
  readonly key: string;
  readonly mode: FieldMode;
}

export interface HeaderSelection {
  /** Mode of headers not named; DROP means only `named` headers are read. */
  readonly defaultMode: FieldMode;
  /** By lower-case header name. */
  readonly named: ReadonlyMap<string, HeaderField>;
}

export interface AccessLogSettings {
  readonly format: AccessLogFormat;
  readonly filePath: string | null;
  readonly bufferingSize: number;
  /** null: every request is kept. */
  readonly filter: StatusFilter | null;
  readonly sampling: number;
  /** Mode of each field of FIELDS, by index. */
  readonly modes: Uint8Array;
  /** null: no header is written. */
  readonly headers: HeaderSelection | null;
}

/** Compiles an `accessLog` section; throws an Error naming an unknown field. */
export function resolveAccessLogSettings(config: AccessLogConfig, environment: { isTTY: boolean } = { isTTY: false }): AccessLogSettings {
  const filePath = config.filePath ?? null;
  return {
    format: config.format ?? (filePath === null && environment.isTTY ? 'pretty' : 'json'),
    filePath,
    bufferingSize: config.bufferingSize ?? 0,
    filter: compileFilter(config.filters),
    sampling: config.sampling ?? 1,
    modes: compileModes(config.fields),
    headers: compileHeaders(config.fields?.headers),
  };
}

function compileFilter(filters: AccessLogConfig['filters']): StatusFilter | null {
  if (filters === undefined) return null;
  const ranges: number[] = [];
  for (const text of filters.statusCodes ?? []) {
    const [from, to = from] = text.split('-').map(Number) as [number, number?];
    if (to < from) throw new Error(`accessLog.filters.statusCodes: the range "${text}" ends before it starts`);
    ranges.push(from, to);
  }
  const minDurationMs = filters.minDuration === undefined ? 0 : parseDuration(filters.minDuration);
  const retryAttempts = filters.retryAttempts === true;
  // Traefik: an empty filters section keeps everything.
  if (ranges.length === 0 && !retryAttempts && minDurationMs === 0) return null;
  return { ranges, retryAttempts, minDurationMs };
}

function compileModes(fields: AccessLogConfig['fields']): Uint8Array {
  const modes = new Uint8Array(FIELDS.length).fill(fieldMode(fields?.defaultMode ?? 'keep'));
  for (const [name, mode] of Object.entries(fields?.names ?? {})) {
    const field: FieldName | undefined = name in FIELD_INDEX ? (name as FieldName) : TRAEFIK_FIELD_ALIASES[name];
    if (field === undefined) {
      if (TRAEFIK_FIELDS_NOT_WRITTEN.has(name)) continue;
      throw new Error(`accessLog.fields.names: unknown field "${name}"; the fields are ${FIELDS.join(', ')} (or Traefik's names for them)`);
    }
    modes[FIELD_INDEX[field]] = fieldMode(mode);
  }
  return modes;
}

function compileHeaders(headers: NonNullable<AccessLogConfig['fields']>['headers']): HeaderSelection | null {
  const defaultMode = fieldMode(headers?.defaultMode ?? 'drop');
  const named = new Map<string, HeaderField>();
  for (const [name, mode] of Object.entries(headers?.names ?? {})) named.set(name.toLowerCase(), { key: 'request_' + name, mode: fieldMode(mode) });
  if (defaultMode === DROP && ![...named.values()].some((h) => h.mode !== DROP)) return null;
  return { defaultMode, named };
}

/** `user-agent` → `User-Agent`, as Go (and so Traefik) writes header names. */
export function canonicalHeaderName(lowerCase: string): string {
  return lowerCase.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

