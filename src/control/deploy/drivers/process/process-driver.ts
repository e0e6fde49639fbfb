// The `process` driver: each stamp is a supervised child process on this machine, with a port of
// its own (checked free, then recorded) and a data directory of its own for its database.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessStampTemplate } from '../../stamp-template.ts';
import { findFreePort, isPortFree } from './free-port.ts';
import { SupervisedProcess } from './supervised-process.ts';

export interface ProcessDriverOptions {
  template: ProcessStampTemplate;
  /** Each stamp gets `<dataRoot>/<id>/`. */
  dataRoot: string;
  /** First port tried for a stamp without one. */
  firstPort: number;
  /** Ports the driver must never hand out (the gateway's own listeners). */
  reservedPorts: ReadonlySet<number>;
  output: (line: string) => void;
  /** Width the stamp names are padded to in the output prefix. */
  prefixWidth?: number;
}

export interface StampPlacement {
  port: number;
  dataDir: string;
  url: string;
}

export class ProcessDriver {
  readonly #options: ProcessDriverOptions;
  readonly #processes = new Map<string, SupervisedProcess>();
  readonly #assignedPorts = new Set<number>();

  constructor(options: ProcessDriverOptions) {
    this.#options = options;
  }

  /** A port and data directory for the stamp: its recorded port when that is still free, else a new one. */
  async place(id: string, recordedPort: number | null): Promise<StampPlacement> {
    const { reservedPorts, firstPort, dataRoot } = this.#options;
    const taken = new Set([...reservedPorts, ...this.#assignedPorts]);
    const port = recordedPort !== null && !taken.has(recordedPort) && (await isPortFree(recordedPort)) ? recordedPort : await findFreePort(firstPort, taken);
    this.#assignedPorts.add(port);
    const dataDir = join(dataRoot, id);
    mkdirSync(dataDir, { recursive: true });
    return { port, dataDir, url: `http://127.0.0.1:${port}` };
  }

  start(id: string, placement: StampPlacement): SupervisedProcess {
    const { template, output, prefixWidth } = this.#options;
    const supervised = new SupervisedProcess({
      name: id,
      command: template.command,
      args: template.args,
      env: { ...process.env, ...template.env({ id, port: placement.port, dataDir: placement.dataDir }) },
      output,
      prefix: `${id.padEnd(prefixWidth ?? id.length)} | `,
    });
    this.#processes.set(id, supervised);
    supervised.start();
    return supervised;
  }

  process(id: string): SupervisedProcess | undefined {
    return this.#processes.get(id);
  }

  killAll(): void {
    for (const supervised of this.#processes.values()) supervised.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#processes.values()].map((p) => p.stop()));
  }
}
