// addPrefix: puts a fixed prefix in front of the path, as Traefik v3 does (`/v2` + `/users` →
// `/v2/users`; a prefix ending in `/` gives `//`, also as Traefik). The prefix is checked when the
// config is built; the path it is added to is normalised, so the result has no dot-segment.
//
//   http.middlewares.to-v2.addPrefix.prefix: "/v2"
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { checkPathText } from './rewritten-path.ts';

export type AddPrefixConfig = NonNullable<MiddlewareConfig['addPrefix']>;

export function addPrefix(config: AddPrefixConfig, _context: MiddlewareContext): Middleware {
  const prefix = config.prefix;
  if (prefix === '') throw new MiddlewareConfigError('prefix: must not be empty');
  if (prefix.charCodeAt(0) !== 0x2f) throw new MiddlewareConfigError(`prefix: ${JSON.stringify(prefix)} must start with "/"`);
  checkPathText(prefix, 'prefix');

  return (next) => (exchange) => {
    exchange.path = prefix + exchange.path;
    next(exchange);
  };
}
