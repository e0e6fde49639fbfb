import { test } from 'node:test';
import assert from 'node:assert/strict';
import { positiveDurationMs } from '../../src/gateway/health/positive-duration.ts';

test('health-check durations are Traefik durations in ms', () => {
  assert.equal(positiveDurationMs('10s', 1), 10_000);
  assert.equal(positiveDurationMs('250ms', 1), 250);
  assert.equal(positiveDurationMs('1m30s', 1), 90_000);
  assert.equal(positiveDurationMs(0.05, 1), 50);
  assert.equal(positiveDurationMs('10', 1), 10_000, 'a string of digits is seconds (paerser)');
  assert.throws(() => positiveDurationMs('10x', 1), /invalid duration/);
});

test('a missing or non-positive duration takes the default, as Traefik does', () => {
  assert.equal(positiveDurationMs(undefined, 30_000), 30_000);
  assert.equal(positiveDurationMs('0s', 30_000), 30_000);
  assert.equal(positiveDurationMs(0, 5000), 5000);
});
