// Where a gateway's dynamic config comes from: the file provider, the control-plane provider, or both.
// Composes them (compose-config.ts), compiles the result into the gateway and keeps its tenant
// directory in step with the control plane: a whole document replaces the directory, a delta sets and
// deletes single entries. Tenant-only changes never recompile the routing table; a change of the
// stamps does, first, so that a tenant is never pointed at a stamp the table does not have yet.
import type { DynamicConfig } from '../../config/schema/dynamic.ts';
import type { ConfigStatus } from '../gateway.ts';
import type { TenantDirectory } from '../stamps/tenant-directory.ts';
import { composeDynamicConfig } from './compose-config.ts';
import type { ControlPlaneProvider, FeedState, FeedUpdate } from './control-plane-provider.ts';

/** The part of a Gateway this needs. */
export interface ConfigTarget {
  applyConfig(config: DynamicConfig, version: number): void;
  readonly directory: TenantDirectory;
  readonly configStatus: ConfigStatus;
}

export interface GatewayConfigSourcesOptions {
  gateway: ConfigTarget;
  /** The control-plane provider (not started: start() starts it). */
  control?: ControlPlaneProvider;
  log?: (line: string) => void;
}

export class GatewayConfigSources {
  readonly #gateway: ConfigTarget;
  readonly #control: ControlPlaneProvider | undefined;
  readonly #log: (line: string) => void;
  #file: { config: DynamicConfig; version: number } | undefined;
  #staticTenants = new Map<string, string>();
  #version = 0;
  #started = false;
  #feedStamps: boolean | undefined;

  constructor(options: GatewayConfigSourcesOptions) {
    this.#gateway = options.gateway;
    this.#control = options.control;
    this.#log = options.log ?? (() => {});
  }

  /** The version in service (the gateway's configStatus version). */
  get version(): number {
    return this.#version;
  }

  /**
   * Starts the control-plane provider (waiting for its first config, or its cached copy) and applies
   * the first composed config; throws when the control plane refuses the token (and there is no
   * cached copy) and when the config does not compile ("dynamic configuration: …").
   */
  async start(): Promise<void> {
    if (this.#control !== undefined) {
      this.#control.on('update', (update, state) => this.#onUpdate(update, state));
      await this.#control.start();
    }
    try {
      this.#applyAll();
    } catch (error) {
      throw new Error(`dynamic configuration: ${(error as Error).message}`, { cause: error });
    }
    this.#started = true;
  }

  /**
   * A new file config (the file provider's `version`). Before start(): kept for it (returns false).
   * After: composed and applied (returns true); throws when it does not compile, and the version in
   * service stays.
   */
  setFileConfig(config: DynamicConfig, version: number): boolean {
    const previous = this.#file;
    this.#file = { config, version };
    if (!this.#started) return false;
    try {
      this.#applyAll();
    } catch (error) {
      this.#file = previous;
      throw error;
    }
    return true;
  }

  async close(): Promise<void> {
    await this.#control?.close();
  }

  /** Composes and compiles everything, then loads the whole directory. */
  #applyAll(): void {
    this.#compileRoutes();
    if (this.#control !== undefined) this.#gateway.directory.replace(this.#directoryEntries(this.#control.state));
  }

  #compileRoutes(): void {
    const state = this.#control?.state;
    if (this.#control === undefined || state === undefined) {
      // The file provider alone: its config as it is, numbered by the file provider.
      const file = this.#file ?? { config: {}, version: this.#version + 1 };
      this.#gateway.applyConfig(file.config, file.version);
      this.#version = file.version;
      return;
    }
    const composed = composeDynamicConfig(this.#file?.config, state.stamps);
    const next = this.#version + 1;
    this.#gateway.applyConfig(composed.config, next);
    this.#version = next;
    this.#staticTenants = new Map(Object.entries(composed.staticTenants));
    if (this.#feedStamps !== composed.feedStamps) {
      this.#feedStamps = composed.feedStamps;
      if (!composed.feedStamps) this.#log(`the control plane lists no active stamp yet${this.#file?.config.http?.services?.['stamps'] ? ': the file\'s own stamps serve until it does' : ': requests no file router takes answer 404 until it does'}`);
    }
  }

  #directoryEntries(state: FeedState | undefined): Map<string, string> {
    // The control plane's placements win over the file's static tenants.
    const entries = new Map(this.#staticTenants);
    if (state !== undefined) for (const [tenant, stamp] of state.tenants) entries.set(tenant, stamp);
    return entries;
  }

  #onUpdate(update: FeedUpdate, state: FeedState): void {
    if (!this.#started) return;
    if (update.stampsChanged) {
      try {
        this.#compileRoutes();
        this.#log(`configuration version ${this.#version} applied (control plane version ${update.version}: ${state.stamps.map((s) => s.id + (s.draining ? ' (draining)' : '')).join(', ') || 'no stamps'})`);
      } catch (error) {
        this.#log(`control plane version ${update.version} rejected, configuration version ${this.#gateway.configStatus.version} stays in service: ${(error as Error).message}`);
      }
    }
    const directory = this.#gateway.directory;
    if (update.kind === 'full') {
      directory.replace(this.#directoryEntries(state));
      return;
    }
    for (const tenant of update.removed) {
      const fromFile = this.#staticTenants.get(tenant);
      if (fromFile !== undefined) directory.set(tenant, fromFile);
      else directory.delete(tenant);
    }
    for (const [tenant, stamp] of update.placed) directory.set(tenant, stamp);
  }
}
