// What a per-source limit (inFlightReq, rateLimit) counts by, Traefik's sourceCriterion: the
// client address by an ipStrategy (see client-ip.ts), a request header's value, the request host,
// or (Stampgate) the tenant. At most one may be set; with none, the middleware's default applies
// (inFlightReq: the host, rateLimit: the client address, as in Traefik).
//
// A request without the chosen header or tenant counts under the key '' (as Traefik: such
// requests share one budget).
import type { Exchange } from '../pipeline/exchange.ts';
import { clientIpStrategy, type IpStrategyConfig } from './client-ip.ts';
import { MiddlewareConfigError } from './middleware.ts';

export interface SourceCriterionConfig {
  ipStrategy?: IpStrategyConfig | undefined;
  requestHeaderName?: string | undefined;
  requestHost?: boolean | undefined;
  tenant?: boolean | undefined;
}

export type SourceKeyOf = (exchange: Exchange) => string;

export function sourceKey(criterion: SourceCriterionConfig | undefined, defaultSource: 'ip' | 'host', field: string): SourceKeyOf {
  const chosen: string[] = [];
  if (criterion?.ipStrategy !== undefined) chosen.push('ipStrategy');
  if (criterion?.requestHeaderName !== undefined && criterion.requestHeaderName !== '') chosen.push('requestHeaderName');
  if (criterion?.requestHost === true) chosen.push('requestHost');
  if (criterion?.tenant === true) chosen.push('tenant');
  if (chosen.length > 1) throw new MiddlewareConfigError(`${field}: ${chosen.join(' and ')} are mutually exclusive; choose one`);
  const source = chosen[0] ?? (defaultSource === 'ip' ? 'ipStrategy' : 'requestHost');
  switch (source) {
    case 'ipStrategy':
      return clientIpStrategy(criterion?.ipStrategy, `${field}.ipStrategy`);
    case 'requestHeaderName': {
      const header = criterion!.requestHeaderName!.trim().toLowerCase();
      return (exchange) => {
        const value = exchange.req.headers[header];
        return typeof value === 'string' ? value : value === undefined ? '' : (value[0] ?? '');
      };
    }
    case 'tenant':
      return tenantOf;
    default:
      return hostOf;
  }
}

function hostOf(exchange: Exchange): string {
  return exchange.host;
}

function tenantOf(exchange: Exchange): string {
  return exchange.tenant ?? '';
}
