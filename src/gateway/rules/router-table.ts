// The compiled routers of one config version, in priority order, with an index so that matching
// a request tries only the routers that can match it instead of all of them:
//
//   host (trailing dots removed) ──Map──► the routers that require that host      ┐ merged in
//   every request ─────────────────────► the routers with no Host requirement    ┘ priority order
//
// and inside each of those two lists, when it is long, the same again on the path's first
// segment (`/api/...` → `api`) for routers that require Path or PathPrefix. The lists hold
// routers in priority order; matching walks the (at most four) lists of a request like a merge,
// by rank, and returns the first router whose full matcher accepts the request, which is exactly
// the router a linear scan in priority order would return.
import type { RuleNode } from './ast.ts';
import { compileRuleNode, type RuleMatcher } from './compile.ts';
import { RuleSyntaxError } from './errors.ts';
import type { RuleInput } from './input.ts';
import { parseRule } from './parser.ts';
import { compareRouters, routerPriority } from './priority.ts';
import { firstSegment, hostKey, requiredHosts, requiredSegments, type SegmentKeys } from './route-keys.ts';

export interface RouterDefinition {
  readonly name: string;
  readonly rule: string;
  /** Unset or 0: the rule's length (Traefik). */
  readonly priority?: number | undefined;
}

export interface CompiledRouter {
  readonly name: string;
  readonly rule: string;
  /** The effective priority (the rule's length when none was given). */
  readonly priority: number;
  readonly matcher: RuleMatcher;
}

interface Entry extends CompiledRouter {
  /** Position in priority order: lower is tried first. */
  readonly rank: number;
  readonly segments: SegmentKeys | undefined;
}

/** Lists at most this long are scanned whole rather than indexed by path segment. */
const segmentIndexThreshold = 8;
const none: readonly Entry[] = [];

export class RouterTable {
  /** Every router, in the order they are tried. */
  readonly routers: readonly CompiledRouter[];
  readonly #byHost: Map<string, CandidateList>;
  readonly #anyHost: CandidateList;

  /** Compiles every rule; throws the first RuleSyntaxError (naming its router) or a duplicate name. */
  constructor(definitions: Iterable<RouterDefinition>) {
    const compiled: Array<CompiledRouter & { readonly node: RuleNode }> = [];
    const names = new Set<string>();
    for (const definition of definitions) {
      if (names.has(definition.name)) throw new Error(`duplicate router name ${JSON.stringify(definition.name)}`);
      names.add(definition.name);
      let node: RuleNode;
      let matcher: RuleMatcher;
      try {
        node = parseRule(definition.rule);
        matcher = compileRuleNode(node, definition.rule);
      } catch (error) {
        throw error instanceof RuleSyntaxError ? error.forRouter(definition.name) : error;
      }
      compiled.push({ name: definition.name, rule: definition.rule, priority: routerPriority(definition.rule, definition.priority), matcher, node });
    }
    compiled.sort(compareRouters);

    const byHost = new Map<string, Entry[]>();
    const anyHost: Entry[] = [];
    const routers: CompiledRouter[] = [];
    compiled.forEach((router, rank) => {
      const entry: Entry = { name: router.name, rule: router.rule, priority: router.priority, matcher: router.matcher, rank, segments: requiredSegments(router.node) };
      routers.push(entry);
      const hosts = requiredHosts(router.node);
      if (hosts === undefined) {
        anyHost.push(entry);
        return;
      }
      // An empty set: hosts required by `&&` that no host satisfies at once; it never matches.
      for (const host of hosts) {
        const list = byHost.get(host);
        if (list === undefined) byHost.set(host, [entry]);
        else list.push(entry);
      }
    });
    this.routers = routers;
    this.#byHost = new Map([...byHost].map(([host, entries]) => [host, new CandidateList(entries)]));
    this.#anyHost = new CandidateList(anyHost);
  }

  /** The name of the first router, in priority order, whose rule matches the request. */
  match(input: RuleInput): string | undefined {
    return this.matchRouter(input)?.name;
  }

  /** The first router, in priority order, whose rule matches the request. */
  matchRouter(input: RuleInput): CompiledRouter | undefined {
    let host = input.host;
    if (host.charCodeAt(host.length - 1) === 0x2e) host = hostKey(host);
    const byHost = this.#byHost.get(host);
    const anyHost = this.#anyHost;
    if (byHost === undefined && !anyHost.indexed) return firstMatch(input, anyHost.unkeyed);
    if (byHost !== undefined && !byHost.indexed && anyHost.unkeyed.length === 0 && !anyHost.indexed) {
      return firstMatch(input, byHost.unkeyed);
    }
    const segment = (byHost?.indexed ?? false) || anyHost.indexed ? firstSegment(input.path) : undefined;
    return mergedFirstMatch(
      input,
      byHost === undefined ? none : byHost.unkeyed,
      byHost === undefined ? none : byHost.keyed(segment),
      anyHost.unkeyed,
      anyHost.keyed(segment),
    );
  }
}

/**
 * Routers in rank order, split into those that any path may match (`unkeyed`) and, when the list
 * is long, those reached through the path's first segment.
 */
class CandidateList {
  readonly unkeyed: readonly Entry[];
  readonly indexed: boolean;
  /** Every key, exact or prefix: its exact routers and the prefix routers whose keys start it. */
  readonly #bySegment = new Map<string, Entry[]>();
  /** Prefix keys only, with the same lists. */
  readonly #byPrefix = new Map<string, Entry[]>();
  /** Distinct lengths of the prefix keys, longest first. */
  readonly #prefixLengths: number[] = [];

  constructor(entries: readonly Entry[]) {
    const keyed = entries.filter((entry) => entry.segments !== undefined);
    this.indexed = entries.length > segmentIndexThreshold && keyed.length > 0;
    if (!this.indexed) {
      this.unkeyed = entries;
      return;
    }
    this.unkeyed = entries.filter((entry) => entry.segments === undefined);
    const exact = new Map<string, Set<Entry>>();
    const prefix = new Map<string, Set<Entry>>();
    const add = (map: Map<string, Set<Entry>>, key: string, entry: Entry): void => {
      const set = map.get(key);
      if (set === undefined) map.set(key, new Set([entry]));
      else set.add(entry);
    };
    for (const entry of keyed) {
      for (const key of entry.segments?.exact ?? []) add(exact, key, entry);
      for (const key of entry.segments?.prefix ?? []) add(prefix, key, entry);
    }
    this.#prefixLengths = [...new Set([...prefix.keys()].map((key) => key.length))].sort((a, b) => b - a);
    for (const key of new Set([...exact.keys(), ...prefix.keys()])) {
      const members = new Set(exact.get(key));
      for (const length of this.#prefixLengths) {
        if (length > key.length) continue;
        for (const entry of prefix.get(key.slice(0, length)) ?? []) members.add(entry);
      }
      const list = [...members].sort((a, b) => a.rank - b.rank);
      this.#bySegment.set(key, list);
      if (prefix.has(key)) this.#byPrefix.set(key, list);
    }
  }

  /** The keyed routers that a request whose path has this first segment may match. */
  keyed(segment: string | undefined): readonly Entry[] {
    if (!this.indexed || segment === undefined) return none;
    const list = this.#bySegment.get(segment);
    if (list !== undefined) return list;
    // Not a key itself: the longest prefix key that starts it holds every prefix router that can
    // match (all such keys start one another), plus some exact ones that cannot; they fail their matcher.
    for (const length of this.#prefixLengths) {
      if (length >= segment.length) continue;
      const byPrefix = this.#byPrefix.get(segment.slice(0, length));
      if (byPrefix !== undefined) return byPrefix;
    }
    return none;
  }
}

function firstMatch(input: RuleInput, list: readonly Entry[]): CompiledRouter | undefined {
  for (let i = 0; i < list.length; i++) {
    const entry = list[i] as Entry;
    if (entry.matcher(input)) return entry;
  }
  return undefined;
}

/** Walks four rank-ordered lists as one, in rank order, and returns the first entry that matches. */
function mergedFirstMatch(input: RuleInput, a: readonly Entry[], b: readonly Entry[], c: readonly Entry[], d: readonly Entry[]): CompiledRouter | undefined {
  let ia = 0;
  let ib = 0;
  let ic = 0;
  let id = 0;
  for (;;) {
    let best: Entry | undefined;
    let from = 0;
    let candidate = ia < a.length ? a[ia] : undefined;
    if (candidate !== undefined) {
      best = candidate;
      from = 1;
    }
    candidate = ib < b.length ? b[ib] : undefined;
    if (candidate !== undefined && (best === undefined || candidate.rank < best.rank)) {
      best = candidate;
      from = 2;
    }
    candidate = ic < c.length ? c[ic] : undefined;
    if (candidate !== undefined && (best === undefined || candidate.rank < best.rank)) {
      best = candidate;
      from = 3;
    }
    candidate = id < d.length ? d[id] : undefined;
    if (candidate !== undefined && (best === undefined || candidate.rank < best.rank)) {
      best = candidate;
      from = 4;
    }
    if (best === undefined) return undefined;
    if (from === 1) ia++;
    else if (from === 2) ib++;
    else if (from === 3) ic++;
    else id++;
    if (best.matcher(input)) return best;
  }
}
