// Traefik v3 keys that Stampgate does not implement. The schemas are closed, so such a key is already an
// error; this table only makes the message say what it is ("Traefik middleware "circuitBreaker" is not
// supported by Stampgate") instead of "unknown key", so that someone moving a Traefik file over knows
// it is a missing feature and not a typo. Keys are grouped by where they appear, as a "shape": the path
// with `*` for a name the user chose and `[]` for a list item.

export interface UnsupportedGroup {
  /** How to call such a key in a message: `Traefik middleware "x"`, `Traefik provider "x"`, `Traefik key "x"`. */
  readonly kind: 'key' | 'middleware' | 'provider' | 'section';
  readonly keys: readonly string[];
  /** Appended to the message: what to do instead. */
  readonly hint?: string;
}

export type UnsupportedTable = Readonly<Record<string, UnsupportedGroup>>;

const IP_STRATEGY: UnsupportedGroup = { kind: 'key', keys: ['ipv6Subnet'] };

export const UNSUPPORTED_STATIC: UnsupportedTable = {
  '': {
    kind: 'section',
    keys: ['global', 'serversTransport', 'tcpServersTransport', 'certificatesResolvers', 'hostResolver', 'experimental', 'core', 'spiffe', 'ocsp'],
  },
  'entryPoints.*': { kind: 'key', keys: ['asDefault', 'allowACMEByPass', 'reusePort', 'http2', 'http3', 'udp', 'proxyProtocol', 'observability'] },
  'entryPoints.*.http': { kind: 'key', keys: ['encodeQuerySemicolons', 'sanitizePath', 'encodedCharacters'] },
  'entryPoints.*.http.tls': { kind: 'key', keys: ['domains'] },
  providers: {
    kind: 'provider',
    keys: ['docker', 'swarm', 'kubernetesIngress', 'kubernetesIngressNGINX', 'kubernetesCRD', 'kubernetesGateway', 'consulCatalog', 'nomad', 'ecs', 'consul', 'etcd', 'zooKeeper', 'redis', 'http', 'plugin', 'rest'],
    hint: 'Stampgate has the file provider and its own stampgate provider',
  },
  'providers.file': { kind: 'key', keys: ['debugLogGeneratedTemplate'], hint: 'Stampgate does not render Go templates in config files' },
  api: { kind: 'key', keys: ['basePath', 'disableDashboardAd'] },
  ping: { kind: 'key', keys: ['manualRouting', 'terminatingStatusCode'] },
  log: { kind: 'key', keys: ['format', 'filePath', 'noColor', 'maxSize', 'maxAge', 'maxBackups', 'compress'] },
};

export const UNSUPPORTED_DYNAMIC: UnsupportedTable = {
  '': { kind: 'section', keys: ['tcp', 'udp'], hint: 'Stampgate routes HTTP only' },
  'http.routers.*': { kind: 'key', keys: ['ruleSyntax', 'observability'] },
  'http.middlewares.*': {
    kind: 'middleware',
    keys: ['circuitBreaker', 'contentType', 'digestAuth', 'errors', 'grpcWeb', 'ipWhiteList', 'passTLSClientCert', 'plugin'],
  },
  'http.middlewares.*.headers': { kind: 'key', keys: ['hostsProxyHeaders', 'sslProxyHeaders', 'publicKey', 'isDevelopment'] },
  'http.middlewares.*.forwardAuth': { kind: 'key', keys: ['tls', 'headerField'] },
  'http.middlewares.*.rateLimit.redis': { kind: 'key', keys: ['tls', 'poolSize', 'minIdleConns', 'maxActiveConns', 'readTimeout', 'writeTimeout', 'dialTimeout'] },
  'http.middlewares.*.rateLimit.sourceCriterion.ipStrategy': IP_STRATEGY,
  'http.middlewares.*.inFlightReq.sourceCriterion.ipStrategy': IP_STRATEGY,
  'http.middlewares.*.ipAllowList.ipStrategy': IP_STRATEGY,
  'http.services.*.loadBalancer.healthCheck': { kind: 'key', keys: ['mode'] },
  'http.services.*.loadBalancer.sticky.cookie': { kind: 'key', keys: ['domain'] },
  'http.serversTransports.*': { kind: 'key', keys: ['serverName', 'certificates', 'disableHTTP2', 'peerCertURI', 'spiffe'] },
  'http.serversTransports.*.forwardingTimeouts': { kind: 'key', keys: ['readIdleTimeout', 'pingTimeout'] },
  'tls.options.*': { kind: 'key', keys: ['curvePreferences', 'clientAuth', 'preferServerCipherSuites', 'disableSessionTickets'] },
};

/** Keys of the other kind of config: a static key in a dynamic file, or the reverse, is a common mix-up. */
export const STATIC_ONLY_ROOT_KEYS: readonly string[] = ['entryPoints', 'providers', 'api', 'ping', 'log', 'workers'];
export const DYNAMIC_ONLY_ROOT_KEYS: readonly string[] = ['http', 'tls'];

/** The group an unknown key belongs to at this shape, matched case-insensitively, or undefined. */
export function findUnsupported(table: UnsupportedTable, shape: string, key: string): { group: UnsupportedGroup; name: string } | undefined {
  const group = table[shape];
  if (group === undefined) return undefined;
  const lower = key.toLowerCase();
  const name = group.keys.find((candidate) => candidate.toLowerCase() === lower);
  return name === undefined ? undefined : { group, name };
}
