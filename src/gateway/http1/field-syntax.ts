// RFC 9110/9112 syntax checks shared by the request parser, the response writer and the upstream
// client: what may stand in a method or header name, a header value, and a request target.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space, tab and obs-text; never CR, LF, NUL or another control byte.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// No whitespace or control bytes: they would let two parsers split the request line differently.
const REQUEST_TARGET = /^[\x21-\x7e\x80-\xff]+$/;

/** A method or header name: one or more token characters. */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/** A header value (or reason phrase) that cannot end a line or smuggle a byte a parser refuses. */
export function isFieldValue(text: string): boolean {
  return FIELD_VALUE.test(text);
}

/** A non-empty request target without whitespace or control bytes. */
export function isRequestTarget(text: string): boolean {
  return REQUEST_TARGET.test(text);
}

/** Whether a comma-separated, lower-cased list holds `token`. */
export function hasToken(list: string, token: string): boolean {
  if (list === '') return false;
  if (list === token) return true;
  for (const item of list.split(',')) if (trimWhitespace(item, 0) === token) return true;
  return false;
}

/**
 * `text` from `start`, without the spaces and tabs around it: HTTP's optional whitespace, and only
 * that. String.prototype.trim also strips VT, FF and NBSP, which would accept `chunked\v` where a
 * stricter server behind the gateway reads something else.
 */
export function trimWhitespace(text: string, start: number): string {
  let from = start;
  let to = text.length;
  while (from < to && isWhitespace(text.charCodeAt(from))) from++;
  while (to > from && isWhitespace(text.charCodeAt(to - 1))) to--;
  return from === 0 && to === text.length ? text : text.slice(from, to);
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
