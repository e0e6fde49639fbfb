import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRequestId, requestIdFor } from '../../src/gateway/proxy/request-id.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a valid incoming request id is kept', () => {
  assert.equal(requestIdFor('abc-123'), 'abc-123');
  assert.equal(requestIdFor('x'.repeat(128)), 'x'.repeat(128));
  assert.equal(requestIdFor('!~{}[]'), '!~{}[]');
});

test('a missing, too long or non-printable request id is replaced by a UUID', () => {
  for (const bad of [undefined, '', 'x'.repeat(129), 'has space', 'tab\there', 'ñandú', 'a\u0000b', ['a', 'b']]) {
    const id = requestIdFor(bad);
    assert.match(id, uuid, `replaces ${JSON.stringify(bad)}`);
    assert.ok(isValidRequestId(id));
  }
  assert.notEqual(requestIdFor(undefined), requestIdFor(undefined));
});
