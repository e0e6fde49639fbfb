// The syntax tree of a rule. `&&` and `||` are n-ary (the parser flattens `a && (b && c)` into one
// `and` of three operands: both operators are associative, and flat operand lists compile into
// tighter loops and make the router table's Host/Path index simpler to compute).

/** The matchers of Traefik v3's HTTP rule syntax, with the argument counts each accepts. */
export const matcherArity = {
  Host: [1],
  HostRegexp: [1],
  Path: [1],
  PathPrefix: [1],
  PathRegexp: [1],
  Method: [1],
  Header: [2],
  HeaderRegexp: [2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
  ClientIP: [1],
} as const satisfies Record<string, readonly number[]>;

export type MatcherName = keyof typeof matcherArity;

export const matcherNames: readonly MatcherName[] = Object.keys(matcherArity) as MatcherName[];

export interface RuleArgument {
  /** The string's value, quotes removed and (for double quotes) escapes resolved. */
  readonly value: string;
  /** 1-based column of the opening quote. */
  readonly column: number;
}

export interface MatcherNode {
  readonly kind: 'matcher';
  /** Canonical spelling, whatever case variant the rule used (`host` → `Host`). */
  readonly name: MatcherName;
  readonly args: readonly RuleArgument[];
  /** 1-based column of the matcher's name. */
  readonly column: number;
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: RuleNode;
  /** 1-based column of the `!`. */
  readonly column: number;
}

export interface AndNode {
  readonly kind: 'and';
  /** Two or more operands, none of them an `and`. */
  readonly operands: readonly RuleNode[];
  /** 1-based column where the first operand starts. */
  readonly column: number;
}

export interface OrNode {
  readonly kind: 'or';
  /** Two or more operands, none of them an `or`. */
  readonly operands: readonly RuleNode[];
  /** 1-based column where the first operand starts. */
  readonly column: number;
}

export type RuleNode = MatcherNode | NotNode | AndNode | OrNode;
