// jwt (Stampgate): verifies a JSON Web Token with `jose` before the request goes on.
//
// - The token is the bearer token of `Authorization` ("Bearer <token>"), or the value of
//   `headerName` (where a "Bearer " prefix is optional).
// - It is verified against the keys at `jwksUrl` (jose's remote key set: fetched when first needed,
//   kept `jwksCacheDuration`, default 10 minutes, fetched again at once for an unknown key id but
//   at most every 30 s; a fetch gives up after 5 s) or a shared `secret` (HMAC). `algorithms`
//   defaults to HS256 with a secret and to the usual asymmetric ones (RS*, PS*, ES*, EdDSA) with a
//   key set; an HMAC algorithm needs a secret and the others a key set, so a public key can never
//   be used as an HMAC secret. `issuer` and `audience`, when set, must match; `exp` and `nbf` are
//   checked with 5 s of clock tolerance.
// - A missing or invalid token is a 401 problem with `WWW-Authenticate: Bearer` and, for an invalid
//   one, `error="invalid_token", error_description="…"` (RFC 6750 §3: a request without a token
//   gets no error code). A key set that cannot be fetched is a 503 problem: the token may be fine.
// - `claimsToHeaders` ({claim: header}) sets upstream headers from top-level claims (strings as
//   they are, numbers and booleans as text, arrays of strings joined with ",", anything else as
//   JSON); the header is removed when the claim is missing, so a client cannot supply it itself.
// - `tenantClaim` names a claim (string or number) whose value becomes `exchange.tenant`: the
//   stamps service uses it when its keys include `{from: jwt, kind: tenant}`, and a later rateLimit
//   with `sourceCriterion.tenant` counts by it.
//
// Verification is asynchronous (WebCrypto, 35-100 µs for HS256 here), so a new token's request
// continues in a promise callback; what a verified token grants is then remembered until it
// expires, for at most a minute (verified-tokens.ts), and later requests with the same token go on
// synchronously.
//
//   http.middlewares.api-jwt.jwt: { jwksUrl: "https://id.example.com/.well-known/jwks.json", issuer: "https://id.example.com/", audience: books, tenantClaim: org_id }
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { DurationError, parseDuration } from '../../config/duration.ts';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { setUpstreamHeader, type Exchange } from '../pipeline/exchange.ts';
import { isFieldValue, isToken } from '../http1/field-syntax.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { VerifiedTokens, type VerifiedToken } from './verified-tokens.ts';

export type JwtConfig = NonNullable<MiddlewareConfig['jwt']>;

const hmacAlgorithms = ['HS256', 'HS384', 'HS512'];
const asymmetricAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const defaultJwksCacheMs = 10 * 60_000;
const clockToleranceSeconds = 5;
// Headers that frame or route the exchange: a claim must not set them.
const reservedHeaders = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

interface ClaimHeader {
  readonly claim: string;
  readonly header: string;
}

export function jwt(config: JwtConfig, context: MiddlewareContext): Middleware {
  const jwksUrl = config.jwksUrl !== undefined && config.jwksUrl !== '' ? config.jwksUrl : null;
  const secret = config.secret !== undefined && config.secret !== '' ? config.secret : null;
  if ((jwksUrl === null) === (secret === null)) throw new MiddlewareConfigError('set exactly one of jwksUrl (a key set) and secret (HMAC)');
  const algorithms = algorithmList(config.algorithms, secret !== null);
  const options: JWTVerifyOptions = { algorithms, clockTolerance: clockToleranceSeconds };
  if (config.issuer !== undefined && config.issuer !== '') options.issuer = config.issuer;
  if (config.audience !== undefined && config.audience !== '') options.audience = config.audience;
  let verify: (token: string) => Promise<{ payload: JWTPayload }>;
  if (secret !== null) {
    const key = new TextEncoder().encode(secret);
    if (key.length < 32) context.log(`middleware ${context.name}: jwt.secret is shorter than 32 bytes; HS256 wants at least 256 bits of secret`);
    verify = (token) => jwtVerify(token, key, options);
  } else {
    let url: URL;
    try {
      url = new URL(jwksUrl!);
    } catch {
      throw new MiddlewareConfigError(`jwksUrl: ${JSON.stringify(jwksUrl)} is not a URL`);
    }
    const keySet = createRemoteJWKSet(url, { cacheMaxAge: cacheDuration(config.jwksCacheDuration), cooldownDuration: 30_000, timeoutDuration: 5000 });
    verify = (token) => jwtVerify(token, keySet, options);
  }
  if (config.jwksCacheDuration !== undefined && secret !== null) context.log(`middleware ${context.name}: jwt.jwksCacheDuration has no effect with a secret`);
  const tokenHeader = (config.headerName !== undefined && config.headerName !== '' ? config.headerName : 'Authorization').trim();
  if (!isToken(tokenHeader)) throw new MiddlewareConfigError(`headerName: ${JSON.stringify(config.headerName)} is not a valid header name`);
  const tokenHeaderLower = tokenHeader.toLowerCase();
  const bearerRequired = tokenHeaderLower === 'authorization';
  const claimHeaders = claimsToHeaders(config.claimsToHeaders);
  const tenantClaim = config.tenantClaim !== undefined && config.tenantClaim !== '' ? config.tenantClaim : null;
  const name = context.name;
  const verified = new VerifiedTokens();

  const grantOf = (payload: JWTPayload): VerifiedToken => {
    const headers = claimHeaders.map(({ claim, header }) => [header, headerValue(payload[claim])] as const);
    let tenant: string | null = null;
    if (tenantClaim !== null) {
      const value = payload[tenantClaim];
      if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) tenant = String(value);
    }
    return { headers, tenant };
  };

  const refuse = (exchange: Exchange, detail: string, description: string | null): void => {
    const challenge = description === null ? 'Bearer' : `Bearer error="invalid_token", error_description="${description}"`;
    sendProblem(exchange.res, problem('unauthorized', 'Unauthorized', 401, detail, { requestId: exchange.requestId }), { 'www-authenticate': challenge });
  };

  return (next) => (exchange) => {
    const token = tokenOf(exchange.req.headers[tokenHeaderLower], bearerRequired);
    if (token === null) {
      refuse(exchange, `middleware ${JSON.stringify(name)} needs a bearer token in ${tokenHeader}`, null);
      return;
    }
    if (token === '') {
      refuse(exchange, `middleware ${JSON.stringify(name)} needs a bearer token in ${tokenHeader} ("Bearer <token>")`, 'the token is malformed');
      return;
    }
    const known = verified.get(token, Date.now());
    if (known !== undefined) {
      grant(exchange, known);
      next(exchange);
      return;
    }
    verify(token).then(
      ({ payload }) => {
        const granted = grantOf(payload);
        verified.remember(token, granted, typeof payload.exp === 'number' ? (payload.exp + clockToleranceSeconds) * 1000 : null, Date.now());
        if (exchange.res.destroyed) return;
        grant(exchange, granted);
        next(exchange);
      },
      (error: unknown) => {
        if (exchange.res.destroyed) return;
        const verdict = explain(error);
        if (verdict === null) {
          const reason = (error as Error)?.message ?? String(error);
          context.log(`503 jwt ${name} request=${exchange.requestId}: the key set at ${jwksUrl} is not available: ${reason}`);
          sendProblem(exchange.res, problem('jwks-unavailable', 'Token keys unavailable', 503, `middleware ${JSON.stringify(name)} cannot fetch the key set that verifies tokens; try again later`, { requestId: exchange.requestId }), { 'retry-after': '5' });
          return;
        }
        refuse(exchange, `middleware ${JSON.stringify(name)} refused the token: ${verdict}`, verdict);
      },
    );
  };
}

function grant(exchange: Exchange, granted: VerifiedToken): void {
  const headers = granted.headers;
  for (let i = 0; i < headers.length; i++) setUpstreamHeader(exchange, headers[i]![0], headers[i]![1]);
  if (granted.tenant !== null) exchange.tenant = granted.tenant;
}

function algorithmList(configured: readonly string[] | undefined, withSecret: boolean): string[] {
  if (configured === undefined || configured.length === 0) return withSecret ? ['HS256'] : [...asymmetricAlgorithms];
  return configured.map((algorithm, i) => {
    if (hmacAlgorithms.includes(algorithm)) {
      if (!withSecret) throw new MiddlewareConfigError(`algorithms[${i}]: ${algorithm} needs a secret, not a key set`);
    } else if (asymmetricAlgorithms.includes(algorithm)) {
      if (withSecret) throw new MiddlewareConfigError(`algorithms[${i}]: ${algorithm} needs a key set (jwksUrl), not a secret`);
    } else {
      throw new MiddlewareConfigError(`algorithms[${i}]: ${JSON.stringify(algorithm)} is not one of ${[...hmacAlgorithms, ...asymmetricAlgorithms].join(', ')}`);
    }
    return algorithm;
  });
}

function cacheDuration(value: string | number | undefined): number {
  if (value === undefined) return defaultJwksCacheMs;
  try {
    return Math.round(parseDuration(value));
  } catch (error) {
    if (error instanceof DurationError) throw new MiddlewareConfigError(`jwksCacheDuration: ${error.reason}`);
    throw error;
  }
}

function claimsToHeaders(map: Record<string, string> | undefined): ClaimHeader[] {
  return Object.entries(map ?? {}).map(([claim, header]) => {
    const trimmed = header.trim();
    if (!isToken(trimmed)) throw new MiddlewareConfigError(`claimsToHeaders.${claim}: ${JSON.stringify(header)} is not a valid header name`);
    const lower = trimmed.toLowerCase();
    if (reservedHeaders.has(lower)) throw new MiddlewareConfigError(`claimsToHeaders.${claim}: ${trimmed} cannot be set from a claim`);
    return { claim, header: lower };
  });
}

/** The token of a header value; null when there is none, '' when the value is not a bearer token. */
function tokenOf(value: string | string[] | undefined, bearerRequired: boolean): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return null;
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (trimmed.length > 7 && trimmed.slice(0, 7).toLowerCase() === 'bearer ') return trimmed.slice(7).trim();
  if (bearerRequired) return '';
  return trimmed;
}

function headerValue(claim: unknown): string | null {
  let text: string;
  if (claim === undefined || claim === null) return null;
  if (typeof claim === 'string') text = claim;
  else if (typeof claim === 'number' || typeof claim === 'boolean') text = String(claim);
  else if (Array.isArray(claim) && claim.every((item) => typeof item === 'string')) text = claim.join(',');
  else text = JSON.stringify(claim);
  return isFieldValue(text) ? text : null;
}

/**
 * Why a token was refused, in words fit for an error_description (RFC 6750 allows no quotes or
 * backslashes there); null when the failure is the key set's, not the token's.
 */
function explain(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: unknown }).claim;
      if (claim === 'iss') return 'the token has an unexpected issuer';
      if (claim === 'aud') return 'the token is not meant for this audience';
      if (claim === 'nbf') return 'the token is not valid yet';
      if (claim === 'iat') return 'the token has an invalid issue time';
      return `the token has an invalid ${String(claim).replace(/[^\w-]/g, '')} claim`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token algorithm is not allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no key of the key set matches the token';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return 'the token is malformed';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return null;
    default:
      // fetch's own failure (TypeError: fetch failed) while getting the key set, or anything else
      // jose throws that is not about the token.
      return error instanceof TypeError && (error as Error).message.includes('fetch') ? null : 'the token is malformed';
  }
}
