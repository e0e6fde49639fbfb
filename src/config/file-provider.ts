// Traefik's file provider: the dynamic config from one file or a directory, reloaded when a file changes
// (and on demand: the gateway calls reload() on SIGHUP). Each good load becomes a numbered version; a bad
// one is reported and the last good version stays in service, so an editing mistake never takes routes
// down. The first load must succeed: a gateway does not start on a broken config.
//
// Usage:
//   const provider = new FileProvider({ directory: '/etc/stampgate/dynamic', entryPoints: ['web'] });
//   provider.on('config', (config, version) => gateway.swap(compile(config), version));
//   provider.on('error', (err) => log.error(err.format()));
//   const first = await provider.start();   // rejects with a ConfigError
//   process.on('SIGHUP', () => void provider.reload());
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DynamicConfig } from './schema/dynamic.ts';
import type { StaticConfig } from './schema/static.ts';
import { ConfigError, configIssue } from './config-error.ts';
import { configFormatOf } from './parse-file.ts';
import { loadDynamicConfig, type DynamicSource } from './load-dynamic.ts';

export interface FileProviderOptions extends DynamicSource {
  /** Reload when a file changes (Traefik's default: true). */
  readonly watch?: boolean;
  /** Entry point names of the static config, so that routers naming another one are rejected. */
  readonly entryPoints?: Iterable<string>;
  /**
   * How long to wait after the last change before reloading. Editors save in several steps (truncate,
   * write, rename), and `git checkout` touches many files: one reload after they settle, not one per step.
   */
  readonly debounceMs?: number;
}

export interface FileProviderStatus {
  /** The version in service: 0 before the first good load, then 1, 2, … (a reload with no change keeps it). */
  readonly version: number;
  readonly lastLoadAt: Date | undefined;
  /** Whether the last load produced a usable config. */
  readonly lastLoadOk: boolean | undefined;
  readonly lastSuccessAt: Date | undefined;
  readonly lastErrorAt: Date | undefined;
  /** The error of the most recent failed load (kept after a later success, for the record). */
  readonly lastError: ConfigError | undefined;
  /** The files read by the last good load (they gave the version in service). */
  readonly files: readonly string[];
  readonly watching: boolean;
}

export type ReloadResult =
  | { readonly ok: true; readonly version: number; /** false when the files gave the same config as the version in service */ readonly changed: boolean }
  | { readonly ok: false; readonly version: number; readonly error: ConfigError };

export interface FileProviderEvents {
  config: [config: DynamicConfig, version: number];
  error: [error: ConfigError];
}

const DEFAULT_DEBOUNCE_MS = 150;

export class FileProvider extends EventEmitter<FileProviderEvents> {
  readonly #source: DynamicSource;
  readonly #watch: boolean;
  readonly #entryPoints: readonly string[] | undefined;
  readonly #debounceMs: number;

  #started = false;
  #starting: Promise<DynamicConfig> | undefined;
  #closed = false;
  #version = 0;
  #config: DynamicConfig | undefined;
  #serialized: string | undefined;
  #files: readonly string[] = [];
  #lastLoadAt: Date | undefined;
  #lastLoadOk: boolean | undefined;
  #lastSuccessAt: Date | undefined;
  #lastErrorAt: Date | undefined;
  #lastError: ConfigError | undefined;

  #queue: Promise<unknown> = Promise.resolve();
  #queued: Promise<ReloadResult> | undefined;
  readonly #watchers = new Map<string, FSWatcher>();
  #debounce: NodeJS.Timeout | undefined;

  constructor(options: FileProviderOptions) {
    super();
    if (options.filename !== undefined && options.directory !== undefined) throw new TypeError('FileProvider: set filename or directory, not both');
    if (options.filename === undefined && options.directory === undefined) throw new TypeError('FileProvider: set filename or directory');
    this.#source = options.filename !== undefined ? { filename: options.filename } : { directory: options.directory };
    this.#watch = options.watch ?? true;
    this.#entryPoints = options.entryPoints === undefined ? undefined : [...options.entryPoints];
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  }

  /** The provider `providers.file` of a loaded static config describes, checking routers against its entry points. */
  static fromStaticConfig(config: StaticConfig, options: Pick<FileProviderOptions, 'debounceMs'> = {}): FileProvider {
    const file = config.providers?.file;
    if (file === undefined) throw new TypeError('FileProvider.fromStaticConfig: the static config has no providers.file');
    return new FileProvider({
      ...(file.filename !== undefined ? { filename: file.filename } : {}),
      ...(file.directory !== undefined ? { directory: file.directory } : {}),
      watch: file.watch ?? true,
      entryPoints: Object.keys(config.entryPoints),
      ...options,
    });
  }

  /** Loads the config (emitting 'config' with version 1) and starts watching; rejects with the ConfigError of a bad first load. */
  start(): Promise<DynamicConfig> {
    if (this.#closed) return Promise.reject(new Error('FileProvider: closed'));
    // A second call shares the first; after a failed start, a new call tries again.
    this.#starting ??= this.#start().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  async #start(): Promise<DynamicConfig> {
    this.#started = true;
    // Watch before the first read, so that a change made while it is read is not missed.
    if (this.#watch) this.#syncWatchers([this.#watchRoot()]);
    const result = await this.reload();
    if (!result.ok) {
      this.#started = false;
      this.#closeWatchers();
      throw result.error;
    }
    if (this.#config === undefined) throw new Error('FileProvider: no config after a successful load');
    return this.#config;
  }

  /**
   * Reads the files again. A new config is emitted as 'config' with the next version; a bad one as
   * 'error', keeping the version in service. Reloads run one at a time; calls made while one waits share it.
   */
  reload(): Promise<ReloadResult> {
    if (this.#queued !== undefined) return this.#queued;
    const next = this.#queue.then(() => {
      this.#queued = undefined;
      return this.#loadOnce();
    });
    this.#queued = next;
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Stops watching. Loads already running finish without emitting. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = undefined;
    this.#closeWatchers();
    await this.#queue;
  }

  /** The version in service and its config, or undefined before the first good load. */
  current(): { readonly config: DynamicConfig; readonly version: number } | undefined {
    return this.#config === undefined ? undefined : { config: this.#config, version: this.#version };
  }

  status(): FileProviderStatus {
    return {
      version: this.#version,
      lastLoadAt: this.#lastLoadAt,
      lastLoadOk: this.#lastLoadOk,
      lastSuccessAt: this.#lastSuccessAt,
      lastErrorAt: this.#lastErrorAt,
      lastError: this.#lastError,
      files: this.#files,
      watching: this.#watchers.size > 0,
    };
  }

  async #loadOnce(): Promise<ReloadResult> {
    if (this.#closed) return { ok: true, version: this.#version, changed: false };
    const at = new Date();
    let loaded;
    try {
      loaded = await loadDynamicConfig(this.#source, this.#entryPoints === undefined ? {} : { entryPoints: this.#entryPoints });
    } catch (err) {
      const error = err instanceof ConfigError ? err : new ConfigError([configIssue([], err instanceof Error ? err.message : String(err))], this.#watchRoot());
      if (this.#closed) return { ok: false, version: this.#version, error };
      this.#lastLoadAt = at;
      this.#lastLoadOk = false;
      this.#lastErrorAt = at;
      this.#lastError = error;
      // The directory may have been replaced (a ConfigMap swap, `rm -r && cp -r`): watch what exists now.
      if (this.#watch && this.#started) this.#syncWatchers([this.#watchRoot()]);
      // A failed first load is start()'s rejection; later ones are events. EventEmitter throws an
      // 'error' nobody listens to, and a config typo must not crash a running gateway.
      if (this.#version > 0 && this.listenerCount('error') > 0) this.emit('error', error);
      return { ok: false, version: this.#version, error };
    }
    if (this.#closed) return { ok: true, version: this.#version, changed: false };
    this.#lastLoadAt = at;
    this.#lastLoadOk = true;
    this.#lastSuccessAt = at;
    if (this.#watch && this.#started) this.#syncWatchers(this.#source.directory !== undefined ? loaded.directories : [this.#watchRoot()]);
    this.#files = loaded.files;
    const serialized = JSON.stringify(loaded.config);
    if (serialized === this.#serialized) return { ok: true, version: this.#version, changed: false };
    this.#serialized = serialized;
    this.#config = loaded.config;
    this.#version += 1;
    this.emit('config', loaded.config, this.#version);
    return { ok: true, version: this.#version, changed: true };
  }

  /** What is watched: the directory, or the directory holding the file (editors replace files by renaming, which a watch on the file itself would lose). */
  #watchRoot(): string {
    return this.#source.directory ?? dirname(this.#source.filename ?? '.');
  }

  #syncWatchers(directories: readonly string[]): void {
    const wanted = new Set(directories);
    for (const [dir, watcher] of this.#watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      try {
        // persistent: false: the provider alone does not keep the process alive; the gateway's listeners do.
        const watcher = watch(dir, { persistent: false }, (_event, name) => this.#onChange(name));
        watcher.on('error', () => {
          // The directory went away: forget this watcher; the reload will report the problem and re-sync.
          watcher.close();
          this.#watchers.delete(dir);
          this.#onChange(null);
        });
        this.#watchers.set(dir, watcher);
      } catch {
        // A missing directory: the load reports it; the next reload watches again.
      }
    }
  }

  #onChange(name: string | Buffer | null): void {
    if (this.#closed) return;
    const file = name === null ? null : String(name);
    if (file !== null && !this.#isRelevant(file)) return;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      // A throwing 'config' listener is a bug in the caller: surface it as EventEmitter would.
      this.reload().catch((err: unknown) => process.nextTick(() => { throw err; }));
    }, this.#debounceMs);
    this.#debounce.unref();
  }

  #isRelevant(name: string): boolean {
    // Kubernetes ConfigMap volumes swap a `..data` symlink; the file names stay the same.
    if (name.startsWith('..')) return true;
    if (this.#source.filename !== undefined) return name === basename(this.#source.filename);
    // In a directory: any config file, or a new subdirectory (no extension), but not editors' temp files.
    const base = basename(name);
    if (base.startsWith('.') || base.endsWith('~')) return false;
    return configFormatOf(base) !== undefined || !base.includes('.');
  }

  #closeWatchers(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
