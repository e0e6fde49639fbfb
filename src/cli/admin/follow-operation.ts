// Follows a long operation (a deployment, a teardown) to its end: from its server-sent events
// (GET /api/v1/operations/{id}/events: `step` events, then `finished`), or — on a control plane
// without the stream — by reading GET /api/v1/operations/{id} every half second and deriving the
// same events from its recorded steps. Either way each step change is one line, formatted by the
// control plane's own `formatProgressEvent`, so the CLI, the API and its docs tell one story.
import { setTimeout as sleep } from 'node:timers/promises';
import { formatProgressEvent, progressEvents, type ProgressEvent } from '../../control/deploy/progress.ts';
import { parseStepRecords, type StepRecord } from '../../control/deploy/saga.ts';
import type { OperationRecord } from '../../control/store/catalog.ts';
import { ApiError, type AdminClient, type OperationView } from './admin-client.ts';

export interface FollowOptions {
  /** Called with one line per step change (`  ✓ allocate (port 9001)`). */
  onLine?: (line: string) => void;
  /** Between two reads when polling (default 500 ms). */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/** Resolves with the operation once it has finished (succeeded, failed or cancelled). */
export async function followOperation(client: AdminClient, id: string, options: FollowOptions = {}): Promise<OperationView> {
  const show = (event: ProgressEvent) => {
    if (event.type === 'step') options.onLine?.(formatProgressEvent(event));
  };
  try {
    for await (const message of client.events(`/api/v1/operations/${encodeURIComponent(id)}/events`, options.signal)) {
      const event = progressEventOf(message.data);
      if (event === undefined) continue;
      show(event);
      if (event.type === 'finished') return await client.getOperation(id);
    }
  } catch (error) {
    // No event stream on this control plane (its route is missing): poll instead.
    if (!(error instanceof ApiError) || !(error.code === 'not-found' || [405, 406, 501].includes(error.status))) throw error;
  }
  // The stream ended early (or never began): poll, showing what changed since the last read.
  let seen: StepRecord[] | undefined;
  for (;;) {
    const operation = await client.getOperation(id);
    for (const event of progressEvents(seen, operation as OperationRecord)) show(event);
    if (operation.state !== 'running') return operation;
    seen = parseStepRecords(operation.steps);
    await sleep(options.pollIntervalMs ?? 500, undefined, { signal: options.signal });
  }
}

function progressEventOf(data: string): ProgressEvent | undefined {
  try {
    const parsed = JSON.parse(data) as Partial<ProgressEvent>;
    return parsed.type === 'step' || parsed.type === 'finished' ? (parsed as ProgressEvent) : undefined;
  } catch {
    return undefined;
  }
}
