// Traefik reads a file through its own parser (traefik/paerser), which is looser than JSON Schema in
// three ways that real Traefik files rely on. We apply the same leniency before validation, so those
// files run as they are, and nothing else is loosened:
//   - keys match the field names case-insensitively (`LoadBalancer`, `entrypoints`, `passhostheader`:
//     older Traefik docs wrote them so);
//   - a key whose value is null is skipped (`routers:` with every router commented out);
//   - a list of strings may be written as one comma-separated string (`entryPoints: web,websecure`).
// Also, a value of a fixed set that differs only in case is taken as that value (`level: info`, which
// Traefik's logger accepts).
// Names chosen by the user (routers, services, …: the keys of a map) stay case-sensitive, as in Traefik.

/** The subset of JSON Schema (as TypeBox emits it) that this walk needs. */
interface SchemaNode {
  readonly type?: unknown;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly patternProperties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly const?: unknown;
}

/** A copy of `document` with Traefik's leniencies applied along `schema`; the input is not modified. */
export function applyTraefikLeniency(schema: object, document: unknown): unknown {
  if (document === null || document === undefined) return {};
  return normalize(schema as SchemaNode, document);
}

function normalize(schema: SchemaNode | undefined, value: unknown): unknown {
  if (schema === undefined) return value;
  if (Array.isArray(value)) {
    if (schema.type !== 'array') return value;
    return value.map((item) => normalize(schema.items, item));
  }
  if (isPlainObject(value)) {
    if (schema.type !== 'object') return value;
    return normalizeObject(schema, value);
  }
  if (typeof value === 'string') {
    if (schema.type === 'array' && schema.items?.type === 'string') {
      return value.split(',').map((part) => part.trim()).filter((part) => part !== '');
    }
    const choices = constChoices(schema);
    if (choices !== undefined && !choices.includes(value)) {
      const lower = value.toLowerCase();
      const match = choices.filter((choice) => choice.toLowerCase() === lower);
      if (match.length === 1 && match[0] !== undefined) return match[0];
    }
  }
  return value;
}

function normalizeObject(schema: SchemaNode, value: Record<string, unknown>): Record<string, unknown> {
  const properties = schema.properties ?? {};
  const known = Object.keys(properties);
  const present = new Set(Object.keys(value));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null) continue;
    let name = key;
    if (!(key in properties) && known.length > 0) {
      const lower = key.toLowerCase();
      const matches = known.filter((candidate) => candidate.toLowerCase() === lower);
      // Rename only when it is unambiguous and would not overwrite a key written in the canonical case.
      if (matches.length === 1 && matches[0] !== undefined && !present.has(matches[0])) name = matches[0];
    }
    out[name] = normalize(childSchema(schema, name), child);
  }
  return out;
}

const patternCache = new Map<string, RegExp>();

function childSchema(schema: SchemaNode, key: string): SchemaNode | undefined {
  const property = schema.properties?.[key];
  if (property !== undefined) return property;
  for (const [pattern, node] of Object.entries(schema.patternProperties ?? {})) {
    let regexp = patternCache.get(pattern);
    if (regexp === undefined) {
      regexp = new RegExp(pattern, 'u');
      patternCache.set(pattern, regexp);
    }
    if (regexp.test(key)) return node;
  }
  return undefined;
}

function constChoices(schema: SchemaNode): string[] | undefined {
  if (schema.anyOf === undefined || schema.anyOf.length === 0) return undefined;
  const choices: string[] = [];
  for (const branch of schema.anyOf) {
    if (typeof branch.const !== 'string') return undefined;
    choices.push(branch.const);
  }
  return choices;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
