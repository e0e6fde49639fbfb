// Every process a bench run starts goes through here: each runs in its own process group, so that
// stopping it also stops whatever it forked (NGINX workers), and the tail of its output is kept for
// error messages. stopAllProcesses() and killAllProcessesNow() are what the run's exit paths call.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const tailLimit = 4096;

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called for each complete line the process prints on stdout. */
  onStdoutLine?: (line: string) => void;
}

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Set once the process has exited: its code or signal, in words. */
  exitDescription: string | null = null;
  readonly exited: Promise<void>;
  #tail = '';
  #stdoutPartial = '';

  constructor(name: string, child: ChildProcess, pid: number, onStdoutLine?: (line: string) => void) {
    this.name = name;
    this.child = child;
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitDescription = signal ? `killed by ${signal}` : `exited with code ${code}`;
        live.delete(this);
        resolve();
      });
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#remember(text);
      if (!onStdoutLine) return;
      const lines = (this.#stdoutPartial + text).split('\n');
      this.#stdoutPartial = lines.pop() ?? '';
      for (const line of lines) onStdoutLine(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.#remember(chunk.toString('utf8')));
  }

  get running(): boolean {
    return this.exitDescription === null;
  }

  /** The last few KiB of what the process printed (stdout and stderr together). */
  tail(maxLines = 15): string {
    const lines = this.#tail.trimEnd().split('\n');
    return lines.slice(-maxLines).join('\n');
  }

  /** SIGTERM to the whole group, SIGKILL if it lingers; resolves once the leader has exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.running) {
      signalGroup(this.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Members of the group that outlived their leader (none expected) go too.
    signalGroup(this.pid, 'SIGKILL');
  }

  #remember(text: string): void {
    this.#tail = (this.#tail + text).slice(-tailLimit);
  }
}

const live = new Set<ManagedProcess>();

const setpriv = ((): string | null => {
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
})();

/** Starts a command in its own process group; throws with a clear message when it cannot start. */
export async function startProcess(name: string, command: string, args: string[], options: StartOptions = {}): Promise<ManagedProcess> {
  // setpriv execs the command in place (same pid) with a parent-death signal: should this run be
  // killed outright (SIGKILL, no cleanup), its children still get SIGTERM from the kernel.
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error) => reject(new Error(`${name}: cannot start ${command}: ${error.message}`)));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: ${command} started without a pid`);
  const managed = new ManagedProcess(name, child, pid, options.onStdoutLine);
  live.add(managed);
  return managed;
}

export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Last resort on process exit (synchronous): SIGKILL every group still running. */
export function killAllProcessesNow(): void {
  for (const p of live) signalGroup(p.pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
