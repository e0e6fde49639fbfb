// The static config: read once at start (as in Traefik, a change needs a restart), validated,
// cross-checked, with Traefik's documented defaults filled in so the gateway reads one value per key
// instead of repeating defaults, and with relative paths made absolute.
import { dirname } from 'node:path';
import type { StaticConfig } from './schema/static.ts';
import { ConfigError } from './config-error.ts';
import { crossCheckStatic } from './cross-check.ts';
import { locateIssues, readConfigFile } from './parse-file.ts';
import { resolveStaticPaths } from './resolve-paths.ts';
import { validateStaticDocument } from './validate.ts';

/**
 * Traefik v3's defaults for the keys Stampgate supports (doc.traefik.io reference, checked against
 * Traefik's `SetDefaults` where the two disagree: a redirection is permanent by default).
 */
export const STATIC_DEFAULTS = {
  /** providers.file.watch: reload on change. */
  fileWatch: true,
  /** providers.providersThrottleDuration. */
  providersThrottleDuration: '2s',
  /** log.level. */
  logLevel: 'ERROR',
  /** entryPoints.*.transport.respondingTimeouts. */
  readTimeout: '60s',
  writeTimeout: '0s',
  idleTimeout: '180s',
  /** entryPoints.*.transport.lifeCycle. */
  graceTimeOut: '10s',
  requestAcceptGraceTimeout: '0s',
  /** entryPoints.*.transport.keepAliveMaxRequests / keepAliveMaxTime: 0 is no limit. */
  keepAliveMaxRequests: 0,
  keepAliveMaxTime: '0s',
  /** entryPoints.*.forwardedHeaders.insecure. */
  forwardedHeadersInsecure: false,
  /** entryPoints.*.http.redirections.entryPoint. */
  redirectScheme: 'https',
  redirectPermanent: true,
  redirectPriority: 2147483646,
  /** api.dashboard, when `api` is present. */
  apiDashboard: true,
  /** Stampgate: worker processes. */
  workers: 1,
} as const;

/** Reads, validates and cross-checks a static config file; throws a ConfigError with every problem. */
export async function loadStaticConfig(path: string): Promise<StaticConfig> {
  const file = await readConfigFile(path);
  const result = validateStaticDocument(file.document);
  if (!result.ok) throw new ConfigError(locateIssues(result.issues, file), path);
  const issues = crossCheckStatic(result.value);
  if (issues.length > 0) throw new ConfigError(locateIssues(issues, file), path);
  return resolveStaticPaths(applyStaticDefaults(result.value), dirname(path));
}

/** A copy of the config with every absent key that has a Traefik (or Stampgate) default set to it. */
export function applyStaticDefaults(config: StaticConfig): StaticConfig {
  const d = STATIC_DEFAULTS;
  const entryPoints = Object.fromEntries(
    Object.entries(config.entryPoints).map(([name, ep]) => {
      const transport = ep.transport ?? {};
      const redirect = ep.http?.redirections?.entryPoint;
      return [
        name,
        {
          ...ep,
          ...(ep.http !== undefined
            ? {
                http: {
                  ...ep.http,
                  ...(ep.http.redirections !== undefined && redirect !== undefined
                    ? {
                        redirections: {
                          ...ep.http.redirections,
                          entryPoint: { scheme: d.redirectScheme, permanent: d.redirectPermanent, priority: d.redirectPriority, ...redirect },
                        },
                      }
                    : {}),
                },
              }
            : {}),
          transport: {
            ...transport,
            respondingTimeouts: { readTimeout: d.readTimeout, writeTimeout: d.writeTimeout, idleTimeout: d.idleTimeout, ...transport.respondingTimeouts },
            lifeCycle: { requestAcceptGraceTimeout: d.requestAcceptGraceTimeout, graceTimeOut: d.graceTimeOut, ...transport.lifeCycle },
            keepAliveMaxRequests: transport.keepAliveMaxRequests ?? d.keepAliveMaxRequests,
            keepAliveMaxTime: transport.keepAliveMaxTime ?? d.keepAliveMaxTime,
          },
          forwardedHeaders: { insecure: d.forwardedHeadersInsecure, ...ep.forwardedHeaders },
        },
      ];
    }),
  );
  const providers = config.providers;
  return {
    ...config,
    entryPoints,
    ...(providers !== undefined
      ? {
          providers: {
            providersThrottleDuration: d.providersThrottleDuration,
            ...providers,
            ...(providers.file !== undefined ? { file: { watch: d.fileWatch, ...providers.file } } : {}),
          },
        }
      : {}),
    ...(config.api !== undefined ? { api: { dashboard: d.apiDashboard, ...config.api } } : {}),
    log: { level: d.logLevel, ...config.log },
    workers: config.workers ?? d.workers,
  };
}
