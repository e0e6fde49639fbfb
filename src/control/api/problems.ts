// Every error of the admin API and the config feed is an application/problem+json answer (RFC 9457)
// with a stable `type`: validation errors name their fields, catalog conflicts carry what a client
// needs to act (the running operation's id), and an unexpected error says only that it happened —
// never a stack trace. The full error goes to the log with the request id.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problem, type Problem } from '../../shared/problem.ts';
import { CatalogError, type CatalogErrorCode } from '../store/catalog.ts';
import { fieldErrors, type FieldError } from './validation.ts';

/** An answer a handler decides on (401, 403, a 400 found after validation…). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, title: string, detail: string, extensions: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.title = title;
    this.extensions = extensions;
    this.headers = headers;
  }
}

export function invalidRequest(errors: FieldError[]): ApiProblem {
  return new ApiProblem(400, 'invalid-request', 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
}

const catalogAnswers: Record<CatalogErrorCode, { status: number; title: string }> = {
  'unknown-stamp': { status: 404, title: 'Unknown stamp' },
  'unknown-tenant': { status: 404, title: 'Unknown tenant' },
  'unknown-operation': { status: 404, title: 'Unknown operation' },
  'unknown-token': { status: 404, title: 'Unknown token' },
  'stamp-exists': { status: 409, title: 'Stamp exists' },
  'tenant-exists': { status: 409, title: 'Tenant exists' },
  'token-exists': { status: 409, title: 'Token exists' },
  'alias-taken': { status: 409, title: 'Name taken' },
  'stamp-full': { status: 409, title: 'Stamp at capacity' },
  'stamp-not-accepting': { status: 409, title: 'Stamp takes no tenants' },
  'no-stamp-available': { status: 409, title: 'No stamp available' },
  'stamp-has-tenants': { status: 409, title: 'Stamp has tenants' },
  'capacity-below-use': { status: 409, title: 'Capacity below use' },
  'invalid-state': { status: 409, title: 'Invalid state' },
  'operation-in-progress': { status: 409, title: 'Operation in progress' },
  'last-admin-token': { status: 409, title: 'Last admin token' },
  'invalid-input': { status: 400, title: 'Invalid request' },
};

const fastifyCodes: Record<number, string> = {
  400: 'malformed-request',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  413: 'body-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  431: 'headers-too-large',
};

export function toProblem(error: unknown, requestId: string): { body: Problem; headers: Record<string, string>; unexpected: boolean } {
  const extensions = { requestId };
  if (error instanceof ApiProblem) {
    return { body: problem(error.code, error.title, error.status, error.message, { ...extensions, ...error.extensions }), headers: error.headers, unexpected: false };
  }
  if (error instanceof CatalogError) {
    const answer = catalogAnswers[error.code];
    if (error.code === 'invalid-input') {
      const field = typeof error.details['field'] === 'string' ? error.details['field'] : 'body';
      const message = error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
      return toProblem(invalidRequest([{ field, message }]), requestId);
    }
    return { body: problem(error.code, answer.title, answer.status, error.message, { ...extensions, ...error.details }), headers: {}, unexpected: false };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (Array.isArray(fastifyError.validation)) {
    const root = (fastifyError as { validationContext?: string }).validationContext ?? 'body';
    const errors = fieldErrors(fastifyError.validation as Parameters<typeof fieldErrors>[0], root);
    return toProblem(invalidRequest(errors.length > 0 ? errors : [{ field: root, message: fastifyError.message ?? 'is not valid' }]), requestId);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, wrong content type, body too large): their messages are safe to show.
    const code = fastifyCodes[status] ?? 'bad-request';
    return { body: problem(code, titleOf(code), status, fastifyError.message ?? code, extensions), headers: {}, unexpected: false };
  }
  return { body: problem('internal-error', 'Internal error', 500, `the control plane failed to answer this request; its log has the details under request id ${requestId}`, extensions), headers: {}, unexpected: true };
}

function titleOf(code: string): string {
  const words = code.split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function sendProblemReply(reply: FastifyReply, body: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(body.status).headers({ 'cache-control': 'no-store', ...headers }).type('application/problem+json').send(body);
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { body, headers, unexpected } = toProblem(error, request.id);
  if (unexpected) request.log.error({ err: error }, 'unexpected error');
  return sendProblemReply(reply, body, headers);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblemReply(reply, problem('not-found', 'Not found', 404, `no endpoint answers ${request.method} ${request.url.split('?')[0]}; see /openapi.json`, { requestId: request.id }));
}
