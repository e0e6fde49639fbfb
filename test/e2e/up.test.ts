// The demo as a user runs it: `stampgate up` as a real process with its three stamps, the seed's
// curl session replayed against it, then a stamp killed and brought back by the supervisor.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/http-servers.ts';
import { isAlive, runStampgate } from '../helpers/stampgate-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'stampgate-e2e-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

function postBook(url: string, titulo: string) {
  return getJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ titulo, autor: 'Autor' }) });
}

test('stampgate up: the seed session, a stamp crash and recovery, and a clean stop', async () => {
  const gatewayPort = await freePort();
  const stampszPort = await freePort();
  const firstStampPort = await freePort();
  const apiPort = await freePort();
  const up = runStampgate(['up', '--port', String(gatewayPort), '--stampsz-port', String(stampszPort), '--stamp-port', String(firstStampPort), '--api-port', String(apiPort), '--data-dir', dataDir, '--tenant', 'acme=s1']);
  const pids = new Map<string, number>();
  const stampUrls = new Map<string, string>();
  try {
    for (const id of ['default', 's1', 's2']) {
      const [, pid, url] = await up.waitForLine(new RegExp(`stamp ${id} running \\(pid (\\d+)\\) at (\\S+)`));
      pids.set(id, Number(pid));
      stampUrls.set(id, url!);
    }
    await up.waitForLine(/ready: 3 stamps/);
    const gw = `http://127.0.0.1:${gatewayPort}`;
    const stampsz = `http://127.0.0.1:${stampszPort}/stampsz`;

    // The seed's session, step by step.
    assert.deepEqual((await getJson(stampsz)).body, { total_requests: 0, by_stamp: { default: 0, s1: 0, s2: 0 }, stamp_ids: ['default', 's1', 's2'] });
    assert.equal((await postBook(`${gw}/libros`, 'Default')).status, 201);
    assert.equal((await postBook(`${gw}/libros?stamp=2`, 'S2')).status, 201);
    const onDefault = (await getJson(`${gw}/libros`)).body as Array<{ titulo: string }>;
    const onS2 = (await getJson(`${gw}/libros?stamp=2`)).body as Array<{ titulo: string }>;
    assert.deepEqual(onDefault.map((b) => b.titulo), ['Default']);
    assert.deepEqual(onS2.map((b) => b.titulo), ['S2']);
    // Direct access to each stamp shows the same isolation.
    assert.equal(((await getJson(`${stampUrls.get('default')}/libros`)).body as unknown[]).length, 1);
    assert.equal(((await getJson(`${stampUrls.get('s1')}/libros`)).body as unknown[]).length, 0);
    assert.equal(((await getJson(`${stampUrls.get('s2')}/libros`)).body as unknown[]).length, 1);
    // The tenant directory routes acme to s1.
    const viaTenant = await fetch(`${gw}/libros`, { headers: { 'x-tenant-id': 'acme' } });
    assert.equal(viaTenant.headers.get('x-stamp-id'), 's1');
    await viaTenant.arrayBuffer();
    assert.deepEqual((await getJson(stampsz)).body, { total_requests: 5, by_stamp: { default: 2, s1: 1, s2: 2 }, stamp_ids: ['default', 's1', 's2'] });

    assert.deepEqual((await getJson(`${gw}/stampsz`)).body, (await getJson(stampsz)).body, '/stampsz on the gateway and on its own port agree');
    assert.deepEqual(await getJson(`${gw}/readyz`), {
      status: 200,
      body: { status: 'ready', stamps: { default: { status: 'ready', db: 'ok' }, s1: { status: 'ready', db: 'ok' }, s2: { status: 'ready', db: 'ok' } } },
    });
    // A tenant placed through the admin API routes through the gateway at once.
    await up.waitForLine(/admin API on http:\/\/127\.0\.0\.1:\d+/);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/api/v1/tenants`, { method: 'POST', headers: auth, body: '{"id":"globex"}' })).status, 201);
    const placed = (await getJson(`http://127.0.0.1:${apiPort}/api/v1/tenants/globex`, { headers: auth })).body as { stampId: string };
    // The gateway learns of it within a second.
    let routedTo: string | null = null;
    for (const deadline = Date.now() + 1000; routedTo !== placed.stampId && Date.now() < deadline; ) {
      const routed = await fetch(`${gw}/libros`, { headers: { 'x-tenant-id': 'globex' } });
      routedTo = routed.headers.get('x-stamp-id');
      await routed.arrayBuffer();
    }
    assert.equal(routedTo, placed.stampId);
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/api/v1/tenants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"nope"}' })).status, 401, 'no anonymous writes');
    assert.match(await (await fetch(`http://127.0.0.1:${stampszPort}/metrics`)).text(), /stampgate_stamp_requests_total\{[^}]*stamp="s1"/);

    const unknown = await getJson(`${gw}/libros?stamp=7`);
    assert.equal(unknown.status, 404);
    assert.match(String((unknown.body as { detail: string }).detail), /known stamps: default, s1, s2/);

    // Kill s2 as a crash would.
    process.kill(pids.get('s2')!, 'SIGKILL');
    await up.waitForLine(/stamp s2 killed by SIGKILL; restarting in \d+ ms/);
    const started = Date.now();
    const whileDown = await getJson(`${gw}/libros?stamp=2`);
    assert.equal(whileDown.status, 503);
    assert.ok(Date.now() - started < 1000, 'the answer for a dead stamp comes within a second');
    assert.equal((whileDown.body as { stamp: string }).stamp, 's2');
    assert.equal((await getJson(`${gw}/libros`)).status, 200, 'the other stamps keep serving');
    assert.equal((await getJson(`${gw}/libros?stamp=1`)).status, 200);
    const degraded = await getJson(`${gw}/readyz`);
    assert.equal(degraded.status, 503);
    assert.equal((degraded.body as { status: string }).status, 'degraded');
    assert.equal((degraded.body as { stamps: Record<string, { status: string }> }).stamps.s2!.status, 'down');

    // The supervisor brings it back, with its data.
    const [, newPid] = await up.waitForLine(new RegExp(`stamp s2 running \\(pid (?!${pids.get('s2')}\\b)(\\d+)\\)`));
    pids.set('s2', Number(newPid));
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${gw}/readyz`).then((r) => r.status)) !== 200) {
      assert.ok(Date.now() < deadline, 's2 ready again within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(((await getJson(`${gw}/libros?stamp=2`)).body as Array<{ titulo: string }>).map((b) => b.titulo), ['S2']);
  } finally {
    up.child.kill('SIGTERM');
  }
  const { code } = await up.exited;
  assert.equal(code, 0, `stampgate up exits 0 on SIGTERM; output:\n${up.lines.slice(-20).join('\n')}`);
  for (const [id, pid] of pids) assert.equal(isAlive(pid), false, `stamp ${id} (pid ${pid}) is gone`);
});

test('stampgate up refuses bad options and busy ports with one clear line', async () => {
  const badPort = runStampgate(['up', '--port', 'abc']);
  assert.notEqual((await badPort.exited).code, 0);
  assert.match(badPort.lines.join('\n'), /--port.*expected a port number from 0 to 65535, found "abc"/);

  const badTenant = runStampgate(['up', '--tenant', 'acme']);
  assert.notEqual((await badTenant.exited).code, 0);
  assert.match(badTenant.lines.join('\n'), /expected TENANT=STAMP/);

  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as { port: number }).port;
  try {
    const clash = runStampgate(['up', '--port', String(busy), '--stampsz-port', '0', '--data-dir', join(dataDir, 'busy')]);
    assert.equal((await clash.exited).code, 2);
    assert.deepEqual(clash.lines, [`stampgate: port ${busy} (--port) is already in use on 127.0.0.1; choose another with --port`]);
  } finally {
    blocker.close();
  }
});
