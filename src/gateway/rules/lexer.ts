// Splits a rule into tokens. Strings follow Go's literals, as Traefik's rules are Go expressions:
// `backticks` are raw (no escapes; carriage returns dropped), "double quotes" take Go's escapes.
import { RuleSyntaxError } from './errors.ts';

export type TokenKind = 'name' | 'string' | '(' | ')' | ',' | '&&' | '||' | '!' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written in the rule (empty for `end`). */
  readonly text: string;
  /** For `string`: the decoded value; for `name`: the name; else the text. */
  readonly value: string;
  /** 1-based column of the token's first character (one past the rule for `end`). */
  readonly column: number;
}

const BACKTICK = 0x60;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

export function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = rule.length;
  while (i < n) {
    const c = rule.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    const column = i + 1;
    if (isNameStart(c)) {
      let end = i + 1;
      while (end < n && isNamePart(rule.charCodeAt(end))) end++;
      const name = rule.slice(i, end);
      tokens.push({ kind: 'name', text: name, value: name, column });
      i = end;
      continue;
    }
    switch (c) {
      case 0x28 /* ( */:
      case 0x29 /* ) */:
      case 0x2c /* , */:
      case 0x21 /* ! */: {
        const text = rule[i] as '(' | ')' | ',' | '!';
        tokens.push({ kind: text, text, value: text, column });
        i++;
        continue;
      }
      case 0x26 /* & */:
      case 0x7c /* | */: {
        const op = c === 0x26 ? '&&' : '||';
        if (rule.charCodeAt(i + 1) !== c) {
          throw new RuleSyntaxError(rule, column, `unexpected character "${rule[i]}"; did you mean "${op}"?`);
        }
        tokens.push({ kind: op, text: op, value: op, column });
        i += 2;
        continue;
      }
      case BACKTICK: {
        const close = rule.indexOf('`', i + 1);
        if (close < 0) throw new RuleSyntaxError(rule, column, 'unterminated string: the backtick is never closed');
        const raw = rule.slice(i + 1, close);
        tokens.push({ kind: 'string', text: rule.slice(i, close + 1), value: raw.includes('\r') ? raw.replaceAll('\r', '') : raw, column });
        i = close + 1;
        continue;
      }
      case DOUBLE_QUOTE: {
        const [value, end] = readQuoted(rule, i);
        tokens.push({ kind: 'string', text: rule.slice(i, end), value, column });
        i = end;
        continue;
      }
      case SINGLE_QUOTE:
        throw new RuleSyntaxError(rule, column, 'unexpected character "\'": quote arguments with backticks or double quotes');
      default: {
        const ch = String.fromCodePoint(rule.codePointAt(i) ?? c);
        throw new RuleSyntaxError(rule, column, `unexpected character ${JSON.stringify(ch)}`);
      }
    }
  }
  tokens.push({ kind: 'end', text: '', value: '', column: n + 1 });
  return tokens;
}

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isNamePart(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

const simpleEscapes: Readonly<Record<string, string>> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"',
};

/** Reads a Go interpreted string literal starting at `start` (the opening quote): [value, end]. */
function readQuoted(rule: string, start: number): [string, number] {
  let value = '';
  // \xHH and octal escapes are bytes in Go; consecutive ones are gathered and read as UTF-8.
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) {
      value += Buffer.from(bytes).toString('utf8');
      bytes = [];
    }
  };
  let i = start + 1;
  for (;;) {
    if (i >= rule.length) throw new RuleSyntaxError(rule, start + 1, 'unterminated string: the double quote is never closed');
    const c = rule.charCodeAt(i);
    if (c === DOUBLE_QUOTE) {
      flush();
      return [value, i + 1];
    }
    if (c === 0x0a) throw new RuleSyntaxError(rule, start + 1, 'unterminated string: a double-quoted string cannot span lines (use backticks)');
    if (c !== BACKSLASH) {
      flush();
      value += rule[i];
      i++;
      continue;
    }
    const escapeColumn = i + 1;
    const e = rule[i + 1];
    if (e === undefined) throw new RuleSyntaxError(rule, start + 1, 'unterminated string: the double quote is never closed');
    const simple = simpleEscapes[e];
    if (simple !== undefined) {
      flush();
      value += simple;
      i += 2;
      continue;
    }
    if (e === 'x' || e === 'u' || e === 'U') {
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = /^[0-9A-Fa-f]*/.exec(rule.slice(i + 2, i + 2 + digits))?.[0] ?? '';
      if (hex.length !== digits) {
        throw new RuleSyntaxError(rule, escapeColumn, `invalid escape "\\${e}${hex}": "\\${e}" takes exactly ${digits} hex digits`);
      }
      const code = Number.parseInt(hex, 16);
      if (e === 'x') {
        bytes.push(code);
      } else {
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
          throw new RuleSyntaxError(rule, escapeColumn, `invalid escape "\\${e}${hex}": not a Unicode code point`);
        }
        flush();
        value += String.fromCodePoint(code);
      }
      i += 2 + digits;
      continue;
    }
    if (e >= '0' && e <= '7') {
      const octal = rule.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(octal) || Number.parseInt(octal, 8) > 255) {
        throw new RuleSyntaxError(rule, escapeColumn, `invalid escape "\\${octal}": octal escapes take exactly 3 digits, at most \\377`);
      }
      bytes.push(Number.parseInt(octal, 8));
      i += 4;
      continue;
    }
    throw new RuleSyntaxError(rule, escapeColumn, `invalid escape "\\${e}" in a double-quoted string (backticks take no escapes)`);
  }
}

/** A token as error messages show it: `"&&"`, `` "`/api`" ``, or `end of rule`. */
export function describeToken(token: Token): string {
  if (token.kind === 'end') return 'end of rule';
  const text = token.text.length > 40 ? `${token.text.slice(0, 37)}...` : token.text;
  return JSON.stringify(text);
}
