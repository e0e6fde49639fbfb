// The end of a WebSocket through the gateway, with a real `ws` client and echo server: the gateway
// never ends a tunnel's response, so only the client socket closing tells the request is over.
// inFlightReq must then give the slot back, and the access log must get the tunnel's line (101).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { AccessLog } from '../../src/observe/access-log/access-log.ts';
import { resolveAccessLogSettings } from '../../src/observe/access-log/access-log-config.ts';
import { RequestObserver } from '../../src/observe/request-observer.ts';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function echoServer(): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data.toString())));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  return `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** A gateway routing everything through an inFlightReq of amount 1 to `url`, its access log kept in `lines`. */
async function startGateway(url: string): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const sink = { write: (line: string) => void lines.push(line), flush: async () => {}, close: async () => {} };
  const observer = new RequestObserver({ accessLog: new AccessLog(resolveAccessLogSettings({}), { sink }) });
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } }, observer });
  const dynamic: DynamicConfig = {
    http: {
      routers: { ws: { rule: 'PathPrefix(`/`)', service: 'ws', middlewares: ['one'] } },
      middlewares: { one: { inFlightReq: { amount: 1 } } },
      services: { ws: { loadBalancer: { servers: [{ url }] } } },
    },
  };
  gateway.applyConfig(dynamic);
  const port = (await gateway.listen()).get('web')!.port;
  cleanups.push(() => gateway.close());
  return { port, lines };
}

async function echoOnce(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  await once(socket, 'open');
  socket.send('ping');
  const [data] = (await once(socket, 'message')) as [Buffer];
  assert.equal(data.toString(), 'ping');
  return socket;
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a closed WebSocket frees its inFlightReq slot and gets its access log line with 101', async () => {
  const { port, lines } = await startGateway(await echoServer());
  const first = await echoOnce(port);

  // While the first is open, its slot is taken.
  const refused = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  refused.on('error', () => {});
  const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(response.statusCode, 429);
  refused.terminate();
  await eventually(() => lines.length === 1, 'the refusal in the access log');
  assert.equal((JSON.parse(lines[0]!) as { status: number }).status, 429);

  first.close();
  await once(first, 'close');
  const second = await echoOnce(port); // refused with 429 while the closed one still held the slot
  await eventually(() => lines.length === 2, "the first WebSocket's line in the access log");
  assert.equal((JSON.parse(lines[1]!) as { status: number }).status, 101);

  second.close();
  await once(second, 'close');
  await eventually(() => lines.length === 3, "the second WebSocket's line in the access log");
  assert.equal((JSON.parse(lines[2]!) as { status: number }).status, 101);
});
