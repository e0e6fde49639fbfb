// The floor for a Node.js proxy: bare node:http in front of undici's Pool.stream, with no feature
// but dropping the hop-by-hop headers undici or HTTP require dropped. Nothing written in Node.js
// on this path can be much cheaper, so a proxy's ratio to this is its own overhead.
import http from 'node:http';
import { Pool } from 'undici';
import { announce, listenPort, upstreamUrl } from './common.ts';

const pool = new Pool(upstreamUrl());
const hopByHop = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

const server = http.createServer((req, res) => {
  const headers: http.IncomingHttpHeaders = { ...req.headers };
  for (const name of hopByHop) delete headers[name];
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { path: req.url ?? '/', method: req.method ?? 'GET', headers, body: hasBody ? req : null, opaque: res },
    ({ statusCode, headers: upstreamHeaders, opaque }) => {
      const response = opaque as http.ServerResponse;
      for (const name of hopByHop) delete upstreamHeaders[name];
      response.writeHead(statusCode, upstreamHeaders);
      return response;
    },
    (error) => {
      if (!error) return;
      process.stderr.write(`upstream error: ${error.message}\n`);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    },
  );
});
server.keepAliveTimeout = 75_000;
server.listen(listenPort(), '127.0.0.1', () => announce(server.address()));
