// Schema validation of a parsed config document, with messages a person can act on. Ajv reports what
// failed in schema terms ("must match a schema in anyOf", "must NOT have additional properties"); we
// turn each report into one line: where in the document (`http.routers.web.rule`), what was expected,
// what was found, and the likely intended word for a misspelled key. All errors are returned, not the
// first, so a broken file is fixed in one pass.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import { Duration } from './schema/common.ts';
import { DynamicConfig, Middleware, Service } from './schema/dynamic.ts';
import { StaticConfig } from './schema/static.ts';
import { configIssue, type ConfigIssue, type PathSegment } from './config-error.ts';
import { durationProblem } from './duration.ts';
import { didYouMean } from './suggest.ts';
import { applyTraefikLeniency } from './traefik-compat.ts';
import {
  DYNAMIC_ONLY_ROOT_KEYS,
  STATIC_ONLY_ROOT_KEYS,
  UNSUPPORTED_DYNAMIC,
  UNSUPPORTED_STATIC,
  findUnsupported,
  type UnsupportedTable,
} from './traefik-unsupported.ts';

export { ConfigError, formatIssue, type ConfigIssue } from './config-error.ts';

export type Validation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: ConfigIssue[] };

// verbose: errors carry the failing value and its schema, which the messages quote and inspect.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

interface SchemaContext {
  readonly unsupported?: UnsupportedTable;
  /** Root keys that belong to the other kind of config, and what to say about them. */
  readonly misplaced?: { readonly keys: readonly string[]; readonly detail: (key: string) => string };
}

const contexts = new Map<object, SchemaContext>([
  [
    StaticConfig,
    {
      unsupported: UNSUPPORTED_STATIC,
      misplaced: { keys: DYNAMIC_ONLY_ROOT_KEYS, detail: (key) => `"${key}" belongs in a dynamic configuration file (the one providers.file names), not in the static configuration` },
    },
  ],
  [
    DynamicConfig,
    {
      unsupported: UNSUPPORTED_DYNAMIC,
      misplaced: { keys: STATIC_ONLY_ROOT_KEYS, detail: (key) => `"${key}" belongs in the static configuration, not in a dynamic configuration file` },
    },
  ],
]);

/**
 * Validates a parsed document against a schema (after Traefik's parser leniencies: case-insensitive keys,
 * null values skipped, comma-separated lists). Returns the normalized document typed by the schema, or
 * every problem found.
 */
export function validateDocument<T extends TSchema>(schema: T, document: unknown): Validation<Static<T>> {
  const value = applyTraefikLeniency(schema, document);
  const validate = compile(schema);
  if (validate(value)) return { ok: true, value: value as Static<T> };
  return { ok: false, issues: explainErrors(validate.errors ?? [], value, contexts.get(schema) ?? {}) };
}

export function validateStaticDocument(document: unknown): Validation<StaticConfig> {
  return validateDocument(StaticConfig, document);
}

export function validateDynamicDocument(document: unknown): Validation<DynamicConfig> {
  return validateDocument(DynamicConfig, document);
}

// ---- turning Ajv errors into messages ------------------------------------------------------------

interface SchemaLike {
  readonly type?: unknown;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly patternProperties?: Readonly<Record<string, unknown>>;
  readonly anyOf?: readonly SchemaLike[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
}

/** The "exactly one of" objects, recognised by their description (TypeBox may copy the schema object). */
const EXACTLY_ONE: ReadonlyMap<string | undefined, { readonly noun: string; readonly unknown: string; readonly listKinds: boolean }> = new Map([
  [Middleware.description, { noun: 'middleware kind', unknown: 'middleware', listKinds: false }],
  [Service.description, { noun: 'service kind', unknown: 'service kind', listKinds: true }],
]);

const PATTERN_TEXT: Readonly<Record<string, string>> = {
  '^/': 'a path starting with "/"',
  '^rediss?://': 'a redis:// or rediss:// URL',
};

function explainErrors(errors: readonly ErrorObject[], root: unknown, context: SchemaContext): ConfigIssue[] {
  // A failed union reports every branch's failure and then its own; keep only the union's, explained once.
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const relevant = errors.filter((e) => !unions.some((prefix) => e.schemaPath.startsWith(prefix)));

  // A misspelled required key is reported once, as the unknown key with its suggestion.
  const unknownKeys = new Map<string, Set<string>>();
  for (const e of relevant) {
    if (e.keyword !== 'additionalProperties') continue;
    const set = unknownKeys.get(e.instancePath) ?? new Set<string>();
    set.add(String(e.params['additionalProperty']));
    unknownKeys.set(e.instancePath, set);
  }

  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const push = (segments: readonly PathSegment[], detail: string): void => {
    const issue = configIssue(segments, detail);
    if (seen.has(issue.message)) return;
    seen.add(issue.message);
    issues.push(issue);
  };
  const exactlyOneDone = new Set<string>();

  for (const error of relevant) {
    const segments = instanceSegments(error.instancePath, root);
    const schema = (error.parentSchema ?? {}) as SchemaLike;
    const shape = schemaShape(error.schemaPath);
    const kind = EXACTLY_ONE.get(schema.description);
    if (kind !== undefined && schema.minProperties === 1 && schema.maxProperties === 1 && ['minProperties', 'maxProperties', 'additionalProperties'].includes(error.keyword)) {
      if (exactlyOneDone.has(error.instancePath)) continue;
      exactlyOneDone.add(error.instancePath);
      for (const [keySegments, detail] of explainExactlyOne(segments, error.data, schema, shape, kind, context)) push(keySegments, detail);
      continue;
    }
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(error.params['additionalProperty']);
        push([...segments, key], explainUnknownKey(key, schema, shape, context));
        break;
      }
      case 'required': {
        const missing = String(error.params['missingProperty']);
        const misspelled = [...(unknownKeys.get(error.instancePath) ?? [])].some((key) => didYouMean(key, [missing]) !== '');
        if (!misspelled) push(segments, `missing required key "${missing}"`);
        break;
      }
      case 'type':
        push(segments, `expected ${typeName(String(error.params['type']))}, found ${describeValue(error.data)}`);
        break;
      case 'anyOf':
        push(segments, explainUnion(schema, error.data));
        break;
      case 'pattern': {
        const pattern = String(error.params['pattern']);
        const text = schema.description ?? PATTERN_TEXT[pattern] ?? `a string matching /${pattern}/`;
        push(segments, `expected ${text}, found ${describeValue(error.data)}`);
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        push(segments, `expected ${rangeText(schema)}, found ${describeValue(error.data)}`);
        break;
      case 'minLength':
        push(segments, Number(error.params['limit']) === 1 ? `expected a non-empty string, found ""` : `expected at least ${String(error.params['limit'])} characters, found ${describeValue(error.data)}`);
        break;
      case 'maxLength':
        push(segments, `expected at most ${String(error.params['limit'])} characters, found ${describeValue(error.data)}`);
        break;
      case 'minItems':
        push(segments, Number(error.params['limit']) === 1 ? 'expected at least one item, found none' : `expected at least ${String(error.params['limit'])} items, found ${countOf(error.data)}`);
        break;
      case 'maxItems':
        push(segments, `expected at most ${String(error.params['limit'])} items, found ${countOf(error.data)}`);
        break;
      case 'minProperties':
        push(segments, Number(error.params['limit']) === 1 ? 'expected at least one entry, found none' : `expected at least ${String(error.params['limit'])} entries, found ${countOf(error.data)}`);
        break;
      case 'maxProperties':
        push(segments, `expected at most ${String(error.params['limit'])} entries, found ${countOf(error.data)}`);
        break;
      case 'const':
        push(segments, `expected ${JSON.stringify(error.params['allowedValue'])}, found ${describeValue(error.data)}`);
        break;
      case 'enum': {
        const allowed = (error.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v));
        push(segments, `expected one of ${listText(allowed)}, found ${describeValue(error.data)}`);
        break;
      }
      default:
        push(segments, error.message ?? `failed the "${error.keyword}" check`);
    }
  }
  return issues;
}

function explainExactlyOne(
  segments: readonly PathSegment[],
  data: unknown,
  schema: SchemaLike,
  shape: string,
  kind: { readonly noun: string; readonly unknown: string; readonly listKinds: boolean },
  context: SchemaContext,
): Array<[PathSegment[], string]> {
  const kinds = Object.keys(schema.properties ?? {});
  const keys = typeof data === 'object' && data !== null ? Object.keys(data) : [];
  const known = keys.filter((key) => kinds.includes(key));
  const unknown = keys.filter((key) => !kinds.includes(key));
  const out: Array<[PathSegment[], string]> = [];
  for (const key of unknown) {
    const unsupported = context.unsupported && findUnsupported(context.unsupported, shape, key);
    const detail = unsupported ? unsupportedText(unsupported.group, unsupported.name) : `unknown ${kind.unknown} "${key}"${didYouMean(key, kinds)}`;
    out.push([[...segments, key], detail]);
  }
  const expected = `expected exactly one ${kind.noun}${kind.listKinds ? ` (${listText(kinds, 'or')})` : ''}`;
  if (known.length === 0 && unknown.length === 0) out.push([[...segments], `${expected}, found none`]);
  if (known.length > 1) out.push([[...segments], `${expected}, found ${known.length}: ${known.join(', ')}`]);
  return out;
}

function explainUnknownKey(key: string, schema: SchemaLike, shape: string, context: SchemaContext): string {
  const properties = Object.keys(schema.properties ?? {});
  // A map whose names must match a pattern (entry point names): the key is a bad name, not a bad field.
  if (properties.length === 0 && schema.patternProperties !== undefined) {
    const patterns = Object.keys(schema.patternProperties);
    return `invalid name "${key}": expected a name matching ${patterns.join(' or ')}`;
  }
  const unsupported = context.unsupported && findUnsupported(context.unsupported, shape, key);
  if (unsupported) return unsupportedText(unsupported.group, unsupported.name);
  if (shape === '' && context.misplaced?.keys.some((k) => k.toLowerCase() === key.toLowerCase())) return context.misplaced.detail(key);
  return `unknown key "${key}"${didYouMean(key, properties)}`;
}

function unsupportedText(group: { readonly kind: string; readonly hint?: string }, name: string): string {
  const hint = group.hint === undefined ? '' : ` (${group.hint})`;
  return `Traefik ${group.kind} "${name}" is not supported by Stampgate${hint}`;
}

function explainUnion(schema: SchemaLike, data: unknown): string {
  if (schema.description === Duration.description) {
    const problem = durationProblem(data);
    if (problem !== undefined && (typeof data === 'string' || typeof data === 'number')) return problem.message;
    return `expected ${schema.description}, found ${describeValue(data)}`;
  }
  const branches = schema.anyOf ?? [];
  if (branches.length > 0 && branches.every((b) => b.const !== undefined)) {
    const choices = branches.map((b) => b.const);
    const hint = typeof data === 'string' ? didYouMean(data, choices.filter((c): c is string => typeof c === 'string')) : '';
    return `expected one of ${listText(choices.map((c) => JSON.stringify(c)), 'or')}, found ${describeValue(data)}${hint}`;
  }
  if (schema.description !== undefined) return `expected ${schema.description}, found ${describeValue(data)}`;
  const types = branches.map((b) => typeName(String(b.type)));
  return `expected ${listText(types, 'or')}, found ${describeValue(data)}`;
}

function rangeText(schema: SchemaLike): string {
  const what = schema.type === 'integer' ? 'an integer' : 'a number';
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `${what} from ${schema.minimum} to ${schema.maximum}`;
  const parts: string[] = [];
  if (low !== undefined) parts.push(`${schema.exclusiveMinimum !== undefined ? '>' : '>='} ${low}`);
  if (high !== undefined) parts.push(`${schema.exclusiveMaximum !== undefined ? '<' : '<='} ${high}`);
  return `${what} ${parts.join(' and ')}`;
}

function typeName(type: string): string {
  switch (type) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a map';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return type;
  }
}

/** How a found value reads in a message: strings quoted, scalars as written, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty map' : 'a map';
  return typeof value;
}

function countOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length;
  return 0;
}

function listText(items: readonly string[], conjunction = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1) ?? ''}`;
}

/** The path of a JSON pointer into `root`, with array indexes as numbers. */
function instanceSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      const index = Number(token);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(token);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined;
    }
  }
  return segments;
}

/**
 * Where in the schema an error is, as a shape: `http.middlewares.*` for the object that holds every
 * middleware's definition, `http.services.*.loadBalancer.servers[]` for a server. Used to look up keys
 * by place, whatever the names the user chose.
 */
function schemaShape(schemaPath: string): string {
  const tokens = schemaPath.replace(/^#\/?/, '').split('/').map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
  let shape = '';
  const add = (part: string): void => {
    shape = part === '[]' || shape === '' ? `${shape}${part}` : `${shape}.${part}`;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === 'properties' && i + 1 < tokens.length) add(tokens[++i] ?? '');
    else if (token === 'patternProperties' && i + 1 < tokens.length) {
      i++;
      add('*');
    } else if (token === 'items') add('[]');
    else if ((token === 'anyOf' || token === 'oneOf' || token === 'allOf') && i + 1 < tokens.length) i++;
    else break;
  }
  return shape;
}
