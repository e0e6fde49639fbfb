// The gateway's HTTP/1.1 server, on plain TCP or TLS. It replaces node:http on the request path:
// node:http's generality (IncomingMessage and ServerResponse streams, header objects copied both
// ways) cost about as much CPU per request as all of the gateway's own work, and the benchmark
// (bench/README.md) showed a lean server on net sockets doing the same job with half of it.
// One timer per server, not one per request, enforces the head, body and idle timeouts.
import net from 'node:net';
import tls from 'node:tls';
import { ServerConnection, type ConnectionHost } from './server-connection.ts';
import type { Http1Request } from './server-request.ts';
import type { Http1Response } from './server-response.ts';

export interface Http1ServerOptions {
  maxHeaderBytes: number;
  /** Time allowed to receive a whole request (head and body); 408 when exceeded. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** Requests per connection; 0: no limit. */
  maxRequestsPerSocket: number;
  /** TLS: the server's options (SNICallback, minVersion…); null for plain TCP. */
  tls: tls.TlsOptions | null;
  onRequest: (req: Http1Request, res: Http1Response) => void;
  onUpgrade: ((req: Http1Request, res: Http1Response, socket: net.Socket, head: Buffer) => void) | null;
}

export class Http1Server implements ConnectionHost {
  /** The listening socket: `address()`, and its 'connection' event counts TCP connections. */
  readonly listener: net.Server;
  readonly maxHeaderBytes: number;
  readonly maxRequestsPerSocket: number;
  readonly onRequest: (req: Http1Request, res: Http1Response) => void;
  readonly onUpgrade: ((req: Http1Request, res: Http1Response, socket: net.Socket, head: Buffer) => void) | null;
  closing = false;
  readonly #connections = new Set<ServerConnection>();
  readonly #requestTimeoutMs: number;
  readonly #keepAliveTimeoutMs: number;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(options: Http1ServerOptions) {
    this.maxHeaderBytes = options.maxHeaderBytes;
    this.maxRequestsPerSocket = options.maxRequestsPerSocket;
    this.onRequest = options.onRequest;
    this.onUpgrade = options.onUpgrade;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs;
    const accept = (socket: net.Socket) => this.#connections.add(new ServerConnection(socket, this));
    if (options.tls !== null) {
      const server = tls.createServer({ ...options.tls, ALPNProtocols: ['http/1.1'], allowHalfOpen: true }, accept);
      // A failed handshake (wrong SNI, a plain-text client) concerns that client only.
      server.on('tlsClientError', (_error, socket) => socket.destroy());
      this.listener = server;
    } else {
      this.listener = net.createServer({ allowHalfOpen: true, noDelay: true }, accept);
    }
  }

  listen(port: number, host: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const listener = this.listener;
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        this.#sweeper = setInterval(() => this.#sweep(), 1000);
        this.#sweeper.unref();
        resolve();
      });
    });
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  connectionClosed(connection: ServerConnection): void {
    this.#connections.delete(connection);
  }

  /** Times out heads and bodies that arrive too slowly, and idle keep-alive connections. */
  #sweep(): void {
    const now = performance.now();
    for (const connection of this.#connections) {
      if (connection.requestStartedAt > 0 && now - connection.requestStartedAt > this.#requestTimeoutMs) {
        connection.timedOut();
      } else if (connection.idle && connection.socket.writableLength === 0 && now - connection.lastActivity > this.#keepAliveTimeoutMs) {
        connection.destroy();
      }
    }
  }

  /** Stops accepting; idle connections close now, busy ones after their answer. Resolves when all are gone. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const listener = this.listener;
      const done = () => {
        if (this.#sweeper !== null) clearInterval(this.#sweeper);
        resolve();
      };
      if (listener.listening) listener.close(done);
      else done();
      this.closeIdleConnections();
    });
  }

  closeIdleConnections(): void {
    for (const connection of this.#connections) connection.closeIfIdle();
  }

  closeAllConnections(): void {
    for (const connection of this.#connections) connection.destroy();
  }
}
