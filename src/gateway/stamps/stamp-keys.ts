// Where a request's stamp key comes from. The configured sources are compiled once into reader
// functions, tried in order; the first that finds a non-empty value decides. A `stamp` key names a
// stamp id or alias; a `tenant` key goes through the tenant directory.
import type { StampKeySourceConfig } from '../../config/schema/dynamic.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { queryParam } from '../proxy/query-string.ts';

export type StampKeyKind = 'stamp' | 'tenant';

export interface StampKeyReader {
  kind: StampKeyKind;
  /** Human description for problems and the API, e.g. `query "stamp"`. */
  label: string;
  read: (exchange: Exchange) => string | undefined;
  /** For `?stamp=`-style keys: the query parameter to remove before forwarding. */
  queryParam: string | null;
}

/** The seed's order: `?stamp=`, `?tenant=`, `X-Stamp-Id`, `X-Tenant-Id`. */
export const defaultStampKeys: StampKeySourceConfig[] = [
  { from: 'query', name: 'stamp', kind: 'stamp' },
  { from: 'query', name: 'tenant', kind: 'tenant' },
  { from: 'header', name: 'X-Stamp-Id', kind: 'stamp' },
  { from: 'header', name: 'X-Tenant-Id', kind: 'tenant' },
];

export function compileStampKeys(sources: readonly StampKeySourceConfig[]): StampKeyReader[] {
  return sources.map((source) => {
    switch (source.from) {
      case 'query': {
        const name = source.name ?? source.kind;
        return { kind: source.kind, label: `query "${name}"`, queryParam: source.kind === 'stamp' ? name : null, read: (ex) => (ex.query === '' ? undefined : queryParam(ex.query, name)) };
      }
      case 'header': {
        const name = (source.name ?? (source.kind === 'stamp' ? 'X-Stamp-Id' : 'X-Tenant-Id')).toLowerCase();
        return { kind: source.kind, label: `header "${name}"`, queryParam: null, read: (ex) => headerValue(ex.req.headers[name]) };
      }
      case 'host': {
        const index = source.index ?? 0;
        return { kind: source.kind, label: `host label ${index}`, queryParam: null, read: (ex) => hostLabel(ex.host, index) };
      }
      case 'path': {
        const index = source.index ?? 0;
        return { kind: source.kind, label: `path segment ${index}`, queryParam: null, read: (ex) => pathSegment(ex.path, index) };
      }
      case 'jwt':
        // The jwt middleware verifies the token and puts the claim named by its tenantClaim here.
        return { kind: source.kind, label: 'jwt claim', queryParam: null, read: (ex) => ex.tenant ?? undefined };
    }
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `acme` from `acme.example.com` (index 0); undefined for an IP address or too few labels. */
function hostLabel(host: string, index: number): string | undefined {
  if (host === '' || /^[0-9.]+$/.test(host) || host.includes(':')) return undefined;
  const labels = host.split('.');
  return labels.length > index + 1 ? labels[index] : undefined;
}

/** `acme` from `/acme/libros` (index 0). */
function pathSegment(path: string, index: number): string | undefined {
  let start = 1;
  for (let i = 0; i < index; i++) {
    const slash = path.indexOf('/', start);
    if (slash < 0) return undefined;
    start = slash + 1;
  }
  const end = path.indexOf('/', start);
  const segment = path.slice(start, end < 0 ? path.length : end);
  return segment === '' ? undefined : segment;
}
