// Dashboard sessions: a random id in an HttpOnly cookie, the rest in this process's memory. The
// token that signed in is checked once and never kept: a session holds the token's name and role
// (the principal), its expiry, and nothing a stolen cookie could turn back into API access.
// A restart ends every session (sign in again with the link `stampgate up` prints).
import { randomBytes } from 'node:crypto';
import type { Principal } from '../control/store/tokens.ts';

export const sessionCookie = 'stampgate_session';
export const defaultSessionTtlMs = 12 * 60 * 60 * 1000;
/** Beyond this many live sessions the oldest goes first: memory stays bounded whatever the logins. */
const maxSessions = 10_000;

export interface Session {
  readonly id: string;
  readonly principal: Principal;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export class SessionStore {
  readonly ttlMs: number;
  readonly #sessions = new Map<string, Session>();
  readonly #ended = new Set<(id: string) => void>();
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? defaultSessionTtlMs;
    this.#now = options.now ?? Date.now;
  }

  create(principal: Principal): Session {
    this.#sweep();
    while (this.#sessions.size >= maxSessions) this.end(this.#sessions.keys().next().value!);
    const now = this.#now();
    const session: Session = { id: randomBytes(32).toString('base64url'), principal: { name: principal.name, role: principal.role }, createdAt: now, expiresAt: now + this.ttlMs };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id; an expired one is ended on the way. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.end(id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    if (!this.#sessions.delete(id)) return;
    for (const listener of this.#ended) listener(id);
  }

  /** Ends the sessions of a token that is no longer valid (revoked, or its role changed). */
  endWhere(stale: (session: Session) => boolean): void {
    for (const session of [...this.#sessions.values()]) if (stale(session)) this.end(session.id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Called with the id of every session that ends (logout, expiry, revocation). */
  onEnd(listener: (id: string) => void): () => void {
    this.#ended.add(listener);
    return () => this.#ended.delete(listener);
  }

  #sweep(): void {
    const now = this.#now();
    for (const session of [...this.#sessions.values()]) if (session.expiresAt <= now) this.end(session.id);
  }
}

/** The value of one cookie from a Cookie header; undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookieHeader(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${sessionCookie}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookieHeader(secure: boolean): string {
  return `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
