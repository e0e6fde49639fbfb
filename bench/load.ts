// The load generator: wrk when it is on PATH (one thread, as the reference figures), else
// autocannon in its own Node.js process. Both report the same LoadResult; every run is bounded
// in time (its duration plus a margin, then it is killed).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from './processes.ts';
import { tenantIdFormat, type LoadRequest } from './scenarios.ts';
import { findTool, versionLine, wrk as wrkTool } from './system-packages.ts';

export interface LoadSettings {
  connections: number;
  durationS: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  /** The slowest request (or echo) of the run. */
  maxUs: number;
  /** Socket errors, timeouts and non-2xx/3xx answers. */
  errors: number;
  /** The errors by kind, e.g. "read 3, status 10"; '' when none. */
  errorDetail: string;
}

export interface LoadGenerator {
  name: 'wrk' | 'autocannon';
  /** e.g. "wrk 4.1.0 -t1 -c50" */
  description: string;
  run(url: string, request: LoadRequest, settings: LoadSettings): Promise<LoadResult>;
}

const marker = 'BENCH_RESULT ';
/** How many requests with distinct tenant ids wrk prepares (see wrkScript). */
const tenantRequestPool = 100_000;

export function chooseLoadGenerator(forced: 'wrk' | 'autocannon' | null, tmpDir: string, connections: number): LoadGenerator {
  const wrkPath = findTool(wrkTool);
  if (forced === 'wrk' && wrkPath === null) throw new Error('--load wrk given, but wrk is not installed (apt-get install wrk)');
  if (wrkPath !== null && forced !== 'autocannon') return wrkGenerator(wrkPath, tmpDir, connections);
  return autocannonGenerator(tmpDir, connections);
}

function wrkGenerator(binary: string, tmpDir: string, connections: number): LoadGenerator {
  const version = /wrk\s+(?:\S*\/)?(\d[\w.]*)/.exec(versionLine(binary, ['-v']))?.[1] ?? '';
  let scripts = 0;
  return {
    name: 'wrk',
    description: `wrk ${version} -t1 -c${connections}`.replace('  ', ' '),
    async run(url, request, settings) {
      const script = path.join(tmpDir, `wrk-${++scripts}.lua`);
      writeFileSync(script, wrkScript(request, tmpDir, scripts));
      const args = ['-t1', `-c${settings.connections}`, `-d${settings.durationS}s`, '--timeout', '5s', '-s', script, new URL(request.path, url).href];
      const fields = await runAndParse('wrk', binary, args, settings.durationS);
      return loadResult(
        { requests: fields.requests, durationS: Number(fields.duration_us) / 1e6, p50Us: fields.p50_us, p99Us: fields.p99_us, maxUs: fields.max_us },
        { connect: fields.connect, read: fields.read, write: fields.write, status: fields.status, timeout: fields.timeout },
      );
    },
  };
}

/** A wrk Lua script that sets the request and prints the summary as one JSON line. */
function wrkScript(request: LoadRequest, tmpDir: string, n: number): string {
  const lines = [`wrk.method = "${request.method}"`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  if (request.body) {
    const bodyFile = path.join(tmpDir, `wrk-${n}.body`);
    writeFileSync(bodyFile, request.body);
    lines.push(`local f = assert(io.open(${luaString(bodyFile)}, "rb"))`, 'wrk.body = f:read("*a")', 'f:close()');
  }
  if (request.tenantHeader) {
    // Every request carries a tenant id drawn at random. The requests are formatted once, in init
    // (all of them for up to 100,000 tenants, else 100,000 drawn at random), so that request()
    // costs wrk one table read rather than a string format per request.
    const { name, count } = request.tenantHeader;
    lines.push(
      `local count = ${count}`,
      `local pool = math.min(count, ${tenantRequestPool})`,
      'local prepared = {}',
      'init = function(args)',
      '  math.randomseed(12345)',
      '  for i = 1, pool do',
      '    local id = (pool == count) and (i - 1) or math.random(0, count - 1)',
      `    wrk.headers[${luaString(name)}] = string.format(${luaString(tenantIdFormat)}, id)`,
      '    prepared[i] = wrk.format()',
      '  end',
      'end',
      'request = function() return prepared[math.random(pool)] end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${marker}{"requests":%.0f,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',`,
    '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

function luaString(text: string): string {
  return JSON.stringify(text); // a JSON string of printable ASCII is a valid Lua string
}

const autocannonRunner = fileURLToPath(new URL('./load-autocannon.ts', import.meta.url));

function autocannonGenerator(tmpDir: string, connections: number): LoadGenerator {
  let runs = 0;
  return {
    name: 'autocannon',
    description: `autocannon (own process) -c${connections}`,
    async run(url, request, settings) {
      const optionsFile = path.join(tmpDir, `autocannon-${++runs}.json`);
      writeFileSync(
        optionsFile,
        JSON.stringify({
          url: new URL(request.path, url).href,
          connections: settings.connections,
          duration: settings.durationS,
          method: request.method,
          headers: request.headers,
          body: request.body?.toString('utf8'),
          tenantHeader: request.tenantHeader,
        }),
      );
      const fields = await runAndParse('autocannon', process.execPath, [autocannonRunner, optionsFile], settings.durationS);
      return loadResult(
        { requests: fields.requests, durationS: fields.durationS, p50Us: fields.p50Us, p99Us: fields.p99Us, maxUs: fields.maxUs },
        { errors: fields.errors, timeouts: fields.timeouts, status: fields.non2xx },
      );
    },
  };
}

const webSocketRunner = fileURLToPath(new URL('./load-websocket.ts', import.meta.url));
let webSocketRuns = 0;

/**
 * Scenario (f)'s load: load-websocket.ts in its own process, `connections` WebSocket connections
 * each sending a `messageBytes` text message and the next one as soon as its echo is back, for
 * `durationS`. `requests` in the result are echoed messages.
 */
export async function runWebSocketLoad(url: string, messageBytes: number, settings: LoadSettings, tmpDir: string): Promise<LoadResult> {
  const optionsFile = path.join(tmpDir, `websocket-load-${++webSocketRuns}.json`);
  writeFileSync(optionsFile, JSON.stringify({ url: url.replace(/^http/, 'ws'), connections: settings.connections, durationS: settings.durationS, messageBytes }));
  const fields = await runAndParse('websocket load', process.execPath, [webSocketRunner, optionsFile], settings.durationS);
  return loadResult(
    { requests: fields.messages, durationS: fields.durationS, p50Us: fields.p50Us, p99Us: fields.p99Us, maxUs: fields.maxUs },
    { connect: fields.connectFailures, error: fields.errors, closed: fields.closed, mismatch: fields.mismatches, timeout: fields.timeouts },
  );
}

/** A LoadResult from a load process's figures (as parsed from its result line) and its error counts by kind. */
function loadResult(figures: Record<'requests' | 'durationS' | 'p50Us' | 'p99Us' | 'maxUs', number | undefined>, errorKinds: Record<string, number | undefined>): LoadResult {
  const requests = Number(figures.requests);
  const durationS = Number(figures.durationS);
  return {
    requests,
    durationS,
    rps: requests / durationS,
    p50Us: Number(figures.p50Us),
    p99Us: Number(figures.p99Us),
    maxUs: Number(figures.maxUs),
    errors: Object.values(errorKinds).reduce((sum: number, n) => sum + Number(n), 0),
    errorDetail: describeErrors(errorKinds),
  };
}
/** Runs a load process, kills it if it overruns, and returns the fields of its result line. */
async function runAndParse(name: string, command: string, args: string[], durationS: number): Promise<Record<string, number>> {
  let resultLine: string | null = null;
  const proc = await startProcess(name, command, args, {
    onStdoutLine(line) {
      if (line.startsWith(marker)) resultLine = line.slice(marker.length);
    },
  });
  const limitMs = (durationS + 15) * 1000;
  const timer = setTimeout(() => void proc.stop(), limitMs);
  await proc.exited;
  clearTimeout(timer);
  if (resultLine === null) {
    throw new Error(`${name} ${proc.exitDescription ?? 'ended'} without a result (limit ${limitMs / 1000} s):\n${proc.tail()}`);
  }
  return JSON.parse(resultLine) as Record<string, number>;
}

function describeErrors(kinds: Record<string, number | undefined>): string {
  return Object.entries(kinds)
    .filter(([, n]) => Number(n) > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}
