// @fastify/http-proxy with its defaults (undici to the upstream), no logger.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { announce, listenPort, upstreamUrl } from './common.ts';

const app = Fastify({ logger: false });
await app.register(proxy, { upstream: upstreamUrl() });
await app.listen({ port: listenPort(), host: '127.0.0.1' });
announce(app.server.address());
