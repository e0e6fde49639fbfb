// The stamps the gateway knows, compiled once per config version: each id and alias resolves to one
// stamp with its own keep-alive connection pool. Lookups on the request path are one Map read.
import { Pool } from 'undici';

export interface StampDefinition {
  /** `default`, `s1`, … : safe as a DNS label, file name and database name. */
  id: string;
  /** Other names that pick this stamp, e.g. `1` for `s1` (as the seed's `?stamp=1`). */
  aliases?: string[];
  /** Origin of the stamp's app server, e.g. `http://127.0.0.1:3002`. */
  url: string;
  /** Path of the stamp's readiness probe (default `/ready`). */
  readyPath?: string;
}

export interface UpstreamTimeouts {
  /** A stamp that does not accept a connection within this is reported down (503). */
  connectMs: number;
  /** Time allowed for the stamp's response headers before 504. */
  headersMs: number;
  /** Time allowed between two chunks of the stamp's response body. */
  bodyMs: number;
}

export interface Stamp {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly origin: string;
  readonly readyPath: string;
  /** Position in the table: the index of this stamp's request counter. */
  readonly index: number;
  readonly pool: Pool;
}

const idPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class StampDefinitionError extends Error {}

export class StampTable {
  readonly stamps: readonly Stamp[];
  readonly defaultStamp: Stamp;
  readonly #byName: Map<string, Stamp>;

  constructor(definitions: readonly StampDefinition[], defaultStampId: string | undefined, timeouts: UpstreamTimeouts, previous?: StampTable) {
    if (definitions.length === 0) throw new StampDefinitionError('at least one stamp is required');
    const byName = new Map<string, Stamp>();
    const stamps: Stamp[] = [];
    for (const [index, definition] of definitions.entries()) {
      if (!idPattern.test(definition.id)) {
        throw new StampDefinitionError(`stamps[${index}].id: expected 1-63 characters of [a-z0-9-], found ${JSON.stringify(definition.id)}`);
      }
      const origin = parseOrigin(definition.url, `stamps[${index}].url`);
      const reused = previous ? previous.#byName.get(definition.id) : undefined;
      // Keep the warm connection pool of a stamp whose address did not change across a reload.
      const pool = reused && reused.origin === origin ? reused.pool : newPool(origin, timeouts);
      const stamp: Stamp = {
        id: definition.id,
        aliases: definition.aliases ?? [],
        origin,
        readyPath: definition.readyPath ?? '/ready',
        index,
        pool,
      };
      for (const name of [stamp.id, ...stamp.aliases]) {
        const clash = byName.get(name);
        if (clash) throw new StampDefinitionError(`stamps[${index}]: name ${JSON.stringify(name)} is already used by stamp ${JSON.stringify(clash.id)}`);
        byName.set(name, stamp);
      }
      stamps.push(stamp);
    }
    const defaultId = defaultStampId ?? (byName.has('default') ? 'default' : stamps[0]!.id);
    const defaultStamp = byName.get(defaultId);
    if (!defaultStamp) throw new StampDefinitionError(`default stamp ${JSON.stringify(defaultId)} is not one of the stamps (${stamps.map((s) => s.id).join(', ')})`);
    this.stamps = stamps;
    this.defaultStamp = defaultStamp;
    this.#byName = byName;
  }

  /** The stamp with this id or alias, or undefined. */
  find(name: string): Stamp | undefined {
    return this.#byName.get(name);
  }

  get ids(): string[] {
    return this.stamps.map((s) => s.id);
  }

  /** Closes the pools that `next` no longer uses (all of them when there is no next table). */
  async retire(next?: StampTable): Promise<void> {
    const kept = new Set(next?.stamps.map((s) => s.pool));
    await Promise.all(this.stamps.filter((s) => !kept.has(s.pool)).map((s) => s.pool.close()));
  }
}

function parseOrigin(url: string, where: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StampDefinitionError(`${where}: expected an http:// URL, found ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StampDefinitionError(`${where}: expected an http:// or https:// URL, found ${JSON.stringify(url)}`);
  }
  return parsed.origin;
}

function newPool(origin: string, timeouts: UpstreamTimeouts): Pool {
  return new Pool(origin, {
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: 4_000,
  });
}
