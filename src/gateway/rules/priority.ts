// Router priority, as Traefik: a router without one (or with 0) gets its rule's length, so longer,
// more specific rules are tried first; ties go to the router whose name sorts first.

/** The rule's length in UTF-8 bytes (Go's len(rule), which Traefik uses). */
export function defaultPriority(rule: string): number {
  return Buffer.byteLength(rule, 'utf8');
}

/** `priority` when set and not 0, else defaultPriority(rule). */
export function routerPriority(rule: string, priority?: number): number {
  if (priority === undefined || priority === 0) return defaultPriority(rule);
  if (!Number.isSafeInteger(priority)) throw new RangeError(`a router priority must be an integer, got ${priority}`);
  return priority;
}

/** Sort order of routers: higher priority first, then by name (code unit order). */
export function compareRouters(a: { readonly name: string; readonly priority: number }, b: { readonly name: string; readonly priority: number }): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
