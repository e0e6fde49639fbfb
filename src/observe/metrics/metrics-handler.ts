// GET /metrics for a registry: the gateway's (on the entrypoint or listener the static config's
// metrics.prometheus.entryPoint names) or the control plane's (on its admin API).
//
//   const handle = createMetricsHandler(metrics);   // GatewayMetrics, ControlPlaneMetrics, or any { metrics(), contentType }
//   if (path === '/metrics') return handle(req, res);
import type { RequestReader, ResponseWriter } from '../../shared/response-writer.ts';
import { problem, sendProblem } from '../../shared/problem.ts';

export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export function createMetricsHandler(source: MetricsSource): (req: RequestReader, res: ResponseWriter) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendProblem(res, problem('method-not-allowed', 'Method not allowed', 405, '/metrics answers GET and HEAD only'), { allow: 'GET, HEAD' });
      return;
    }
    source.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': source.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: Error) => sendProblem(res, problem('internal-error', 'Metrics collection failed', 500, error.message)),
    );
  };
}
