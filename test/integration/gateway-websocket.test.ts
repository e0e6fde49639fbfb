// WebSocket through the gateway with a real `ws` client and server: routed and filtered like any
// request, echoed both ways, closed from either side, and kept open across config reloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { DynamicConfig } from '../../src/config/schema/dynamic.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { closedPort } from '../helpers/http-servers.ts';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A WebSocket echo server that reports the path it was reached on and the id it was given. */
async function echoServer(id: string): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (socket, req) => {
    socket.send(`hello from ${id} at ${req.url} (forwarded for ${req.headers['x-forwarded-for']})`);
    socket.on('message', (data) => socket.send(`${id}: ${data.toString()}`));
  });
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss };
}

function config(wsUrl: string, other: string): DynamicConfig {
  return {
    http: {
      routers: {
        ws: { rule: 'PathPrefix(`/ws`)', service: 'ws', middlewares: ['strip'] },
        private: { rule: 'PathPrefix(`/private`)', service: 'ws', middlewares: ['auth'] },
        stamps: { rule: 'PathPrefix(`/live`)', service: 'stamps' },
      },
      middlewares: {
        strip: { stripPrefix: { prefixes: ['/ws'] } },
        auth: { basicAuth: { users: ['u:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='] } },
      },
      services: {
        ws: { loadBalancer: { servers: [{ url: wsUrl }] } },
        stamps: { stamps: { stamps: [{ id: 'default', servers: [{ url: wsUrl }] }, { id: 's1', aliases: ['1'], servers: [{ url: other }] }] } },
      },
    },
  };
}

async function startGateway(dynamic: DynamicConfig): Promise<{ gateway: Gateway; port: number }> {
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' } } } });
  gateway.applyConfig(dynamic);
  const port = (await gateway.listen()).get('web')!.port;
  cleanups.push(() => gateway.close());
  return { gateway, port };
}

/** Opens a client and collects its messages. */
async function connect(url: string): Promise<{ socket: WebSocket; messages: string[]; next: () => Promise<string> }> {
  const socket = new WebSocket(url);
  const messages: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  socket.on('message', (data) => {
    const text = data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else messages.push(text);
  });
  await once(socket, 'open');
  return { socket, messages, next: () => (messages.length > 0 ? Promise.resolve(messages.shift()!) : new Promise((r) => waiters.push(r))) };
}

test('echo both ways through a router with stripPrefix; the connection survives config reloads', async () => {
  const a = await echoServer('a');
  const b = await echoServer('b');
  const { gateway, port } = await startGateway(config(a.url, b.url));
  const client = await connect(`ws://127.0.0.1:${port}/ws/chat?room=1`);
  assert.equal(await client.next(), 'hello from a at /chat?room=1 (forwarded for 127.0.0.1)');
  client.socket.send('ping');
  assert.equal(await client.next(), 'a: ping');
  // Reload twice, the second time moving the route to another server: the open tunnel stays.
  gateway.applyConfig(config(a.url, b.url));
  gateway.applyConfig(config(b.url, a.url));
  client.socket.send('still there?');
  assert.equal(await client.next(), 'a: still there?');
  const fresh = await connect(`ws://127.0.0.1:${port}/ws/`);
  assert.match(await fresh.next(), /^hello from b/, 'new connections follow the new config');
  fresh.socket.close();
  client.socket.close();
  await once(client.socket, 'close');
});

test('a close from the server reaches the client, and from the client reaches the server', async () => {
  const a = await echoServer('a');
  const { port } = await startGateway(config(a.url, a.url));
  const client = await connect(`ws://127.0.0.1:${port}/ws/`);
  await client.next();
  const [serverSide] = [...a.wss.clients];
  serverSide!.close(4001, 'bye');
  const [code, reason] = (await once(client.socket, 'close')) as [number, Buffer];
  assert.equal(code, 4001);
  assert.equal(reason.toString(), 'bye');

  const second = await connect(`ws://127.0.0.1:${port}/ws/`);
  await second.next();
  const serverSocket = [...a.wss.clients].find((s) => s.readyState === WebSocket.OPEN)!;
  const serverClosed = once(serverSocket, 'close');
  second.socket.close(1000, 'done');
  const [serverCode] = (await serverClosed) as [number];
  assert.equal(serverCode, 1000);
});

test('middlewares apply to upgrades: without credentials the handshake is refused with 401', async () => {
  const a = await echoServer('a');
  const { port } = await startGateway(config(a.url, a.url));
  const refused = new WebSocket(`ws://127.0.0.1:${port}/private`);
  refused.on('error', () => {}); // terminate() below rejects the unfinished handshake
  const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number; headers: Record<string, string> }];
  assert.equal(response.statusCode, 401);
  assert.match(response.headers['www-authenticate'] ?? '', /^Basic realm=/);
  refused.terminate();
  const allowed = await connect(`ws://u:test@127.0.0.1:${port}/private`);
  assert.match(await allowed.next(), /^hello from a at \/private/);
  allowed.socket.close();
});

test('the stamps service routes upgrades by ?stamp=; a dead server is refused with 503', async () => {
  const a = await echoServer('a');
  const b = await echoServer('b');
  const { port } = await startGateway(config(a.url, b.url));
  const viaStamp = await connect(`ws://127.0.0.1:${port}/live?stamp=1&x=2`);
  assert.equal(await viaStamp.next(), 'hello from b at /live?x=2 (forwarded for 127.0.0.1)');
  viaStamp.socket.close();

  const dead = await closedPort();
  const { port: port2 } = await startGateway(config(`http://127.0.0.1:${dead}`, b.url));
  const refused = new WebSocket(`ws://127.0.0.1:${port2}/ws/`);
  refused.on('error', () => {});
  const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number; headers: Record<string, string> }];
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers['content-type'], 'application/problem+json');
  refused.terminate();
});

test('stopping the gateway ends open WebSockets after its grace period instead of waiting for the clients', async () => {
  const a = await echoServer('a');
  const gateway = new Gateway({ staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { lifeCycle: { graceTimeOut: '200ms' } } } } } });
  gateway.applyConfig(config(a.url, a.url));
  const port = (await gateway.listen()).get('web')!.port;
  const client = await connect(`ws://127.0.0.1:${port}/ws/`);
  await client.next();
  const started = Date.now();
  const closed = once(client.socket, 'close');
  await gateway.close();
  await closed;
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 2000, `closed after ${took} ms`);
});
