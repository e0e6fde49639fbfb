// Decodes a chunked request body (RFC 9112 §7.1) as its bytes arrive, in any split. Chunk
// extensions are skipped, trailers are read and dropped. Malformed framing throws: the connection
// can no longer tell where the next request starts, so it must close.

const SIZE_LINE = 0; // reading the chunk-size line
const DATA = 1; // inside chunk data
const DATA_CRLF = 2; // the CRLF after chunk data
const TRAILERS = 3; // after the last chunk: trailer lines until an empty one
const DONE = 4;

/** Longest chunk-size line or trailer section kept while waiting for its end. */
const MAX_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;

export class ChunkedBodyError extends Error {}

export class ChunkedDecoder {
  #state = SIZE_LINE;
  #remaining = 0;
  /** The partial line (size line, CRLF, or trailers) carried between reads. */
  #line = '';
  #trailerBytes = 0;

  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Reads from `buf` at `start`, handing chunk data to `onData` (slices of `buf`, not copies).
   * Returns the index just after the body when it ended in this buffer, else -1.
   */
  feed(buf: Buffer, start: number, onData: (data: Buffer) => void): number {
    let i = start;
    const length = buf.length;
    while (i < length) {
      switch (this.#state) {
        case DATA: {
          const take = Math.min(this.#remaining, length - i);
          onData(buf.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = DATA_CRLF;
          break;
        }
        case SIZE_LINE:
        case DATA_CRLF:
        case TRAILERS: {
          const lf = buf.indexOf(0x0a, i);
          const end = lf < 0 ? length : lf + 1;
          this.#line += buf.toString('latin1', i, end);
          i = end;
          if (this.#line.length > MAX_LINE) throw new ChunkedBodyError('a chunk-size line is too long');
          if (lf < 0) break;
          const line = this.#line;
          this.#line = '';
          if (line.length < 2 || line.charCodeAt(line.length - 2) !== 0x0d) throw new ChunkedBodyError('chunk framing lines must end with CRLF');
          this.#line = '';
          this.#takeLine(line.slice(0, -2));
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
      this.#trailerBytes += line.length;
      if (this.#trailerBytes > MAX_TRAILERS) throw new ChunkedBodyError('the trailer section is too large');
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
