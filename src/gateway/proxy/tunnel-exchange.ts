// Protocol upgrades (WebSocket): after routing and middlewares, the request head is written to a
// fresh connection to the chosen server and the two sockets are then joined byte for byte. No
// frame is parsed; the server's answer (101 or a refusal) reaches the client as it was sent, and
// a close or error on either side closes the other.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { sendProblem } from '../../shared/problem.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import { setHeader } from '../middleware/header-list.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { upstreamRequestHeaders } from './forward-headers.ts';
import { upstreamProblem, type ForwardSettings, type UpstreamOutcome } from './forward-exchange.ts';

export function tunnelExchange(exchange: Exchange, server: UpstreamServer, settings: ForwardSettings, outcome: UpstreamOutcome, connectTimeoutMs: number): void {
  const { socket: client, head } = exchange.upgrade!;
  const req = exchange.req;
  const headers = upstreamRequestHeaders(req, exchange.requestId, exchange.forwardedTrusted, exchange.trace);
  if (exchange.upstreamHeaders !== null) {
    for (const [name, value] of exchange.upstreamHeaders) {
      for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === name) headers.splice(i, 2);
      if (value !== null) headers.push(name, value);
    }
  }
  // An upgrade needs the two hop-by-hop headers that ordinary forwarding drops.
  headers.push('connection', 'Upgrade', 'upgrade', String(req.headers.upgrade ?? 'websocket'));
  const url = new URL(server.origin);
  if (!settings.passHostHeader) setHeader(headers, 'host', 'host', url.host);
  const path = server.basePath + exchange.path + (exchange.query === '' ? '' : '?' + exchange.query);
  let requestHead = `${exchange.method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) requestHead += `${headers[i]}: ${headers[i + 1]}\r\n`;
  requestHead += '\r\n';

  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const upstream: Duplex = url.protocol === 'https:' ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
  exchange.upstream = server.url;
  server.inFlight++;
  let connected = false;
  const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })), connectTimeoutMs);
  upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    connected = true;
    clearTimeout(timer);
    upstream.write(requestHead);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    server.inFlight--;
    upstream.destroy();
    client.destroy();
  };
  upstream.once('error', (error: Error & { code?: string }) => {
    if (connected || client.destroyed) return close();
    closed = true;
    clearTimeout(timer);
    server.inFlight--;
    const notSent = true;
    const code = error.code ?? 'error';
    const failure = { status: code === 'CONNECT_TIMEOUT' || code === 'ECONNREFUSED' ? 503 : 502, reason: `not accepting connections (${code})`, notSent };
    if (outcome.onFailure(exchange, server, failure)) return;
    settings.log?.(`${failure.status} ${server.url} request=${exchange.requestId}: upgrade: ${failure.reason}`);
    // The upgrade's response writes to the client's socket and ends it; answering through it
    // keeps the status the access log and metrics report.
    sendProblem(exchange.res, upstreamProblem(exchange, failure));
  });
  upstream.once('close', close);
  client.once('close', close);
  client.once('error', close);
}
