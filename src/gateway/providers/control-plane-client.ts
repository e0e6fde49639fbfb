// One request to the control plane's config feed, GET /v1/config: a plain fetch, or a long-poll watch
// (`watch=1`) that answers when the version differs from the ETag sent. An HTTP client (undici) with
// its own keep-alive connection: the gateway never imports the control plane's code.
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { Agent, request } from 'undici';
import { FeedDocumentError, parseFeedDocument, type FeedDocument } from './feed-document.ts';
import { describeNetworkError } from './network-errors.ts';

const gunzip = promisify(gunzipCallback);

export interface ControlPlaneClientOptions {
  /** The control plane's URL (`http://10.0.0.5:8080`); `/v1/config` is appended unless the URL ends with it. */
  endpoint: string;
  /** A token of role gateway (or viewer, admin), sent as `Authorization: Bearer`. */
  token?: string;
  /** How long a connection may take to open (default 3 s). */
  connectTimeoutMs?: number;
  /** How long a plain (not watching) request may wait for its answer (default 10 s). */
  requestTimeoutMs?: number;
}

export interface FeedRequest {
  /** The ETag of the config the gateway has: a 304 answers when it is current. */
  etag?: string;
  /** Long-poll: wait (up to `timeoutSeconds`) for a version other than `etag`'s. */
  watch?: boolean;
  /** Ask for only the changes since `etag`'s version (the control plane may still answer a whole document). */
  delta?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export type FeedAnswer =
  | { status: 200; document: FeedDocument; etag: string | undefined; /** the body as received (decompressed) */ body: Buffer }
  | { status: 304 };

/**
 * Why the control plane gave no config. `unreachable`: no answer (refused, timed out, reset);
 * `refused`: 401/403 (the token); `failed`: another HTTP error; `malformed`: an answer that is not a config.
 */
export type ControlPlaneErrorKind = 'unreachable' | 'refused' | 'failed' | 'malformed' | 'aborted';

export class ControlPlaneError extends Error {
  readonly kind: ControlPlaneErrorKind;
  constructor(kind: ControlPlaneErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** `http://host:8080` → `http://host:8080/v1/config`. */
export function configUrlOf(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/config') ? trimmed : `${trimmed}/v1/config`;
}

export class ControlPlaneClient {
  readonly configUrl: string;
  readonly #token: string | undefined;
  readonly #requestTimeoutMs: number;
  readonly #agent: Agent;

  constructor(options: ControlPlaneClientOptions) {
    this.configUrl = configUrlOf(options.endpoint);
    this.#token = options.token;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#agent = new Agent({ connect: { timeout: options.connectTimeoutMs ?? 3_000 }, keepAliveTimeout: 60_000, connections: 2 });
  }

  async fetch(options: FeedRequest = {}): Promise<FeedAnswer> {
    const url = new URL(this.configUrl);
    if (options.watch) {
      url.searchParams.set('watch', '1');
      if (options.timeoutSeconds !== undefined) url.searchParams.set('timeout', String(options.timeoutSeconds));
    }
    if (options.delta && options.etag !== undefined) url.searchParams.set('delta', '1');
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (options.etag !== undefined) headers['if-none-match'] = options.etag;
    // A watch waits up to its timeout for an answer; a control plane silent much longer than that is gone.
    const headersTimeout = options.watch ? ((options.timeoutSeconds ?? 25) + 15) * 1000 : this.#requestTimeoutMs;

    let response;
    try {
      response = await request(url, { method: 'GET', headers, dispatcher: this.#agent, headersTimeout, bodyTimeout: 30_000, signal: options.signal });
    } catch (error) {
      throw options.signal?.aborted ? new ControlPlaneError('aborted', 'stopped') : new ControlPlaneError('unreachable', describeNetworkError(error));
    }
    try {
      if (response.statusCode === 304) {
        await response.body.dump();
        return { status: 304 };
      }
      let body = Buffer.from(await response.body.arrayBuffer());
      if (response.statusCode !== 200) throw new ControlPlaneError(response.statusCode === 401 || response.statusCode === 403 ? 'refused' : 'failed', `${response.statusCode} ${problemDetail(body)}`);
      if (String(response.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') body = await gunzip(body);
      let document: FeedDocument;
      try {
        document = parseFeedDocument(JSON.parse(body.toString('utf8')));
      } catch (error) {
        throw new ControlPlaneError('malformed', `the answer is not a config document: ${error instanceof FeedDocumentError || error instanceof SyntaxError ? error.message : String(error)}`);
      }
      const etag = response.headers.etag;
      return { status: 200, document, etag: typeof etag === 'string' ? etag : undefined, body };
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      throw options.signal?.aborted ? new ControlPlaneError('aborted', 'stopped') : new ControlPlaneError('unreachable', describeNetworkError(error));
    }
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}

/** The `detail` of a problem answer, or the start of whatever else came. */
function problemDetail(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof parsed.detail === 'string') return parsed.detail;
    if (typeof parsed.title === 'string') return parsed.title;
  } catch {
    // not JSON: show it as it is
  }
  return text.slice(0, 200).replace(/\s+/g, ' ').trim() || 'no detail';
}
