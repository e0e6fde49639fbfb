// The MusicShare example (seed 001) as a user runs it: `node examples/musicshare/run.ts` as a real
// process, on free ports (`--base-port 0`), with the stand-in services and `stampgate gateway` as
// its children. Each feature of the seed's Traefik setup is checked through the gateway, then
// Ctrl-C must leave no process behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { makeCertificate } from '../helpers/certificates.ts';
import { isAlive, runNodeScript, runStampgate, type RunningCommand } from '../helpers/stampgate-process.ts';

const exampleDir = fileURLToPath(new URL('../../examples/musicshare/', import.meta.url));
const runScript = join(exampleDir, 'run.ts');

function startRun(args: string[]): RunningCommand {
  return runNodeScript(runScript, args);
}

interface Answer {
  service: string;
  replica: number;
  path: string;
  forwardedPrefix?: string;
}

let run: RunningCommand;
let gateway: string;
let ports: Record<string, number[]>;
const pids = new Map<string, number>();

before(async () => {
  run = startRun(['--base-port', '0']);
  for (const name of ['stand-ins', 'gateway']) pids.set(name, Number((await run.waitForLine(new RegExp(`${name} started \\(pid (\\d+)\\)`)))[1]));
  ports = JSON.parse((await run.waitForLine(/^stand-ins \| ready (\{.*\})$/))[1]!) as Record<string, number[]>;
  gateway = (await run.waitForLine(/MusicShare is up: gateway (http:\/\/\S+)$/))[1]!;
});

after(async () => {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGTERM');
    await run.exited;
  }
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Answer }> {
  const res = await fetch(`${gateway}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer };
}

test('each API route reaches its service with the prefix stripped; the Swagger routes keep theirs', async () => {
  for (const [path, service, upstreamPath, prefix] of [
    ['/api/users/42', 'users', '/42', '/api/users'],
    ['/api/users/auth/token?next=%2Fme', 'users', '/auth/token?next=%2Fme', '/api/users'],
    ['/api/music/tracks', 'music', '/tracks', '/api/music'],
    ['/api/social/posts', 'social', '/posts', '/api/social'],
    ['/api/notifications/send', 'notifications', '/send', '/api/notifications'],
  ] as const) {
    const { status, body } = await get(path);
    assert.equal(status, 200, path);
    assert.deepEqual({ service: body.service, path: body.path, forwardedPrefix: body.forwardedPrefix }, { service, path: upstreamPath, forwardedPrefix: prefix }, path);
  }
  for (const path of ['/swagger-ui/index.html', '/v3/api-docs']) {
    const { body } = await get(path);
    assert.deepEqual({ service: body.service, path: body.path, forwardedPrefix: body.forwardedPrefix }, { service: 'social', path, forwardedPrefix: undefined });
  }
});

test('the catch-all (priority 1) serves every other path from the frontend', async () => {
  for (const path of ['/anything', '/', '/api/search/x', '/apix']) {
    const { status, body } = await get(path);
    assert.equal(status, 200);
    assert.deepEqual({ service: body.service, path: body.path }, { service: 'frontend', path });
  }
});

test('round robin alternates the two replicas', async () => {
  const replicas: number[] = [];
  for (let i = 0; i < 6; i++) replicas.push((await get('/api/music/tracks')).body.replica);
  const first = replicas[0]!;
  const other = first === 1 ? 2 : 1;
  assert.deepEqual(replicas, [first, other, first, other, first, other]);
});

test('the users sticky cookie pins a client to one replica', async () => {
  const first = await get('/api/users/me');
  const cookie = first.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^userservice_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
  const jar = cookie.split(';')[0]!;
  for (let i = 0; i < 6; i++) {
    const again = await get('/api/users/me', { cookie: jar });
    assert.equal(again.body.replica, first.body.replica, `request ${i + 2} with the cookie`);
    assert.equal(again.headers.get('set-cookie'), null, 'a pinned client is not given a new cookie');
  }
  const without = new Set<number>();
  for (let i = 0; i < 4; i++) without.add((await get('/api/users/me')).body.replica);
  assert.deepEqual([...without].sort(), [1, 2], 'clients without the cookie are still spread');
});

test('security headers on the API routes, not on the frontend', async () => {
  for (const path of ['/api/users/1', '/api/music/1', '/api/social/1', '/api/notifications/1', '/v3/api-docs']) {
    const { headers } = await get(path);
    assert.equal(headers.get('x-frame-options'), 'DENY', path);
    assert.equal(headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(headers.get('x-xss-protection'), '1; mode=block', path);
    assert.equal(headers.get('strict-transport-security'), null, 'HSTS only over HTTPS');
  }
  assert.equal((await get('/anything')).headers.get('x-frame-options'), null);
});

test('the /ws route carries a WebSocket to notifications, unstripped: greeting, echo and pushed messages', async () => {
  const socket = new WebSocket(`${gateway.replace(/^http/, 'ws')}/ws`);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (type: string) => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const index = messages.findIndex((m) => m.type === type);
      if (index >= 0) return messages.splice(index, 1)[0]!;
      assert.ok(Date.now() < deadline, `a "${type}" message within 3 s; got ${JSON.stringify(messages)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await once(socket, 'open');
  const welcome = await next('welcome');
  assert.equal(welcome.service, 'notifications');
  assert.equal(welcome.path, '/ws');
  socket.send('hola MusicShare');
  const echo = await next('echo');
  assert.deepEqual({ echo: echo.echo, replica: echo.replica }, { echo: 'hola MusicShare', replica: welcome.replica });
  const pushed = await next('notification');
  assert.equal(pushed.replica, welcome.replica);
  socket.close();
  await once(socket, 'close');
});

test('a replica failing its health check leaves rotation, and comes back when it recovers', async () => {
  const toggle = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/toggle-health`, { method: 'POST' });
    return ((await res.json()) as { healthy: boolean }).healthy;
  };
  const social2 = ports.social![1]!;
  const replicasOf = async (n: number) => {
    const seen: number[] = [];
    for (let i = 0; i < n; i++) seen.push((await get('/api/social/feed')).body.replica);
    return seen;
  };
  const until = async (what: string, done: (seen: number[]) => boolean) => {
    const deadline = Date.now() + 6000; // the example checks every 2 s
    while (!done(await replicasOf(4))) {
      assert.ok(Date.now() < deadline, what);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  assert.deepEqual([...new Set(await replicasOf(4))].sort(), [1, 2]);
  assert.equal(await toggle(social2), false);
  try {
    await until('replica 2 out of rotation within 6 s', (seen) => seen.every((r) => r === 1));
    assert.deepEqual(await replicasOf(6), [1, 1, 1, 1, 1, 1], 'and it stays out');
    // The gateway's line reaches this test through the musicshare process's relay: it can arrive
    // a moment after the replica has left rotation.
    await run.waitForLine(/gateway \| service social: server http:\/\/127\.0\.0\.1:\d+ is unhealthy \(status 503/, 5000);
  } finally {
    assert.equal(await toggle(social2), true);
  }
  await until('replica 2 back within 6 s', (seen) => seen.includes(2));
});

test('static-tls.yml, used as its comments say: HTTPS with HSTS on the API routes, HTTP redirected to HTTPS', async () => {
  // The run's configuration, rewritten to its ports, and a certificate where dynamic.yml expects one.
  const copied = (await run.waitForLine(/configuration copied with these ports to (\S+)$/))[1]!;
  const dir = mkdtempSync(join(tmpdir(), 'musicshare-tls-'));
  const gatewayTls = { child: null as ReturnType<typeof runStampgate> | null };
  try {
    mkdirSync(join(dir, 'certs'));
    const cert = makeCertificate(join(dir, 'certs'), ['localhost']);
    renameSync(cert.certFile, join(dir, 'certs', 'musicshare.crt'));
    renameSync(cert.keyFile, join(dir, 'certs', 'musicshare.key'));
    // Step 2: uncomment the tls section; the routers (no entryPoints) are then on websecure too.
    const commented = '# tls:\n#   certificates:\n#     - certFile: certs/musicshare.crt\n#       keyFile: certs/musicshare.key\n';
    let dynamic = readFileSync(join(copied, 'dynamic.yml'), 'utf8');
    assert.ok(dynamic.includes(commented), 'dynamic.yml ends with the commented tls section');
    dynamic = dynamic.replace(commented, commented.replaceAll('# ', '').replaceAll('#', ''));
    writeFileSync(join(dir, 'dynamic.yml'), dynamic);
    const staticTls = readFileSync(join(exampleDir, 'static-tls.yml'), 'utf8');
    assert.match(staticTls, /127\.0\.0\.1:8443/);
    writeFileSync(join(dir, 'static-tls.yml'), staticTls.replace(/127\.0\.0\.1:(8000|8443)/g, '127.0.0.1:0'));

    const gw = runStampgate(['gateway', '--config', join(dir, 'static-tls.yml')]);
    gatewayTls.child = gw;
    const webPort = Number((await gw.waitForLine(/entrypoint web listening on 127\.0\.0\.1:(\d+)/))[1]);
    const securePort = Number((await gw.waitForLine(/entrypoint websecure listening on 127\.0\.0\.1:(\d+)/))[1]);
    const ca = readFileSync(join(dir, 'certs', 'musicshare.crt'));
    const viaHttps = (path: string) => new Promise<{ status: number; hsts: string | undefined; body: Answer }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: securePort, path, servername: 'localhost', headers: { host: `localhost:${securePort}` }, ca, agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, hsts: res.headers['strict-transport-security'] as string | undefined, body: JSON.parse(text) as Answer }));
      });
      req.on('error', reject);
    });
    const users = await viaHttps('/api/users/me');
    assert.deepEqual({ status: users.status, service: users.body.service, path: users.body.path }, { status: 200, service: 'users', path: '/me' });
    assert.equal(users.hsts, 'max-age=31536000; includeSubDomains');
    const front = await viaHttps('/anything');
    assert.deepEqual({ service: front.body.service, hsts: front.hsts }, { service: 'frontend', hsts: undefined });
    const redirect = await fetch(`http://127.0.0.1:${webPort}/api/music/tracks?x=1`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), `https://127.0.0.1:${securePort}/api/music/tracks?x=1`);
  } finally {
    if (gatewayTls.child !== null) {
      gatewayTls.child.child.kill('SIGTERM');
      await gatewayTls.child.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C (SIGINT) stops the gateway and the stand-ins and leaves no process', async () => {
  const temp = (await run.waitForLine(/configuration copied with these ports to (\S+)$/))[1]!;
  assert.ok(existsSync(temp));
  run.child.kill('SIGINT');
  const { code } = await run.exited;
  assert.equal(code, 0, `run.ts exits 0 on SIGINT; output:\n${run.lines.slice(-15).join('\n')}`);
  for (const [name, pid] of pids) assert.equal(isAlive(pid), false, `${name} (pid ${pid}) is gone`);
  await assert.rejects(fetch(`${gateway}/`), 'the gateway no longer answers');
  for (const port of Object.values(ports).flat()) await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), `nothing on ${port}`);
  assert.equal(existsSync(temp), false, 'the rewritten configuration is removed');
  assert.match(run.lines.join('\n'), /musicshare \| stopped$/m);
});

test('a port in use is named, and nothing is started', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as { port: number }).port;
  try {
    // Base port such that the busy one is where users replica 2 would listen (base + 12).
    const clash = startRun(['--base-port', String(busy - 12)]);
    const { code } = await clash.exited;
    assert.equal(code, 2);
    assert.match(clash.lines.join('\n'), new RegExp(`^musicshare: (.*, )?port ${busy} \\(users replica 2\\)(, .*)? (is|are) already in use on 127\\.0\\.0\\.1`));
    assert.equal(clash.lines.some((l) => / started \(pid/.test(l)), false);
  } finally {
    blocker.close();
  }
});
