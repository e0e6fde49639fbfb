// Prints a syntax tree back as a rule, with only the parentheses the precedence needs, so that
// parseRule(printRule(ast)) gives back the same tree (columns aside).
import type { RuleNode } from './ast.ts';

export function printRule(node: RuleNode): string {
  switch (node.kind) {
    case 'matcher':
      return `${node.name}(${node.args.map((arg) => quoteArgument(arg.value)).join(', ')})`;
    case 'not': {
      const inner = printRule(node.operand);
      return node.operand.kind === 'and' || node.operand.kind === 'or' ? `!(${inner})` : `!${inner}`;
    }
    case 'and':
      return node.operands.map((operand) => (operand.kind === 'or' ? `(${printRule(operand)})` : printRule(operand))).join(' && ');
    case 'or':
      return node.operands.map((operand) => printRule(operand)).join(' || ');
  }
}

/** Backticks when the value allows (no backtick, no carriage return), else a Go double-quoted string. */
export function quoteArgument(value: string): string {
  if (!value.includes('`') && !value.includes('\r')) return `\`${value}\``;
  let quoted = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') quoted += `\\${ch}`;
    else if (ch === '\n') quoted += '\\n';
    else if (ch === '\r') quoted += '\\r';
    else if (ch === '\t') quoted += '\\t';
    else if (code < 0x20 || code === 0x7f) quoted += `\\x${code.toString(16).padStart(2, '0')}`;
    else quoted += ch;
  }
  return `${quoted}"`;
}
