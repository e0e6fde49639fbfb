// stripPrefix: removes the first configured prefix the path starts with and tells the upstream
// which one in X-Forwarded-Prefix, as Traefik v3 does.
//
// Like Traefik, a prefix is a plain string prefix, not a segment prefix: `/api` strips `/apix` to
// `/x`. Write the prefix with its trailing slash (`/api/`) where that matters, and route with
// PathPrefix(`/api/`) to match. A strip that would leave a dot-segment is refused (see
// rewritten-path.ts). A path stripped to nothing becomes `/`.
//
// `forceSlash` is deprecated in Traefik v3 and is accepted here without effect: it only changed
// what an entirely stripped path became ('' or '/'), and Stampgate always forwards '/'.
//
//   http.middlewares.api-strip.stripPrefix.prefixes: ["/api"]
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { setUpstreamHeader } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { asPath, hasDotSegment, refuseUnsafeRewrite } from './rewritten-path.ts';

export type StripPrefixConfig = NonNullable<MiddlewareConfig['stripPrefix']>;

export function stripPrefix(config: StripPrefixConfig, context: MiddlewareContext): Middleware {
  if (config.prefixes.length === 0) throw new MiddlewareConfigError('prefixes: at least one prefix is needed');
  const prefixes = config.prefixes.map((prefix, i) => {
    if (prefix.charCodeAt(0) !== 0x2f) throw new MiddlewareConfigError(`prefixes[${i}]: ${JSON.stringify(prefix)} can never match: a prefix starts with "/"`);
    return { prefix, header: prefix.trim() };
  });
  if (config.forceSlash !== undefined) context.log(`middleware ${context.name}: stripPrefix.forceSlash is deprecated (Traefik v3) and has no effect; remove it`);
  const name = context.name;

  return (next) => (exchange) => {
    const path = exchange.path;
    for (let i = 0; i < prefixes.length; i++) {
      const { prefix, header } = prefixes[i]!;
      if (!path.startsWith(prefix)) continue;
      const stripped = asPath(path.slice(prefix.length));
      if (hasDotSegment(stripped)) {
        refuseUnsafeRewrite(exchange, name, stripped);
        return;
      }
      exchange.path = stripped;
      setUpstreamHeader(exchange, 'x-forwarded-prefix', header);
      break;
    }
    next(exchange);
  };
}
