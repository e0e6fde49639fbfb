// A short memory of verified JSON Web Tokens, for the jwt middleware: a client sends the same
// token on every request, and verifying it (WebCrypto, asynchronous) costs 35-100 µs, more than
// the rest of the request path; a remembered token is accepted synchronously, without a promise.
//
// What is remembered is what the token grants (the upstream header edits and the tenant), until
// the token expires (with the verifier's clock tolerance) and for at most `maxAgeMs`, so a key
// removed from a key set stops being honoured within that time. Only successes are remembered;
// the oldest entries go first when the memory is full. The key is the token itself: it lives no
// longer than a minute here, and the process holds it anyway while the request is handled.

export interface VerifiedToken {
  /** Upstream header edits: [lower-case name, value or null to remove]. */
  readonly headers: ReadonlyArray<readonly [string, string | null]>;
  readonly tenant: string | null;
}

interface Entry {
  readonly grant: VerifiedToken;
  /** Date.now() after which the entry is stale. */
  readonly until: number;
}

export class VerifiedTokens {
  readonly #maxAgeMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  constructor(maxAgeMs = 60_000, max = 10_000) {
    this.#maxAgeMs = maxAgeMs;
    this.#max = max;
  }

  /** What a token was verified to grant, while it is remembered. */
  get(token: string, now: number): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.grant;
    this.#entries.delete(token);
    return undefined;
  }

  /** `expiresAt`: the token's `exp` in ms with the clock tolerance added, or null when it has none. */
  remember(token: string, grant: VerifiedToken, expiresAt: number | null, now: number): void {
    const until = Math.min(now + this.#maxAgeMs, expiresAt ?? Number.POSITIVE_INFINITY);
    if (until <= now) return;
    if (this.#entries.size >= this.#max && !this.#entries.has(token)) {
      // Map iteration is insertion order: the first entry is the oldest.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.delete(token);
    this.#entries.set(token, { grant, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}
