// Small formatting helpers shared by the admin verbs' human output.

/** `region=eu,tier=gold`, or `-` for none. */
export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

export function formatList(values: readonly string[]): string {
  return values.length === 0 ? '-' : values.join(',');
}

/** `12/500`: tenants placed of the capacity. */
export function formatUse(used: number, capacity: number): string {
  return `${used}/${capacity}`;
}

export function percent(used: number, capacity: number): string {
  return capacity === 0 ? '-' : `${Math.round((used / capacity) * 100)}%`;
}

/** An instant as `2025-01-31 12:00:00Z`: the API's ISO string, shorter. */
export function formatInstant(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Prints a value as the API gave it, for scripts (`--json`). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
