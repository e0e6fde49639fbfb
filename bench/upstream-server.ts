// The upstream used when NGINX is not installed: a node:http server answering like upstream.ts's
// NGINX does. Run as its own process: PORT=<port> node bench/upstream-server.ts
import http from 'node:http';
import { bodySizes, jsonOfSize, smallBody } from './scenarios.ts';
import { exitWithParent } from './targets/servers/common.ts';

const bodies = new Map<string, Buffer>(bodySizes.map((size) => [`/body/${size}`, jsonOfSize(size, 'response')]));

const server = http.createServer((req, res) => {
  const body = bodies.get(req.url ?? '/') ?? smallBody;
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (req.readableEnded) answer();
  else req.on('end', answer).resume();
});
server.keepAliveTimeout = 75_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
exitWithParent();
