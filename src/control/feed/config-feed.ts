// The config feed's engine: the document gateways fetch, built once per config version and kept as
// bytes (a million tenants are tens of megabytes: no request rebuilds them), and the waiting room of
// the long-poll watch. Waiters cost a promise and a timer each; one version check serves them all:
// an in-process signal from the catalog after each commit, plus a poll of the version row every
// `pollIntervalMs` while anyone waits, which sees changes made by other control planes (PostgreSQL)
// or other processes on the same SQLite file.
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { StampDefinitionConfig } from '../../config/schema/dynamic.ts';
import type { Catalog, ConfigVersion, StampRecord } from '../store/catalog.ts';

const gzip = promisify(gzipCallback);

/** What `GET /v1/config` answers (described for gateway authors in ../api/README.md). */
export interface ConfigDocument {
  version: number;
  epoch: string;
  /** Items of the gateway's `stamps` service (`StampsServiceConfig['stamps']`): active and draining stamps that have a URL. */
  stamps: StampDefinitionConfig[];
  /** tenant → stamp id, for every tenant (also those on stamps not listed: the gateway answers 503 for them). */
  tenants: Record<string, string>;
}

/** A delta (`delta=1`): `tenants` holds only the tenants placed or moved since `since`; `removedTenants` the ones deleted. */
export interface ConfigDelta extends ConfigDocument {
  since: number;
  removedTenants: string[];
}

export interface FeedBody extends ConfigVersion {
  etag: string;
  body: Buffer;
  /** The body gzip-compressed, made on first demand and kept. */
  gzipped(): Promise<Buffer>;
}

export interface ConfigFeedOptions {
  catalog: Catalog;
  /** Re-read the version this often while someone waits (default 500 ms; 0: in-process changes only). */
  pollIntervalMs?: number;
}

/** Known to a client: from its ETag, or from `version` (and `epoch`) in the query. */
export interface KnownVersion {
  version: number;
  epoch?: string;
}

interface Waiter {
  known: KnownVersion;
  settle(changed: boolean): void;
}

export function etagFor(v: ConfigVersion): string {
  return `W/"${v.epoch}.${v.version}"`;
}

/** The version an `If-None-Match` header names, when it is one of ours. */
export function parseEtag(header: string | undefined): KnownVersion | undefined {
  if (!header) return undefined;
  const match = /^(?:W\/)?"([0-9a-f-]{1,64})\.([0-9]{1,15})"$/.exec(header.split(',')[0]!.trim());
  return match ? { epoch: match[1]!, version: Number(match[2]) } : undefined;
}

export function differs(current: ConfigVersion, known: KnownVersion): boolean {
  return current.version !== known.version || (known.epoch !== undefined && known.epoch !== current.epoch);
}

export class ConfigFeed {
  readonly #catalog: Catalog;
  readonly #pollIntervalMs: number;
  readonly #waiters = new Set<Waiter>();
  readonly #unsubscribe: () => void;
  #latest: ConfigVersion | undefined;
  #cached: FeedBody | undefined;
  #building: Promise<FeedBody> | undefined;
  #poller: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ConfigFeedOptions) {
    this.#catalog = options.catalog;
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#unsubscribe = this.#catalog.onChange((version) => {
      if (this.#latest) this.#observe({ version, epoch: this.#latest.epoch });
      else void this.#check();
    });
  }

  /** How many watchers wait now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  async currentVersion(): Promise<ConfigVersion> {
    const current = await this.#catalog.configVersion();
    this.#observe(current);
    return current;
  }

  /** The whole document at the current version (or later). */
  async document(): Promise<FeedBody> {
    const current = await this.currentVersion();
    if (this.#cached && this.#cached.epoch === current.epoch && this.#cached.version >= current.version) return this.#cached;
    for (;;) {
      // One build at a time: a hundred gateways woken by one change share it.
      const built = await (this.#building ??= this.#build().finally(() => (this.#building = undefined)));
      if (built.epoch !== current.epoch || built.version >= current.version) return built;
    }
  }

  /** The changes since `known`, or undefined when only the whole document can say it (unknown epoch, too many changes). */
  async delta(known: KnownVersion): Promise<{ version: ConfigVersion; body: Buffer } | undefined> {
    const changes = await this.#catalog.readDirectoryChanges(known.version);
    if (!changes || (known.epoch !== undefined && known.epoch !== changes.epoch)) return undefined;
    const tenants: Record<string, string> = Object.fromEntries(changes.placed);
    const delta: ConfigDelta = { version: changes.version, epoch: changes.epoch, since: known.version, stamps: stampDefinitions(changes.stamps), tenants, removedTenants: changes.removed };
    return { version: { version: changes.version, epoch: changes.epoch }, body: Buffer.from(JSON.stringify(delta)) };
  }

  /**
   * Resolves true as soon as the version differs from `known` (at once when it already does), false
   * after `timeoutMs`, when `signal` aborts or when the feed closes.
   */
  async wait(known: KnownVersion, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#closed) return false;
    if (differs(await this.currentVersion(), known)) return true;
    if (signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      const onAbort = () => waiter.settle(false);
      const waiter: Waiter = {
        known,
        settle: (changed) => {
          if (!this.#waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(changed);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      // A change may have landed between the read above and now.
      if (this.#latest && differs(this.#latest, known)) waiter.settle(true);
      else this.#startPolling();
    });
  }

  /** Releases every waiter (they answer "not modified") and stops watching the store. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const waiter of [...this.#waiters]) waiter.settle(false);
    this.#stopPolling();
  }

  #observe(current: ConfigVersion): void {
    // Reads may finish out of order: within one epoch the version only moves forward.
    if (this.#latest && this.#latest.epoch === current.epoch && current.version <= this.#latest.version) return;
    this.#latest = current;
    for (const waiter of [...this.#waiters]) if (differs(current, waiter.known)) waiter.settle(true);
  }

  async #check(): Promise<void> {
    try {
      await this.currentVersion();
    } catch {
      // The store is unreachable for a moment: the next poll tries again; waiters time out meanwhile.
    }
  }

  /** One polling loop at most; it ends by itself at the first tick with nobody waiting. */
  #startPolling(): void {
    if (this.#poller || this.#pollIntervalMs <= 0 || this.#closed) return;
    const tick = async () => {
      if (this.#waiters.size === 0 || this.#closed) {
        this.#poller = undefined;
        return;
      }
      await this.#check();
      if (!this.#closed) this.#poller = setTimeout(tick, this.#pollIntervalMs).unref();
    };
    this.#poller = setTimeout(tick, this.#pollIntervalMs).unref();
  }

  #stopPolling(): void {
    if (this.#poller) clearTimeout(this.#poller);
    this.#poller = undefined;
  }

  async #build(): Promise<FeedBody> {
    const parts: Buffer[] = [];
    const snapshot = await this.#catalog.readDirectory((members) => parts.push(Buffer.from(parts.length === 0 ? members : `,${members}`)));
    const head = JSON.stringify({ version: snapshot.version, epoch: snapshot.epoch, stamps: stampDefinitions(snapshot.stamps) });
    const body = Buffer.concat([Buffer.from(`${head.slice(0, -1)},"tenants":{`), ...parts, Buffer.from('}}')]);
    let compressed: Promise<Buffer> | undefined;
    const built: FeedBody = {
      version: snapshot.version,
      epoch: snapshot.epoch,
      etag: etagFor(snapshot),
      body,
      gzipped: () => (compressed ??= gzip(body, { level: 4 })),
    };
    if (!this.#cached || this.#cached.epoch !== built.epoch || this.#cached.version <= built.version) this.#cached = built;
    this.#observe(snapshot);
    return built;
  }
}

/** The stamps a gateway routes to, as items of its `stamps` service. */
export function stampDefinitions(stamps: StampRecord[]): StampDefinitionConfig[] {
  return stamps
    .filter((s) => (s.state === 'active' || s.state === 'draining') && s.url !== '')
    .map((s) => ({
      id: s.id,
      ...(s.aliases.length > 0 ? { aliases: s.aliases } : {}),
      servers: [{ url: s.url }],
      ...(s.state === 'draining' ? { draining: true } : {}),
    }));
}
