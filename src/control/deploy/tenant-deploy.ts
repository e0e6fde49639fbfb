// Automatic per-tenant deployment (seed 002, "despliegue automático por tienda"): a tenant gets a
// stamp of its own, `t-<tenant>` (capacity 1, label `tenant=<id>`), provisioned by the saga and
// with the tenant placed on it in the step that activates it; undeploying tears that stamp down
// and puts the tenant back on the stamp it came from, or takes it out of the directory when it had
// none (it was created by the deploy) or that stamp is gone or full.
//
// The seed's states, as the status answers them:
//   not_deployed      no stamp of its own, never deployed (or only a failed deploy, then undeployed)
//   deploying         a provision operation runs on its stamp
//   running           its stamp is active (or draining)
//   stopped           its stamp exists but does not run (stopped, or failed after it had run)
//   already_deployed  the answer to a deploy of a running tenant (nothing is done)
//   undeploying       a teardown operation runs on its stamp (not a seed word: the seed's undeploy was synchronous)
//   undeployed        its stamp was torn down and removed
//   error             its last deploy failed; `reason` says why (everything it made was removed)
import { createHash } from 'node:crypto';
import type { Catalog, OperationRecord, StampRecord, TenantRecord } from '../store/catalog.ts';
import { CatalogError } from '../store/catalog.ts';
import type { DriverDescription, DriverKind } from './driver.ts';
import type { Provisioner } from './provisioner.ts';

export const deployStates = ['not_deployed', 'deploying', 'running', 'stopped', 'already_deployed', 'undeploying', 'undeployed', 'error'] as const;
export type DeployState = (typeof deployStates)[number];

export interface TenantDeployStatus {
  tenant: string;
  state: DeployState;
  /** Why the state is what it is: the stamp's state reason, or the last operation's error. */
  reason: string;
  /** The tenant's own stamp, when it exists. */
  stamp: StampRecord | null;
  /** The stamp the tenant is placed on now (its own once deployed), or null when it is in no stamp. */
  placedOn: string | null;
  /** The last operation on the tenant's stamp (the running one while deploying or undeploying). */
  operation: OperationRecord | null;
  /** What the driver sees of the stamp's servers. */
  runtime: DriverDescription | null;
  statusUrl: string;
  /** The running operation's progress stream (SSE), while there is one. */
  eventsUrl: string | null;
}

export interface DeployAnswer {
  /** True when an operation was started (202); false when there was nothing to do (200). */
  accepted: boolean;
  status: TenantDeployStatus;
}

/** `t-<tenant>`, shortened with a hash when the tenant id is long: the sample app takes stamp ids of at most 52 characters. */
export function dedicatedStampId(tenantId: string): string {
  const plain = `t-${tenantId}`;
  if (plain.length <= 52) return plain;
  const hash = createHash('sha256').update(tenantId).digest('hex').slice(0, 8);
  return `t-${tenantId.slice(0, 41).replace(/-+$/, '')}-${hash}`;
}

const tenantLabel = 'tenant';
const idPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class TenantDeployments {
  readonly #catalog: Catalog;
  readonly #provisioner: Provisioner;
  readonly #apiPrefix: string;

  constructor(options: { catalog: Catalog; provisioner: Provisioner; apiPrefix?: string }) {
    this.#catalog = options.catalog;
    this.#provisioner = options.provisioner;
    this.#apiPrefix = options.apiPrefix ?? '/api/v1';
  }

  get provisioner(): Provisioner {
    return this.#provisioner;
  }

  /**
   * Deploys the tenant on a stamp of its own. A running deployment answers `already_deployed` and
   * changes nothing; one being deployed or undeployed is a 409 with the running operation's id.
   * A tenant that does not exist yet is created on its stamp when the stamp becomes active.
   */
  async deploy(tenantId: string, options: { actor: string; driver?: DriverKind }): Promise<DeployAnswer> {
    checkTenantId(tenantId);
    const stampId = dedicatedStampId(tenantId);
    const stamp = await this.#ownStamp(tenantId, stampId, true);
    await this.#refuseWhileRunning(stampId);
    if (stamp && (stamp.state === 'active' || stamp.state === 'draining')) return { accepted: false, status: { ...(await this.status(tenantId)), state: 'already_deployed' } };
    if (stamp && options.driver !== undefined && stamp.driver !== options.driver) {
      throw new CatalogError('invalid-state', `tenant ${JSON.stringify(tenantId)}'s stamp ${JSON.stringify(stampId)} is recorded with the ${stamp.driver} driver; undeploy it first to deploy with ${options.driver}`, { stamp: stampId, driver: stamp.driver });
    }
    const driver = options.driver ?? this.#provisioner.defaultDriver;
    if (!this.#provisioner.driver(driver)) throw new CatalogError('invalid-input', `driver: this control plane does not run the ${driver} driver`, { field: 'driver' });
    await this.#provisioner.provision(stampId, { actor: options.actor, tenant: tenantId, create: { id: stampId, driver, capacity: 1, labels: { [tenantLabel]: tenantId } } });
    return { accepted: true, status: await this.status(tenantId) };
  }

  /** Tears the tenant's own stamp down. Nothing to undeploy answers the status as it is (not_deployed or undeployed). */
  async undeploy(tenantId: string, options: { actor: string }): Promise<DeployAnswer> {
    checkTenantId(tenantId);
    const stampId = dedicatedStampId(tenantId);
    const stamp = await this.#ownStamp(tenantId, stampId, false);
    if (!stamp) return { accepted: false, status: await this.status(tenantId) };
    await this.#refuseWhileRunning(stampId);
    await this.#provisioner.teardown(stampId, { actor: options.actor, tenant: tenantId });
    return { accepted: true, status: await this.status(tenantId) };
  }

  async status(tenantId: string): Promise<TenantDeployStatus> {
    checkTenantId(tenantId);
    const stampId = dedicatedStampId(tenantId);
    const named = await this.#catalog.getStamp(stampId);
    const stamp = named && named.labels[tenantLabel] === tenantId ? named : undefined;
    // A stamp of that name made for something else is not the tenant's: neither are its operations.
    const operation = named && !stamp ? null : ((await this.#catalog.listOperations(stampId, 1))[0] ?? null);
    const tenant = await this.#catalog.getTenant(tenantId);
    const state = deployState(stamp, operation);
    const driver = stamp && this.#provisioner.driver(stamp.driver);
    const runtime = driver && stamp.dataDir !== null && stamp.url !== '' ? await driver.describe({ id: stamp.id, port: stamp.port, url: stamp.url, dataDir: stamp.dataDir }).catch((error: Error) => ({ running: false, detail: error.message })) : null;
    return {
      tenant: tenantId,
      state,
      reason: reasonFor(state, stamp, operation, tenant),
      stamp: stamp ?? null,
      placedOn: tenant?.stampId ?? null,
      operation,
      runtime,
      statusUrl: `${this.#apiPrefix}/tenants/${tenantId}/deploy/status`,
      eventsUrl: operation?.state === 'running' ? `${this.#apiPrefix}/operations/${operation.id}/events` : null,
    };
  }

  /** The tenant's own stamp; a stamp of that name made for something else is a conflict for a deploy, and not the tenant's for the rest. */
  async #ownStamp(tenantId: string, stampId: string, conflict: boolean): Promise<StampRecord | undefined> {
    const stamp = await this.#catalog.getStamp(stampId);
    if (!stamp || stamp.labels[tenantLabel] === tenantId) return stamp;
    if (conflict) throw new CatalogError('stamp-exists', `stamp ${JSON.stringify(stampId)} exists and is not tenant ${JSON.stringify(tenantId)}'s own (it has no label ${tenantLabel}=${tenantId})`, { stamp: stampId });
    return undefined;
  }

  async #refuseWhileRunning(stampId: string): Promise<void> {
    const running = await this.#catalog.runningOperation(stampId);
    if (running) throw new CatalogError('operation-in-progress', `operation ${running.id} (${running.kind}) is running on stamp ${JSON.stringify(stampId)}; retry when it has finished`, { stamp: stampId, operationId: running.id });
  }
}

export function deployState(stamp: StampRecord | undefined, last: OperationRecord | null): DeployState {
  if (last?.state === 'running') return last.kind === 'teardown' ? 'undeploying' : 'deploying';
  if (!stamp) return last?.kind === 'teardown' && last.state === 'succeeded' ? 'undeployed' : 'not_deployed';
  switch (stamp.state) {
    case 'active':
    case 'draining':
      return 'running';
    case 'stopped':
    case 'retired':
      return 'stopped';
    case 'failed':
      // Failed after it had run (its supervisor gave up for now) is a stopped deployment; failed to deploy is an error.
      return last?.kind === 'provision' && last.state === 'succeeded' ? 'stopped' : 'error';
    default:
      return 'not_deployed';
  }
}

function reasonFor(state: DeployState, stamp: StampRecord | undefined, operation: OperationRecord | null, tenant: TenantRecord | undefined): string {
  if (state === 'deploying' || state === 'undeploying') return `operation ${operation!.id} (${operation!.kind}) is running`;
  if (state === 'undeployed') return `undeployed at ${operation!.finishedAt}${tenant ? `; the tenant is on stamp ${tenant.stampId}` : '; the tenant is in no stamp'}`;
  if (state === 'not_deployed') return stamp ? stamp.stateReason : 'the tenant has no stamp of its own';
  return stamp?.stateReason || operation?.error || '';
}

function checkTenantId(tenantId: string): void {
  if (!idPattern.test(tenantId)) throw new CatalogError('invalid-input', `id: must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit (got ${JSON.stringify(tenantId)})`, { field: 'id' });
}
