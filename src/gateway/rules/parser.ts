// Recursive descent over the tokens of a rule; see README.md for the grammar. `!` binds tightest,
// then `&&`, then `||`. Only the syntax, matcher names and argument counts are checked here; the
// arguments' values (regexps, IPs, paths) are checked when the rule is compiled (compile.ts).
import { matcherArity, matcherNames, type MatcherName, type MatcherNode, type RuleArgument, type RuleNode } from './ast.ts';
import { RuleSyntaxError } from './errors.ts';
import { describeToken, tokenize, type Token } from './lexer.ts';

/** Deeper nesting than this is refused rather than risking the stack. */
export const maxRuleDepth = 100;

// Traefik accepts each matcher name as written, in lower case, in upper case and capitalised
// (`PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`), and nothing else.
const namesBySpelling = new Map<string, MatcherName>();
for (const name of matcherNames) {
  const lower = name.toLowerCase();
  for (const spelling of [name, lower, name.toUpperCase(), lower.charAt(0).toUpperCase() + lower.slice(1)]) {
    namesBySpelling.set(spelling, name);
  }
}

export function parseRule(rule: string): RuleNode {
  if (typeof rule !== 'string') throw new TypeError('a rule must be a string');
  const tokens = tokenize(rule);
  const parser = new Parser(rule, tokens);
  return parser.parseWhole();
}

class Parser {
  readonly #rule: string;
  readonly #tokens: Token[];
  #at = 0;
  #depth = 0;

  constructor(rule: string, tokens: Token[]) {
    this.#rule = rule;
    this.#tokens = tokens;
  }

  parseWhole(): RuleNode {
    if (this.#peek().kind === 'end') throw this.#error(1, 'rule is empty');
    const node = this.#parseOr();
    const next = this.#peek();
    if (next.kind === ')') throw this.#error(next.column, 'unbalanced parentheses: this ")" has no matching "("');
    if (next.kind !== 'end') throw this.#error(next.column, `expected "&&", "||" or end of rule, found ${describeToken(next)}`);
    return node;
  }

  #parseOr(): RuleNode {
    const first = this.#parseAnd();
    if (this.#peek().kind !== '||') return first;
    const operands: RuleNode[] = [];
    pushFlattened(operands, first, 'or');
    while (this.#peek().kind === '||') {
      this.#at++;
      pushFlattened(operands, this.#parseAnd(), 'or');
    }
    return { kind: 'or', operands, column: first.column };
  }

  #parseAnd(): RuleNode {
    const first = this.#parseUnary();
    if (this.#peek().kind !== '&&') return first;
    const operands: RuleNode[] = [];
    pushFlattened(operands, first, 'and');
    while (this.#peek().kind === '&&') {
      this.#at++;
      pushFlattened(operands, this.#parseUnary(), 'and');
    }
    return { kind: 'and', operands, column: first.column };
  }

  #parseUnary(): RuleNode {
    const token = this.#peek();
    if (token.kind === '!') {
      this.#at++;
      this.#enter(token);
      const operand = this.#parseUnary();
      this.#depth--;
      return { kind: 'not', operand, column: token.column };
    }
    if (token.kind === '(') {
      this.#at++;
      this.#enter(token);
      const inner = this.#parseOr();
      this.#depth--;
      const close = this.#peek();
      if (close.kind === 'end') throw this.#error(token.column, 'unbalanced parentheses: this "(" is never closed');
      if (close.kind !== ')') throw this.#error(close.column, `expected "&&", "||" or ")", found ${describeToken(close)}`);
      this.#at++;
      return inner;
    }
    if (token.kind === 'name') return this.#parseMatcher();
    if (token.kind === ')') throw this.#error(token.column, 'unbalanced parentheses: this ")" has no matching "(" or closes an empty group');
    throw this.#error(token.column, `expected a matcher such as Host(\`...\`), "!" or "(", found ${describeToken(token)}`);
  }

  #parseMatcher(): MatcherNode {
    const nameToken = this.#next();
    const name = namesBySpelling.get(nameToken.value);
    if (name === undefined) throw this.#error(nameToken.column, unknownMatcher(nameToken.value));
    const open = this.#next();
    if (open.kind !== '(') throw this.#error(open.column, `expected "(" after the matcher name ${name}, found ${describeToken(open)}`);
    const arity: readonly number[] = matcherArity[name];
    const maxArity = Math.max(...arity);
    const args: RuleArgument[] = [];
    if (this.#peek().kind === ')') {
      this.#at++;
      throw this.#error(nameToken.column, `${name} takes ${describeArity(arity)}, found none`);
    }
    for (;;) {
      const arg = this.#next();
      if (arg.kind !== 'string') {
        const hint = arg.kind === 'name' ? ' (quote it with backticks)' : '';
        throw this.#error(arg.column, `expected a string argument to ${name} in backticks or double quotes, found ${describeToken(arg)}${hint}`);
      }
      args.push({ value: arg.value, column: arg.column });
      const after = this.#next();
      if (after.kind === ')') break;
      if (after.kind === ',') continue;
      const expected = args.length >= maxArity ? '")"' : '"," or ")"';
      throw this.#error(after.column, `expected ${expected} after the arguments of ${name}, found ${describeToken(after)}`);
    }
    if (!arity.includes(args.length)) {
      // Too many: point at the first argument too many; too few: at the matcher.
      const column = args.length > maxArity ? (args[maxArity] as RuleArgument).column : nameToken.column;
      throw this.#error(column, `${name} takes ${describeArity(arity)}, found ${args.length}`);
    }
    return { kind: 'matcher', name, args, column: nameToken.column };
  }

  #enter(token: Token): void {
    if (++this.#depth > maxRuleDepth) throw this.#error(token.column, `rule nests deeper than ${maxRuleDepth} levels`);
  }

  #peek(): Token {
    // The token list always ends with `end`, and parsing never moves past it.
    return this.#tokens[this.#at] as Token;
  }

  #next(): Token {
    const token = this.#peek();
    if (token.kind !== 'end') this.#at++;
    return token;
  }

  #error(column: number, detail: string): RuleSyntaxError {
    return new RuleSyntaxError(this.#rule, column, detail);
  }
}

function pushFlattened(operands: RuleNode[], node: RuleNode, kind: 'and' | 'or'): void {
  if (node.kind === kind) operands.push(...node.operands);
  else operands.push(node);
}

function describeArity(arity: readonly number[]): string {
  const plural = (n: number): string => (n === 1 ? 'argument' : 'arguments');
  if (arity.length === 1) return `exactly ${arity[0]} ${plural(arity[0] ?? 0)}`;
  return `${arity.join(' or ')} arguments`;
}

function unknownMatcher(name: string): string {
  const lower = name.toLowerCase();
  const near = matcherNames.find((known) => known.toLowerCase() === lower);
  if (near !== undefined) return `unknown matcher "${name}"; did you mean "${near}"?`;
  return `unknown matcher "${name}"; the matchers are ${matcherNames.join(', ')}`;
}
