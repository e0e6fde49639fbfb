// The gateway's own HTTP/1.1 server (src/gateway/http1/) on 127.0.0.1 and a free port, for tests
// that run middlewares or handlers the way an entrypoint does.
import { Http1Server } from '../../src/gateway/http1/http1-server.ts';
import type { Http1Request } from '../../src/gateway/http1/server-request.ts';
import type { Http1Response } from '../../src/gateway/http1/server-response.ts';

export interface RunningHttp1Server {
  server: Http1Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startHttp1Server(onRequest: (req: Http1Request, res: Http1Response) => void): Promise<RunningHttp1Server> {
  const server = new Http1Server({ maxHeaderBytes: 16 * 1024, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000, maxRequestsPerSocket: 0, tls: null, onRequest, onUpgrade: null });
  await server.listen(0, '127.0.0.1');
  const port = (server.listener.address() as { port: number }).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await server.close();
    },
  };
}
