// Live updates by server-sent events (GET /dashboard/api/events). Why SSE rather than polling: the
// data is built once per tick and the same bytes go to every open page (the cost does not grow with
// viewers), a change (a stamp killed, a tenant placed) reaches pages at once instead of at the next
// poll, and EventSource reconnects by itself after a restart or a network blip. One tick a second
// while any page is open; nothing runs while none is.
//
// Events: `overview` every tick (stamps, health, traffic), `routing` and `operations` when they
// change (and once on connecting), `signed-out` before the stream ends with its session.
import type { ServerResponse } from 'node:http';

export interface FeedTopic {
  name: string;
  /** The event's data (JSON text), or null when there is nothing to send. */
  build(): Promise<string | null>;
  /** Sent every tick even when unchanged. */
  always?: boolean;
}

interface Client {
  sessionId: string;
  res: ServerResponse;
}

export class LiveFeed {
  readonly #topics: readonly FeedTopic[];
  readonly #intervalMs: number;
  readonly #clients = new Set<Client>();
  readonly #last = new Map<string, string>();
  readonly #log: (line: string) => void;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #soon: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(topics: readonly FeedTopic[], options: { intervalMs?: number; log?: (line: string) => void } = {}) {
    this.#topics = topics;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#log = options.log ?? (() => {});
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Streams to `res` until the client leaves, its session ends or the feed closes. */
  add(sessionId: string, res: ServerResponse): void {
    if (this.#closed) {
      res.writeHead(503, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('shutting down');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    // Reconnect after 2 s when the stream breaks (EventSource's default is 3 s).
    res.write('retry: 2000\n\n');
    const client: Client = { sessionId, res };
    this.#clients.add(client);
    res.on('close', () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stopTimer();
    });
    // A new page gets the latest of each topic at once; a tick refreshes it right after.
    for (const topic of this.#topics) {
      const data = this.#last.get(topic.name);
      if (data !== undefined && !topic.always) write(res, topic.name, data);
    }
    this.poke(0);
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Something changed (the catalog, a readiness result): push within `delayMs` rather than at the next tick. */
  poke(delayMs = 50): void {
    if (this.#clients.size === 0 || this.#soon !== null || this.#closed) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.#tick();
    }, delayMs);
    this.#soon.unref();
  }

  /** Ends the streams of a session (logout, expiry, revoked token). */
  endSession(sessionId: string): void {
    for (const client of [...this.#clients]) {
      if (client.sessionId !== sessionId) continue;
      write(client.res, 'signed-out', '{}');
      client.res.end();
      this.#clients.delete(client);
    }
  }

  /** Ends every stream (the server is closing) and stops ticking. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#soon !== null) clearTimeout(this.#soon);
    this.#timer = this.#soon = null;
  }

  async #tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    if (this.#clients.size === 0 || this.#closed) return;
    this.#running = (async () => {
      try {
        const built = await Promise.all(this.#topics.map(async (topic) => [topic, await topic.build()] as const));
        for (const [topic, data] of built) {
          if (data === null) continue;
          const changed = this.#last.get(topic.name) !== data;
          this.#last.set(topic.name, data);
          if (changed || topic.always) for (const client of this.#clients) write(client.res, topic.name, data);
        }
      } catch (error) {
        this.#log(`dashboard: could not build the live update: ${(error as Error).message}`);
        for (const client of this.#clients) write(client.res, 'problem', JSON.stringify({ detail: 'the dashboard could not read its data; it retries every second' }));
      }
    })();
    await this.#running;
    this.#running = null;
    if (this.#again) {
      this.#again = false;
      await this.#tick();
    }
  }
}

function write(res: ServerResponse, event: string, data: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`event: ${event}\ndata: ${data}\n\n`);
}
