// Command-line options of `node bench/run.ts` (npm run bench).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  smoke: boolean;
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  targets: string[] | null;
  scenarios: string[];
  load: 'wrk' | 'autocannon' | null;
  upstream: 'nginx' | 'node' | null;
  install: boolean;
  outDir: string;
  help: boolean;
}

export const defaults = { durationS: 8, warmupS: 3, rounds: 3, connections: 50 };
export const smokeDefaults = { durationS: 2, warmupS: 1, rounds: 2 };
export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

export const usage = `Usage: node bench/run.ts [options]      (npm run bench -- [options])

  --smoke              a short check that the harness works: direct + stampgate, 2 rounds of 2 s,
                       scenario a and a small g (10,000 tenants), nothing installed; exits non-zero
                       if a target fails to start or has errors
  --duration <s>       seconds of load per target per round (default ${defaults.durationS}; smoke ${smokeDefaults.durationS})
  --warmup <s>         seconds of unmeasured load per target before the rounds (default ${defaults.warmupS}; smoke ${smokeDefaults.warmupS})
  --rounds <n>         interleaved rounds A B C … A B C … (default ${defaults.rounds}; smoke ${smokeDefaults.rounds})
  --connections <n>    concurrent connections of the load generator (default ${defaults.connections})
  --targets a,b,c      targets to run (default: all): direct, stampgate, stampgate-workers, nginx,
                       haproxy, caddy, fastify-http-proxy, http-proxy, fast-gateway, node-floor,
                       net-floor
  --scenario a,d       scenarios (default a; a letter selects all of its variants):
                         a  one route, plain proxy, GET /
                         b  stamps service: by ?stamp= (b-stamp), by X-Tenant-Id of 100,000 (b-tenant)
                         c  realistic chain: rateLimit, headers, metrics, access log
                         d  1 KiB and 100 KiB POST bodies (d-1k, d-100k)
                         e  1,000 routers, matching the middle one (e-mid) or the last (e-last)
                         f  WebSocket echo messages per second
                         g  reload time and memory with 100,000 and 1,000,000 tenants (g-100k, g-1m;
                            g-10k, smoke's, by name only)
                       b, c and e also measure stampgate@a (Stampgate as in a) in the same rounds
  --load wrk|autocannon  force the load generator (default: wrk when on PATH, else autocannon)
  --upstream nginx|node  force the upstream (default: NGINX when installed, else node:http)
  --no-install         never apt-get install missing tools (smoke never installs)
  --out <dir>          where latest.json and latest.svg go (default bench/results;
                       smoke: ${path.join(os.tmpdir(), 'stampgate-smoke-results')})
  -h, --help           this text`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      targets: { type: 'string' },
      scenario: { type: 'string' },
      load: { type: 'string' },
      upstream: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const smoke = values.smoke;
  const base = smoke ? { ...defaults, ...smokeDefaults } : defaults;
  const load = values.load ?? null;
  if (load !== null && load !== 'wrk' && load !== 'autocannon') throw new Error(`--load must be wrk or autocannon, not ${JSON.stringify(load)}`);
  const upstream = values.upstream ?? null;
  if (upstream !== null && upstream !== 'nginx' && upstream !== 'node') throw new Error(`--upstream must be nginx or node, not ${JSON.stringify(upstream)}`);
  return {
    smoke,
    durationS: integer('--duration', values.duration, base.durationS, 1, 300),
    warmupS: integer('--warmup', values.warmup, base.warmupS, 0, 60),
    rounds: integer('--rounds', values.rounds, base.rounds, 1, 20),
    connections: integer('--connections', values.connections, base.connections, 1, 10_000),
    targets: list(values.targets),
    // Smoke also runs a small (g): a 10,000-tenant directory reloaded under load (a few seconds).
    scenarios: list(values.scenario) ?? (smoke ? ['a', 'g-10k'] : ['a']),
    load,
    upstream,
    install: !smoke && !values['no-install'],
    outDir: values.out ? path.resolve(values.out) : smoke ? path.join(os.tmpdir(), 'stampgate-smoke-results') : resultsDir,
    help: values.help,
  };
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return value;
}

function list(raw: string | undefined): string[] | null {
  if (raw === undefined) return null;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : null;
}
