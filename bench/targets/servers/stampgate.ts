// Stampgate's gateway, single process, configured for the scenario's setup (BENCH_SETUP, JSON):
//
//   plain-proxy, websocket  the simplest stamps config (one entrypoint, one catch-all router, one
//                           `stamps` service) with one `default` stamp at the upstream, no middleware:
//                           every request names no stamp, so every request goes to `default`.
//   stamps                  the same with stamps s1 … sN, all at the upstream, and N tenants in the
//                           directory (gateway.directory.replace), spread over the stamps; requests
//                           pick a stamp by ?stamp= or a tenant by X-Tenant-Id (the default keys).
//   chain                   plain-proxy plus a chain on the router: rateLimit in memory (a limit
//                           no load here reaches) and headers with securityPreset; metrics
//                           (metrics.prometheus, not served: no port 8080) and a JSON access log
//                           to BENCH_TMP/stampgate-access.log (bufferingSize 100) through
//                           createRequestObserver. The request id is always on.
//   routers                 N routers `Host(rNNNN.bench.test) && PathPrefix(/rNNNN)`, all to the
//                           stamps service with its `default` stamp.
import path from 'node:path';
import type { DynamicConfig } from '../../../src/config/schema/dynamic.ts';
import { Gateway } from '../../../src/gateway/gateway.ts';
import { stampsGatewayConfig } from '../../../src/gateway/stamps/stamps-config.ts';
import { createRequestObserver } from '../../../src/observe/request-observer.ts';
import type { RequestObserver } from '../../../src/observe/request-observer.ts';
import { routerHost, routerName, routerPath, stampId, tenantId, type TargetSetup } from '../../scenarios.ts';
import { announce, listenPort, requiredEnv, upstreamUrl } from './common.ts';

const setup = JSON.parse(process.env.BENCH_SETUP ?? '{"kind":"plain-proxy"}') as TargetSetup;
const upstream = upstreamUrl();
const address = `127.0.0.1:${listenPort()}`;

const stampCount = setup.kind === 'stamps' ? setup.stamps : 1;
const stamps = setup.kind === 'stamps' ? Array.from({ length: stampCount }, (_, i) => ({ id: stampId(i), url: upstream })) : [{ id: 'default', url: upstream }];
const { staticConfig, dynamicConfig } = stampsGatewayConfig({ address, stamps });
const http = dynamicConfig.http!;

let observer: RequestObserver | undefined;
if (setup.kind === 'chain') {
  http.middlewares = {
    limit: { rateLimit: { average: 10_000_000, period: '1s', burst: 10_000_000 } },
    secure: { headers: { securityPreset: true } },
  };
  http.routers!.stamps!.middlewares = ['limit', 'secure'];
  const accessLogFile = path.join(requiredEnv('BENCH_TMP'), 'stampgate-access.log');
  observer = await createRequestObserver({ metrics: { prometheus: {} }, accessLog: { filePath: accessLogFile, format: 'json', bufferingSize: 100 } });
  if (observer.metrics === null || observer.accessLog === null) throw new Error('scenario c: metrics or the access log did not turn on');
}
if (setup.kind === 'routers') {
  const routers: NonNullable<NonNullable<DynamicConfig['http']>['routers']> = {};
  for (let i = 0; i < setup.routers; i++) routers[routerName(i)] = { rule: `Host(\`${routerHost(i)}\`) && PathPrefix(\`${routerPath(i)}\`)`, service: 'stamps' };
  http.routers = routers;
}

const gateway = new Gateway({
  staticConfig,
  // Upstream failures are printed, so that the harness can show them when a run has errors.
  log: (line) => process.stderr.write(`${line}\n`),
  ...(observer ? { observer } : {}),
});
gateway.applyConfig(dynamicConfig);
if (setup.kind === 'stamps') gateway.directory.replace(tenantEntries(setup.tenants));
const addresses = await gateway.listen();
announce(addresses.get('web') ?? null);

function* tenantEntries(count: number): Generator<[string, string]> {
  for (let i = 0; i < count; i++) yield [tenantId(i), stampId(i % stampCount)];
}
