// Go's regexp.ReplaceAllString for the middlewares that take a regex and a replacement
// (replacePathRegex, redirectRegex). The pattern is RE2 syntax, translated by the rule engine's
// compileGoRegexp; the replacement is Go's template syntax, which differs from JavaScript's:
// `$1x` names the group "1x" (empty), `${1}x` is group 1 then "x", `$name` / `${name}` a named
// group, `$$` a dollar, and a malformed reference is kept as text. Both are compiled once, when the
// config is built.
import { compileGoRegexp } from '../rules/regexp.ts';
import { MiddlewareConfigError } from './middleware.ts';

/** Compiles an RE2 pattern or throws a MiddlewareConfigError naming `field` and the pattern. */
export function compilePattern(pattern: string, field: string): RegExp {
  const compiled = compileGoRegexp(pattern);
  if (typeof compiled === 'string') throw new MiddlewareConfigError(`${field}: invalid regular expression ${JSON.stringify(pattern)}: ${compiled}`);
  return compiled;
}

type TemplatePart = string | number | { readonly name: string };

/** Parses a Go replacement template into literal text and group references. */
export function parseGoTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    literal += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.charCodeAt(0) === 0x24 /* $ */) {
      literal += '$';
      rest = rest.slice(1);
      continue;
    }
    const reference = extractReference(rest);
    if (reference === null) {
      literal += '$';
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(reference.part);
    rest = rest.slice(reference.length);
  }
  literal += rest;
  if (literal !== '') parts.push(literal);
  return parts;
}

const namePattern = /^[\p{L}\p{Nd}_]+/u;

function extractReference(text: string): { part: TemplatePart; length: number } | null {
  const brace = text.charCodeAt(0) === 0x7b; /* { */
  const body = brace ? text.slice(1) : text;
  const name = namePattern.exec(body)?.[0];
  if (name === undefined) return null;
  if (brace && body.charCodeAt(name.length) !== 0x7d /* } */) return null;
  const length = name.length + (brace ? 2 : 0);
  // Go reads an all-ASCII-digit name without a leading zero as a group number.
  if (/^(0|[1-9][0-9]{0,7})$/.test(name)) return { part: Number(name), length };
  return { part: { name }, length };
}

/**
 * Go's `regex.ReplaceAllString(input, template)`, with the template and a global copy of the
 * pattern prepared once. The returned function allocates only the result (and the match arrays
 * the RegExp engine builds).
 */
export function goReplaceAll(regex: RegExp, template: string): (input: string) => string {
  const global = new RegExp(regex.source, regex.flags.includes('g') ? regex.flags : regex.flags + 'g');
  const parts = parseGoTemplate(template);
  if (parts.every((part) => typeof part === 'string')) {
    const text = parts.join('');
    const constant = (): string => text;
    return (input) => input.replace(global, constant);
  }
  const probe = new RegExp(`${regex.source}|`, regex.flags.replace('g', '')).exec('');
  const groupCount = probe === null ? 0 : probe.length - 1;
  const hasNamedGroups = probe?.groups !== undefined;
  const replacer = (...args: unknown[]): string => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (typeof part === 'string') {
        out += part;
      } else if (typeof part === 'number') {
        if (part <= groupCount) {
          const value = args[part];
          if (typeof value === 'string') out += value;
        }
      } else if (hasNamedGroups) {
        const groups = args[groupCount + 3] as Record<string, string | undefined>;
        const value = groups[part.name];
        if (value !== undefined) out += value;
      }
    }
    return out;
  };
  return (input) => input.replace(global, replacer);
}
