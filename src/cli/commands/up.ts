// `stampgate up`: the whole system on one machine (seed 000) — control-plane state, the gateway
// and N stamps of the sample library app as supervised child processes.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { collectTenant, parseBytes, parseCount, parsePort, parseUrl } from '../parse-options.ts';
import type { LocalSystem, LocalSystemOptions } from '../local-system.ts';

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start the gateway, the control-plane state and the stamps of the sample library app; Ctrl-C stops everything')
    .option('--port <port>', 'gateway port', parsePort, 3000)
    .option('--host <address>', 'address the gateway and /stampsz listen on', '127.0.0.1')
    .option('--stamps <n>', 'number of stamps: default, s1, s2, …', parseCount(1, 64), 3)
    .option('--stamp-port <port>', 'first port tried for the stamps (each takes the next free one)', parsePort, 3001)
    .option('--stampsz-port <port>', 'port of the separate /stampsz listener (0 to turn it off)', parsePort, 3004)
    .option('--api-port <port>', 'admin API port (0 to turn it off)', parsePort, 8080)
    .option('--data-dir <dir>', 'where the control-plane store and each stamp\'s database live', '.stampgate')
    .option('--db <url>', 'control-plane store: PostgreSQL (postgres://…) instead of the SQLite file in --data-dir', parseUrl(['postgres', 'postgresql']))
    .option('--tenant <tenant=stamp>', 'place a tenant on a stamp (repeatable; kept in the store)', collectTenant)
    .option('--database-url <url>', 'PostgreSQL server for the stamps (one database each) instead of SQLite files', parseUrl(['postgres', 'postgresql']))
    .option('--redis-url <url>', 'Redis for the stamps\' cache instead of an in-process one', parseUrl(['redis', 'rediss']))
    .option('--body-limit <size>', 'largest request body the gateway accepts', parseBytes, 1024 * 1024)
    .action(async (raw: RawUpOptions) => {
      const options: LocalSystemOptions = {
        gatewayPort: raw.port,
        host: raw.host,
        stampCount: raw.stamps,
        firstStampPort: raw.stampPort,
        stampszPort: raw.stampszPort,
        apiPort: raw.apiPort,
        ...(raw.db !== undefined ? { storeUrl: raw.db } : {}),
        dataDir: resolve(raw.dataDir),
        tenants: raw.tenant ?? [],
        databaseUrl: raw.databaseUrl,
        redisUrl: raw.redisUrl,
        bodyLimit: raw.bodyLimit,
        output: (line) => console.log(line),
      };
      // First Ctrl-C (or SIGTERM): stop everything in order. A second one: kill the stamps and leave.
      let system: LocalSystem | undefined;
      let signals = 0;
      const onSignal = () => {
        signals++;
        if (signals === 1) void system?.stop();
        else {
          system?.killNow();
          process.exit(130);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        // Loaded on use: the other commands start faster without the whole system's modules.
        const { startLocalSystem } = await import('../local-system.ts');
        system = await startLocalSystem(options);
        if (signals > 0) void system.stop();
        await system.stopped;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

interface RawUpOptions {
  port: number;
  host: string;
  stamps: number;
  stampPort: number;
  stampszPort: number;
  apiPort: number;
  db?: string;
  dataDir: string;
  tenant?: Array<[string, string]>;
  databaseUrl?: string;
  redisUrl?: string;
  bodyLimit: number;
}
