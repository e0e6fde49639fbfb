// Reads and removes one query parameter straight from the raw query string (the part after `?`),
// without building a URLSearchParams object per request.

/** The decoded value of the first `name=` parameter of `query`, or undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  const start = paramStart(query, name);
  if (start < 0) return undefined;
  const valueStart = start + name.length + 1;
  let end = query.indexOf('&', valueStart);
  if (end < 0) end = query.length;
  const raw = query.slice(valueStart, end);
  return raw.includes('%') || raw.includes('+') ? safeDecode(raw) : raw;
}

/** `query` without any `name=` parameter. */
export function withoutQueryParam(query: string, name: string): string {
  let result = query;
  for (let start = paramStart(result, name); start >= 0; start = paramStart(result, name)) {
    const end = result.indexOf('&', start);
    if (end >= 0) result = result.slice(0, start) + result.slice(end + 1);
    else result = result.slice(0, start === 0 ? 0 : start - 1); // last one: drop the `&` before it too
  }
  return result;
}

/** Index where `name=` starts a parameter of the query, or -1. */
function paramStart(query: string, name: string): number {
  for (let from = 0; ; ) {
    const at = query.indexOf(name, from);
    if (at < 0) return -1;
    if ((at === 0 || query.charCodeAt(at - 1) === 0x26) /* & */ && query.charCodeAt(at + name.length) === 0x3d /* = */) return at;
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
