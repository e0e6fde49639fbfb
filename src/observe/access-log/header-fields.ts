// Request headers as access-log fields (`request_User-Agent`), by the compiled header selection.
import type { IncomingHttpHeaders } from 'node:http';
import { DROP, REDACT, type FieldMode } from './access-log-fields.ts';
import { canonicalHeaderName, type HeaderSelection } from './access-log-config.ts';

// Canonical names of headers met under defaultMode keep; bounded, since clients choose header names.
const canonicalKeys = new Map<string, string>();
const MAX_CACHED_KEYS = 1000;

function keyFor(lowerCase: string): string {
  let key = canonicalKeys.get(lowerCase);
  if (key === undefined) {
    key = 'request_' + canonicalHeaderName(lowerCase);
    if (canonicalKeys.size < MAX_CACHED_KEYS) canonicalKeys.set(lowerCase, key);
  }
  return key;
}

/** Calls `emit` for each header to write, with its field key and its value (or "REDACTED"). */
export function forEachHeaderField(selection: HeaderSelection, headers: IncomingHttpHeaders, emit: (key: string, value: string) => void): void {
  if (selection.defaultMode === DROP) {
    for (const [name, field] of selection.named) {
      if (field.mode === DROP) continue;
      const value = headers[name];
      if (value !== undefined) emit(field.key, field.mode === REDACT ? 'REDACTED' : headerText(value));
    }
    return;
  }
  for (const name in headers) {
    const field = selection.named.get(name);
    const mode: FieldMode = field === undefined ? selection.defaultMode : field.mode;
    if (mode === DROP) continue;
    const value = headers[name];
    if (value !== undefined) emit(field === undefined ? keyFor(name) : field.key, mode === REDACT ? 'REDACTED' : headerText(value));
  }
}

/** Repeated values joined with "," as Traefik does. */
function headerText(value: string | string[]): string {
  return typeof value === 'string' ? value : value.join(',');
}
