// http-proxy (node-http-proxy) on node:http, with a keep-alive agent to the upstream; WebSocket
// upgrades (scenario f) go through proxy.ws().
import http from 'node:http';
import httpProxy from 'http-proxy';
import { announce, listenPort, upstreamUrl } from './common.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: upstreamUrl(), agent });
proxy.on('error', (error, _req, res) => {
  process.stderr.write(`proxy error: ${error.message}\n`);
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.keepAliveTimeout = 75_000;
server.listen(listenPort(), '127.0.0.1', () => announce(server.address()));
