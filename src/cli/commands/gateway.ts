// `stampgate gateway`: the gateway alone. Its config comes from Traefik-format files
// (`--config static.yaml` with providers.file), from the control plane's config feed
// (`--control URL`, or providers.stampgate in the static file), or from both (see
// src/gateway/providers/README.md for how they combine). File changes are reloaded (and on SIGHUP);
// control-plane changes arrive within a second; a bad new version is reported and the running one kept.
import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { DynamicConfig } from '../../config/schema/dynamic.ts';
import type { StaticConfig } from '../../config/schema/static.ts';
import { WorkerPool } from '../../gateway/workers/worker-pool.ts';
import { createRequestObserver } from '../../observe/request-observer.ts';
import { WorkerSide } from '../../gateway/workers/worker-side.ts';
import { parseCount, parseUrl } from '../parse-options.ts';
import { ConfigError } from '../../config/config-error.ts';
import { crossCheckStatic } from '../../config/cross-check.ts';
import { FileProvider } from '../../config/file-provider.ts';
import { applyStaticDefaults, loadStaticConfig } from '../../config/load-static.ts';
import { validateStaticDocument } from '../../config/validate.ts';
import { unsupportedStaticKeys } from '../../gateway/static-support.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { ControlPlaneProvider } from '../../gateway/providers/control-plane-provider.ts';
import { GatewayConfigSources } from '../../gateway/providers/gateway-config-sources.ts';
import { UsageError } from '../usage-error.ts';

interface RawGatewayOptions {
  config?: string;
  control?: string;
  token?: string;
  cacheFile?: string;
  address?: string;
  workers?: number;
}

/** The entrypoint of a gateway started without --config. */
const defaultAddress = ':3000';

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run the gateway from a Traefik v3 static config file (entryPoints, providers.file, providers.stampgate) and/or the control plane\'s config feed (--control); Ctrl-C stops it, SIGHUP reloads the files')
    .option('--config <file>', 'static configuration file (.yml, .yaml, .toml or .json)')
    .option('--control <url>', 'the control plane to follow (its /v1/config feed); overrides providers.stampgate.endpoint', parseUrl(['http', 'https']))
    .option('--token <token>', 'token (role gateway) for the control plane; default: providers.stampgate.token, else $STAMPGATE_TOKEN')
    .option('--cache-file <file>', 'the last config from the control plane, kept for starts while it is down; default: providers.stampgate.cacheFile, else .stampgate/gateway-config-cache.json')
    .option('--address <[host]:port>', `address of the entrypoint "web" when there is no --config (default "${defaultAddress}")`)
    .option('--workers <n>', 'worker processes sharing the listeners (default: the static `workers`, else 1)', parseCount(1, 64))
    .action(async (raw: RawGatewayOptions) => {
      const staticConfig = await staticConfigOf(raw);
      const workers = raw.workers ?? staticConfig.workers ?? 1;
      if (workers > 1 && cluster.isPrimary) await runPrimary(staticConfig, workers);
      else await runGateway(staticConfig, cluster.isWorker ? `gateway[${cluster.worker?.id}]` : 'gateway');
    });
}

/** The static config: the file's, or one entrypoint `web` at --address; with the command line's control-plane options on top. */
async function staticConfigOf(raw: RawGatewayOptions): Promise<StaticConfig> {
  if (raw.config === undefined && raw.control === undefined) throw new UsageError('give --config <static file>, --control <control plane URL>, or both');
  if (raw.config !== undefined && raw.address !== undefined) throw new UsageError('--address applies without --config only; set the entrypoints in the static file');
  let staticConfig: StaticConfig;
  let origin: string;
  if (raw.config !== undefined) {
    staticConfig = await loadChecked(raw.config);
    origin = raw.config;
  } else {
    origin = '--address';
    const result = validateStaticDocument({ entryPoints: { web: { address: raw.address ?? defaultAddress } } });
    if (!result.ok) throw new UsageError(`--address ${JSON.stringify(raw.address)}: expected [host]:port, such as :3000 or 127.0.0.1:3000`);
    const issues = crossCheckStatic(result.value);
    if (issues.length > 0) throw new UsageError(`--address: ${issues.map((i) => i.detail).join('; ')}`);
    staticConfig = applyStaticDefaults(result.value);
  }
  const configured = staticConfig.providers?.stampgate;
  const endpoint = raw.control ?? configured?.endpoint;
  if (endpoint !== undefined) {
    const token = raw.token ?? configured?.token ?? nonEmpty(process.env.STAMPGATE_TOKEN);
    // Every endpoint of the control plane but its docs needs a token.
    if (token === undefined) throw new UsageError(`the control plane ${endpoint} needs a token: give --token, providers.stampgate.token or STAMPGATE_TOKEN (a token of role gateway: POST /api/v1/tokens {"name":"edge-1","role":"gateway"})`);
    const cacheFile = raw.cacheFile ?? configured?.cacheFile;
    staticConfig = { ...staticConfig, providers: { ...staticConfig.providers, stampgate: { endpoint, token, ...(cacheFile !== undefined ? { cacheFile } : {}) } } };
  } else if (raw.token !== undefined || raw.cacheFile !== undefined) {
    throw new UsageError('--token and --cache-file apply with a control plane only: give --control <url> (or providers.stampgate.endpoint)');
  }
  if (staticConfig.providers?.file === undefined && staticConfig.providers?.stampgate === undefined) {
    throw new UsageError(`${origin}: no provider: set providers.file (the dynamic configuration's file or directory), providers.stampgate or --control`);
  }
  return staticConfig;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
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
  return staticConfig;
}

/** Loads the first dynamic config of the files; a broken one is a usage error, before anything listens. */
async function startFileProvider(staticConfig: StaticConfig, watch: boolean): Promise<{ provider: FileProvider; config: DynamicConfig }> {
  const provider = FileProvider.fromStaticConfig(watch ? staticConfig : { ...staticConfig, providers: { ...staticConfig.providers, file: { ...staticConfig.providers!.file!, watch: false } } });
  try {
    return { provider, config: await provider.start() };
  } catch (error) {
    await provider.close();
    throw new UsageError(error instanceof ConfigError ? error.format() : (error as Error).message);
  }
}

function controlProviderOf(staticConfig: StaticConfig, say: (line: string) => void): ControlPlaneProvider | undefined {
  const settings = staticConfig.providers?.stampgate;
  if (settings === undefined) return undefined;
  return new ControlPlaneProvider({ endpoint: settings.endpoint, token: settings.token, cacheFile: settings.cacheFile, log: say });
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
  const sources = new GatewayConfigSources({ gateway, control: controlProviderOf(staticConfig, say), log: say });
  const file = staticConfig.providers?.file !== undefined ? await startFileProvider(staticConfig, true) : undefined;
  const stopSources = () => Promise.allSettled([file?.provider.close(), sources.close()]);
  if (file !== undefined) sources.setFileConfig(file.config, file.provider.status().version);
  // Listening from now on: a file changed while the control plane's first config is awaited is not lost.
  file?.provider.on('config', (config, version) => {
    try {
      if (sources.setFileConfig(config, version)) say(`configuration version ${sources.version} applied${staticConfig.providers?.stampgate !== undefined ? ` (file version ${version})` : ''}`);
    } catch (error) {
      say(`configuration version ${version} rejected, version ${gateway.configStatus.version} stays in service: ${(error as Error).message}`);
    }
  });
  file?.provider.on('error', (error) => say(`configuration rejected, version ${gateway.configStatus.version} stays in service:\n${error.format()}`));

  // Ctrl-C while waiting for the control plane's first config stops the wait.
  let interrupted = false;
  const stopWaiting = () => {
    interrupted = true;
    void stopSources();
  };
  process.once('SIGINT', stopWaiting);
  process.once('SIGTERM', stopWaiting);
  try {
    await sources.start();
  } catch (error) {
    await stopSources();
    await gateway.close();
    if (interrupted) {
      say('stopped before the first configuration arrived');
      return;
    }
    throw new UsageError((error as Error).message);
  } finally {
    process.off('SIGINT', stopWaiting);
    process.off('SIGTERM', stopWaiting);
  }

  if (cluster.isWorker) workerSide = new WorkerSide(gateway.counters, () => void file?.provider.reload());

  let addresses;
  try {
    addresses = await gateway.listen();
  } catch (error) {
    await stopSources();
    throw new UsageError((error as Error).message);
  }
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    for (const [epName, address] of addresses) say(`entrypoint ${epName} listening on ${address.address}:${address.port}`);
    const from = [file !== undefined ? file.provider.status().files.join(', ') : '', staticConfig.providers?.stampgate !== undefined ? `control plane ${staticConfig.providers.stampgate.endpoint}` : ''].filter(Boolean).join(' + ');
    say(`configuration version ${gateway.configStatus.version} in service (${from})`);
  }
  workerSide?.listening();
  await untilStopped(say, () => Promise.allSettled([stopSources(), gateway.close()]), () => {
    say(file !== undefined ? 'SIGHUP: reloading the configuration' : 'SIGHUP: nothing to reload (the control plane\'s changes arrive by themselves)');
    void file?.provider.reload();
  });
  // The IPC channel to the primary would keep a stopped worker alive.
  if (cluster.isWorker) process.disconnect();
}

/** The primary of `--workers N`: checks the files' config once, then forks and supervises the workers (each follows the control plane itself). */
async function runPrimary(staticConfig: StaticConfig, count: number): Promise<void> {
  const say = (line: string) => console.log(`gateway | ${line}`);
  if (staticConfig.providers?.file !== undefined && staticConfig.providers.stampgate === undefined) {
    const gateway = new Gateway({ staticConfig });
    const { provider, config } = await startFileProvider(staticConfig, false);
    try {
      gateway.applyConfig(config, provider.status().version);
    } catch (error) {
      throw new UsageError(`dynamic configuration: ${(error as Error).message}`);
    } finally {
      await Promise.all([provider.close(), gateway.close()]);
    }
  }
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
