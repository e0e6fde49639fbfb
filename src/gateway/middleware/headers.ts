// headers: custom request and response headers, CORS and security headers, with Traefik v3's
// semantics (its `headers` middleware, whose security part is unrolled/secure):
//
// - customRequestHeaders / customResponseHeaders set a header, or remove it when the value is ''.
// - CORS: a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here with
//   200 and the Access-Control-* headers, and goes no further. Other responses get
//   Access-Control-Allow-Origin when the origin is allowed (the list item, so `*` stays `*`; the
//   origin itself for a regex match), Allow-Credentials, Expose-Headers, and `Vary: Origin` with
//   addVaryHeader (the upstream's Vary lines are merged into one that ends in ",Origin", where
//   Traefik keeps only the first line). Lists are joined with "," as Traefik does.
// - Security headers replace the upstream's: HSTS only on TLS requests unless forceSTSHeader,
//   customFrameOptionsValue over frameDeny, customBrowserXSSValue over browserXssFilter, CSP (and
//   report-only), Referrer-Policy, Permissions-Policy. allowedHosts answers other hosts with a 400
//   problem (unrolled/secure answers 500 "Bad Host").
// - Stampgate's `securityPreset: true` turns on seed 003's headers (X-Frame-Options DENY, nosniff,
//   X-XSS-Protection "1; mode=block", HSTS one year with subdomains); an explicit field wins over it.
//
// Response headers are applied in Traefik's order: security headers, then custom response headers
// (which can override or remove them), then CORS. Header names and values are checked when the
// config is built, so that a request never meets a header node:http would refuse.
//
//   http.middlewares.secure.headers: { securityPreset: true, customResponseHeaders: { X-Powered-By: "" } }
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { addResponseHook, setUpstreamHeader, type Exchange, type ResponseHook } from '../pipeline/exchange.ts';
import { isFieldValue, isToken } from '../http1/field-syntax.ts';
import { getJoinedHeader, removeHeader, setHeader } from './header-list.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { compilePattern } from './regexp-replace.ts';

export type HeadersConfig = NonNullable<MiddlewareConfig['headers']>;

/** One header to set (value) or remove (null). */
interface HeaderEdit {
  readonly lower: string;
  readonly name: string;
  readonly value: string | null;
}

const oneYear = 31_536_000;
// Framing and connection headers belong to the gateway; setting them would corrupt the exchange.
const managedHeaders = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

export function headers(config: HeadersConfig, context: MiddlewareContext): Middleware {
  const requestEdits = headerEdits(config.customRequestHeaders, 'customRequestHeaders');
  const responseEdits = headerEdits(config.customResponseHeaders, 'customResponseHeaders');
  const security = securityHeaders(config);
  const cors = corsSettings(config, context);
  const allowedHosts = config.allowedHosts !== undefined && config.allowedHosts.length > 0 ? new Set(config.allowedHosts.map((host) => host.trim().toLowerCase())) : null;

  const hasSecurity = security.always.length > 0 || security.hsts !== null;
  if (requestEdits.length === 0 && responseEdits.length === 0 && !hasSecurity && cors === null && allowedHosts === null) {
    throw new MiddlewareConfigError('nothing to do: set custom request or response headers, CORS fields or security fields');
  }

  const hook: ResponseHook | null = hasSecurity || responseEdits.length > 0 || cors !== null ? (exchange, head) => {
    const list = head.headers;
    for (let i = 0; i < security.always.length; i++) {
      const edit = security.always[i]!;
      setHeader(list, edit.lower, edit.name, edit.value!);
    }
    if (security.hsts !== null && (exchange.secure || security.forceHsts)) setHeader(list, 'strict-transport-security', 'Strict-Transport-Security', security.hsts);
    for (let i = 0; i < responseEdits.length; i++) {
      const edit = responseEdits[i]!;
      if (edit.value === null) removeHeader(list, edit.lower);
      else setHeader(list, edit.lower, edit.name, edit.value);
    }
    if (cors !== null) applyCorsResponseHeaders(cors, exchange, list);
    return null;
  } : null;

  const name = context.name;
  return (next) => (exchange) => {
    if (cors !== null && exchange.method === 'OPTIONS' && answerPreflight(cors, exchange)) return;
    if (allowedHosts !== null && !hostAllowed(allowedHosts, exchange)) {
      sendProblem(exchange.res, problem('host-not-allowed', 'Host not allowed', 400, `the host ${JSON.stringify(exchange.req.headers.host ?? '')} is not one that middleware ${JSON.stringify(name)} allows`, { requestId: exchange.requestId }));
      return;
    }
    for (let i = 0; i < requestEdits.length; i++) {
      const edit = requestEdits[i]!;
      setUpstreamHeader(exchange, edit.lower, edit.value);
    }
    if (hook !== null) addResponseHook(exchange, hook);
    next(exchange);
  };
}

function headerEdits(map: Record<string, string> | undefined, field: string): HeaderEdit[] {
  if (map === undefined) return [];
  return Object.entries(map).map(([name, value]) => {
    checkHeader(name, value, field);
    return { lower: name.toLowerCase(), name, value: value === '' ? null : value };
  });
}

function checkHeader(name: string, value: string, field: string): void {
  if (!isToken(name)) throw new MiddlewareConfigError(`${field}: ${JSON.stringify(name)} is not a valid header name`);
  if (managedHeaders.has(name.toLowerCase())) throw new MiddlewareConfigError(`${field}: ${name} is managed by the gateway and cannot be set`);
  if (!isFieldValue(value)) throw new MiddlewareConfigError(`${field}.${name}: the value has a character not allowed in a header (a line break or a control character)`);
}

// ---- security headers ---------------------------------------------------------------------

interface SecurityHeaders {
  /** Set on every response. */
  always: HeaderEdit[];
  /** The Strict-Transport-Security value, or null. */
  hsts: string | null;
  forceHsts: boolean;
}

function securityHeaders(config: HeadersConfig): SecurityHeaders {
  const preset = config.securityPreset === true;
  const always: HeaderEdit[] = [];
  const add = (name: string, value: string, field: string): void => {
    if (!isFieldValue(value)) throw new MiddlewareConfigError(`${field}: the value has a character not allowed in a header (a line break or a control character)`);
    always.push({ lower: name.toLowerCase(), name, value });
  };
  if (config.customFrameOptionsValue !== undefined && config.customFrameOptionsValue !== '') add('X-Frame-Options', config.customFrameOptionsValue, 'customFrameOptionsValue');
  else if (config.frameDeny ?? preset) add('X-Frame-Options', 'DENY', 'frameDeny');
  if (config.contentTypeNosniff ?? preset) add('X-Content-Type-Options', 'nosniff', 'contentTypeNosniff');
  if (config.customBrowserXSSValue !== undefined && config.customBrowserXSSValue !== '') add('X-XSS-Protection', config.customBrowserXSSValue, 'customBrowserXSSValue');
  else if (config.browserXssFilter ?? preset) add('X-XSS-Protection', '1; mode=block', 'browserXssFilter');
  if (config.contentSecurityPolicy) add('Content-Security-Policy', config.contentSecurityPolicy, 'contentSecurityPolicy');
  if (config.contentSecurityPolicyReportOnly) add('Content-Security-Policy-Report-Only', config.contentSecurityPolicyReportOnly, 'contentSecurityPolicyReportOnly');
  if (config.referrerPolicy) add('Referrer-Policy', config.referrerPolicy, 'referrerPolicy');
  if (config.permissionsPolicy) add('Permissions-Policy', config.permissionsPolicy, 'permissionsPolicy');

  const stsSeconds = config.stsSeconds ?? (preset ? oneYear : 0);
  let hsts: string | null = null;
  if (stsSeconds > 0) {
    hsts = `max-age=${stsSeconds}`;
    if (config.stsIncludeSubdomains ?? preset) hsts += '; includeSubDomains';
    if (config.stsPreload === true) hsts += '; preload';
  }
  return { always, hsts, forceHsts: config.forceSTSHeader === true };
}

/** Host allowed by allowedHosts: the name alone, or as the Host header has it (with its port). */
function hostAllowed(allowed: Set<string>, exchange: Exchange): boolean {
  if (allowed.has(exchange.host)) return true;
  const header = exchange.req.headers.host;
  return header !== undefined && allowed.has(header.toLowerCase());
}

// ---- CORS ---------------------------------------------------------------------------------

interface CorsSettings {
  origins: readonly string[];
  originRegexes: readonly RegExp[];
  credentials: boolean;
  /** Access-Control-Allow-Headers / -Methods / -Expose-Headers values, or null. */
  allowHeaders: string | null;
  allowMethods: string | null;
  exposeHeaders: string | null;
  maxAge: string;
  addVary: boolean;
}

function corsSettings(config: HeadersConfig, context: MiddlewareContext): CorsSettings | null {
  const origins = config.accessControlAllowOriginList ?? [];
  const originRegexes = (config.accessControlAllowOriginListRegex ?? []).map((pattern, i) => compilePattern(pattern, `accessControlAllowOriginListRegex[${i}]`));
  const allowHeaders = joinedList(config.accessControlAllowHeaders, 'accessControlAllowHeaders');
  const allowMethods = joinedList(config.accessControlAllowMethods, 'accessControlAllowMethods');
  const exposeHeaders = joinedList(config.accessControlExposeHeaders, 'accessControlExposeHeaders');
  const credentials = config.accessControlAllowCredentials === true;
  const maxAge = config.accessControlMaxAge ?? 0;
  const addVary = config.addVaryHeader === true;
  const defined = credentials || allowHeaders !== null || allowMethods !== null || origins.length > 0 || originRegexes.length > 0 || exposeHeaders !== null || maxAge !== 0 || addVary;
  if (!defined) return null;
  origins.forEach((origin, i) => {
    if (!isFieldValue(origin)) throw new MiddlewareConfigError(`accessControlAllowOriginList[${i}]: ${JSON.stringify(origin)} has a character not allowed in a header`);
  });
  if (credentials && origins.includes('*')) {
    context.log(`middleware ${context.name}: accessControlAllowCredentials with origin "*": browsers refuse credentialed requests to a wildcard origin; list the origins instead`);
  }
  return { origins, originRegexes, credentials, allowHeaders, allowMethods, exposeHeaders, maxAge: String(maxAge), addVary };
}

function joinedList(list: string[] | undefined, field: string): string | null {
  if (list === undefined || list.length === 0) return null;
  const value = list.join(',');
  if (!isFieldValue(value)) throw new MiddlewareConfigError(`${field}: an entry has a character not allowed in a header`);
  return value;
}

/** The Access-Control-Allow-Origin value for `origin`, or null when it is not allowed. */
function allowedOrigin(cors: CorsSettings, origin: string): string | null {
  for (let i = 0; i < cors.origins.length; i++) {
    const item = cors.origins[i]!;
    if (item === '*' || item === origin) return item;
  }
  if (origin !== '') {
    for (let i = 0; i < cors.originRegexes.length; i++) {
      if (cors.originRegexes[i]!.test(origin)) return origin;
    }
  }
  return null;
}

/** Answers a CORS preflight; false when the request is a plain OPTIONS. */
function answerPreflight(cors: CorsSettings, exchange: Exchange): boolean {
  const requestHeaders = exchange.req.headers;
  const origin = requestHeaders.origin;
  const method = requestHeaders['access-control-request-method'];
  if (typeof origin !== 'string' || origin === '' || typeof method !== 'string' || method === '') return false;
  const out: string[] = [];
  if (cors.credentials) out.push('Access-Control-Allow-Credentials', 'true');
  if (cors.allowHeaders !== null) out.push('Access-Control-Allow-Headers', cors.allowHeaders);
  if (cors.allowMethods !== null) out.push('Access-Control-Allow-Methods', cors.allowMethods);
  const allowed = allowedOrigin(cors, origin);
  if (allowed !== null && isFieldValue(allowed)) out.push('Access-Control-Allow-Origin', allowed);
  out.push('Access-Control-Max-Age', cors.maxAge, 'Content-Length', '0', 'X-Request-Id', exchange.requestId);
  exchange.res.writeHead(200, out);
  exchange.res.end();
  return true;
}

function applyCorsResponseHeaders(cors: CorsSettings, exchange: Exchange, list: string[]): void {
  const allowed = allowedOrigin(cors, exchange.req.headers.origin ?? '');
  if (allowed !== null && isFieldValue(allowed)) setHeader(list, 'access-control-allow-origin', 'Access-Control-Allow-Origin', allowed);
  if (cors.credentials) setHeader(list, 'access-control-allow-credentials', 'Access-Control-Allow-Credentials', 'true');
  if (cors.exposeHeaders !== null) setHeader(list, 'access-control-expose-headers', 'Access-Control-Expose-Headers', cors.exposeHeaders);
  if (cors.addVary) {
    const vary = getJoinedHeader(list, 'vary');
    if (vary === undefined || vary === '') setHeader(list, 'vary', 'Vary', 'Origin');
    else if (!varyListsOrigin(vary)) setHeader(list, 'vary', 'Vary', vary + ',Origin');
  }
}

function varyListsOrigin(vary: string): boolean {
  if (vary === '*') return true;
  const lower = vary.toLowerCase();
  let from = 0;
  for (;;) {
    const comma = lower.indexOf(',', from);
    const item = lower.slice(from, comma < 0 ? lower.length : comma).trim();
    if (item === 'origin') return true;
    if (comma < 0) return false;
    from = comma + 1;
  }
}
