// Traefik's rule for health-check durations: a missing, zero or negative value falls back to the
// default instead of failing (Traefik logs it and carries on). Parsing is config/duration.ts's.
import { parseDuration } from '../../config/duration.ts';

/** A configured Traefik duration in ms, or `fallbackMs` when it is missing or not positive. */
export function positiveDurationMs(value: string | number | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  return ms > 0 ? ms : fallbackMs;
}
