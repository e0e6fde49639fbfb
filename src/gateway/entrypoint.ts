// One listener of the gateway (Traefik's entrypoint): plain HTTP or TLS with SNI, its timeouts,
// header size limit and optional redirection to another entrypoint. Malformed requests are answered
// by the HTTP/1.1 server (http1/) and never reach a router.
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { parseDuration } from '../config/duration.ts';
import type { EntryPointConfig } from '../config/schema/static.ts';
import { Http1Server } from './http1/http1-server.ts';
import type { Http1Request } from './http1/server-request.ts';
import type { Http1Response } from './http1/server-response.ts';

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
  handler: (req: Http1Request, res: Http1Response) => void;
  /** Protocol upgrades (WebSocket): `res` answers a refusal; absent: they are handled as ordinary requests. */
  upgradeHandler?: (req: Http1Request, res: Http1Response, socket: Socket, head: Buffer) => void;
}

export class EntryPoint {
  readonly name: string;
  readonly secure: boolean;
  readonly server: Http1Server;
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
    const maxRequests = options.config.transport?.keepAliveMaxRequests;
    const tls = options.tls;
    this.server = new Http1Server({
      maxHeaderBytes: options.config.http?.maxHeaderBytes ?? 16 * 1024,
      requestTimeoutMs: timeouts?.readTimeout !== undefined ? parseDuration(timeouts.readTimeout) : 60_000,
      keepAliveTimeoutMs: timeouts?.idleTimeout !== undefined ? parseDuration(timeouts.idleTimeout) : 180_000,
      maxRequestsPerSocket: maxRequests !== undefined && maxRequests > 0 ? maxRequests : 0,
      tls:
        tls === null
          ? null
          : {
              minVersion: tls.minVersion,
              SNICallback: (serverName, callback) => {
                const context = tls.sniContext(serverName);
                if (context) callback(null, context);
                else callback(new Error(`no certificate for ${serverName}`));
              },
            },
      onRequest: options.handler,
      onUpgrade: options.upgradeHandler ?? null,
    });
    const grace = options.config.transport?.lifeCycle?.graceTimeOut;
    this.#graceMs = grace === undefined ? 10_000 : parseDuration(grace);
  }

  async listen(): Promise<AddressInfo> {
    try {
      await this.server.listen(this.#address.port, this.#address.host);
    } catch (thrown) {
      const error = thrown as Error & { code?: string };
      const where = `${this.#address.host ?? '*'}:${this.#address.port}`;
      throw new Error(error.code === 'EADDRINUSE' ? `entrypoint ${this.name}: address ${where} is already in use` : `entrypoint ${this.name}: cannot listen on ${where}: ${error.message}`, { cause: thrown });
    }
    return this.address();
  }

  address(): AddressInfo {
    return this.server.listener.address() as AddressInfo;
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
    const serverClosed = this.server.close();
    await Promise.all([serverClosed, upgradesDone]);
    clearTimeout(force);
  }
}
