// Timestamps for log lines. Formatting a Date costs ~200 ns; the part up to the second changes once
// a second, so it is cached and only the milliseconds are appended per line (from a table).

/** "000Z" … "999Z". */
const MILLISECONDS_Z = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z');

let isoSecond = -1;
let isoPrefix = '';

/** `2025-11-22T09:34:00.123Z` for epoch milliseconds. */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return isoPrefix + MILLISECONDS_Z[ms - second * 1000]!;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let clfSecond = -1;
let clfText = '';

/** Common Log Format time, UTC: `22/Nov/2025:09:34:00 +0000`. */
export function clfTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== clfSecond) {
    clfSecond = second;
    const d = new Date(second * 1000);
    clfText = `${twoDigits(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())} +0000`;
  }
  return clfText;
}

let clockSecond = -1;
let clockPrefix = '';

/** Local wall-clock time for a terminal: `09:34:00.123`. */
export function clockTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    const d = new Date(second * 1000);
    clockPrefix = `${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}:${twoDigits(d.getSeconds())}.`;
  }
  return clockPrefix + threeDigits(ms - second * 1000);
}

function twoDigits(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function threeDigits(n: number): string {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : String(n);
}
