// forwardAuth: asks an authentication server about each request, as Traefik v3 does. The auth
// request is a GET to `address` (Traefik's, without preserveRequestMethod) carrying the client's
// headers (only those of `authRequestHeaders` when it is set; never hop-by-hop ones, Host or
// Content-Length) and X-Forwarded-For/-Method/-Proto/-Host/-Uri describing the original request
// (its method goes in X-Forwarded-Method).
//
// - A 2xx answer lets the request go on: the headers named in `authResponseHeaders`, then those
//   matching `authResponseHeadersRegex` (RE2 syntax, matched against Go's canonical names such as
//   X-Auth-User; request headers that match are removed first), replace the request's on the way
//   upstream; cookies of the answer named in `addAuthCookiesToResponse` are set on the response
//   (replacing the upstream's of the same name).
// - Any other answer is the client's answer: the auth server's status, headers (less hop-by-hop
//   ones) and body. A relative Location is resolved against `address`, unless
//   `preserveLocationHeader` keeps it as sent.
// - `trustForwardHeader`: the client's own X-Forwarded-* values are sent instead of the gateway's
//   (X-Forwarded-For extended), when the entrypoint trusts the peer as well (its
//   forwardedHeaders), as in Traefik, whose entrypoint strips them from untrusted peers first.
// - `forwardBody`: the request body is read, up to `maxBodySize` bytes, and sent with the auth
//   request. The upstream still gets the same body: the bytes read are put back at the front of
//   the request stream (`unshift`, before the stream's end is signalled), so whoever reads the
//   request next reads it whole, and they are also handed to the forwarder as
//   `exchange.bufferedBody`, so that a retry can send them again. Without forwardBody the body is
//   never touched.
//
// The auth server is reached through an undici Pool (keep-alive) with timeouts: connect 2s,
// response head 10s, body 10s. An unreachable auth server is a 503 problem, a timeout a 504, any
// other failure (or an answer over 1 MiB) a 502; Traefik answers 500.
//
// Deviations from Traefik: a body over maxBodySize is a 413 problem (Traefik: 401), and when
// forwardBody is on without maxBodySize the limit is 1 MiB (Traefik: none; -1 still means none, as
// in Traefik); the X-Forwarded-Port the client sent is passed only under trustForwardHeader.
//
//   http.middlewares.sso.forwardAuth: { address: "http://auth:9091/verify", authResponseHeaders: [X-Auth-User] }
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { addResponseHook, setUpstreamHeader, type Exchange, type Handler, type ResponseHook } from '../pipeline/exchange.ts';
import { connectionListed } from '../proxy/hop-by-hop.ts';
import { isToken } from '../http1/field-syntax.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { pathAndQuery } from './redirect.ts';
import { compilePattern } from './regexp-replace.ts';

export type ForwardAuthConfig = NonNullable<MiddlewareConfig['forwardAuth']>;

/** How long the gateway waits for the auth server. */
export interface ForwardAuthTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

export const defaultForwardAuthTimeouts: ForwardAuthTimeouts = { connectMs: 2000, headersMs: 10_000, bodyMs: 10_000 };

const defaultMaxBodyBytes = 1024 * 1024;
const maxAuthAnswerBytes = 1024 * 1024;

// Traefik's hop-by-hop list for the auth request: Proxy-Authorization is sent on (RFC 7235 §4.4).
const notToAuthServer = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']);
const forwardedNames = new Set(['x-forwarded-for', 'x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri', 'x-forwarded-port']);
const notToClient = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);
const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

interface AuthAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function forwardAuth(config: ForwardAuthConfig, context: MiddlewareContext, timeouts: ForwardAuthTimeouts = defaultForwardAuthTimeouts): Middleware {
  let address: URL;
  try {
    address = new URL(config.address);
  } catch {
    throw new MiddlewareConfigError(`address: ${JSON.stringify(config.address)} is not a URL`);
  }
  if (address.protocol !== 'http:' && address.protocol !== 'https:') throw new MiddlewareConfigError(`address: ${JSON.stringify(config.address)} must be an http:// or https:// URL`);
  if (address.username !== '' || address.password !== '') throw new MiddlewareConfigError('address: credentials in the URL are not supported; let the auth server read the request headers');
  const authPath = address.pathname + address.search;
  const requestFilter = headerSet(config.authRequestHeaders, 'authRequestHeaders');
  const copied = headerNames(config.authResponseHeaders, 'authResponseHeaders');
  const copiedPattern = config.authResponseHeadersRegex !== undefined && config.authResponseHeadersRegex !== '' ? compilePattern(config.authResponseHeadersRegex, 'authResponseHeadersRegex') : null;
  const authCookies = config.addAuthCookiesToResponse !== undefined && config.addAuthCookiesToResponse.length > 0 ? new Set(config.addAuthCookiesToResponse.map((n) => n.trim())) : null;
  const trustForwardHeader = config.trustForwardHeader === true;
  const preserveLocation = config.preserveLocationHeader === true;
  const forwardBody = config.forwardBody === true;
  const maxBody = config.maxBodySize ?? defaultMaxBodyBytes;
  if (!Number.isInteger(maxBody) || maxBody < -1) throw new MiddlewareConfigError(`maxBodySize: ${maxBody} must be a number of bytes, or -1 for no limit`);
  const name = context.name;
  if (forwardBody && maxBody === -1) context.log(`middleware ${name}: forwardAuth.maxBodySize is -1: request bodies of any size are held in memory for the auth server`);
  if (!forwardBody && config.maxBodySize !== undefined) context.log(`middleware ${name}: forwardAuth.maxBodySize has no effect without forwardBody`);
  const pool = new Pool(address.origin, {
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: 4000,
  });
  const where = address.origin + address.pathname;

  const fail = (exchange: Exchange, status: number, code: string, title: string, detail: string): void => {
    context.log(`${status} forwardAuth ${name} request=${exchange.requestId}: ${detail}`);
    sendProblem(exchange.res, problem(code, title, status, detail, { requestId: exchange.requestId }));
  };

  const ask = (exchange: Exchange, next: Handler, body: Buffer | null): void => {
    const headers = authRequestHeaders(exchange, requestFilter, trustForwardHeader);
    pool
      .request({ path: authPath, method: 'GET', headers, body })
      .then(async ({ statusCode, headers: answerHeaders, body: answerBody }) => {
        const received = await readAnswer(answerBody);
        return { status: statusCode, headers: answerHeaders as IncomingHttpHeaders, body: received };
      })
      .then(
        (answer) => {
          const res = exchange.res;
          if (res.destroyed || res.headersSent) return; // the client left meanwhile
          if (answer.status >= 200 && answer.status < 300) {
            allow(exchange, answer, copied, copiedPattern, authCookies);
            next(exchange);
          } else {
            relay(exchange, answer, preserveLocation, address);
          }
        },
        (error: unknown) => {
          if (exchange.res.destroyed) return;
          const code = (error as { code?: string }).code ?? '';
          const reason = `${code || 'error'}: ${(error as Error).message}`;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') fail(exchange, 504, 'auth-timeout', 'Authentication server timed out', `the auth server at ${where} did not answer in time (${reason})`);
          else if (unreachableCodes.has(code)) fail(exchange, 503, 'auth-unavailable', 'Authentication server unavailable', `the auth server at ${where} is not reachable (${reason})`);
          else fail(exchange, 502, 'auth-failed', 'Authentication server failed', `the auth server at ${where} failed: ${reason}`);
        },
      );
  };

  return (next) => (exchange) => {
    if (!forwardBody || !exchange.req.hasBody) {
      ask(exchange, next, null);
      return;
    }
    const declared = exchange.req.headers['content-length'];
    if (maxBody >= 0 && declared !== undefined && Number(declared) > maxBody) {
      tooLarge(exchange, maxBody, name);
      return;
    }
    readBody(exchange, maxBody, (body) => {
      if (body === null) tooLarge(exchange, maxBody, name);
      else ask(exchange, next, body);
    });
  };
}

function headerSet(list: readonly string[] | undefined, field: string): Set<string> | null {
  const names = headerNames(list, field);
  return names.length === 0 ? null : new Set(names);
}

function headerNames(list: readonly string[] | undefined, field: string): string[] {
  return (list ?? []).map((raw, i) => {
    const trimmed = raw.trim();
    if (!isToken(trimmed)) throw new MiddlewareConfigError(`${field}[${i}]: ${JSON.stringify(raw)} is not a valid header name`);
    return trimmed.toLowerCase();
  });
}

function tooLarge(exchange: Exchange, limit: number, name: string): void {
  sendProblem(exchange.res, problem('body-too-large', 'Request body too large', 413, `middleware ${JSON.stringify(name)} sends request bodies of up to ${limit} bytes to its auth server`, { requestId: exchange.requestId }), { connection: 'close' });
}

// ---- the auth request -----------------------------------------------------------------------------

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function authRequestHeaders(exchange: Exchange, filter: Set<string> | null, trustForwardHeader: boolean): string[] {
  const req = exchange.req;
  const raw = req.rawHeaders;
  const incoming = req.headers;
  const listed = connectionListed(incoming.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (notToAuthServer.has(lower) || forwardedNames.has(lower) || (listed !== null && listed.has(lower))) continue;
    if (filter !== null && !filter.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  const trusted = trustForwardHeader && exchange.forwardedTrusted;
  const priorFor = trusted ? incoming['x-forwarded-for'] : undefined;
  out.push('X-Forwarded-For', priorFor ? `${priorFor}, ${exchange.remoteAddress}` : exchange.remoteAddress);
  out.push('X-Forwarded-Method', (trusted && firstValue(incoming['x-forwarded-method'])) || exchange.method);
  out.push('X-Forwarded-Proto', (trusted && firstValue(incoming['x-forwarded-proto'])) || (exchange.secure ? 'https' : 'http'));
  const port = trusted ? firstValue(incoming['x-forwarded-port']) : undefined;
  if (port) out.push('X-Forwarded-Port', port);
  const host = (trusted && firstValue(incoming['x-forwarded-host'])) || incoming.host;
  if (host) out.push('X-Forwarded-Host', host);
  out.push('X-Forwarded-Uri', (trusted && firstValue(incoming['x-forwarded-uri'])) || pathAndQuery(exchange));
  return out;
}

async function readAnswer(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxAuthAnswerBytes) {
      body.destroy();
      throw new Error(`the answer is larger than ${maxAuthAnswerBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

// ---- the answer ----------------------------------------------------------------------------------

/** Access granted: the auth server's headers go upstream, its cookies to the response. */
function allow(exchange: Exchange, answer: AuthAnswer, copied: readonly string[], pattern: RegExp | null, authCookies: Set<string> | null): void {
  const headers = answer.headers;
  for (const lower of copied) {
    const value = headers[lower];
    setUpstreamHeader(exchange, lower, value === undefined ? null : joined(value));
  }
  if (pattern !== null) {
    for (const lower of Object.keys(exchange.req.headers)) {
      if (pattern.test(canonicalHeaderKey(lower))) setUpstreamHeader(exchange, lower, null);
    }
    for (const lower of Object.keys(headers)) {
      const value = headers[lower];
      if (value !== undefined && pattern.test(canonicalHeaderKey(lower))) setUpstreamHeader(exchange, lower, joined(value));
    }
  }
  if (authCookies !== null) {
    const cookies = setCookies(headers['set-cookie']).filter((cookie) => authCookies.has(cookieName(cookie)));
    if (cookies.length > 0) addResponseHook(exchange, cookieHook(cookies, authCookies));
  }
}

function joined(value: string | string[]): string {
  return Array.isArray(value) ? value.join(', ') : value;
}

function setCookies(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? '' : setCookie.slice(0, eq)).trim();
}

/** Replaces the upstream's cookies named in `names` by the auth server's. */
function cookieHook(cookies: readonly string[], names: Set<string>): ResponseHook {
  return (_exchange, head) => {
    const list = head.headers;
    for (let i = list.length - 2; i >= 0; i -= 2) {
      if (list[i]!.toLowerCase() === 'set-cookie' && names.has(cookieName(list[i + 1]!))) list.splice(i, 2);
    }
    for (const cookie of cookies) list.push('Set-Cookie', cookie);
    return null;
  };
}

/** Go's textproto.CanonicalMIMEHeaderKey for a valid name: "x-auth-user" → "X-Auth-User". */
function canonicalHeaderKey(lower: string): string {
  let out = '';
  let upper = true;
  for (let i = 0; i < lower.length; i++) {
    const char = lower[i]!;
    out += upper ? char.toUpperCase() : char;
    upper = char === '-';
  }
  return out;
}

/** Access refused (or redirected to a login page): the auth server's answer is the client's. */
function relay(exchange: Exchange, answer: AuthAnswer, preserveLocation: boolean, address: URL): void {
  const list: string[] = [];
  let sawRequestId = false;
  for (const [lower, value] of Object.entries(answer.headers)) {
    if (value === undefined || notToClient.has(lower)) continue;
    if (lower === 'x-request-id') sawRequestId = true;
    if (lower === 'location' && !preserveLocation) {
      list.push(lower, resolveLocation(joined(value), address));
      continue;
    }
    if (Array.isArray(value)) for (const item of value) list.push(lower, item);
    else list.push(lower, value);
  }
  if (!sawRequestId) list.push('x-request-id', exchange.requestId);
  list.push('content-length', String(answer.body.length));
  const res = exchange.res;
  res.writeHead(answer.status, list);
  res.end(answer.body);
}

function resolveLocation(location: string, address: URL): string {
  try {
    return new URL(location, address).href;
  } catch {
    return location;
  }
}

// ---- the request body ----------------------------------------------------------------------------

/**
 * Reads the request body up to `limit` bytes (-1: no limit) and puts it back at the front of the
 * stream, so that the forwarder (or any later reader) still gets all of it; `done(null)` when the
 * body is larger. The stream's 'end' is only signalled after a read finds it empty, and the bytes
 * are put back in the same tick as the last read, so that never happens here.
 */
function readBody(exchange: Exchange, limit: number, done: (body: Buffer | null) => void): void {
  const req = exchange.req.body;
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (): void => {
    req.off('readable', onReadable);
    req.off('close', onClose);
    req.off('error', onError);
  };
  const onReadable = (): void => {
    let available: number;
    while ((available = req.readableLength) > 0) {
      const chunk = req.read(available) as Buffer | null;
      if (chunk === null) break;
      size += chunk.length;
      if (limit >= 0 && size > limit) {
        finish();
        done(null);
        return;
      }
      chunks.push(chunk);
    }
    if (!req.complete) return;
    finish();
    const body = Buffer.concat(chunks, size);
    if (size > 0) req.unshift(body);
    exchange.bufferedBody = body;
    done(body);
  };
  const onClose = (): void => {
    if (!req.complete) finish(); // the client left before sending its whole body: nobody to answer
  };
  const onError = (): void => {};
  req.on('readable', onReadable);
  req.on('close', onClose);
  req.on('error', onError);
}
