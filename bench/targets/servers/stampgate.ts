// Stampgate's gateway, single process: the simplest stamps config (one entrypoint, one catch-all
// router, one `stamps` service) with one `default` stamp at the bench upstream, and no middleware.
// Every request names no stamp, so every request goes to `default`.
import { Gateway } from '../../../src/gateway/gateway.ts';
import { stampsGatewayConfig } from '../../../src/gateway/stamps/stamps-config.ts';
import { announce, listenPort, upstreamUrl } from './common.ts';

const { staticConfig, dynamicConfig } = stampsGatewayConfig({
  address: `127.0.0.1:${listenPort()}`,
  stamps: [{ id: 'default', url: upstreamUrl() }],
});
const gateway = new Gateway({
  staticConfig,
  // Upstream failures are printed, so that the harness can show them when a run has errors.
  log: (line) => process.stderr.write(`${line}\n`),
});
gateway.applyConfig(dynamicConfig);
const addresses = await gateway.listen();
announce(addresses.get('web') ?? null);
