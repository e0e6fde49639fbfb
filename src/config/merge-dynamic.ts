// Merges the dynamic configs of several files (the file provider's `directory`) into one. Traefik logs a
// warning and keeps the first definition when two files define the same router, service or middleware;
// Stampgate makes it an error that names both files, because which one wins then depends on file names
// and a silently ignored definition is the hardest config bug to find.
import type { DynamicConfig } from './schema/dynamic.ts';
import { configIssue, type ConfigIssue, type PathSegment } from './config-error.ts';

export interface DynamicFragment {
  /** The file the fragment came from, as it should appear in messages. */
  readonly file: string;
  readonly config: DynamicConfig;
}

export interface MergedDynamicConfig {
  readonly config: DynamicConfig;
  /** Which file defined each named entry, keyed by `originKey(['http', 'routers', name])`. */
  readonly origins: ReadonlyMap<string, string>;
  /** Names defined in more than one file; each issue is in the later file and names the earlier one. */
  readonly issues: ConfigIssue[];
}

/** The key of `origins` for a path: its first three segments (`http.routers.<name>`, `tls.options.<name>`). */
export function originKey(segments: readonly PathSegment[]): string {
  return segments.slice(0, 3).map(String).join('\u0000');
}

type NamedSection = 'routers' | 'services' | 'middlewares' | 'serversTransports';
type TlsNamedSection = 'options' | 'stores';

const HTTP_SECTIONS: readonly NamedSection[] = ['routers', 'services', 'middlewares', 'serversTransports'];
const TLS_SECTIONS: readonly TlsNamedSection[] = ['options', 'stores'];

const NOUN: Readonly<Record<NamedSection | TlsNamedSection, string>> = {
  routers: 'router',
  services: 'service',
  middlewares: 'middleware',
  serversTransports: 'servers transport',
  options: 'TLS options',
  stores: 'TLS store',
};

/** Merges fragments in order; TLS certificates are concatenated, named entries must be unique. */
export function mergeDynamicConfigs(fragments: readonly DynamicFragment[]): MergedDynamicConfig {
  const origins = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  const http: Record<string, Record<string, unknown>> = {};
  const tls: Record<string, Record<string, unknown>> = {};
  const certificates: unknown[] = [];

  const take = (section: 'http' | 'tls', sub: NamedSection | TlsNamedSection, entries: Record<string, unknown> | undefined, file: string, into: Record<string, Record<string, unknown>>): void => {
    if (entries === undefined) return;
    const target = (into[sub] ??= {});
    for (const [name, value] of Object.entries(entries)) {
      const segments: PathSegment[] = [section, sub, name];
      const key = originKey(segments);
      const first = origins.get(key);
      if (first !== undefined) {
        issues.push(configIssue(segments, `${NOUN[sub]} "${name}" is defined in both ${first} and ${file}`, { file }));
        continue;
      }
      origins.set(key, file);
      target[name] = value;
    }
  };

  let sawHttp = false;
  let sawTls = false;
  for (const { file, config } of fragments) {
    if (config.http !== undefined) {
      sawHttp = true;
      for (const sub of HTTP_SECTIONS) take('http', sub, config.http[sub], file, http);
    }
    if (config.tls !== undefined) {
      sawTls = true;
      for (const sub of TLS_SECTIONS) take('tls', sub, config.tls[sub], file, tls);
      if (config.tls.certificates !== undefined) certificates.push(...config.tls.certificates);
    }
  }

  const merged: Record<string, unknown> = {};
  if (sawHttp) merged['http'] = http;
  if (sawTls) merged['tls'] = certificates.length > 0 ? { ...tls, certificates } : tls;
  return { config: merged as DynamicConfig, origins, issues };
}
