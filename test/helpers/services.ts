// Integration tests talk to the machine's real PostgreSQL and Redis. When one is absent the test is
// reported as skipped, except under STAMPGATE_REQUIRE_SERVICES=1 (CI), where absence is a failure.
import net from 'node:net';

export const testPostgresUrl = process.env.STAMPGATE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.STAMPGATE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Returns false (and the test should skip) when the service does not answer; throws instead when
 * STAMPGATE_REQUIRE_SERVICES=1, so CI cannot pass by skipping.
 */
export async function serviceAvailable(name: 'postgres' | 'redis'): Promise<boolean> {
  const url = name === 'postgres' ? testPostgresUrl : testRedisUrl;
  if (await canConnect(url)) return true;
  if (process.env.STAMPGATE_REQUIRE_SERVICES === '1') {
    throw new Error(`${name} is required (STAMPGATE_REQUIRE_SERVICES=1) but does not answer at ${url}`);
  }
  return false;
}
