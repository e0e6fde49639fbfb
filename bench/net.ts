// Loopback helpers: a free port (bind port 0, read it, release it) and one checked request, used to
// see that a target is up and proxies the scenario's request correctly before any load is sent.
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import type { ManagedProcess } from './processes.ts';
import { tenantId, type LoadRequest } from './scenarios.ts';

export const host = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Answer {
  status: number;
  body: Buffer;
}

/** Sends `request` once on a fresh connection; rejects on a network error or after `timeoutMs`. */
export function requestOnce(baseUrl: string, request: LoadRequest, timeoutMs = 2000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers };
    // The checked request names the directory's last tenant.
    if (request.tenantHeader) headers[request.tenantHeader.name] = tenantId(request.tenantHeader.count - 1);
    if (request.body) headers['content-length'] = request.body.length;
    const req = http.request(new URL(request.path, baseUrl), { method: request.method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(request.body ?? undefined);
  });
}

/**
 * Retries `request` until it gets status 200 with exactly `expectedBody`, the process exits, or
 * `timeoutMs` passes; throws a message that says which, with the last answer or error seen.
 */
export async function waitUntilProxying(baseUrl: string, request: LoadRequest, expectedBody: Buffer, processes: ManagedProcess[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const dead = processes.find((p) => !p.running);
    if (dead) throw new Error(`${dead.name} ${dead.exitDescription ?? 'exited'} before answering`);
    try {
      const answer = await requestOnce(baseUrl, request);
      if (answer.status === 200 && answer.body.equals(expectedBody)) return;
      // A wrong answer from a live server will not fix itself: report it at once.
      throw new Error(`${request.method} ${request.path} answered ${answer.status} with ${answer.body.length} bytes (${JSON.stringify(answer.body.subarray(0, 120).toString('utf8'))}) instead of 200 with the upstream's ${expectedBody.length}-byte body`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET') throw error;
      last = `connection failed (${code})`;
    }
    if (Date.now() > deadline) throw new Error(`not proxying within ${timeoutMs} ms: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Opens a WebSocket to `baseUrl` and retries until a `messageBytes` text message comes back intact,
 * the process exits, or `timeoutMs` passes; throws a message that says which.
 */
export async function waitUntilEchoing(baseUrl: string, messageBytes: number, processes: ManagedProcess[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const message = 'e'.repeat(messageBytes);
  let last: string;
  for (;;) {
    const dead = processes.find((p) => !p.running);
    if (dead) throw new Error(`${dead.name} ${dead.exitDescription ?? 'exited'} before answering`);
    try {
      const echo = await echoOnce(baseUrl.replace(/^http/, 'ws') + '/', message);
      if (echo === message) return;
      throw new Error(`a ${messageBytes}-byte WebSocket message came back as ${echo.length} bytes (${JSON.stringify(echo.slice(0, 60))})`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET') throw error;
      last = `connection failed (${code})`;
    }
    if (Date.now() > deadline) throw new Error(`no WebSocket echo within ${timeoutMs} ms: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function echoOnce(url: string, message: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no echo within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('open', () => socket.send(message));
    socket.on('message', (data: Buffer) => {
      clearTimeout(timer);
      socket.close();
      resolve(data.toString('utf8'));
    });
    socket.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(`the WebSocket handshake was answered ${res.statusCode ?? '?'} instead of 101`));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
