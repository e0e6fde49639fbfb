// Scenario (g)'s gateway, run by bench/reload.ts as `node --expose-gc` in its own process:
// Stampgate's Gateway with a `stamps` service of STAMPS stamps (all at UPSTREAM) and TENANTS tenants
// in its directory. It measures, itself, what only it can see:
//
//   - the heap the directory takes: heapUsed after global.gc() with the gateway listening and an
//     empty directory, then again with the TENANTS tenants loaded (the difference is the directory);
//   - the time of each reload, asked for by the harness while its load runs (POST /reload on the
//     control port): gateway.applyConfig(a new config version) then
//     gateway.directory.replace(tenants.map(…)) with TENANTS tenants on other stamps, as
//     src/cli/local-system.ts reloads from the catalog. Both are synchronous: the gateway serves
//     nothing else meanwhile, so that time is also the longest a request can wait on a reload.
//
// The tenant lists the reloads bring are parsed from JSON before the load starts (RELOADS of them),
// so that building them is not counted and does not stall the load; they stand for a config feed's
// payload once parsed. Ids come out of JSON.parse as flat strings, as from a feed or a database
// driver, and the stamp ids are shared.
//
// Prints one line {"listening":<gateway port>,"control":<port>,…figures} when ready; the control
// port also answers GET /heap (heapUsed after gc, rss) once the load is over.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamicConfig } from '../../../src/config/schema/dynamic.ts';
import { Gateway } from '../../../src/gateway/gateway.ts';
import { stampsGatewayConfig } from '../../../src/gateway/stamps/stamps-config.ts';
import { stampId, tenantId } from '../../scenarios.ts';
import { exitWithParent, listenPort, requiredEnv, upstreamUrl } from './common.ts';

const tenantCount = Number(requiredEnv('TENANTS'));
const stampCount = Number(requiredEnv('STAMPS'));
const reloadCount = Number(requiredEnv('RELOADS'));
const upstream = upstreamUrl();
const gc = globalThis.gc;
if (gc === undefined) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

interface TenantRecord {
  id: string;
  stampId: string;
}

const stampIds = Array.from({ length: stampCount }, (_, i) => stampId(i));

/** Version n of the config: the stamps, and on even versions one more (`spare`), so each reload changes something. */
function configFor(version: number): { staticConfig: ReturnType<typeof stampsGatewayConfig>['staticConfig']; dynamicConfig: DynamicConfig } {
  const stamps = stampIds.map((id) => ({ id, url: upstream }));
  if (version % 2 === 0) stamps.push({ id: 'spare', url: upstream });
  return stampsGatewayConfig({ address: `127.0.0.1:${listenPort()}`, stamps });
}

/** The N tenants, tenant i on stamp (i + shift) mod STAMPS, ids parsed from JSON in chunks. */
function tenantList(shift: number): TenantRecord[] {
  const list: TenantRecord[] = new Array<TenantRecord>(tenantCount);
  const chunk = 50_000;
  for (let from = 0; from < tenantCount; from += chunk) {
    const to = Math.min(tenantCount, from + chunk);
    const ids = JSON.parse(JSON.stringify(Array.from({ length: to - from }, (_, k) => tenantId(from + k)))) as string[];
    for (let k = 0; k < ids.length; k++) list[from + k] = { id: ids[k]!, stampId: stampIds[(from + k + shift) % stampCount]! };
  }
  return list;
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

let version = 1;
const { staticConfig, dynamicConfig } = configFor(version);
const gateway = new Gateway({ staticConfig, log: (line) => process.stderr.write(`${line}\n`) });
gateway.applyConfig(dynamicConfig, version);
const addresses = await gateway.listen();

/** The first load of the directory; the list is garbage once it returns. */
function loadDirectory(): number {
  const tenants = tenantList(0);
  const start = performance.now();
  gateway.directory.replace(tenants.map((t) => [t.id, t.stampId]));
  return performance.now() - start;
}

const heapBaseBytes = heapUsed();
const initialLoadMs = loadDirectory();
const heapWithDirectoryBytes = heapUsed();
if (gateway.directory.size !== tenantCount) throw new Error(`the directory holds ${gateway.directory.size} tenants, not ${tenantCount}`);

const pending = Array.from({ length: reloadCount }, (_, i) => tenantList(i + 1));

const control = http.createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'POST' && req.url === '/reload') {
    const tenants = pending.shift();
    if (tenants === undefined) return reply(409, { error: 'no more reloads prepared' });
    version++;
    const next = configFor(version).dynamicConfig;
    const start = performance.now();
    gateway.applyConfig(next, version);
    const applied = performance.now();
    gateway.directory.replace(tenants.map((t) => [t.id, t.stampId]));
    const end = performance.now();
    if (gateway.directory.size !== tenantCount) return reply(500, { error: `the directory holds ${gateway.directory.size} tenants after the reload` });
    return reply(200, { applyMs: applied - start, replaceMs: end - applied, totalMs: end - start });
  }
  if (req.method === 'GET' && req.url === '/heap') return reply(200, { heapUsedBytes: heapUsed(), rssBytes: process.memoryUsage().rss });
  reply(404, { error: 'POST /reload or GET /heap' });
});
control.listen(0, '127.0.0.1', () => {
  console.log(
    JSON.stringify({
      listening: addresses.get('web')?.port,
      control: (control.address() as AddressInfo).port,
      heapBaseBytes,
      heapWithDirectoryBytes,
      initialLoadMs,
      rssBytes: process.memoryUsage().rss,
    }),
  );
  exitWithParent();
});
