// The static configuration: Traefik v3's entryPoints and providers (file), plus Stampgate's keys
// (the control-plane provider, workers), each marked "Stampgate" below.
import { Type, type Static } from '@sinclair/typebox';
import { Closed, Duration, HttpUrl, StringList } from './common.ts';
import { ObservabilityStaticConfig } from '../../observe/static-config.ts';

export const EntryPoint = Closed({
  /** "[host]:port", e.g. ":80", "127.0.0.1:8080", "[::]:443". */
  address: Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]*):[0-9]{1,5}(/tcp)?$', description: '"[host]:port", e.g. ":80" or "127.0.0.1:8080"' }),
  http: Type.Optional(Closed({
    redirections: Type.Optional(Closed({
      entryPoint: Closed({
        to: Type.String({ minLength: 1 }),
        scheme: Type.Optional(Type.String()),
        permanent: Type.Optional(Type.Boolean()),
        priority: Type.Optional(Type.Integer()),
      }),
    })),
    middlewares: Type.Optional(StringList),
    tls: Type.Optional(Closed({ options: Type.Optional(Type.String()), certResolver: Type.Optional(Type.String()) })),
    maxHeaderBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
  })),
  transport: Type.Optional(Closed({
    respondingTimeouts: Type.Optional(Closed({ readTimeout: Type.Optional(Duration), writeTimeout: Type.Optional(Duration), idleTimeout: Type.Optional(Duration) })),
    lifeCycle: Type.Optional(Closed({ requestAcceptGraceTimeout: Type.Optional(Duration), graceTimeOut: Type.Optional(Duration) })),
    keepAliveMaxRequests: Type.Optional(Type.Integer({ minimum: 0 })),
    keepAliveMaxTime: Type.Optional(Duration),
  })),
  forwardedHeaders: Type.Optional(Closed({ trustedIPs: Type.Optional(StringList), insecure: Type.Optional(Type.Boolean()) })),
});

export const StaticConfig = Closed({
  // additionalProperties: a Record with a key pattern only validates the names that match; without it an
  // entry point named "web.1" would pass unchecked.
  entryPoints: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), EntryPoint, { minProperties: 1, additionalProperties: false }),
  providers: Type.Optional(Closed({
    providersThrottleDuration: Type.Optional(Duration),
    file: Type.Optional(Closed({ filename: Type.Optional(Type.String({ minLength: 1 })), directory: Type.Optional(Type.String({ minLength: 1 })), watch: Type.Optional(Type.Boolean()) })),
    /** Stampgate: the control plane's config feed (GET /v1/config with a watch). */
    stampgate: Type.Optional(Closed({ endpoint: HttpUrl, token: Type.Optional(Type.String()), cacheFile: Type.Optional(Type.String()) })),
  })),
  api: Type.Optional(Closed({ dashboard: Type.Optional(Type.Boolean()), insecure: Type.Optional(Type.Boolean()), debug: Type.Optional(Type.Boolean()) })),
  ping: Type.Optional(Closed({ entryPoint: Type.Optional(Type.String()) })),
  log: Type.Optional(Closed({ level: Type.Optional(Type.Union(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'PANIC'].map((l) => Type.Literal(l)))) })),
  /** Stampgate: worker processes (node:cluster) sharing the listeners. */
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /** accessLog, metrics (Prometheus), tracing (OTLP): their schemas live with their code in observe/. */
  ...ObservabilityStaticConfig,
});

export type StaticConfig = Static<typeof StaticConfig>;
export type EntryPointConfig = Static<typeof EntryPoint>;
