// Deployment endpoints: per-tenant deploys (seed 002), provisioning and teardown of a stamp, and an
// operation's progress as server-sent events. Each starts a saga of the provisioner and answers 202
// at once with where to follow it; the work goes on in the control plane.
//
//   POST   /api/v1/tenants/{id}/deploy          202 deploying | 200 already_deployed | 409 operation-in-progress
//   GET    /api/v1/tenants/{id}/deploy/status   200 { state: not_deployed | deploying | running | stopped | undeploying | undeployed | error, … }
//   DELETE /api/v1/tenants/{id}/deploy          202 undeploying | 200 not_deployed / undeployed (nothing to do)
//   POST   /api/v1/stamps/{id}/provision        202 the operation
//   POST   /api/v1/stamps/{id}/teardown         202 the operation (the stamp is deleted when it is done)
//   GET    /api/v1/operations/{id}/events       text/event-stream: step events, then `finished`
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Catalog, OperationRecord } from '../store/catalog.ts';
import type { TenantDeployments, TenantDeployStatus } from '../deploy/tenant-deploy.ts';
import { deployStates } from '../deploy/tenant-deploy.ts';
import { sseMessage, watchOperation } from '../deploy/progress.ts';
import { principalOf } from './auth.ts';
import { ApiProblem } from './problems.ts';
import { IdParams, Operation, Stamp, drivers, problems } from './schemas.ts';

const DeployBody = Type.Object(
  { driver: Type.Optional(Type.Unsafe<'process' | 'docker' | 'kubernetes'>({ type: 'string', enum: drivers.filter((d) => d !== 'external'), description: "the driver of the tenant's stamp (default: the control plane's default driver)" })) },
  { additionalProperties: false },
);
type DeployBody = Static<typeof DeployBody>;

const DeployStatus = Type.Object({
  tenant: Type.String(),
  state: Type.Unsafe<string>({ type: 'string', enum: [...deployStates], description: "the seed's deployment states (undeploying: a teardown runs)" }),
  reason: Type.String(),
  stamp: Type.Union([Stamp, Type.Null()], { description: "the tenant's own stamp, t-<tenant>" }),
  placedOn: Type.Union([Type.String(), Type.Null()], { description: 'the stamp the tenant is on now' }),
  operation: Type.Union([Operation, Type.Null()], { description: 'the last (or running) operation on its stamp' }),
  runtime: Type.Union([Type.Object({ running: Type.Boolean(), detail: Type.String() }), Type.Null()]),
  statusUrl: Type.String(),
  eventsUrl: Type.Union([Type.String(), Type.Null()], { description: 'SSE progress of the running operation' }),
});

const OperationIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{1,64}$', description: 'an operation id' }) }, { additionalProperties: false });

const StartedOperation = Type.Object({ ...Operation.properties, statusUrl: Type.String(), eventsUrl: Type.String() });

export function registerDeployRoutes(app: FastifyInstance, catalog: Catalog, deployments: TenantDeployments): void {
  const provisioner = deployments.provisioner;
  const streams = new Set<AbortController>();
  // Open event streams end when the app closes (close() would otherwise wait for them).
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.abort();
  });

  const answer = (reply: FastifyReply, result: { accepted: boolean; status: TenantDeployStatus }) =>
    reply
      .code(result.accepted ? 202 : 200)
      .header('location', result.status.statusUrl)
      .send(result.status);

  app.post<{ Params: { id: string }; Body: DeployBody }>(
    '/api/v1/tenants/:id/deploy',
    {
      schema: { tags: ['tenants'], summary: 'Deploy the tenant on a stamp of its own (seed 002)', params: IdParams, body: DeployBody, response: { 200: DeployStatus, 202: DeployStatus, ...problems(400, 401, 403, 409) } },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => answer(reply, await deployments.deploy(request.params.id, { actor: principalOf(request).name, driver: request.body.driver })),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/tenants/:id/deploy/status',
    { schema: { tags: ['tenants'], summary: "The state of the tenant's own deployment", params: IdParams, response: { 200: DeployStatus, ...problems(400, 401, 403) } } },
    async (request) => deployments.status(request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/tenants/:id/deploy',
    { schema: { tags: ['tenants'], summary: "Undeploy the tenant: tear its own stamp down", params: IdParams, response: { 200: DeployStatus, 202: DeployStatus, ...problems(400, 401, 403, 409) } } },
    async (request, reply) => answer(reply, await deployments.undeploy(request.params.id, { actor: principalOf(request).name })),
  );

  const started = (reply: FastifyReply, operation: OperationRecord) =>
    reply
      .code(202)
      .header('location', `/api/v1/operations/${operation.id}`)
      .send({ ...operation, statusUrl: `/api/v1/operations/${operation.id}`, eventsUrl: `/api/v1/operations/${operation.id}/events` });

  app.post<{ Params: { id: string } }>(
    '/api/v1/stamps/:id/provision',
    { schema: { tags: ['stamps'], summary: 'Provision a stamp with its driver (a new one, or a failed one again)', params: IdParams, response: { 202: StartedOperation, ...problems(400, 401, 403, 404, 409) } } },
    async (request, reply) => started(reply, await provisioner.provision(request.params.id, { actor: principalOf(request).name })),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/stamps/:id/teardown',
    { schema: { tags: ['stamps'], summary: 'Stop a stamp, remove its files and delete it (it must hold no tenants)', params: IdParams, response: { 202: StartedOperation, ...problems(400, 401, 403, 404, 409) } } },
    async (request, reply) => started(reply, await provisioner.teardown(request.params.id, { actor: principalOf(request).name })),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/operations/:id/events',
    {
      schema: {
        tags: ['operations'],
        summary: "An operation's progress as server-sent events",
        description: 'text/event-stream. Each message is `event: step` (data: { index, step, status: running | done | failed | compensating | compensated, attempt, error?, output? }) or, last, `event: finished` (data: { state, error }). The steps so far come first; a finished operation gives its whole story and the stream ends.',
        params: OperationIdParams,
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => streamEvents(request, reply),
  );

  async function streamEvents(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> {
    const operationId = request.params.id;
    if (!(await catalog.getOperation(operationId))) throw new ApiProblem(404, 'unknown-operation', 'Unknown operation', `no operation has id ${JSON.stringify(operationId)}`, { operation: operationId });
    const abort = new AbortController();
    streams.add(abort);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-request-id': request.id, 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.on('close', () => abort.abort());
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    let id = 0;
    try {
      for await (const event of watchOperation(catalog, operationId, { signal: abort.signal, subscribe: (listener) => provisioner.onOperationChange(listener) })) {
        res.write(sseMessage(event, ++id));
      }
    } catch (error) {
      request.log.error({ err: error }, 'operation event stream failed');
      res.write(`event: error\ndata: ${JSON.stringify({ detail: 'the event stream failed; reconnect to resume' })}\n\n`);
    } finally {
      clearInterval(heartbeat);
      streams.delete(abort);
      res.end();
    }
  }
}
