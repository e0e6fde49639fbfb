// The control-plane provider: subscribes to the control plane's config feed (GET /v1/config) and keeps
// the gateway's view of the stamps and the tenant directory current.
//
//   const provider = new ControlPlaneProvider({ endpoint: 'http://cp:8080', token, cacheFile, log });
//   provider.on('update', (update, state) => …);   // after start(): each change, within a second
//   const first = await provider.start();         // the feed's document, or the cached copy
//   …
//   await provider.close();
//
// The loop: a whole document first, then long-poll watches (`watch=1`) asking for deltas (`delta=1`)
// from the version held. Static stability: when the control plane cannot be reached, the last config
// stays in service and the provider retries with a growing delay, logging once per change of state
// (down, why, back up), never per attempt. Every good config is written to `cacheFile`, and a gateway
// started while the control plane is down starts from that copy.
import { EventEmitter } from 'node:events';
import type { StampDefinitionConfig } from '../../config/schema/dynamic.ts';
import { cacheFileContents, defaultCacheFile, documentJson, readCacheFile, writeCacheFile } from './config-cache.ts';
import { ControlPlaneClient, ControlPlaneError, type ControlPlaneClientOptions, type FeedAnswer } from './control-plane-client.ts';
import { describeNetworkError } from './network-errors.ts';
import type { FeedDocument } from './feed-document.ts';

export interface ControlPlaneProviderOptions extends ControlPlaneClientOptions {
  /** Where the last good config is kept (default `.stampgate/gateway-config-cache.json` under the working directory). */
  cacheFile?: string;
  /** Operator-facing lines: state changes of the link, the cache used at start. */
  log?: (line: string) => void;
  /** How long one watch waits on the control plane before it answers "no change" (default 25 s). */
  watchTimeoutSeconds?: number;
  /** First retry delay after a failure (default 250 ms); doubles up to `retryMaxMs` (default 5 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** The gateway's copy of the control plane's config. */
export interface FeedState {
  version: number;
  epoch: string;
  etag: string;
  stamps: StampDefinitionConfig[];
  /** tenant → stamp id (the whole directory). */
  tenants: Map<string, string>;
  /** Where the config in service came from: the control plane, or the cache file at start. */
  source: 'control-plane' | 'cache';
}

/** A change: a whole document (replace everything), or a delta (apply `placed` and `removed`). `stamps` is whole either way. */
export type FeedUpdate =
  | { kind: 'full'; version: number; stampsChanged: boolean }
  | { kind: 'delta'; version: number; stampsChanged: boolean; placed: Array<[string, string]>; removed: string[] };

export interface ControlPlaneStatus {
  endpoint: string;
  /** Whether the last request to the control plane got an answer. */
  connected: boolean;
  /** Why it did not (while not connected). */
  lastError: string | null;
  version: number | null;
  source: FeedState['source'] | null;
  cacheFile: string;
}

export interface ControlPlaneProviderEvents {
  update: [update: FeedUpdate, state: FeedState];
}

export class ControlPlaneProvider extends EventEmitter<ControlPlaneProviderEvents> {
  readonly cacheFile: string;
  readonly #client: ControlPlaneClient;
  readonly #log: (line: string) => void;
  readonly #watchTimeoutSeconds: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #stop = new AbortController();
  #state: FeedState | undefined;
  #started = false;
  #loop: Promise<void> | undefined;
  /** Set while the control plane gives no config: why (as logged) and since when. */
  #down: { kind: ControlPlaneError['kind']; reason: string; since: number } | undefined;
  #saving: Promise<void> | undefined;
  #pendingSave: (() => Buffer) | undefined;
  #saveError: string | undefined;

  constructor(options: ControlPlaneProviderOptions) {
    super();
    this.#client = new ControlPlaneClient(options);
    this.cacheFile = options.cacheFile ?? defaultCacheFile();
    this.#log = options.log ?? (() => {});
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 25;
    this.#retryInitialMs = options.retryInitialMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 5_000;
  }

  get endpoint(): string {
    return this.#client.configUrl;
  }

  /** The config in service; undefined before start() resolved. */
  get state(): FeedState | undefined {
    return this.#state;
  }

  status(): ControlPlaneStatus {
    return {
      endpoint: this.endpoint,
      connected: this.#down === undefined && this.#state?.source === 'control-plane',
      lastError: this.#down?.reason ?? null,
      version: this.#state?.version ?? null,
      source: this.#state?.source ?? null,
      cacheFile: this.cacheFile,
    };
  }

  /**
   * Resolves with the first config: the control plane's, or — when it does not answer — the cached
   * copy. With neither, it keeps trying (logging once) until the control plane answers. Rejects when
   * the control plane refuses the token and there is no cached copy, and when closed meanwhile.
   */
  async start(): Promise<FeedState> {
    if (this.#started) throw new Error('ControlPlaneProvider: started already');
    this.#started = true;
    let cachedAt = '';
    try {
      const cached = await readCacheFile(this.cacheFile);
      if (cached !== undefined) {
        this.#state = { ...stateOf(cached.document, cached.etag), source: 'cache' };
        cachedAt = cached.savedAt;
      }
    } catch (error) {
      this.#log(`ignoring the config cache: ${(error as Error).message}`);
    }
    let delay = this.#retryInitialMs;
    for (;;) {
      try {
        const answer = await this.#client.fetch({ etag: this.#state?.etag, delta: true, signal: this.#stop.signal });
        if (answer.status === 304 && this.#state !== undefined) {
          this.#state.source = 'control-plane';
          this.#log(`control plane ${this.endpoint}: the cached copy (version ${this.#state.version}) is current`);
        } else if (answer.status === 200) {
          this.#accept(answer, false);
          this.#log(`control plane ${this.endpoint}: version ${this.#state!.version} (${describeState(this.#state!)})`);
        }
        this.#recovered(false);
        break;
      } catch (error) {
        const failure = asControlPlaneError(error);
        if (failure.kind === 'aborted') throw new Error('the control-plane provider was closed before its first configuration', { cause: error });
        if (this.#state !== undefined) {
          this.#down = { kind: failure.kind, reason: reasonOf(failure), since: Date.now() };
          this.#log(`control plane ${this.endpoint} ${reasonOf(failure)}: routing from the cached configuration ${this.cacheFile} (version ${this.#state.version} saved ${cachedAt}, ${describeState(this.#state)}); retrying with backoff`);
          break;
        }
        if (failure.kind === 'refused') throw new Error(`control plane ${this.endpoint} ${reasonOf(failure)}; check the gateway's token`, { cause: error });
        this.#failure(failure, `no cached configuration at ${this.cacheFile}: waiting for it before listening`);
        await this.#sleep(delay);
        delay = Math.min(delay * 2, this.#retryMaxMs);
      }
    }
    this.#loop = this.#watch();
    return this.#state!;
  }

  /** Resolves when the last config received is on disk. */
  async flush(): Promise<void> {
    while (this.#saving !== undefined) await this.#saving;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.flush();
    await this.#client.close();
  }

  async #watch(): Promise<void> {
    let delay = this.#retryInitialMs;
    while (!this.#stop.signal.aborted) {
      const state = this.#state!;
      try {
        // After a delta that did not fit (etag cleared), a plain fetch brings the whole document.
        const answer = await this.#client.fetch({ etag: state.etag || undefined, watch: state.etag !== '', delta: true, timeoutSeconds: this.#watchTimeoutSeconds, signal: this.#stop.signal });
        this.#recovered(true);
        delay = this.#retryInitialMs;
        if (answer.status === 200) this.#accept(answer, true);
      } catch (error) {
        const failure = asControlPlaneError(error);
        if (failure.kind === 'aborted' || this.#stop.signal.aborted) return;
        this.#failure(failure, `routing on its version ${this.#state!.version} meanwhile; retrying with backoff`);
        await this.#sleep(delay);
        delay = Math.min(delay * 2, this.#retryMaxMs);
      }
    }
  }

  /** Takes a 200 answer in: replaces the state (whole document) or applies it (delta), saves it, tells the listeners. */
  #accept(answer: Extract<FeedAnswer, { status: 200 }>, notify: boolean): void {
    const document = answer.document;
    const previous = this.#state;
    const etag = answer.etag ?? etagOf(document);
    if (document.since !== undefined) {
      if (previous === undefined || previous.epoch !== document.epoch || previous.version !== document.since) {
        // Not a change from what is held: ask for the whole document instead.
        if (previous !== undefined) previous.etag = '';
        throw new ControlPlaneError('malformed', `sent changes since version ${document.since}, and this gateway has ${previous === undefined ? 'none' : `version ${previous.version}`}`);
      }
      const placed = Object.entries(document.tenants);
      const removed = document.removedTenants ?? [];
      for (const tenant of removed) previous.tenants.delete(tenant);
      for (const [tenant, stamp] of placed) previous.tenants.set(tenant, stamp);
      const stampsChanged = !sameStamps(previous.stamps, document.stamps);
      Object.assign(previous, { version: document.version, epoch: document.epoch, etag, stamps: document.stamps, source: 'control-plane' });
      this.#save(() => cacheFileContents(this.endpoint, previous.etag, documentJson(previous.version, previous.epoch, previous.stamps, previous.tenants)));
      if (notify) this.#notify({ kind: 'delta', version: document.version, stampsChanged, placed, removed });
      return;
    }
    const next: FeedState = { ...stateOf(document, etag), source: 'control-plane' };
    const stampsChanged = previous === undefined || !sameStamps(previous.stamps, next.stamps);
    this.#state = next;
    this.#save(() => cacheFileContents(this.endpoint, etag, answer.body));
    if (notify) this.#notify({ kind: 'full', version: next.version, stampsChanged });
  }

  #notify(update: FeedUpdate): void {
    try {
      this.emit('update', update, this.#state!);
    } catch (error) {
      this.#log(`applying control-plane version ${update.version} failed: ${(error as Error).message}`);
    }
  }

  /**
   * Logs a failure when its kind differs from the one logged last: the first of an outage, or a new
   * state (unreachable → refusing the token). A new wording of the same state (reset, then refused)
   * is not logged: one line per state change, never one per attempt.
   */
  #failure(failure: ControlPlaneError, then: string): void {
    const reason = reasonOf(failure);
    if (this.#down?.kind === failure.kind) return;
    this.#down = { kind: failure.kind, reason, since: this.#down?.since ?? Date.now() };
    this.#log(`control plane ${this.endpoint} ${reason}; ${then}`);
  }

  #recovered(log: boolean): void {
    const down = this.#down;
    if (down === undefined) return;
    this.#down = undefined;
    if (log) this.#log(`control plane ${this.endpoint} answers again after ${((Date.now() - down.since) / 1000).toFixed(1)} s; following its changes`);
  }

  /** Writes the latest config to the cache file; writes asked for while one runs collapse into one. */
  #save(contents: () => Buffer): void {
    this.#pendingSave = contents;
    if (this.#saving !== undefined) return;
    this.#saving = (async () => {
      while (this.#pendingSave !== undefined) {
        const make = this.#pendingSave;
        this.#pendingSave = undefined;
        try {
          await writeCacheFile(this.cacheFile, make());
          if (this.#saveError !== undefined) this.#log(`config cache ${this.cacheFile} written again`);
          this.#saveError = undefined;
        } catch (error) {
          const message = (error as Error).message;
          if (this.#saveError !== message) this.#log(`could not write the config cache: ${message}`);
          this.#saveError = message;
        }
      }
      this.#saving = undefined;
    })();
  }

  #sleep(ms: number): Promise<void> {
    // ±20 % jitter: gateways restarted together do not retry in step.
    const wait = Math.round(ms * (0.8 + Math.random() * 0.4));
    return new Promise((resolve) => {
      const signal = this.#stop.signal;
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function stateOf(document: FeedDocument, etag: string | undefined): Omit<FeedState, 'source'> {
  return { version: document.version, epoch: document.epoch, etag: etag ?? etagOf(document), stamps: document.stamps, tenants: new Map(Object.entries(document.tenants)) };
}

/** The control plane's ETag form, `W/"<epoch>.<version>"`. */
function etagOf(document: Pick<FeedDocument, 'epoch' | 'version'>): string {
  return `W/"${document.epoch}.${document.version}"`;
}

function sameStamps(a: readonly StampDefinitionConfig[], b: readonly StampDefinitionConfig[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describeState(state: FeedState): string {
  const stamps = state.stamps.length === 1 ? '1 stamp' : `${state.stamps.length} stamps`;
  const tenants = state.tenants.size === 1 ? '1 tenant' : `${state.tenants.size} tenants`;
  return `${stamps}, ${tenants}`;
}

function asControlPlaneError(error: unknown): ControlPlaneError {
  return error instanceof ControlPlaneError ? error : new ControlPlaneError('unreachable', describeNetworkError(error));
}

function reasonOf(failure: ControlPlaneError): string {
  switch (failure.kind) {
    case 'unreachable':
      return `unreachable (${failure.message})`;
    case 'refused':
      return `refused the token (${failure.message})`;
    case 'failed':
      return `answered ${failure.message}`;
    default:
      return `sent an unusable answer (${failure.message})`;
  }
}
