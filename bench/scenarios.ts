// A scenario is what every target is set up as (its `setup`, which each target either supports or
// declines with a reason) and what the load does. Three kinds:
//
//   http       the load generator (wrk or autocannon) sends `request` over keep-alive connections;
//              reported as req/s. Scenarios with `reference: true` also measure Stampgate set up as
//              in scenario (a) (the row `stampgate@a`) in the same interleaved rounds, and give
//              every row's ratio to it (the `×sg(a)` column).
//   websocket  a WebSocket echo upstream and a WebSocket load client (load-websocket.ts); reported
//              as echoed messages/s.
//   reload     Stampgate only: a large tenant directory's memory and config-reload time under load
//              (reload.ts); reported as its own table.
//
// The main upstream is the same for all http scenarios of a run and answers every path they use
// (see upstream.ts); the websocket scenario has its own echo upstream (ws-echo-server.ts).
//
// To add a scenario: add a `setup` kind below if none fits, teach the targets that can express it
// (each target says which kinds it supports and reports the others as unsupported), and add the
// scenario to `allScenarios`.

/** The upstream's fixed answer for scenario (a): a 101-byte JSON body. */
export const smallBody = jsonOfSize(101, 'stampgate-bench-upstream');

/** A header whose value is drawn at random, per request, from `count` tenant ids (tenantId(0 … count-1)). */
export interface TenantHeader {
  name: string;
  count: number;
}

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  /** Header names as written on the wire (`Host`, not `host`: wrk would send both). */
  headers: Record<string, string>;
  body: Buffer | null;
  /** Set per request by the load generator (a Lua `request()` in wrk, setupRequest in autocannon). */
  tenantHeader?: TenantHeader;
}

/** How the targets are configured for a scenario. */
export type TargetSetup =
  /** One catch-all route, plain proxy (Stampgate: the `stamps` service with one `default` stamp). */
  | { kind: 'plain-proxy' }
  /** Stampgate's `stamps` service with `stamps` stamps (s1 …) at the upstream and `tenants` tenants in the directory. */
  | { kind: 'stamps'; stamps: number; tenants: number }
  /** Plain proxy behind a realistic middleware chain, with metrics and an access log. */
  | { kind: 'chain' }
  /** `routers` routers, router i matching Host(`routerHost(i)`) && PathPrefix(`routerPath(i)`). */
  | { kind: 'routers'; routers: number }
  /** Plain proxy in front of the WebSocket echo upstream. */
  | { kind: 'websocket' };

export type SetupKind = TargetSetup['kind'];

interface ScenarioBase {
  /** Short name used by --scenario and in results: `a`, `d-1k`, `g-1m`, … */
  id: string;
  /** The letter this scenario belongs to (`d` covers `d-1k` and `d-100k`). */
  letter: string;
  title: string;
  /** Selected by its id only, never by its letter (the smoke run's small `g-10k`). */
  idOnly?: boolean;
}

export interface HttpScenario extends ScenarioBase {
  kind: 'http';
  setup: TargetSetup;
  request: LoadRequest;
  /** What a correct proxy hands back, byte for byte: checked once per target before the load. */
  expectedBody: Buffer;
  /** Measure `stampgate@a` (Stampgate as in scenario a) in the same rounds, as the ratios' reference. */
  reference: boolean;
  /** The target for the `stampgate` row: at least this × stampgate@a's req/s. */
  minRatioToA?: number;
}

export interface WebSocketScenario extends ScenarioBase {
  kind: 'websocket';
  setup: TargetSetup;
  /** Size of each text message the client sends (and the upstream echoes). */
  messageBytes: number;
}

export interface ReloadScenario extends ScenarioBase {
  kind: 'reload';
  tenants: number;
  stamps: number;
  /** The targets (checked when set): the reload's time, and the directory's heap. */
  maxReloadMs?: number;
  maxDirectoryBytes?: number;
}

export type Scenario = HttpScenario | WebSocketScenario | ReloadScenario;

const plainProxy: TargetSetup = { kind: 'plain-proxy' };

/** Sizes for scenario (d); the upstream serves `/body/<bytes>` for each of them. */
export const bodySizes = [1024, 100 * 1024] as const;

/** Scenario (b): stamps and tenants in the gateway (every stamp at the same upstream). */
export const stampCount = 10;
export const tenantCount = 100_000;
/** Scenario (e): routers in the table, and which one the request matches. */
export const routerCount = 1000;

/** The id of tenant `i`: `tenant-0000042`; the wrk script builds the same with string.format(tenantIdFormat, i). */
export function tenantId(i: number): string {
  return `tenant-${String(i).padStart(7, '0')}`;
}
export const tenantIdFormat = 'tenant-%07d';

/** Stamp ids s1 … sN. */
export function stampId(i: number): string {
  return `s${i + 1}`;
}

/** Router i (0-based) of scenario (e): its name, host and path prefix, all the same length so that the rules tie on priority. */
export function routerName(i: number): string {
  return `r${String(i + 1).padStart(4, '0')}`;
}
export const routerHost = (i: number): string => `${routerName(i)}.bench.test`;
export const routerPath = (i: number): string => `/${routerName(i)}`;

export const allScenarios: Scenario[] = [
  {
    kind: 'http',
    id: 'a',
    letter: 'a',
    title: 'one route, plain proxy, GET / → 101-byte JSON',
    setup: plainProxy,
    request: { method: 'GET', path: '/', headers: {}, body: null },
    expectedBody: smallBody,
    reference: false,
  },
  {
    kind: 'http',
    id: 'b-stamp',
    letter: 'b',
    title: `stamps service, stamp by query: GET /?stamp=s1 (${stampCount} stamps, ${tenantCount.toLocaleString('en-US')} tenants in the directory)`,
    setup: { kind: 'stamps', stamps: stampCount, tenants: tenantCount },
    request: { method: 'GET', path: '/?stamp=s1', headers: {}, body: null },
    expectedBody: smallBody,
    reference: true,
    minRatioToA: 0.85,
  },
  {
    kind: 'http',
    id: 'b-tenant',
    letter: 'b',
    title: `stamps service, tenant by header: GET / with X-Tenant-Id drawn at random from ${tenantCount.toLocaleString('en-US')} tenants (${stampCount} stamps)`,
    setup: { kind: 'stamps', stamps: stampCount, tenants: tenantCount },
    request: { method: 'GET', path: '/', headers: {}, body: null, tenantHeader: { name: 'X-Tenant-Id', count: tenantCount } },
    expectedBody: smallBody,
    reference: true,
    minRatioToA: 0.85,
  },
  {
    kind: 'http',
    id: 'c',
    letter: 'c',
    title: 'realistic chain: request id, rateLimit (in memory, never reached), headers securityPreset, Prometheus metrics, JSON access log to a file (buffered)',
    setup: { kind: 'chain' },
    request: { method: 'GET', path: '/', headers: {}, body: null },
    expectedBody: smallBody,
    reference: true,
    minRatioToA: 0.85,
  },
  ...bodySizes.map((size): Scenario => ({
    kind: 'http',
    id: `d-${size / 1024}k`,
    letter: 'd',
    title: `bodies: POST ${size / 1024} KiB JSON → ${size / 1024} KiB JSON answer`,
    setup: plainProxy,
    request: { method: 'POST', path: `/body/${size}`, headers: { 'content-type': 'application/json' }, body: jsonOfSize(size, 'request') },
    expectedBody: jsonOfSize(size, 'response'),
    reference: false,
  })),
  ...([['mid', routerCount / 2 - 1], ['last', routerCount - 1]] as const).map(([where, i]): Scenario => ({
    kind: 'http',
    id: `e-${where}`,
    letter: 'e',
    title: `${routerCount.toLocaleString('en-US')} routers (Host && PathPrefix), the request matching router ${i + 1} (${where === 'mid' ? 'the middle' : 'the last'} in priority order)`,
    setup: { kind: 'routers', routers: routerCount },
    request: { method: 'GET', path: `${routerPath(i)}/items`, headers: { Host: routerHost(i) }, body: null },
    expectedBody: smallBody,
    reference: true,
    minRatioToA: 0.9,
  })),
  {
    kind: 'websocket',
    id: 'f',
    letter: 'f',
    title: 'WebSocket: 128-byte text messages echoed by the upstream, one in flight per connection',
    setup: { kind: 'websocket' },
    messageBytes: 128,
  },
  ...([[100_000, '100k'], [1_000_000, '1m'], [10_000, '10k']] as const).map(([tenants, label]): Scenario => ({
    kind: 'reload',
    id: `g-${label}`,
    letter: 'g',
    title: `config reload and memory with ${tenants.toLocaleString('en-US')} tenants`,
    tenants,
    stamps: stampCount,
    ...(tenants === 1_000_000 ? { maxReloadMs: 2000, maxDirectoryBytes: 200e6 } : {}),
    ...(tenants === 10_000 ? { idOnly: true } : {}),
  })),
];

/** `a,d` → the scenarios with those ids or letters, in the order given; throws on an unknown name. */
export function selectScenarios(names: string[]): Scenario[] {
  const selected: Scenario[] = [];
  for (const name of names) {
    const matches = allScenarios.filter((s) => s.id === name || (s.letter === name && s.idOnly !== true));
    if (matches.length === 0) {
      throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${allScenarios.map((s) => s.id).join(', ')} (a letter selects all of its variants)`);
    }
    for (const match of matches) if (!selected.includes(match)) selected.push(match);
  }
  return selected;
}

export function scenarioA(): HttpScenario {
  const a = allScenarios.find((s) => s.id === 'a');
  if (a?.kind !== 'http') throw new Error('scenario a is missing');
  return a;
}

/** A JSON object of exactly `size` bytes: `{"kind":"…","pad":"xxxx…"}`. */
export function jsonOfSize(size: number, kind: string): Buffer {
  const empty = JSON.stringify({ kind, pad: '' });
  if (size < empty.length) throw new Error(`cannot make a ${size}-byte JSON body`);
  return Buffer.from(JSON.stringify({ kind, pad: 'x'.repeat(size - empty.length) }));
}
