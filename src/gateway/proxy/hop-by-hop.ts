// Headers that describe one connection, not the message (RFC 9110 §7.6.1): a proxy must not pass
// them on. The list is Go's httputil.ReverseProxy's, which Traefik uses.
const hopByHop = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isHopByHop(lowerCaseName: string): boolean {
  return hopByHop.has(lowerCaseName);
}

/** Extra header names that a Connection header declares hop-by-hop, lower-cased; null when none. */
export function connectionListed(connection: string | undefined): Set<string> | null {
  if (!connection) return null;
  let listed: Set<string> | null = null;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}
