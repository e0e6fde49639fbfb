// The MusicShare example (seed 001) in one command: the stand-in services and the Stampgate gateway
// on static.yml/dynamic.yml, as two child processes whose output is relayed with a prefix.
//
//   node examples/musicshare/run.ts                  gateway on http://127.0.0.1:8000
//   node examples/musicshare/run.ts --base-port 9000 every port shifted by +1000
//   node examples/musicshare/run.ts --base-port 0    free ports picked by the system
//
// With other ports than the shipped configs', the two config files are copied to a temporary
// directory with the ports rewritten (the path is printed: edit that dynamic.yml to reload live).
// Ctrl-C (or SIGTERM, or the terminal closing) stops both children and waits for them. To make the
// gateway reload on demand, send SIGHUP to the gateway's pid (printed at start); it also reloads
// by itself when dynamic.yml changes. A port already in use is named and the command exits with 2.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { defaultBasePort, describePorts, host, parseBasePort, portLayout, serviceNames, type PortLayout, type ServiceName } from './ports.ts';

const here = import.meta.dirname;
const repoRoot = join(here, '..', '..');
const stampgateBin = join(repoRoot, 'bin', 'stampgate.js');
// Output goes to a terminal that may close under us: after the first failed write, stay silent.
let outputBroken = false;
function print(line: string): void {
  if (outputBroken) return;
  try {
    process.stdout.write(`${line}\n`);
  } catch {
    outputBroken = true;
  }
}
const say = (line: string) => print(`musicshare | ${line}`);

class Exit extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** A child process whose lines are relayed with a prefix and can be waited for. */
interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running: boolean;
  /** Resolves with the first line (printed or to come) matching, rejects if the child exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
}

const children: Child[] = [];

function startChild(name: string, args: string[], stdin: 'pipe' | 'ignore'): Child {
  // Its own process group: a Ctrl-C in the terminal reaches only this script, which then stops
  // each child once (the gateway treats a second signal as "stop now").
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  const waiters = new Set<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }>();
  const prefix = `${name} | `;
  const lines: string[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    print(line.startsWith(prefix) ? line : `${prefix}${line}`);
    for (const waiter of waiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  const child: Child = {
    name,
    process: proc,
    running: true,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => {
      child.running = false;
      for (const waiter of waiters) waiter.reject(new Exit(`${name} exited (${signal ?? `status ${code}`}) before it was ready`, code === 0 || code === null ? 1 : code));
      waiters.clear();
      resolve({ code, signal });
    })),
    waitFor: (pattern) => {
      // Several lines can arrive in one chunk: one may have passed before this call.
      const seen = lines.map((line) => line.match(pattern)).find((match) => match !== null);
      if (seen) return Promise.resolve(seen);
      if (!child.running) return Promise.reject(new Exit(`${name} exited before it was ready`, 1));
      return new Promise((resolve, reject) => waiters.add({ pattern, resolve, reject }));
    },
  };
  proc.on('error', (error) => say(`${name}: ${error.message}`));
  children.push(child);
  return child;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** The shipped configs if the ports are theirs, else copies with the ports rewritten. */
function configFor(actual: PortLayout): { staticFile: string; dynamicFile: string; tempDir: string | null } {
  const shipped = portLayout(defaultBasePort);
  const staticFile = join(here, 'static.yml');
  const dynamicFile = join(here, 'dynamic.yml');
  const moves = new Map<number, number>([[shipped.gateway, actual.gateway]]);
  for (const name of serviceNames) shipped.replicas[name].forEach((port, i) => moves.set(port, actual.replicas[name][i]!));
  if ([...moves].every(([from, to]) => from === to)) return { staticFile, dynamicFile, tempDir: null };

  const tempDir = mkdtempSync(join(tmpdir(), 'musicshare-'));
  const rewrite = (file: string, ports: number[]) => {
    let text = readFileSync(file, 'utf8');
    for (const from of ports) {
      const pattern = new RegExp(`${host.replaceAll('.', '\\.')}:${from}(?!\\d)`, 'g');
      if (!pattern.test(text)) throw new Exit(`${shownPath(file)} no longer names ${host}:${from}; update ports.ts to match it`, 1);
      text = text.replace(pattern, `${host}:${moves.get(from)}`);
    }
    const copy = join(tempDir, file.slice(here.length + 1));
    writeFileSync(copy, text);
    return copy;
  };
  const servicePorts = [...moves.keys()].filter((p) => p !== shipped.gateway);
  return { staticFile: rewrite(staticFile, [shipped.gateway]), dynamicFile: rewrite(dynamicFile, servicePorts), tempDir };
}

function printBanner(gatewayUrl: string, layout: PortLayout, dynamicFile: string): void {
  const wsUrl = gatewayUrl.replace(/^http/, 'ws');
  const direct = (service: ServiceName, replica: number) => `http://${host}:${layout.replicas[service][replica - 1]}`;
  const routes: Array<[string, string]> = [
    [`${gatewayUrl}/api/users/...`, 'users (strip /api/users, sticky cookie userservice_session)'],
    [`${gatewayUrl}/api/music/...`, 'music (strip /api/music)'],
    [`${gatewayUrl}/api/social/...`, 'social (strip /api/social; /swagger-ui and /v3/api-docs unstripped)'],
    [`${gatewayUrl}/api/notifications/...`, 'notifications (strip /api/notifications)'],
    [`${wsUrl}/ws`, 'notifications, WebSocket'],
    [`${gatewayUrl}/`, 'frontend (catch-all, priority 1; open it in a browser)'],
  ];
  const tries: Array<[string, string]> = [
    [`curl -i ${gatewayUrl}/api/music/tracks`, 'twice: replica 1, then replica 2'],
    [`curl -c jar.txt -b jar.txt ${gatewayUrl}/api/users/me`, 'again and again: always the same replica'],
    [`curl -X POST ${direct('social', 2)}/toggle-health`, 'social replica 2 fails /health: out of rotation within 4 s'],
  ];
  const width = (rows: Array<[string, string]>) => Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    '',
    `MusicShare is up: gateway ${gatewayUrl}`,
    ...routes.map(([url, what]) => `  ${url.padEnd(width(routes))}-> ${what}`),
    'Try:',
    ...tries.map(([command, what]) => `  ${command.padEnd(width(tries))}# ${what}`),
    `  node -e "const ws = new WebSocket('${wsUrl}/ws'); ws.onmessage = (e) => console.log(e.data); ws.onopen = () => ws.send('hola'); setTimeout(() => ws.close(), 3500)"`,
    `Edit ${shownPath(dynamicFile)} to change the routes live. Ctrl-C stops everything.`,
    '',
  ];
  for (const line of lines) say(line);
}

/** A path relative to the working directory when it is below it, else absolute. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') ? file : rel;
}

let stopping: Promise<void> | null = null;
let tempDir: string | null = null;

/** Stops every child still running: SIGTERM once, SIGKILL after 5 s, then removes the temp copies. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all(children.map(async (child) => {
      if (!child.running) return;
      child.process.kill('SIGTERM');
      const killer = setTimeout(() => {
        say(`${child.name} did not stop within 5 s: killing it`);
        child.process.kill('SIGKILL');
      }, 5000);
      await child.exited;
      clearTimeout(killer);
    }));
    if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  })();
  return stopping;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'base-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: node examples/musicshare/run.ts [--base-port N]   (N = 8000 by default; 0 = free ports)');
    return 0;
  }
  let base: number;
  try {
    base = parseBasePort(values['base-port']);
  } catch (error) {
    console.error(`musicshare: ${(error as Error).message}`);
    return 2;
  }
  if (base !== 0) {
    const busy = [];
    for (const { port, what } of describePorts(portLayout(base))) if (!(await isFree(port))) busy.push(`port ${port} (${what})`);
    if (busy.length > 0) {
      console.error(`musicshare: ${busy.join(', ')} ${busy.length === 1 ? 'is' : 'are'} already in use on ${host}; stop what uses ${busy.length === 1 ? 'it' : 'them'} or choose other ports with --base-port N (0: any free ports)`);
      return 2;
    }
  }

  let interrupted = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping !== null) {
      say(`${signal} again: killing everything now`);
      for (const child of children) if (child.running) child.process.kill('SIGKILL');
      return;
    }
    interrupted = true;
    say(`${signal}: stopping the gateway and the stand-ins`);
    void stopAll().then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  // The terminal went away: stop too (the children, in their own process groups, would not hear it).
  process.on('SIGHUP', onStop);
  process.stdout.on('error', () => {
    outputBroken = true;
    if (stopping === null) onStop('SIGPIPE');
  });
  // Whatever happens to this script, no child outlives it.
  process.on('exit', () => {
    for (const child of children) if (child.running) child.process.kill('SIGKILL');
    if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  });

  const standIns = startChild('stand-ins', [join(here, 'stand-ins.ts'), '--base-port', String(base), '--exit-with-stdin'], 'pipe');
  say(`stand-ins started (pid ${standIns.process.pid})`);
  const [, portsJson] = await standIns.waitFor(/^ready (\{.*\})$/);
  const layout: PortLayout = { gateway: base, replicas: JSON.parse(portsJson!) as PortLayout['replicas'] };
  if (interrupted) return new Promise<number>(() => {}); // stopped during start-up: onStop exits

  const config = configFor(layout);
  tempDir = config.tempDir;
  if (tempDir !== null) say(`configuration copied with these ports to ${tempDir}`);
  const gateway = startChild('gateway', [stampgateBin, 'gateway', '--config', config.staticFile], 'ignore');
  say(`gateway started (pid ${gateway.process.pid})`);
  const [, gatewayHost, gatewayPort] = await gateway.waitFor(/entrypoint web listening on (\S+):(\d+)$/);
  await gateway.waitFor(/configuration version \d+ in service/);
  layout.gateway = Number(gatewayPort);
  if (interrupted) return new Promise<number>(() => {});
  printBanner(`http://${gatewayHost}:${gatewayPort}`, layout, config.dynamicFile);

  // Running: a child that stops on its own stops the example.
  const first = await Promise.race(children.map(async (child) => ({ child, ...(await child.exited) })));
  if (stopping !== null) return new Promise<number>(() => {}); // onStop exits when everything is down
  say(`${first.child.name} exited (${first.signal ?? `status ${first.code}`}): stopping the rest`);
  await stopAll();
  return first.code === 0 ? 1 : (first.code ?? 1);
}

main().then(
  (code) => {
    if (stopping === null) void stopAll().then(() => process.exit(code));
    else void stopping.then(() => process.exit(code));
  },
  (error: unknown) => {
    const exit = error instanceof Exit ? error : null;
    if (stopping !== null) return; // a stop during start-up: onStop finishes the job
    console.error(`musicshare: ${exit ? exit.message : ((error as Error).stack ?? String(error))}`);
    void stopAll().then(() => process.exit(exit ? exit.code : 1));
  },
);
