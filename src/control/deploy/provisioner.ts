// The provisioner: brings stamps to life and takes them down through their drivers, as persisted
// sagas (saga.ts), one operation per stamp at a time (the catalog refuses a second one).
//
//   provision: [record-tenant] → allocate → prepare → start → wait-ready → activate
//   teardown:  release-tenants → retire → stop → remove → (the stamp's row is deleted)
//
// A failed provision compensates what ran, in reverse, and leaves the stamp `failed` with the
// reason (its port and data directory released). A teardown only goes forward: a failed one leaves
// the stamp `failed` and a retry runs it again (every step is idempotent).
//
// recover(), at control-plane start, deals with operations a previous control plane left running:
// a provision resumes from the step it was in (from its `start` for a driver whose processes died
// with that control plane) unless that step was already interrupted `maxAttempts` times, or the
// rollback had begun: then it is rolled back. A teardown always resumes. Then the stamps it
// provisioned that were running, whose processes died with the previous control plane, are
// started again. See README.md.
import type { Catalog, CreateStampInput, OperationRecord, StampRecord } from '../store/catalog.ts';
import { CatalogError } from '../store/catalog.ts';
import type { DriverKind, DriverStamp, StampDriver } from './driver.ts';
import { DriverError } from './driver.ts';
import { Aborted, inFlightIndex, isRollingBack, parseStepRecords, pendingSteps, resumeIndex, runCompensations, runForward, type SagaRunOptions, type SagaStep, type StepRecord } from './saga.ts';

export type OperationKind = 'provision' | 'teardown';

export interface ProvisionerOptions {
  catalog: Catalog;
  /** The drivers this control plane runs stamps with; a stamp's `driver` picks one. */
  drivers: readonly StampDriver[];
  /** The driver of stamps created without one (default: the first of `drivers`). */
  defaultDriver?: DriverKind;
  /** How long `wait-ready` waits (default 60 s). */
  readyTimeoutMs?: number;
  /** A provision step interrupted by this many restarts is rolled back rather than tried again (default 2). */
  maxAttempts?: number;
  /** Stamps made by the admin API's hook when no stamp fits a new tenant (default capacity 100). */
  autoProvision?: { capacity?: number };
  log?: (line: string) => void;
}

/** What the admin API's `provisionStamp` hook is told (structurally its StampNeed). */
export interface StampNeedLike {
  tenant: string;
  policy: string;
  labels?: Record<string, string>;
  actor: string;
}

export interface RecoveryReport {
  /** Operations resumed forward. */
  resumed: string[];
  /** Operations being rolled back. */
  rolledBack: string[];
  /** Stamps recorded active whose processes were started again. */
  restarted: string[];
  /** Stamps that could not be started again (recorded `failed` with why). */
  notRestarted: Array<{ stampId: string; error: string }>;
}

/** Label of stamps the provisioner made on its own for tenants that fitted nowhere. */
export const autoStampLabel = 'stampgate.dev/auto';

export class Provisioner {
  readonly #catalog: Catalog;
  readonly #drivers = new Map<string, StampDriver>();
  readonly #options: ProvisionerOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(operationId: string) => void>();
  /** Stamps whose runtime state (the supervisor's) is recorded in the catalog: active ones. */
  readonly #live = new Set<string>();
  readonly #abort = new AbortController();

  constructor(options: ProvisionerOptions) {
    this.#catalog = options.catalog;
    this.#options = options;
    for (const driver of options.drivers) {
      this.#drivers.set(driver.kind, driver);
      driver.onRuntimeState?.((stampId, state, reason) => this.#onRuntimeState(stampId, state, reason));
    }
    if (this.#drivers.size === 0) throw new Error('a provisioner needs at least one driver');
  }

  get defaultDriver(): DriverKind {
    return this.#options.defaultDriver ?? this.#options.drivers[0]!.kind;
  }

  driver(kind: string): StampDriver | undefined {
    return this.#drivers.get(kind);
  }

  /** Called with an operation's id after each change of it that this provisioner made (the SSE stream wakes on it). */
  onOperationChange(listener: (operationId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts provisioning a stamp (creating it first when `create` is given) and answers the running
   * operation at once; the saga goes on in the background. `tenant`: the stamp is that tenant's
   * own (seed 002): it is placed there in the step that activates the stamp.
   */
  async provision(stampId: string, options: { actor: string; create?: CreateStampInput; tenant?: string }): Promise<OperationRecord> {
    this.#refuseWhenClosed();
    const existing = await this.#catalog.getStamp(stampId);
    const driverKind = existing?.driver ?? options.create?.driver ?? this.defaultDriver;
    const driver = this.#drivers.get(driverKind);
    if (!driver) throw new CatalogError('invalid-state', `stamp ${JSON.stringify(stampId)} has driver ${JSON.stringify(driverKind)}, which this control plane does not run (it runs ${[...this.#drivers.keys()].join(', ')})`, { stamp: stampId, driver: driverKind });
    if (existing && (existing.state === 'active' || existing.state === 'draining')) {
      const running = await this.#catalog.runningOperation(stampId);
      if (!running) throw new CatalogError('invalid-state', `stamp ${JSON.stringify(stampId)} is ${existing.state} already`, { stamp: stampId, state: existing.state });
    }
    const steps = pendingSteps([...(options.tenant !== undefined ? [{ name: 'record-tenant', input: { tenant: options.tenant } }] : []), 'allocate', 'prepare', 'start', 'wait-ready', 'activate']);
    const { operation } = await this.#catalog.beginOperation(
      {
        stampId,
        kind: 'provision',
        steps,
        create: existing ? undefined : options.create ? { ...options.create, driver: driverKind } : undefined,
        stampState: { state: 'provisioning', reason: `being provisioned with the ${driverKind} driver (by ${options.actor})` },
      },
      options.actor,
    );
    this.#log(`stamp ${stampId}: provisioning with the ${driverKind} driver (operation ${operation.id})`);
    this.#launch(operation, 'fresh');
    return operation;
  }

  /**
   * Starts taking a stamp down: its tenant (the one named, for a tenant's own stamp) goes back where
   * it was or leaves the directory, then the stamp is retired, stopped, its files removed and its row
   * deleted. A stamp that still holds other tenants is refused (409 stamp-has-tenants).
   */
  async teardown(stampId: string, options: { actor: string; tenant?: string }): Promise<OperationRecord> {
    this.#refuseWhenClosed();
    const stamp = await this.#catalog.getStamp(stampId);
    if (!stamp) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(stampId)}`, { stamp: stampId });
    if (!this.#drivers.has(stamp.driver)) throw new CatalogError('invalid-state', `stamp ${JSON.stringify(stampId)} has driver ${JSON.stringify(stamp.driver)}, which this control plane does not run`, { stamp: stampId, driver: stamp.driver });
    const own = options.tenant !== undefined ? await this.#catalog.getTenant(options.tenant) : undefined;
    const others = stamp.tenantCount - (own?.stampId === stampId ? 1 : 0);
    if (others > 0) throw new CatalogError('stamp-has-tenants', `stamp ${JSON.stringify(stampId)} holds ${others} tenants; move them to other stamps first`, { stamp: stampId, tenantCount: stamp.tenantCount });
    const steps = pendingSteps([{ name: 'release-tenants', input: options.tenant !== undefined ? { tenant: options.tenant } : {} }, 'retire', 'stop', 'remove']);
    const { operation } = await this.#catalog.beginOperation({ stampId, kind: 'teardown', steps }, options.actor);
    this.#log(`stamp ${stampId}: tearing down (operation ${operation.id})`);
    this.#launch(operation, 'fresh');
    return operation;
  }

  /** Finishes or rolls back what a previous control plane left running, then starts the stamps it ran again. */
  async recover(): Promise<RecoveryReport> {
    this.#refuseWhenClosed();
    const report: RecoveryReport = { resumed: [], rolledBack: [], restarted: [], notRestarted: [] };
    const busy = new Set<string>();
    for (const operation of await this.#catalog.listRunningOperations()) {
      if (this.#running.has(operation.id)) continue;
      busy.add(operation.stampId);
      const records = safeRecords(operation);
      const index = records && inFlightIndex(records);
      const rollBack = operation.kind === 'provision' && (!records || isRollingBack(records) || (index !== undefined && records[index]!.status === 'running' && records[index]!.attempts >= this.#maxAttempts));
      (rollBack ? report.rolledBack : report.resumed).push(operation.id);
      this.#log(`operation ${operation.id} (${operation.kind} of stamp ${operation.stampId}) was left running: ${rollBack ? 'rolling it back' : 'resuming it'}`);
      this.#launch(operation, 'recover');
    }
    const restarts: Array<Promise<void>> = [];
    for (const stamp of await this.#catalog.listStamps()) {
      if (busy.has(stamp.id) || this.#live.has(stamp.id)) continue;
      const driver = this.#drivers.get(stamp.driver);
      if (!driver?.ownsProcesses || stamp.dataDir === null) continue;
      if (!(await this.#ranBefore(stamp))) continue;
      restarts.push(
        this.#restart(stamp, driver).then(
          () => void report.restarted.push(stamp.id),
          (error: Error) => void report.notRestarted.push({ stampId: stamp.id, error: error.message }),
        ),
      );
    }
    await Promise.all(restarts);
    return report;
  }

  /** Resolves with the operation once it has finished (or once this provisioner stopped running it). */
  async settled(operationId: string): Promise<OperationRecord> {
    await this.#running.get(operationId);
    const operation = await this.#catalog.getOperation(operationId);
    if (!operation) throw new CatalogError('unknown-operation', `no operation has id ${JSON.stringify(operationId)}`, { operation: operationId });
    return operation;
  }

  /** Whether this provisioner runs the operation now. */
  isRunning(operationId: string): boolean {
    return this.#running.has(operationId);
  }

  /**
   * The admin API's `provisionStamp` hook: when no stamp fits a new tenant, provision one with the
   * labels asked for (`stampgate.dev/auto=true` besides), or answer the one already being made for
   * such tenants, so that a burst of new tenants starts one stamp, not one each.
   */
  readonly provisionStamp = async (need: StampNeedLike): Promise<{ stampId: string; operationId?: string } | undefined> => {
    if (this.#abort.signal.aborted) return undefined;
    const wanted = need.labels ?? {};
    const stamps = await this.#catalog.listStamps();
    for (const stamp of stamps) {
      if (stamp.labels[autoStampLabel] !== 'true' || stamp.state !== 'provisioning' || !Object.entries(wanted).every(([k, v]) => stamp.labels[k] === v)) continue;
      const running = await this.#catalog.runningOperation(stamp.id);
      if (running) return { stampId: stamp.id, operationId: running.id };
    }
    const taken = new Set(stamps.flatMap((s) => [s.id, ...s.aliases]));
    let n = 1;
    while (taken.has(`s${n}`)) n++;
    const stampId = `s${n}`;
    const operation = await this.provision(stampId, { actor: need.actor, create: { id: stampId, driver: this.defaultDriver, capacity: this.#options.autoProvision?.capacity ?? 100, labels: { ...wanted, [autoStampLabel]: 'true' } } });
    return { stampId, operationId: operation.id };
  };

  /**
   * Control-plane shutdown: sagas stop between steps (their operations stay running in the store and
   * are resumed by the next start), and the drivers stop what they run in this process. Stamps stay
   * recorded active: the next start runs them again.
   */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#running.values()]);
    this.#live.clear();
    await Promise.allSettled([...this.#drivers.values()].map((d) => d.close?.()));
  }

  // ---- running a saga -------------------------------------------------------------------------

  get #maxAttempts(): number {
    return this.#options.maxAttempts ?? 2;
  }

  #launch(operation: OperationRecord, mode: 'fresh' | 'recover'): void {
    const run = this.#execute(operation, mode)
      .catch((error: unknown) => {
        // The store failed under us: the operation stays running there, for the next start to finish.
        if (!(error instanceof Aborted)) this.#log(`operation ${operation.id} stopped: ${(error as Error).message}; it is finished when the control plane starts again`);
      })
      .finally(() => {
        this.#running.delete(operation.id);
        this.#emit(operation.id);
      });
    this.#running.set(operation.id, run);
  }

  async #execute(operation: OperationRecord, mode: 'fresh' | 'recover'): Promise<void> {
    const stamp = await this.#catalog.getStamp(operation.stampId);
    const driver = stamp && this.#drivers.get(stamp.driver);
    const records = safeRecords(operation);
    if (!stamp || !driver || !records) {
      const why = !stamp ? 'its stamp no longer exists' : !driver ? `this control plane has no ${stamp.driver} driver` : 'its recorded steps cannot be read';
      await this.#catalog.completeOperation(operation.id, { state: 'failed', error: `abandoned: ${why}` });
      return;
    }
    const steps = operation.kind === 'provision' ? this.#provisionSteps(operation, stamp.id, driver, records) : this.#teardownSteps(operation, stamp.id, driver, records);
    if (steps.map((s) => s.name).join() !== records.map((r) => r.name).join()) {
      await this.#catalog.completeOperation(operation.id, { state: 'failed', error: `abandoned: its steps (${records.map((r) => r.name).join(', ')}) are not those of a ${operation.kind} here` });
      return;
    }
    const run: SagaRunOptions = {
      records,
      steps,
      signal: this.#abort.signal,
      persist: async (r) => {
        await this.#catalog.updateOperationSteps(operation.id, r);
        this.#emit(operation.id);
      },
    };
    if (operation.kind === 'provision') await this.#runProvision(operation, stamp.id, driver, run, mode);
    else await this.#runTeardown(operation, stamp.id, run, mode);
  }

  async #runProvision(operation: OperationRecord, stampId: string, driver: StampDriver, run: SagaRunOptions, mode: 'fresh' | 'recover'): Promise<void> {
    const { records } = run;
    let failure: { index: number; error: string } | undefined;
    let from = 0;
    if (mode === 'recover') {
      const index = inFlightIndex(records);
      if (isRollingBack(records)) {
        const failed = records.findIndex((r) => r.status === 'failed' || r.error !== undefined);
        failure = { index: failed, error: records[failed]?.error ?? 'the control plane stopped while rolling back' };
      } else if (index !== undefined && records[index]!.status === 'running' && records[index]!.attempts >= this.#maxAttempts) {
        const record = records[index]!;
        record.status = 'failed';
        record.error = `the control plane stopped during this step ${record.attempts} times; giving up`;
        record.finishedAt = new Date().toISOString();
        await run.persist(records);
        failure = { index, error: record.error };
      } else {
        from = driver.ownsProcesses ? resumeIndex(records, run.steps) : (index ?? records.length);
      }
    }
    failure ??= await runForward(run, from);
    if (!failure) {
      await this.#catalog.completeOperation(operation.id, { state: 'succeeded', error: null });
      this.#log(`stamp ${stampId}: provisioned (operation ${operation.id})`);
      return;
    }
    const name = records[failure.index]?.name ?? 'unknown';
    const cleanup = await runCompensations(run);
    const error = `step ${name} failed: ${failure.error}${cleanup.length > 0 ? `; cleanup incomplete: ${cleanup.join('; ')}` : '; rolled back'}`;
    // Incomplete cleanup keeps the placement recorded: its port is not handed out again, and a teardown knows where to look.
    await this.#catalog.completeOperation(operation.id, { state: 'failed', error, stamp: { state: 'failed', reason: `provisioning failed: ${error}`, clearPlacement: cleanup.length === 0 } });
    this.#log(`stamp ${stampId}: provisioning failed (operation ${operation.id}): ${error}`);
  }

  async #runTeardown(operation: OperationRecord, stampId: string, run: SagaRunOptions, mode: 'fresh' | 'recover'): Promise<void> {
    const { records } = run;
    let failure: { index: number; error: string } | undefined;
    const failed = records.findIndex((r) => r.status === 'failed');
    if (mode === 'recover' && failed >= 0) failure = { index: failed, error: records[failed]!.error ?? 'failed' };
    else failure = await runForward(run, mode === 'recover' ? (inFlightIndex(records) ?? records.length) : 0);
    if (!failure) {
      try {
        await this.#catalog.completeOperation(operation.id, { state: 'succeeded', error: null, stamp: 'delete' });
        this.#log(`stamp ${stampId}: torn down and removed (operation ${operation.id})`);
        return;
      } catch (error) {
        if (!(error instanceof CatalogError)) throw error;
        failure = { index: records.length - 1, error: error.message };
      }
    }
    const error = `step ${records[failure.index]?.name ?? 'unknown'} failed: ${failure.error}`;
    await this.#catalog.completeOperation(operation.id, { state: 'failed', error, stamp: { state: 'failed', reason: `teardown failed: ${error}; run the teardown again to retry` } });
    this.#log(`stamp ${stampId}: teardown failed (operation ${operation.id}): ${error}`);
  }

  // ---- the steps ------------------------------------------------------------------------------

  #provisionSteps(operation: OperationRecord, stampId: string, driver: StampDriver, records: StepRecord[]): SagaStep[] {
    const catalog = this.#catalog;
    const tenantRecord = records.find((r) => r.name === 'record-tenant');
    const tenant = typeof tenantRecord?.input?.['tenant'] === 'string' ? tenantRecord.input['tenant'] : undefined;
    const steps: SagaStep[] = [];
    if (tenant !== undefined) {
      steps.push({
        name: 'record-tenant',
        // Where the tenant lives before the deploy, so that a rollback or an undeploy can put it back.
        run: async () => {
          const before = await catalog.getTenant(tenant);
          return { tenant, existed: before !== undefined, previousStampId: before && before.stampId !== stampId ? before.stampId : null };
        },
      });
    }
    steps.push(
      {
        name: 'allocate',
        run: async () => {
          const stamp = await this.#requireStamp(stampId);
          if (stamp.url !== '' && stamp.dataDir !== null && (stamp.port !== null || driver.kind === 'kubernetes')) return { port: stamp.port, url: stamp.url, dataDir: stamp.dataDir, reused: true };
          const taken = new Set((await catalog.listStamps()).flatMap((s) => (s.port === null ? [] : [s.port])));
          for (let attempt = 0; attempt < 5; attempt++) {
            const placement = await driver.place(stampId, taken);
            try {
              await catalog.setStampPlacement(stampId, placement);
              return { ...placement };
            } catch (error) {
              // Another control plane recorded that port between our check and our write: take the next.
              if (!(error instanceof CatalogError) || typeof error.details['port'] !== 'number') throw error;
              taken.add(error.details['port']);
            }
          }
          throw new DriverError(driver.kind, 'could not record a free port after 5 tries');
        },
      },
      {
        name: 'prepare',
        run: async () => driver.prepare(await this.#target(stampId)),
        // Only what this operation made: a stamp provisioned again (its placement reused) keeps its data.
        compensate: async () => {
          const allocated = records.find((r) => r.name === 'allocate');
          const target = await this.#target(stampId, false);
          if (target && allocated?.output?.['reused'] !== true) await driver.remove(target);
          else if (target) await driver.stop(target);
        },
      },
      {
        name: 'start',
        volatile: driver.ownsProcesses,
        run: async () => (await driver.start(await this.#target(stampId))) ?? undefined,
        compensate: async () => {
          const target = await this.#target(stampId, false);
          if (target) await driver.stop(target);
        },
      },
      {
        name: 'wait-ready',
        run: async () => driver.waitReady(await this.#target(stampId), { timeoutMs: this.#options.readyTimeoutMs ?? 60_000, signal: this.#abort.signal }),
      },
      {
        name: 'activate',
        run: async () => {
          const target = await this.#target(stampId);
          this.#live.add(stampId);
          const stamp = await catalog.activateStamp(stampId, `running at ${target.url} (${driver.kind} driver)`, tenant, operation.actor);
          return { url: stamp.url, ...(tenant !== undefined ? { tenant } : {}) };
        },
        compensate: async () => {
          this.#live.delete(stampId);
          if (tenant === undefined) return;
          const placed = await catalog.getTenant(tenant);
          if (placed?.stampId !== stampId) return;
          const before = (tenantRecord?.output ?? {}) as { existed?: boolean; previousStampId?: string | null };
          await this.#releaseTenant(tenant, before.previousStampId ?? null, before.existed === true && !before.previousStampId);
        },
      },
    );
    return steps;
  }

  #teardownSteps(operation: OperationRecord, stampId: string, driver: StampDriver, records: StepRecord[]): SagaStep[] {
    const catalog = this.#catalog;
    const input = records.find((r) => r.name === 'release-tenants')?.input ?? {};
    const tenant = typeof input['tenant'] === 'string' ? input['tenant'] : undefined;
    return [
      {
        name: 'release-tenants',
        run: async () => {
          let outcome: Record<string, unknown> = {};
          if (tenant !== undefined) {
            const placed = await catalog.getTenant(tenant);
            if (placed?.stampId === stampId) outcome = await this.#releaseTenant(tenant, await this.#previousStampOf(stampId), false);
          }
          const stamp = await this.#requireStamp(stampId);
          if (stamp.tenantCount > 0) throw new CatalogError('stamp-has-tenants', `stamp ${JSON.stringify(stampId)} holds ${stamp.tenantCount} tenants; move them to other stamps first`, { stamp: stampId });
          return { ...(tenant !== undefined ? { tenant } : {}), ...outcome };
        },
      },
      {
        name: 'retire',
        // Out of the gateways' config before its processes stop.
        run: async () => {
          this.#live.delete(stampId);
          await catalog.setStampState(stampId, 'retired', `being torn down by ${operation.actor}`, operation.actor);
        },
      },
      {
        name: 'stop',
        run: async () => {
          const target = await this.#target(stampId, false);
          if (target) await driver.stop(target);
        },
      },
      {
        name: 'remove',
        run: async () => {
          const target = await this.#target(stampId, false);
          if (target) await driver.remove(target);
        },
      },
    ];
  }

  /** Puts a tenant back on the stamp it came from (when that stamp exists and has room), or takes it out of the directory. `keep`: leave it where it is. */
  async #releaseTenant(tenant: string, previousStampId: string | null, keep: boolean): Promise<Record<string, unknown>> {
    if (keep) return { kept: true };
    if (previousStampId !== null && (await this.#catalog.getStamp(previousStampId))) {
      try {
        await this.#catalog.placeTenant(tenant, previousStampId);
        return { movedTo: previousStampId };
      } catch (error) {
        if (!(error instanceof CatalogError)) throw error;
        await this.#catalog.deleteTenant(tenant, 'system');
        return { removed: true, why: error.message };
      }
    }
    if (await this.#catalog.getTenant(tenant)) await this.#catalog.deleteTenant(tenant, 'system');
    return { removed: true };
  }

  /** Where a tenant lived before its own stamp was provisioned: the last successful provision's record-tenant step. */
  async #previousStampOf(stampId: string): Promise<string | null> {
    for (const operation of await this.#catalog.listOperations(stampId, 50)) {
      if (operation.kind !== 'provision' || operation.state !== 'succeeded') continue;
      const record = safeRecords(operation)?.find((r) => r.name === 'record-tenant');
      const previous = record?.output?.['previousStampId'];
      return typeof previous === 'string' ? previous : null;
    }
    return null;
  }

  async #requireStamp(stampId: string): Promise<StampRecord> {
    const stamp = await this.#catalog.getStamp(stampId);
    if (!stamp) throw new CatalogError('unknown-stamp', `no stamp is named ${JSON.stringify(stampId)}`, { stamp: stampId });
    return stamp;
  }

  /** The stamp as its driver needs it, from its recorded placement; undefined (when not `required`) before one is recorded. */
  async #target(stampId: string): Promise<DriverStamp>;
  async #target(stampId: string, required: false): Promise<DriverStamp | undefined>;
  async #target(stampId: string, required = true): Promise<DriverStamp | undefined> {
    const stamp = await this.#catalog.getStamp(stampId);
    if (!stamp || stamp.dataDir === null || stamp.url === '') {
      if (!required) return undefined;
      throw new Error(`stamp ${JSON.stringify(stampId)} has no placement recorded`);
    }
    return { id: stamp.id, port: stamp.port, url: stamp.url, dataDir: stamp.dataDir };
  }

  // ---- stamps that outlive an operation ----------------------------------------------------------

  /**
   * Whether the stamp is one this provisioner brought up and that ran when the previous control
   * plane stopped: its last operation is a successful provision, and it is active, draining, or
   * failed at run time (its supervisor was restarting it). Stamps started by other means
   * (`stampgate up`'s own, with no operation) are left to whoever starts them.
   */
  async #ranBefore(stamp: StampRecord): Promise<boolean> {
    if (stamp.state !== 'active' && stamp.state !== 'draining' && stamp.state !== 'failed') return false;
    const [last] = await this.#catalog.listOperations(stamp.id, 1);
    return last?.kind === 'provision' && last.state === 'succeeded';
  }

  async #restart(stamp: StampRecord, driver: StampDriver): Promise<void> {
    let target: DriverStamp = { id: stamp.id, port: stamp.port, url: stamp.url, dataDir: stamp.dataDir! };
    this.#live.add(stamp.id);
    try {
      try {
        await driver.start(target);
      } catch (error) {
        // Its recorded port went to another program while the control plane was down: take a new one.
        if (!(error instanceof DriverError) || !/in use/.test(error.message)) throw error;
        const taken = new Set((await this.#catalog.listStamps()).flatMap((s) => (s.port === null ? [] : [s.port])));
        const placement = await driver.place(stamp.id, taken);
        await this.#catalog.setStampPlacement(stamp.id, { ...placement, dataDir: target.dataDir });
        target = { ...target, port: placement.port, url: placement.url };
        await driver.start(target);
      }
      this.#log(`stamp ${stamp.id}: started again at ${target.url}`);
    } catch (error) {
      this.#live.delete(stamp.id);
      await this.#catalog.setStampState(stamp.id, 'failed', `could not be started again: ${(error as Error).message}`).catch(() => {});
      throw error;
    }
  }

  #onRuntimeState(stampId: string, state: 'running' | 'failed', reason: string): void {
    if (!this.#live.has(stampId) || this.#abort.signal.aborted) return;
    this.#catalog.setStampState(stampId, state === 'running' ? 'active' : 'failed', state === 'running' ? `running: ${reason}` : reason).catch((error: Error) => this.#log(`could not record the state of stamp ${stampId}: ${error.message}`));
  }

  #refuseWhenClosed(): void {
    if (this.#abort.signal.aborted) throw new CatalogError('invalid-state', 'the control plane is stopping; retry on its next start');
  }

  #emit(operationId: string): void {
    for (const listener of this.#listeners) listener(operationId);
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

function safeRecords(operation: OperationRecord): StepRecord[] | undefined {
  try {
    return parseStepRecords(operation.steps);
  } catch {
    return undefined;
  }
}
