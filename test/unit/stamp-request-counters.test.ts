import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StampRequestCounters } from '../../src/observe/stamp-request-counters.ts';

test('counts per stamp in the seed\'s /stampsz shape', () => {
  const counters = new StampRequestCounters();
  counters.setStamps(['default', 's1', 's2']);
  counters.increment(0);
  counters.increment(2);
  counters.increment(2);
  assert.deepEqual(counters.snapshot(), { total_requests: 3, by_stamp: { default: 1, s1: 0, s2: 2 }, stamp_ids: ['default', 's1', 's2'] });
});

test('a new stamp list keeps the counts of stamps that stay, wherever they move', () => {
  const counters = new StampRequestCounters();
  counters.setStamps(['default', 's1']);
  counters.increment(1);
  counters.setStamps(['s1', 's3']);
  counters.increment(1);
  assert.deepEqual(counters.snapshot(), { total_requests: 2, by_stamp: { s1: 1, s3: 1 }, stamp_ids: ['s1', 's3'] });
});
