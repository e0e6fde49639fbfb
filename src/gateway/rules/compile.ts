// Compiles a rule into one closure per node, once per config version: every regexp, lower-cased
// name and IP block list is built here, so matching a request builds nothing (the query, if a
// Query matcher asks, is parsed once per request, see input.ts).
import { BlockList, isIP } from 'node:net';
import type { MatcherNode, RuleArgument, RuleNode } from './ast.ts';
import { RuleSyntaxError } from './errors.ts';
import { queryParamsOf, type RuleInput } from './input.ts';
import { parseRule } from './parser.ts';
import { compileGoRegexp } from './regexp.ts';

export type RuleMatcher = (input: RuleInput) => boolean;

/** Parses and compiles a rule; throws RuleSyntaxError, with the column, for anything wrong in it. */
export function compileRule(rule: string): RuleMatcher {
  return compileRuleNode(parseRule(rule), rule);
}

/** Compiles a parsed rule; `rule` is its text, for the errors' columns. */
export function compileRuleNode(node: RuleNode, rule: string): RuleMatcher {
  switch (node.kind) {
    case 'matcher':
      return compileMatcher(node, rule);
    case 'not': {
      const operand = compileRuleNode(node.operand, rule);
      return (input) => !operand(input);
    }
    case 'and':
      return compileAnd(node.operands.map((operand) => compileRuleNode(operand, rule)));
    case 'or':
      return compileOr(node.operands.map((operand) => compileRuleNode(operand, rule)));
  }
}

// Two and three operands get their own closures (the common shapes); more loop over an array.
function compileAnd(operands: RuleMatcher[]): RuleMatcher {
  const [a, b, c] = operands as [RuleMatcher, RuleMatcher, RuleMatcher | undefined];
  if (operands.length === 2) return (input) => a(input) && b(input);
  if (operands.length === 3 && c !== undefined) return (input) => a(input) && b(input) && c(input);
  const count = operands.length;
  return (input) => {
    for (let i = 0; i < count; i++) if (!(operands[i] as RuleMatcher)(input)) return false;
    return true;
  };
}

function compileOr(operands: RuleMatcher[]): RuleMatcher {
  const [a, b, c] = operands as [RuleMatcher, RuleMatcher, RuleMatcher | undefined];
  if (operands.length === 2) return (input) => a(input) || b(input);
  if (operands.length === 3 && c !== undefined) return (input) => a(input) || b(input) || c(input);
  const count = operands.length;
  return (input) => {
    for (let i = 0; i < count; i++) if ((operands[i] as RuleMatcher)(input)) return true;
    return false;
  };
}

function compileMatcher(node: MatcherNode, rule: string): RuleMatcher {
  const fail = (arg: RuleArgument, detail: string): never => {
    throw new RuleSyntaxError(rule, arg.column, detail);
  };
  for (const arg of node.args) {
    if (arg.value.length === 0) fail(arg, `empty argument to ${node.name}`);
  }
  const first = node.args[0] as RuleArgument;
  const second = node.args[1];
  const regexp = (arg: RuleArgument): RegExp => {
    const compiled = compileGoRegexp(arg.value);
    return typeof compiled === 'string' ? fail(arg, `invalid regular expression ${JSON.stringify(arg.value)} in ${node.name}: ${compiled}`) : compiled;
  };
  switch (node.name) {
    case 'Host':
      if (!isAscii(first.value)) fail(first, `Host argument ${JSON.stringify(first.value)} has non-ASCII characters; write the domain in punycode (xn--...)`);
      return hostMatcher(first.value.toLowerCase());
    case 'HostRegexp': {
      if (!isAscii(first.value)) fail(first, `HostRegexp argument ${JSON.stringify(first.value)} has non-ASCII characters; write the domain in punycode (xn--...)`);
      const re = regexp(first);
      return (input) => re.test(input.host);
    }
    case 'Path': {
      const path = requireSlash(first, 'Path', fail);
      return (input) => input.path === path;
    }
    case 'PathPrefix': {
      const prefix = requireSlash(first, 'PathPrefix', fail);
      return (input) => input.path.startsWith(prefix);
    }
    case 'PathRegexp': {
      const re = regexp(first);
      return (input) => re.test(input.path);
    }
    case 'Method': {
      const method = first.value.toUpperCase();
      return (input) => input.method === method || equalsIgnoringAsciiCase(input.method, method);
    }
    case 'Header': {
      const name = first.value.toLowerCase();
      const value = (second as RuleArgument).value;
      return (input) => {
        const received = input.headers[name];
        if (received === undefined) return false;
        if (typeof received === 'string') return received === value;
        for (let i = 0; i < received.length; i++) if (received[i] === value) return true;
        return false;
      };
    }
    case 'HeaderRegexp': {
      const name = first.value.toLowerCase();
      const re = regexp(second as RuleArgument);
      return (input) => {
        const received = input.headers[name];
        if (received === undefined) return false;
        if (typeof received === 'string') return re.test(received);
        for (let i = 0; i < received.length; i++) if (re.test(received[i] as string)) return true;
        return false;
      };
    }
    case 'Query':
      return queryMatcher(first.value, second?.value ?? '');
    case 'QueryRegexp': {
      // One argument: the same as Query(key), a parameter present with an empty value (Traefik).
      if (second === undefined) return queryMatcher(first.value, '');
      const key = first.value;
      const re = regexp(second);
      return (input) => {
        if (input.query.length === 0) return false;
        const values = queryParamsOf(input).get(key);
        if (values === undefined) return false;
        for (let i = 0; i < values.length; i++) if (re.test(values[i] as string)) return true;
        return false;
      };
    }
    case 'ClientIP':
      return clientIpMatcher(first, fail);
  }
}

/** Traefik's Host: exact, lower case, a trailing dot on either side ignored. */
function hostMatcher(host: string): RuleMatcher {
  const withoutDot = host.endsWith('.') ? host.slice(0, -1) : undefined;
  const dotted = host.length + 1;
  return (input) => {
    const received = input.host;
    if (received === host) return true;
    if (received.length === 0) return false;
    if (received === withoutDot) return true;
    return received.length === dotted && received.charCodeAt(host.length) === 0x2e && received.startsWith(host);
  };
}

function queryMatcher(key: string, value: string): RuleMatcher {
  return (input) => {
    if (input.query.length === 0) return false;
    const values = queryParamsOf(input).get(key);
    return values !== undefined && values.includes(value);
  };
}

type Fail = (arg: RuleArgument, detail: string) => never;

function clientIpMatcher(arg: RuleArgument, fail: Fail): RuleMatcher {
  const text = arg.value;
  const invalid = (why: string): never => fail(arg, `invalid IP address or CIDR ${JSON.stringify(text)} in ClientIP: ${why}`);
  const list = new BlockList();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) invalid(`${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(address, type);
  } else {
    const bits = text.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > max) invalid(`the prefix length must be a number from 0 to ${max}`);
    list.addSubnet(address, Number(bits), type);
  }
  return (input) => {
    const ip = input.clientIp;
    try {
      return list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  };
}

function requireSlash(arg: RuleArgument, name: string, fail: Fail): string {
  if (!arg.value.startsWith('/')) fail(arg, `${name} argument ${JSON.stringify(arg.value)} must start with "/"`);
  return arg.value;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** ASCII case-insensitive equality of `received` with `upper`, already upper case. */
function equalsIgnoringAsciiCase(received: string, upper: string): boolean {
  if (received.length !== upper.length) return false;
  for (let i = 0; i < received.length; i++) {
    let c = received.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}
