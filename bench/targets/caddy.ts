// Caddy's reverse_proxy with its defaults, admin endpoint and automatic HTTPS off. Caddy is Go: it
// uses every core (GOMAXPROCS) unless told otherwise, as an operator would run it. Scenario (e):
// one route per router (host and path matchers), tried in order; scenario (f): reverse_proxy
// passes WebSocket upgrades by itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, host } from '../net.ts';
import { startProcess } from '../processes.ts';
import { routerHost, routerPath } from '../scenarios.ts';
import { caddy as caddyTool, versionLine } from '../system-packages.ts';
import { supportsOnly, type Target } from './types.ts';

export const caddy: Target = {
  name: 'caddy',
  kind: 'native-peer',
  description: 'Caddy reverse_proxy, defaults, logs at ERROR',
  tool: caddyTool,
  version: (binary) => (binary ? versionLine(binary, ['version']).split(' ')[0] ?? '' : ''),
  unsupported: supportsOnly(['plain-proxy', 'routers', 'websocket']),
  async start({ upstream, setup, tmpDir, binary }) {
    const port = await freePort();
    const dir = path.join(tmpDir, 'target-caddy');
    mkdirSync(dir, { recursive: true });
    const conf = path.join(dir, 'caddy.json');
    const proxy = { handler: 'reverse_proxy', upstreams: [{ dial: `${host}:${upstream.port}` }] };
    const routes =
      setup.kind === 'routers'
        ? Array.from({ length: setup.routers }, (_, i) => ({ match: [{ host: [routerHost(i)], path: [`${routerPath(i)}*`] }], handle: [proxy] }))
        : [{ handle: [proxy] }];
    const config = {
      admin: { disabled: true, config: { persist: false } },
      logging: { logs: { default: { level: 'ERROR' } } },
      apps: {
        http: {
          servers: {
            bench: {
              listen: [`${host}:${port}`],
              automatic_https: { disable: true },
              routes,
            },
          },
        },
      },
    };
    writeFileSync(conf, JSON.stringify(config, null, 2));
    // Caddy keeps state under $HOME / XDG folders: point them at this run's folder.
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') };
    const proc = await startProcess('caddy', binary ?? 'caddy', ['run', '--config', conf], { env });
    return { url: `http://${host}:${port}`, processes: [proc] };
  },
};
