// The tenant directory (directory-based sharding): tenant key → stamp id, held in memory so that
// a lookup on the request path is one Map read. The control plane is the source of truth; the
// gateway only receives copies of it.
export class TenantDirectory {
  #stampOf = new Map<string, string>();

  get size(): number {
    return this.#stampOf.size;
  }

  stampOf(tenant: string): string | undefined {
    return this.#stampOf.get(tenant);
  }

  set(tenant: string, stampId: string): void {
    this.#stampOf.set(tenant, stampId);
  }

  delete(tenant: string): boolean {
    return this.#stampOf.delete(tenant);
  }

  /** Replaces the whole directory at once, so a request never sees half of a new version. */
  replace(entries: Iterable<readonly [string, string]>): void {
    this.#stampOf = new Map(entries);
  }

  entries(): IterableIterator<[string, string]> {
    return this.#stampOf.entries();
  }
}
