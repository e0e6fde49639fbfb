// The dynamic configuration: Traefik v3's file-provider format (`http.routers`, `http.services`,
// `http.middlewares`, `tls`) with Traefik's field names, plus Stampgate's own keys (the `stamps`
// service, `passiveHealthCheck`, the `jwt` middleware, …), each marked "Stampgate" below.
import { Type, type Static } from '@sinclair/typebox';
import { Closed, Duration, HttpUrl, SourceCriterion, StampOrTenantId, StringList, StringMap } from './common.ts';

// ---- routers ------------------------------------------------------------------------------
export const RouterTls = Closed({
  options: Type.Optional(Type.String()),
  certResolver: Type.Optional(Type.String()),
  domains: Type.Optional(Type.Array(Closed({ main: Type.String(), sans: Type.Optional(StringList) }))),
});

export const Router = Closed({
  entryPoints: Type.Optional(StringList),
  rule: Type.String({ minLength: 1 }),
  priority: Type.Optional(Type.Integer()),
  middlewares: Type.Optional(StringList),
  service: Type.String({ minLength: 1 }),
  tls: Type.Optional(RouterTls),
});

// ---- services -----------------------------------------------------------------------------
export const Server = Closed({
  url: HttpUrl,
  weight: Type.Optional(Type.Integer({ minimum: 0 })),
  preservePath: Type.Optional(Type.Boolean()),
});

export const StickyCookie = Closed({
  name: Type.Optional(Type.String({ minLength: 1 })),
  secure: Type.Optional(Type.Boolean()),
  httpOnly: Type.Optional(Type.Boolean()),
  sameSite: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('lax'), Type.Literal('strict'), Type.Literal('')])),
  maxAge: Type.Optional(Type.Integer()),
  // Written into the Set-Cookie header: RFC 6265's path-value, visible ASCII and space without `;`
  // (which would start an attribute). Nothing above U+007E: the head is written as latin1, where
  // U+010D would become a CR.
  path: Type.Optional(Type.String({ pattern: '^[\\x20-\\x3a\\x3c-\\x7e]*$', description: 'a cookie path of visible ASCII characters and spaces, without ";"' })),
});

export const Sticky = Closed({ cookie: Type.Optional(StickyCookie) });

export const HealthCheck = Closed({
  path: Type.Optional(Type.String({ pattern: '^/' })),
  interval: Type.Optional(Duration),
  timeout: Type.Optional(Duration),
  unhealthyInterval: Type.Optional(Duration),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  headers: Type.Optional(StringMap),
  hostname: Type.Optional(Type.String()),
  scheme: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('https')])),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  method: Type.Optional(Type.String()),
  followRedirects: Type.Optional(Type.Boolean()),
});

/** Stampgate (as NGINX's max_fails/fail_timeout): eject a server after maxFails failures within failTimeout. */
export const PassiveHealthCheck = Closed({
  maxFails: Type.Integer({ minimum: 1 }),
  failTimeout: Type.Optional(Duration),
});

export const LoadBalancer = Closed({
  servers: Type.Array(Server, { minItems: 1 }),
  strategy: Type.Optional(Type.Union([Type.Literal('wrr'), Type.Literal('p2c'), Type.Literal('hrw')])),
  sticky: Type.Optional(Sticky),
  healthCheck: Type.Optional(HealthCheck),
  passiveHealthCheck: Type.Optional(PassiveHealthCheck),
  passHostHeader: Type.Optional(Type.Boolean()),
  responseForwarding: Type.Optional(Closed({ flushInterval: Type.Optional(Duration) })),
  serversTransport: Type.Optional(Type.String()),
});

export const WeightedService = Closed({
  services: Type.Array(Closed({ name: Type.String({ minLength: 1 }), weight: Type.Integer({ minimum: 0 }) }), { minItems: 1 }),
  sticky: Type.Optional(Sticky),
  healthCheck: Type.Optional(Closed({})),
});

export const MirroringService = Closed({
  service: Type.String({ minLength: 1 }),
  mirrors: Type.Array(Closed({ name: Type.String({ minLength: 1 }), percent: Type.Number({ minimum: 0, maximum: 100 }) })),
  mirrorBody: Type.Optional(Type.Boolean()),
  maxBodySize: Type.Optional(Type.Integer()),
  healthCheck: Type.Optional(Closed({})),
});

export const FailoverService = Closed({
  service: Type.String({ minLength: 1 }),
  fallback: Type.String({ minLength: 1 }),
  healthCheck: Type.Optional(Closed({})),
  /** Stampgate: also fail over when the primary answers one of these statuses ("500-599", "429"). */
  statusCodes: Type.Optional(StringList),
});

/** Stampgate: where the stamp key of a request comes from, tried in the order given. */
export const StampKeySource = Closed({
  from: Type.Union([Type.Literal('query'), Type.Literal('header'), Type.Literal('host'), Type.Literal('path'), Type.Literal('jwt')]),
  /** Query parameter or header name; for `host`, the label index (0 = leftmost); for `path`, the segment index; for `jwt`, the claim. */
  name: Type.Optional(Type.String({ minLength: 1 })),
  index: Type.Optional(Type.Integer({ minimum: 0 })),
  /** A `stamp` key names a stamp id or alias; a `tenant` key goes through the tenant directory. */
  kind: Type.Union([Type.Literal('stamp'), Type.Literal('tenant')]),
});

export const StampDefinition = Closed({
  id: StampOrTenantId,
  aliases: Type.Optional(StringList),
  servers: Type.Array(Server, { minItems: 1 }),
  strategy: Type.Optional(Type.Union([Type.Literal('wrr'), Type.Literal('p2c'), Type.Literal('hrw')])),
  healthCheck: Type.Optional(HealthCheck),
  passiveHealthCheck: Type.Optional(PassiveHealthCheck),
  /** The stamp's readiness probe, aggregated by /readyz (default /ready). */
  readyPath: Type.Optional(Type.String({ pattern: '^/' })),
  /** A draining stamp gets no new tenants and answers 503 to requests that name it. */
  draining: Type.Optional(Type.Boolean()),
});

/** Stampgate: tenant key → stamp → that stamp's load balancer. */
export const StampsService = Closed({
  stamps: Type.Array(StampDefinition, { minItems: 1 }),
  defaultStamp: Type.Optional(Type.String()),
  /** Default: ?stamp= (stamp), ?tenant= (tenant), X-Stamp-Id (stamp), X-Tenant-Id (tenant). */
  keys: Type.Optional(Type.Array(StampKeySource, { minItems: 1 })),
  /** Static tenant → stamp entries; the control-plane provider supplies the rest. */
  tenants: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** What a request with no key gets: the default stamp (default) or a 400 problem. */
  requireKey: Type.Optional(Type.Boolean()),
});

export const Service = Closed({
  loadBalancer: Type.Optional(LoadBalancer),
  weighted: Type.Optional(WeightedService),
  mirroring: Type.Optional(MirroringService),
  failover: Type.Optional(FailoverService),
  stamps: Type.Optional(StampsService),
}, { minProperties: 1, maxProperties: 1, description: 'exactly one of loadBalancer, weighted, mirroring, failover, stamps' });

// ---- middlewares --------------------------------------------------------------------------
export const HeadersMiddleware = Closed({
  customRequestHeaders: Type.Optional(StringMap),
  customResponseHeaders: Type.Optional(StringMap),
  accessControlAllowCredentials: Type.Optional(Type.Boolean()),
  accessControlAllowHeaders: Type.Optional(StringList),
  accessControlAllowMethods: Type.Optional(StringList),
  accessControlAllowOriginList: Type.Optional(StringList),
  accessControlAllowOriginListRegex: Type.Optional(StringList),
  accessControlExposeHeaders: Type.Optional(StringList),
  accessControlMaxAge: Type.Optional(Type.Integer()),
  addVaryHeader: Type.Optional(Type.Boolean()),
  allowedHosts: Type.Optional(StringList),
  stsSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  stsIncludeSubdomains: Type.Optional(Type.Boolean()),
  stsPreload: Type.Optional(Type.Boolean()),
  forceSTSHeader: Type.Optional(Type.Boolean()),
  frameDeny: Type.Optional(Type.Boolean()),
  customFrameOptionsValue: Type.Optional(Type.String()),
  contentTypeNosniff: Type.Optional(Type.Boolean()),
  browserXssFilter: Type.Optional(Type.Boolean()),
  customBrowserXSSValue: Type.Optional(Type.String()),
  contentSecurityPolicy: Type.Optional(Type.String()),
  contentSecurityPolicyReportOnly: Type.Optional(Type.String()),
  referrerPolicy: Type.Optional(Type.String()),
  permissionsPolicy: Type.Optional(Type.String()),
  /** Stampgate: the security headers of seed 003 (X-Frame-Options DENY, nosniff, X-XSS-Protection, HSTS 1 year with subdomains). */
  securityPreset: Type.Optional(Type.Boolean()),
});

export const RateLimitMiddleware = Closed({
  average: Type.Integer({ minimum: 0 }),
  period: Type.Optional(Duration),
  burst: Type.Optional(Type.Integer({ minimum: 1 })),
  sourceCriterion: Type.Optional(SourceCriterion),
  /** Traefik v3.4+: share the limit through Redis; Stampgate falls back to memory while Redis is down. */
  redis: Type.Optional(Closed({
    endpoints: Type.Optional(StringList),
    url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    db: Type.Optional(Type.Integer({ minimum: 0 })),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    timeout: Type.Optional(Duration),
  })),
});

export const Middleware = Closed({
  stripPrefix: Type.Optional(Closed({ prefixes: StringList, forceSlash: Type.Optional(Type.Boolean()) })),
  stripPrefixRegex: Type.Optional(Closed({ regex: StringList })),
  addPrefix: Type.Optional(Closed({ prefix: Type.String({ pattern: '^/' }) })),
  replacePath: Type.Optional(Closed({ path: Type.String({ pattern: '^/' }) })),
  replacePathRegex: Type.Optional(Closed({ regex: Type.String(), replacement: Type.String() })),
  redirectScheme: Type.Optional(Closed({ scheme: Type.String({ minLength: 1 }), port: Type.Optional(Type.String()), permanent: Type.Optional(Type.Boolean()) })),
  redirectRegex: Type.Optional(Closed({ regex: Type.String(), replacement: Type.String(), permanent: Type.Optional(Type.Boolean()) })),
  headers: Type.Optional(HeadersMiddleware),
  compress: Type.Optional(Closed({
    excludedContentTypes: Type.Optional(StringList),
    includedContentTypes: Type.Optional(StringList),
    minResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    encodings: Type.Optional(Type.Array(Type.Union([Type.Literal('gzip'), Type.Literal('br'), Type.Literal('zstd')]))),
    defaultEncoding: Type.Optional(Type.String()),
  })),
  rateLimit: Type.Optional(RateLimitMiddleware),
  inFlightReq: Type.Optional(Closed({ amount: Type.Integer({ minimum: 1 }), sourceCriterion: Type.Optional(SourceCriterion) })),
  ipAllowList: Type.Optional(Closed({ sourceRange: StringList, ipStrategy: Type.Optional(Closed({ depth: Type.Optional(Type.Integer({ minimum: 0 })), excludedIPs: Type.Optional(StringList) })), rejectStatusCode: Type.Optional(Type.Integer()) })),
  basicAuth: Type.Optional(Closed({ users: Type.Optional(StringList), usersFile: Type.Optional(Type.String()), realm: Type.Optional(Type.String()), removeHeader: Type.Optional(Type.Boolean()), headerField: Type.Optional(Type.String()) })),
  forwardAuth: Type.Optional(Closed({
    address: HttpUrl,
    trustForwardHeader: Type.Optional(Type.Boolean()),
    authResponseHeaders: Type.Optional(StringList),
    authResponseHeadersRegex: Type.Optional(Type.String()),
    authRequestHeaders: Type.Optional(StringList),
    addAuthCookiesToResponse: Type.Optional(StringList),
    forwardBody: Type.Optional(Type.Boolean()),
    maxBodySize: Type.Optional(Type.Integer()),
    preserveLocationHeader: Type.Optional(Type.Boolean()),
  })),
  /** Stampgate: verify a JWT (jose) from a JWKS URL or a shared secret; claims to headers; tenant from a claim. */
  jwt: Type.Optional(Closed({
    jwksUrl: Type.Optional(HttpUrl),
    secret: Type.Optional(Type.String({ minLength: 1 })),
    issuer: Type.Optional(Type.String()),
    audience: Type.Optional(Type.String()),
    algorithms: Type.Optional(StringList),
    headerName: Type.Optional(Type.String()),
    claimsToHeaders: Type.Optional(StringMap),
    tenantClaim: Type.Optional(Type.String()),
    jwksCacheDuration: Type.Optional(Duration),
  })),
  buffering: Type.Optional(Closed({
    maxRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    memRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    maxResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    memResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    retryExpression: Type.Optional(Type.String()),
  })),
  retry: Type.Optional(Closed({
    attempts: Type.Integer({ minimum: 1 }),
    initialInterval: Type.Optional(Duration),
    /** Stampgate: also retry on these statuses ("502-504"); Traefik retries on connection errors only. */
    statusCodes: Type.Optional(StringList),
    /** Stampgate: allow re-sending POST/PATCH and other non-idempotent requests (off: never). */
    retryNonIdempotent: Type.Optional(Type.Boolean()),
  })),
  chain: Type.Optional(Closed({ middlewares: StringList })),
}, { minProperties: 1, maxProperties: 1, description: 'exactly one middleware kind' });

export const TlsCertificate = Closed({ certFile: Type.String({ minLength: 1 }), keyFile: Type.String({ minLength: 1 }), stores: Type.Optional(StringList) });

export const TlsOptions = Closed({
  minVersion: Type.Optional(Type.Union([Type.Literal('VersionTLS12'), Type.Literal('VersionTLS13')])),
  maxVersion: Type.Optional(Type.Union([Type.Literal('VersionTLS12'), Type.Literal('VersionTLS13')])),
  cipherSuites: Type.Optional(StringList),
  sniStrict: Type.Optional(Type.Boolean()),
  alpnProtocols: Type.Optional(StringList),
});

export const DynamicConfig = Closed({
  http: Type.Optional(Closed({
    routers: Type.Optional(Type.Record(Type.String(), Router)),
    services: Type.Optional(Type.Record(Type.String(), Service)),
    middlewares: Type.Optional(Type.Record(Type.String(), Middleware)),
    serversTransports: Type.Optional(Type.Record(Type.String(), Closed({
      insecureSkipVerify: Type.Optional(Type.Boolean()),
      rootCAs: Type.Optional(StringList),
      maxIdleConnsPerHost: Type.Optional(Type.Integer()),
      forwardingTimeouts: Type.Optional(Closed({ dialTimeout: Type.Optional(Duration), responseHeaderTimeout: Type.Optional(Duration), idleConnTimeout: Type.Optional(Duration) })),
    }))),
  })),
  tls: Type.Optional(Closed({
    certificates: Type.Optional(Type.Array(TlsCertificate)),
    options: Type.Optional(Type.Record(Type.String(), TlsOptions)),
    stores: Type.Optional(Type.Record(Type.String(), Closed({ defaultCertificate: Type.Optional(Closed({ certFile: Type.String(), keyFile: Type.String() })) }))),
  })),
});

export type DynamicConfig = Static<typeof DynamicConfig>;
export type RouterConfig = Static<typeof Router>;
export type ServiceConfig = Static<typeof Service>;
export type LoadBalancerConfig = Static<typeof LoadBalancer>;
export type ServerConfig = Static<typeof Server>;
export type HealthCheckConfig = Static<typeof HealthCheck>;
export type PassiveHealthCheckConfig = Static<typeof PassiveHealthCheck>;
export type StickyConfig = Static<typeof Sticky>;
export type StampsServiceConfig = Static<typeof StampsService>;
export type StampDefinitionConfig = Static<typeof StampDefinition>;
export type StampKeySourceConfig = Static<typeof StampKeySource>;
export type MiddlewareConfig = Static<typeof Middleware>;
export type HeadersMiddlewareConfig = Static<typeof HeadersMiddleware>;
export type RateLimitMiddlewareConfig = Static<typeof RateLimitMiddleware>;
