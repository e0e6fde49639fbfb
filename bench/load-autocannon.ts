// Runs one autocannon load in its own process (so the harness's event loop is not the bottleneck)
// and prints the result as one line for load.ts. Usage: node bench/load-autocannon.ts <options.json>
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { tenantId, type TenantHeader } from './scenarios.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/load-autocannon.ts <options.json>');
const { tenantHeader, ...options } = JSON.parse(readFileSync(file, 'utf8')) as autocannon.Options & { tenantHeader?: TenantHeader };
if (tenantHeader) {
  // A tenant id drawn at random per request (autocannon then builds every request anew).
  const { name, count } = tenantHeader;
  options.requests = [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, [name]: tenantId(Math.floor(Math.random() * count)) } }) }];
}
const result = await autocannon({ ...options, timeout: 5 });
// autocannon's latencies are in milliseconds.
console.log(
  `BENCH_RESULT ${JSON.stringify({
    requests: result.requests.total,
    durationS: result.duration,
    p50Us: Math.round(result.latency.p50 * 1000),
    p99Us: Math.round(result.latency.p99 * 1000),
    maxUs: Math.round(result.latency.max * 1000),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  })}`,
);
