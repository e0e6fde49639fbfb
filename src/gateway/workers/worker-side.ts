// The worker side of `--workers N`: tells the primary when it listens, reports its /stampsz counts
// when asked, and gets the sum over all workers for its own /stampsz answers.
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.ts';
import type { StampRequestCounters, StampszBody } from '../../observe/stamp-request-counters.ts';

export class WorkerSide {
  #next = 1;
  readonly #waiting = new Map<number, (body: StampszBody) => void>();

  constructor(counters: StampRequestCounters, onReload: () => void) {
    process.on('message', (message: unknown) => {
      if (!isMessage<PrimaryMessage>(message)) return;
      if (message.type === 'stampgate:stampsz-collect') send({ type: 'stampgate:stampsz-report', id: message.id, body: counters.snapshot() });
      else if (message.type === 'stampgate:stampsz-total') {
        this.#waiting.get(message.id)?.(message.body);
        this.#waiting.delete(message.id);
      } else if (message.type === 'stampgate:reload') onReload();
    });
  }

  listening(): void {
    send({ type: 'stampgate:listening' });
  }

  /** /stampsz over every worker; this worker's own counts alone if the primary does not answer in time. */
  totalStampsz(fallback: () => StampszBody): Promise<StampszBody> {
    const id = this.#next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(fallback());
      }, 1000);
      this.#waiting.set(id, (body) => {
        clearTimeout(timer);
        resolve(body);
      });
      send({ type: 'stampgate:stampsz-request', id });
    });
  }
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}
