// The router rule language (Traefik v3 syntax): parse, print, compile to matchers, route.
export type { AndNode, MatcherName, MatcherNode, NotNode, OrNode, RuleArgument, RuleNode } from './ast.ts';
export { matcherArity, matcherNames } from './ast.ts';
export { compileRule, compileRuleNode, type RuleMatcher } from './compile.ts';
export { RuleSyntaxError } from './errors.ts';
export { queryParamsOf, ruleInput, type RuleInput } from './input.ts';
export { maxRuleDepth, parseRule } from './parser.ts';
export { printRule, quoteArgument } from './print.ts';
export { compareRouters, defaultPriority, routerPriority } from './priority.ts';
export { parseQuery, type QueryParams } from './query.ts';
export { compileGoRegexp } from './regexp.ts';
export { RouterTable, type CompiledRouter, type RouterDefinition } from './router-table.ts';
