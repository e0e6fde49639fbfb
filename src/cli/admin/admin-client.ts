// The CLI's HTTP client of the control plane's admin API (src/control/api/README.md). Every failure
// becomes one line a person can act on: the API's problem `detail` (ApiError), or "cannot reach the
// control plane at URL: connection refused" (UnreachableError).
import type { Static } from '@sinclair/typebox';
import { Agent, request } from 'undici';
import type { Operation, Stamp, Tenant, TenantPage } from '../../control/api/schemas.ts';
import { describeNetworkError } from '../../gateway/providers/network-errors.ts';

export type StampView = Static<typeof Stamp>;
export type TenantView = Static<typeof Tenant>;
export type TenantPageView = Static<typeof TenantPage>;
export type OperationView = Static<typeof Operation>;

export interface AdminClientOptions {
  /** The admin API's base URL, `http://127.0.0.1:8080`. */
  api: string;
  token?: string;
  /** How long a request may wait for its answer (default 30 s). */
  timeoutMs?: number;
}

/** The admin API answered with an error: `message` is its problem's `detail`. */
export class ApiError extends Error {
  readonly status: number;
  /** The problem type's last segment (`unknown-stamp`, `invalid-request`…), or `http-<status>`. */
  readonly code: string;
  readonly problem: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, problem?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

/** No answer from the control plane at all. */
export class UnreachableError extends Error {}

export interface ApiResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export class AdminClient {
  readonly api: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ connect: { timeout: 10_000 } });

  constructor(options: AdminClientOptions) {
    this.api = options.api.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const response = await this.#send(method, path, body, { accept: 'application/json', ...headers });
    const text = await response.body.text();
    if (response.statusCode >= 400) throw errorOf(response.statusCode, text, this.api);
    let parsed: unknown = undefined;
    if (text !== '' && method !== 'HEAD') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ApiError(response.statusCode, 'not-json', `the control plane at ${this.api} answered ${method} ${path} with something that is not JSON`);
      }
    }
    return { status: response.statusCode, headers: response.headers, body: parsed as T };
  }

  /** A streaming GET (server-sent events): yields each event's `event` name and `data`, until the stream ends or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: string }> {
    const response = await this.#send('GET', path, undefined, { accept: 'text/event-stream' }, { signal, bodyTimeout: 0 });
    if (response.statusCode >= 400) throw errorOf(response.statusCode, await response.body.text(), this.api);
    let buffer = '';
    let event = 'message';
    let data: string[] = [];
    try {
      for await (const chunk of response.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (data.length > 0) yield { event, data: data.join('\n') };
            event = 'message';
            data = [];
          } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          else if (line.startsWith('event:')) event = line.slice(6).trim();
          // `id:`, `retry:` and comments (`:`) carry nothing the CLI shows.
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw new UnreachableError(`the control plane at ${this.api} closed the event stream: ${describeNetworkError(error)}`);
    } finally {
      response.body.destroy();
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  // ---- stamps ------------------------------------------------------------------------------------

  async listStamps(): Promise<StampView[]> {
    return (await this.request<{ items: StampView[] }>('GET', '/api/v1/stamps')).body.items;
  }

  async getStamp(id: string): Promise<StampView> {
    return (await this.request<StampView>('GET', `/api/v1/stamps/${segment(id)}`)).body;
  }

  async createStamp(stamp: Record<string, unknown>): Promise<StampView> {
    return (await this.request<StampView>('POST', '/api/v1/stamps', stamp)).body;
  }

  async updateStamp(id: string, patch: Record<string, unknown>): Promise<StampView> {
    return (await this.request<StampView>('PATCH', `/api/v1/stamps/${segment(id)}`, patch)).body;
  }

  async drainStamp(id: string, reason: string | undefined): Promise<StampView> {
    return (await this.request<StampView>('POST', `/api/v1/stamps/${segment(id)}/drain`, reason === undefined ? {} : { reason })).body;
  }

  async deleteStamp(id: string): Promise<void> {
    await this.request('DELETE', `/api/v1/stamps/${segment(id)}`);
  }

  async stampOperations(id: string): Promise<OperationView[]> {
    return (await this.request<{ items: OperationView[] }>('GET', `/api/v1/stamps/${segment(id)}/operations`)).body.items;
  }

  // ---- tenants -----------------------------------------------------------------------------------

  async listTenants(query: { stamp?: string; limit?: number; cursor?: string }): Promise<TenantPageView> {
    const params = new URLSearchParams();
    if (query.stamp !== undefined) params.set('stamp', query.stamp);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    const search = params.size > 0 ? `?${params}` : '';
    return (await this.request<TenantPageView>('GET', `/api/v1/tenants${search}`)).body;
  }

  async getTenant(id: string): Promise<TenantView> {
    return (await this.request<TenantView>('GET', `/api/v1/tenants/${segment(id)}`)).body;
  }

  async createTenant(tenant: Record<string, unknown>): Promise<TenantView> {
    return (await this.request<TenantView>('POST', '/api/v1/tenants', tenant)).body;
  }

  async moveTenant(id: string, stamp: string): Promise<TenantView> {
    return (await this.request<TenantView>('POST', `/api/v1/tenants/${segment(id)}/move`, { stamp })).body;
  }

  async deleteTenant(id: string): Promise<void> {
    await this.request('DELETE', `/api/v1/tenants/${segment(id)}`);
  }

  // ---- operations and the config feed ------------------------------------------------------------

  async getOperation(id: string): Promise<OperationView> {
    return (await this.request<OperationView>('GET', `/api/v1/operations/${segment(id)}`)).body;
  }

  /** The config version gateways are served now (a HEAD of /v1/config: its headers, not the document). */
  async configVersion(): Promise<{ version: number; epoch: string | undefined }> {
    const response = await this.request<undefined>('HEAD', '/v1/config');
    const version = Number(response.headers['stampgate-config-version']);
    const etag = /^(?:W\/)?"([0-9a-f-]+)\.\d+"$/.exec(String(response.headers.etag ?? ''));
    return { version, epoch: etag?.[1] };
  }

  async #send(method: string, path: string, body: unknown, headers: Record<string, string>, extra: { signal?: AbortSignal; bodyTimeout?: number } = {}) {
    const url = `${this.api}${path}`;
    const allHeaders: Record<string, string> = { ...headers };
    if (this.#token !== undefined) allHeaders.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) allHeaders['content-type'] = 'application/json';
    try {
      return await request(url, {
        method: method as 'GET',
        headers: allHeaders,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: extra.bodyTimeout ?? this.#timeoutMs,
        signal: extra.signal,
      });
    } catch (error) {
      throw new UnreachableError(`cannot reach the control plane at ${this.api}: ${describeNetworkError(error)}`);
    }
  }
}

function segment(id: string): string {
  return encodeURIComponent(id);
}

/** The problem's `detail` on one line; a non-problem answer described by its status. */
function errorOf(status: number, text: string, api: string): ApiError {
  let problem: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) problem = parsed as Record<string, unknown>;
  } catch {
    problem = undefined;
  }
  const type = typeof problem?.type === 'string' ? problem.type : '';
  const code = type !== '' ? type.slice(type.lastIndexOf('/') + 1) : `http-${status}`;
  const detail = typeof problem?.detail === 'string' && problem.detail !== '' ? problem.detail : typeof problem?.title === 'string' ? problem.title : `the control plane at ${api} answered ${status}${text === '' ? '' : `: ${text.slice(0, 120)}`}`;
  return new ApiError(status, code, oneLine(detail), problem);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}
