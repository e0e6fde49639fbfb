// The query parameters of a request, parsed the way Go's url.ParseQuery reads them (so that
// Query and QueryRegexp agree with Traefik): pairs split on `&`, a pair holding `;` dropped,
// `+` read as a space, a pair with a malformed %-escape dropped, a key without `=` given "".

export type QueryParams = ReadonlyMap<string, readonly string[]>;

const noParams: QueryParams = new Map();

export function parseQuery(query: string): QueryParams {
  if (query.length === 0) return noParams;
  const params = new Map<string, string[]>();
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) addPair(params, query.slice(start, end));
    start = end + 1;
  }
  return params;
}

function addPair(params: Map<string, string[]>, pair: string): void {
  if (pair.includes(';')) return;
  const equals = pair.indexOf('=');
  const key = unescapeQueryComponent(equals < 0 ? pair : pair.slice(0, equals));
  const value = equals < 0 ? '' : unescapeQueryComponent(pair.slice(equals + 1));
  if (key === undefined || value === undefined) return;
  const values = params.get(key);
  if (values === undefined) params.set(key, [value]);
  else values.push(value);
}

/** `+` → space and %-escapes decoded; undefined when an escape is malformed (Go drops the pair). */
export function unescapeQueryComponent(raw: string): string | undefined {
  const hasPercent = raw.includes('%');
  if (!hasPercent && !raw.includes('+')) return raw;
  const spaced = raw.replaceAll('+', ' ');
  if (!hasPercent) return spaced;
  if (/%(?![0-9A-Fa-f]{2})/.test(spaced)) return undefined;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Well-formed escapes that are not UTF-8: Go keeps the bytes; a JavaScript string cannot, so
    // the bytes are decoded as UTF-8 with U+FFFD for what is not.
    const chunks: Buffer[] = [];
    let from = 0;
    for (let at = spaced.indexOf('%'); at >= 0; at = spaced.indexOf('%', from)) {
      chunks.push(Buffer.from(spaced.slice(from, at), 'utf8'), Buffer.of(Number.parseInt(spaced.slice(at + 1, at + 3), 16)));
      from = at + 3;
    }
    chunks.push(Buffer.from(spaced.slice(from), 'utf8'));
    return Buffer.concat(chunks).toString('utf8');
  }
}
