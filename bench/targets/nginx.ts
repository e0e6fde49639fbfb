// NGINX as a reverse proxy, 1 worker, keep-alive pool to the upstream, bodies kept in memory.
// Scenario (e): one `server` per router (server_name + a prefix location); scenario (f): the
// Upgrade and Connection headers passed on, as NGINX's WebSocket proxying needs.
import path from 'node:path';
import { freePort, host } from '../net.ts';
import { startNginx } from '../nginx-config.ts';
import { routerHost, routerPath } from '../scenarios.ts';
import { nginx as nginxTool, versionLine } from '../system-packages.ts';
import { supportsOnly, type Target } from './types.ts';

const location = (prefix: string, websocket: boolean) => `    location ${prefix} {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
${websocket ? '      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection "upgrade";\n      proxy_read_timeout 120s;' : '      proxy_set_header Connection "";'}
      proxy_buffers 16 16k;
      proxy_busy_buffers_size 64k;
    }`;

export const nginx: Target = {
  name: 'nginx',
  kind: 'native-peer',
  description: 'NGINX, 1 worker, proxy_pass to an upstream block with keepalive 128',
  tool: nginxTool,
  version: (binary) => (binary ? versionLine(binary, ['-v']).replace(/^nginx version:\s*/, '') : ''),
  unsupported: supportsOnly(['plain-proxy', 'routers', 'websocket']),
  async start({ upstream, setup, tmpDir, binary }) {
    const port = await freePort();
    let servers: string;
    if (setup.kind === 'routers') {
      const blocks: string[] = [];
      for (let i = 0; i < setup.routers; i++) blocks.push(`  server {\n    listen ${host}:${port};\n    server_name ${routerHost(i)};\n${location(routerPath(i), false)}\n  }`);
      servers = `  server_names_hash_max_size 8192;\n${blocks.join('\n')}`;
    } else {
      servers = `  server {\n    listen ${host}:${port};\n${location('/', setup.kind === 'websocket')}\n  }`;
    }
    const proc = await startNginx(
      'nginx',
      binary ?? 'nginx',
      path.join(tmpDir, 'target-nginx'),
      1,
      `  upstream bench_upstream {
    server ${host}:${upstream.port};
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
  }
${servers}`,
    );
    return { url: `http://${host}:${port}`, processes: [proc] };
  },
};
