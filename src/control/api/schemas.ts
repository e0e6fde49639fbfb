// The admin API's request and response schemas (TypeBox → JSON Schema): one definition validates
// requests, serializes responses and documents the API in /openapi.json. Every request object is
// closed (additionalProperties: false): an unknown field is a 400 that names it.
import { Type, type Static, type TObject, type TProperties, type ObjectOptions, type TSchema } from '@sinclair/typebox';

function Closed<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** A string enum as `{ type: string, enum }`: one clear error ("must be one of") rather than a union's. */
function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const idPattern = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
const idText = '1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit';
const labelKeyPattern = '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$';
const urlPattern = '^https?://[^\\s]+$';
const instantPattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$';

/** What a value failing each pattern must be, in words (a field's description may say something else). */
export const patternTexts: Readonly<Record<string, string>> = {
  [idPattern]: idText,
  [labelKeyPattern]: '1-63 characters of letters, digits, ".", "_", "/" and "-"',
  [urlPattern]: 'an http:// or https:// URL',
  [instantPattern]: 'an ISO 8601 instant such as 2025-01-31T12:00:00Z',
};

/** Stamp, tenant and token names: safe as DNS labels, file names and database names. */
export const Id = Type.String({ pattern: idPattern, description: idText, examples: ['s1'] });

export const Labels = Type.Record(Type.String(), Type.String({ maxLength: 253 }), {
  propertyNames: { pattern: labelKeyPattern },
  maxProperties: 64,
  description: 'label → value (region, tier, …)',
  examples: [{ region: 'eu' }],
});

const Aliases = Type.Array(Id, { maxItems: 16, uniqueItems: true, description: 'other names a request may use for the stamp (`1` for `s1`)' });
const Url = Type.String({ pattern: urlPattern, maxLength: 2048, description: 'an http:// or https:// URL' });
const Capacity = Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'the most tenants the stamp takes' });
const Version = Type.String({ minLength: 1, maxLength: 64, description: 'the app version the stamp runs' });
const Instant = Type.String({ pattern: instantPattern, description: 'an ISO 8601 instant such as 2025-01-31T12:00:00Z' });

export const stampStates = ['provisioning', 'active', 'draining', 'stopped', 'failed', 'retired'] as const;
export const drivers = ['process', 'docker', 'kubernetes', 'external'] as const;
export const roles = ['admin', 'viewer', 'gateway'] as const;

// ---- requests -------------------------------------------------------------------------------

export const IdParams = Closed({ id: Id });
export const NameParams = Closed({ name: Id });

export const CreateStampBody = Closed({
  id: Id,
  aliases: Type.Optional(Aliases),
  driver: Type.Optional(StringEnum(drivers, { description: 'how the stamp is brought to life (default process); external: its servers run elsewhere at `url`' })),
  url: Type.Optional(Url),
  version: Type.Optional(Version),
  capacity: Type.Optional(Capacity),
  labels: Type.Optional(Labels),
});
export type CreateStampBody = Static<typeof CreateStampBody>;

export const UpdateStampBody = Closed({
  aliases: Type.Optional(Aliases),
  version: Type.Optional(Version),
  capacity: Type.Optional(Capacity),
  labels: Type.Optional(Type.Unsafe<Record<string, string>>({ ...Labels, description: 'replaces the whole label set' })),
});
export type UpdateStampBody = Static<typeof UpdateStampBody>;

export const DrainStampBody = Closed({ reason: Type.Optional(Type.String({ maxLength: 500 })) });
export type DrainStampBody = Static<typeof DrainStampBody>;

export const CreateTenantBody = Closed({
  id: Id,
  stamp: Type.Optional(Type.Unsafe<string>({ ...Id, description: 'place on this stamp (policy explicit)' })),
  policy: Type.Optional(StringEnum(['explicit', 'least-used', 'label'] as const, { description: 'default: explicit with `stamp`, label with `labels`, else least-used' })),
  labels: Type.Optional(Type.Unsafe<Record<string, string>>({ ...Labels, description: 'policy label: the least used active stamp whose labels include all of these' })),
});
export type CreateTenantBody = Static<typeof CreateTenantBody>;

export const MoveTenantBody = Closed({ stamp: Id });
export type MoveTenantBody = Static<typeof MoveTenantBody>;

const Limit = Type.Integer({ minimum: 1, maximum: 1000, description: 'page size (default 100)' });

export const TenantListQuery = Closed({
  stamp: Type.Optional(Type.Unsafe<string>({ ...Id, description: 'only the tenants of this stamp' })),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.Unsafe<string>({ ...Id, description: 'the `next` of the previous page' })),
});
export type TenantListQuery = Static<typeof TenantListQuery>;

export const AuditQuery = Closed({
  targetKind: Type.Optional(StringEnum(['stamp', 'tenant', 'token', 'operation'] as const)),
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 32, examples: ['tenant.move'] })),
  since: Type.Optional(Type.Unsafe<string>({ ...Instant, description: `${Instant.description} (inclusive)` })),
  until: Type.Optional(Type.Unsafe<string>({ ...Instant, description: `${Instant.description} (exclusive)` })),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the `next` of the previous page' })),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const CreateTokenBody = Closed({ name: Id, role: StringEnum(roles, { description: 'admin: everything; viewer: read the API; gateway: read /v1/config only' }) });
export type CreateTokenBody = Static<typeof CreateTokenBody>;

// ---- responses ------------------------------------------------------------------------------

export const Stamp = Type.Object({
  id: Type.String(),
  aliases: Type.Array(Type.String()),
  driver: Type.String(),
  url: Type.String({ description: 'empty until the driver has placed the stamp' }),
  port: Nullable(Type.Integer()),
  dataDir: Nullable(Type.String()),
  state: StringEnum(stampStates),
  stateReason: Type.String({ description: 'why the stamp entered its state' }),
  version: Type.String(),
  capacity: Type.Integer(),
  tenantCount: Type.Integer({ description: 'tenants on the stamp now (its use of `capacity`)' }),
  labels: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const StampList = Type.Object({ items: Type.Array(Stamp) });

export const Tenant = Type.Object({ id: Type.String(), stampId: Type.String(), createdAt: Type.String() });

export const TenantPage = Type.Object({ items: Type.Array(Tenant), next: Nullable(Type.String()) });

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Type.String({ description: 'the token name, or `system`' }),
  action: Type.String(),
  targetKind: Type.String(),
  targetId: Type.String(),
  before: Type.Unknown({ description: 'the target before the change; null when it did not exist' }),
  after: Type.Unknown({ description: 'the target after the change; null when it is gone' }),
  configVersion: Nullable(Type.Integer()),
});

export const AuditPage = Type.Object({ items: Type.Array(AuditEntry), next: Nullable(Type.String()) });

export const Operation = Type.Object({
  id: Type.String(),
  stampId: Type.String(),
  kind: Type.String(),
  state: StringEnum(['running', 'succeeded', 'failed', 'cancelled'] as const),
  steps: Type.Array(Type.Unknown()),
  error: Nullable(Type.String()),
  actor: Type.String(),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
});

export const OperationList = Type.Object({ items: Type.Array(Operation) });

export const TokenInfo = Type.Object({ name: Type.String(), role: StringEnum(roles), createdAt: Type.String(), lastUsedAt: Nullable(Type.String()) });
export const TokenList = Type.Object({ items: Type.Array(TokenInfo) });
export const CreatedToken = Type.Object({ ...TokenInfo.properties, token: Type.String({ description: 'the secret: shown once, never again' }) });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    operationId: Type.Optional(Type.String({ description: 'with operation-in-progress: the running operation' })),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

/** The error answers a route documents, besides its success. */
export function problems(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((s) => [String(s), { ...Problem, description: problemDescriptions[s] ?? 'error' }]));
}

const problemDescriptions: Record<number, string> = {
  400: 'invalid request: `errors` names each field',
  401: 'no token, or an unknown one',
  403: 'the token\'s role may not do this',
  404: 'unknown stamp, tenant, token or operation',
  409: 'conflicts with the current state (capacity, a running operation, …)',
};
