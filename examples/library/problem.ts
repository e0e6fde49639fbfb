// Every error the API can answer, in one place (as fastify keeps its coded errors in lib/errors.js),
// so each has a stable `type` URI, status and title. Bodies follow RFC 9457 (problem+json).
import type { FastifyReply } from 'fastify';

export const problemCatalog = {
  'invalid-json': { status: 400, title: 'Malformed JSON body' },
  'invalid-book': { status: 400, title: 'Invalid book' },
  'invalid-id': { status: 400, title: 'Invalid book id' },
  'bad-request': { status: 400, title: 'Bad request' },
  'book-not-found': { status: 404, title: 'Book not found' },
  'route-not-found': { status: 404, title: 'Route not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'internal': { status: 500, title: 'Internal server error' },
  'database-unavailable': { status: 503, title: 'Database unavailable' },
} as const;

export type ProblemCode = keyof typeof problemCatalog;

export const problemTypeBase = 'https://stampgate.dev/problems/';

/** One field that failed validation (an RFC 9457 extension member). */
export interface FieldError {
  field: string;
  detail: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  stamp: string;
  requestId: string;
  errors?: FieldError[];
}

/** Thrown by handlers and the body parser; the app's error handler turns it into a response. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly code: ProblemCode;
  readonly statusCode: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ProblemCode, detail: string, extra: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.code = code;
    this.statusCode = problemCatalog[code].status;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }
}

export function problemBody(code: ProblemCode, detail: string, stamp: string, requestId: string, errors?: FieldError[]): ProblemBody {
  const { status, title } = problemCatalog[code];
  const body: ProblemBody = { type: `${problemTypeBase}${code}`, title, status, detail, stamp, requestId };
  if (errors !== undefined) body.errors = errors;
  return body;
}

export function sendProblem(reply: FastifyReply, stamp: string, code: ProblemCode, detail: string, errors?: FieldError[]): FastifyReply {
  const body = problemBody(code, detail, stamp, reply.request.id, errors);
  return reply
    .code(body.status)
    .header('x-stamp-id', stamp)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(body));
}
