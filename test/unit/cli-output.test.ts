// The admin verbs' building blocks: aligned tables, detail blocks, option parsers, and finding the
// operation a deployment answer started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { collectLabel, collectList } from '../../src/cli/admin/arguments.ts';
import { operationIdOf } from '../../src/cli/commands/deploy.ts';
import { formatInstant, formatLabels, percent } from '../../src/cli/output/format.ts';
import { renderDetails, renderTable } from '../../src/cli/output/table.ts';

test('renderTable: columns as wide as their widest cell, two spaces apart, numbers right-aligned, no trailing spaces', () => {
  const rows = [
    { id: 'default', state: 'active', tenants: '400/1000', note: '' },
    { id: 's1', state: 'provisioning', tenants: '0/10', note: 'x→y' },
  ];
  const table = renderTable(rows, [
    { header: 'ID', value: (r) => r.id },
    { header: 'STATE', value: (r) => r.state },
    { header: 'TENANTS', value: (r) => r.tenants, align: 'right' },
    { header: 'NOTE', value: (r) => r.note },
  ]);
  assert.equal(table, ['ID       STATE          TENANTS  NOTE', 'default  active        400/1000', 's1       provisioning      0/10  x→y'].join('\n'));
});

test('renderDetails: keys padded to the longest', () => {
  assert.equal(renderDetails([['id', 's1'], ['capacity', '500'], ['labels', '']]), 'id        s1\ncapacity  500\nlabels');
});

test('formatting: labels, use, instants', () => {
  assert.equal(formatLabels({}), '-');
  assert.equal(formatLabels({ region: 'eu', tier: 'gold' }), 'region=eu,tier=gold');
  assert.equal(percent(1, 3), '33%');
  assert.equal(percent(0, 0), '-');
  assert.equal(formatInstant('2025-01-31T12:00:00.123Z'), '2025-01-31 12:00:00Z');
  assert.equal(formatInstant(null), '-');
});

test('collectLabel and collectList: repeatable options, bad input refused with the expected form', () => {
  assert.deepEqual(collectLabel('tier=gold', collectLabel('region=eu')), { region: 'eu', tier: 'gold' });
  assert.deepEqual(collectLabel('note=a=b'), { note: 'a=b' });
  assert.throws(() => collectLabel('eu'), (e: unknown) => e instanceof InvalidArgumentError && /expected KEY=VALUE/.test(e.message));
  assert.throws(() => collectLabel('=eu'), InvalidArgumentError);
  assert.deepEqual(collectList('3,three', collectList('tres')), ['tres', '3', 'three']);
  assert.throws(() => collectList('3,,4'), InvalidArgumentError);
});

test('operationIdOf: operationId, operation.id, or the answer itself when it is an operation', () => {
  assert.equal(operationIdOf({ operationId: 'a' }), 'a');
  assert.equal(operationIdOf({ operation: { id: 'b' } }), 'b');
  assert.equal(operationIdOf({ id: 'c', state: 'running', steps: [] }), 'c');
  assert.equal(operationIdOf({ id: 'acme', status: 'already_deployed' }), undefined);
});
