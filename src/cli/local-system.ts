// Wires one machine's whole system together: the control-plane store, the process driver with its
// stamps, the gateway and the /stampsz listener. It lives in cli/ because it is the one place that
// may import both the gateway and the control plane.
import type http from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../control/api/admin-api.ts';
import { Provisioner } from '../control/deploy/provisioner.ts';
import { TenantDeployments } from '../control/deploy/tenant-deploy.ts';
import { ProcessStampDriver } from '../control/deploy/drivers/process/process-stamp-driver.ts';
import { ensureAdminToken } from '../control/api/admin-token.ts';
import { Catalog, type StampRecord } from '../control/store/catalog.ts';
import { TokenStore } from '../control/store/tokens.ts';
import { openStore } from '../control/store/open-store.ts';
import { libraryTemplate } from '../control/deploy/stamp-template.ts';
import { ProcessDriver } from '../control/deploy/drivers/process/process-driver.ts';
import { isPortFree } from '../control/deploy/drivers/process/free-port.ts';
import { Gateway } from '../gateway/gateway.ts';
import { stampsGatewayConfig } from '../gateway/stamps/stamps-config.ts';
import { createStampszServer } from '../observe/stampsz-server.ts';
import { createRequestObserver } from '../observe/request-observer.ts';
import { dashboardGateway } from '../dashboard/gateway-source.ts';
import type { DashboardGateway } from '../dashboard/sources.ts';
import { StampTrafficRecorder, TrafficRecordingObserver } from '../dashboard/stamp-traffic.ts';
import { UsageError } from './usage-error.ts';

export interface LocalSystemOptions {
  gatewayPort: number;
  host: string;
  stampCount: number;
  firstStampPort: number;
  /** 0 turns the separate /stampsz listener off. */
  stampszPort: number;
  dataDir: string;
  tenants: Array<[string, string]>;
  databaseUrl?: string;
  redisUrl?: string;
  bodyLimit: number;
  /** Port of the admin API and the web dashboard; 0 turns both off. */
  apiPort: number;
  /** The control-plane store: `sqlite:<path>` (default: control.db in the data dir) or `postgres://…`. */
  storeUrl?: string;
  output: (line: string) => void;
  /** How long to wait for every stamp to be ready before printing the banner anyway. */
  readyTimeoutMs?: number;
}

export interface LocalSystem {
  gateway: Gateway;
  gatewayUrl: string;
  /** Resolves once everything has stopped after stop(), a signal or a fatal error. */
  stopped: Promise<void>;
  stop(): Promise<void>;
  /** Last resort (a second Ctrl-C): SIGKILL every stamp now. */
  killNow(): void;
}

const tenantIdPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `default`, `s1`, `s2`, …, with the seed's aliases `1`, `2`, …. */
export function stampIdsFor(count: number): Array<{ id: string; aliases: string[] }> {
  return Array.from({ length: count }, (_, i) => (i === 0 ? { id: 'default', aliases: [] } : { id: `s${i}`, aliases: [String(i)] }));
}

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const say = (line: string) => options.output(`stampgate | ${line}`);
  for (const [name, port] of [['--port', options.gatewayPort], ['--stampsz-port', options.stampszPort], ['--api-port', options.apiPort]] as const) {
    if (port !== 0 && !(await isPortFree(port, options.host))) throw new UsageError(`port ${port} (${name}) is already in use on ${options.host}; choose another with ${name}`);
  }
  const ports = [options.gatewayPort, options.stampszPort, options.apiPort].filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) throw new UsageError(`--port, --stampsz-port and --api-port must differ (got ${ports.join(', ')})`);

  const store = await openStore(options.storeUrl ?? `sqlite:${join(options.dataDir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  let api: FastifyInstance | undefined;
  const driver = new ProcessDriver({
    template: libraryTemplate({ databaseUrl: options.databaseUrl, redisUrl: options.redisUrl }),
    dataRoot: join(options.dataDir, 'stamps'),
    firstPort: options.firstStampPort,
    reservedPorts: new Set(ports),
    output: options.output,
    prefixWidth: Math.max(9, `s${options.stampCount - 1}`.length),
  });

  let gateway: Gateway | undefined;
  let stampsz: http.Server | undefined;
  let dashboardSource: DashboardGateway | undefined;
  let provisioner: Provisioner | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      say('stopping…');
      unsubscribe?.();
      // Stamps get SIGTERM while the gateway drains: both finish their requests under way.
      dashboardSource?.close?.();
      await Promise.allSettled([gateway?.close(), stampsz && new Promise((r) => stampsz!.close(r)), driver.stopAll(), api?.close(), provisioner?.close()]);
      await store.db.destroy();
      say('stopped');
      resolveStopped();
    })());

  try {
    const stamps: StampRecord[] = [];
    for (const { id, aliases } of stampIdsFor(options.stampCount)) {
      const existing = await catalog.getStamp(id);
      const placement = await driver.place(id, existing?.port ?? null);
      if (existing && existing.port !== null && existing.port !== placement.port) say(`stamp ${id}: recorded port ${existing.port} is taken; using ${placement.port}`);
      stamps.push(await catalog.saveStamp({ ...existing, id, aliases, driver: 'process', url: placement.url, port: placement.port, dataDir: placement.dataDir, state: 'provisioning', stateReason: 'starting', version: existing?.version || 'library-1' }));
    }
    for (const [tenant, stampName] of options.tenants) {
      if (!tenantIdPattern.test(tenant)) throw new UsageError(`--tenant ${tenant}=${stampName}: a tenant id is 1-63 characters of [a-z0-9-]`);
      const stamp = stamps.find((s) => s.id === stampName || s.aliases.includes(stampName));
      if (!stamp) throw new UsageError(`--tenant ${tenant}=${stampName}: no stamp is named ${JSON.stringify(stampName)}; stamps: ${stamps.map((s) => s.id).join(', ')}`);
      await catalog.placeTenant(tenant, stamp.id);
    }
    const running = new Set(stamps.map((s) => s.id));
    const tenants = (await catalog.listTenants()).filter((t) => running.has(t.stampId));

    const listenHost = options.host.includes(':') ? `[${options.host}]` : options.host;
    const localStamps = stamps.map((s) => ({ id: s.id, aliases: s.aliases, url: s.url }));
    // The gateway config: the stamps this command runs, plus any stamp the admin API makes active
    // with a URL (an external one, or one a driver provisioned); rebuilt on every catalog change.
    const gatewayConfig = async () => {
      const others = (await catalog.listStamps()).filter((s) => !running.has(s.id) && (s.state === 'active' || s.state === 'draining') && s.url !== '');
      return stampsGatewayConfig({
        address: `${listenHost}:${options.gatewayPort}`,
        stamps: [...localStamps, ...others.map((s) => ({ id: s.id, aliases: s.aliases, url: s.url }))],
        bodyLimit: options.bodyLimit,
      });
    };
    const { staticConfig, dynamicConfig } = await gatewayConfig();
    // Prometheus metrics are on in the demo, served beside /stampsz (deploy/monitoring scrapes :3004).
    const observed = await createRequestObserver({ metrics: { prometheus: {} } });
    // With the dashboard on, each stamp's answers and times are also counted for its charts.
    const traffic = options.apiPort !== 0 ? new StampTrafficRecorder() : undefined;
    const observer = traffic ? new TrafficRecordingObserver(observed, traffic) : observed;
    gateway = new Gateway({ staticConfig, observer, log: (line) => options.output(`gateway   | ${line}`) });
    gateway.applyConfig(dynamicConfig);
    gateway.directory.replace(tenants.map((t) => [t.id, t.stampId]));
    const liveGateway = gateway;
    let refreshing = Promise.resolve();
    unsubscribe = catalog.onChange(() => {
      refreshing = refreshing.then(async () => {
        try {
          liveGateway.applyConfig((await gatewayConfig()).dynamicConfig);
          liveGateway.directory.replace((await catalog.listTenants()).map((t) => [t.id, t.stampId]));
        } catch (error) {
          say(`could not apply a catalog change to the gateway: ${(error as Error).message}`);
        }
      });
    });

    for (const stamp of stamps) {
      const supervised = driver.start(stamp.id, { port: stamp.port!, dataDir: stamp.dataDir!, url: stamp.url });
      supervised.on('state', (state, reason) => {
        if (stopping) return;
        if (state === 'running') say(`stamp ${stamp.id} running (pid ${supervised.pid}) at ${stamp.url}`);
        if (state === 'restarting') say(`stamp ${stamp.id} ${reason}`);
        const recorded = state === 'running' ? 'active' : state === 'restarting' ? 'failed' : null;
        if (recorded) catalog.setStampState(stamp.id, recorded, reason).catch((error: Error) => say(`could not record the state of stamp ${stamp.id}: ${error.message}`));
      });
    }

    const address = (await gateway.listen()).get('web')!;
    const gatewayUrl = `http://${displayHost(options.host)}:${address.port}`;
    say(`gateway listening on ${gatewayUrl} -> routing to stamps ${stamps.map((s) => s.id).join(', ')}`);
    if (options.stampszPort !== 0) {
      stampsz = createStampszServer(gateway.counters, gateway.metricsHandler ?? undefined);
      await new Promise<void>((resolve, reject) => {
        stampsz!.once('error', reject);
        stampsz!.listen(options.stampszPort, options.host, () => resolve());
      });
      say(`stamps metrics on http://${displayHost(options.host)}:${options.stampszPort}/stampsz, Prometheus on /metrics`);
    }
    if (tenants.length > 0) say(`tenant directory: ${tenants.map((t) => `${t.id}→${t.stampId}`).join(', ')}`);
    let dashboardLink: string | undefined;
    if (options.apiPort !== 0) {
      const admin = await ensureAdminToken(options.dataDir, process.env, tokens);
      dashboardSource = dashboardGateway(gateway, { url: gatewayUrl, traffic, log: (line) => say(line) });
      // Stamps made through the API (a tenant's own deploy, or a new stamp when none fits) are
      // provisioned by the process driver, in their own port range; this command's three stamps stay on theirs.
      provisioner = new Provisioner({
        catalog,
        drivers: [new ProcessStampDriver({ template: libraryTemplate({ databaseUrl: options.databaseUrl, redisUrl: options.redisUrl }), dataDir: options.dataDir, reservedPorts: new Set(ports), output: options.output })],
        log: say,
      });
      await provisioner.recover();
      api = await createAdminApi({
        catalog,
        tokens,
        deployments: new TenantDeployments({ catalog, provisioner }),
        provisionStamp: provisioner.provisionStamp,
        dashboard: { sources: { catalog, store: store.db, gateway: dashboardSource }, log: (line) => say(line) },
      });
      await api.listen({ port: options.apiPort, host: options.host });
      const apiUrl = `http://${displayHost(options.host)}:${options.apiPort}`;
      const where = admin.source === 'env' ? '$STAMPGATE_ADMIN_TOKEN' : `$(cat ${admin.path})`;
      say(`admin API on ${apiUrl} (docs: ${apiUrl}/docs). ${admin.created ? 'A new admin token was written to ' + admin.path + ' (mode 0600).' : 'Admin token: ' + (admin.source === 'env' ? 'STAMPGATE_ADMIN_TOKEN' : admin.path) + '.'}`);
      say(`  curl -H "Authorization: Bearer ${where}" ${apiUrl}/api/v1/stamps`);
      dashboardLink = `${apiUrl}/login?token=${encodeURIComponent(admin.token)}`;
    }

    const ready = await waitUntilReady(gateway, options.readyTimeoutMs ?? 30_000);
    if (ready) {
      say(`ready: ${stamps.length} stamps. Try:`);
      say(`  curl ${gatewayUrl}/libros                  # stamp default`);
      say(`  curl "${gatewayUrl}/libros?stamp=2"        # stamp s2 (alias 2)`);
      say(`  curl ${gatewayUrl}/readyz   ·   curl ${gatewayUrl}/stampsz`);
    } else {
      say('not every stamp is ready yet; see /readyz. The supervisor keeps restarting the ones that exit.');
    }
    if (dashboardLink !== undefined) {
      // As Jupyter does: one link that signs the browser in (it holds the admin token: keep it to yourself).
      say('dashboard: open this link in a browser to sign in:');
      say(`  ${dashboardLink}`);
    }
    return { gateway, gatewayUrl, stopped, stop, killNow: () => driver.killAll() };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilReady(gateway: Gateway, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await gateway.readiness()).status === 'ready') return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}
