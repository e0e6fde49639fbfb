// Edits of a flat [name, value, name, value, …] header list, the form a ResponseHook receives.
// Names compare case-insensitively; the lengths are compared first so that most names are
// rejected without lower-casing them.

/** Index of the first header named `lowerCaseName`, or -1. */
export function headerIndex(headers: readonly string[], lowerCaseName: string): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) return i;
  }
  return -1;
}

/** Value of the first header named `lowerCaseName`, or undefined. */
export function getHeader(headers: readonly string[], lowerCaseName: string): string | undefined {
  const at = headerIndex(headers, lowerCaseName);
  return at < 0 ? undefined : headers[at + 1];
}

/** Every value of the headers named `lowerCaseName`, joined with ", " (RFC 9110 §5.3); undefined when none. */
export function getJoinedHeader(headers: readonly string[], lowerCaseName: string): string | undefined {
  let joined: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) joined = joined === undefined ? headers[i + 1]! : joined + ', ' + headers[i + 1]!;
  }
  return joined;
}

/** Removes every header named `lowerCaseName`. */
export function removeHeader(headers: string[], lowerCaseName: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const name = headers[i]!;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) headers.splice(i, 2);
  }
}

/** Replaces every header named `lowerCaseName` by one `name: value` (Go's Header.Set). */
export function setHeader(headers: string[], lowerCaseName: string, name: string, value: string): void {
  removeHeader(headers, lowerCaseName);
  headers.push(name, value);
}
