// HAProxy, 1 thread, HTTP mode, keep-alive on both sides with connection reuse to the upstream.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, host } from '../net.ts';
import { startProcess } from '../processes.ts';
import { haproxy as haproxyTool, versionLine } from '../system-packages.ts';
import { plainProxyOnly, type Target } from './types.ts';

export const haproxy: Target = {
  name: 'haproxy',
  kind: 'native-peer',
  description: 'HAProxy, nbthread 1, mode http, http-reuse always',
  tool: haproxyTool,
  version: (binary) => (binary ? (/version\s+(\S+)/i.exec(versionLine(binary, ['-v']))?.[1] ?? '') : ''),
  unsupported: plainProxyOnly,
  async start({ upstream, tmpDir, binary }) {
    const port = await freePort();
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
  option http-keep-alive
  http-reuse always

frontend bench
  bind ${host}:${port}
  default_backend upstream

backend upstream
  server upstream1 ${host}:${upstream.port}
`,
    );
    // -db: stay in the foreground, no daemon.
    const proc = await startProcess('haproxy', binary ?? 'haproxy', ['-db', '-f', conf]);
    return { url: `http://${host}:${port}`, processes: [proc] };
  },
};
