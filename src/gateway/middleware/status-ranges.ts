// Status lists as Traefik writes them ("500-599", "429"), compiled into one lookup table.
import { MiddlewareConfigError } from './middleware.ts';

export function statusMatcher(ranges: readonly string[], where: string): (status: number) => boolean {
  const table = new Uint8Array(600);
  for (const range of ranges) {
    const match = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(range);
    const low = match ? Number(match[1]) : NaN;
    const high = match?.[2] !== undefined ? Number(match[2]) : low;
    if (!match || low < 100 || high > 599 || low > high) throw new MiddlewareConfigError(`${where}: expected a status or range such as "502" or "500-599", found ${JSON.stringify(range)}`);
    table.fill(1, low, high + 1);
  }
  return (status) => table[status] === 1;
}
