// Health changes are told to listeners (logs, metrics). A listener that throws must neither stop
// the probes nor break a request: its error becomes a process warning.
import type { EventEmitter } from 'node:events';
import type { UpstreamServer } from '../balancer/upstream-server.ts';

export function announceChange(emitter: EventEmitter<{ change: [server: UpstreamServer, healthy: boolean, reason: string] }>, server: UpstreamServer, healthy: boolean, reason: string): void {
  try {
    emitter.emit('change', server, healthy, reason);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`a health 'change' listener threw: ${message}`, {
      code: 'STAMPGATE_HEALTH_LISTENER',
      detail: error instanceof Error ? error.stack : undefined,
    });
  }
}
