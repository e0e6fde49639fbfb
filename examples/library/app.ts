// The books API of one stamp (the seed's "biblioteca"), as a Fastify instance that is built but not
// listening: server.ts listens on PORT, tests on port 0. The app does not own its store and cache;
// whoever opened them closes them (after app.close(), so in-flight requests can finish).
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import http from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { failOpen } from './cache/fail-open.ts';
import type { BookCache } from './cache/book-cache.ts';
import { createLineLogger, type LineLogger } from './log.ts';
import { ProblemError, problemBody, problemCatalog, sendProblem, type ProblemCode } from './problem.ts';
import { StoreUnavailableError, withTimeout, type BookStore } from './store/book-store.ts';
import { parseBookId, parseBookInput } from './validation.ts';

export interface LibraryAppOptions {
  stampId: string;
  store: BookStore;
  cache: BookCache;
  /** Defaults to a logger on stdout/stderr with the `[STAMP:<id>] ` prefix. */
  log?: LineLogger;
  /** Largest accepted request body, in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** How long /ready waits for the database and the cache (default 1000 ms). */
  readyTimeoutMs?: number;
  /** One log line per request (default true). */
  logRequests?: boolean;
}

type IdParams = { Params: { id: string } };

// The methods each known path accepts, so a wrong method gets 405 with Allow instead of a bare 404.
function allowedMethods(path: string): string | undefined {
  const trimmed = path.length > 1 ? path.replace(/\/$/, '') : path;
  if (trimmed === '/libros') return 'GET, HEAD, POST';
  if (/^\/libros\/[^/]+$/.test(trimmed)) return 'GET, HEAD, PUT, DELETE';
  if (trimmed === '/health' || trimmed === '/ready') return 'GET, HEAD';
  return undefined;
}

function shorten(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// A gateway's request id is kept so one id follows the request through the gateway and the stamp.
function requestIdOf(request: http.IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
}

/** Logs the first failure of a streak and the recovery, not one line per request. */
function databaseHealthLog(log: LineLogger) {
  let failing = false;
  return {
    ok() {
      if (!failing) return;
      failing = false;
      log.info('database: answering again');
    },
    failed(error: Error) {
      if (failing) return;
      failing = true;
      log.warn(`database: ${error.message}`);
    },
  };
}

export function createLibraryApp(options: LibraryAppOptions): FastifyInstance {
  const { stampId, store } = options;
  const log = options.log ?? createLineLogger(stampId);
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const readyTimeoutMs = options.readyTimeoutMs ?? 1000;
  const cache = failOpen(options.cache, log);
  const database = databaseHealthLog(log);

  // Malformed HTTP never reaches Fastify's routing; answer it with a problem body too.
  const clientErrorHandler = (error: Error & { code?: string }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const code: ProblemCode =
      error.code === 'HPE_HEADER_OVERFLOW' ? 'headers-too-large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request-timeout' : 'bad-request';
    const detail = code === 'bad-request' ? `malformed HTTP request (${error.code ?? error.message})` : problemCatalog[code].title;
    const body = JSON.stringify(problemBody(code, detail, stampId, randomUUID()));
    const { status } = problemCatalog[code];
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nX-Stamp-Id: ${stampId}\r\n` +
          `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };

  const app = Fastify({
    logger: false,
    bodyLimit,
    // Requests that arrive while closing are still served (with Connection: close) rather than
    // refused with Fastify's own 503 body, which would lack X-Stamp-Id and the problem format.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: requestIdOf,
    clientErrorHandler,
    // Errors found before routing: a malformed URL, or a path parameter over maxParamLength.
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') sendProblem(reply, stampId, 'invalid-id', 'book id is too long');
      else sendProblem(reply, stampId, 'bad-request', shorten(error.message));
    },
  });

  // Only JSON is accepted; without Fastify's text/plain parser, any other type becomes a 415.
  // Our own JSON parser keeps the parser's message (with the position) for the 400's detail.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(new ProblemError('invalid-json', 'request body is empty: send a JSON object with titulo and autor'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ProblemError('invalid-json', `request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-stamp-id', stampId);
    reply.header('x-request-id', request.id);
    done();
  });

  if (options.logRequests ?? true) {
    app.addHook('onResponse', (request, reply, done) => {
      log.info(`${request.method} ${shorten(request.url)} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
      done();
    });
  }

  app.setErrorHandler((error: FastifyError | ProblemError | StoreUnavailableError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ProblemError) {
      reply.headers(error.headers);
      return sendProblem(reply, stampId, error.code, error.message, error.errors);
    }
    if (error instanceof StoreUnavailableError) {
      database.failed(error);
      reply.header('retry-after', '1');
      return sendProblem(reply, stampId, 'database-unavailable', "the stamp's database is unavailable; retry later");
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, stampId, 'body-too-large', `request body is larger than the limit of ${bodyLimit} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
        const type = request.headers['content-type'];
        const detail =
          type === undefined
            ? 'a request body needs Content-Type: application/json'
            : `Content-Type '${shorten(type, 100)}' is not supported: send application/json`;
        return sendProblem(reply, stampId, 'unsupported-media-type', detail);
      }
    }
    // Other client errors Fastify raises (a Content-Length that does not match the body, …).
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, stampId, 'bad-request', shorten(error.message));
    log.error(`${request.method} ${shorten(request.url)} failed (request ${request.id}): ${error.stack ?? error.message}`);
    return sendProblem(reply, stampId, 'internal', `an unexpected error occurred; the stamp's log has the details under request id ${request.id}`);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    const allow = allowedMethods(path);
    if (allow !== undefined) {
      reply.header('allow', allow);
      return sendProblem(reply, stampId, 'method-not-allowed', `${request.method} is not allowed on ${shorten(path)}; allowed: ${allow}`);
    }
    return sendProblem(reply, stampId, 'route-not-found', `no route for ${request.method} ${shorten(path)}`);
  });

  // Liveness: answers as long as the process does, never touches the database.
  app.get('/health', (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return reply.send({ status: 'ok', stamp: stampId });
  });

  // Readiness: the database must answer. The cache is reported but does not decide, because the
  // database is the source of truth and reads fall back to it.
  app.get('/ready', async (_request, reply) => {
    const [db, cacheState] = await Promise.all([
      withTimeout(store.ping(readyTimeoutMs), readyTimeoutMs, 'the database').then(
        () => {
          database.ok();
          return 'ok';
        },
        (error: Error) => {
          database.failed(error);
          return 'error';
        },
      ),
      withTimeout(options.cache.ping(), readyTimeoutMs, 'the cache').then(
        () => 'ok',
        () => 'error',
      ),
    ]);
    reply.header('cache-control', 'no-store').code(db === 'ok' ? 200 : 503);
    return { status: db === 'ok' ? 'ready' : 'not_ready', db, cache: cacheState, stamp: stampId };
  });

  app.get('/libros', async () => {
    const books = await store.list();
    database.ok();
    return books;
  });

  app.post('/libros', async (request, reply) => {
    const input = parseBookInput(request.body);
    const book = await store.create(input);
    reply.code(201).header('location', `/libros/${book.id}`);
    return book;
  });

  // Cache-aside: the cache first, then the database, whose answer is cached for the next read.
  app.get<IdParams>('/libros/:id', async (request, reply) => {
    const id = parseBookId(request.params.id);
    const cached = await cache.get(id);
    if (cached !== undefined) {
      reply.header('x-cache', 'hit');
      return cached;
    }
    const book = await store.get(id);
    if (book === undefined) throw new ProblemError('book-not-found', `no book with id ${id}`);
    await cache.set(book);
    reply.header('x-cache', 'miss');
    return book;
  });

  app.put<IdParams>('/libros/:id', async (request) => {
    const id = parseBookId(request.params.id);
    const input = parseBookInput(request.body);
    const book = await store.update(id, input);
    // Invalidate even when the book is gone, in case a stale entry outlived it.
    await cache.delete(id);
    if (book === undefined) throw new ProblemError('book-not-found', `no book with id ${id}`);
    return book;
  });

  app.delete<IdParams>('/libros/:id', async (request, reply) => {
    const id = parseBookId(request.params.id);
    const removed = await store.remove(id);
    await cache.delete(id);
    if (!removed) throw new ProblemError('book-not-found', `no book with id ${id}`);
    return reply.code(204).send();
  });

  return app;
}
