// The `mirroring` service: the main service answers the client; a share of the requests is also
// sent, fire and forget, to each mirror (a loadBalancer service), whose answers are discarded. A
// request with a body is mirrored only when `mirrorBody` is on and the body fits `maxBodySize`:
// the body is then read once into memory and sent to the main service and the mirrors from there.
import type { UpstreamHandler } from '../http1/upstream-pool.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { upstreamRequestHeaders } from '../proxy/forward-headers.ts';
import type { LoadBalancerService } from './load-balancer-service.ts';
import type { Service } from './service.ts';

export interface Mirror {
  service: LoadBalancerService;
  percent: number;
}

export class MirroringService implements Service {
  readonly name: string;
  readonly kind = 'mirroring' as const;
  readonly handle: (exchange: Exchange) => void;
  readonly #main: Service;
  readonly #mirrors: Mirror[];

  constructor(name: string, main: Service, mirrors: Mirror[], options: { mirrorBody: boolean; maxBodySize: number }) {
    this.name = name;
    this.#main = main;
    this.#mirrors = mirrors;
    this.handle = (exchange) => {
      exchange.service ??= name;
      const chosen = mirrors.filter((m) => Math.random() * 100 < m.percent);
      if (chosen.length === 0) return main.handle(exchange);
      if (!exchange.req.hasBody) {
        for (const m of chosen) sendCopy(m.service, exchange, null);
        return main.handle(exchange);
      }
      const declared = Number(exchange.req.headers['content-length'] ?? NaN);
      if (!options.mirrorBody || declared > options.maxBodySize) return main.handle(exchange);
      readBody(exchange, options.maxBodySize, (body) => {
        if (body === null) {
          sendProblem(exchange.res, problem('body-too-large', 'Request body too large', 413, `service ${JSON.stringify(name)} mirrors bodies up to ${options.maxBodySize} bytes`, { requestId: exchange.requestId }));
          return;
        }
        for (const m of chosen) sendCopy(m.service, exchange, body);
        exchange.bufferedBody = body;
        main.handle(exchange);
      });
    };
  }

  available(): boolean {
    return this.#main.available();
  }

  servers(): UpstreamServer[] {
    return [...this.#main.servers(), ...this.#mirrors.flatMap((m) => m.service.servers())];
  }

  start(): void {}

  stop(): void {}
}

function readBody(exchange: Exchange, limit: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const body = exchange.req.body;
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) over = true;
    else chunks.push(chunk);
  });
  body.once('end', () => done(over ? null : Buffer.concat(chunks)));
}

/** Reads and drops a mirror's answer; a mirror that fails costs nothing but its own request. */
const discard: UpstreamHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};

function sendCopy(mirror: LoadBalancerService, exchange: Exchange, body: Buffer | null): void {
  const server = mirror.pickServer(exchange);
  if (server === undefined) return;
  const path = server.basePath + exchange.path + (exchange.query === '' ? '' : '?' + exchange.query);
  const headers = upstreamRequestHeaders(exchange.req, exchange.requestId, exchange.forwardedTrusted, exchange.trace);
  server.pool.dispatch({ path, method: exchange.method, headers, body }, discard);
}
