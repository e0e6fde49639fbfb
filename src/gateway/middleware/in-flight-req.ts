// inFlightReq: at most `amount` requests under way at once per source (Traefik v3; the source is
// the request host unless sourceCriterion says otherwise, see source-criterion.ts). One more gets
// a 429 problem with `Retry-After: 1`, a hint, since a slot frees as soon as a request ends.
// A counted request gives its slot back when its response is finished or its client disconnects
// (the response's 'close' event, which node:http emits in both cases).
//
// The counts belong to each router the middleware is applied to, as Traefik builds a middleware
// per router, and to one worker process (not shared through Redis).
//
//   http.middlewares.max-ten.inFlightReq: { amount: 10, sourceCriterion: { ipStrategy: { depth: 1 } } }
import type { Http1Response } from '../http1/server-response.ts';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { sourceKey } from './source-criterion.ts';

export type InFlightReqConfig = NonNullable<MiddlewareConfig['inFlightReq']>;

export function inFlightReq(config: InFlightReqConfig, context: MiddlewareContext): Middleware {
  const amount = config.amount;
  if (!Number.isInteger(amount) || amount < 1) throw new MiddlewareConfigError(`amount: ${amount} must be a whole number, 1 or more`);
  const keyOf = sourceKey(config.sourceCriterion, 'host', 'sourceCriterion');
  const name = context.name;

  return (next) => {
    const counts = new Map<string, number>();
    // The source a response holds a slot for; one listener function serves every response.
    const holders = new WeakMap<Http1Response, string>();
    function release(this: Http1Response): void {
      const key = holders.get(this);
      if (key === undefined) return;
      holders.delete(this);
      const count = (counts.get(key) ?? 1) - 1;
      if (count <= 0) counts.delete(key);
      else counts.set(key, count);
    }

    return (exchange) => {
      const res = exchange.res;
      if (res.destroyed) return; // the client already left: nothing to count or answer
      const key = keyOf(exchange);
      const count = counts.get(key) ?? 0;
      if (count >= amount) {
        sendProblem(
          res,
          problem('too-many-in-flight', 'Too many requests', 429, `middleware ${JSON.stringify(name)} allows ${amount} request${amount === 1 ? '' : 's'} under way at once from this source`, { requestId: exchange.requestId }),
          { 'retry-after': '1' },
        );
        return;
      }
      counts.set(key, count + 1);
      holders.set(res, key);
      res.once('close', release);
      next(exchange);
    };
  };
}
