// An operation's progress as events: derived from what the store records (its steps JSON), so
// every control plane on the store tells the same story, and a client that connects late or
// reconnects gets the steps so far before the live ones. Served as SSE by the admin API
// (GET /api/v1/operations/{id}/events); `followOperation` and `formatProgressEvent` are the CLI's side.
import type { Catalog, OperationRecord } from '../store/catalog.ts';
import { CatalogError } from '../store/catalog.ts';
import { parseStepRecords, type StepRecord, type StepStatus } from './saga.ts';

export interface StepEvent {
  type: 'step';
  operationId: string;
  stampId: string;
  kind: string;
  index: number;
  step: string;
  status: Exclude<StepStatus, 'pending'>;
  attempt: number;
  /** With `failed`: why. With `compensated`: why the compensation did not work, when it did not. */
  error?: string;
  /** With `done`: what the step made (port, url, pid…). */
  output?: Record<string, unknown>;
}

export interface FinishedEvent {
  type: 'finished';
  operationId: string;
  stampId: string;
  kind: string;
  state: 'succeeded' | 'failed' | 'cancelled';
  error: string | null;
}

export type ProgressEvent = StepEvent | FinishedEvent;

const forward: readonly StepStatus[] = ['pending', 'running', 'done', 'compensating', 'compensated'];
const failing: readonly StepStatus[] = ['pending', 'running', 'failed', 'compensating', 'compensated'];

/**
 * The events that lead from `before` (what a watcher saw last; undefined: nothing) to the
 * operation as it is now. Statuses passed between two reads are filled in (a step seen pending,
 * then done, gives `running` and `done`), so the story does not depend on when the reads happen.
 */
export function progressEvents(before: readonly StepRecord[] | undefined, operation: OperationRecord): ProgressEvent[] {
  const now = parseStepRecords(operation.steps);
  const events: ProgressEvent[] = [];
  const base = { operationId: operation.id, stampId: operation.stampId, kind: operation.kind };
  now.forEach((record, index) => {
    const seen = before?.[index];
    const restarted = seen !== undefined && record.attempts > seen.attempts;
    const from: StepStatus = !seen || restarted ? 'pending' : seen.status;
    const path = record.status === 'failed' || (record.error !== undefined && record.status !== 'done' && record.status !== 'running') ? failing : forward;
    let i = path.indexOf(from);
    const to = path.indexOf(record.status);
    if (to < 0 || i >= to) return;
    if (i < 0) i = 0;
    for (const status of path.slice(i + 1, to + 1)) {
      if (status === 'pending') continue;
      const event: StepEvent = { type: 'step', ...base, index, step: record.name, status: status as StepEvent['status'], attempt: record.attempts };
      if (status === 'failed' && record.error !== undefined) event.error = record.error;
      if (status === 'compensated' && record.compensationError !== undefined) event.error = record.compensationError;
      if (status === 'done' && record.output !== undefined) event.output = record.output;
      events.push(event);
    }
  });
  if (operation.state !== 'running') events.push({ type: 'finished', ...base, state: operation.state, error: operation.error });
  return events;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Wakes the watch at once after a change this process made (the provisioner's onOperationChange). */
  subscribe?: (listener: (operationId: string) => void) => () => void;
  /** Re-reads the operation this often besides (changes by another control plane; default 500 ms). */
  pollMs?: number;
}

/** The operation's events until it finishes (the last is `finished`), or until `signal` aborts. */
export async function* watchOperation(catalog: Catalog, operationId: string, options: WatchOptions = {}): AsyncGenerator<ProgressEvent> {
  let seen: StepRecord[] | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = options.subscribe?.((id) => {
    if (id === operationId) wake?.();
  });
  try {
    for (;;) {
      const operation = await catalog.getOperation(operationId);
      if (!operation) throw new CatalogError('unknown-operation', `no operation has id ${JSON.stringify(operationId)}`, { operation: operationId });
      yield* progressEvents(seen, operation);
      if (operation.state !== 'running' || options.signal?.aborted) return;
      seen = parseStepRecords(operation.steps);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.pollMs ?? 500);
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
        options.signal?.addEventListener('abort', done, { once: true });
      });
      if (options.signal?.aborted) return;
    }
  } finally {
    unsubscribe?.();
  }
}

/** One SSE message (`event:` is the event's type). */
export function sseMessage(event: ProgressEvent, id: number): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Parses a text/event-stream body into its messages' `data` (the fields this API sends). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

export interface FollowOptions {
  /** The control plane's base URL (`http://127.0.0.1:8080`). */
  baseUrl: string;
  token: string;
  operationId: string;
  onEvent: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Follows an operation's events over the admin API until it finishes; resolves with the `finished` event. */
export async function followOperation(options: FollowOptions): Promise<FinishedEvent> {
  const response = await fetch(`${options.baseUrl}/api/v1/operations/${encodeURIComponent(options.operationId)}/events`, {
    headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' },
    signal: options.signal,
  });
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    let detail = text;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
    } catch {
      // not a problem document
    }
    throw new Error(`following operation ${options.operationId}: ${response.status} ${detail}`);
  }
  for await (const message of parseSse(response.body)) {
    const event = JSON.parse(message.data) as ProgressEvent;
    options.onEvent(event);
    if (event.type === 'finished') return event;
  }
  throw new Error(`the event stream of operation ${options.operationId} ended before the operation finished`);
}

const marks: Record<StepEvent['status'], string> = { running: '…', done: '✓', failed: '✗', compensating: '↺', compensated: '↺' };

/** One line for a person: `  ✓ allocate (port 9001)`, `  ✗ wait-ready: …`, `provision of stamp t-acme succeeded`. */
export function formatProgressEvent(event: ProgressEvent): string {
  if (event.type === 'finished') return `${event.kind} of stamp ${event.stampId} ${event.state}${event.error ? `: ${event.error}` : ''}`;
  const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
  switch (event.status) {
    case 'running':
      return `  ${marks.running} ${event.step}${attempt}`;
    case 'done':
      return `  ${marks.done} ${event.step}${summarize(event.output)}`;
    case 'failed':
      return `  ${marks.failed} ${event.step}: ${event.error ?? 'failed'}`;
    case 'compensating':
      return `  ${marks.compensating} undoing ${event.step}`;
    case 'compensated':
      return `  ${marks.compensated} undid ${event.step}${event.error ? ` (incompletely: ${event.error})` : ''}`;
  }
}

/** The steps as a block that a terminal redraws in place (one line each, its latest status). */
export function renderSteps(steps: readonly StepRecord[]): string {
  const symbol: Record<StepStatus, string> = { pending: '·', running: '…', done: '✓', failed: '✗', compensating: '↺', compensated: '↺' };
  return steps.map((s) => `  ${symbol[s.status]} ${s.name.padEnd(16)}${s.status}${s.error ? `: ${s.error}` : ''}`).join('\n');
}

function summarize(output: Record<string, unknown> | undefined): string {
  if (!output) return '';
  const parts = ['port', 'url', 'pid', 'namespace', 'project', 'movedTo']
    .filter((k) => output[k] !== undefined && output[k] !== null)
    .map((k) => `${k} ${String(output[k])}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
