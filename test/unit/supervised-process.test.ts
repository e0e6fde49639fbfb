// The supervisor with real child processes: relayed output, restart with backoff, clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SupervisedProcess, type SupervisedState } from '../../src/control/deploy/drivers/process/supervised-process.ts';

function supervise(script: string, lines: string[], states: SupervisedState[] = []) {
  const p = new SupervisedProcess({
    name: 't',
    command: process.execPath,
    args: ['-e', script],
    env: process.env,
    output: (line) => lines.push(line),
    prefix: 't | ',
    backoff: { initialMs: 20, maxMs: 80, resetAfterMs: 60_000 },
    stopTimeoutMs: 500,
  });
  p.on('state', (s) => states.push(s));
  return p;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('relays output prefixed, and restarts a child that crashes, with growing delays', async () => {
  const lines: string[] = [];
  const states: SupervisedState[] = [];
  const p = supervise('console.log("hello"); console.error("oops"); process.exit(3)', lines, states);
  p.start();
  await until(() => p.restarts >= 3);
  await p.stop();
  assert.ok(lines.includes('t | hello'));
  assert.ok(lines.includes('t | oops'));
  assert.ok(states.includes('restarting'));
  assert.equal(p.state, 'stopped');
});

test('stop sends SIGTERM and escalates to SIGKILL for a child that ignores it', async () => {
  const lines: string[] = [];
  const p = supervise('process.on("SIGTERM", () => console.log("ignored")); console.log("up"); setInterval(() => {}, 1000)', lines);
  p.start();
  await until(() => lines.includes('t | up'));
  const pid = p.pid!;
  const started = Date.now();
  await p.stop();
  assert.ok(Date.now() - started >= 400, 'waited for the grace period');
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the child is gone');
  assert.equal(p.restarts, 0, 'a requested stop is not a crash');
});

test('a killed child is brought back with a new pid', async () => {
  const lines: string[] = [];
  const p = supervise('console.log("pid " + process.pid); setInterval(() => {}, 1000)', lines);
  p.start();
  await until(() => lines.length === 1);
  const first = p.pid;
  p.kill('SIGKILL');
  await until(() => lines.length === 2);
  assert.notEqual(p.pid, first);
  assert.equal(p.restarts, 1);
  const stopped = once(p, 'state');
  await p.stop();
  await stopped;
});
