// The seed's separate metrics listener (:3004 in `stampgate up`): /stampsz, and Prometheus /metrics when given.
import http from 'node:http';
import type { RequestReader, ResponseWriter } from '../shared/response-writer.ts';
import { problem, sendProblem } from '../shared/problem.ts';
import { sendJson } from '../shared/send-json.ts';
import type { StampRequestCounters } from './stamp-request-counters.ts';

export function createStampszServer(counters: StampRequestCounters, metrics?: (req: RequestReader, res: ResponseWriter) => void): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics !== undefined) return metrics(req, res);
    if (path !== '/stampsz') {
      sendProblem(res, problem('not-found', 'Not found', 404, `this listener serves /stampsz${metrics ? ' and /metrics' : ''} only`));
      return;
    }
    sendJson(res, 200, counters.snapshot());
  });
}
