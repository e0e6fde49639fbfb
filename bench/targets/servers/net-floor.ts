// The floor under every Node.js proxy: net sockets and nothing else. It reads a request head,
// writes it (and a Content-Length body) to a keep-alive upstream connection, and copies the answer
// back, framed by its Content-Length. It is not an HTTP proxy (no chunked bodies, no error
// handling, no header hygiene): it measures what the four socket calls of a proxied request cost in
// Node.js, so that `net-floor` in the table says how much room any real proxy has left.
import net from 'node:net';
import { announce, listenPort, upstreamUrl } from './common.ts';

const upstream = new URL(upstreamUrl());
const HEAD_END = Buffer.from('\r\n\r\n');
const idle: UpstreamLink[] = [];

class UpstreamLink {
  readonly socket: net.Socket;
  client: ClientLink | null = null;
  #pending: Buffer | null = null;
  #remaining = -1;

  constructor() {
    this.socket = net.connect(Number(upstream.port), upstream.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (data) => this.#read(data));
    this.socket.on('error', () => this.socket.destroy());
    // The upstream closes idle connections (NGINX after 75 s, longer than the gaps between rounds).
    this.socket.on('close', () => {
      const at = idle.indexOf(this);
      if (at >= 0) idle.splice(at, 1);
      this.client?.socket.destroy();
    });
  }

  #read(data: Buffer): void {
    const client = this.client!;
    if (this.#remaining < 0) {
      const bytes = this.#pending === null ? data : Buffer.concat([this.#pending, data]);
      const end = bytes.indexOf(HEAD_END);
      if (end < 0) {
        this.#pending = bytes;
        return;
      }
      this.#pending = null;
      const head = bytes.toString('latin1', 0, end);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.#remaining = (length === null ? 0 : Number(length[1])) - (bytes.length - end - 4);
      client.socket.write(bytes);
    } else {
      this.#remaining -= data.length;
      client.socket.write(data);
    }
    if (this.#remaining <= 0) {
      this.#remaining = -1;
      this.client = null;
      idle.push(this);
      client.next();
    }
  }
}

class ClientLink {
  readonly socket: net.Socket;
  #pending: Buffer | null = null;
  #busy = false;
  /** The upstream link a request body is still being copied to, and how much of it is left. */
  #bodyTo: UpstreamLink | null = null;
  #bodyRemaining = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (data) => {
      const rest = this.#copyBody(data);
      if (rest === null) return;
      this.#pending = this.#pending === null ? rest : Buffer.concat([this.#pending, rest]);
      if (!this.#busy) this.next();
    });
    socket.on('error', () => socket.destroy());
  }

  /** Copies request body bytes upstream; returns what follows the body (null: nothing). */
  #copyBody(data: Buffer): Buffer | null {
    if (this.#bodyTo === null) return data;
    const take = Math.min(this.#bodyRemaining, data.length);
    this.#bodyTo.socket.write(take === data.length ? data : data.subarray(0, take));
    this.#bodyRemaining -= take;
    if (this.#bodyRemaining === 0) this.#bodyTo = null;
    return take === data.length ? null : data.subarray(take);
  }

  /** Sends the next complete request head upstream, if one has arrived. */
  next(): void {
    this.#busy = false;
    const bytes = this.#pending;
    if (bytes === null) return;
    const end = bytes.indexOf(HEAD_END);
    if (end < 0) return;
    this.#busy = true;
    const link = idle.pop() ?? new UpstreamLink();
    link.client = this;
    link.socket.write(bytes.subarray(0, end + 4));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.toString('latin1', 0, end));
    this.#bodyRemaining = length === null ? 0 : Number(length[1]);
    this.#bodyTo = this.#bodyRemaining > 0 ? link : null;
    this.#pending = end + 4 === bytes.length ? null : this.#copyBody(bytes.subarray(end + 4));
  }
}

const server = net.createServer((socket) => new ClientLink(socket));
server.listen(listenPort(), '127.0.0.1', () => announce(server.address()));
