// A saga (seed 004): steps, each with a compensation, run in order and recorded in the operation's
// `steps` before and after each runs, so that a control plane restarted in the middle knows what
// ran. On a failure the steps that ran are compensated in reverse. Everything here is bookkeeping;
// what the steps do is the provisioner's.

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'compensating' | 'compensated';

/** One step as the operation's `steps` JSON records it. */
export interface StepRecord {
  name: string;
  status: StepStatus;
  /** How many times the step was started (more than one: a control plane restarted during it). */
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** What the step was given when the operation began (the tenant of a deploy). */
  input?: Record<string, unknown>;
  /** What the step made (a port, a pid, where a tenant was): its compensation reads it. */
  output?: Record<string, unknown>;
  error?: string;
  /** Why the compensation could not undo the step (the rollback goes on with the others). */
  compensationError?: string;
}

export interface SagaStep {
  name: string;
  /**
   * The step's effect dies with the control plane (a child process): after a restart it runs
   * again even though it is recorded done.
   */
  volatile?: boolean;
  run(record: StepRecord): Promise<Record<string, unknown> | void>;
  compensate?(record: StepRecord): Promise<void>;
}

export function pendingSteps(names: ReadonlyArray<string | { name: string; input?: Record<string, unknown> }>): StepRecord[] {
  return names.map((n) => {
    const { name, input } = typeof n === 'string' ? { name: n, input: undefined } : n;
    return { name, status: 'pending', attempts: 0, startedAt: null, finishedAt: null, ...(input ? { input } : {}) };
  });
}

/** Reads an operation's `steps` JSON back, refusing anything that is not what this module wrote. */
export function parseStepRecords(steps: unknown[]): StepRecord[] {
  return steps.map((raw, i) => {
    const s = raw as Partial<StepRecord> | null;
    if (!s || typeof s.name !== 'string' || typeof s.status !== 'string') throw new Error(`step ${i} of the operation is not a step record: ${JSON.stringify(raw)}`);
    return { ...s, attempts: s.attempts ?? 0, startedAt: s.startedAt ?? null, finishedAt: s.finishedAt ?? null } as StepRecord;
  });
}

/** Whether a rollback had begun: a step failed, or a compensation ran. */
export function isRollingBack(records: readonly StepRecord[]): boolean {
  return records.some((r) => r.status === 'failed' || r.status === 'compensating' || r.status === 'compensated');
}

/** The step a forward run stopped in (running), or the first not yet done; undefined when all are done. */
export function inFlightIndex(records: readonly StepRecord[]): number | undefined {
  const running = records.findIndex((r) => r.status === 'running');
  if (running >= 0) return running;
  const next = records.findIndex((r) => r.status !== 'done');
  return next >= 0 ? next : undefined;
}

/**
 * Where a resumed forward run starts: the in-flight step, or earlier — at the first volatile step
 * recorded done before it, whose effect died with the previous control plane.
 */
export function resumeIndex(records: readonly StepRecord[], steps: readonly SagaStep[]): number {
  const inFlight = inFlightIndex(records) ?? records.length;
  const volatile = steps.findIndex((s, i) => i < inFlight && s.volatile === true && records[i]?.status === 'done');
  return volatile >= 0 ? volatile : inFlight;
}

export class Aborted extends Error {
  constructor() {
    super('the control plane is stopping; the operation stays running and is resumed on its next start');
  }
}

export interface SagaRunOptions {
  records: StepRecord[];
  steps: readonly SagaStep[];
  /** Called after every change of `records`; the run waits for it (the record is written before the step runs). */
  persist(records: StepRecord[]): Promise<void>;
  signal: AbortSignal;
  now?: () => string;
}

/** Runs the steps from `from` on; answers the failed step's index and error, or undefined when all are done. */
export async function runForward(options: SagaRunOptions, from: number): Promise<{ index: number; error: string } | undefined> {
  const { records, steps, persist, signal } = options;
  const now = options.now ?? (() => new Date().toISOString());
  for (let i = from; i < steps.length; i++) {
    if (signal.aborted) throw new Aborted();
    const step = steps[i]!;
    const record = records[i]!;
    record.status = 'running';
    record.attempts += 1;
    record.startedAt = now();
    record.finishedAt = null;
    delete record.error;
    await persist(records);
    let output: Record<string, unknown> | void;
    try {
      output = await step.run(record);
    } catch (error) {
      if (signal.aborted) throw new Aborted();
      record.status = 'failed';
      record.error = (error as Error).message ?? String(error);
      record.finishedAt = now();
      await persist(records);
      return { index: i, error: record.error };
    }
    record.status = 'done';
    if (output) record.output = output;
    record.finishedAt = now();
    await persist(records);
  }
  return undefined;
}

/** Compensates, in reverse, every step that ran or was running; answers the compensations that failed. */
export async function runCompensations(options: SagaRunOptions): Promise<string[]> {
  const { records, steps, persist, signal } = options;
  const failures: string[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const record = records[i]!;
    if (!step.compensate || !['done', 'failed', 'running', 'compensating'].includes(record.status)) continue;
    if (signal.aborted) throw new Aborted();
    record.status = 'compensating';
    await persist(records);
    try {
      await step.compensate(record);
      delete record.compensationError;
    } catch (error) {
      if (signal.aborted) throw new Aborted();
      record.compensationError = (error as Error).message ?? String(error);
      failures.push(`${step.name}: ${record.compensationError}`);
    }
    record.status = 'compensated';
    await persist(records);
  }
  return failures;
}
