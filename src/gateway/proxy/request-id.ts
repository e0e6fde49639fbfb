// Every request carries an X-Request-Id: a client's own is kept when it is safe to log and forward
// (1-128 visible ASCII characters), and replaced by a fresh UUID otherwise.
import { randomUUID } from 'node:crypto';

const maxLength = 128;

export function isValidRequestId(value: string): boolean {
  if (value.length === 0 || value.length > maxLength) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && isValidRequestId(incoming) ? incoming : randomUUID();
}
