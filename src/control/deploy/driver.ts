// What the provisioner asks of a driver (process, docker, kubernetes): every method is one step of
// the saga or its compensation, and each is idempotent, because a control plane that restarts in
// the middle of an operation runs the step again (or its compensation) without knowing how far
// the first attempt got.

export type DriverKind = 'process' | 'docker' | 'kubernetes';

/** Where a stamp runs, recorded in its catalog row before anything is started. */
export interface StampPlacement {
  /** The host port it listens on (process, docker); null where none is needed (kubernetes). */
  port: number | null;
  /** What gateways send the stamp's requests to. */
  url: string;
  /** `<dataDir>/stamps/<id>/`: its database file, its generated files. */
  dataDir: string;
}

/** A stamp as a driver sees it: its id and its recorded placement. */
export interface DriverStamp extends StampPlacement {
  id: string;
}

export interface DriverDescription {
  /** Whether the stamp's servers run now, as far as this driver can tell. */
  running: boolean;
  /** One line for people: a pid, a container status, a deployment's ready replicas. */
  detail: string;
}

export interface WaitReadyOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface StampDriver {
  readonly kind: DriverKind;
  /**
   * True when the stamp's servers live only as long as this control plane (the process driver's
   * children): after a restart, a `start` recorded as done must run again.
   */
  readonly ownsProcesses: boolean;
  /** Chooses where the stamp runs: a free port from the driver's range that is not in `taken`, and its data directory. Creates nothing. */
  place(stampId: string, taken: ReadonlySet<number>): Promise<StampPlacement>;
  /** Creates what the stamp needs before it starts: its data directory, generated files, manifests. */
  prepare(stamp: DriverStamp): Promise<void>;
  /** Starts the stamp's servers (again, when they run already: no second copy). */
  start(stamp: DriverStamp): Promise<Record<string, unknown> | void>;
  /** Resolves once the stamp answers its readiness check; rejects with why it did not, in time. */
  waitReady(stamp: DriverStamp, options: WaitReadyOptions): Promise<void>;
  /** Stops the stamp's servers; stopping a stopped stamp does nothing. */
  stop(stamp: DriverStamp): Promise<void>;
  /** Removes everything `prepare` and `start` made (files, volumes, namespaces); nothing there is fine. */
  remove(stamp: DriverStamp): Promise<void>;
  describe(stamp: DriverStamp): Promise<DriverDescription>;
  /** Told when a started stamp's servers change state on their own (the process supervisor). */
  onRuntimeState?(listener: (stampId: string, state: 'running' | 'failed', reason: string) => void): void;
  /** Control-plane shutdown: stops what this driver runs in this process; recorded states stay as they are. */
  close?(): Promise<void>;
}

/** A driver's failure, with the words a person needs ("no Docker engine answers: …"). */
export class DriverError extends Error {
  readonly driver: DriverKind;
  constructor(driver: DriverKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.driver = driver;
  }
}

/** `a: b: c` from an error and its causes (fetch failures hide the real reason two levels down). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const e = current as { message?: unknown; code?: unknown; cause?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(current);
    const code = typeof e.code === 'string' && !message.includes(e.code) ? ` (${e.code})` : '';
    if (message !== '' && !parts.some((p) => p.includes(message))) parts.push(message + code);
    current = e.cause;
  }
  return parts.join(': ');
}
