// What the primary process and the gateway workers say to each other over the cluster IPC channel.
import type { StampszBody } from '../../observe/stamp-request-counters.ts';

export type WorkerMessage =
  | { type: 'stampgate:listening' }
  | { type: 'stampgate:stampsz-request'; id: number }
  | { type: 'stampgate:stampsz-report'; id: number; body: StampszBody };

export type PrimaryMessage =
  | { type: 'stampgate:stampsz-collect'; id: number }
  | { type: 'stampgate:stampsz-total'; id: number; body: StampszBody }
  | { type: 'stampgate:reload' };

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('stampgate:');
}

/** Adds up the /stampsz bodies of several workers, keeping the stamp order of the first. */
export function sumStampsz(bodies: readonly StampszBody[]): StampszBody {
  const byStamp: Record<string, number> = {};
  const ids: string[] = [];
  let total = 0;
  for (const body of bodies) {
    for (const id of body.stamp_ids) {
      if (!(id in byStamp)) {
        byStamp[id] = 0;
        ids.push(id);
      }
      byStamp[id]! += body.by_stamp[id] ?? 0;
    }
    total += body.total_requests;
  }
  return { total_requests: total, by_stamp: byStamp, stamp_ids: ids };
}
