// stripPrefixRegex: strips the text matched by the first regex (RE2 syntax, as Traefik) whose
// match is a non-empty prefix of the path, and sends that text upstream in X-Forwarded-Prefix.
// As in Traefik, the match does not need to end at a segment boundary (`^/api` strips `/apix` to
// `/x`); a strip that would leave a dot-segment is refused (see rewritten-path.ts).
//
//   http.middlewares.tenant-strip.stripPrefixRegex.regex: ["^/t/[a-z0-9-]+"]
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { setUpstreamHeader } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { compilePattern } from './regexp-replace.ts';
import { asPath, hasDotSegment, refuseUnsafeRewrite } from './rewritten-path.ts';

export type StripPrefixRegexConfig = NonNullable<MiddlewareConfig['stripPrefixRegex']>;

export function stripPrefixRegex(config: StripPrefixRegexConfig, context: MiddlewareContext): Middleware {
  if (config.regex.length === 0) throw new MiddlewareConfigError('regex: at least one regular expression is needed');
  const expressions = config.regex.map((pattern, i) => compilePattern(pattern.trim(), `regex[${i}]`));
  const name = context.name;

  return (next) => (exchange) => {
    const path = exchange.path;
    for (let i = 0; i < expressions.length; i++) {
      const match = expressions[i]!.exec(path);
      if (match === null) continue;
      const prefix = match[0];
      if (prefix === '' || !path.startsWith(prefix)) continue;
      const stripped = asPath(path.slice(prefix.length));
      if (hasDotSegment(stripped)) {
        refuseUnsafeRewrite(exchange, name, stripped);
        return;
      }
      exchange.path = stripped;
      setUpstreamHeader(exchange, 'x-forwarded-prefix', prefix);
      break;
    }
    next(exchange);
  };
}
