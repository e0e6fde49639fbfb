import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayTracer, type SpanRecorder } from '../../src/observe/tracing/gateway-tracer.ts';
import { newSpanId, newTraceId } from '../../src/observe/tracing/random-ids.ts';
import { formatTraceparent, isValidTracestate, parseTraceparent, type TraceContext } from '../../src/observe/tracing/trace-context.ts';
import { resolveTracingSettings } from '../../src/observe/tracing/tracing-config.ts';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

test('parses the spec\'s example traceparent', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01`), { version: 0, traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 });
  assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`), { version: 0, traceId: TRACE_ID, parentId: PARENT_ID, flags: 0 });
  // Flags other than sampled are parsed (Level 2's random flag is 02); the gateway only reads bit 0.
  assert.equal(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-03`)?.flags, 3);
  assert.equal(parseTraceparent('00-12345678901234567890123456789012-1234567890123456-01')?.traceId, '12345678901234567890123456789012');
});

test('rejects traceparents the spec calls invalid', () => {
  const invalid: [string, string][] = [
    ['', 'empty'],
    [`00-${TRACE_ID}-${PARENT_ID}`, 'no flags'],
    [`00-${TRACE_ID}-${PARENT_ID}-0`, 'one-digit flags'],
    [`00-${TRACE_ID}-${PARENT_ID}-01-`, 'version 00 with a trailing dash'],
    [`00-${TRACE_ID}-${PARENT_ID}-01-extra`, 'version 00 longer than 55'],
    [`00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, 'upper-case trace id'],
    [`00-${TRACE_ID}-${PARENT_ID.toUpperCase()}-01`, 'upper-case parent id'],
    [`00-${TRACE_ID}-${PARENT_ID}-0A`, 'upper-case flags'],
    [`0A-${TRACE_ID}-${PARENT_ID}-01`, 'upper-case version'],
    [`ff-${TRACE_ID}-${PARENT_ID}-01`, 'version ff'],
    [`0-${TRACE_ID}-${PARENT_ID}-01`, 'one-digit version'],
    [`00-${'0'.repeat(32)}-${PARENT_ID}-01`, 'all-zero trace id'],
    [`00-${TRACE_ID}-${'0'.repeat(16)}-01`, 'all-zero parent id'],
    [`00-${TRACE_ID.slice(1)}g-${PARENT_ID}-01`, 'non-hex trace id'],
    [`00-${TRACE_ID}-${PARENT_ID.slice(1)}z-01`, 'non-hex parent id'],
    [`00-${TRACE_ID}-${PARENT_ID}-0g`, 'non-hex flags'],
    [`00_${TRACE_ID}_${PARENT_ID}_01`, 'underscores for dashes'],
    [`00-${TRACE_ID}1-${PARENT_ID.slice(1)}-01`, 'trace id one too long'],
    [`00-${TRACE_ID.slice(1)}-1${PARENT_ID}-01`, 'parent id one too long'],
    [` 00-${TRACE_ID}-${PARENT_ID}-0`, 'leading space'],
    [`00-${TRACE_ID}-${PARENT_ID}-01, 00-${TRACE_ID}-${PARENT_ID}-01`, 'two headers joined by node:http'],
  ];
  for (const [value, why] of invalid) assert.equal(parseTraceparent(value), null, why);
  assert.equal(parseTraceparent(undefined), null);
});

test('reads a higher version by its first four fields, as the spec asks', () => {
  assert.deepEqual(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01`), { version: 0xcc, traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 });
  assert.equal(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`)?.traceId, TRACE_ID);
  assert.equal(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01.what-the-future-will-be-like`), null, 'flags must end the string or be followed by a dash');
  assert.equal(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-0`), null, 'shorter than 55');
  assert.equal(parseTraceparent(`cc-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`), null);
});

test('formats version 00', () => {
  assert.equal(formatTraceparent(TRACE_ID, PARENT_ID, true), `00-${TRACE_ID}-${PARENT_ID}-01`);
  assert.equal(formatTraceparent(TRACE_ID, PARENT_ID, false), `00-${TRACE_ID}-${PARENT_ID}-00`);
});

test('validates tracestate lists', () => {
  assert.equal(isValidTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), true);
  assert.equal(isValidTracestate('rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE'), true, 'optional whitespace around commas');
  assert.equal(isValidTracestate('tenant@vendor=x,,other=y'), true, 'multi-tenant key; empty members are allowed');
  assert.equal(isValidTracestate('1tenant@vendor=x'), true, 'a tenant id may start with a digit');
  assert.equal(isValidTracestate('Rojo=1'), false, 'upper-case key');
  assert.equal(isValidTracestate('1rojo=1'), false, 'a simple key starts with a letter');
  assert.equal(isValidTracestate('rojo='), false, 'empty value');
  assert.equal(isValidTracestate('rojo=a,b'), false, 'member without "="');
  assert.equal(isValidTracestate('rojo=a=b'), false, '"=" in a value');
  assert.equal(isValidTracestate('rojo=1,rojo=2'), false, 'duplicate key');
  assert.equal(isValidTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')), true, '32 members');
  assert.equal(isValidTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), false, '33 members');
  assert.equal(isValidTracestate(`k=${'v'.repeat(256)}`), true, '256-character value');
  assert.equal(isValidTracestate(`k=${'v'.repeat(257)}`), false, '257-character value');
});

test('random ids are lower-case hex of the right length, never zero, and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const traceId = newTraceId();
    const spanId = newSpanId();
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.match(spanId, /^[0-9a-f]{16}$/);
    seen.add(spanId);
  }
  assert.equal(seen.size, 5000);
});

test('a request without traceparent starts a trace, unsampled when nothing records', () => {
  const trace = new GatewayTracer().start({});
  assert.match(trace.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.equal(trace.traceparent, `00-${trace.traceId}-${trace.spanId}-00`);
  assert.equal(trace.parentSpanId, null);
  assert.equal(trace.sampled, false);
  assert.equal(trace.traceState, null);
});

test('a valid traceparent is continued with a child span id; flags and tracestate pass on', () => {
  const tracer = new GatewayTracer();
  const sampled = tracer.start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'rojo=00f067aa0ba902b7' });
  assert.equal(sampled.traceId, TRACE_ID);
  assert.equal(sampled.parentSpanId, PARENT_ID);
  assert.notEqual(sampled.spanId, PARENT_ID);
  assert.equal(sampled.traceparent, `00-${TRACE_ID}-${sampled.spanId}-01`);
  assert.equal(sampled.traceState, 'rojo=00f067aa0ba902b7');
  const unsampled = tracer.start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
  assert.equal(unsampled.sampled, false);
  assert.equal(unsampled.traceparent, `00-${TRACE_ID}-${unsampled.spanId}-00`);
  // A higher version is answered with version 00.
  assert.equal(tracer.start({ traceparent: `cc-${TRACE_ID}-${PARENT_ID}-01-future` }).traceparent.slice(0, 36), `00-${TRACE_ID}-`);
});

test('an invalid traceparent starts a new trace and its tracestate is dropped', () => {
  const trace = new GatewayTracer().start({ traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, tracestate: 'rojo=1' });
  assert.notEqual(trace.traceId, TRACE_ID.toUpperCase());
  assert.equal(trace.parentSpanId, null);
  assert.equal(trace.traceState, null);
  assert.equal(new GatewayTracer().start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'Bad=1' }).traceState, null, 'an invalid tracestate is not forwarded');
});

function fakeRecorder(): SpanRecorder & { recorded: TraceContext[] } {
  const recorded: TraceContext[] = [];
  return { recorded, record: (_e, trace) => void recorded.push(trace), forceFlush: async () => {}, shutdown: async () => {} };
}

test('sampling: new traces by sampleRate, a caller\'s flag as it came', () => {
  const never = new GatewayTracer(fakeRecorder(), 0);
  const always = new GatewayTracer(fakeRecorder(), 1);
  for (let i = 0; i < 200; i++) {
    assert.equal(never.start({}).sampled, false);
    assert.equal(always.start({}).sampled, true);
  }
  assert.equal(never.start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }).sampled, true, 'parent-based');
  assert.equal(always.start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` }).sampled, false, 'parent-based');
  // The decision follows the trace id's low 32 bits, the same on every replica.
  const half = new GatewayTracer(fakeRecorder(), 0.5);
  let sampled = 0;
  for (let i = 0; i < 4000; i++) {
    const trace = half.start({});
    assert.equal(trace.sampled, Number.parseInt(trace.traceId.slice(24), 16) < 2 ** 31);
    if (trace.sampled) sampled++;
  }
  assert.ok(sampled > 1700 && sampled < 2300, `about half sampled, found ${sampled}`);
});

test('end() records sampled requests only, and nothing without a recorder', () => {
  const recorder = fakeRecorder();
  const tracer = new GatewayTracer(recorder, 1);
  assert.equal(tracer.recording, true);
  assert.equal(new GatewayTracer().recording, false);
  const exchange = {} as Parameters<GatewayTracer['end']>[0];
  const yes = tracer.start({});
  const no = tracer.start({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
  tracer.end(exchange, yes, 200, 1, 0, 0);
  tracer.end(exchange, no, 200, 1, 0, 0);
  assert.deepEqual(recorder.recorded, [yes]);
});

test('tracing config: Stampgate\'s otlp shape, Traefik\'s, and nothing', () => {
  assert.equal(resolveTracingSettings(undefined), null);
  assert.equal(resolveTracingSettings({ serviceName: 'gw' }), null, 'no otlp section: propagation only');
  assert.deepEqual(resolveTracingSettings({ otlp: { endpoint: 'http://collector:4318', headers: { a: 'b' }, serviceName: 'gw', sampleRate: 0.5 } }), {
    endpoint: 'http://collector:4318/v1/traces',
    headers: { a: 'b' },
    serviceName: 'gw',
    sampleRate: 0.5,
  });
  assert.deepEqual(resolveTracingSettings({ serviceName: 'edge', sampleRate: 0.2, otlp: { http: { endpoint: 'https://otel.example.com/custom/traces', headers: { k: 'v' } } } }), {
    endpoint: 'https://otel.example.com/custom/traces',
    headers: { k: 'v' },
    serviceName: 'edge',
    sampleRate: 0.2,
  });
  assert.equal(resolveTracingSettings({ otlp: {} })?.endpoint, 'http://localhost:4318/v1/traces');
  assert.equal(resolveTracingSettings({ otlp: {} })?.serviceName, 'stampgate');
});
