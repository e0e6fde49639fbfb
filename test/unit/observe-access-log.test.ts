import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { createAccessLog, passesFilter, type AccessLog } from '../../src/observe/access-log/access-log.ts';
import { AccessLogConfig, canonicalHeaderName, resolveAccessLogSettings } from '../../src/observe/access-log/access-log-config.ts';
import type { LineSink } from '../../src/observe/access-log/line-sink.ts';
import { DROP, FIELDS, KEEP } from '../../src/observe/access-log/access-log-fields.ts';
import { forEachHeaderField } from '../../src/observe/access-log/header-fields.ts';
import { clfTime, isoTime } from '../../src/observe/access-log/log-time.ts';
import { humanBytes, humanDuration, prettyFormatter } from '../../src/observe/access-log/pretty-line.ts';
import type { ObservedExchange } from '../../src/observe/observed-exchange.ts';
import { TraceContext } from '../../src/observe/tracing/trace-context.ts';

type Fields = Partial<Omit<ObservedExchange, 'headers'>> & { headers?: IncomingHttpHeaders };

function exchange(fields: Fields = {}): ObservedExchange {
  return {
    req: { url: '/api/books/7?lang=es', httpVersion: '1.1' },
    requestId: 'req-1',
    entryPoint: 'web',
    secure: false,
    remoteAddress: '10.0.0.2',
    clientIp: '203.0.113.9',
    method: 'GET',
    host: 'shop.example.com',
    path: '/books/7',
    query: 'lang=es',
    headers: { 'user-agent': 'curl/8.5', authorization: 'Bearer secret', referer: 'https://example.com/' },
    router: 'books',
    service: 'library',
    stamp: 's1',
    tenant: 'acme',
    upstream: 'http://127.0.0.1:3002',
    upgrade: null,
    retries: 0,
    startedAt: 0,
    ...fields,
  };
}

const TRACE = new TraceContext('0af7651916cd43dd8448eb211c80319c', '00f067aa0ba902b7', 'b7ad6b7169203331', true, null);
const END = Date.UTC(2025, 10, 22, 9, 34, 0, 500);

function memorySink(): LineSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line), flush: async () => {}, close: async () => {} };
}

function accessLog(config: AccessLogConfig, options: { random?: () => number; isTTY?: boolean; color?: boolean } = {}): { log: AccessLog; lines: string[] } {
  const sink = memorySink();
  const log = createAccessLog(config, { sink, now: () => END, isTTY: options.isTTY ?? false, ...options })!;
  return { log, lines: sink.lines };
}

function records(lines: string[]): Record<string, unknown>[] {
  return lines.map((l) => {
    assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'), 'one line each');
    return JSON.parse(l) as Record<string, unknown>;
  });
}

test('one JSON line per request, field by field', () => {
  const { log, lines } = accessLog({});
  log.log(exchange({ retries: 1 }), TRACE, 200, 12.3456789, 42, 1234);
  const [record] = records(lines);
  assert.deepEqual(Object.entries(record!), [
    ['time', '2025-11-22T09:34:00.487Z'], // request start: end - duration, to the millisecond below
    ['requestId', 'req-1'],
    ['traceId', '0af7651916cd43dd8448eb211c80319c'],
    ['spanId', '00f067aa0ba902b7'],
    ['client', '203.0.113.9'],
    ['method', 'GET'],
    ['host', 'shop.example.com'],
    ['path', '/api/books/7?lang=es'],
    ['protocol', 'HTTP/1.1'],
    ['status', 200],
    ['duration', 12.346],
    ['bytesIn', 42],
    ['bytesOut', 1234],
    ['entryPoint', 'web'],
    ['router', 'books'],
    ['service', 'library'],
    ['stamp', 's1'],
    ['tenant', 'acme'],
    ['upstream', 'http://127.0.0.1:3002'],
    ['retries', 1],
  ]);
});

test('what routing did not decide is absent, and odd characters stay valid JSON', () => {
  const { log, lines } = accessLog({});
  log.log(exchange({ router: null, service: null, stamp: null, tenant: null, upstream: null, req: { url: '/a"b\\c\u0001é\ud800', httpVersion: '1.0' } }), null, 404, 0.2, 0, 180);
  const [record] = records(lines);
  for (const absent of ['router', 'service', 'stamp', 'tenant', 'upstream', 'traceId', 'spanId']) assert.equal(absent in record!, false, absent);
  assert.equal(record!.path, '/a"b\\c\u0001é\ud800');
  assert.equal(record!.protocol, 'HTTP/1.0');
});

test('fields: defaultMode, per-field modes by Stampgate or Traefik name, redaction', () => {
  const { log, lines } = accessLog({ fields: { defaultMode: 'drop', names: { status: 'keep', RequestPath: 'keep', tenant: 'redact', ClientUsername: 'keep' } } });
  log.log(exchange(), TRACE, 503, 1, 0, 0);
  assert.deepEqual(records(lines)[0], { path: '/api/books/7?lang=es', status: 503, tenant: 'REDACTED' });

  const kept = accessLog({ fields: { names: { RequestHost: 'drop', DownstreamStatus: 'redact', TraceId: 'drop', SpanId: 'drop' } } });
  kept.log.log(exchange(), TRACE, 200, 1, 0, 0);
  const record = records(kept.lines)[0]!;
  assert.equal('host' in record, false);
  assert.equal('traceId' in record, false);
  assert.equal(record.status, 'REDACTED');
  assert.equal(record.method, 'GET');

  assert.throws(() => accessLog({ fields: { names: { colour: 'keep' } } }), /unknown field "colour"/);
});

test('header fields: request_<Name>, keep and redact, or all headers with exceptions', () => {
  const named = accessLog({ fields: { defaultMode: 'drop', headers: { names: { 'User-Agent': 'keep', Authorization: 'redact', 'X-Missing': 'keep' } } } });
  named.log.log(exchange(), null, 200, 1, 0, 0);
  assert.deepEqual(records(named.lines)[0], { 'request_User-Agent': 'curl/8.5', request_Authorization: 'REDACTED' });

  const all = accessLog({ fields: { defaultMode: 'drop', headers: { defaultMode: 'keep', names: { Authorization: 'drop' } } } });
  all.log.log(exchange({ headers: { 'user-agent': 'curl/8.5', authorization: 'x', 'x-forwarded-for': '1.1.1.1', 'set-cookie': ['a=1', 'b=2'] } }), null, 200, 1, 0, 0);
  assert.deepEqual(records(all.lines)[0], { 'request_User-Agent': 'curl/8.5', 'request_X-Forwarded-For': '1.1.1.1', 'request_Set-Cookie': 'a=1,b=2' });

  assert.equal(resolveAccessLogSettings({ fields: { headers: { defaultMode: 'drop', names: { A: 'drop' } } } }).headers, null, 'nothing to write: no header work per request');
  assert.equal(canonicalHeaderName('x-request-id'), 'X-Request-Id');
});

test('status filters, retries and minimum duration: a line is kept when any matches (Traefik\'s rule)', () => {
  const { log, lines } = accessLog({ filters: { statusCodes: ['404', '500-599'], retryAttempts: true, minDuration: '100ms' } });
  const cases: [status: number, retries: number, ms: number, kept: boolean][] = [
    [200, 0, 5, false],
    [404, 0, 5, true],
    [500, 0, 5, true],
    [599, 0, 5, true],
    [600, 0, 5, false],
    [403, 0, 5, false],
    [200, 1, 5, true],
    [200, 0, 100, false], // Traefik: longer than minDuration
    [200, 0, 100.5, true],
  ];
  for (const [status, retries, ms] of cases) log.log(exchange({ retries }), null, status, ms, 0, 0);
  assert.deepEqual(
    records(lines).map((r) => `${String(r.status)}/${String(r.retries)}/${String(r.duration)}`),
    cases.filter((c) => c[3]).map(([s, r, ms]) => `${s}/${r}/${ms}`),
  );
  const settings = resolveAccessLogSettings({ filters: { statusCodes: ['200-299'] } });
  assert.equal(passesFilter(settings.filter!, 204, 0, 0), true);
  assert.equal(passesFilter(settings.filter!, 301, 3, 1e6), false, 'retries and duration filters are off');
  assert.equal(resolveAccessLogSettings({ filters: {} }).filter, null, 'an empty filters section keeps everything');
  assert.throws(() => resolveAccessLogSettings({ filters: { statusCodes: ['500-400'] } }), /ends before it starts/);
});

test('sampling is decided before the line is built, with the injected random', () => {
  const draws = [0.05, 0.5, 0.24, 0.25, 0.99];
  let next = 0;
  const { log, lines } = accessLog({ sampling: 0.25 }, { random: () => draws[next++]! });
  for (let i = 0; i < draws.length; i++) log.log(exchange({ requestId: `r${i}` }), null, 200, 1, 0, 0);
  assert.deepEqual(records(lines).map((r) => r.requestId), ['r0', 'r2']);
  assert.equal(next, draws.length, 'one draw per request that passed the filters');

  let drawn = 0;
  const filtered = accessLog({ sampling: 0.5, filters: { statusCodes: ['500-599'] } }, { random: () => (drawn++, 0) });
  filtered.log.log(exchange(), null, 200, 1, 0, 0);
  assert.equal(drawn, 0, 'no draw for a request the filters left out');
  const none = accessLog({ sampling: 0 }, { random: () => 0 });
  none.log.log(exchange(), null, 200, 1, 0, 0);
  assert.equal(none.lines.length, 0);
  let allDraws = 0;
  const all = accessLog({ sampling: 1 }, { random: () => (allDraws++, 0.999) });
  all.log.log(exchange(), null, 200, 1, 0, 0);
  assert.equal(all.lines.length, 1);
  assert.equal(allDraws, 0, 'sampling 1 draws nothing');
});

test('common format: Traefik\'s CLF line', () => {
  const { log, lines } = accessLog({ format: 'common' });
  log.log(exchange(), TRACE, 200, 12.6, 0, 1234);
  log.log(exchange({ router: null, upstream: null, headers: {}, clientIp: '' }), null, 404, 0.4, 0, 19);
  assert.deepEqual(lines, [
    '203.0.113.9 - - [22/Nov/2025:09:34:00 +0000] "GET /api/books/7?lang=es HTTP/1.1" 200 1234 "https://example.com/" "curl/8.5" 1 "books" "http://127.0.0.1:3002" 13ms\n',
    '- - - [22/Nov/2025:09:34:00 +0000] "GET /api/books/7?lang=es HTTP/1.1" 404 19 "-" "-" 2 "-" "-" 0ms\n',
  ]);
});

test('pretty format: one short line for a terminal', () => {
  const { log, lines } = accessLog({ format: 'pretty' }, { color: false });
  log.log(exchange({ retries: 2 }), TRACE, 502, 1534.2, 0, 1540);
  const clock = new Date(END - 1534.2);
  const hh = (n: number) => String(n).padStart(2, '0');
  const time = `${hh(clock.getHours())}:${hh(clock.getMinutes())}:${hh(clock.getSeconds())}.${String(clock.getMilliseconds()).padStart(3, '0')}`;
  assert.equal(
    lines[0],
    `${time} 502 GET shop.example.com/api/books/7?lang=es 1.53s 1.5kB router=books service=library stamp=s1 tenant=acme upstream=http://127.0.0.1:3002 retries=2 id=req-1 trace=0af7651916cd43dd8448eb211c80319c\n`,
  );
});

test('pretty format: colours, modes, and no terminal escapes from the request', () => {
  const settings = resolveAccessLogSettings({ fields: { names: { tenant: 'redact', upstream: 'drop', time: 'drop' } } });
  const coloured = prettyFormatter(settings, true)(exchange({ host: 'evil\u001b[2J.example.com' }), null, 503, 2, 0, 10, END);
  const ESC = '\u001b';
  assert.ok(coloured.includes(`${ESC}[31m503${ESC}[0m`), '5xx in red');
  assert.ok(coloured.includes(`tenant=${ESC}[0mREDACTED`));
  assert.doesNotMatch(coloured, /upstream=/);
  assert.ok(!coloured.includes(`${ESC}[2J`), 'a control character from the request is escaped');
  assert.ok(coloured.startsWith(`${ESC}[31m503`), 'time dropped');
  assert.equal(humanBytes(999), '999B');
  assert.equal(humanBytes(1_250_000), '1.3MB');
  assert.equal(humanDuration(0.42), '0.42ms');
  assert.equal(humanDuration(12.34), '12.3ms');
});

test('default format: pretty on a terminal, JSON in a file or a pipe', () => {
  assert.equal(resolveAccessLogSettings({}, { isTTY: true }).format, 'pretty');
  assert.equal(resolveAccessLogSettings({}, { isTTY: false }).format, 'json');
  assert.equal(resolveAccessLogSettings({ filePath: '/tmp/x.log' }, { isTTY: true }).format, 'json');
  assert.equal(resolveAccessLogSettings({ format: 'json' }, { isTTY: true }).format, 'json');
  assert.equal(createAccessLog(undefined), null, 'no accessLog section: off');
});

test('time formats cache the second and stay exact', () => {
  assert.equal(isoTime(Date.UTC(2025, 0, 2, 3, 4, 5, 6)), '2025-01-02T03:04:05.006Z');
  assert.equal(isoTime(Date.UTC(2025, 0, 2, 3, 4, 5, 999.9)), '2025-01-02T03:04:05.999Z');
  assert.equal(isoTime(Date.UTC(2025, 0, 2, 3, 4, 6, 0)), '2025-01-02T03:04:06.000Z');
  assert.equal(clfTime(Date.UTC(2000, 9, 10, 13, 55, 36)), '10/Oct/2000:13:55:36 +0000');
});

test('the TypeBox schema accepts Traefik\'s accessLog and Stampgate\'s additions, and rejects mistakes', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(AccessLogConfig);
  assert.equal(validate({}), true);
  assert.equal(
    validate({
      filePath: '/var/log/access.log',
      format: 'json',
      bufferingSize: 100,
      filters: { statusCodes: ['200', '300-302'], retryAttempts: true, minDuration: '10ms' },
      fields: { defaultMode: 'keep', names: { ClientUsername: 'drop' }, headers: { defaultMode: 'keep', names: { 'User-Agent': 'redact', Authorization: 'drop' } } },
      sampling: 0.1,
    }),
    true,
    JSON.stringify(validate.errors),
  );
  assert.equal(validate({ format: 'xml' }), false);
  assert.equal(validate({ sampling: 1.5 }), false);
  assert.equal(validate({ filters: { statusCodes: ['2xx'] } }), false);
  assert.equal(validate({ fields: { defaultMode: 'hide' } }), false);
  assert.equal(validate({ filepath: '/x' }), false, 'closed: a misspelt key is an error');
});

// The JSON line is built by concatenation (json-line.ts); this holds it to exactly what
// JSON.stringify writes for the record it stands for, whatever the values, modes and headers.
test('a JSON line is exactly JSON.stringify of its record, for any values, field modes and headers', () => {
  const modeName = fc.constantFrom('keep', 'drop', 'redact');
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\u2028', '\ud800', 'a\u0000b', 'ñ'));
  const nullable = fc.option(text, { nil: null });
  const headerName = fc.constantFrom('user-agent', 'authorization', 'x-custom', 'referer');
  fc.assert(
    fc.property(
      fc.record({ defaultMode: modeName, names: fc.dictionary(fc.constantFrom(...FIELDS), modeName), headers: fc.option(fc.record({ defaultMode: modeName }), { nil: undefined }) }),
      fc.record({ requestId: text, clientIp: text, method: text, host: text, url: text, entryPoint: text, router: nullable, service: nullable, stamp: nullable, tenant: nullable, upstream: nullable, retries: fc.nat() }),
      fc.dictionary(headerName, fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 2 }))),
      fc.boolean(),
      fc.record({ status: fc.integer({ min: 0, max: 999 }), duration: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 10_000_000 }).map((micros) => micros / 1000), fc.integer({ min: 0, max: 100 }).map((hundredths) => hundredths / 100)), bytesIn: fc.nat(), bytesOut: fc.nat() }),
      (fields, values, headers, withTrace, numbers) => {
        const config: AccessLogConfig = { format: 'json', fields: { defaultMode: fields.defaultMode, names: fields.names, ...(fields.headers ? { headers: fields.headers } : {}) } };
        const { log, lines } = accessLog(config);
        const { url, ...rest } = values;
        const observed = exchange({ ...rest, req: { url, httpVersion: '1.1' }, headers });
        log.log(observed, withTrace ? TRACE : null, numbers.status, numbers.duration, numbers.bytesIn, numbers.bytesOut);
        const settings = resolveAccessLogSettings(config);
        const mode = (field: (typeof FIELDS)[number]): number => settings.modes[FIELDS.indexOf(field)]!;
        const pick = (field: (typeof FIELDS)[number], value: unknown): unknown => (mode(field) === KEEP ? value : mode(field) === DROP ? undefined : 'REDACTED');
        const record: Record<string, unknown> = {
          time: pick('time', isoTime(END - numbers.duration)),
          requestId: pick('requestId', observed.requestId),
          traceId: withTrace ? pick('traceId', TRACE.traceId) : undefined,
          spanId: withTrace ? pick('spanId', TRACE.spanId) : undefined,
          client: pick('client', observed.clientIp),
          method: pick('method', observed.method),
          host: pick('host', observed.host),
          path: pick('path', url),
          protocol: pick('protocol', 'HTTP/1.1'),
          status: pick('status', numbers.status),
          duration: pick('duration', Math.round(numbers.duration * 1000) / 1000),
          bytesIn: pick('bytesIn', numbers.bytesIn),
          bytesOut: pick('bytesOut', numbers.bytesOut),
          entryPoint: pick('entryPoint', observed.entryPoint),
          router: observed.router === null ? undefined : pick('router', observed.router),
          service: observed.service === null ? undefined : pick('service', observed.service),
          stamp: observed.stamp === null ? undefined : pick('stamp', observed.stamp),
          tenant: observed.tenant === null ? undefined : pick('tenant', observed.tenant),
          upstream: observed.upstream === null ? undefined : pick('upstream', observed.upstream),
          retries: pick('retries', observed.retries),
        };
        if (settings.headers !== null) forEachHeaderField(settings.headers, headers, (key, value) => void (record[key] = value));
        assert.equal(lines.join(''), JSON.stringify(record) + '\n');
      },
    ),
    { numRuns: 300 },
  );
});

// The template keeps the text of the last entryPoint/router/service/stamp and upstream it wrote
// (json-line.ts): a run of lines through one log, with those values drawn from a few (equal text
// in different string objects, nulls, empty strings), must still give each line its own values.
test('one JSON log writing many lines gives each its own route and upstream members', () => {
  // Several characters each, so that the copy is a string object of its own.
  const copy = (value: string): string => [...value].join('');
  const name = fc.constantFrom('web', 'stamps', '', 'a"b', 'señor').chain((value) => fc.constantFrom(value, copy(value)));
  const nullableName = fc.option(name, { nil: null });
  const values = fc.record({ entryPoint: name, router: nullableName, service: nullableName, stamp: nullableName, tenant: nullableName, upstream: nullableName });
  fc.assert(
    fc.property(fc.array(values, { minLength: 1, maxLength: 12 }), (runs) => {
      const { log, lines } = accessLog({ format: 'json' });
      for (const run of runs) log.log(exchange(run), null, 200, 1, 0, 0);
      assert.equal(lines.length, runs.length);
      records(lines).forEach((record, i) => {
        const run = runs[i]!;
        assert.deepEqual(
          [record.entryPoint, record.router, record.service, record.stamp, record.tenant, record.upstream],
          [run.entryPoint, run.router ?? undefined, run.service ?? undefined, run.stamp ?? undefined, run.tenant ?? undefined, run.upstream ?? undefined],
          `line ${i}`,
        );
      });
    }),
    { numRuns: 300 },
  );
});
