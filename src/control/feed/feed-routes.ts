// GET /v1/config: the config feed gateways subscribe to, on the admin API's Fastify app.
//
//   GET /v1/config                          the whole document; 304 when If-None-Match has its ETag
//   GET /v1/config?watch=1 + If-None-Match  long-poll: answers as soon as the version differs from
//       (or ?version=N[&epoch=E])           the one named, at once if it does already; 304 after
//                                           `timeout` seconds (default 25) without a change
//   …&delta=1                               with a known version: only the tenants changed since
//
// Auth: a token of role gateway (this endpoint only), viewer or admin.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { StampDefinition } from '../../config/schema/dynamic.ts';
import type { ConfigVersion } from '../store/catalog.ts';
import { invalidRequest } from '../api/problems.ts';
import { problems } from '../api/schemas.ts';
import { differs, etagFor, parseEtag, type ConfigFeed, type KnownVersion } from './config-feed.ts';

const Flag = Type.Unsafe<'1' | 'true' | '0' | 'false'>({ type: 'string', enum: ['1', 'true', '0', 'false'] });

export const ConfigQuery = Type.Object(
  {
    watch: Type.Optional({ ...Flag, description: 'long-poll: wait for a version other than the one named' }),
    version: Type.Optional(Type.Integer({ minimum: 0, description: 'the version the gateway has (instead of If-None-Match)' })),
    epoch: Type.Optional(Type.String({ pattern: '^[0-9a-f-]{1,64}$', description: 'the epoch of that version' })),
    delta: Type.Optional({ ...Flag, description: 'answer with the tenants changed since the known version, when the store can' }),
    timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 120, description: 'seconds a watch waits before 304 (default 25)' })),
  },
  { additionalProperties: false },
);
type ConfigQuery = Static<typeof ConfigQuery>;

export const ConfigDocumentSchema = Type.Object(
  {
    version: Type.Integer({ description: 'bumped by every stamp or tenant change' }),
    epoch: Type.String({ description: 'random per store: a version means something only with it' }),
    since: Type.Optional(Type.Integer({ description: 'delta answers only: the version the changes start from' })),
    stamps: Type.Array(StampDefinition, { description: 'active and draining stamps, as items of the `stamps` service' }),
    tenants: Type.Record(Type.String(), Type.String(), { description: 'tenant → stamp id (in a delta: the tenants placed or moved since `since`)' }),
    removedTenants: Type.Optional(Type.Array(Type.String(), { description: 'delta answers only: the tenants deleted since `since`' })),
  },
  { description: 'application/json; ETag W/"<epoch>.<version>"' },
);

export interface FeedRouteOptions {
  /** Default wait of a watch before 304 (25 s). */
  watchTimeoutMs?: number;
}

const on = (flag: string | undefined) => flag === '1' || flag === 'true';
/** Smaller bodies are not worth compressing. */
const gzipThreshold = 16 * 1024;

export function registerFeedRoutes(app: FastifyInstance, feed: ConfigFeed, options: FeedRouteOptions = {}): void {
  app.get<{ Querystring: ConfigQuery }>(
    '/v1/config',
    {
      schema: {
        tags: ['config feed'],
        summary: 'The gateways\' config: stamps and the tenant directory (ETag, long-poll watch, deltas)',
        querystring: ConfigQuery,
        response: { 200: ConfigDocumentSchema, 304: { type: 'null', description: 'not modified: the version named is current' }, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const known: KnownVersion | undefined = query.version !== undefined ? { version: query.version, ...(query.epoch ? { epoch: query.epoch } : {}) } : parseEtag(request.headers['if-none-match']);
      if (on(query.watch)) {
        if (!known) throw invalidRequest([{ field: 'version', message: 'is required with watch=1 (or send If-None-Match with the ETag of the config you have)' }]);
        const abort = new AbortController();
        const onClose = () => abort.abort();
        reply.raw.once('close', onClose);
        try {
          const changed = await feed.wait(known, (query.timeout ?? 0) * 1000 || (options.watchTimeoutMs ?? 25_000), abort.signal);
          if (!changed) return notModified(reply, await feed.currentVersion());
        } finally {
          reply.raw.off('close', onClose);
        }
      } else if (known && !differs(await feed.currentVersion(), known)) {
        return notModified(reply, await feed.currentVersion());
      }
      if (on(query.delta) && known) {
        const delta = await feed.delta(known);
        if (delta) return sendDocument(request, reply, delta.version, delta.body, async () => delta.body, false);
      }
      const document = await feed.document();
      return sendDocument(request, reply, document, document.body, document.gzipped, true);
    },
  );
}

function versionHeaders(version: ConfigVersion): Record<string, string> {
  return { etag: etagFor(version), 'cache-control': 'no-cache', 'stampgate-config-version': String(version.version) };
}

function notModified(reply: FastifyReply, version: ConfigVersion): FastifyReply {
  return reply.code(304).headers(versionHeaders(version)).send();
}

async function sendDocument(request: FastifyRequest, reply: FastifyReply, version: ConfigVersion, body: Buffer, gzipped: () => Promise<Buffer>, compress: boolean): Promise<FastifyReply> {
  reply.code(200).headers(versionHeaders(version)).header('vary', 'accept-encoding').type('application/json');
  if (compress && body.length >= gzipThreshold && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(await gzipped());
  }
  return reply.send(body);
}
