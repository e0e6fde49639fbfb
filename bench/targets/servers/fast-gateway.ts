// fast-gateway 3.4 (restana + fast-proxy-lite) with one catch-all route.
import gateway from 'fast-gateway';
import { announce, listenPort, upstreamUrl } from './common.ts';

const service = gateway({ routes: [{ prefix: '', target: upstreamUrl() }] });
const server = await service.start(listenPort(), '127.0.0.1');
announce(server.address());
