// ipAllowList: lets through only requests whose client address (by the ipStrategy, see
// client-ip.ts) is in sourceRange; others get a 403 problem, or `rejectStatusCode`, as Traefik v3.
// Deviation: rejectStatusCode must be an error status (400-599); Traefik takes any known status.
//
//   http.middlewares.office.ipAllowList: { sourceRange: ["10.0.0.0/8", "2001:db8::/32"] }
import { STATUS_CODES } from 'node:http';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { clientIpStrategy } from './client-ip.ts';
import { compileAddressRanges } from './ip-ranges.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';

export type IpAllowListConfig = NonNullable<MiddlewareConfig['ipAllowList']>;

export function ipAllowList(config: IpAllowListConfig, context: MiddlewareContext): Middleware {
  if (config.sourceRange.length === 0) throw new MiddlewareConfigError('sourceRange: at least one address or range is needed');
  const allowed = compileAddressRanges(config.sourceRange, 'sourceRange');
  const clientIpOf = clientIpStrategy(config.ipStrategy, 'ipStrategy');
  const status = config.rejectStatusCode ?? 403;
  if (!Number.isInteger(status) || status < 400 || status > 599 || STATUS_CODES[status] === undefined) {
    throw new MiddlewareConfigError(`rejectStatusCode: ${status} is not a known error status (400-599)`);
  }
  const title = STATUS_CODES[status]!;
  const name = context.name;

  return (next) => (exchange) => {
    const ip = clientIpOf(exchange);
    if (allowed(ip)) {
      next(exchange);
      return;
    }
    const detail = ip === ''
      ? `middleware ${JSON.stringify(name)} found no client address by its ipStrategy`
      : `client address ${ip} is not in the source ranges that middleware ${JSON.stringify(name)} allows`;
    sendProblem(exchange.res, problem('ip-not-allowed', title, status, detail, { requestId: exchange.requestId }));
  };
}
