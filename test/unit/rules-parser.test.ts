import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compileRule,
  matcherArity,
  matcherNames,
  maxRuleDepth,
  parseRule,
  printRule,
  quoteArgument,
  RuleSyntaxError,
  type MatcherName,
  type RuleNode,
} from '../../src/gateway/rules/index.ts';

/** A tree without columns, for comparing shapes. */
type Shape =
  | { kind: 'matcher'; name: MatcherName; args: string[] }
  | { kind: 'not'; operand: Shape }
  | { kind: 'and' | 'or'; operands: Shape[] };

function shape(node: RuleNode): Shape {
  switch (node.kind) {
    case 'matcher':
      return { kind: 'matcher', name: node.name, args: node.args.map((arg) => arg.value) };
    case 'not':
      return { kind: 'not', operand: shape(node.operand) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map(shape) };
  }
}

/** Shapes are nodes without columns; printRule reads no column, so a shape prints as is. */
function toNode(s: Shape): RuleNode {
  switch (s.kind) {
    case 'matcher':
      return { kind: 'matcher', name: s.name, args: s.args.map((value) => ({ value, column: 0 })), column: 0 };
    case 'not':
      return { kind: 'not', operand: toNode(s.operand), column: 0 };
    default:
      return { kind: s.kind, operands: s.operands.map(toNode), column: 0 };
  }
}

const m = (name: MatcherName, ...args: string[]): Shape => ({ kind: 'matcher', name, args });
const not = (operand: Shape): Shape => ({ kind: 'not', operand });
const and = (...operands: Shape[]): Shape => ({ kind: 'and', operands });
const or = (...operands: Shape[]): Shape => ({ kind: 'or', operands });

const H = m('Host', 'a.com');
const P = m('PathPrefix', '/api');
const M = m('Method', 'GET');

const parses: Array<[string, Shape]> = [
  ['Host(`a.com`)', H],
  ['  Host( `a.com` )  ', H],
  ['Host("a.com")', H],
  ['host(`a.com`)', H],
  ['HOST(`a.com`)', H],
  ['pathprefix(`/api`)', P],
  ['PATHPREFIX(`/api`)', P],
  ['Pathprefix(`/api`)', P],
  ['Host(`a.com`) && PathPrefix(`/api`)', and(H, P)],
  ['Host(`a.com`)&&PathPrefix(`/api`)||Method(`GET`)', or(and(H, P), M)],
  ['Host(`a.com`) || PathPrefix(`/api`) && Method(`GET`)', or(H, and(P, M))],
  ['(Host(`a.com`) || PathPrefix(`/api`)) && Method(`GET`)', and(or(H, P), M)],
  ['!Host(`a.com`) && PathPrefix(`/api`)', and(not(H), P)],
  ['!(Host(`a.com`) && PathPrefix(`/api`))', not(and(H, P))],
  ['!!Host(`a.com`)', not(not(H))],
  ['! ( Host(`a.com`) )', not(H)],
  ['((Host(`a.com`)))', H],
  ['Host(`a.com`) && (PathPrefix(`/api`) && Method(`GET`))', and(H, P, M)],
  ['(Host(`a.com`) && PathPrefix(`/api`)) && Method(`GET`)', and(H, P, M)],
  ['Host(`a.com`) || (PathPrefix(`/api`) || Method(`GET`))', or(H, P, M)],
  ['Host(`a.com`) && PathPrefix(`/api`) && !Method(`DELETE`)', and(H, P, not(m('Method', 'DELETE')))],
  ['Header(`X-Tenant`, `acme`)', m('Header', 'X-Tenant', 'acme')],
  ['Query(`mobile`)', m('Query', 'mobile')],
  ['Query(`mobile`, "true")', m('Query', 'mobile', 'true')],
  ['QueryRegexp(`mobile`)', m('QueryRegexp', 'mobile')],
  ['Host(`a.com`)\n\t&& Path(`/x`)\r\n', and(H, m('Path', '/x'))],
];

test('parseRule builds the tree with Traefik precedence: ! over && over ||', () => {
  for (const [rule, expected] of parses) {
    assert.deepEqual(shape(parseRule(rule)), expected, rule);
  }
});

test('strings: backticks are raw, double quotes take Go escapes', () => {
  const arg = (rule: string): string => {
    const node = parseRule(rule);
    assert.equal(node.kind, 'matcher');
    return node.kind === 'matcher' ? (node.args[0]?.value ?? '') : '';
  };
  assert.equal(arg('PathRegexp(`^/a\\.b$`)'), '^/a\\.b$');
  assert.equal(arg('PathRegexp("^/a\\\\.b$")'), '^/a\\.b$');
  assert.equal(arg('Path("/q\\"uote")'), '/q"uote');
  assert.equal(arg('Path("/\\t\\n\\r\\a\\b\\f\\v")'), '/\t\n\r\x07\b\f\v');
  assert.equal(arg('Path("/\\x41\\101\\u00e9\\U0001F600")'), '/AAé😀');
  assert.equal(arg('Path("/\\xc3\\xa9")'), '/é', 'byte escapes are read as UTF-8');
  assert.equal(arg('Path("/it\'s")'), "/it's");
  assert.equal(arg('Path(`/a"b`)'), '/a"b');
  assert.equal(arg('Path(`/a\r\nb`)'), '/a\nb', 'Go drops carriage returns from raw strings');
  assert.equal(arg('Path(`/ünï`)'), '/ünï');
});

test('nodes carry 1-based columns of their source', () => {
  const node = parseRule('Host(`a`) && !Path("/b")');
  assert.equal(node.kind, 'and');
  if (node.kind !== 'and') return;
  const [host, negated] = node.operands;
  assert.equal(node.column, 1);
  assert.equal(host?.column, 1);
  assert.equal(host?.kind === 'matcher' ? host.args[0]?.column : -1, 6);
  assert.equal(negated?.column, 14);
  assert.equal(negated?.kind === 'not' ? negated.operand.column : -1, 15);
  assert.equal(negated?.kind === 'not' && negated.operand.kind === 'matcher' ? negated.operand.args[0]?.column : -1, 20);
});

// [rule, column, detail]. Parse errors and value errors (found when compiling) alike.
const errors: Array<[string, number, string | RegExp]> = [
  ['', 1, 'rule is empty'],
  ['  \n ', 1, 'rule is empty'],
  ['Host(`shop.example.com`) && PathPrefix(`/api` && Method(`GET`)', 47, 'expected ")" after the arguments of PathPrefix, found "&&"'],
  ['Query(`a` Path(`/`))', 11, 'expected "," or ")" after the arguments of Query, found "Path"'],
  ['Host(`a`', 9, 'expected ")" after the arguments of Host, found end of rule'],
  ['Hots(`a`)', 1, /^unknown matcher "Hots"; the matchers are Host, HostRegexp, /],
  ['Host(`a`) && pathPrefix(`/a`)', 14, 'unknown matcher "pathPrefix"; did you mean "PathPrefix"?'],
  ['Headers(`a`, `b`)', 1, /^unknown matcher "Headers"/],
  ['Host(`a`, `b`)', 11, 'Host takes exactly 1 argument, found 2'],
  ['PathPrefix(`/a`, `/b`)', 18, 'PathPrefix takes exactly 1 argument, found 2'],
  ['Method(`GET`, `POST`)', 15, 'Method takes exactly 1 argument, found 2'],
  ['ClientIP(`::1`, `10.0.0.1`)', 17, 'ClientIP takes exactly 1 argument, found 2'],
  ['Header(`a`)', 1, 'Header takes exactly 2 arguments, found 1'],
  ['HeaderRegexp(`a`, `b`, `c`)', 24, 'HeaderRegexp takes exactly 2 arguments, found 3'],
  ['Query(`a`, `b`, `c`)', 17, 'Query takes 1 or 2 arguments, found 3'],
  ['Host()', 1, 'Host takes exactly 1 argument, found none'],
  ['Host', 5, 'expected "(" after the matcher name Host, found end of rule'],
  ['Host `a`', 6, 'expected "(" after the matcher name Host, found "`a`"'],
  ['Host(a)', 6, 'expected a string argument to Host in backticks or double quotes, found "a" (quote it with backticks)'],
  ['Host(`a`,)', 10, 'expected a string argument to Host in backticks or double quotes, found ")"'],
  ["Host('a')", 6, 'unexpected character "\'": quote arguments with backticks or double quotes'],
  ['(Host(`a`)', 1, 'unbalanced parentheses: this "(" is never closed'],
  ['((Host(`a`) || Path(`/`))', 1, 'unbalanced parentheses: this "(" is never closed'],
  ['Host(`a`))', 10, 'unbalanced parentheses: this ")" has no matching "("'],
  ['()', 2, /^unbalanced parentheses: this "\)" has no matching "\(" or closes an empty group/],
  ['(Host(`a`) Path(`/`))', 12, 'expected "&&", "||" or ")", found "Path"'],
  ['Host(`a`) Path(`/`)', 11, 'expected "&&", "||" or end of rule, found "Path"'],
  ['Host(`a`) &&', 13, 'expected a matcher such as Host(`...`), "!" or "(", found end of rule'],
  ['&& Host(`a`)', 1, 'expected a matcher such as Host(`...`), "!" or "(", found "&&"'],
  ['Host(`a`) && || Path(`/`)', 14, 'expected a matcher such as Host(`...`), "!" or "(", found "||"'],
  ['!', 2, 'expected a matcher such as Host(`...`), "!" or "(", found end of rule'],
  ['Host(`a`) & Path(`/`)', 11, 'unexpected character "&"; did you mean "&&"?'],
  ['Host(`a`) | Path(`/`)', 11, 'unexpected character "|"; did you mean "||"?'],
  ['Host(`a`) and Path(`/`)', 11, 'expected "&&", "||" or end of rule, found "and"'],
  ['Host(`a`) ; Path(`/`)', 11, 'unexpected character ";"'],
  ['Host(`a.com) && Path(/)', 6, 'unterminated string: the backtick is never closed'],
  // The backtick closes at Path's, and what follows cannot start a token.
  ['Host(`a.com) && Path(`/`)', 23, 'unexpected character "/"'],
  ['Host("a.com) && Path(`/`)', 6, 'unterminated string: the double quote is never closed'],
  ['Host("a\nb")', 6, 'unterminated string: a double-quoted string cannot span lines (use backticks)'],
  ['Path("/\\q")', 8, 'invalid escape "\\q" in a double-quoted string (backticks take no escapes)'],
  ['Path("/\\x4")', 8, 'invalid escape "\\x4": "\\x" takes exactly 2 hex digits'],
  ['Path("/\\uD800")', 8, 'invalid escape "\\uD800": not a Unicode code point'],
  ['Path("/\\400")', 8, 'invalid escape "\\400": octal escapes take exactly 3 digits, at most \\377'],
  ['Host(``)', 6, 'empty argument to Host'],
  ['Header(`X-A`, ``)', 15, 'empty argument to Header'],
  ['Query(`a`, "")', 12, 'empty argument to Query'],
  ['Host(`bücher.example`)', 6, 'Host argument "bücher.example" has non-ASCII characters; write the domain in punycode (xn--...)'],
  ['HostRegexp(`^bü`)', 12, /^HostRegexp argument "\^bü" has non-ASCII characters/],
  ['Path(`api`)', 6, 'Path argument "api" must start with "/"'],
  ['Host(`a`) && PathPrefix(`api`)', 25, 'PathPrefix argument "api" must start with "/"'],
  ['PathRegexp(`/(a`)', 12, 'invalid regular expression "/(a" in PathRegexp: Unterminated group'],
  ['Host(`a`) || HostRegexp(`[a-`)', 25, /^invalid regular expression "\[a-" in HostRegexp: /],
  ['HeaderRegexp(`X-A`, `*a`)', 21, 'invalid regular expression "*a" in HeaderRegexp: Nothing to repeat'],
  ['QueryRegexp(`k`, `a)`)', 18, /^invalid regular expression "a\)" in QueryRegexp: /],
  ['PathRegexp(`(a)\\1`)', 12, 'invalid regular expression "(a)\\\\1" in PathRegexp: backreference "\\1" is not supported (RE2 has none)'],
  ['PathRegexp(`a(?=b)`)', 12, /lookaround "\(\?=" is not supported/],
  ['PathRegexp(`(?U)a+`)', 12, /the U \(ungreedy\) flag is not supported/],
  ['PathRegexp(`\\pL`)', 12, /Unicode class "\\p" is not supported/],
  ['ClientIP(`10.0.0.300`)', 10, 'invalid IP address or CIDR "10.0.0.300" in ClientIP: "10.0.0.300" is not an IPv4 or IPv6 address'],
  ['ClientIP(`10.0.0.0/33`)', 10, 'invalid IP address or CIDR "10.0.0.0/33" in ClientIP: the prefix length must be a number from 0 to 32'],
  ['ClientIP(`fe80::/129`)', 10, /the prefix length must be a number from 0 to 128$/],
  ['ClientIP(`10.0.0.0/`)', 10, /the prefix length must be/],
  ['ClientIP(`10.0.0.0/08`)', 10, /the prefix length must be/],
  ['ClientIP(`localhost`)', 10, /"localhost" is not an IPv4 or IPv6 address$/],
  ['ClientIP(`fe80::1%eth0`)', 10, /is not an IPv4 or IPv6 address$/],
];

test('every error names its column and says what is wrong', () => {
  for (const [rule, column, detail] of errors) {
    assert.throws(
      () => compileRule(rule),
      (error: unknown) => {
        assert.ok(error instanceof RuleSyntaxError, `${rule}: ${String(error)}`);
        assert.equal(error.column, column, `column for ${JSON.stringify(rule)}: ${error.message}`);
        if (typeof detail === 'string') assert.equal(error.detail, detail, rule);
        else assert.match(error.detail, detail, rule);
        assert.equal(error.message, `rule column ${column}: ${error.detail}`);
        assert.equal(error.rule, rule);
        return true;
      },
    );
  }
});

test('errors: the message has the form of the design, and forRouter names the router', () => {
  const error = new RuleSyntaxError('Host(', 6, 'expected a string');
  assert.equal(error.message, 'rule column 6: expected a string');
  assert.equal(error.name, 'RuleSyntaxError');
  const named = error.forRouter('shop');
  assert.equal(named.message, 'router "shop": rule column 6: expected a string');
  assert.equal(named.router, 'shop');
  assert.equal(named.column, 6);
});

test('nesting deeper than maxRuleDepth is refused, not a stack overflow', () => {
  const deep = `${'('.repeat(maxRuleDepth + 1)}Host(\`a\`)${')'.repeat(maxRuleDepth + 1)}`;
  assert.throws(() => parseRule(deep), (error: unknown) => error instanceof RuleSyntaxError && /nests deeper/.test(error.detail));
  const ok = `${'('.repeat(maxRuleDepth)}Host(\`a\`)${')'.repeat(maxRuleDepth)}`;
  assert.deepEqual(shape(parseRule(ok)), m('Host', 'a'));
  assert.throws(() => parseRule(`${'!'.repeat(maxRuleDepth + 1)}Host(\`a\`)`), RuleSyntaxError);
});

test('printRule writes only the parentheses precedence needs', () => {
  assert.equal(printRule(toNode(and(or(H, P), M))), '(Host(`a.com`) || PathPrefix(`/api`)) && Method(`GET`)');
  assert.equal(printRule(toNode(or(and(H, P), M))), 'Host(`a.com`) && PathPrefix(`/api`) || Method(`GET`)');
  assert.equal(printRule(toNode(not(or(H, P)))), '!(Host(`a.com`) || PathPrefix(`/api`))');
  assert.equal(printRule(toNode(not(not(H)))), '!!Host(`a.com`)');
  assert.equal(printRule(toNode(m('Header', 'X-A', 'b'))), 'Header(`X-A`, `b`)');
  assert.equal(quoteArgument('a`b'), '"a`b"');
  assert.equal(quoteArgument('a"\\\n\r\t\x01'), '"a\\"\\\\\\n\\r\\t\\x01"');
});

// Any tree the parser can produce: and/or with two or more operands, none of their own kind.
const argument = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('`', '"', '\\', '\r', '\n', '`"\\', ')', '&&', '\x7f'),
);
const matcherShape: fc.Arbitrary<Shape> = fc
  .constantFrom(...matcherNames)
  .chain((name) => fc.constantFrom(...(matcherArity[name] as readonly number[])).chain((count) => fc.array(argument, { minLength: count, maxLength: count }).map((args) => m(name, ...args))));
const flatten = (kind: 'and' | 'or', operands: Shape[]): Shape => ({
  kind,
  operands: operands.flatMap((operand) => (operand.kind === kind ? operand.operands : [operand])),
});
const { tree } = fc.letrec<{ tree: Shape; not: Shape; and: Shape; or: Shape }>((tie) => ({
  tree: fc.oneof({ maxDepth: 4, depthSize: 'small' }, matcherShape, tie('not'), tie('and'), tie('or')),
  not: tie('tree').map(not),
  and: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }).map((operands) => flatten('and', operands)),
  or: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }).map((operands) => flatten('or', operands)),
}));

test('property: parsing a printed tree gives the same tree back', () => {
  fc.assert(
    fc.property(tree, (t) => {
      const printed = printRule(toNode(t));
      assert.deepEqual(shape(parseRule(printed)), t, printed);
    }),
    { numRuns: 200 },
  );
});

test('property: printing is a fixed point after one parse (canonical form)', () => {
  fc.assert(
    fc.property(tree, (t) => {
      const once = printRule(toNode(t));
      assert.equal(printRule(parseRule(once)), once);
    }),
    { numRuns: 100 },
  );
});
