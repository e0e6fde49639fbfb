import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurationError, durationMs, parseDuration } from '../../src/config/duration.ts';
import { Duration } from '../../src/config/schema/common.ts';

test('Go duration strings convert to milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['.5s', 500],
    ['5.s', 5000],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1000000ns', 1],
    ['0s', 0],
    ['1h1h', 7_200_000],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, input);
});

test('a number, or a string of digits, is a number of seconds (as Traefik reads them)', () => {
  assert.equal(parseDuration(10), 10_000);
  assert.equal(parseDuration(0.25), 250);
  assert.equal(parseDuration('10'), 10_000);
  assert.equal(parseDuration('0'), 0);
});

test('errors say what is wrong', () => {
  const cases: Array<[string | number, string]> = [
    ['', 'invalid duration "": empty; use a value such as "10s" or "250ms"'],
    ['10x', 'invalid duration "10x": unknown unit "x" (use ns, us, ms, s, m or h)'],
    ['10 s', 'invalid duration "10 s": unknown unit " s" (use ns, us, ms, s, m or h)'],
    ['1.5', 'invalid duration "1.5": missing unit after "1.5" (use ns, us, ms, s, m or h; a bare number means seconds only when it is a whole number)'],
    ['s', 'invalid duration "s": expected a number at position 1, found "s"'],
    ['1m.s', 'invalid duration "1m.s": expected a number at position 3, found "."'],
    ['-1s', 'invalid duration "-1s": a duration cannot be negative'],
    [-1, 'invalid duration -1: a duration cannot be negative'],
    [Number.NaN, 'invalid duration NaN: expected a finite number of seconds'],
    ['3000000h', 'invalid duration "3000000h": out of range (longer than about 292 years)'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseDuration(input), (err: unknown) => {
      assert.ok(err instanceof DurationError);
      assert.equal(err.message, message);
      assert.equal(err.input, input);
      return true;
    });
  }
});

test('durationMs gives the default for an absent key', () => {
  assert.equal(durationMs(undefined, 60_000), 60_000);
  assert.equal(durationMs('2s', 60_000), 2000);
});

test('the schema pattern accepts exactly what parseDuration accepts', () => {
  const branch = Duration.anyOf[0] as { pattern: string };
  const pattern = new RegExp(branch.pattern, 'u');
  for (const input of ['10s', '1m30s', '250ms', '1.5h', '.5s', '5.s', '1μs', '1µs', '10', '0', '1h1h', '', 's', '.s', '1.5', '-1s', '10x', '10 s', '1m.s']) {
    let parses = true;
    try {
      parseDuration(input);
    } catch {
      parses = false;
    }
    assert.equal(pattern.test(input), parses, input);
  }
});
