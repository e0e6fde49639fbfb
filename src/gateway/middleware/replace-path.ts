// replacePath: replaces the whole path (the query stays) and sends the path it had in
// X-Replaced-Path, as Traefik v3 does. The configured path is checked when the config is built
// (Traefik would answer 500 per request for a bad percent-escape).
//
//   http.middlewares.to-health.replacePath.path: "/health"
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { setUpstreamHeader } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { checkPathText } from './rewritten-path.ts';

export type ReplacePathConfig = NonNullable<MiddlewareConfig['replacePath']>;

export function replacePath(config: ReplacePathConfig, _context: MiddlewareContext): Middleware {
  const path = config.path;
  if (path.charCodeAt(0) !== 0x2f) throw new MiddlewareConfigError(`path: ${JSON.stringify(path)} must start with "/"`);
  checkPathText(path, 'path');

  return (next) => (exchange) => {
    setUpstreamHeader(exchange, 'x-replaced-path', exchange.path);
    exchange.path = path;
    next(exchange);
  };
}
