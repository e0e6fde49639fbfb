// Where access-log lines go: pino's asynchronous destination (sonic-boom, `sync: false`) on stdout
// or a file, behind a small batcher.
//
// Why the batcher: sonic-boom 4.2's write() measures the byte length of its whole pending buffer on
// every call (Buffer.byteLength of up to 16 KiB), ~2 µs a line when lines arrive faster than the
// disk takes them. Lines are collected in an array instead and handed over joined, once per
// event-loop turn (setImmediate), or every `bufferingSize` lines (Traefik's option) with a 1 s timer
// for quiet times: ~30-70 ns a line. Logging never blocks the request path; when the destination
// falls more than `maxBufferedBytes` behind, sonic-boom drops lines (counted in `dropped`) rather
// than letting memory grow.
import pino from 'pino';

export interface LineSink {
  write(line: string): void;
  /** Hands over pending lines and waits until they are written. */
  flush(): Promise<void>;
  /** Flushes and releases the destination. */
  close(): Promise<void>;
}

export interface DestinationOptions {
  /** A file path (appended to, directories created); stdout when null. */
  filePath: string | null;
  /** Lines held before a write; 0: write once per event-loop turn. */
  bufferingSize?: number;
  /** How far the destination may fall behind before lines are dropped (default 64 MiB). */
  maxBufferedBytes?: number;
}

type Destination = ReturnType<typeof pino.destination>;

const QUIET_FLUSH_MS = 1000;

// Sinks still open when the process exits get their pending lines written synchronously; one
// 'exit' listener for all of them.
const openSinks = new Set<BatchingSink>();
let exitHookInstalled = false;

function trackOpen(sink: BatchingSink): void {
  openSinks.add(sink);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const open of openSinks) open.flushSync();
  });
}

export class BatchingSink implements LineSink {
  readonly #destination: Destination;
  readonly #bufferingSize: number;
  readonly #toFile: boolean;
  #lines: string[] = [];
  #scheduled = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Lines the destination refused because it was too far behind. */
  dropped = 0;
  readonly #drain = (): void => {
    this.#scheduled = false;
    this.#handOver();
  };

  constructor(options: DestinationOptions) {
    this.#bufferingSize = options.bufferingSize ?? 0;
    this.#toFile = options.filePath !== null;
    this.#destination = pino.destination({
      dest: options.filePath ?? 1,
      sync: false,
      // 1, not 0: the same writes (every chunk is longer), but flush(cb) then waits for the data to
      // be written instead of calling back at once.
      minLength: 1,
      mkdir: options.filePath !== null,
      maxLength: options.maxBufferedBytes ?? 64 * 1024 * 1024,
    });
    this.#destination.on('drop', (data: string) => {
      for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) this.dropped++;
    });
    // A broken stdout pipe must not crash the gateway.
    this.#destination.on('error', () => {});
    trackOpen(this);
  }

  write(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    if (this.#bufferingSize > 0) {
      if (this.#lines.length >= this.#bufferingSize) this.#handOver();
      else if (this.#timer === null) this.#timer = setTimeout(this.#drain, QUIET_FLUSH_MS).unref();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  #handOver(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#lines.length === 0) return;
    const chunk = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join('');
    this.#lines = [];
    this.#destination.write(chunk);
  }

  /** Writes pending lines synchronously (process exit). */
  flushSync(): void {
    this.#handOver();
    try {
      this.#destination.flushSync();
    } catch {
      // Exiting anyway; a destination that cannot take the last lines has nothing better to do.
    }
  }

  flush(): Promise<void> {
    this.#handOver();
    // The callback's error is fsync's, which a pipe or terminal refuses; the data is written either way.
    return new Promise((resolve) => this.#destination.flush(() => resolve()));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    openSinks.delete(this);
    if (this.#toFile) await new Promise<void>((resolve) => {
      this.#destination.once('close', () => resolve());
      this.#destination.end();
    });
  }
}
