// `stampgate deploy <tenant>`, `stampgate deploy status <tenant>` and `stampgate undeploy <tenant>`:
// a tenant on a stamp of its own (seed 002), through the admin API's deployment endpoints
// (src/control/api/README.md, "Deployments"):
//
//   POST   /api/v1/tenants/{id}/deploy          202 deploying (an operation to follow) | 200 already_deployed
//   GET    /api/v1/tenants/{id}/deploy/status   { tenant, state, reason, stamp, placedOn, operation, runtime, … }
//   DELETE /api/v1/tenants/{id}/deploy          202 undeploying | 200 not_deployed / undeployed
//   GET    /api/v1/operations/{id}/events       the operation's progress (server-sent events)
//
// deploy and undeploy show each step as it happens and end with the tenant's state: exit 0 when the
// operation succeeded, 1 with its error when not.
import { Option, type Command } from 'commander';
import { ApiError, type AdminClient, type OperationView, type StampView } from '../admin/admin-client.ts';
import { reportUsageErrors, withClient, withClientOptions, type ClientFlags } from '../admin/admin-command.ts';
import { followOperation } from '../admin/follow-operation.ts';
import { formatInstant, printJson } from '../output/format.ts';
import { renderDetails } from '../output/table.ts';

interface DeployFlags extends ClientFlags {
  /** false with --no-wait. */
  wait: boolean;
  driver?: string;
}

/** The deploy status document (what the answers of all three endpoints are). */
export interface DeployStatusView {
  tenant?: string;
  state?: string;
  reason?: string;
  stamp?: StampView | null;
  placedOn?: string | null;
  operation?: OperationView | null;
  runtime?: { running: boolean; detail: string } | null;
  [key: string]: unknown;
}

export class OperationFailedError extends Error {}

export function registerDeployCommand(program: Command): void {
  const deploy = withClientOptions(
    reportUsageErrors(program.command('deploy'))
      .description('deploy a tenant on a stamp of its own (t-<tenant>) and show the progress until it runs; `deploy status <tenant>` says where it stands')
      .argument('<tenant>', 'tenant id'),
  )
    .addOption(new Option('--driver <driver>', 'the driver of the tenant\'s stamp (default: the control plane\'s)').choices(['process', 'docker', 'kubernetes']))
    .option('--no-wait', 'start it, print the operation id and return')
    .action(async (tenant: string, flags: DeployFlags) => withClient(flags, (client) => runDeployment(client, 'POST', tenant, flags)));

  // The client options are deploy's (`deploy status acme --api …` gives them to deploy).
  deploy
    .command('status')
    .description('where a tenant\'s deployment stands (options as for deploy: --api, --token, --json)')
    .argument('<tenant>', 'tenant id')
    .action(async (tenant: string, _options: unknown, command: Command) => {
      const flags = command.optsWithGlobals<ClientFlags>();
      await withClient(flags, async (client) => {
        const { body } = await deploymentRequest(client, 'GET', tenant, '/status');
        if (flags.json) return printJson(body);
        console.log(renderDetails(statusDetails(body)));
      });
    });
}

export function registerUndeployCommand(program: Command): void {
  withClientOptions(reportUsageErrors(program.command('undeploy')).description('tear a tenant\'s own stamp down (the tenant goes back where it was) and show the progress until it is gone').argument('<tenant>', 'tenant id'))
    .option('--no-wait', 'start it, print the operation id and return')
    .action(async (tenant: string, flags: DeployFlags) => withClient(flags, (client) => runDeployment(client, 'DELETE', tenant, flags)));
}

async function runDeployment(client: AdminClient, method: 'POST' | 'DELETE', tenant: string, flags: DeployFlags): Promise<void> {
  const verb = method === 'POST' ? 'deploy' : 'undeploy';
  const started = await deploymentRequest(client, method, tenant, '', method === 'POST' ? (flags.driver !== undefined ? { driver: flags.driver } : {}) : undefined);
  // 202: an operation was started; 200: nothing to do (already deployed, nothing to undeploy).
  const operationId = started.status === 202 ? operationIdOf(started.body) : undefined;
  if (operationId === undefined) {
    if (flags.json) return printJson(started.body);
    console.log(`tenant ${tenant}: ${describeState(started.body)}`);
    return;
  }
  if (!flags.wait) {
    if (flags.json) return printJson(started.body);
    console.log(`${verb} of tenant ${tenant} started (operation ${operationId}); follow it with: stampgate deploy status ${tenant}`);
    return;
  }
  const stamp = started.body.stamp?.id;
  if (!flags.json) console.log(`${method === 'POST' ? 'deploying' : 'undeploying'} tenant ${tenant}${stamp ? ` ${method === 'POST' ? 'on' : 'from'} stamp ${stamp}` : ''} (operation ${operationId})`);
  const done = await followOperation(client, operationId, { onLine: flags.json ? undefined : (line) => console.log(line) });
  const after = (await deploymentRequest(client, 'GET', tenant, '/status')).body;
  if (flags.json) printJson(after);
  if (done.state !== 'succeeded') throw new OperationFailedError(`${verb} of tenant ${tenant} ${done.state}: ${done.error ?? (after.reason || 'no reason recorded')} (operation ${done.id})`);
  if (!flags.json) console.log(`tenant ${tenant} ${method === 'POST' ? 'deployed' : 'undeployed'} in ${seconds(done)}: ${describeState(after)}`);
}

/** One request to the tenant's deploy endpoint; a control plane without it says so plainly. */
async function deploymentRequest(client: AdminClient, method: 'GET' | 'POST' | 'DELETE', tenant: string, suffix: string, body?: unknown): Promise<{ status: number; body: DeployStatusView }> {
  const path = `/api/v1/tenants/${encodeURIComponent(tenant)}/deploy${suffix}`;
  try {
    const response = await client.request<DeployStatusView | undefined>(method, path, body);
    return { status: response.status, body: response.body ?? {} };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not-found') {
      throw new ApiError(error.status, error.code, `the control plane at ${client.api} has no tenant deployments (${method} ${path} is not one of its endpoints); upgrade it`);
    }
    throw error;
  }
}

/** The operation an answer started: `operationId`, `operation.id`, or the answer itself when it is one. */
export function operationIdOf(answer: Record<string, unknown>): string | undefined {
  if (typeof answer.operationId === 'string') return answer.operationId;
  const operation = answer.operation as Partial<OperationView> | undefined | null;
  if (typeof operation === 'object' && operation !== null && typeof operation.id === 'string') return operation.id;
  if (typeof answer.id === 'string' && Array.isArray(answer.steps) && typeof answer.state === 'string') return answer.id;
  return undefined;
}

/** `running — running at http://127.0.0.1:9000 (process driver)`: the state and the control plane's reason. */
function describeState(status: DeployStatusView): string {
  const state = status.state ?? 'unknown';
  return status.reason ? `${state} — ${status.reason}` : state;
}

function statusDetails(status: DeployStatusView): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ['tenant', status.tenant ?? '-'],
    ['state', describeState(status)],
    ['placed on', status.placedOn ?? '-'],
  ];
  const stamp = status.stamp;
  if (stamp) pairs.push(['stamp', `${stamp.id}: ${stamp.state}, driver ${stamp.driver}${stamp.url ? `, ${stamp.url}` : ''}`]);
  if (status.runtime) pairs.push(['runtime', status.runtime.detail || (status.runtime.running ? 'running' : 'not running')]);
  const operation = status.operation;
  if (operation) pairs.push(['operation', `${operation.kind} ${operation.state}, started ${formatInstant(operation.startedAt)}${operation.error ? `: ${operation.error}` : ''} (${operation.id})`]);
  return pairs;
}

function seconds(operation: OperationView): string {
  const took = (Date.parse(operation.finishedAt ?? '') - Date.parse(operation.startedAt)) / 1000;
  return Number.isFinite(took) ? `${took.toFixed(1)} s` : 'a moment';
}
