// One upstream server as the API shows it: Traefik's `UP`/`DOWN` plus Stampgate's detail of why.
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import { wallTime, type Clock } from './clock.ts';

export type ServerStatus = 'UP' | 'DOWN';

export interface ServerView {
  url: string;
  weight: number;
  /** DOWN while the active check fails it or passive health has ejected it (Traefik's serverStatus). */
  status: ServerStatus;
  health: {
    /** The active health check's verdict; true when the service has no active check. */
    healthy: boolean;
    /** Passively ejected (too many failures) at this moment. */
    ejected: boolean;
    /** When the passive ejection ends; null when not ejected. */
    ejectedUntil: string | null;
    /** Requests sent to this server and not answered yet. */
    inFlight: number;
  };
}

export function serverStatus(server: UpstreamServer, clock: Clock): ServerStatus {
  return server.healthy && server.ejectedUntil <= clock.monotonic ? 'UP' : 'DOWN';
}

export function serverView(server: UpstreamServer, clock: Clock): ServerView {
  const ejected = server.ejectedUntil > clock.monotonic;
  return {
    url: displayUrl(server.url),
    weight: server.weight,
    status: serverStatus(server, clock),
    health: { healthy: server.healthy, ejected, ejectedUntil: ejected ? wallTime(clock, server.ejectedUntil) : null, inFlight: server.inFlight },
  };
}

/** Traefik's `serverStatus` map: URL → UP/DOWN. */
export function serverStatusMap(servers: readonly ServerView[]): Record<string, ServerStatus> {
  const map: Record<string, ServerStatus> = {};
  for (const s of servers) map[s.url] = s.status;
  return map;
}

/** A password in a server URL stays out of the API. */
export function displayUrl(url: string): string {
  if (!url.includes('@')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}
