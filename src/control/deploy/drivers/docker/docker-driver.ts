// The `docker` driver: one compose project per stamp, `stamp-<id>`, from the files compose-files.ts
// writes under `<dataDir>/stamps/<id>/`, run with `docker compose`. Where no Docker engine answers
// the first step that needs one fails with "no Docker engine answers: …" and the saga rolls back.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerStampTemplate } from '../../stamp-template.ts';
import { DriverError, type DriverDescription, type DriverStamp, type StampDriver, type StampPlacement, type WaitReadyOptions } from '../../driver.ts';
import { findFreePort } from '../process/free-port.ts';
import { composeFiles, composeProjectName, passwordFromEnv } from './compose-files.ts';

export interface DockerDriverOptions {
  template: ContainerStampTemplate;
  /** The control plane's data directory: a stamp's files go to `<dataDir>/stamps/<id>/`. */
  dataDir: string;
  /** Host ports handed out, inclusive (default 9000–9999). */
  ports?: { from: number; to: number };
  reservedPorts?: ReadonlySet<number>;
  /** The docker command (default `docker`). */
  docker?: string;
  /** Environment of the docker commands (DOCKER_HOST, DOCKER_CONTEXT…; default this process's). */
  env?: NodeJS.ProcessEnv;
  /** A new stamp's database password (default: 24 random bytes, hex). */
  newPassword?: (stampId: string) => string;
  postgresImage?: string;
  redisImage?: string;
  /** Longest a docker command may take (default 5 min: `up` may pull images). */
  commandTimeoutMs?: number;
}

/** Written just before `docker compose up`: without it nothing of the stamp was ever asked of the engine. */
const startedMarker = '.started';

interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  error?: string;
}

export class DockerDriver implements StampDriver {
  readonly kind = 'docker' as const;
  readonly ownsProcesses = false;
  readonly #options: DockerDriverOptions;

  constructor(options: DockerDriverOptions) {
    this.#options = options;
  }

  dataDirOf(stampId: string): string {
    return join(this.#options.dataDir, 'stamps', stampId);
  }

  async place(stampId: string, taken: ReadonlySet<number>): Promise<StampPlacement> {
    const { from, to } = this.#options.ports ?? { from: 9000, to: 9999 };
    const avoid = new Set([...taken, ...(this.#options.reservedPorts ?? [])]);
    let port: number;
    try {
      port = await findFreePort(from, avoid, to);
    } catch {
      throw new DriverError('docker', `no free host port is left in ${from}-${to} for stamp ${JSON.stringify(stampId)}`);
    }
    return { port, url: `http://127.0.0.1:${port}`, dataDir: this.dataDirOf(stampId) };
  }

  async prepare(stamp: DriverStamp): Promise<void> {
    if (stamp.port === null) throw new DriverError('docker', `stamp ${JSON.stringify(stamp.id)} has no host port recorded`);
    await mkdir(stamp.dataDir, { recursive: true });
    const envPath = join(stamp.dataDir, '.env');
    const kept = existsSync(envPath) ? passwordFromEnv(await readFile(envPath, 'utf8')) : undefined;
    const password = kept ?? (this.#options.newPassword ?? (() => randomBytes(24).toString('hex')))(stamp.id);
    const files = composeFiles({ stampId: stamp.id, hostPort: stamp.port, template: this.#options.template, postgresPassword: password, postgresImage: this.#options.postgresImage, redisImage: this.#options.redisImage });
    await writeFile(join(stamp.dataDir, 'docker-compose.yml'), files.compose);
    await writeFile(envPath, files.env, { mode: 0o600 });
  }

  async start(stamp: DriverStamp): Promise<Record<string, unknown>> {
    await this.#requireEngine();
    const version = await this.#run(['compose', 'version', '--short']);
    if (!version.ok) throw new DriverError('docker', `docker compose is not available: ${firstLine(version)}`);
    // Before the first command that may create something: from here on, cleaning up means asking the engine.
    await writeFile(join(stamp.dataDir, startedMarker), new Date().toISOString());
    const up = await this.#compose(stamp, ['up', '-d', '--remove-orphans']);
    if (!up.ok) throw new DriverError('docker', `docker compose up of project ${composeProjectName(stamp.id)} failed: ${lastLines(up)}`);
    return { project: composeProjectName(stamp.id), network: composeProjectName(stamp.id) };
  }

  async waitReady(stamp: DriverStamp, options: WaitReadyOptions): Promise<void> {
    const url = `${stamp.url}${this.#options.template.readyPath}`;
    const deadline = Date.now() + options.timeoutMs;
    let last: string;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await response.body?.cancel();
        if (response.ok) return;
        last = `answered ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() >= deadline) throw new DriverError('docker', `stamp ${JSON.stringify(stamp.id)} was not ready at ${url} within ${options.timeoutMs} ms (${last})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Takes the project's containers and network down; its volume (the database) stays until `remove`. */
  async stop(stamp: DriverStamp): Promise<void> {
    if (!existsSync(join(stamp.dataDir, startedMarker))) return;
    await this.#requireEngine();
    const down = await this.#compose(stamp, ['down', '--remove-orphans']);
    if (!down.ok) throw new DriverError('docker', `docker compose down of project ${composeProjectName(stamp.id)} failed: ${lastLines(down)}`);
  }

  async remove(stamp: DriverStamp): Promise<void> {
    if (existsSync(join(stamp.dataDir, startedMarker))) {
      await this.#requireEngine();
      const down = await this.#compose(stamp, ['down', '--volumes', '--remove-orphans']);
      if (!down.ok) throw new DriverError('docker', `docker compose down --volumes of project ${composeProjectName(stamp.id)} failed: ${lastLines(down)}`);
    }
    if (stamp.dataDir === this.dataDirOf(stamp.id)) await rm(stamp.dataDir, { recursive: true, force: true });
  }

  async describe(stamp: DriverStamp): Promise<DriverDescription> {
    if (!(await this.#engineAnswers())) return { running: false, detail: 'no Docker engine answers' };
    const ps = await this.#compose(stamp, ['ps', '--format', 'json']);
    if (!ps.ok) return { running: false, detail: lastLines(ps) };
    const containers = ps.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        const parsed = JSON.parse(l) as { Service?: string; State?: string } | Array<{ Service?: string; State?: string }>;
        return Array.isArray(parsed) ? parsed : [parsed];
      });
    const app = containers.find((c) => c.Service === 'app');
    return { running: app?.State === 'running', detail: containers.map((c) => `${c.Service}: ${c.State}`).join(', ') || 'no containers' };
  }

  async #engineAnswers(): Promise<boolean> {
    return (await this.#run(['info', '--format', '{{.ServerVersion}}'], 15_000)).ok;
  }

  async #requireEngine(): Promise<void> {
    const info = await this.#run(['info', '--format', '{{.ServerVersion}}'], 15_000);
    if (!info.ok) throw new DriverError('docker', `no Docker engine answers: ${firstLine(info)}`);
  }

  #compose(stamp: DriverStamp, args: string[]): Promise<CommandResult> {
    return this.#run(['compose', '-p', composeProjectName(stamp.id), '--project-directory', stamp.dataDir, '-f', join(stamp.dataDir, 'docker-compose.yml'), ...args]);
  }

  #run(args: string[], timeoutMs = this.#options.commandTimeoutMs ?? 300_000): Promise<CommandResult> {
    const command = this.#options.docker ?? 'docker';
    return new Promise((resolve) => {
      execFile(command, args, { env: this.#options.env ?? process.env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout, stderr });
        const e = error as NodeJS.ErrnoException & { killed?: boolean };
        const why = e.code === 'ENOENT' ? `the ${command} command is not installed` : e.killed ? `${command} ${args[0]} did not finish within ${timeoutMs} ms` : e.message;
        resolve({ ok: false, stdout, stderr, error: why });
      });
    });
  }
}

function firstLine(result: CommandResult): string {
  if (result.error?.endsWith('is not installed')) return result.error;
  const lines = `${result.stderr}\n${result.stdout}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  // `docker info` prints the client section to stdout and the server's failure to stderr.
  const telling = lines.find((l) => /cannot connect|error|denied|not found|unknown/i.test(l));
  return telling ?? lines[0] ?? result.error ?? 'no output';
}

function lastLines(result: CommandResult): string {
  const lines = `${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-5).join(' / ') || result.error || 'no output';
}
