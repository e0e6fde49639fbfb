// Traefik durations, as its config parser (traefik/paerser types.Duration) reads them: a Go duration
// string ("10s", "1m30s", "250ms", "1.5h"), a string of digits (seconds), or a number (seconds).
// Everything in Stampgate works in milliseconds, so this is the one place that converts.

/** Milliseconds per unit; Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const UNITS_HINT = 'ns, us, ms, s, m or h';

// Go's time.Duration is an int64 of nanoseconds: anything longer (about 292 years) is out of range there,
// and would be a mistake here.
const MAX_MS = 9_223_372_036_854.775;

export class DurationError extends Error {
  override readonly name = 'DurationError';
  readonly input: unknown;
  /** Why, without the input: `unknown unit "x" (use ns, us, ms, s, m or h)`. */
  readonly reason: string;

  constructor(input: unknown, reason: string) {
    super(`invalid duration ${describeInput(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/**
 * Parses a Traefik duration to milliseconds (possibly fractional: "1us" is 0.001).
 * Throws a DurationError that says what is wrong and where.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return secondsToMs(value);
  if (typeof value !== 'string') throw new DurationError(value, 'expected a string such as "10s" or a number of seconds');
  if (value === '') throw new DurationError(value, 'empty; use a value such as "10s" or "250ms"');
  // paerser: a string of digits is a number of seconds ("10" is 10s), before Go's parser is tried.
  if (/^[0-9]+$/.test(value)) return secondsToMs(Number(value));
  if (value[0] === '-') throw new DurationError(value, 'a duration cannot be negative');

  let total = 0;
  let i = 0;
  while (i < value.length) {
    const numberStart = i;
    while (i < value.length && isDigit(value, i)) i++;
    const intEnd = i;
    let fracEnd = i;
    if (value[i] === '.') {
      i++;
      while (i < value.length && isDigit(value, i)) i++;
      fracEnd = i;
    }
    const numberText = value.slice(numberStart, fracEnd);
    if (intEnd === numberStart && fracEnd - intEnd <= 1) {
      const found = value.slice(numberStart, numberStart + 1);
      throw new DurationError(value, `expected a number at position ${numberStart + 1}, found "${found}"`);
    }
    const unitStart = i;
    while (i < value.length && !isDigit(value, i) && value[i] !== '.') i++;
    const unit = value.slice(unitStart, i);
    if (unit === '') throw new DurationError(value, `missing unit after "${numberText}" (use ${UNITS_HINT}; a bare number means seconds only when it is a whole number)`);
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new DurationError(value, `unknown unit "${unit}" (use ${UNITS_HINT})`);
    total += Number(numberText) * factor;
  }
  if (total > MAX_MS) throw new DurationError(value, 'out of range (longer than about 292 years)');
  return total;
}

/** `parseDuration` for an optional config value: the default (in ms) when the key is absent. */
export function durationMs(value: string | number | undefined, defaultMs: number): number {
  return value === undefined ? defaultMs : parseDuration(value);
}

/** Why a value is not a duration, or undefined when it is one. For the validator's messages. */
export function durationProblem(value: unknown): DurationError | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return new DurationError(value, 'expected a string such as "10s" or a number of seconds');
  try {
    parseDuration(value);
    return undefined;
  } catch (err) {
    if (err instanceof DurationError) return err;
    throw err;
  }
}

function secondsToMs(seconds: number): number {
  if (!Number.isFinite(seconds)) throw new DurationError(seconds, 'expected a finite number of seconds');
  if (seconds < 0) throw new DurationError(seconds, 'a duration cannot be negative');
  const ms = seconds * 1000;
  if (ms > MAX_MS) throw new DurationError(seconds, 'out of range (longer than about 292 years)');
  return ms;
}

function isDigit(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 48 && code <= 57;
}

function describeInput(input: unknown): string {
  return typeof input === 'string' ? JSON.stringify(input) : String(input);
}
