// A control plane killed (SIGKILL) in the middle of deploys, and started again, three times over:
// the stamps it started die with it (they are leashed to it); the next control plane resumes each
// deploy from the step it was in, rolls back one that was interrupted in the same step too many
// times (maxAttempts = 2), and starts again the stamps recorded active. Each deploy is held in its
// wait-ready step by a gate file the test opens: no sleeping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runNodeScript, type RunningCommand } from '../helpers/stampgate-process.ts';
import { defer, isAlive, stampPid, tempDir, waitFor } from '../fixtures/deploy/support.ts';

const controlPlane = fileURLToPath(new URL('../fixtures/deploy/control-plane.ts', import.meta.url));
const token = `admin-${randomBytes(16).toString('hex')}`;

interface Step {
  name: string;
  status: string;
  attempts: number;
}

test('a control plane killed during deploys: the next one resumes them, rolls back the one interrupted too often, and restarts the running stamps', async (t) => {
  const dataDir = tempDir(t, 'deploy-restart');
  const gateDir = join(dataDir, 'gates');
  mkdirSync(gateDir);
  const started: RunningCommand[] = [];
  const pids = new Set<number>();
  defer(t, () => {
    for (const run of started) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  const start = async () => {
    const run = runNodeScript(controlPlane, [], { STORE_URL: `sqlite:${join(dataDir, 'control.db')}`, DATA_DIR: dataDir, ADMIN_TOKEN: token, GATE_DIR: gateDir, PORTS: '26000-26099', MAX_ATTEMPTS: '2' });
    started.push(run);
    const recovered = JSON.parse((await run.waitForLine(/^recovered (.*)$/))[1]!) as { resumed: string[]; rolledBack: string[]; restarted: string[] };
    const base = (await run.waitForLine(/^listening (http:\/\/\S+)$/))[1]!;
    const api = async (method: string, path: string) => {
      const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
    };
    return { run, recovered, api };
  };
  type ControlPlane = Awaited<ReturnType<typeof start>>;
  const status = async (cp: ControlPlane, tenant: string) => (await cp.api('GET', `/api/v1/tenants/${tenant}/deploy/status`)).body;
  const stepsOf = (s: Record<string, any>) => (s.operation.steps as Step[]).map((x) => `${x.name}:${x.status}:${x.attempts}`); // eslint-disable-line @typescript-eslint/no-explicit-any -- as above
  const waitingAtGate = (cp: ControlPlane, tenant: string, attempt: number) =>
    waitFor(`${tenant} to wait at its gate (attempt ${attempt})`, async () => {
      const s = await status(cp, tenant);
      const step = (s.operation?.steps as Step[] | undefined)?.find((x) => x.name === 'wait-ready');
      const dir = join(dataDir, 'stamps', `t-${tenant}`);
      if (step?.status !== 'running' || step.attempts !== attempt || !existsSync(join(dir, 'pid'))) return undefined;
      const pid = stampPid(dir);
      return isAlive(pid) ? pid : undefined;
    });
  const kill = async (cp: ControlPlane, stampPids: number[]) => {
    cp.run.child.kill('SIGKILL');
    assert.equal((await cp.run.exited).signal, 'SIGKILL');
    // Leashed: the stamps of a killed control plane end with it.
    for (const pid of stampPids) await waitFor(`stamp process ${pid} to end with its control plane`, () => !isAlive(pid), 8000);
  };

  // 1. Two deploys, both held in wait-ready; the control plane is killed there.
  const first = await start();
  assert.deepEqual(first.recovered, { resumed: [], rolledBack: [], restarted: [], notRestarted: [] });
  const acmeOp = (await first.api('POST', '/api/v1/tenants/acme/deploy')).body.operation.id as string;
  const bravoOp = (await first.api('POST', '/api/v1/tenants/bravo/deploy')).body.operation.id as string;
  const firstPids = [await waitingAtGate(first, 'acme', 1), await waitingAtGate(first, 'bravo', 1)];
  firstPids.forEach((p) => pids.add(p));
  await kill(first, firstPids);

  // 2. Both are resumed from their start step (their processes died); acme's gate opens, bravo's does not.
  const second = await start();
  assert.deepEqual(second.recovered.resumed.sort(), [acmeOp, bravoOp].sort());
  assert.deepEqual(second.recovered.rolledBack, []);
  const secondPids = [await waitingAtGate(second, 'acme', 2), await waitingAtGate(second, 'bravo', 2)];
  secondPids.forEach((p) => pids.add(p));
  writeFileSync(join(gateDir, 't-acme'), '');
  const acme = await waitFor('acme to run', async () => ((await status(second, 'acme')).state === 'running' ? status(second, 'acme') : undefined));
  assert.deepEqual(stepsOf(acme), ['record-tenant:done:1', 'allocate:done:1', 'prepare:done:1', 'start:done:2', 'wait-ready:done:2', 'activate:done:1']);
  assert.equal(acme.operation.state, 'succeeded');
  assert.equal(acme.placedOn, 't-acme');
  const acmeUrl = acme.stamp.url as string;
  assert.equal(((await (await fetch(acmeUrl)).json()) as { stamp: string }).stamp, 't-acme');
  await kill(second, secondPids);

  // 3. bravo's wait-ready was interrupted twice: rolled back. acme was running: started again, on its port.
  const third = await start();
  assert.deepEqual(third.recovered.rolledBack, [bravoOp]);
  assert.deepEqual(third.recovered.restarted, ['t-acme']);
  const bravo = await waitFor('bravo to be rolled back', async () => ((await status(third, 'bravo')).state === 'error' ? status(third, 'bravo') : undefined));
  assert.match(bravo.reason, /step wait-ready failed: the control plane stopped during this step 2 times; giving up; rolled back/);
  assert.deepEqual([bravo.stamp.port, bravo.stamp.url, bravo.stamp.dataDir, bravo.placedOn], [null, '', null, null], 'nothing of bravo is left but the failed stamp');
  assert.ok(!existsSync(join(dataDir, 'stamps', 't-bravo')));
  const answer = await waitFor('acme to answer again', async () => {
    try {
      return (await (await fetch(acmeUrl)).json()) as { stamp: string };
    } catch {
      return undefined;
    }
  });
  assert.equal(answer.stamp, 't-acme');
  const thirdPid = stampPid(join(dataDir, 'stamps', 't-acme'));
  pids.add(thirdPid);
  assert.ok(!secondPids.includes(thirdPid), 'a new process');
  assert.equal((await status(third, 'acme')).state, 'running');

  // A clean stop stops the stamps too.
  third.run.child.kill('SIGTERM');
  assert.equal((await third.run.exited).code, 0);
  assert.ok(!isAlive(thirdPid));
});
