// HAProxy, 1 thread, HTTP mode, keep-alive on both sides with connection reuse to the upstream.
// Scenario (e): one `use_backend … if { hdr(host) … } { path_beg … }` line per router, tried in
// order as HAProxy does; scenario (f): HAProxy passes WebSocket upgrades in HTTP mode by itself.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, host } from '../net.ts';
import { startProcess } from '../processes.ts';
import { routerHost, routerPath } from '../scenarios.ts';
import { haproxy as haproxyTool, versionLine } from '../system-packages.ts';
import { supportsOnly, type Target } from './types.ts';

export const haproxy: Target = {
  name: 'haproxy',
  kind: 'native-peer',
  description: 'HAProxy, nbthread 1, mode http, http-reuse always',
  tool: haproxyTool,
  version: (binary) => (binary ? (/version\s+(\S+)/i.exec(versionLine(binary, ['-v']))?.[1] ?? '') : ''),
  unsupported: supportsOnly(['plain-proxy', 'routers', 'websocket']),
  async start({ upstream, setup, tmpDir, binary }) {
    const port = await freePort();
    const routing: string[] = [];
    if (setup.kind === 'routers') {
      for (let i = 0; i < setup.routers; i++) routing.push(`  use_backend upstream if { hdr(host) -i ${routerHost(i)} } { path_beg ${routerPath(i)} }`);
    } else routing.push('  default_backend upstream');
    const conf = path.join(tmpDir, 'haproxy.cfg');
    writeFileSync(
      conf,
      `global
  nbthread 1
  maxconn 4000

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  timeout tunnel 120s
  option http-keep-alive
  http-reuse always

frontend bench
  bind ${host}:${port}
${routing.join('\n')}

backend upstream
  server upstream1 ${host}:${upstream.port}
`,
    );
    // -db: stay in the foreground, no daemon.
    const proc = await startProcess('haproxy', binary ?? 'haproxy', ['-db', '-f', conf]);
    return { url: `http://${host}:${port}`, processes: [proc] };
  },
};
