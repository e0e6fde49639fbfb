#!/usr/bin/env node
// Entry point of the `stampgate` command. Runs the built JavaScript when present (an installed
// package) and the TypeScript sources otherwise (a clone: Node 24 strips types natively).
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`stampgate: needs Node.js 24 or newer, this is ${process.version} (see README: Requirements)`);
  process.exit(1);
}
const built = new URL('../dist/src/cli/main.js', import.meta.url);
const { main } = await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
await main(process.argv);
