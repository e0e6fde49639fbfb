// The `process` driver as the provisioner uses it: each stamp is a supervised child process of the
// control plane, under a leash (it ends when the control plane does, even a killed one), on a port
// of its own from a range (checked free by binding it, and recorded in the stamp's row before the
// stamp starts), with a data directory of its own, `<dataDir>/stamps/<id>/`, for its database.
//
// The stamps live as long as the control plane: on its restart the provisioner starts the stamps
// recorded active again, on their recorded ports.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessStampTemplate } from '../../stamp-template.ts';
import { DriverError, type DriverDescription, type DriverStamp, type StampDriver, type StampPlacement, type WaitReadyOptions } from '../../driver.ts';
import { findFreePort, isPortFree } from './free-port.ts';
import { SupervisedProcess } from './supervised-process.ts';

export interface ProcessStampDriverOptions {
  template: ProcessStampTemplate;
  /** The control plane's data directory: stamps get `<dataDir>/stamps/<id>/`. */
  dataDir: string;
  /** Ports handed out, inclusive (default 9000–9999, as in seed 002). */
  ports?: { from: number; to: number };
  /** Ports never handed out (the gateway's and the admin API's own listeners). */
  reservedPorts?: ReadonlySet<number>;
  host?: string;
  /** Every line a stamp prints, prefixed with its id (default: dropped). */
  output?: (line: string) => void;
  /** Restart backoff of the supervisor (default: 500 ms doubling up to 10 s). */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** How long `start` waits for a recorded port still held by a stamp of a killed control plane (default 5 s). */
  portWaitMs?: number;
  stopTimeoutMs?: number;
}

interface Running {
  supervised: SupervisedProcess;
  /** The last lines the stamp printed: why it did not come up. */
  tail: string[];
  /** The last exit since `start` (null: none): a stamp that exits before it is ready failed to start. */
  lastExit: string | null;
}

const tailLength = 20;

export class ProcessStampDriver implements StampDriver {
  readonly kind = 'process' as const;
  readonly ownsProcesses = true;
  readonly #options: ProcessStampDriverOptions;
  readonly #running = new Map<string, Running>();
  readonly #listeners = new Set<(stampId: string, state: 'running' | 'failed', reason: string) => void>();
  #closed = false;

  constructor(options: ProcessStampDriverOptions) {
    this.#options = options;
  }

  get #host(): string {
    return this.#options.host ?? '127.0.0.1';
  }

  dataDirOf(stampId: string): string {
    return join(this.#options.dataDir, 'stamps', stampId);
  }

  async place(stampId: string, taken: ReadonlySet<number>): Promise<StampPlacement> {
    const { from, to } = this.#options.ports ?? { from: 9000, to: 9999 };
    const avoid = new Set([...taken, ...(this.#options.reservedPorts ?? [])]);
    let port: number;
    try {
      port = await findFreePort(from, avoid, to, this.#host);
    } catch {
      throw new DriverError('process', `no free port is left in ${from}-${to} for stamp ${JSON.stringify(stampId)} (${avoid.size} recorded or reserved)`);
    }
    return { port, url: `http://${this.#host}:${port}`, dataDir: this.dataDirOf(stampId) };
  }

  async prepare(stamp: DriverStamp): Promise<void> {
    await mkdir(stamp.dataDir, { recursive: true });
  }

  async start(stamp: DriverStamp): Promise<Record<string, unknown>> {
    if (this.#closed) throw new DriverError('process', 'the process driver is closed (the control plane is stopping)');
    const port = requirePort(stamp);
    const running = this.#running.get(stamp.id);
    if (running && running.supervised.state === 'running' && running.lastExit === null) return { pid: running.supervised.pid ?? null, reused: true };
    // One that is crash-looping (or stopped) is started afresh: its restart count and last exit are history.
    if (running) await this.stop(stamp);
    if (!existsSync(stamp.dataDir)) throw new DriverError('process', `the data directory of stamp ${JSON.stringify(stamp.id)} is missing: ${stamp.dataDir}`);
    // A stamp of a control plane killed a moment ago may still be leaving (its leash gives it a grace period).
    const deadline = Date.now() + (this.#options.portWaitMs ?? 5000);
    while (!(await isPortFree(port, this.#host))) {
      if (Date.now() >= deadline) throw new DriverError('process', `port ${port} recorded for stamp ${JSON.stringify(stamp.id)} is in use by another program`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { template } = this.#options;
    const entry: Running = {
      tail: [],
      lastExit: null,
      supervised: new SupervisedProcess({
        name: stamp.id,
        command: template.command,
        args: template.args,
        env: { ...process.env, ...template.env({ id: stamp.id, port, dataDir: stamp.dataDir }) },
        cwd: stamp.dataDir,
        prefix: `${stamp.id} | `,
        output: (line) => {
          entry.tail.push(line);
          if (entry.tail.length > tailLength) entry.tail.shift();
          this.#options.output?.(line);
        },
        leash: true,
        ...(this.#options.backoff ? { backoff: this.#options.backoff } : {}),
        ...(this.#options.stopTimeoutMs !== undefined ? { stopTimeoutMs: this.#options.stopTimeoutMs } : {}),
      }),
    };
    this.#running.set(stamp.id, entry);
    entry.supervised.on('state', (state, reason) => {
      // Kept once set: waitReady fails on any exit since this start, even one the supervisor already restarted.
      if (state === 'restarting') entry.lastExit = reason;
      const recorded = state === 'running' ? 'running' : state === 'restarting' ? 'failed' : null;
      if (recorded) for (const listener of this.#listeners) listener(stamp.id, recorded, reason);
    });
    entry.supervised.start();
    await new Promise<void>((resolve) => {
      if (entry.supervised.state !== 'starting') return resolve();
      entry.supervised.once('state', () => resolve());
    });
    return { pid: entry.supervised.pid ?? null };
  }

  async waitReady(stamp: DriverStamp, options: WaitReadyOptions): Promise<void> {
    const entry = this.#running.get(stamp.id);
    if (!entry) throw new DriverError('process', `stamp ${JSON.stringify(stamp.id)} is not started`);
    const url = `${stamp.url}${this.#options.template.readyPath}`;
    const deadline = Date.now() + options.timeoutMs;
    let last: string;
    for (;;) {
      // An exit before readiness is a failed start: say why, from what the stamp printed.
      if (entry.lastExit !== null || entry.supervised.state === 'stopped') {
        throw new DriverError('process', `stamp ${JSON.stringify(stamp.id)} ${entry.lastExit ?? 'stopped'} before it was ready${tailText(entry.tail)}`);
      }
      options.signal?.throwIfAborted();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        if (response.ok) return;
        last = `${url} answered ${response.status}`;
      } catch (error) {
        last = `${url}: ${(error as Error).message}`;
      }
      if (Date.now() >= deadline) throw new DriverError('process', `stamp ${JSON.stringify(stamp.id)} was not ready within ${options.timeoutMs} ms (${last})${tailText(entry.tail)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(stamp: DriverStamp): Promise<void> {
    const entry = this.#running.get(stamp.id);
    if (!entry) return;
    await entry.supervised.stop();
    this.#running.delete(stamp.id);
  }

  async remove(stamp: DriverStamp): Promise<void> {
    await this.stop(stamp);
    // Only the stamp's own directory: a data dir recorded elsewhere (by hand) is not ours to delete.
    if (stamp.dataDir !== '' && stamp.dataDir === this.dataDirOf(stamp.id)) await rm(stamp.dataDir, { recursive: true, force: true });
  }

  async describe(stamp: DriverStamp): Promise<DriverDescription> {
    const entry = this.#running.get(stamp.id);
    if (!entry) return { running: false, detail: 'not started by this control plane' };
    const { state, pid, restarts } = entry.supervised;
    return { running: state === 'running', detail: `${state}${pid !== undefined ? ` (pid ${pid})` : ''}${restarts > 0 ? `, ${restarts} restarts` : ''}` };
  }

  /** The supervised process of a stamp (tests, the CLI's status). */
  process(stampId: string): SupervisedProcess | undefined {
    return this.#running.get(stampId)?.supervised;
  }

  onRuntimeState(listener: (stampId: string, state: 'running' | 'failed', reason: string) => void): void {
    this.#listeners.add(listener);
  }

  /** Last resort (a second Ctrl-C): SIGKILL every stamp now, leash and all. */
  killAll(): void {
    for (const entry of this.#running.values()) entry.supervised.kill('SIGKILL');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#running.values()].map((entry) => entry.supervised.stop()));
    this.#running.clear();
  }
}

function requirePort(stamp: DriverStamp): number {
  if (stamp.port === null) throw new DriverError('process', `stamp ${JSON.stringify(stamp.id)} has no port recorded`);
  return stamp.port;
}

function tailText(tail: string[]): string {
  return tail.length === 0 ? '' : `; its last output:\n${tail.slice(-10).join('\n')}`;
}
