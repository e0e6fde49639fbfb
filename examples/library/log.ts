// A line logger: every line starts with `[STAMP:<id>] `, as in the seed, so that the output of
// several stamps interleaved by a supervisor (or `docker compose logs`) still says whose line it is.
// Plain text rather than pino JSON because the supervisor and people read these lines directly.

export type LogLevel = 'info' | 'warn' | 'error';

/** Receives one finished line (prefix included, no newline). */
export type LineSink = (line: string, level: LogLevel) => void;

export interface LineLogger {
  readonly stampId: string;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

// Information goes to stdout, problems to stderr; on Linux both are synchronous for files and
// pipes, so a line written just before process.exit() is not lost.
export const stdioSink: LineSink = (line, level) => {
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
};

const levelTag: Record<LogLevel, string> = { info: '', warn: 'warning: ', error: 'error: ' };

export function createLineLogger(stampId: string, sink: LineSink = stdioSink): LineLogger {
  const prefix = `[STAMP:${stampId}] `;
  const write = (level: LogLevel, message: string) => {
    // A multi-line message (a stack trace) becomes several lines, each with the prefix.
    for (const part of message.split(/\r?\n/)) sink(`${prefix}${levelTag[level]}${part}`, level);
  };
  return {
    stampId,
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
  };
}

/** A safe label for the prefix when STAMP_ID itself is invalid (startup errors still need a prefix). */
export function stampLabel(rawId: string | undefined): string {
  const id = rawId?.trim() ?? '';
  return id === '' ? 'default' : id.replace(/[^\w.-]/g, '?').slice(0, 64);
}
