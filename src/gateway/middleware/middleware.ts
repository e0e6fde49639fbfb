// The middleware contract. A middleware is built once per config version from its config into a
// function that wraps the next handler; a router's chain is composed once, off the request path.
// A step is synchronous unless it truly waits for I/O (an auth call, Redis): it then calls `next`
// later. To end the request itself, a step answers with `sendProblem` or writes `exchange.res`
// and does not call `next`.
import type { Handler } from '../pipeline/exchange.ts';

export type Middleware = (next: Handler) => Handler;

/** What building a middleware may need besides its own config. */
export interface MiddlewareContext {
  /** The middleware's name in the config (`name@provider` stripped), for messages and metrics. */
  name: string;
  /** Shared Redis URL/clients and similar resources live here as they are added. */
  log: (line: string) => void;
}

/** A configuration the middleware cannot run with (a bad regex, an unreadable users file). */
export class MiddlewareConfigError extends Error {}
