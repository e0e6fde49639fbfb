// Reads and removes one query parameter straight from the raw request target, without building a
// URL or URLSearchParams object per request.

/** The decoded value of the first `name=` parameter of `target`, or undefined when absent. */
export function queryParam(target: string, name: string): string | undefined {
  const start = paramStart(target, name);
  if (start < 0) return undefined;
  const valueStart = start + name.length + 1;
  let end = target.indexOf('&', valueStart);
  if (end < 0) end = target.length;
  const hash = target.indexOf('#', valueStart);
  if (hash >= 0 && hash < end) end = hash;
  const raw = target.slice(valueStart, end);
  return raw.includes('%') || raw.includes('+') ? safeDecode(raw) : raw;
}

/** `target` without any `name=` parameter (and without a `?` left empty). */
export function withoutQueryParam(target: string, name: string): string {
  let result = target;
  for (let start = paramStart(result, name); start >= 0; start = paramStart(result, name)) {
    const end = result.indexOf('&', start);
    if (end < 0) {
      // Last parameter: drop it with the separator before it.
      result = result.slice(0, start - 1);
    } else {
      result = result.slice(0, start) + result.slice(end + 1);
    }
  }
  return result;
}

/** Index of `name` in `name=` where it starts a parameter of the query, or -1. */
function paramStart(target: string, name: string): number {
  const query = target.indexOf('?');
  if (query < 0) return -1;
  let from = query + 1;
  for (;;) {
    const at = target.indexOf(name, from);
    if (at < 0) return -1;
    const before = target.charCodeAt(at - 1);
    const after = target.charCodeAt(at + name.length);
    if ((before === 0x3f /* ? */ || before === 0x26) /* & */ && after === 0x3d /* = */) return at;
    from = at + 1;
  }
}

function safeDecode(raw: string): string {
  const spaced = raw.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
