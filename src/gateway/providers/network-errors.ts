// A failed connection in a few words ("connection refused", "host not found"), for the lines people
// read: the gateway's log when the control plane is down, the CLI's error when it cannot reach it.

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stalled',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
};

/** A network failure in a few words: "connection refused", "host not found", … */
export function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  // Errors may wrap their cause (fetch's TypeError, AggregateError of several addresses).
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && networkReasons[code] !== undefined) return networkReasons[code];
    const inner: unknown = current instanceof AggregateError && current.errors.length > 0 ? current.errors[0] : current.cause;
    if (inner === undefined) break;
    current = inner;
  }
  return error instanceof Error ? error.message : String(error);
}
