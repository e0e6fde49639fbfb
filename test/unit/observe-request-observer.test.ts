import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';
import { AccessLog } from '../../src/observe/access-log/access-log.ts';
import { resolveAccessLogSettings } from '../../src/observe/access-log/access-log-config.ts';
import type { LineSink } from '../../src/observe/access-log/line-sink.ts';
import { GatewayMetrics } from '../../src/observe/metrics/gateway-metrics.ts';
import { declaredRequestBytes, type ObservedExchange } from '../../src/observe/observed-exchange.ts';
import { createRequestObserver, RequestObserver } from '../../src/observe/request-observer.ts';
import { ObservabilityStaticConfig } from '../../src/observe/static-config.ts';
import { GatewayTracer, type SpanRecorder } from '../../src/observe/tracing/gateway-tracer.ts';
import type { TraceContext } from '../../src/observe/tracing/trace-context.ts';

// The gateway passes its Exchange as it is: this stops compiling if the two drift apart.
const _exchangeIsObserved = (exchange: Exchange): ObservedExchange => exchange;

type Fields = Partial<Omit<ObservedExchange, 'headers'>> & { headers?: IncomingHttpHeaders };

function exchange(fields: Fields = {}): ObservedExchange {
  return {
    req: { url: '/api/books', httpVersion: '1.1' },
    requestId: 'req-9',
    entryPoint: 'web',
    secure: true,
    remoteAddress: '127.0.0.1',
    clientIp: '127.0.0.1',
    method: 'GET',
    host: 'shop.example.com',
    path: '/api/books',
    query: '',
    headers: {},
    router: 'books',
    service: 'library',
    stamp: 'default',
    tenant: null,
    upstream: 'http://127.0.0.1:3001',
    upgrade: null,
    retries: 0,
    startedAt: performance.now(),
    ...fields,
  };
}

function memorySink(): LineSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line), flush: async () => {}, close: async () => {} };
}

test('with everything off, start() still propagates and finish() does nothing', async () => {
  const observer = new RequestObserver();
  const e = exchange({ headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
  const trace = observer.start(e);
  assert.equal(trace.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(trace.traceparent, `00-0af7651916cd43dd8448eb211c80319c-${trace.spanId}-01`);
  observer.finish(e, trace, 200, 1, 0, 0);
  assert.equal(observer.metrics, null);
  assert.equal(observer.accessLog, null);
  assert.equal(observer.tracer.recording, false);
  await observer.close();
});

test('finish() feeds metrics, the access log and the span recorder', async () => {
  const recorded: TraceContext[] = [];
  const recorder: SpanRecorder = { record: (_e, trace) => void recorded.push(trace), forceFlush: async () => {}, shutdown: async () => {} };
  const sink = memorySink();
  const observer = new RequestObserver({
    metrics: new GatewayMetrics({ processMetrics: false }),
    accessLog: new AccessLog(resolveAccessLogSettings({}), { sink }),
    tracer: new GatewayTracer(recorder, 1),
  });
  const sampled = exchange();
  const sampledTrace = observer.start(sampled);
  observer.finish(sampled, sampledTrace, 200, 20, 0, 512);
  const unsampled = exchange({ headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' } });
  observer.finish(unsampled, observer.start(unsampled), 503, 3, 0, 100);
  observer.finish(exchange(), null, 400, 1, 0, 0);

  assert.deepEqual(recorded, [sampledTrace]);
  const records = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(records.map((r) => [r.status, r.traceId]), [
    [200, sampledTrace.traceId],
    [503, '0af7651916cd43dd8448eb211c80319c'],
    [400, undefined],
  ]);
  const text = await observer.metrics!.metrics();
  assert.match(text, /^traefik_entrypoint_requests_total\{code="200",method="GET",protocol="http",entrypoint="web"\} 1$/m);
  assert.match(text, /^traefik_service_requests_total\{code="503",method="GET",protocol="http",service="library"\} 1$/m);
});

test('createRequestObserver builds the parts the static config asks for', async () => {
  const sink = memorySink();
  const observer = await createRequestObserver({ metrics: { prometheus: { processMetrics: false } }, accessLog: { format: 'common' } }, { accessLog: { sink } });
  assert.ok(observer.metrics instanceof GatewayMetrics);
  assert.ok(observer.accessLog instanceof AccessLog);
  assert.equal(observer.tracer.recording, false, 'no tracing.otlp: propagation only');
  const e = exchange();
  observer.finish(e, observer.start(e), 200, 1, 0, 7);
  assert.match(sink.lines[0]!, /"GET \/api\/books HTTP\/1.1" 200 7 /);
  const none = await createRequestObserver({});
  assert.equal(none.metrics, null);
  assert.equal(none.accessLog, null);
});

test('request bytes from Content-Length', () => {
  assert.equal(declaredRequestBytes({ 'content-length': '1024' }), 1024);
  assert.equal(declaredRequestBytes({}), 0);
  assert.equal(declaredRequestBytes({ 'content-length': 'abc' }), 0);
  assert.equal(declaredRequestBytes({ 'content-length': '-3' }), 0);
});

test('the static-config pieces validate a Traefik-style file with Stampgate\'s additions', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(Type.Object({ entryPoints: Type.Object({}), ...ObservabilityStaticConfig }, { additionalProperties: false }));
  const config = {
    entryPoints: {},
    accessLog: { filePath: '/var/log/access.log', format: 'json', filters: { statusCodes: ['500-599'] }, sampling: 0.5 },
    metrics: { prometheus: { buckets: [0.1, 0.3, 1.2, 5.0], addEntryPointsLabels: true, addRoutersLabels: true, addServicesLabels: true, entryPoint: 'metrics' } },
    tracing: { serviceName: 'edge', sampleRate: 0.2, otlp: { http: { endpoint: 'http://collector:4318/v1/traces' } } },
  };
  assert.equal(validate(config), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...config, tracing: { otlp: { endpoint: 'http://collector:4318', headers: { authorization: 'Bearer x' }, serviceName: 'gw', sampleRate: 1 } } }), true);
  assert.equal(validate({ ...config, tracing: { otlp: { endpoint: 'collector:4318' } } }), false, 'an endpoint is an http(s) URL');
  assert.equal(validate({ ...config, tracing: { sampleRate: 2 } }), false);
  assert.equal(validate({ ...config, metrics: { prometheus: { buckets: [0] } } }), false);
  assert.equal(validate({ ...config, metrics: { prometheus: { headerLabels: { a: 'b' } } } }), false, 'headerLabels is not supported');
});
