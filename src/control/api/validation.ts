// Request validation for the admin API. Two Ajv instances: bodies are validated as sent (a string
// is not a number, an unknown field is an error, nothing is removed or coerced), while query strings
// and path parameters, which are text by nature, are coerced to the schema's types. Errors become
// `{ field, message }` pairs that name the field the way a client wrote it.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { patternTexts } from './schemas.ts';

export interface FieldError {
  /** Dotted path of the field in the body, query or path (`capacity`, `labels.region`, `aliases[1]`). */
  field: string;
  message: string;
}

const strictAjv = new Ajv({ allErrors: true, verbose: true, strict: true, coerceTypes: false, removeAdditional: false, useDefaults: false });
const coercingAjv = new Ajv({ allErrors: true, verbose: true, strict: true, coerceTypes: true, removeAdditional: false, useDefaults: false });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
  return ajv.compile(schema as object) as ValidateFunction;
};

interface SchemaLike {
  description?: string;
  properties?: Record<string, unknown>;
  enum?: unknown[];
}

/** `root` names the whole value (`body`, `querystring`) when an error is about it rather than a field. */
export function fieldErrors(errors: readonly ErrorObject[], root = 'body'): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const explained = explain(error, root);
    if (!explained || seen.has(explained.field)) continue;
    seen.add(explained.field);
    out.push(explained);
  }
  return out;
}

function explain(error: ErrorObject, root: string): FieldError | undefined {
  const base = fieldPath(error.instancePath);
  const at = (key: string) => (base === '' ? key : `${base}.${key}`);
  const schema = (error.parentSchema ?? {}) as SchemaLike;
  const params = error.params as Record<string, unknown>;
  // An error inside `propertyNames` is about a key of the object at `base`.
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (error.keyword === 'propertyNames') return undefined;
  if (propertyName !== undefined) return { field: at(propertyName), message: `is not a valid key: ${explainValue(error, schema, params)}` };
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(schema.properties ?? {});
      return { field: at(String(params['additionalProperty'])), message: `is not a known field${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}` };
    }
    case 'required':
      return { field: at(String(params['missingProperty'])), message: 'is required' };
    default:
      return { field: base === '' ? root : base, message: explainValue(error, schema, params) };
  }
}

function explainValue(error: ErrorObject, schema: SchemaLike, params: Record<string, unknown>): string {
  switch (error.keyword) {
    case 'type': {
      const type = String(params['type']);
      return `must be ${type === 'integer' || type === 'object' || type === 'array' ? 'an' : 'a'} ${type}`;
    }
    case 'pattern': {
      const pattern = String(params['pattern']);
      const text = patternTexts[pattern] ?? schema.description;
      return text ? `must be ${text}` : `must match ${pattern}`;
    }
    case 'enum':
      return `must be one of: ${(params['allowedValues'] as unknown[]).map(String).join(', ')}`;
    default:
      return error.message ?? 'is not valid';
  }
}

/** `/labels/region` → `labels.region`; `/aliases/1` → `aliases[1]`. */
function fieldPath(instancePath: string): string {
  if (instancePath === '') return '';
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, segment) => (/^[0-9]+$/.test(segment) ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`), '');
}
