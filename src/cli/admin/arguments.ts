// Parsers of the admin verbs' repeatable options; each rejects bad input with a message that shows
// the expected form (commander reports it as a usage error, exit code 2).
import { InvalidArgumentError } from 'commander';

/** `--label region=eu`, repeatable: collects into one label set. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE (for example region=eu), found ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1).trim() };
}

/** `--alias 3`, repeatable, or comma-separated (`--alias 3,three`). */
export function collectList(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((v) => v.trim());
  if (items.some((v) => v === '')) throw new InvalidArgumentError(`expected one name or a comma-separated list, found ${JSON.stringify(value)}`);
  return [...previous, ...items];
}
