// Sticky sessions by cookie, around any balancer: a client that carries the cookie goes back to the
// server it names while that server is available; otherwise the wrapped balancer picks and the
// response pins the client to the new server. As in Traefik v3, the cookie's value is a hash of the
// server URL (SHA-256, 16 hex characters), so clients never learn internal addresses, and the
// default cookie name is derived from the service name. Everything that depends only on the config
// (values, Set-Cookie lines, response hooks) is built once; a pick only reads the Cookie header.
import { createHash } from 'node:crypto';
import type { StickyConfig } from '../../config/schema/dynamic.ts';
import { isFieldValue } from '../http1/field-syntax.ts';
import { addResponseHook, type Exchange, type ResponseHead, type ResponseHook } from '../pipeline/exchange.ts';
import type { Balancer } from './balancer.ts';
import type { UpstreamServer } from './upstream-server.ts';

export type StickyCookieConfig = NonNullable<StickyConfig['cookie']>;

export class StickyCookieBalancer implements Balancer {
  readonly servers: readonly UpstreamServer[];
  /** The cookie name actually used (configured and sanitised, or generated). */
  readonly cookieName: string;
  readonly #inner: Balancer;
  /** Cookie value → index in `servers`. */
  readonly #byValue = new Map<string, number>();
  /** Cookie value of each server, parallel to `servers`. */
  readonly #values: string[];
  /** The hook that pins a client to each server, parallel to `servers`. */
  readonly #hooks: ResponseHook[];
  readonly #ownHooks: ReadonlySet<ResponseHook>;

  /**
   * @param serviceName the service's name, from which the default cookie name is generated (Traefik
   *   uses the provider-qualified name, e.g. `my-service@file`).
   */
  constructor(inner: Balancer, cookie: StickyCookieConfig, serviceName: string) {
    this.#inner = inner;
    this.servers = inner.servers;
    this.cookieName = stickyCookieName(cookie.name, serviceName);
    this.#values = this.servers.map((server) => stickyCookieValue(server.url));
    this.#hooks = this.#values.map((value) => {
      const line = serializeStickyCookie(this.cookieName, value, cookie);
      // Response hooks add only valid header values (ResponseHook); the schema already refuses a bad path.
      if (!isFieldValue(line)) throw new Error(`sticky cookie of service ${JSON.stringify(serviceName)}: ${JSON.stringify(line)} is not a valid header value`);
      return (_exchange: Exchange, head: ResponseHead) => {
        head.headers.push('set-cookie', line);
        return null;
      };
    });
    this.#ownHooks = new Set(this.#hooks);
    this.#values.forEach((value, index) => {
      if (!this.#byValue.has(value)) this.#byValue.set(value, index);
    });
  }

  pick(exchange: Exchange, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    const header = exchange.req.headers.cookie;
    const value = header === undefined ? undefined : findCookie(header, this.cookieName);
    if (value !== undefined) {
      const index = this.#byValue.get(value);
      if (index !== undefined) {
        const pinned = this.servers[index]!;
        if (pinned.isAvailable(performance.now()) && exclude?.has(pinned) !== true) return pinned;
      }
    }
    const picked = this.#inner.pick(exchange, exclude);
    if (picked === undefined) return undefined;
    const index = this.servers.indexOf(picked);
    if (index >= 0 && this.#values[index] !== value) this.#pin(exchange, this.#hooks[index]!);
    return picked;
  }

  /** Adds the pinning hook, replacing one that an earlier pick of this exchange (before a retry) added. */
  #pin(exchange: Exchange, hook: ResponseHook): void {
    const hooks = exchange.responseHooks;
    if (hooks !== null) {
      for (let i = 0; i < hooks.length; i++) {
        if (this.#ownHooks.has(hooks[i]!)) {
          hooks[i] = hook;
          return;
        }
      }
    }
    addResponseHook(exchange, hook);
  }
}

/** The cookie's value for a server: the first 16 hex digits of SHA-256 of its URL (as Traefik v3). */
export function stickyCookieValue(serverUrl: string): string {
  return createHash('sha256').update(serverUrl).digest('hex').slice(0, 16);
}

/**
 * The configured name made a valid cookie token (as Traefik: any other character becomes `_`), or,
 * when none is configured, Traefik's generated one: `_` and the first 5 hex digits of
 * SHA-1("_TRAEFIK_BACKEND_" + serviceName).
 */
export function stickyCookieName(configured: string | undefined, serviceName: string): string {
  if (configured !== undefined && configured !== '') return configured.replace(/[^A-Za-z0-9!#$%&'*+\-.^`|~]/g, '_');
  return `_${createHash('sha1').update(`_TRAEFIK_BACKEND_${serviceName}`).digest('hex')}`.slice(0, 6);
}

/** A Set-Cookie line in the attribute order of Go's net/http, which Traefik uses. */
export function serializeStickyCookie(name: string, value: string, cookie: StickyCookieConfig): string {
  let line = `${name}=${value}`;
  const path = cookie.path ?? '/';
  if (path !== '') line += `; Path=${path}`;
  // Traefik's maxAge: positive = seconds, negative = expire now, 0 or unset = a session cookie.
  const maxAge = cookie.maxAge ?? 0;
  if (maxAge > 0) line += `; Max-Age=${maxAge}`;
  else if (maxAge < 0) line += '; Max-Age=0';
  if (cookie.httpOnly === true) line += '; HttpOnly';
  if (cookie.secure === true) line += '; Secure';
  if (cookie.sameSite === 'none') line += '; SameSite=None';
  else if (cookie.sameSite === 'lax') line += '; SameSite=Lax';
  else if (cookie.sameSite === 'strict') line += '; SameSite=Strict';
  return line;
}

/**
 * The value of one cookie in a Cookie header (`a=1; b=2`, several headers joined by Node with
 * `; `), without splitting the header into a map; surrounding double quotes are removed.
 */
export function findCookie(header: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    from = at + 1;
    const equals = at + name.length;
    if (header.charCodeAt(equals) !== 61 /* = */) continue;
    // The name must start a pair: at the beginning or after `;` and optional blanks.
    let before = at - 1;
    while (before >= 0 && isBlank(header.charCodeAt(before))) before--;
    if (before >= 0 && header.charCodeAt(before) !== 59 /* ; */) continue;
    let start = equals + 1;
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    while (start < end && isBlank(header.charCodeAt(start))) start++;
    while (end > start && isBlank(header.charCodeAt(end - 1))) end--;
    if (end - start >= 2 && header.charCodeAt(start) === 34 && header.charCodeAt(end - 1) === 34) {
      start++;
      end--;
    }
    return header.slice(start, end);
  }
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}
