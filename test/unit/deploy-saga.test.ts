// The saga's bookkeeping (each step recorded before and after it runs, compensations in reverse,
// where a resumed run starts), the progress events derived from it, and the per-tenant deploy's
// names and states. The provisioner that drives them against real stores and processes is tested
// in test/integration/deploy-*.test.ts and test/e2e/deploy-*.test.ts.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { formatProgressEvent, parseSse, progressEvents, sseMessage, type ProgressEvent } from '../../src/control/deploy/progress.ts';
import { isRollingBack, pendingSteps, resumeIndex, runCompensations, runForward, type SagaStep, type StepRecord } from '../../src/control/deploy/saga.ts';
import { dedicatedStampId, deployState } from '../../src/control/deploy/tenant-deploy.ts';
import type { OperationRecord, StampRecord } from '../../src/control/store/catalog.ts';

function harness(names: string[], behaviour: Record<string, { fail?: string; compensateFail?: string; volatile?: boolean }> = {}) {
  const log: string[] = [];
  const snapshots: StepRecord[][] = [];
  const steps: SagaStep[] = names.map((name) => ({
    name,
    volatile: behaviour[name]?.volatile,
    run: async () => {
      log.push(`run ${name}`);
      if (behaviour[name]?.fail) throw new Error(behaviour[name].fail);
      return { made: name };
    },
    compensate: async () => {
      log.push(`undo ${name}`);
      if (behaviour[name]?.compensateFail) throw new Error(behaviour[name].compensateFail);
    },
  }));
  const records = pendingSteps(names);
  const options = { records, steps, signal: new AbortController().signal, persist: async (r: StepRecord[]) => void snapshots.push(structuredClone(r)), now: () => 'T' };
  return { log, snapshots, records, steps, options };
}

test('each step is recorded running before it runs and done after, with its output', async () => {
  const h = harness(['allocate', 'start']);
  assert.equal(await runForward(h.options, 0), undefined);
  assert.deepEqual(h.log, ['run allocate', 'run start']);
  assert.deepEqual(
    h.snapshots.map((s) => s.map((r) => r.status).join(',')),
    ['running,pending', 'done,pending', 'done,running', 'done,done'],
  );
  assert.deepEqual(h.records[1], { name: 'start', status: 'done', attempts: 1, startedAt: 'T', finishedAt: 'T', output: { made: 'start' } });
});

test('a failure stops the run; compensations undo what ran, in reverse, and go on past one that fails', async () => {
  const h = harness(['allocate', 'prepare', 'start', 'wait-ready', 'activate'], { 'wait-ready': { fail: 'not ready in time' }, prepare: { compensateFail: 'disk gone' } });
  assert.deepEqual(await runForward(h.options, 0), { index: 3, error: 'not ready in time' });
  assert.ok(isRollingBack(h.records));
  assert.deepEqual(await runCompensations(h.options), ['prepare: disk gone']);
  assert.deepEqual(h.log, ['run allocate', 'run prepare', 'run start', 'run wait-ready', 'undo wait-ready', 'undo start', 'undo prepare', 'undo allocate']);
  assert.deepEqual(h.records.map((r) => r.status), ['compensated', 'compensated', 'compensated', 'compensated', 'pending']);
  assert.equal(h.records[1]!.compensationError, 'disk gone');
  assert.equal(h.records[3]!.error, 'not ready in time');
});

test('a resumed run starts at the step in flight, or at a volatile step done before it', () => {
  const h = harness(['allocate', 'prepare', 'start', 'wait-ready', 'activate'], { start: { volatile: true } });
  const records = h.records.map((r, i) => ({ ...r, status: i < 3 ? 'done' : i === 3 ? 'running' : 'pending', attempts: i <= 3 ? 1 : 0 }) as StepRecord);
  assert.equal(resumeIndex(records, h.steps), 2, 'the stamp process died with the control plane: start it again');
  const plain = harness(['allocate', 'prepare', 'start', 'wait-ready', 'activate']);
  assert.equal(resumeIndex(records, plain.steps), 3, 'containers outlive the control plane: go on waiting');
  assert.equal(resumeIndex(records.map((r) => ({ ...r, status: 'done' })), plain.steps), 5, 'all done: nothing to run');
});

const operation = (steps: StepRecord[], state: OperationRecord['state'] = 'running', error: string | null = null): OperationRecord => ({ id: 'op-1', stampId: 't-acme', kind: 'provision', state, steps, error, actor: 'admin', startedAt: 'T', finishedAt: null });
const record = (name: string, status: StepRecord['status'], extra: Partial<StepRecord> = {}): StepRecord => ({ name, status, attempts: status === 'pending' ? 0 : 1, startedAt: null, finishedAt: null, ...extra });
const summary = (events: ProgressEvent[]) => events.map((e) => (e.type === 'step' ? `${e.step}:${e.status}` : `finished:${e.state}`));

test('progress events tell the whole story whenever they are read, filling in statuses passed between reads', () => {
  const done = [record('allocate', 'done', { output: { port: 9001 } }), record('start', 'done', { output: { pid: 42 } })];
  assert.deepEqual(summary(progressEvents(undefined, operation(done, 'succeeded'))), ['allocate:running', 'allocate:done', 'start:running', 'start:done', 'finished:succeeded']);
  const midway = [record('allocate', 'done'), record('start', 'running')];
  assert.deepEqual(summary(progressEvents(midway, operation(done))), ['start:done']);
  const rolledBack = [record('allocate', 'compensated'), record('start', 'compensated', { error: 'exited with code 3' })];
  assert.deepEqual(summary(progressEvents(midway, operation(rolledBack, 'failed', 'step start failed'))), ['allocate:compensating', 'allocate:compensated', 'start:failed', 'start:compensating', 'start:compensated', 'finished:failed']);
  const retried = [record('allocate', 'done'), record('start', 'running', { attempts: 2 })];
  assert.deepEqual(summary(progressEvents(done, operation(retried))), ['start:running'], 'a step run again after a restart starts over');
  const failed = progressEvents(midway, operation([record('allocate', 'done'), record('start', 'failed', { error: 'exited with code 3' })]));
  assert.deepEqual(failed[0], { type: 'step', operationId: 'op-1', stampId: 't-acme', kind: 'provision', index: 1, step: 'start', status: 'failed', attempt: 1, error: 'exited with code 3' });
});

test('events go over SSE and come back whole, and read as lines for a person', async () => {
  const events = progressEvents(undefined, operation([record('allocate', 'done', { output: { port: 9001, url: 'http://127.0.0.1:9001' } }), record('start', 'failed', { error: 'exited with code 3' })], 'failed', 'step start failed: exited with code 3; rolled back'));
  const text = events.map((e, i) => sseMessage(e, i + 1)).join('') + ': keep-alive\n\n';
  // Split at awkward places, as a network would.
  const chunks = text.match(/[\s\S]{1,7}/g)!.map((c) => Buffer.from(c));
  const parsed: ProgressEvent[] = [];
  for await (const message of parseSse(Readable.from(chunks))) parsed.push(JSON.parse(message.data) as ProgressEvent);
  assert.deepEqual(parsed, events);
  assert.deepEqual(parsed.map(formatProgressEvent), [
    '  … allocate',
    '  ✓ allocate (port 9001, url http://127.0.0.1:9001)',
    '  … start',
    '  ✗ start: exited with code 3',
    'provision of stamp t-acme failed: step start failed: exited with code 3; rolled back',
  ]);
});

test("a tenant's own stamp is t-<tenant>, at most 52 characters (the sample app's limit)", () => {
  assert.equal(dedicatedStampId('acme'), 't-acme');
  const long = 'a'.repeat(40) + '-' + 'b'.repeat(22);
  const id = dedicatedStampId(long);
  assert.ok(id.length <= 52 && /^t-[a-z0-9-]*[a-z0-9]$/.test(id), id);
  assert.notEqual(id, dedicatedStampId(long.slice(0, -1) + 'c'), 'two long ids that share a prefix get two stamps');
});

test("the seed's states from the stamp and its last operation", () => {
  const stamp = (state: StampRecord['state']) => ({ state }) as StampRecord;
  const op = (kind: string, state: OperationRecord['state']) => ({ ...operation([], state), kind });
  assert.equal(deployState(undefined, null), 'not_deployed');
  assert.equal(deployState(stamp('provisioning'), op('provision', 'running')), 'deploying');
  assert.equal(deployState(stamp('active'), op('provision', 'succeeded')), 'running');
  assert.equal(deployState(stamp('failed'), op('provision', 'failed')), 'error');
  assert.equal(deployState(stamp('failed'), op('provision', 'succeeded')), 'stopped', 'failed after it had run: its processes are down');
  assert.equal(deployState(stamp('stopped'), op('provision', 'succeeded')), 'stopped');
  assert.equal(deployState(stamp('retired'), op('teardown', 'running')), 'undeploying');
  assert.equal(deployState(undefined, op('teardown', 'succeeded')), 'undeployed');
});
