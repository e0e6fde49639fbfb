// retry: lets the service send the request again, to another server when there is one, after a
// connection error (and, as a Stampgate addition, after chosen statuses). The attempts and the
// back-off are Traefik's; the safety rule (no second POST unless configured) is the service's.
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { parseDuration } from '../../config/duration.ts';
import type { RetryPolicy } from '../pipeline/exchange.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { statusMatcher } from './status-ranges.ts';

export function retry(config: NonNullable<MiddlewareConfig['retry']>, context: MiddlewareContext): Middleware {
  let initialIntervalMs = 100;
  try {
    if (config.initialInterval !== undefined) initialIntervalMs = parseDuration(config.initialInterval);
  } catch (error) {
    throw new MiddlewareConfigError(`middleware ${context.name}: initialInterval: ${(error as Error).message}`);
  }
  const policy: RetryPolicy = {
    attempts: config.attempts,
    initialIntervalMs,
    retryOnStatus: config.statusCodes === undefined ? null : statusMatcher(config.statusCodes, `middleware ${context.name}: statusCodes`),
    retryNonIdempotent: config.retryNonIdempotent ?? false,
  };
  return (next) => (exchange) => {
    exchange.retry = policy;
    next(exchange);
  };
}
