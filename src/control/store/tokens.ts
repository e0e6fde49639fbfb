// Bearer tokens of the admin API and the config feed. Only a SHA-256 of each token is stored; a
// presented token is hashed and compared with every known digest in constant time, so neither a
// token nor a hash prefix leaks through timing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { writeAudit } from './audit.ts';
import { CatalogError, isUniqueViolation, systemActor } from './catalog.ts';
import type { StoreSchema, TokenRole } from './schema.ts';

export type { TokenRole } from './schema.ts';

export interface TokenInfo {
  name: string;
  role: TokenRole;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface Principal {
  /** The token's name: the actor recorded in the audit log. */
  name: string;
  role: TokenRole;
}

interface CachedToken extends Principal {
  digest: Buffer;
}

/** Tokens known for longer than this are re-read (another control plane may have revoked one). */
const cacheTtlMs = 2000;
/** `last_used_at` is written at most this often per token. */
const lastUsedResolutionMs = 60_000;
/** Longer strings are not tokens; they are not even hashed. */
const maxTokenLength = 512;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** 32 random bytes, URL-safe, with a prefix that secret scanners and people recognize. */
export function generateToken(): string {
  return `sgt_${randomBytes(32).toString('base64url')}`;
}

export class TokenStore {
  readonly #db: Kysely<StoreSchema>;
  #cache: CachedToken[] = [];
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;
  readonly #lastWritten = new Map<string, number>();

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  /** A new token with a fresh random secret; returns the secret, which is never shown again. */
  async create(name: string, role: TokenRole, actor: string = systemActor): Promise<{ token: string; info: TokenInfo }> {
    const token = generateToken();
    const now = new Date().toISOString();
    const info: TokenInfo = { name, role, createdAt: now, lastUsedAt: null };
    try {
      await this.#db.transaction().execute(async (trx) => {
        if (await trx.selectFrom('tokens').select('name').where('name', '=', name).executeTakeFirst()) throw new CatalogError('token-exists', `a token named ${JSON.stringify(name)} exists already`, { token: name });
        await trx.insertInto('tokens').values({ name, role, token_hash: hashToken(token), created_at: now, last_used_at: null }).execute();
        await writeAudit(trx, [{ action: 'token.create', targetKind: 'token', targetId: name, before: null, after: { name, role } }], actor, now, null);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new CatalogError('token-exists', `a token named ${JSON.stringify(name)} exists already`, { token: name });
      throw error;
    }
    this.#invalidate();
    return { token, info };
  }

  /** Registers `token` under `name` (the operator's or the generated admin token), replacing that name's previous secret and role. */
  async register(name: string, role: TokenRole, token: string, actor: string = systemActor): Promise<{ changed: boolean }> {
    const digest = hashToken(token);
    const now = new Date().toISOString();
    const changed = await this.#db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('tokens').selectAll().where('name', '=', name).executeTakeFirst();
      if (before && before.token_hash === digest && before.role === role) return false;
      // The same secret under another name would make the actor ambiguous.
      await trx.deleteFrom('tokens').where('token_hash', '=', digest).where('name', '!=', name).execute();
      if (before) await trx.updateTable('tokens').set({ role, token_hash: digest }).where('name', '=', name).execute();
      else await trx.insertInto('tokens').values({ name, role, token_hash: digest, created_at: now, last_used_at: null }).execute();
      await writeAudit(trx, [{ action: before ? 'token.replace' : 'token.create', targetKind: 'token', targetId: name, before: before ? { name, role: before.role } : null, after: { name, role } }], actor, now, null);
      return true;
    });
    this.#invalidate();
    return { changed };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.#db.selectFrom('tokens').select(['name', 'role', 'created_at', 'last_used_at']).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, role: r.role, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
  }

  /** Revokes a token. The last admin token cannot go: nobody could write any more. */
  async remove(name: string, actor: string): Promise<TokenInfo> {
    const removed = await this.#db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('tokens').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw new CatalogError('unknown-token', `no token is named ${JSON.stringify(name)}`, { token: name });
      if (row.role === 'admin') {
        const admins = await trx.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'admin').executeTakeFirstOrThrow();
        if (Number(admins.n) <= 1) throw new CatalogError('last-admin-token', `token ${JSON.stringify(name)} is the last admin token; create another admin token first`, { token: name });
      }
      await trx.deleteFrom('tokens').where('name', '=', name).execute();
      await writeAudit(trx, [{ action: 'token.delete', targetKind: 'token', targetId: name, before: { name, role: row.role }, after: null }], actor, new Date().toISOString(), null);
      return { name, role: row.role, createdAt: row.created_at, lastUsedAt: row.last_used_at };
    });
    this.#invalidate();
    return removed;
  }

  /** The principal a presented token stands for, or undefined. Constant time in the token's content. */
  async verify(token: string): Promise<Principal | undefined> {
    if (token.length === 0 || token.length > maxTokenLength) return undefined;
    const digest = createHash('sha256').update(token).digest();
    let found = this.#match(await this.#tokens(), digest);
    // A token created a moment ago by another control plane: one re-read, at most once per TTL.
    if (!found && performance.now() - this.#loadedAt > cacheTtlMs / 4) found = this.#match(await this.#tokens(true), digest);
    if (!found) return undefined;
    await this.#touch(found.name);
    return { name: found.name, role: found.role };
  }

  #match(tokens: CachedToken[], digest: Buffer): CachedToken | undefined {
    let found: CachedToken | undefined;
    // Every digest is compared, match or not: the time taken does not depend on which one matched.
    for (const candidate of tokens) {
      if (timingSafeEqual(candidate.digest, digest) && !found) found = candidate;
    }
    return found;
  }

  async #tokens(force = false): Promise<CachedToken[]> {
    if (force || performance.now() - this.#loadedAt > cacheTtlMs) {
      this.#loading ??= (async () => {
        try {
          const rows = await this.#db.selectFrom('tokens').select(['name', 'role', 'token_hash']).execute();
          this.#cache = rows.map((r) => ({ name: r.name, role: r.role, digest: Buffer.from(r.token_hash, 'hex') })).filter((t) => t.digest.length === 32);
          this.#loadedAt = performance.now();
        } finally {
          this.#loading = undefined;
        }
      })();
      await this.#loading;
    }
    return this.#cache;
  }

  #invalidate(): void {
    this.#loadedAt = -Infinity;
  }

  async #touch(name: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastWritten.get(name) ?? -Infinity) < lastUsedResolutionMs) return;
    this.#lastWritten.set(name, now);
    await this.#db.updateTable('tokens').set({ last_used_at: new Date(now).toISOString() }).where('name', '=', name).execute();
  }
}
