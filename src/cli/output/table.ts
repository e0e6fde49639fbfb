// Plain-text tables for people: a header row and aligned columns, two spaces apart, no borders and
// no trailing spaces (so `grep` and `awk` work on them too). Numbers align right.

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(width(column.header), ...cells.map((row) => width(row[i]!))));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => {
        const pad = ' '.repeat(widths[i]! - width(value));
        return columns[i]!.align === 'right' ? pad + value : value + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `key  value` lines with the values aligned: one record, for `get`. */
export function renderDetails(pairs: ReadonlyArray<readonly [string, string]>): string {
  const keyWidth = Math.max(...pairs.map(([key]) => width(key)));
  return pairs.map(([key, value]) => `${key}${' '.repeat(keyWidth - width(key))}  ${value}`.trimEnd()).join('\n');
}

/** Width in terminal columns, counting code points (not UTF-16 units) so that `→` and `…` count one. */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
