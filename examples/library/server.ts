// Entry point of one stamp server: `node examples/library/server.ts`, configured by environment
// variables (see README.md). A startup failure prints one `[STAMP:<id>] …` line and exits 1, so a
// supervisor can show why the stamp did not come up; SIGTERM/SIGINT drain and exit 0.
import type { FastifyInstance } from 'fastify';
import { createLibraryApp } from './app.ts';
import type { BookCache } from './cache/book-cache.ts';
import { openBookCache } from './cache/open.ts';
import { readLibraryConfig, type LibraryConfig } from './config.ts';
import { createLineLogger, stampLabel, type LineLogger } from './log.ts';
import type { BookStore } from './store/book-store.ts';
import { openBookStore } from './store/open.ts';

// After this long, open keep-alive connections are cut; after the second, the process gives up.
const drainTimeoutMs = 1500;
const shutdownTimeoutMs = 3000;

let log: LineLogger = createLineLogger(stampLabel(process.env.STAMP_ID));
let store: BookStore | undefined;
let cache: BookCache | undefined;
let app: FastifyInstance | undefined;

async function closeResources(): Promise<void> {
  await app?.close();
  await Promise.allSettled([store?.close(), cache?.close()]);
}

function describeStartupError(error: unknown, config: LibraryConfig | undefined): string {
  const { code, message } = error as Error & { code?: string };
  if (code === 'EADDRINUSE' && config !== undefined) return `port ${config.port} on ${config.host} is already in use`;
  if (code === 'EACCES' && config !== undefined) return `no permission to listen on ${config.host}:${config.port}`;
  if (code === 'EADDRNOTAVAIL' && config !== undefined) return `HOST ${config.host} is not an address of this machine`;
  return message.split('\n', 1)[0] ?? String(error);
}

async function startupFailed(error: unknown, config: LibraryConfig | undefined): Promise<never> {
  log.error(`startup failed: ${describeStartupError(error, config)}`);
  // Release what was opened, but never let a hanging close keep a failed stamp alive.
  await Promise.race([closeResources().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  process.exit(1);
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    log.warn(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  log.info(`${signal} received: closing`);
  setTimeout(() => app?.server.closeAllConnections(), drainTimeoutMs).unref();
  setTimeout(() => {
    log.error(`shutdown did not finish within ${shutdownTimeoutMs} ms; exiting`);
    process.exit(1);
  }, shutdownTimeoutMs).unref();
  try {
    await closeResources();
    log.info('stopped');
    process.exit(0);
  } catch (error) {
    log.error(`shutdown failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

// Crashes still leave prefixed lines, not an anonymous stack trace between other stamps' logs.
process.on('uncaughtException', (error) => {
  log.error(`uncaught exception: ${error.stack ?? error.message}`);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  log.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  process.exit(1);
});
// A second signal while draining exits at once (see shutdown).
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

let config: LibraryConfig | undefined;
try {
  config = readLibraryConfig(process.env);
  log = createLineLogger(config.stampId);
  store = await openBookStore(config.database, log);
  cache = await openBookCache({ redisUrl: config.redisUrl, stampId: config.stampId, log });
  app = createLibraryApp({ stampId: config.stampId, store, cache, log, bodyLimit: config.bodyLimit });
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  await startupFailed(error, config);
}
if (config !== undefined && app !== undefined && store !== undefined && cache !== undefined) {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const where = store.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  log.info(`database: ${where}; cache: ${cache.kind}`);
  // The seed's own line; supervisors wait for it to know the stamp is listening.
  log.info(`API escuchando en http://${hostForUrl(config.host)}:${port}`);
}
