// Every middleware kind the gateway can build, by its config key. A kind missing here is rejected
// when the config is compiled, with a message that names it.
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { addPrefix } from './add-prefix.ts';
import { basicAuth } from './basic-auth.ts';
import { buffering } from './buffering.ts';
import { compress } from './compress.ts';
import { forwardAuth } from './forward-auth.ts';
import { headers } from './headers.ts';
import { inFlightReq } from './in-flight-req.ts';
import { ipAllowList } from './ip-allow-list.ts';
import { jwt } from './jwt.ts';
import type { Middleware, MiddlewareContext } from './middleware.ts';
import { rateLimit } from './rate-limit.ts';
import { redirectRegex } from './redirect-regex.ts';
import { redirectScheme } from './redirect-scheme.ts';
import { replacePath } from './replace-path.ts';
import { replacePathRegex } from './replace-path-regex.ts';
import { retry } from './retry.ts';
import { stripPrefix } from './strip-prefix.ts';
import { stripPrefixRegex } from './strip-prefix-regex.ts';

export type MiddlewareKind = keyof MiddlewareConfig;

type Builder<K extends MiddlewareKind> = (config: NonNullable<MiddlewareConfig[K]>, context: MiddlewareContext) => Middleware;

/** `chain` is not here: the config compiler composes chains from the middlewares they name. */
export const middlewareBuilders: { [K in MiddlewareKind]?: Builder<K> } = {
  addPrefix,
  basicAuth,
  buffering,
  compress,
  forwardAuth,
  headers,
  inFlightReq,
  ipAllowList,
  jwt,
  rateLimit,
  redirectRegex,
  redirectScheme,
  replacePath,
  replacePathRegex,
  retry,
  stripPrefix,
  stripPrefixRegex,
};
