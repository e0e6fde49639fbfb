// One child process kept alive: its output is relayed line by line behind a prefix, and when it
// exits unasked it is started again after a backoff that doubles up to a ceiling (and resets once
// the child has stayed up a while), so a crash loop cannot spin the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { leashSource } from './leash.ts';

export interface SupervisedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives every line the child prints, already prefixed. */
  output: (line: string) => void;
  prefix: string;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** How long a stop waits for the child to leave after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  /**
   * Run the command under `leash.ts`, in a process group of its own: it ends when this process's
   * end closes the leash's stdin, even by SIGKILL, instead of living on unsupervised. `pid` is then
   * the leash's; `kill` signals the whole group.
   */
  leash?: boolean;
}

export type SupervisedState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface SupervisedProcessEvents {
  state: [state: SupervisedState, reason: string];
}

const defaultBackoff = { initialMs: 500, maxMs: 10_000, resetAfterMs: 10_000 };

export class SupervisedProcess extends EventEmitter<SupervisedProcessEvents> {
  readonly options: SupervisedProcessOptions;
  #child: ChildProcess | null = null;
  #state: SupervisedState = 'stopped';
  #stopping = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #nextDelayMs: number;
  #startedAt = 0;
  restarts = 0;

  constructor(options: SupervisedProcessOptions) {
    super();
    this.options = options;
    this.#nextDelayMs = (options.backoff ?? defaultBackoff).initialMs;
  }

  get state(): SupervisedState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    this.#stopping = false;
    this.#spawn();
  }

  #setState(state: SupervisedState, reason: string): void {
    this.#state = state;
    this.emit('state', state, reason);
  }

  #spawn(): void {
    const { command, args, env, cwd, output, prefix } = this.options;
    this.#startedAt = Date.now();
    const leash = this.options.leash === true;
    const child = leash
      ? spawn(process.execPath, ['-e', leashSource, '--', command, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
      : spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    // The leash reads its stdin only to see it close; nothing is written to it.
    child.stdin?.on('error', () => {});
    this.#child = child;
    this.#setState('starting', `started as pid ${child.pid ?? '?'}`);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => output(prefix + line));
    }
    child.once('spawn', () => this.#setState('running', `pid ${child.pid}`));
    child.once('error', (error) => output(`${prefix}could not start ${command}: ${error.message}`));
    child.once('close', (code, signal) => this.#onExit(child, code, signal));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (this.#stopping) {
      this.#setState('stopped', how);
      return;
    }
    const backoff = this.options.backoff ?? defaultBackoff;
    if (Date.now() - this.#startedAt >= backoff.resetAfterMs) this.#nextDelayMs = backoff.initialMs;
    const delay = this.#nextDelayMs;
    this.#nextDelayMs = Math.min(delay * 2, backoff.maxMs);
    this.restarts++;
    this.#setState('restarting', `${how}; restarting in ${delay} ms`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (!this.#stopping) this.#spawn();
    }, delay);
  }

  /** Stops the child (SIGTERM, then SIGKILL after the timeout) and keeps it stopped. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
      this.#setState('stopped', 'stopped while waiting to restart');
    }
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => this.#signal(child, 'SIGKILL'), this.options.stopTimeoutMs ?? 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the child at once, as a crash would, without stopping supervision (for chaos tests). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#child) this.#signal(this.#child, signal);
  }

  /** A leashed child is signalled as its whole process group (the leash and the command under it). */
  #signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.options.leash && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal);
        return;
      } catch {
        // The group is gone already: fall through to the child alone.
      }
    }
    child.kill(signal);
  }
}
