// The gateway's spans reach a real OTLP/HTTP receiver (a node:http server on port 0) with the trace
// id the gateway propagated, and the SDK is not even loaded when tracing is not configured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { ObservedExchange } from '../../src/observe/observed-exchange.ts';
import { createGatewayTracer } from '../../src/observe/tracing/gateway-tracer.ts';

interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean }
interface OtlpAttribute { key: string; value: OtlpValue }
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpRequest { resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[] }

async function otlpReceiver(): Promise<{ url: string; requests: { path: string; headers: http.IncomingHttpHeaders; body: OtlpRequest }[]; close(): Promise<void> }> {
  const requests: { path: string; headers: http.IncomingHttpHeaders; body: OtlpRequest }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      requests.push({ path: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function exchange(fields: Partial<ObservedExchange>): ObservedExchange {
  return {
    req: { url: '/api/books/7?lang=es', httpVersion: '1.1' },
    requestId: 'req-42',
    entryPoint: 'web',
    secure: true,
    remoteAddress: '10.0.0.2',
    clientIp: '203.0.113.9',
    method: 'GET',
    host: 'shop.example.com',
    path: '/books/7',
    query: 'lang=es',
    headers: { 'user-agent': 'curl/8.5' },
    router: 'books',
    service: 'library',
    stamp: 's1',
    tenant: 'acme',
    upstream: 'http://127.0.0.1:3002',
    upgrade: null,
    retries: 0,
    startedAt: performance.now(),
    ...fields,
  };
}

function attributes(span: OtlpSpan): Record<string, string | number | boolean | undefined> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : a.value.boolValue)]));
}

test('a sampled request\'s span arrives at the OTLP receiver with the propagated ids and the HTTP and routing attributes', async (t) => {
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createGatewayTracer({ otlp: { endpoint: receiver.url, headers: { 'x-api-key': 'secret' }, serviceName: 'gateway-test' } }, { scheduledDelayMillis: 50 });
  t.after(() => tracer.shutdown());
  assert.equal(tracer.recording, true);

  const continued = exchange({ headers: { 'user-agent': 'curl/8.5', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'rojo=00f067aa0ba902b7' } });
  const continuedTrace = tracer.start(continued.headers);
  tracer.end(continued, continuedTrace, 200, 12.5, 0, 1234);

  const root = exchange({ method: 'POST', router: 'loans', service: 'library', stamp: 'default', headers: {} });
  const rootTrace = tracer.start(root.headers);
  assert.equal(rootTrace.sampled, true, 'sampleRate defaults to 1');
  tracer.end(root, rootTrace, 502, 30, 10, 80);

  const unsampled = exchange({ headers: { traceparent: '00-11111111111111111111111111111111-2222222222222222-00' } });
  tracer.end(unsampled, tracer.start(unsampled.headers), 200, 1, 0, 0);

  await tracer.forceFlush();
  assert.ok(receiver.requests.length >= 1);
  const request = receiver.requests[0]!;
  assert.equal(request.path, '/v1/traces', '/v1/traces added to an endpoint without a path');
  assert.equal(request.headers['x-api-key'], 'secret');
  assert.match(String(request.headers['content-type']), /^application\/json/);

  const resourceSpans = receiver.requests.flatMap((r) => r.body.resourceSpans);
  const serviceName = resourceSpans[0]!.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
  assert.equal(serviceName, 'gateway-test');
  const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  assert.equal(spans.length, 2, 'the unsampled request is not exported');

  const span = spans.find((s) => s.traceId === '0af7651916cd43dd8448eb211c80319c');
  assert.ok(span, `a span with the caller's trace id, found ${spans.map((s) => s.traceId).join(', ')}`);
  assert.equal(span.spanId, continuedTrace.spanId, 'the span id is the parent id the upstream received');
  assert.equal(span.parentSpanId, 'b7ad6b7169203331');
  assert.equal(span.traceState, 'rojo=00f067aa0ba902b7');
  assert.equal(span.kind, 2, 'SERVER');
  assert.equal(span.name, 'GET books');
  const durationNs = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano));
  assert.ok(Math.abs(durationNs - 12.5e6) < 1e3, `duration ${durationNs} ns`);
  assert.ok(Math.abs(Number(BigInt(span.endTimeUnixNano) / 1_000_000n) - Date.now()) < 60_000, 'wall-clock times');
  assert.deepEqual(attributes(span), {
    'http.request.method': 'GET',
    'url.scheme': 'https',
    'url.path': '/api/books/7',
    'server.address': 'shop.example.com',
    'client.address': '203.0.113.9',
    'network.peer.address': '10.0.0.2',
    'network.protocol.version': '1.1',
    'http.response.status_code': 200,
    'http.request.body.size': 0,
    'http.response.body.size': 1234,
    'stampgate.entrypoint': 'web',
    'stampgate.request_id': 'req-42',
    'stampgate.retries': 0,
    'user_agent.original': 'curl/8.5',
    'stampgate.router': 'books',
    'stampgate.service': 'library',
    'stampgate.stamp': 's1',
    'stampgate.tenant': 'acme',
    'stampgate.upstream': 'http://127.0.0.1:3002',
  });
  assert.notEqual(span.status?.code, 2);

  const error = spans.find((s) => s.traceId === rootTrace.traceId)!;
  assert.equal(error.spanId, rootTrace.spanId);
  assert.equal(error.parentSpanId ?? '', '', 'a root span');
  assert.equal(error.status?.code, 2, 'a 5xx is an ERROR span');
  assert.equal(attributes(error)['error.type'], '502');
  assert.equal(attributes(error)['stampgate.stamp'], 'default');
});

test('without tracing.otlp the OpenTelemetry SDK is never loaded', async () => {
  const script = `
    import { createRequire } from 'node:module';
    const { createGatewayTracer } = await import(${JSON.stringify(new URL('../../src/observe/tracing/gateway-tracer.ts', import.meta.url).href)});
    const tracer = await createGatewayTracer({ serviceName: 'x' });
    const trace = tracer.start({});
    tracer.end({}, trace, 200, 1, 0, 0);
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@opentelemetry'));
    console.log(JSON.stringify({ recording: tracer.recording, traceparent: trace.traceparent, loaded }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url) });
  const result = JSON.parse(stdout) as { recording: boolean; traceparent: string; loaded: string[] };
  assert.equal(result.recording, false);
  assert.match(result.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.deepEqual(result.loaded, []);
});
