// The path that routing and middlewares see: dot-segments resolved (also when percent-encoded),
// percent-encoded unreserved characters decoded (RFC 3986 §6.2.2), everything else kept as sent.
// An encoded slash (%2F) stays encoded, so it can never create a segment boundary that a
// strip-prefix or a PathPrefix rule would see differently from the upstream.

const hex = '0123456789ABCDEF';

/** Normalised copy of `rawPath` (the part of the request target before `?`); null when it is not a valid path. */
export function normalizePath(rawPath: string): string | null {
  // Fast path: the common path has no escapes and no dot-segments.
  if (!rawPath.includes('%') && !rawPath.includes('/.')) return rawPath;
  const decoded = decodeUnreserved(rawPath);
  if (decoded === null) return null;
  return removeDotSegments(decoded);
}

function isUnreserved(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function decodeUnreserved(path: string): string | null {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high < 0 || low < 0) return null; // a lone % is not a valid escape
    const code = high * 16 + low;
    out += path.slice(from, i) + (isUnreserved(code) ? String.fromCharCode(code) : '%' + hex[high] + hex[low]);
    from = i + 3;
    i += 2;
  }
  return out + path.slice(from);
}

/** RFC 3986 §5.2.4, on a path that starts with "/". */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  }
  return '/' + out.join('/');
}
