// `stampgate gateway --config` as a user runs it: Traefik-format files, live reload on file change
// and SIGHUP, a bad edit rejected with the running config kept, and clear errors for bad files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type TestServer } from '../helpers/http-servers.ts';
import { runStampgate } from '../helpers/stampgate-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'stampgate-gwcmd-'));
const upstreams: TestServer[] = [];
after(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function upstream(name: string): Promise<TestServer> {
  const server = await startServer((req, res) => res.writeHead(200, { 'x-server': name }).end(`${name} ${req.url}`));
  upstreams.push(server);
  return server;
}

function dynamicYaml(routes: Array<{ name: string; prefix: string; url: string }>): string {
  return [
    'http:',
    '  routers:',
    ...routes.flatMap((r) => [`    ${r.name}:`, `      rule: "PathPrefix(\`${r.prefix}\`)"`, `      service: ${r.name}`]),
    '  services:',
    ...routes.flatMap((r) => [`    ${r.name}:`, '      loadBalancer:', '        servers:', `          - url: "${r.url}"`]),
    '',
  ].join('\n');
}

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('stampgate gateway: serves the files, reloads on change and SIGHUP, keeps the running config on a bad edit', async () => {
  const users = await upstream('users');
  const music = await upstream('music');
  const port = await freePort();
  const dynamicFile = join(dir, 'dynamic.yml');
  writeFileSync(join(dir, 'static.yml'), `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  file:\n    filename: dynamic.yml\n    watch: true\n`);
  writeFileSync(dynamicFile, dynamicYaml([{ name: 'users', prefix: '/users', url: users.url }]));
  const gateway = runStampgate(['gateway', '--config', join(dir, 'static.yml')]);
  try {
    await gateway.waitForLine(/entrypoint web listening on 127\.0\.0\.1:\d+/);
    const base = `http://127.0.0.1:${port}`;
    assert.equal(await text(`${base}/users/1`), '200 users /users/1');
    assert.match(await text(`${base}/music/1`), /^404 .*no router on entrypoint/);

    writeFileSync(dynamicFile, dynamicYaml([{ name: 'users', prefix: '/users', url: users.url }, { name: 'music', prefix: '/music', url: music.url }]));
    await gateway.waitForLine(/configuration version 2 applied/);
    assert.equal(await text(`${base}/music/1`), '200 music /music/1');

    writeFileSync(dynamicFile, 'http:\n  routers:\n    users:\n      rule: "PathPrefix(`/users`)"\n      service: nowhere\n');
    await gateway.waitForLine(/configuration rejected, version 2 stays in service/);
    assert.match(gateway.lines.join('\n'), /http\.routers\.users\.service/);
    assert.equal(await text(`${base}/music/1`), '200 music /music/1', 'the running version keeps serving');

    writeFileSync(dynamicFile, dynamicYaml([{ name: 'music', prefix: '/music', url: music.url }]));
    await eventually(async () => (await text(`${base}/users/1`)).startsWith('404'), 'the fixed file to replace the users route');
  } finally {
    gateway.child.kill('SIGTERM');
  }
  assert.equal((await gateway.exited).code, 0);
});

// The access log through the real sink: lines held by bufferingSize are written when the gateway
// stops, whole and one per request.
test('stampgate gateway with accessLog to a file: one JSON line per request, all written when it stops', async () => {
  const users = await upstream('users');
  const port = await freePort();
  const logDir = join(dir, 'access-log');
  const accessLogFile = join(logDir, 'access.log'); // the directory does not exist yet: it is made
  writeFileSync(join(dir, 'static-log.yml'), `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\naccessLog:\n  filePath: ${JSON.stringify(accessLogFile)}\n  bufferingSize: 1000\nproviders:\n  file:\n    filename: dynamic-log.yml\n`);
  writeFileSync(join(dir, 'dynamic-log.yml'), dynamicYaml([{ name: 'users', prefix: '/users', url: users.url }]));
  const gateway = runStampgate(['gateway', '--config', join(dir, 'static-log.yml')]);
  const paths = Array.from({ length: 30 }, (_, i) => `/users/${i}?q=${i % 2 === 0 ? 'se%C3%B1or' : '%22quoted%22'}`);
  try {
    await gateway.waitForLine(/entrypoint web listening on 127\.0\.0\.1:\d+/);
    for (const path of paths) assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nowhere`)).status, 404);
  } finally {
    gateway.child.kill('SIGTERM');
  }
  assert.equal((await gateway.exited).code, 0);
  const lines = readFileSync(accessLogFile, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(records.map((r) => r.path), [...paths, '/nowhere']);
  for (const record of records.slice(0, -1)) {
    assert.equal(record.status, 200);
    assert.equal(record.router, 'users');
    assert.equal(record.upstream, users.url);
  }
  assert.equal(records.at(-1)!.status, 404);
  assert.equal(records.at(-1)!.router, undefined);
});

test('stampgate gateway with watch off reloads on SIGHUP only', async () => {
  const users = await upstream('users');
  const music = await upstream('music');
  const port = await freePort();
  const dynamicFile = join(dir, 'dynamic-nowatch.yml');
  writeFileSync(join(dir, 'static-nowatch.yml'), `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  file:\n    filename: dynamic-nowatch.yml\n    watch: false\n`);
  writeFileSync(dynamicFile, dynamicYaml([{ name: 'users', prefix: '/users', url: users.url }]));
  const gateway = runStampgate(['gateway', '--config', join(dir, 'static-nowatch.yml')]);
  try {
    await gateway.waitForLine(/entrypoint web listening/);
    const base = `http://127.0.0.1:${port}`;
    writeFileSync(dynamicFile, dynamicYaml([{ name: 'music', prefix: '/music', url: music.url }]));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await text(`${base}/users/1`), '200 users /users/1', 'no watch: the edit is not applied by itself');
    gateway.child.kill('SIGHUP');
    await gateway.waitForLine(/configuration version 2 applied/);
    assert.equal(await text(`${base}/music/1`), '200 music /music/1');
    assert.match(await text(`${base}/users/1`), /^404/);
  } finally {
    gateway.child.kill('SIGTERM');
  }
  assert.equal((await gateway.exited).code, 0);
});

test('stampgate gateway --workers 2: both workers serve, /stampsz sums them, a killed worker is replaced, stop leaves nothing', async () => {
  const app = await upstream('app');
  const port = await freePort();
  writeFileSync(join(dir, 'static-workers.yml'), `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  file:\n    filename: dynamic-workers.yml\n`);
  writeFileSync(join(dir, 'dynamic-workers.yml'), 'http:\n  routers:\n    r: { rule: "PathPrefix(`/`)", service: s }\n  services:\n    s:\n      stamps:\n        stamps:\n          - id: default\n            servers: [{ url: "' + app.url + '" }]\n');
  const gateway = runStampgate(['gateway', '--config', join(dir, 'static-workers.yml'), '--workers', '2']);
  const workerPids = () => execFileSync('ps', ['-o', 'pid=', '--ppid', String(gateway.child.pid)]).toString().trim().split(/\s+/).filter(Boolean).map(Number);
  try {
    await gateway.waitForLine(/2 workers listening/);
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 20; i++) assert.equal(await text(`${base}/n`), '200 app /n');
    const stampsz = (await (await fetch(`${base}/stampsz`)).json()) as { total_requests: number };
    assert.equal(stampsz.total_requests, 20, 'the count covers both workers');
    const [first] = workerPids();
    process.kill(first!, 'SIGKILL');
    await gateway.waitForLine(/worker \d+ killed by SIGKILL; starting a new one/);
    await eventually(async () => workerPids().length === 2 && !workerPids().includes(first!), 'a replacement worker');
    await eventually(async () => (await text(`${base}/n`).catch(() => '')) === '200 app /n', 'service after the replacement');
  } finally {
    gateway.child.kill('SIGTERM');
  }
  const pids = [gateway.child.pid!];
  assert.equal((await gateway.exited).code, 0);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0));
  assert.equal(execFileSync('sh', ['-c', `ps -ef | grep static-workers.yml | grep -v grep | wc -l`]).toString().trim(), '0', 'no worker is left');
});

test('stampgate gateway: a bad static file, a missing file and a bad dynamic file stop it with a clear message', async () => {
  const badStatic = join(dir, 'bad-static.yml');
  writeFileSync(badStatic, 'entryPoints:\n  web:\n    adress: ":80"\n');
  const one = runStampgate(['gateway', '--config', badStatic]);
  assert.equal((await one.exited).code, 2);
  assert.match(one.lines.join('\n'), /entryPoints\.web\.adress: unknown key "adress" \(did you mean "address"\?\)/);

  const missing = runStampgate(['gateway', '--config', join(dir, 'nope.yml')]);
  assert.equal((await missing.exited).code, 2);
  assert.match(missing.lines.join('\n'), /nope\.yml/);

  const port = await freePort();
  writeFileSync(join(dir, 'static2.yml'), `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  file:\n    filename: dynamic2.yml\n`);
  writeFileSync(join(dir, 'dynamic2.yml'), 'http:\n  routers:\n    r:\n      rule: "PathPrefix(`/`"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: "http://127.0.0.1:1"\n');
  const badRule = runStampgate(['gateway', '--config', join(dir, 'static2.yml')]);
  assert.equal((await badRule.exited).code, 2);
  assert.match(badRule.lines.join('\n'), /router "r": rule column \d+/);
});
