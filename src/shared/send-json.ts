import type { ResponseWriter } from './response-writer.ts';

/** A complete JSON answer that no cache keeps: the gateway's own endpoints report live state. */
export function sendJson(res: ResponseWriter, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'cache-control': 'no-store' });
  res.end(payload);
}
