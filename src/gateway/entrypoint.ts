// One listener of the gateway (Traefik's entrypoint): plain HTTP or TLS with SNI, its timeouts,
// header size limit and optional redirection to another entrypoint. Malformed requests are answered
// here and never reach a router.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { parseDuration } from '../config/duration.ts';
import type { EntryPointConfig } from '../config/schema/static.ts';
import { problem } from '../shared/problem.ts';

export interface ListenAddress {
  host: string | undefined;
  port: number;
}

/** ":80" → all interfaces; "127.0.0.1:8080"; "[::1]:443". */
export function parseAddress(address: string): ListenAddress {
  const withoutProtocol = address.replace(/\/tcp$/, '');
  const colon = withoutProtocol.lastIndexOf(':');
  const rawHost = withoutProtocol.slice(0, colon);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { host: host === '' ? undefined : host, port: Number(withoutProtocol.slice(colon + 1)) };
}

export interface EntryPointOptions {
  name: string;
  config: EntryPointConfig;
  /** Present when the entrypoint serves TLS: picks the certificate for a server name. */
  tls: { sniContext: (serverName: string) => SecureContext | undefined; minVersion: 'TLSv1.2' | 'TLSv1.3' } | null;
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Protocol upgrades (WebSocket); absent: node:http refuses them. */
  upgradeHandler?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export class EntryPoint {
  readonly name: string;
  readonly secure: boolean;
  readonly server: http.Server;
  readonly #address: ListenAddress;
  /** How long a stop waits for requests under way before closing their connections (Traefik's graceTimeOut). */
  readonly #graceMs: number;
  /** Upgraded (WebSocket) connections: node:http no longer counts them, but a stop must end them too. */
  readonly #upgraded = new Set<Duplex>();

  constructor(options: EntryPointOptions) {
    this.name = options.name;
    this.secure = options.tls !== null;
    this.#address = parseAddress(options.config.address);
    const timeouts = options.config.transport?.respondingTimeouts;
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: options.config.http?.maxHeaderBytes ?? 16 * 1024,
      requestTimeout: timeouts?.readTimeout !== undefined ? parseDuration(timeouts.readTimeout) : 60_000,
      keepAliveTimeout: timeouts?.idleTimeout !== undefined ? parseDuration(timeouts.idleTimeout) : 180_000,
      requireHostHeader: false,
    };
    if (options.tls !== null) {
      const { sniContext, minVersion } = options.tls;
      this.server = https.createServer({
        ...serverOptions,
        minVersion,
        SNICallback: (serverName, callback) => {
          const context = sniContext(serverName);
          if (context) callback(null, context);
          else callback(new Error(`no certificate for ${serverName}`));
        },
      }, options.handler);
    } else {
      this.server = http.createServer(serverOptions, options.handler);
    }
    this.server.on('clientError', answerMalformedRequest);
    if (options.upgradeHandler) this.server.on('upgrade', options.upgradeHandler);
    const maxRequests = options.config.transport?.keepAliveMaxRequests;
    if (maxRequests !== undefined && maxRequests > 0) this.server.maxRequestsPerSocket = maxRequests;
    const grace = options.config.transport?.lifeCycle?.graceTimeOut;
    this.#graceMs = grace === undefined ? 10_000 : parseDuration(grace);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error & { code?: string }) => {
        const where = `${this.#address.host ?? '*'}:${this.#address.port}`;
        reject(new Error(error.code === 'EADDRINUSE' ? `entrypoint ${this.name}: address ${where} is already in use` : `entrypoint ${this.name}: cannot listen on ${where}: ${error.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.#address.port, this.#address.host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  trackUpgraded(socket: Duplex): void {
    this.#upgraded.add(socket);
    socket.once('close', () => this.#upgraded.delete(socket));
  }

  /** Stops accepting, lets requests and WebSockets under way finish for up to graceTimeOut, then closes them. */
  async close(): Promise<void> {
    const upgradesDone = Promise.all([...this.#upgraded].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
    const force = setTimeout(() => {
      this.server.closeAllConnections();
      for (const socket of this.#upgraded) socket.destroy();
    }, this.#graceMs);
    force.unref();
    const serverClosed = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    await Promise.all([serverClosed, upgradesDone]);
    clearTimeout(force);
  }
}

/** node:http found the request line or headers malformed: answer once, then close. */
function answerMalformedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = tooLarge ? 431 : timedOut ? 408 : 400;
  const title = tooLarge ? 'Request header fields too large' : timedOut ? 'Request timeout' : 'Malformed request';
  const detail = tooLarge ? 'the request line and headers exceed the size limit' : timedOut ? 'the request was not received in time' : `the request could not be parsed (${error.code ?? 'parse error'})`;
  const body = JSON.stringify(problem(tooLarge ? 'headers-too-large' : timedOut ? 'request-timeout' : 'malformed-request', title, status, detail));
  socket.end(`HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
