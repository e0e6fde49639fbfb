// Option parsers shared by the commands: each rejects bad input with a message naming the option.
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) throw new InvalidArgumentError(`expected a port number from 0 to 65535, found ${JSON.stringify(value)}`);
  return port;
}

export function parseCount(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, found ${JSON.stringify(value)}`);
    return n;
  };
}

export function parseBytes(value: string): number {
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected a size such as 1048576, 512kb or 1mb, found ${JSON.stringify(value)}`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Number(match[1]) * factor;
}

/** `tenant=stamp`, repeatable: collects into a list. */
export function collectTenant(value: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const match = /^([^=]+)=([^=]+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected TENANT=STAMP (for example acme=s1), found ${JSON.stringify(value)}`);
  return [...previous, [match[1]!.trim(), match[2]!.trim()]];
}

export function parseUrl(protocols: string[]): (value: string) => string {
  return (value) => {
    const ok = protocols.some((p) => value.startsWith(`${p}://`));
    if (!ok) throw new InvalidArgumentError(`expected a ${protocols.join(' or ')}:// URL, found ${JSON.stringify(value)}`);
    try {
      new URL(value);
    } catch {
      throw new InvalidArgumentError(`not a valid URL: ${JSON.stringify(value)}`);
    }
    return value;
  };
}
