// replacePathRegex: when the path matches the regex (RE2 syntax), replaces every match with the
// replacement (Go template syntax: `$1`, `${1}`, `${name}`) and sends the former path in
// X-Replaced-Path, as Traefik v3 does. Differences, all on the safe side: a result that does not
// start with "/" gets one (Traefik would forward it as is), a result with a dot-segment is refused
// with 400 (`^/foo(.*)` → `/bar/$1` would turn `/foo../x` into `/bar/../x`), and an empty
// replacement is a config error (Traefik silently ignores such a middleware).
//
//   http.middlewares.v1-to-v2.replacePathRegex: { regex: "^/v1/(.*)", replacement: "/v2/$1" }
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { setUpstreamHeader } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { compilePattern, goReplaceAll } from './regexp-replace.ts';
import { asPath, hasDotSegment, hasValidEscapes, refuseUnsafeRewrite } from './rewritten-path.ts';

export type ReplacePathRegexConfig = NonNullable<MiddlewareConfig['replacePathRegex']>;

export function replacePathRegex(config: ReplacePathRegexConfig, context: MiddlewareContext): Middleware {
  const regex = compilePattern(config.regex.trim(), 'regex');
  const replacement = config.replacement.trim();
  if (replacement === '') throw new MiddlewareConfigError('replacement: must not be empty (Traefik ignores a replacePathRegex without one)');
  const replaceAll = goReplaceAll(regex, replacement);
  const name = context.name;

  return (next) => (exchange) => {
    const path = exchange.path;
    if (!regex.test(path)) {
      next(exchange);
      return;
    }
    const replaced = asPath(replaceAll(path));
    if (hasDotSegment(replaced)) {
      refuseUnsafeRewrite(exchange, name, replaced);
      return;
    }
    if (!hasValidEscapes(replaced)) {
      sendProblem(exchange.res, problem('bad-rewrite', 'Bad path rewrite', 500, `middleware ${JSON.stringify(name)} rewrote the path to ${JSON.stringify(replaced.slice(0, 100))}, which has an invalid percent-escape`, { requestId: exchange.requestId }));
      return;
    }
    setUpstreamHeader(exchange, 'x-replaced-path', path);
    exchange.path = replaced;
    next(exchange);
  };
}
