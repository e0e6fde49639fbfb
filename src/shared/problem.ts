// RFC 9457 problem details: every error a user can cause is answered with one of these, never a
// stack trace. The `type` URIs are stable so that clients can branch on them.
import type { ResponseWriter } from './response-writer.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId?: string;
  stamp?: string;
  [extension: string]: unknown;
}

export const problemTypeBase = 'https://stampgate.dev/problems/';

export function problem(code: string, title: string, status: number, detail: string, extensions?: Record<string, unknown>): Problem {
  return { type: problemTypeBase + code, title, status, detail, ...extensions };
}

/** Writes a problem as the whole response; a response whose headers already left is closed instead. */
export function sendProblem(res: ResponseWriter, body: Problem, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  };
  if (body.requestId !== undefined) headers['x-request-id'] = body.requestId;
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(body.status, headers);
  res.end(payload);
}
