// `stampgate gateway --config static.yaml`: the gateway alone, driven by Traefik-format files.
// The dynamic config is reloaded when its files change and on SIGHUP; a bad new version is
// reported and the running one kept.
import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { DynamicConfig } from '../../config/schema/dynamic.ts';
import type { StaticConfig } from '../../config/schema/static.ts';
import { WorkerPool } from '../../gateway/workers/worker-pool.ts';
import { createRequestObserver } from '../../observe/request-observer.ts';
import { WorkerSide } from '../../gateway/workers/worker-side.ts';
import { parseCount } from '../parse-options.ts';
import { ConfigError } from '../../config/config-error.ts';
import { FileProvider } from '../../config/file-provider.ts';
import { loadStaticConfig } from '../../config/load-static.ts';
import { unsupportedStaticKeys } from '../../gateway/static-support.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { UsageError } from '../usage-error.ts';

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run the gateway from a Traefik v3 static config file (entryPoints, providers.file); Ctrl-C stops it, SIGHUP reloads')
    .requiredOption('--config <file>', 'static configuration file (.yml, .yaml, .toml or .json)')
    .option('--workers <n>', 'worker processes sharing the listeners (default: the static `workers`, else 1)', parseCount(1, 64))
    .action(async (raw: { config: string; workers?: number }) => {
      const staticConfig = await loadChecked(raw.config);
      const workers = raw.workers ?? staticConfig.workers ?? 1;
      if (workers > 1 && cluster.isPrimary) await runPrimary(staticConfig, workers);
      else await runGateway(staticConfig, cluster.isWorker ? `gateway[${cluster.worker?.id}]` : 'gateway');
    });
}

async function loadChecked(path: string): Promise<StaticConfig> {
  let staticConfig: StaticConfig;
  try {
    staticConfig = await loadStaticConfig(path);
  } catch (error) {
    throw new UsageError(error instanceof ConfigError ? error.format() : `${path}: ${(error as Error).message}`);
  }
  const unsupported = unsupportedStaticKeys(staticConfig);
  if (unsupported.length > 0) throw new UsageError(`${path}: ${unsupported.join('; ')}`);
  if (staticConfig.providers?.file === undefined) throw new UsageError(`${path}: providers.file is required (filename or directory of the dynamic configuration)`);
  return staticConfig;
}

/** Loads the first dynamic config and compiles it into `gateway`; a broken one is a usage error, before anything listens. */
async function firstConfig(staticConfig: StaticConfig, watch: boolean, gateway: Gateway): Promise<FileProvider> {
  const provider = FileProvider.fromStaticConfig(watch ? staticConfig : { ...staticConfig, providers: { ...staticConfig.providers, file: { ...staticConfig.providers!.file!, watch: false } } });
  let config: DynamicConfig;
  try {
    config = await provider.start();
  } catch (error) {
    throw new UsageError(error instanceof ConfigError ? error.format() : (error as Error).message);
  }
  try {
    gateway.applyConfig(config, provider.status().version);
  } catch (error) {
    await provider.close();
    await gateway.close();
    throw new UsageError(`dynamic configuration: ${(error as Error).message}`);
  }
  return provider;
}

/** One gateway process: the single-process gateway, or one worker of several. */
async function runGateway(staticConfig: StaticConfig, name: string): Promise<void> {
  const say = (line: string) => console.log(`${name} | ${line}`);
  let workerSide: WorkerSide | undefined;
  const observer = await createRequestObserver(staticConfig);
  const gateway: Gateway = new Gateway({
    staticConfig,
    observer,
    log: say,
    // A worker's /stampsz is the sum over every worker, collected by the primary.
    ...(cluster.isWorker ? { stampsz: () => workerSide!.totalStampsz(() => gateway.counters.snapshot()) } : {}),
  });
  const provider = await firstConfig(staticConfig, true, gateway);
  if (cluster.isWorker) workerSide = new WorkerSide(gateway.counters, () => void provider.reload());
  provider.on('config', (config, version) => {
    try {
      gateway.applyConfig(config, version);
      say(`configuration version ${version} applied`);
    } catch (error) {
      say(`configuration version ${version} rejected, version ${gateway.configStatus.version} stays in service: ${(error as Error).message}`);
    }
  });
  provider.on('error', (error) => say(`configuration rejected, version ${gateway.configStatus.version} stays in service:\n${error.format()}`));

  let addresses;
  try {
    addresses = await gateway.listen();
  } catch (error) {
    await provider.close();
    throw new UsageError((error as Error).message);
  }
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    for (const [epName, address] of addresses) say(`entrypoint ${epName} listening on ${address.address}:${address.port}`);
    say(`configuration version ${provider.status().version} in service (${provider.status().files.join(', ')})`);
  }
  workerSide?.listening();
  await untilStopped(say, () => Promise.allSettled([provider.close(), gateway.close()]), () => {
    say('SIGHUP: reloading the configuration');
    void provider.reload();
  });
  // The IPC channel to the primary would keep a stopped worker alive.
  if (cluster.isWorker) process.disconnect();
}

/** The primary of `--workers N`: checks the config once, then forks and supervises the workers. */
async function runPrimary(staticConfig: StaticConfig, count: number): Promise<void> {
  const say = (line: string) => console.log(`gateway | ${line}`);
  const gateway = new Gateway({ staticConfig });
  const provider = await firstConfig(staticConfig, false, gateway);
  await Promise.all([provider.close(), gateway.close()]);
  const pool = new WorkerPool({ count, log: say });
  try {
    await pool.start();
  } catch (error) {
    await pool.stop();
    throw new UsageError((error as Error).message);
  }
  say(`${count} workers listening`);
  await untilStopped(say, () => pool.stop(), () => {
    say('SIGHUP: reloading the configuration in every worker');
    pool.reload();
  });
}

/** Waits for SIGINT/SIGTERM (a second one exits at once) and reloads on SIGHUP. */
async function untilStopped(say: (line: string) => void, stop: () => Promise<unknown>, reload: () => void): Promise<void> {
  let stopping = false;
  await new Promise<void>((resolve) => {
    const onStop = () => {
      if (stopping) process.exit(130);
      stopping = true;
      say('stopping…');
      void stop().then(() => resolve());
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    process.on('SIGHUP', reload);
  });
  process.off('SIGHUP', reload);
  say('stopped');
}
