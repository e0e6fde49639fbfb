// Scenario (f)'s upstream: a WebSocket server (the `ws` package) that sends every message back as it
// came, on 127.0.0.1. Run as its own process: PORT=<port> node bench/ws-echo-server.ts
import { WebSocketServer } from 'ws';
import { exitWithParent } from './targets/servers/common.ts';

const server = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0), perMessageDeflate: false, clientTracking: false });
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});
server.on('listening', () => console.log(JSON.stringify({ listening: (server.address() as { port: number }).port })));
exitWithParent();
