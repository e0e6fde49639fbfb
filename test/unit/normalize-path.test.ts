import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizePath } from '../../src/gateway/pipeline/normalize-path.ts';

test('dot-segments are resolved, also when percent-encoded', () => {
  assert.equal(normalizePath('/api/../admin'), '/admin');
  assert.equal(normalizePath('/api/%2e%2e/admin'), '/admin');
  assert.equal(normalizePath('/api/%2E%2E/admin'), '/admin');
  assert.equal(normalizePath('/a/./b/.'), '/a/b/');
  assert.equal(normalizePath('/../../etc/passwd'), '/etc/passwd');
  assert.equal(normalizePath('/a/b/..'), '/a/');
});

test('unreserved escapes are decoded; an encoded slash stays encoded and is not a separator', () => {
  assert.equal(normalizePath('/%7Euser/%41'), '/~user/A');
  assert.equal(normalizePath('/api%2F..%2Fadmin'), '/api%2F..%2Fadmin');
  assert.equal(normalizePath('/api/%2f'), '/api/%2F');
  assert.equal(normalizePath('/caf%C3%A9'), '/caf%C3%A9');
});

test('the common path is returned as it is', () => {
  assert.equal(normalizePath('/libros/1'), '/libros/1');
  assert.equal(normalizePath('/a//b'), '/a//b');
});

test('an invalid escape is refused', () => {
  assert.equal(normalizePath('/a%zz'), null);
  assert.equal(normalizePath('/a%'), null);
});

test('property: the result never contains a dot-segment and normalising twice changes nothing', () => {
  const segment = fc.constantFrom('a', 'b', '.', '..', '%2e', '%2E%2e', '%41', '', '%2F');
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 10 }), (segments) => {
      const result = normalizePath('/' + segments.join('/'))!;
      assert.ok(result.startsWith('/'));
      assert.ok(!result.split('/').some((s) => s === '.' || s === '..'), result);
      assert.equal(normalizePath(result), result);
    }),
  );
});
