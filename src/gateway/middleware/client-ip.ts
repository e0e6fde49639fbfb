// Which address a request comes from, by Traefik's ipStrategy: without one, the client address the
// entrypoint established (`exchange.clientIp`, the TCP peer unless trusted proxies are set up);
// with `depth: n`, the n-th X-Forwarded-For entry from the right; with `excludedIPs`, the
// right-most X-Forwarded-For entry not in those ranges. `depth` wins over `excludedIPs`, as in
// Traefik. An entry that is missing gives '' (which no allow list contains).
//
// X-Forwarded-For is read as node:http joins repeated header lines (", "); it is trustworthy only
// as far as the proxies in front of the gateway are: configure depth to the number of them.
// Used by ipAllowList, inFlightReq and rateLimit (through source-criterion.ts).
import type { Exchange } from '../pipeline/exchange.ts';
import { compileAddressRanges, type AddressTest } from './ip-ranges.ts';
import { MiddlewareConfigError } from './middleware.ts';

export interface IpStrategyConfig {
  depth?: number | undefined;
  excludedIPs?: string[] | undefined;
}

export type ClientIpOf = (exchange: Exchange) => string;

export function clientIpStrategy(ipStrategy: IpStrategyConfig | undefined, field: string): ClientIpOf {
  const depth = ipStrategy?.depth ?? 0;
  if (!Number.isInteger(depth) || depth < 0) throw new MiddlewareConfigError(`${field}.depth: must be a whole number, 0 or more`);
  if (depth > 0) return (exchange) => forwardedForFromRight(forwardedFor(exchange), depth);
  const excluded = ipStrategy?.excludedIPs;
  if (excluded !== undefined && excluded.length > 0) {
    const isExcluded = compileAddressRanges(excluded, `${field}.excludedIPs`);
    return (exchange) => rightMostNotExcluded(forwardedFor(exchange), isExcluded);
  }
  return remoteClient;
}

function remoteClient(exchange: Exchange): string {
  return exchange.clientIp;
}

function forwardedFor(exchange: Exchange): string {
  const value = exchange.req.headers['x-forwarded-for'];
  return typeof value === 'string' ? value : '';
}

/** The `depth`-th comma-separated entry counted from the right (1 = last), trimmed; '' when there are fewer. */
export function forwardedForFromRight(list: string, depth: number): string {
  let end = list.length;
  for (let n = 1; ; n++) {
    const comma = end === 0 ? -1 : list.lastIndexOf(',', end - 1);
    if (n === depth) return list.slice(comma + 1, end).trim();
    if (comma < 0) return '';
    end = comma;
  }
}

/** The right-most entry that is not excluded, trimmed; '' when all are. */
export function rightMostNotExcluded(list: string, isExcluded: AddressTest): string {
  let end = list.length;
  for (;;) {
    const comma = end === 0 ? -1 : list.lastIndexOf(',', end - 1);
    const entry = list.slice(comma + 1, end).trim();
    if (!isExcluded(entry)) return entry;
    if (comma < 0) return '';
    end = comma;
  }
}
