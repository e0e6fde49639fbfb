// Parses an HTTP/1.x response head (status line and header block) from its latin1 text. The
// caller finds where the head ends in its Buffer (findHeadEnd) and hands over that slice only, so
// parsing is one pass over a short string with indexOf and charCodeAt: no regular expressions and
// no lower-casing except for the few header names that decide framing and connection reuse.
//
// Strict where a lenient reading could let a server smuggle or inject: header names must be
// tokens, no whitespace before the colon, no obs-fold, no control byte but HTAB inside a value, a
// Content-Length that is a number and agrees with every other one, never both Content-Length and
// Transfer-Encoding; only SP and HTAB count as whitespace. Bare LF line ends are tolerated.

import { hasToken, trimWhitespace } from './field-syntax.ts';

/** A response head larger than this is refused (UPSTREAM_PROTOCOL). */
export const MAX_HEAD_BYTES = 64 * 1024;

/** One connection's parse result, reused from response to response (rawHeaders is new each time). */
export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and any later 1.x). */
  minorVersion: number;
  /** Flat [name, value, …] as received: latin1, original case, hop-by-hop headers included. */
  rawHeaders: string[];
  /** The Content-Length, or -1 when there is none. */
  contentLength: number;
  /** A Transfer-Encoding header is present. */
  transferEncoding: boolean;
  /** chunked is the final transfer coding (otherwise a body with Transfer-Encoding is close-delimited). */
  chunked: boolean;
  /** Connection: close. */
  connectionClose: boolean;
  /** Connection: keep-alive (what keeps an HTTP/1.0 connection open). */
  connectionKeepAlive: boolean;
  /** Keep-Alive: timeout=N, in seconds; -1 when absent. */
  keepAliveTimeoutS: number;
  /** Why the last parse failed. */
  error: string;
}

export function newResponseHead(): ResponseHead {
  return { statusCode: 0, statusMessage: '', minorVersion: 1, rawHeaders: [], contentLength: -1, transferEncoding: false, chunked: false, connectionClose: false, connectionKeepAlive: false, keepAliveTimeoutS: -1, error: '' };
}

const LF_CR_LF = Buffer.from('\n\r\n', 'latin1');
const LF_LF = Buffer.from('\n\n', 'latin1');

/**
 * Where the head that starts at `start` ends in `buf` (the offset just past its empty line), or -1
 * when its end has not arrived. `from` (≥ start) skips bytes already searched. "\n\r\n" finds both
 * the usual CRLF CRLF and a bare-LF last line; "\n\n" a head with bare LF line ends. When both
 * occur, parseResponseHead still stops at the first empty line.
 */
export function findHeadEnd(buf: Buffer, start: number, from: number): number {
  const searchFrom = from > start ? from : start;
  const crlf = buf.indexOf(LF_CR_LF, searchFrom);
  if (crlf >= 0) return crlf + 3;
  const lf = buf.indexOf(LF_LF, searchFrom);
  return lf >= 0 ? lf + 2 : -1;
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

const SP = 32;
const HTAB = 9;
const CR = 13;
const COLON = 58;
// Any byte but HTAB, LF, CR, visible ASCII, SP and obs-text: the C0 controls and DEL.
const CONTROL_BYTE = /[^\t\n\r\x20-\x7e\x80-\xff]/;

/**
 * Parses the head in `text` (which ends at or after its empty line) into `out`. Returns how many
 * characters (= bytes) the head took, up to and including its empty line; 0 when `text` holds no
 * empty line; -1 when the head is malformed (`out.error` says why).
 */
export function parseResponseHead(text: string, out: ResponseHead): number {
  out.statusCode = 0;
  out.statusMessage = '';
  out.minorVersion = 1;
  out.contentLength = -1;
  out.transferEncoding = false;
  out.chunked = false;
  out.connectionClose = false;
  out.connectionKeepAlive = false;
  out.keepAliveTimeoutS = -1;
  out.error = '';
  const raw: string[] = [];
  out.rawHeaders = raw;

  let eol = text.indexOf('\n');
  if (eol < 0) return 0;
  // Every CR must end a line; `cr` is the next one at or after the line being read.
  let cr = text.indexOf('\r');
  let lineEnd = eol > 0 && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
  if (cr >= 0 && cr < lineEnd) return fail(out, 'a bare CR in the status line');

  // status-line = HTTP-version SP status-code [ SP reason-phrase ]
  if (lineEnd < 12 || !text.startsWith('HTTP/1.', 0)) return fail(out, `not an HTTP/1.x status line: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 40)))}`);
  const minor = text.charCodeAt(7) - 48;
  const d1 = text.charCodeAt(9) - 48;
  const d2 = text.charCodeAt(10) - 48;
  const d3 = text.charCodeAt(11) - 48;
  if (minor < 0 || minor > 9 || text.charCodeAt(8) !== SP || d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9 || (lineEnd > 12 && text.charCodeAt(12) !== SP)) {
    return fail(out, `malformed status line: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 40)))}`);
  }
  out.minorVersion = minor === 0 ? 0 : 1;
  out.statusCode = d1 * 100 + d2 * 10 + d3;
  out.statusMessage = lineEnd > 13 ? text.slice(13, lineEnd) : '';

  let pos = eol + 1;
  for (;;) {
    if (cr >= 0 && cr <= eol) cr = text.indexOf('\r', eol + 1);
    eol = text.indexOf('\n', pos);
    if (eol < 0) return 0;
    lineEnd = eol > pos && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
    if (cr >= 0 && cr < lineEnd) return fail(out, 'a bare CR in a header line');
    if (lineEnd === pos) break; // the empty line: end of the head

    // field-name: a token directly followed by ':'
    let i = pos;
    let c = text.charCodeAt(i);
    while (c < 128 && TOKEN[c] === 1) c = text.charCodeAt(++i);
    if (i === pos) return fail(out, c === SP || c === HTAB ? 'obsolete line folding in the header block' : 'a header line without a name');
    if (c !== COLON || i >= lineEnd) return fail(out, `invalid header name: ${JSON.stringify(text.slice(pos, Math.min(lineEnd, pos + 40)))}`);
    const name = text.slice(pos, i);

    // field-value, without the optional whitespace around it
    let vs = i + 1;
    while (vs < lineEnd && ((c = text.charCodeAt(vs)) === SP || c === HTAB)) vs++;
    let ve = lineEnd;
    while (ve > vs && ((c = text.charCodeAt(ve - 1)) === SP || c === HTAB)) ve--;
    const value = text.slice(vs, ve);
    raw.push(name, value);

    const nameLength = i - pos;
    if (nameLength === 14 || nameLength === 17 || nameLength === 10) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        const length = parseContentLength(value);
        if (length < 0) return fail(out, `invalid Content-Length: ${JSON.stringify(value.slice(0, 40))}`);
        if (out.contentLength !== -1 && out.contentLength !== length) return fail(out, 'differing Content-Length headers');
        out.contentLength = length;
      } else if (lower === 'transfer-encoding') {
        out.transferEncoding = true;
        // The final coding decides; a later header line continues the list.
        const comma = value.lastIndexOf(',');
        out.chunked = trimWhitespace(comma < 0 ? value : value.slice(comma + 1), 0).toLowerCase() === 'chunked';
      } else if (lower === 'connection') {
        readConnection(value, out);
      } else if (lower === 'keep-alive') {
        const timeout = keepAliveTimeout(value);
        if (timeout >= 0) out.keepAliveTimeoutS = timeout;
      }
    }
    pos = eol + 1;
  }

  const consumed = eol + 1;
  // Only HTAB among the control bytes may stand in a head (CR and LF only as line ends, checked
  // above): the forwarder copies these names and values to the client without checking them again.
  const control = text.search(CONTROL_BYTE);
  if (control >= 0 && control < consumed) {
    const code = text.charCodeAt(control);
    return fail(out, code === 0 ? 'a NUL byte in the response head' : `a control byte (0x${code.toString(16).padStart(2, '0')}) in the response head`);
  }
  if (out.transferEncoding) {
    if (out.contentLength !== -1) return fail(out, 'both Transfer-Encoding and Content-Length');
    if (out.minorVersion === 0) return fail(out, 'Transfer-Encoding in an HTTP/1.0 response');
  }
  return consumed;
}

function fail(out: ResponseHead, error: string): number {
  out.error = error;
  return -1;
}

/** The value of a Content-Length header (a list of equal numbers counts as one), or -1. */
export function parseContentLength(value: string): number {
  const n = digits(value, 0, value.length);
  if (n >= 0 || value.indexOf(',') < 0) return n;
  let agreed = -1;
  for (const part of value.split(',')) {
    const trimmed = trimWhitespace(part, 0);
    const each = digits(trimmed, 0, trimmed.length);
    if (each < 0 || (agreed !== -1 && each !== agreed)) return -1;
    agreed = each;
  }
  return agreed;
}

function digits(text: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1; // 15 digits stay below 2^53
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function readConnection(value: string, out: ResponseHead): void {
  const lower = value.toLowerCase();
  if (hasToken(lower, 'close')) out.connectionClose = true;
  if (hasToken(lower, 'keep-alive')) out.connectionKeepAlive = true;
}

/** Keep-Alive: timeout=5, max=100 → 5; -1 when it names no timeout. */
function keepAliveTimeout(value: string): number {
  // The usual form first: what Node and most servers send.
  if (value.startsWith('timeout=')) {
    let end = 8;
    while (end < value.length && value.charCodeAt(end) >= 48 && value.charCodeAt(end) <= 57) end++;
    if (end === value.length || value.charCodeAt(end) === 44 /* , */) return digits(value, 8, end);
  }
  for (const part of value.split(/[,;]/)) {
    const eq = part.indexOf('=');
    if (eq < 0 || trimWhitespace(part.slice(0, eq), 0).toLowerCase() !== 'timeout') continue;
    let number = trimWhitespace(part.slice(eq + 1), 0);
    if (number.length >= 2 && number.startsWith('"') && number.endsWith('"')) number = number.slice(1, -1);
    return digits(number, 0, number.length);
  }
  return -1;
}
