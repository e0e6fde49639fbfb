// NGINX as a reverse proxy, 1 worker, keep-alive pool to the upstream, bodies kept in memory.
import path from 'node:path';
import { freePort, host } from '../net.ts';
import { startNginx } from '../nginx-config.ts';
import { nginx as nginxTool, versionLine } from '../system-packages.ts';
import { plainProxyOnly, type Target } from './types.ts';

export const nginx: Target = {
  name: 'nginx',
  kind: 'native-peer',
  description: 'NGINX, 1 worker, proxy_pass to an upstream block with keepalive 128',
  tool: nginxTool,
  version: (binary) => (binary ? versionLine(binary, ['-v']).replace(/^nginx version:\s*/, '') : ''),
  unsupported: plainProxyOnly,
  async start({ upstream, tmpDir, binary }) {
    const port = await freePort();
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
  server {
    listen ${host}:${port};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 16 16k;
      proxy_busy_buffers_size 64k;
    }
  }`,
    );
    return { url: `http://${host}:${port}`, processes: [proc] };
  },
};
