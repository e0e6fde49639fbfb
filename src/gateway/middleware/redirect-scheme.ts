// redirectScheme: sends the client to the same host and path with another scheme (and port), as
// Traefik v3 does. The request's own scheme is the entrypoint's (`exchange.secure`); a request that
// already uses the target scheme and port passes on. Default ports are left out on both sides
// (`http` :80, `https` :443), and without `port` the redirect has none: `http://h:8080/x` with
// scheme https goes to `https://h/x`.
//
// Unlike Traefik, X-Forwarded-Proto is not read here: behind a TLS-terminating balancer the
// entrypoint must decide what `secure` means.
//
//   http.middlewares.to-https.redirectScheme: { scheme: https, permanent: true }
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { hostHeaderPort, pathAndQuery, sendRedirect, urlHost } from './redirect.ts';

export type RedirectSchemeConfig = NonNullable<MiddlewareConfig['redirectScheme']>;

export function redirectScheme(config: RedirectSchemeConfig, context: MiddlewareContext): Middleware {
  const scheme = config.scheme.trim().toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new MiddlewareConfigError(`scheme: ${JSON.stringify(config.scheme)} is not a URL scheme`);
  const port = (config.port ?? '').trim();
  if (port !== '' && (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new MiddlewareConfigError(`port: ${JSON.stringify(config.port)} is not a port number (1-65535)`);
  }
  const targetPortPart = port === '' || isDefaultPort(scheme, port) ? '' : ':' + port;
  const permanent = config.permanent ?? false;
  const name = context.name;

  return (next) => (exchange) => {
    const current = exchange.secure ? 'https' : 'http';
    const requestPort = hostHeaderPort(exchange.req.headers.host);
    const currentPortPart = requestPort === '' || isDefaultPort(current, requestPort) ? '' : ':' + requestPort;
    if (current === scheme && currentPortPart === targetPortPart) {
      next(exchange);
      return;
    }
    sendRedirect(exchange, scheme + '://' + urlHost(exchange.host) + targetPortPart + pathAndQuery(exchange), permanent, name);
  };
}

function isDefaultPort(scheme: string, port: string): boolean {
  return (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443');
}
