// The gateway's /readyz: every stamp's own readiness probe asked at once, each with a short
// timeout, folded into the seed's shape. One stamp that hangs cannot make /readyz hang.
import type { UpstreamPool } from '../gateway/http1/upstream-pool.ts';

export interface ReadinessTarget {
  id: string;
  readyPath: string;
  /** One connection pool per server of the stamp: the stamp is ready when any of them is. */
  dispatchers: Pick<UpstreamPool, 'request'>[];
}

export interface StampReadiness {
  status: 'ready' | 'not_ready' | 'down';
  db: string;
  detail?: string;
}

export interface ReadyzBody {
  status: 'ready' | 'degraded';
  stamps: Record<string, StampReadiness>;
}

export async function checkReadiness(targets: readonly ReadinessTarget[], timeoutMs: number): Promise<ReadyzBody> {
  const results = await Promise.all(targets.map((target) => probe(target, timeoutMs)));
  const stamps: Record<string, StampReadiness> = {};
  let allReady = true;
  for (const [i, target] of targets.entries()) {
    const result = results[i]!;
    stamps[target.id] = result;
    if (result.status !== 'ready') allReady = false;
  }
  return { status: allReady ? 'ready' : 'degraded', stamps };
}

async function probe(target: ReadinessTarget, timeoutMs: number): Promise<StampReadiness> {
  const results = await Promise.all(target.dispatchers.map((dispatcher) => probeServer(dispatcher, target.readyPath, timeoutMs)));
  return results.find((r) => r.status === 'ready') ?? results.find((r) => r.status === 'not_ready') ?? results[0] ?? { status: 'down', db: 'unknown', detail: 'the stamp has no server' };
}

async function probeServer(pool: Pick<UpstreamPool, 'request'>, readyPath: string, timeoutMs: number): Promise<StampReadiness> {
  try {
    const response = await pool.request({ path: readyPath, method: 'GET', timeoutMs });
    const text = response.body.toString('utf8');
    const db = dbStatusFrom(text) ?? (response.statusCode === 200 ? 'ok' : 'unknown');
    if (response.statusCode === 200) return { status: 'ready', db };
    return { status: 'not_ready', db, detail: `${readyPath} answered ${response.statusCode}` };
  } catch (error) {
    const code = (error as { code?: string; name?: string }).code ?? (error as Error).name;
    const detail = code === 'ECONNREFUSED' ? 'connection refused' : TIMEOUTS.has(code) ? `no answer within ${timeoutMs} ms` : `${code}: ${(error as Error).message}`;
    return { status: 'down', db: 'unknown', detail };
  }
}

const TIMEOUTS = new Set(['REQUEST_TIMEOUT', 'CONNECT_TIMEOUT', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT']);

function dbStatusFrom(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { db?: unknown };
    return typeof body.db === 'string' ? body.db : undefined;
  } catch {
    return undefined;
  }
}
