// Traefik's regexp matchers use Go's RE2 syntax; here they run on JavaScript's RegExp. This turns
// the RE2 forms Traefik users write into their JavaScript equivalents and refuses what either RE2
// would refuse or JavaScript would read differently, so that a rule written for Traefik either
// means the same here or fails to load (README.md lists what differs).
//
// Translated: a `(?flags)` group anywhere (flags i, m, s; `-` to clear) → a `(?flags:...)`
// modifier group up to the end of the enclosing group, reopened after each `|`; `(?P<name>` →
// `(?<name>`; `\A` / `\z` → start / end of text; `\Q...\E` → the escaped literal; `\x{HHHH}` and
// octal escapes; POSIX classes `[[:alpha:]]`; a `]` first in a class (literal in RE2).
// Refused: backreferences and lookaround (not RE2, and the door to catastrophic backtracking),
// `\p{...}` Unicode classes, `\C`, the `U` (ungreedy) flag, escapes RE2 does not know.

/** A compiled RegExp, or the problem with the pattern as a sentence. */
export function compileGoRegexp(pattern: string): RegExp | string {
  let source: string;
  try {
    source = translateGoRegexp(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  try {
    // No flags: `g`/`y` would make test() stateful, and `u` rejects escapes like `\-` that RE2 accepts.
    return new RegExp(source);
  } catch (error) {
    const message = (error as Error).message;
    return message.slice(message.lastIndexOf(': ') + 2);
  }
}

const posixClasses: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

// Escapes whose meaning RE2 and JavaScript share (besides punctuation, always literal in both).
const sharedEscapes = new Set(['a', 'f', 't', 'n', 'r', 'v', 'd', 'D', 's', 'S', 'w', 'W', 'b', 'B']);

interface Group {
  /** `(?flags)` settings opened inside this group, each now an open `(?flags:` to close. */
  readonly modifiers: string[];
}

export function translateGoRegexp(pattern: string): string {
  let out = '';
  const groups: Group[] = [{ modifiers: [] }];
  const current = (): Group => groups[groups.length - 1] as Group;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const [text, end] = translateEscape(pattern, i, false);
      out += text;
      i = end;
    } else if (c === '[') {
      const [text, end] = translateClass(pattern, i);
      out += text;
      i = end;
    } else if (c === '(') {
      if (pattern[i + 1] !== '?') {
        groups.push({ modifiers: [] });
        out += '(';
        i++;
        continue;
      }
      const rest = pattern.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        throw new Error(`lookaround "(?${rest.slice(0, rest[0] === '<' ? 2 : 1)}" is not supported (RE2 has none)`);
      }
      if (rest.startsWith('P<') || rest.startsWith('<')) {
        groups.push({ modifiers: [] });
        out += '(?<';
        i += rest.startsWith('P<') ? 4 : 3;
        continue;
      }
      if (rest.startsWith(':')) {
        groups.push({ modifiers: [] });
        out += '(?:';
        i += 3;
        continue;
      }
      const flags = /^([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])/.exec(rest);
      if (flags === null || flags[1] === '' || flags[1] === '-') throw new Error(`invalid or unsupported group syntax "(?${rest.slice(0, 3)}"`);
      const setting = flags[1] as string;
      const unknown = setting.replace(/[ims-]/g, '');
      if (unknown.includes('U')) throw new Error('the U (ungreedy) flag is not supported; write lazy quantifiers such as *? instead');
      if (unknown !== '') throw new Error(`unknown regexp flag "${unknown[0]}" in "(?${setting}"`);
      out += `(?${setting}:`;
      if (flags[2] === ':') groups.push({ modifiers: [] });
      else current().modifiers.push(setting);
      i += 2 + setting.length + 1;
    } else if (c === ')') {
      const group = current();
      out += ')'.repeat(group.modifiers.length);
      if (groups.length > 1) groups.pop();
      out += ')';
      i++;
    } else if (c === '|') {
      const modifiers = current().modifiers;
      out += `${')'.repeat(modifiers.length)}|${modifiers.map((setting) => `(?${setting}:`).join('')}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out + ')'.repeat(current().modifiers.length);
}

/** Translates the escape at `start` (a backslash): [JavaScript text, index after it]. */
function translateEscape(pattern: string, start: number, inClass: boolean): [string, number] {
  const e = pattern[start + 1];
  if (e === undefined) throw new Error('trailing backslash at the end of the pattern');
  if (sharedEscapes.has(e)) {
    // In a class, \b is a backspace in JavaScript but refused by RE2.
    if (inClass && (e === 'b' || e === 'B')) throw new Error(`invalid escape "\\${e}" in a character class`);
    return [`\\${e}`, start + 2];
  }
  if (!/[a-zA-Z0-9]/.test(e)) return [`\\${e}`, start + 2];
  if (e >= '1' && e <= '9' && !/[0-7]/.test(pattern[start + 2] ?? '')) {
    throw new Error(`backreference "\\${e}" is not supported (RE2 has none)`);
  }
  if (e >= '0' && e <= '7') {
    const octal = /^[0-7]{1,3}/.exec(pattern.slice(start + 1))?.[0] ?? e;
    return [codeUnitEscape(Number.parseInt(octal, 8)), start + 1 + octal.length];
  }
  switch (e) {
    case 'x': {
      const braced = /^\{([0-9A-Fa-f]+)\}/.exec(pattern.slice(start + 2));
      if (braced !== null) {
        const code = Number.parseInt(braced[1] as string, 16);
        if (code > 0xffff) throw new Error(`"\\x{${braced[1]}}" is beyond the Basic Multilingual Plane, which is not supported`);
        return [codeUnitEscape(code), start + 2 + braced[0].length];
      }
      const hex = pattern.slice(start + 2, start + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`invalid escape "\\x${hex}"`);
      return [`\\x${hex}`, start + 4];
    }
    case 'A':
    case 'z':
      if (inClass) throw new Error(`invalid escape "\\${e}" in a character class`);
      return [e === 'A' ? '(?<![\\s\\S])' : '(?![\\s\\S])', start + 2];
    case 'Q': {
      const end = pattern.indexOf('\\E', start + 2);
      const literal = pattern.slice(start + 2, end < 0 ? pattern.length : end);
      return [literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), end < 0 ? pattern.length : end + 2];
    }
    case 'p':
    case 'P':
      throw new Error(`Unicode class "\\${e}" is not supported`);
    default:
      throw new Error(`invalid escape "\\${e}"`);
  }
}

function codeUnitEscape(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Translates the character class opening at `start`: [JavaScript text, index after it]. */
function translateClass(pattern: string, start: number): [string, number] {
  let i = start + 1;
  let out = '[';
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  // RE2 reads a `]` right after `[` or `[^` as a literal; JavaScript would close an empty class.
  if (pattern[i] === ']') {
    out += '\\]';
    i++;
  }
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === ']') return [`${out}]`, i + 1];
    if (c === '\\') {
      const [text, end] = translateEscape(pattern, i, true);
      out += text;
      i = end;
      continue;
    }
    if (c === '[' && pattern[i + 1] === ':') {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
      if (posix !== null) {
        const range = posixClasses[posix[2] as string];
        if (range === undefined) throw new Error(`unknown POSIX class "[:${posix[2]}:]"`);
        if (posix[1] === '^') throw new Error(`negated POSIX class "[:^${posix[2]}:]" is not supported`);
        out += range;
        i += posix[0].length;
        continue;
      }
    }
    // A `[` inside a class is literal in both; escape it so JavaScript's future `v` mode agrees.
    out += c === '[' ? '\\[' : c;
    i++;
  }
  throw new Error('missing closing ]');
}
