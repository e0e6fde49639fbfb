// An entrypoint's `http.redirections.entryPoint`: every request is sent to another entrypoint
// (typically HTTP → HTTPS) with the scheme and port of that entrypoint, as Traefik does.
import type { EntryPointConfig } from '../config/schema/static.ts';
import { parseAddress } from './entrypoint.ts';
import type { Http1Request } from './http1/server-request.ts';
import type { Http1Response } from './http1/server-response.ts';
import { hostWithoutPort } from './pipeline/create-exchange.ts';

export type Redirection = (req: Http1Request, res: Http1Response) => void;

/** `listeningPort` gives the port the target entrypoint really listens on (its address may say 0). */
export function redirectionFor(name: string, entryPoints: Record<string, EntryPointConfig>, listeningPort: (entryPoint: string) => number | undefined): Redirection | null {
  const redirect = entryPoints[name]?.http?.redirections?.entryPoint;
  if (redirect === undefined) return null;
  const target = entryPoints[redirect.to];
  if (target === undefined) throw new Error(`entryPoints.${name}.http.redirections.entryPoint.to: entrypoint ${JSON.stringify(redirect.to)} is not defined`);
  const scheme = redirect.scheme ?? 'https';
  const configuredPort = parseAddress(target.address).port;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const permanent = redirect.permanent ?? true;
  return (req, res) => {
    const host = req.headers.host;
    if (host === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('a Host header is needed to redirect');
      return;
    }
    const hostname = hostWithoutPort(host);
    const port = listeningPort(redirect.to) ?? configuredPort;
    const portSuffix = port === defaultPort ? '' : `:${port}`;
    const location = `${scheme}://${hostname.includes(':') ? `[${hostname}]` : hostname}${portSuffix}${req.url ?? '/'}`;
    // Traefik: 301/302 for GET, 308/307 otherwise, so a non-GET keeps its method and body.
    const get = req.method === 'GET' || req.method === 'HEAD';
    res.writeHead(permanent ? (get ? 301 : 308) : get ? 302 : 307, { location, 'content-length': 0 });
    res.end();
  };
}
