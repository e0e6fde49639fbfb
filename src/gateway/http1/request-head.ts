// Parses an HTTP/1.1 request head (request line and header block) from the bytes a client sent.
// Strict on purpose: a gateway in front of other servers must not read a request differently from
// them (request smuggling), so anything ambiguous is refused with the status RFC 9112 asks for,
// and the caller answers it and closes the connection.
import type { IncomingHttpHeaders } from 'node:http';
import { hasToken, isFieldValue, isRequestTarget, isToken, trimWhitespace } from './field-syntax.ts';

export interface RequestHead {
  method: string;
  /** The request target exactly as sent (origin-form for ordinary requests). */
  target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  versionMinor: number;
  /** Flat [name, value, …] in the order and case received; values without surrounding whitespace. */
  rawHeaders: string[];
  /** Lower-case names; repeated headers combined as node:http does (see `combine`). */
  headers: IncomingHttpHeaders;
  /** Body framing: -1 none, else the declared Content-Length. Chunked bodies set `chunked` instead. */
  contentLength: number;
  chunked: boolean;
  /** Connection: close (or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** An Upgrade header with `Connection: upgrade`: the connection becomes a tunnel after the head. */
  upgrade: boolean;
  /** Expect: 100-continue. */
  expectContinue: boolean;
}

export class RequestHeadError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const CONTENT_LENGTH = /^\d{1,15}$/;

// Headers node:http keeps only the first of (a second one is ignored), and those it combines otherwise.
const FIRST_ONLY = new Set(['content-type', 'user-agent', 'referer', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/**
 * Parses `head` (the latin1 text of the bytes before the blank line, without it). Throws a
 * RequestHeadError with the status to answer.
 */
export function parseRequestHead(head: string): RequestHead {
  let lineEnd = head.indexOf('\r\n');
  const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  const firstSpace = requestLine.indexOf(' ');
  const lastSpace = requestLine.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw new RequestHeadError(400, 'bad-request-line', 'the request line must be "METHOD target HTTP/1.1"');
  const method = requestLine.slice(0, firstSpace);
  const target = requestLine.slice(firstSpace + 1, lastSpace);
  const version = requestLine.slice(lastSpace + 1);
  if (!isToken(method)) throw new RequestHeadError(400, 'bad-request-line', 'the request method is not a token');
  if (!isRequestTarget(target)) throw new RequestHeadError(400, 'bad-request-line', 'the request target is empty or holds whitespace or control characters');
  let versionMinor: number;
  if (version === 'HTTP/1.1') versionMinor = 1;
  else if (version === 'HTTP/1.0') versionMinor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new RequestHeadError(505, 'http-version-not-supported', `${version} is not supported; use HTTP/1.1`);
  else throw new RequestHeadError(400, 'bad-request-line', 'the request line must end with the protocol version (HTTP/1.1)');

  const rawHeaders: string[] = [];
  const headers: IncomingHttpHeaders = {};
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connection: string | null = null;
  let sawHost = false;
  let expect: string | null = null;
  while (lineEnd >= 0) {
    const start = lineEnd + 2;
    lineEnd = head.indexOf('\r\n', start);
    const line = lineEnd < 0 ? head.slice(start) : head.slice(start, lineEnd);
    const colon = line.indexOf(':');
    if (colon <= 0) {
      const folded = line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09;
      throw new RequestHeadError(400, 'bad-header', folded ? 'folded header lines (obs-fold) are not accepted' : `a header line has no name and colon: ${JSON.stringify(line.slice(0, 60))}`);
    }
    const name = line.slice(0, colon);
    if (!isToken(name)) throw new RequestHeadError(400, 'bad-header', `the header name ${JSON.stringify(name.slice(0, 60))} is not a token (no spaces before the colon)`);
    const value = trimWhitespace(line, colon + 1);
    if (!isFieldValue(value)) throw new RequestHeadError(400, 'bad-header', `the value of header ${name} holds a control character`);
    rawHeaders.push(name, value);
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        if (sawHost) throw new RequestHeadError(400, 'bad-header', 'the request carries more than one Host header');
        sawHost = true;
        headers.host = value;
        continue;
      case 'content-length': {
        if (!CONTENT_LENGTH.test(value)) throw new RequestHeadError(400, 'bad-content-length', `Content-Length ${JSON.stringify(value.slice(0, 30))} is not a number`);
        const length = Number(value);
        if (contentLength >= 0 && contentLength !== length) throw new RequestHeadError(400, 'bad-content-length', 'the request carries two different Content-Length values');
        contentLength = length;
        headers['content-length'] = value;
        continue;
      }
      case 'transfer-encoding':
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
        headers['transfer-encoding'] = transferEncoding;
        continue;
      case 'connection':
        connection = connection === null ? value : `${connection}, ${value}`;
        headers.connection = connection;
        continue;
      case 'expect':
        expect = value;
        break;
      case '__proto__':
        continue; // kept in rawHeaders (forwarded), never a key of the object
    }
    combine(headers, lower, value);
  }

  let chunked = false;
  if (transferEncoding !== null) {
    if (contentLength >= 0) throw new RequestHeadError(400, 'length-conflict', 'the request carries both Content-Length and Transfer-Encoding');
    if (versionMinor === 0) throw new RequestHeadError(400, 'bad-transfer-encoding', 'Transfer-Encoding is not allowed in an HTTP/1.0 request');
    const codings = transferEncoding.toLowerCase().split(',');
    if (trimWhitespace(codings[codings.length - 1]!, 0) !== 'chunked') throw new RequestHeadError(400, 'bad-transfer-encoding', `the request body must be chunked last; found Transfer-Encoding ${JSON.stringify(transferEncoding.slice(0, 60))}`);
    for (let i = 0; i < codings.length - 1; i++) {
      const coding = trimWhitespace(codings[i]!, 0);
      if (coding === 'chunked') throw new RequestHeadError(400, 'bad-transfer-encoding', 'chunked is applied twice');
    }
    chunked = true;
  }
  const connectionLower = connection === null ? '' : connection.toLowerCase();
  const close = versionMinor === 0 ? !hasToken(connectionLower, 'keep-alive') : hasToken(connectionLower, 'close');
  const upgrade = headers.upgrade !== undefined && hasToken(connectionLower, 'upgrade');
  return {
    method,
    target,
    versionMinor,
    rawHeaders,
    headers,
    contentLength,
    chunked,
    close,
    upgrade,
    expectContinue: expect !== null && expect.toLowerCase() === '100-continue',
  };
}

function combine(headers: IncomingHttpHeaders, lower: string, value: string): void {
  const prior = Object.hasOwn(headers, lower) ? headers[lower] : undefined;
  if (prior === undefined) {
    headers[lower] = lower === 'set-cookie' ? [value] : value;
  } else if (lower === 'set-cookie') {
    (prior as string[]).push(value);
  } else if (!FIRST_ONLY.has(lower)) {
    headers[lower] = `${prior as string}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
}
