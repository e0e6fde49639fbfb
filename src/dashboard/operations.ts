// Long-running work on stamps (provision, deploy, drain…), newest first, with each operation's
// steps and progress. The steps belong to the deployment state machine and their shape may grow:
// a step is read as a string (its name) or an object with a name and a state, whatever else it holds.
import type { Kysely } from 'kysely';
import type { Catalog, OperationRecord } from '../control/store/catalog.ts';
import type { StoreSchema } from '../control/store/schema.ts';

export interface StepView {
  name: string;
  /** pending, running, done, failed, or what the state machine wrote. */
  state: string;
  detail: string | null;
}

export interface OperationView extends Omit<OperationRecord, 'steps'> {
  steps: StepView[];
  progress: { done: number; failed: number; total: number };
  /** The steps as stored, for the details view. */
  rawSteps: unknown[];
}

const doneStates = new Set(['done', 'succeeded', 'success', 'completed', 'complete', 'ok', 'skipped', 'finished']);
const failedStates = new Set(['failed', 'error', 'errored']);

export async function listOperations(catalog: Catalog | undefined, store: Kysely<StoreSchema> | undefined, limit = 100): Promise<OperationView[]> {
  let records: OperationRecord[];
  if (store) {
    const rows = await store.selectFrom('operations').selectAll().orderBy('started_at', 'desc').orderBy('id').limit(limit).execute();
    records = rows.map((row) => ({ id: row.id, stampId: row.stamp_id, kind: row.kind, state: row.state, steps: parseSteps(row.steps), error: row.error, actor: row.actor, startedAt: row.started_at, finishedAt: row.finished_at }));
  } else if (catalog) {
    const stamps = await catalog.listStamps();
    records = (await Promise.all(stamps.map((s) => catalog.listOperations(s.id, limit)))).flat();
    records.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
    records = records.slice(0, limit);
  } else {
    return [];
  }
  return records.map(operationView);
}

export function operationView(record: OperationRecord): OperationView {
  const steps = record.steps.map(stepView);
  const done = steps.filter((s) => doneStates.has(s.state.toLowerCase())).length;
  const failed = steps.filter((s) => failedStates.has(s.state.toLowerCase())).length;
  const { steps: rawSteps, ...rest } = record;
  return { ...rest, steps, progress: { done: record.state === 'succeeded' && steps.length > 0 ? steps.length : done, failed, total: steps.length }, rawSteps };
}

function stepView(step: unknown, index: number): StepView {
  if (typeof step === 'string') return { name: step, state: 'pending', detail: null };
  if (step === null || typeof step !== 'object') return { name: `step ${index + 1}`, state: 'pending', detail: step === undefined ? null : String(step) };
  const s = step as Record<string, unknown>;
  const text = (...keys: string[]) => {
    for (const key of keys) if (typeof s[key] === 'string' && s[key] !== '') return s[key];
    return null;
  };
  const state = text('state', 'status') ?? (s['done'] === true || text('finishedAt', 'finished_at') !== null ? 'done' : text('startedAt', 'started_at') !== null ? 'running' : 'pending');
  return { name: text('name', 'step', 'title', 'id', 'kind') ?? `step ${index + 1}`, state, detail: text('detail', 'error', 'reason', 'message') };
}

function parseSteps(text: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
