// One stamp of a stamps service with its servers' state: shared by /api/http/services (the
// service's detail) and /api/stamps (every stamp, with its request count).
import type { StampRuntime, StampsService } from '../services/stamps-service.ts';
import type { Clock } from './clock.ts';
import { serverView, type ServerView } from './server-view.ts';

export interface StampView {
  id: string;
  aliases: string[];
  /** The stamp a request without a stamp or tenant key goes to. */
  default: boolean;
  /** A draining stamp answers 503 to requests that name it. */
  draining: boolean;
  /** Not draining and at least one server UP. */
  available: boolean;
  readyPath: string;
  servers: ServerView[];
}

export function stampView(service: StampsService, stamp: StampRuntime, clock: Clock): StampView {
  const servers = stamp.service.servers().map((s) => serverView(s, clock));
  return {
    id: stamp.id,
    aliases: [...stamp.aliases],
    default: stamp === service.defaultStamp,
    draining: stamp.draining,
    available: !stamp.draining && servers.some((s) => s.status === 'UP' && s.weight > 0),
    readyPath: stamp.readyPath,
    servers,
  };
}
