// `stampgate gateway --config static.yaml`: the gateway alone, driven by Traefik-format files.
// The dynamic config is reloaded when its files change and on SIGHUP; a bad new version is
// reported and the running one kept.
import type { Command } from 'commander';
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
    .action(async (raw: { config: string }) => {
      const say = (line: string) => console.log(`gateway | ${line}`);
      let staticConfig;
      try {
        staticConfig = await loadStaticConfig(raw.config);
      } catch (error) {
        throw new UsageError(error instanceof ConfigError ? error.format() : `${raw.config}: ${(error as Error).message}`);
      }
      const unsupported = unsupportedStaticKeys(staticConfig);
      if (unsupported.length > 0) throw new UsageError(`${raw.config}: ${unsupported.join('; ')}`);
      if (staticConfig.providers?.file === undefined) throw new UsageError(`${raw.config}: providers.file is required (filename or directory of the dynamic configuration)`);

      const provider = FileProvider.fromStaticConfig(staticConfig);
      const gateway = new Gateway({ staticConfig, log: say });
      let first;
      try {
        first = await provider.start();
      } catch (error) {
        throw new UsageError(error instanceof ConfigError ? error.format() : (error as Error).message);
      }
      try {
        gateway.applyConfig(first, provider.status().version);
      } catch (error) {
        await provider.close();
        throw new UsageError(`dynamic configuration: ${(error as Error).message}`);
      }
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
      for (const [name, address] of addresses) say(`entrypoint ${name} listening on ${address.address}:${address.port}`);
      say(`configuration version ${provider.status().version} in service (${provider.status().files.join(', ')})`);

      const onHangup = () => {
        say('SIGHUP: reloading the configuration');
        void provider.reload();
      };
      let stopping = false;
      const stopped = new Promise<void>((resolve) => {
        const onStop = () => {
          if (stopping) process.exit(130);
          stopping = true;
          say('stopping…');
          void Promise.allSettled([provider.close(), gateway.close()]).then(() => resolve());
        };
        process.on('SIGINT', onStop);
        process.on('SIGTERM', onStop);
      });
      process.on('SIGHUP', onHangup);
      await stopped;
      process.off('SIGHUP', onHangup);
      say('stopped');
    });
}
