// Stand-ins for MusicShare's services (seed 001): users, music, social, notifications and the
// frontend, two replicas each, on the ports dynamic.yml names. Each answers every request with
// JSON saying which service and replica served it, so that routing, prefix stripping, round robin
// and sticky sessions can be seen with curl:
//
//   GET  /anything        {"service":"users","replica":2,"path":"/anything","forwardedPrefix":"/api/users"}
//   GET  /health          200 {"status":"ok"}, or 503 {"status":"failing"} after a toggle
//   POST /toggle-health   flip this replica's /health between 200 and 503 (to watch the gateway
//                         take it out of rotation and bring it back)
//
// The notifications replicas also accept WebSocket connections on any path (the gateway sends
// /ws): they greet, push a message every second and echo what they receive.
//
//   node examples/musicshare/stand-ins.ts [--base-port 8000]
//
// Prints one line per replica, then `ready {"users":[8011,8012],…}` (the ports, for run.ts).
// Stops cleanly on SIGINT or SIGTERM; with --exit-with-stdin (run.ts uses it) also when its
// standard input closes, so that it never outlives the process that started it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { host, parseBasePort, portLayout, serviceNames, type ServiceName } from './ports.ts';

export interface Replica {
  service: ServiceName;
  replica: number;
  port: number;
  healthy: boolean;
  close(): Promise<void>;
}

export async function startReplica(service: ServiceName, replica: number, port: number, log: (line: string) => void): Promise<Replica> {
  const name = `${service}-${replica}`;
  const server = http.createServer();
  const state: Replica = { service, replica, port, healthy: true, close: () => Promise.resolve() };

  const json = (res: http.ServerResponse, status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': name });
    res.end(`${JSON.stringify(body)}\n`);
  };

  server.on('request', (req, res) => {
    const path = req.url ?? '/';
    if (path === '/health') {
      json(res, state.healthy ? 200 : 503, { status: state.healthy ? 'ok' : 'failing', service, replica });
      return;
    }
    if (path === '/toggle-health' && req.method === 'POST') {
      state.healthy = !state.healthy;
      log(`${name} /health now answers ${state.healthy ? '200' : '503'}`);
      json(res, 200, { service, replica, healthy: state.healthy });
      return;
    }
    log(`${name} ${req.method} ${path}`);
    if (service === 'frontend' && path === '/' && (req.headers.accept ?? '').includes('text/html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': name });
      res.end(frontendPage(replica));
      return;
    }
    const prefix = req.headers['x-forwarded-prefix'];
    json(res, 200, { service, replica, path, ...(typeof prefix === 'string' ? { forwardedPrefix: prefix } : {}) });
  });

  const sockets = new Set<WebSocket>();
  let wss: WebSocketServer | null = null;
  if (service === 'notifications') {
    wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => wss!.handleUpgrade(req, socket, head, (ws) => wss!.emit('connection', ws, req)));
    wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
      sockets.add(ws);
      log(`${name} WebSocket opened on ${req.url}`);
      const send = (body: Record<string, unknown>) => ws.send(JSON.stringify({ service, replica, ...body }));
      send({ type: 'welcome', path: req.url });
      let tick = 0;
      const timer = setInterval(() => send({ type: 'notification', n: ++tick, text: `new notification #${tick}` }), 1000);
      ws.on('message', (data) => send({ type: 'echo', echo: data.toString() }));
      ws.on('close', () => {
        clearInterval(timer);
        sockets.delete(ws);
        log(`${name} WebSocket closed`);
      });
      ws.on('error', () => ws.terminate());
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error & { code?: string }) => {
      reject(new Error(error.code === 'EADDRINUSE' ? `port ${port} (${service} replica ${replica}) is already in use on ${host}` : `${service} replica ${replica}: cannot listen on ${host}:${port}: ${error.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const ws of sockets) ws.close(1001, 'server stopping');
      wss?.close();
      server.closeAllConnections();
      server.close(() => resolve());
      // A WebSocket that does not answer the close handshake is cut.
      setTimeout(() => {
        for (const ws of sockets) ws.terminate();
      }, 500).unref();
    });
  return state;
}

/** Starts every replica of the layout; on a failure, closes those already started and rejects. */
export async function startStandIns(basePort: number, log: (line: string) => void): Promise<Replica[]> {
  const layout = portLayout(basePort);
  const started: Replica[] = [];
  try {
    for (const service of serviceNames) {
      for (const [i, port] of layout.replicas[service].entries()) started.push(await startReplica(service, i + 1, port, log));
    }
  } catch (error) {
    await Promise.all(started.map((r) => r.close()));
    throw error;
  }
  return started;
}

/** `{"users":[8011,8012],…}`: the ports the replicas listen on. */
export function portsOf(replicas: Replica[]): Record<ServiceName, number[]> {
  const ports = {} as Record<ServiceName, number[]>;
  for (const r of replicas) (ports[r.service] ??= []).push(r.port);
  return ports;
}

function frontendPage(replica: number): string {
  return `<!doctype html>
<meta charset="utf-8"><title>MusicShare (stand-in frontend)</title>
<h1>MusicShare</h1>
<p>Stand-in frontend, replica ${replica}. Every request below goes through the gateway.</p>
<button id="api">GET /api/users/me, /api/music/tracks, /api/social/posts</button>
<pre id="out"></pre>
<h2>/ws</h2>
<pre id="ws"></pre>
<script>
const out = document.getElementById('out');
document.getElementById('api').onclick = async () => {
  for (const path of ['/api/users/me', '/api/music/tracks', '/api/social/posts']) {
    out.textContent += path + ' -> ' + await (await fetch(path)).text();
  }
};
const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws');
const log = document.getElementById('ws');
ws.onmessage = (e) => { log.textContent = e.data + '\\n' + log.textContent.split('\\n').slice(0, 9).join('\\n'); };
ws.onopen = () => ws.send('hola from the browser');
</script>
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'base-port': { type: 'string' }, 'exit-with-stdin': { type: 'boolean' } } });
  const log = (line: string) => console.log(line);
  let replicas: Replica[];
  try {
    replicas = await startStandIns(parseBasePort(values['base-port']), log);
  } catch (error) {
    console.error(`stand-ins: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  for (const r of replicas) log(`${r.service} replica ${r.replica} listening on http://${host}:${r.port}${r.service === 'notifications' ? ' (and WebSocket)' : ''}`);
  log(`ready ${JSON.stringify(portsOf(replicas))}`);

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    void Promise.all(replicas.map((r) => r.close())).then(() => {
      log('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (values['exit-with-stdin']) {
    process.stdin.on('end', () => stop('standard input closed'));
    process.stdin.resume();
  }
}

if (import.meta.main) await main();
