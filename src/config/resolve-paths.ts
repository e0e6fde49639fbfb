// Relative file paths inside a config file are taken relative to that file's directory, so a config
// directory can be moved or mounted anywhere and still work, whatever the process's working directory.
// (Traefik resolves them against its working directory; the two agree when the gateway runs from the
// config's directory, which is how Traefik configs are usually written.)
import { isAbsolute, resolve } from 'node:path';
import type { DynamicConfig } from './schema/dynamic.ts';
import type { StaticConfig } from './schema/static.ts';

/** `path` resolved against `baseDir` unless it is absolute. */
export function resolveAgainst(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

// Traefik's "file or content" fields hold either a path or the PEM text itself.
function resolveFileOrContent(baseDir: string, value: string): string {
  return value.includes('-----BEGIN') ? value : resolveAgainst(baseDir, value);
}

/** The static config with `providers.file.filename`/`directory` and `providers.stampgate.cacheFile` made absolute. */
export function resolveStaticPaths(config: StaticConfig, baseDir: string): StaticConfig {
  const providers = config.providers;
  if (providers === undefined) return config;
  const file = providers.file;
  const stampgate = providers.stampgate;
  return {
    ...config,
    providers: {
      ...providers,
      ...(file !== undefined
        ? {
            file: {
              ...file,
              ...(file.filename !== undefined ? { filename: resolveAgainst(baseDir, file.filename) } : {}),
              ...(file.directory !== undefined ? { directory: resolveAgainst(baseDir, file.directory) } : {}),
            },
          }
        : {}),
      ...(stampgate?.cacheFile !== undefined ? { stampgate: { ...stampgate, cacheFile: resolveAgainst(baseDir, stampgate.cacheFile) } } : {}),
    },
  };
}

/**
 * The dynamic config with its file references made absolute: TLS certificates and keys, the default
 * certificate of TLS stores, basicAuth's usersFile, and servers transports' rootCAs.
 */
export function resolveDynamicPaths(config: DynamicConfig, baseDir: string): DynamicConfig {
  const out: DynamicConfig = { ...config };
  if (config.http !== undefined) {
    const http = { ...config.http };
    if (http.middlewares !== undefined) {
      http.middlewares = Object.fromEntries(
        Object.entries(http.middlewares).map(([name, middleware]) => {
          const usersFile = middleware.basicAuth?.usersFile;
          if (middleware.basicAuth === undefined || usersFile === undefined) return [name, middleware];
          return [name, { ...middleware, basicAuth: { ...middleware.basicAuth, usersFile: resolveAgainst(baseDir, usersFile) } }];
        }),
      );
    }
    if (http.serversTransports !== undefined) {
      http.serversTransports = Object.fromEntries(
        Object.entries(http.serversTransports).map(([name, transport]) => [
          name,
          transport.rootCAs === undefined ? transport : { ...transport, rootCAs: transport.rootCAs.map((ca) => resolveFileOrContent(baseDir, ca)) },
        ]),
      );
    }
    out.http = http;
  }
  if (config.tls !== undefined) {
    const tls = { ...config.tls };
    if (tls.certificates !== undefined) {
      tls.certificates = tls.certificates.map((cert) => ({ ...cert, certFile: resolveFileOrContent(baseDir, cert.certFile), keyFile: resolveFileOrContent(baseDir, cert.keyFile) }));
    }
    if (tls.stores !== undefined) {
      tls.stores = Object.fromEntries(
        Object.entries(tls.stores).map(([name, store]) => {
          const cert = store.defaultCertificate;
          if (cert === undefined) return [name, store];
          return [name, { ...store, defaultCertificate: { certFile: resolveFileOrContent(baseDir, cert.certFile), keyFile: resolveFileOrContent(baseDir, cert.keyFile) } }];
        }),
      );
    }
    out.tls = tls;
  }
  return out;
}
