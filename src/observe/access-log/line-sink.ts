// Where access-log lines go: sonic-boom (pino's asynchronous destination; `sync: false`, buffer
// mode; version 5, whose flushSync keeps buffer mode's queues paired) on stdout or a file, behind a
// small batcher.
//
// Each line is encoded into a shared byte slab as soon as it is written, and slices of the slab are
// handed to the destination once per event-loop turn (setImmediate), or every `bufferingSize` lines
// (Traefik's option) with a 1 s timer for quiet times. Why at once: a line is a rope of some thirty
// string pieces, still in the CPU cache when it is made. Keeping the strings and joining them a
// hundred lines later, as this sink first did, then sonic-boom measuring and encoding the joined
// text in its string mode, cost 0.7-1.0 µs a line under the benchmark's chain (perf: flattening
// pieces gone cold, Buffer.byteLength); encoding at once costs ~0.15 µs. Logging never blocks the
// request path; when the destination falls more than `maxBufferedBytes` behind, sonic-boom drops
// lines (counted in `dropped`) rather than letting memory grow.
import { writeSync } from 'node:fs';
import sonicBoom from 'sonic-boom';

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
  /**
   * How far the destination may fall behind before lines are dropped (default 64 MiB), in bytes of
   * lines; the slabs holding them can take more (a slab of 64 KiB stays until its last line is written).
   */
  maxBufferedBytes?: number;
}

// A CommonJS module: its export is the class, which also carries itself as `SonicBoom`.
const { SonicBoom } = sonicBoom;
/** sonic-boom sets `fd` (-1 until the file is open); its types leave it out. */
type Destination = InstanceType<typeof SonicBoom> & { readonly fd: number };

const QUIET_FLUSH_MS = 1000;
/**
 * Size of a slab lines are encoded into. A line is given room for 3 bytes per UTF-16 unit (UTF-8's
 * worst case), so one of more than 21,845 units gets a buffer of its own.
 */
const SLAB_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

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
  /** The slab lines are encoded into: bytes before #start are handed over, #start..#used are pending. */
  #slab: Buffer | null = null;
  #start = 0;
  #used = 0;
  /** Lines pending (for bufferingSize). */
  #pending = 0;
  #scheduled = false;
  #timer: NodeJS.Timeout | null = null;
  /** close() was called: lines are no longer taken. */
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Lines the destination refused because it was too far behind. */
  dropped = 0;
  readonly #drain = (): void => {
    this.#scheduled = false;
    this.#handOver();
  };

  constructor(options: DestinationOptions) {
    this.#bufferingSize = options.bufferingSize ?? 0;
    this.#toFile = options.filePath !== null;
    this.#destination = new SonicBoom({
      dest: options.filePath ?? 1,
      sync: false,
      // 1, not 0: the same writes (every chunk is longer), but flush(cb) then waits for the data to
      // be written instead of calling back at once.
      minLength: 1,
      mkdir: options.filePath !== null,
      maxLength: options.maxBufferedBytes ?? 64 * 1024 * 1024,
      contentMode: 'buffer',
    }) as Destination;
    this.#destination.on('drop', (data: Buffer) => {
      for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) this.dropped++;
    });
    // A broken stdout pipe must not crash the gateway.
    this.#destination.on('error', () => {});
    trackOpen(this);
  }

  write(line: string): void {
    if (this.#closed) return;
    this.#encode(line);
    this.#pending++;
    if (this.#bufferingSize > 0) {
      if (this.#pending >= this.#bufferingSize) this.#handOver();
      else if (this.#timer === null) this.#timer = setTimeout(this.#drain, QUIET_FLUSH_MS).unref();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  /** Appends the line's UTF-8 bytes to the slab (a fresh slab when it has no room left). */
  #encode(line: string): void {
    const maxBytes = line.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
    let slab = this.#slab;
    if (slab === null || this.#used + maxBytes > slab.length) {
      this.#handOverSlice();
      if (maxBytes > SLAB_BYTES) {
        this.#destination.write(Buffer.from(line, 'utf8') as unknown as string); // buffer mode (see #handOverSlice)
        return;
      }
      // Handed-over slices still point into the old slab until they are written: never reused.
      slab = this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#start = this.#used = 0;
    }
    this.#used += slab.write(line, this.#used, 'utf8');
  }

  #handOver(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#pending = 0;
    this.#handOverSlice();
  }

  #handOverSlice(): void {
    if (this.#used === this.#start) return;
    const slice = this.#slab!.subarray(this.#start, this.#used);
    this.#start = this.#used;
    this.#destination.write(slice as unknown as string); // buffer mode: write takes bytes (the type says string)
  }

  /**
   * Process exit: writes what the destination holds, then the pending lines, synchronously (an
   * asynchronous write started now would not be waited for). A write the destination had in flight
   * finishes on its own, possibly after these bytes.
   */
  flushSync(): void {
    const pending = this.#used === this.#start ? null : this.#slab!.subarray(this.#start, this.#used);
    this.#start = this.#used;
    try {
      if (this.#destination.fd < 0) return; // the file never opened: nothing can be written
      this.#destination.flushSync();
      for (let written = 0; pending !== null && written < pending.length; ) written += writeSync(this.#destination.fd, pending, written);
    } catch {
      // Exiting anyway; a destination that cannot take the last lines has nothing better to do.
    }
  }

  flush(): Promise<void> {
    this.#handOver();
    // The callback's error is fsync's, which a pipe or terminal refuses; the data is written either way.
    return new Promise((resolve) => this.#destination.flush(() => resolve()));
  }

  /** Writes what is pending and releases the destination; lines written from now on are ignored. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    openSinks.delete(this);
    if (this.#toFile) await new Promise<void>((resolve) => {
      this.#destination.once('close', () => resolve());
      this.#destination.end();
    });
  }
}
