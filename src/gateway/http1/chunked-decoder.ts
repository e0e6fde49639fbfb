// Decodes a chunked body (RFC 9112 §7.1) as its bytes arrive, in any split: request bodies from
// clients (strict: every line ends with CRLF) and response bodies from upstream servers (bare LF
// tolerated, as browsers and proxies do). Chunk extensions are skipped, trailers are read and
// dropped. Malformed framing throws: the connection can no longer tell where the next message
// starts, so it must close.

const SIZE_LINE = 0; // reading the chunk-size line
const DATA = 1; // inside chunk data
const DATA_CRLF = 2; // the CRLF after chunk data
const TRAILERS = 3; // after the last chunk: trailer lines until an empty one
const DONE = 4;

/** Longest chunk-size line kept while waiting for its end. */
const MAX_LINE = 4096;

/** What feed() returns when `onData` asked it to stop. */
export const STOPPED = -2;

export interface ChunkedDecoderOptions {
  /** Accept lines that end with LF alone (response bodies from upstreams); default false. */
  bareLf?: boolean;
  /** Largest trailer section; default 16 KiB. */
  maxTrailerBytes?: number;
}

export class ChunkedBodyError extends Error {}

export class ChunkedDecoder {
  #state = SIZE_LINE;
  #remaining = 0;
  /** The partial line (size line, CRLF, or trailers) carried between reads. */
  #line = '';
  #trailerBytes = 0;
  readonly #bareLf: boolean;
  readonly #maxTrailerBytes: number;

  constructor(options: ChunkedDecoderOptions = {}) {
    this.#bareLf = options.bareLf ?? false;
    this.#maxTrailerBytes = options.maxTrailerBytes ?? 16 * 1024;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Reads from `buf` at `start`, handing chunk data to `onData` (slices of `buf`, not copies);
   * `onData` returning false stops the reading (the exchange it fed has ended). Returns the index
   * just after the body when it ended in this buffer, STOPPED, else -1.
   */
  feed(buf: Buffer, start: number, onData: (data: Buffer) => unknown): number {
    let i = start;
    const length = buf.length;
    while (i < length) {
      switch (this.#state) {
        case DATA: {
          const take = Math.min(this.#remaining, length - i);
          const data = buf.subarray(i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = DATA_CRLF;
          if (onData(data) === false) return STOPPED;
          break;
        }
        case SIZE_LINE:
        case DATA_CRLF:
        case TRAILERS: {
          const lf = buf.indexOf(0x0a, i);
          const end = lf < 0 ? length : lf + 1;
          this.#line += buf.toString('latin1', i, end);
          i = end;
          if (this.#state === TRAILERS ? this.#trailerBytes + this.#line.length > this.#maxTrailerBytes : this.#line.length > MAX_LINE) {
            throw new ChunkedBodyError(this.#state === TRAILERS ? 'the trailer section is too large' : 'a chunk-size line is too long');
          }
          if (lf < 0) break;
          const line = this.#line;
          this.#line = '';
          const crlf = line.length >= 2 && line.charCodeAt(line.length - 2) === 0x0d;
          if (!crlf && !this.#bareLf) throw new ChunkedBodyError('chunk framing lines must end with CRLF');
          this.#takeLine(line.slice(0, crlf ? -2 : -1));
          if ((this.#state as number) === DONE) return i;
          break;
        }
        default:
          return i;
      }
    }
    return this.#state === DONE ? i : -1;
  }

  #takeLine(line: string): void {
    if (this.#state === DATA_CRLF) {
      if (line !== '') throw new ChunkedBodyError('chunk data is longer than its declared size');
      this.#state = SIZE_LINE;
      return;
    }
    if (this.#state === TRAILERS) {
      if (line === '') {
        this.#state = DONE;
        return;
      }
      // Counted for feed(), which checks the limit (this line and its terminator included) before this runs.
      this.#trailerBytes += line.length;
      return;
    }
    const semicolon = line.indexOf(';');
    const size = (semicolon < 0 ? line : line.slice(0, semicolon)).trimEnd();
    if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new ChunkedBodyError(`invalid chunk size ${JSON.stringify(size.slice(0, 20))}`);
    const n = parseInt(size, 16);
    if (n === 0) {
      this.#state = TRAILERS;
      return;
    }
    this.#remaining = n;
    this.#state = DATA;
  }
}
