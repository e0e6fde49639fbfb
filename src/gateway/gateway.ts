// The gateway: one node:http server that answers its own endpoints (/healthz, /readyz, /stampsz)
// and forwards every other request to the stamp chosen for it. The stamp table is replaced as a
// whole on reload; a request runs entirely on the table it started with.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { problem, sendProblem } from '../shared/problem.ts';
import { sendJson } from '../shared/send-json.ts';
import { checkReadiness, type ReadyzBody } from '../observe/readiness.ts';
import { StampRequestCounters } from '../observe/stamp-request-counters.ts';
import { forward, type ForwardOptions } from './proxy/forward.ts';
import { withoutQueryParam } from './proxy/query-string.ts';
import { requestIdFor } from './proxy/request-id.ts';
import { selectStamp, type StampChoiceError } from './stamps/select-stamp.ts';
import { StampTable, type StampDefinition, type UpstreamTimeouts } from './stamps/stamp-table.ts';
import { TenantDirectory } from './stamps/tenant-directory.ts';

export interface GatewayOptions {
  stamps: StampDefinition[];
  /** Stamp for requests that name none; `default` when such a stamp exists, else the first. */
  defaultStamp?: string;
  tenants?: Iterable<readonly [string, string]>;
  /** Largest request body, in bytes (default 1 MiB). */
  bodyLimit?: number;
  timeouts?: Partial<UpstreamTimeouts>;
  /** Time each stamp's readiness probe gets in /readyz (default 1000 ms). */
  readinessTimeoutMs?: number;
  /** Where operator-facing lines go (upstream failures); silent when absent. */
  log?: (line: string) => void;
}

export const defaultBodyLimit = 1024 * 1024;
const defaultTimeouts: UpstreamTimeouts = { connectMs: 1000, headersMs: 30_000, bodyMs: 60_000 };

export class Gateway {
  readonly server: http.Server;
  readonly directory = new TenantDirectory();
  readonly counters = new StampRequestCounters();
  readonly #timeouts: UpstreamTimeouts;
  readonly #readinessTimeoutMs: number;
  readonly #forwardOptions: ForwardOptions;
  #table: StampTable;

  constructor(options: GatewayOptions) {
    this.#timeouts = { ...defaultTimeouts, ...options.timeouts };
    this.#readinessTimeoutMs = options.readinessTimeoutMs ?? 1000;
    const log = options.log;
    this.#forwardOptions = {
      bodyLimit: options.bodyLimit ?? defaultBodyLimit,
      onUpstreamError: log && ((stampId, requestId, status, reason) => log(`${status} stamp=${stampId} request=${requestId}: ${reason}`)),
    };
    this.#table = new StampTable(options.stamps, options.defaultStamp, this.#timeouts);
    this.counters.setStamps(this.#table.ids);
    if (options.tenants) this.directory.replace(options.tenants);
    this.server = http.createServer({ requireHostHeader: false }, (req, res) => this.#handle(req, res));
    this.server.on('clientError', answerMalformedRequest);
  }

  get stamps(): StampTable {
    return this.#table;
  }

  /** Swaps in a new stamp list; requests already under way finish on the old one. */
  setStamps(definitions: StampDefinition[], defaultStamp?: string): void {
    const next = new StampTable(definitions, defaultStamp, this.#timeouts, this.#table);
    const previous = this.#table;
    this.#table = next;
    this.counters.setStamps(next.ids);
    void previous.retire(next);
  }

  listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    await this.#table.retire();
  }

  readiness(): Promise<ReadyzBody> {
    const targets = this.#table.stamps.map((s) => ({ id: s.id, readyPath: s.readyPath, dispatcher: s.pool }));
    return checkReadiness(targets, this.#readinessTimeoutMs);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = req.url ?? '/';
    try {
      if (target.charCodeAt(0) !== 0x2f /* / */) {
        sendProblem(res, problem('bad-request-target', 'Bad request target', 400, `the request target must be a path starting with "/", found ${JSON.stringify(target.slice(0, 100))}`));
        return;
      }
      if (this.#answerOwnEndpoint(target, req, res)) return;
      if (req.headers.host === undefined && req.httpVersionMinor === 1) {
        sendProblem(res, problem('missing-host', 'Missing Host header', 400, 'an HTTP/1.1 request must carry a Host header'));
        return;
      }
      const requestId = requestIdFor(req.headers['x-request-id']);
      const table = this.#table;
      const choice = selectStamp(target, req.headers, table, this.directory);
      if (choice.stamp === undefined) {
        sendProblem(res, stampChoiceProblem(choice, table, requestId));
        return;
      }
      // The stamp key is the gateway's business, not the app's: it is not forwarded.
      const path = target.includes('stamp=') ? withoutQueryParam(target, 'stamp') : target;
      this.counters.increment(choice.stamp.index);
      forward(req, res, choice.stamp, path || '/', requestId, this.#forwardOptions);
    } catch (error) {
      // A bug must cost one request, never the process.
      this.#forwardOptions.onUpstreamError?.('-', '-', 500, `internal error: ${(error as Error).stack ?? String(error)}`);
      sendProblem(res, problem('internal-error', 'Internal gateway error', 500, 'the gateway failed to handle this request; the error is in its log'));
    }
  }

  /** Serves /healthz, /readyz and /stampsz; false when the target is none of them. */
  #answerOwnEndpoint(target: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const endpoint = ownEndpoint(target);
    if (endpoint === null) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendProblem(res, problem('method-not-allowed', 'Method not allowed', 405, `${endpoint} answers GET and HEAD only`), { allow: 'GET, HEAD' });
      return true;
    }
    if (endpoint === '/healthz') sendJson(res, 200, { status: 'ok' });
    else if (endpoint === '/stampsz') sendJson(res, 200, this.counters.snapshot());
    else {
      this.readiness().then(
        (body) => sendJson(res, body.status === 'ready' ? 200 : 503, body),
        (error: Error) => sendProblem(res, problem('internal-error', 'Readiness check failed', 500, error.message)),
      );
    }
    return true;
  }
}

const ownEndpoints = ['/healthz', '/readyz', '/stampsz'] as const;

function ownEndpoint(target: string): (typeof ownEndpoints)[number] | null {
  for (const endpoint of ownEndpoints) {
    if (target.startsWith(endpoint) && (target.length === endpoint.length || target.charCodeAt(endpoint.length) === 0x3f /* ? */)) return endpoint;
  }
  return null;
}

function stampChoiceProblem(choice: StampChoiceError, table: StampTable, requestId: string) {
  const known = table.ids;
  if (choice.error === 'unknown-stamp') {
    return problem('unknown-stamp', 'Unknown stamp', 404, `no stamp is named ${JSON.stringify(choice.key)}; known stamps: ${known.join(', ')}`, { requestId, knownStamps: known });
  }
  if (choice.error === 'unknown-tenant') {
    return problem('unknown-tenant', 'Unknown tenant', 404, `tenant ${JSON.stringify(choice.key)} is not in the tenant directory`, { requestId, tenant: choice.key });
  }
  return problem('tenant-stamp-missing', 'Tenant on an unknown stamp', 503, `tenant ${JSON.stringify(choice.key)} is placed on stamp ${JSON.stringify(choice.stampId)}, which this gateway does not know`, { requestId, tenant: choice.key, stamp: choice.stampId });
}

/** node:http found the request line or headers malformed: answer once, then close. */
function answerMalformedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = tooLarge ? 431 : timedOut ? 408 : 400;
  const title = tooLarge ? 'Request header fields too large' : timedOut ? 'Request timeout' : 'Malformed request';
  const detail = tooLarge ? 'the request line and headers exceed the size limit' : timedOut ? 'the request was not received in time' : `the request could not be parsed (${error.code ?? 'parse error'})`;
  const body = JSON.stringify(problem(tooLarge ? 'headers-too-large' : timedOut ? 'request-timeout' : 'malformed-request', title, status, detail));
  socket.end(`HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
