// Building blocks shared by the static and dynamic config schemas. Every object is closed
// (additionalProperties: false) so that a key Stampgate does not support is an error that names it,
// never silently ignored.
import { Type, type TObject, type TProperties, type ObjectOptions } from '@sinclair/typebox';

/** A closed object: unknown keys are rejected. */
export function Closed<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/**
 * Traefik durations: a Go duration string ("10s", "1m30s", "250ms", ".5s", "1μs" with either mu), a string of
 * digits (seconds: Traefik's paerser reads "10" as 10s), or a number of seconds. `parseDuration` in
 * ../duration.ts turns any of them into milliseconds.
 */
export const Duration = Type.Union([Type.String({ pattern: '^([0-9]+|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$' }), Type.Number({ minimum: 0 })], {
  description: 'a duration such as "10s", "250ms", "1m30s", or a number of seconds',
});

export const HttpUrl = Type.String({ pattern: '^https?://', description: 'an http:// or https:// URL' });

export const StringList = Type.Array(Type.String());

export const StringMap = Type.Record(Type.String(), Type.String());

/** Where a per-client limit takes its key from (Traefik's sourceCriterion), plus Stampgate's tenant key. */
export const SourceCriterion = Closed({
  ipStrategy: Type.Optional(Closed({ depth: Type.Optional(Type.Integer({ minimum: 0 })), excludedIPs: Type.Optional(StringList) })),
  requestHeaderName: Type.Optional(Type.String({ minLength: 1 })),
  requestHost: Type.Optional(Type.Boolean()),
  /** Stampgate: key by the tenant the request carries (after stamp selection or a jwt claim). */
  tenant: Type.Optional(Type.Boolean()),
});

export const StampOrTenantId = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', description: '1-63 characters of [a-z0-9-]' });
