import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectStamp } from '../../src/gateway/stamps/select-stamp.ts';
import { StampDefinitionError, StampTable } from '../../src/gateway/stamps/stamp-table.ts';
import { TenantDirectory } from '../../src/gateway/stamps/tenant-directory.ts';

const timeouts = { connectMs: 1000, headersMs: 1000, bodyMs: 1000 };
const table = new StampTable(
  [
    { id: 'default', url: 'http://127.0.0.1:3001' },
    { id: 's1', aliases: ['1'], url: 'http://127.0.0.1:3002' },
    { id: 's2', aliases: ['2'], url: 'http://127.0.0.1:3003' },
  ],
  undefined,
  timeouts,
);
after(() => table.retire());
const directory = new TenantDirectory();
directory.set('acme', 's1');
directory.set('ghost', 's9');

function pick(target: string, headers: Record<string, string> = {}) {
  return selectStamp(target, headers, table, directory);
}

test('the seed\'s ?stamp= values pick stamps by id and by alias', () => {
  assert.equal(pick('/libros?stamp=1').stamp?.id, 's1');
  assert.equal(pick('/libros?stamp=s1').stamp?.id, 's1');
  assert.equal(pick('/libros?stamp=2').stamp?.id, 's2');
  assert.equal(pick('/libros?stamp=s2').stamp?.id, 's2');
  assert.equal(pick('/libros?stamp=default').stamp?.id, 'default');
  assert.equal(pick('/libros').stamp?.id, 'default');
  const none = pick('/libros');
  assert.equal(none.stamp ? none.source : undefined, 'default');
});

test('X-Stamp-Id and X-Tenant-Id headers pick stamps; the query wins over headers', () => {
  assert.equal(pick('/libros', { 'x-stamp-id': '2' }).stamp?.id, 's2');
  const viaTenant = pick('/libros', { 'x-tenant-id': 'acme' });
  assert.equal(viaTenant.stamp?.id, 's1');
  assert.equal(viaTenant.stamp ? viaTenant.tenant : undefined, 'acme');
  assert.equal(pick('/libros?tenant=acme').stamp?.id, 's1');
  assert.equal(pick('/libros?stamp=2', { 'x-stamp-id': '1', 'x-tenant-id': 'acme' }).stamp?.id, 's2');
  assert.equal(pick('/libros', { 'x-stamp-id': '2', 'x-tenant-id': 'acme' }).stamp?.id, 's2', 'an explicit stamp wins over the tenant');
});

test('unknown stamps and tenants are errors, never a guess', () => {
  assert.deepEqual(pick('/libros?stamp=7'), { error: 'unknown-stamp', key: '7' });
  assert.deepEqual(pick('/libros', { 'x-stamp-id': 'nope' }), { error: 'unknown-stamp', key: 'nope' });
  assert.deepEqual(pick('/libros', { 'x-tenant-id': 'nobody' }), { error: 'unknown-tenant', key: 'nobody' });
  assert.deepEqual(pick('/libros', { 'x-tenant-id': 'ghost' }), { error: 'tenant-stamp-missing', key: 'ghost', stampId: 's9' });
});

test('an empty key counts as no key', () => {
  assert.equal(pick('/libros?stamp=').stamp?.id, 'default');
  assert.equal(pick('/libros', { 'x-stamp-id': '' }).stamp?.id, 'default');
});

test('the stamp table rejects bad ids, bad URLs, clashing names and an unknown default', () => {
  assert.throws(() => new StampTable([{ id: 'S1', url: 'http://127.0.0.1:1' }], undefined, timeouts), /stamps\[0\]\.id: expected 1-63 characters of \[a-z0-9-\], found "S1"/);
  assert.throws(() => new StampTable([{ id: 'a', url: 'ftp://x' }], undefined, timeouts), /stamps\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/);
  assert.throws(() => new StampTable([{ id: 'a', url: 'not a url' }], undefined, timeouts), StampDefinitionError);
  assert.throws(
    () => new StampTable([{ id: 'a', aliases: ['1'], url: 'http://127.0.0.1:1' }, { id: 'b', aliases: ['1'], url: 'http://127.0.0.1:2' }], undefined, timeouts),
    /stamps\[1\]: name "1" is already used by stamp "a"/,
  );
  assert.throws(() => new StampTable([{ id: 'a', url: 'http://127.0.0.1:1' }], 'zzz', timeouts), /default stamp "zzz" is not one of the stamps \(a\)/);
  assert.throws(() => new StampTable([], undefined, timeouts), /at least one stamp/);
});

test('without a stamp named default, the first stamp is the default', () => {
  const t = new StampTable([{ id: 'eu', url: 'http://127.0.0.1:1' }, { id: 'us', url: 'http://127.0.0.1:2' }], undefined, timeouts);
  assert.equal(t.defaultStamp.id, 'eu');
  void t.retire();
});
