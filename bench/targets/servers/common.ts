// Shared by the proxy scripts that bench/run.ts starts as child processes: their inputs come from
// the environment (UPSTREAM, PORT), and each announces its port on stdout as one JSON line.
import type { AddressInfo } from 'node:net';

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
}

export const upstreamUrl = (): string => requiredEnv('UPSTREAM');
export const listenPort = (): number => Number(process.env.PORT ?? 0);

/** The line bench/targets/node-scripts.ts waits for. */
export function announce(address: AddressInfo | string | null): void {
  if (address === null || typeof address === 'string') throw new Error(`unexpected listen address ${String(address)}`);
  console.log(JSON.stringify({ listening: address.port }));
  exitWithParent();
}

/**
 * Exits when the bench run that started this process is gone (it was killed without a chance to
 * clean up): the process is re-parented then, so a changed parent pid means no one will stop it.
 */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
  process.once('SIGTERM', () => process.exit(0));
}
