// The process driver gives each stamp its own port. It checks that a port is really free by
// binding it for a moment, rather than trusting a computed number.
import net from 'node:net';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** The first free port at or after `from` that is not in `taken`; throws when none is left below `to`. */
export async function findFreePort(from: number, taken: ReadonlySet<number>, to = 65535, host = '127.0.0.1'): Promise<number> {
  for (let port = from; port <= to; port++) {
    if (!taken.has(port) && (await isPortFree(port, host))) return port;
  }
  throw new Error(`no free port between ${from} and ${to}`);
}
