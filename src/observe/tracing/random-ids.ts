// Trace and span ids: random hex taken from a pool that crypto refills 4 KiB at a time. Each id is a
// slice of one long hex string (V8 shares the characters), so a new id costs ~20 ns instead of the
// ~1-3 µs of crypto.randomBytes(n).toString('hex') per call.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let position = 0;

function randomHex(chars: number): string {
  if (position + chars > hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    position = 0;
  }
  const id = hex.slice(position, position + chars);
  position += chars;
  return id;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** 32 lower-case hex characters, never all zeros (invalid in W3C trace context). */
export function newTraceId(): string {
  let id = randomHex(32);
  while (id === ZERO_TRACE_ID) id = randomHex(32);
  return id;
}

/** 16 lower-case hex characters, never all zeros. */
export function newSpanId(): string {
  let id = randomHex(16);
  while (id === ZERO_SPAN_ID) id = randomHex(16);
  return id;
}
