// The one upstream every target of a run proxies to: NGINX (1 worker) returning fixed bodies when
// NGINX is installed, else a tiny node:http server in its own process (upstream-server.ts). Both
// answer any path with the 101-byte JSON body, and `/body/<bytes>` (scenario d) with a JSON body of
// that size, after reading and discarding whatever request body came with it.
//
// Scenario (f) has an upstream of its own: a WebSocket echo server (ws-echo-server.ts), started
// only when (f) runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from './nginx-config.ts';
import { freePort, host, waitUntilEchoing, waitUntilProxying } from './net.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { allScenarios, bodySizes, jsonOfSize, smallBody } from './scenarios.ts';

export interface Upstream {
  kind: 'nginx' | 'node' | 'ws-echo';
  /** e.g. "nginx/1.22.1, 1 worker" */
  description: string;
  url: string;
  port: number;
  process: ManagedProcess;
}

const nodeUpstreamScript = fileURLToPath(new URL('./upstream-server.ts', import.meta.url));
const webSocketUpstreamScript = fileURLToPath(new URL('./ws-echo-server.ts', import.meta.url));

export async function startUpstream(nginxBinary: string | null, nginxVersion: string, tmpDir: string): Promise<Upstream> {
  const port = await freePort();
  const url = `http://${host}:${port}`;
  let upstream: Upstream;
  if (nginxBinary) {
    const dir = path.join(tmpDir, 'upstream-nginx');
    const bodyDir = path.join(dir, 'static', 'body');
    mkdirSync(bodyDir, { recursive: true });
    for (const size of bodySizes) writeFileSync(path.join(bodyDir, String(size)), jsonOfSize(size, 'response'));
    const proc = await startNginx(
      'upstream (nginx)',
      nginxBinary,
      dir,
      1,
      `  server {
    listen ${host}:${port};
    etag off;
    location / { return 200 '${smallBody.toString('latin1')}'; }
    # The mirror (to a location that does nothing) makes NGINX read the whole request body before
    # answering, as an app would; POST to a static file is 405, and turning that into a GET of the
    # same file serves the body.
    location /body/ { mirror /read-body; root ${path.join(dir, 'static')}; error_page 405 =200 $uri; }
    location = /read-body { internal; return 204; }
  }`,
    );
    upstream = { kind: 'nginx', description: `${nginxVersion || 'nginx'}, 1 worker`, url, port, process: proc };
  } else {
    const proc = await startProcess('upstream (node:http)', process.execPath, [nodeUpstreamScript], { env: { ...process.env, PORT: String(port) } });
    upstream = { kind: 'node', description: `node:http ${process.version}, 1 process`, url, port, process: proc };
  }
  try {
    for (const scenario of allScenarios) if (scenario.kind === 'http') await waitUntilProxying(url, scenario.request, scenario.expectedBody, [upstream.process]);
  } catch (error) {
    await upstream.process.stop();
    throw new Error(`the upstream (${upstream.description}) is not answering correctly: ${(error as Error).message}\n${upstream.process.tail()}`, { cause: error });
  }
  return upstream;
}

/** Scenario (f)'s upstream: the WebSocket echo server, in its own process. */
export async function startWebSocketUpstream(): Promise<Upstream> {
  const port = await freePort();
  const proc = await startProcess('upstream (ws echo)', process.execPath, [webSocketUpstreamScript], { env: { ...process.env, PORT: String(port) } });
  const upstream: Upstream = { kind: 'ws-echo', description: `ws echo server (ws package, node ${process.version}), 1 process`, url: `http://${host}:${port}`, port, process: proc };
  try {
    await waitUntilEchoing(upstream.url, 16, [proc]);
  } catch (error) {
    await proc.stop();
    throw new Error(`the WebSocket echo upstream is not answering: ${(error as Error).message}\n${proc.tail()}`, { cause: error });
  }
  return upstream;
}
