// redirectRegex: matches the request's full URL (`http://host:port/path?query`, the port only
// when the Host header has one, as Traefik reads it) against an RE2 regex and, when the
// replacement gives a different URL, redirects there, as Traefik v3 does. A replacement equal to
// the URL lets the request pass on unchanged.
//
//   http.middlewares.www.redirectRegex: { regex: "^https?://www\\.(.*)", replacement: "https://${1}", permanent: true }
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Middleware, MiddlewareContext } from './middleware.ts';
import { hostHeaderPort, pathAndQuery, sendRedirect, urlHost } from './redirect.ts';
import { compilePattern, goReplaceAll } from './regexp-replace.ts';

export type RedirectRegexConfig = NonNullable<MiddlewareConfig['redirectRegex']>;

export function redirectRegex(config: RedirectRegexConfig, context: MiddlewareContext): Middleware {
  const regex = compilePattern(config.regex, 'regex');
  const replaceAll = goReplaceAll(regex, config.replacement);
  const permanent = config.permanent ?? false;
  const name = context.name;

  return (next) => (exchange) => {
    const url = requestUrl(exchange);
    if (!regex.test(url)) {
      next(exchange);
      return;
    }
    const location = replaceAll(url);
    if (location === url) {
      next(exchange);
      return;
    }
    sendRedirect(exchange, location, permanent, name);
  };
}

/** The URL the client asked for, built from what the entrypoint established. */
export function requestUrl(exchange: Exchange): string {
  const port = hostHeaderPort(exchange.req.headers.host);
  return (exchange.secure ? 'https://' : 'http://') + urlHost(exchange.host) + (port === '' ? '' : ':' + port) + pathAndQuery(exchange);
}
