// The configuration of the simplest stamps gateway: one entrypoint, one catch-all router, one
// `stamps` service with one server per stamp. `stampgate up` runs it; tests and the benchmark build
// theirs the same way. It is an ordinary config: the same compile path as a user's file.
import type { DynamicConfig } from '../../config/schema/dynamic.ts';
import type { StaticConfig } from '../../config/schema/static.ts';

export interface SimpleStamp {
  id: string;
  aliases?: string[];
  url: string;
  readyPath?: string;
}

export interface StampsGatewayConfigOptions {
  /** "host:port" of the entrypoint `web`, e.g. "127.0.0.1:3000" (port 0: any free port). */
  address: string;
  stamps: SimpleStamp[];
  defaultStamp?: string;
  /** Largest request body in bytes (a `buffering` middleware); none when absent. */
  bodyLimit?: number;
}

export function stampsGatewayConfig(options: StampsGatewayConfigOptions): { staticConfig: Pick<StaticConfig, 'entryPoints'>; dynamicConfig: DynamicConfig } {
  const middlewares = options.bodyLimit === undefined ? undefined : { 'body-limit': { buffering: { maxRequestBodyBytes: options.bodyLimit } } };
  return {
    staticConfig: { entryPoints: { web: { address: options.address } } },
    dynamicConfig: {
      http: {
        routers: {
          stamps: { rule: 'PathPrefix(`/`)', priority: 1, service: 'stamps', ...(middlewares ? { middlewares: ['body-limit'] } : {}) },
        },
        ...(middlewares ? { middlewares } : {}),
        services: {
          stamps: {
            stamps: {
              stamps: options.stamps.map((s) => ({ id: s.id, ...(s.aliases?.length ? { aliases: s.aliases } : {}), servers: [{ url: s.url }], ...(s.readyPath ? { readyPath: s.readyPath } : {}) })),
              ...(options.defaultStamp ? { defaultStamp: options.defaultStamp } : {}),
            },
          },
        },
      },
    },
  };
}
