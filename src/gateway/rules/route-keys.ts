// What a rule requires of the host and of the path's first segment, for RouterTable's index.
// Each function answers with a set that every request the rule matches must fall in, or
// undefined when it cannot say; being conservative is always correct, the table only uses the
// sets to skip routers that cannot match.
import type { RuleNode } from './ast.ts';

/**
 * Host index keys: the rule matches only requests whose host, trailing dots removed, is in the
 * set (Host is exact but ignores a trailing dot on either side). HostRegexp and negations say
 * nothing; `&&` intersects what its operands say, `||` unites them when all of them say something.
 */
export function requiredHosts(node: RuleNode): Set<string> | undefined {
  switch (node.kind) {
    case 'matcher':
      return node.name === 'Host' ? new Set([hostKey((node.args[0]?.value ?? '').toLowerCase())]) : undefined;
    case 'not':
      return undefined;
    case 'and': {
      let hosts: Set<string> | undefined;
      for (const operand of node.operands) {
        const required = requiredHosts(operand);
        if (required === undefined) continue;
        hosts = hosts === undefined ? required : new Set([...hosts].filter((host) => required.has(host)));
      }
      return hosts;
    }
    case 'or': {
      const hosts = new Set<string>();
      for (const operand of node.operands) {
        const required = requiredHosts(operand);
        if (required === undefined) return undefined;
        for (const host of required) hosts.add(host);
      }
      return hosts;
    }
  }
}

/** A host as the index keys it: without trailing dots. */
export function hostKey(host: string): string {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 0x2e) end--;
  return end === host.length ? host : host.slice(0, end);
}

/**
 * First path segment keys. `exact`: the request's first segment (between the first and second
 * `/`) must be one of these; `prefix`: it must start with one of these. A request path matches
 * the rule only if its first segment fits one of them.
 */
export interface SegmentKeys {
  readonly exact: Set<string>;
  readonly prefix: Set<string>;
}

export function requiredSegments(node: RuleNode): SegmentKeys | undefined {
  switch (node.kind) {
    case 'matcher': {
      if (node.name !== 'Path' && node.name !== 'PathPrefix') return undefined;
      const path = node.args[0]?.value ?? '';
      if (!path.startsWith('/')) return undefined;
      const slash = path.indexOf('/', 1);
      if (slash >= 0 || node.name === 'Path') return { exact: new Set([path.slice(1, slash < 0 ? path.length : slash)]), prefix: new Set() };
      // PathPrefix(`/`) says nothing; PathPrefix(`/api`) also matches `/api-docs`.
      return path.length === 1 ? undefined : { exact: new Set(), prefix: new Set([path.slice(1)]) };
    }
    case 'not':
      return undefined;
    case 'and': {
      // Any operand's keys are required; prefer exact-only ones, then the fewest keys.
      let best: SegmentKeys | undefined;
      for (const operand of node.operands) {
        const keys = requiredSegments(operand);
        if (keys !== undefined && (best === undefined || score(keys) < score(best))) best = keys;
      }
      return best;
    }
    case 'or': {
      const union: SegmentKeys = { exact: new Set(), prefix: new Set() };
      for (const operand of node.operands) {
        const keys = requiredSegments(operand);
        if (keys === undefined) return undefined;
        for (const key of keys.exact) union.exact.add(key);
        for (const key of keys.prefix) union.prefix.add(key);
      }
      return union;
    }
  }
}

function score(keys: SegmentKeys): number {
  return keys.prefix.size * 1000 + keys.exact.size;
}

/** The first segment of a request path (`/api/v1` → `api`), or undefined when it has no leading `/`. */
export function firstSegment(path: string): string | undefined {
  if (path.charCodeAt(0) !== 0x2f) return undefined;
  const slash = path.indexOf('/', 1);
  return path.slice(1, slash < 0 ? path.length : slash);
}
