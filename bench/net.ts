// Loopback helpers: a free port (bind port 0, read it, release it) and one checked request, used to
// see that a target is up and proxies the scenario's request correctly before any load is sent.
import http from 'node:http';
import net from 'node:net';
import type { LoadRequest } from './scenarios.ts';
import type { ManagedProcess } from './processes.ts';

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
