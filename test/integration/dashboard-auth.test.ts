// Signing in to the dashboard over real HTTP, on the admin API's app (port 0): without a session
// the page sends a browser to /login and every data endpoint and the event stream answer 401; a
// wrong token signs nobody in; the link and the form set an HttpOnly, SameSite=Strict session
// cookie that is never the token; logout ends the session (and its open event stream); and the
// admin API's bearer auth is exactly as before.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore, type OpenedStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';

const adminToken = 'sgt_dashboard-test-admin-token-0123456789';
let dir: string;
let store: OpenedStore;
let app: FastifyInstance;
let base: string;
let viewerToken: string;
let gatewayToken: string;
let tokens: TokenStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stampgate-dashboard-auth-'));
  store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  tokens = new TokenStore(store.db);
  await tokens.register('admin', 'admin', adminToken);
  viewerToken = (await tokens.create('ops-screen', 'viewer')).token;
  gatewayToken = (await tokens.create('edge-1', 'gateway')).token;
  await catalog.saveStamp({ id: 'default', driver: 'process', url: 'http://127.0.0.1:1', state: 'active' });
  app = await createAdminApi({ catalog, tokens, dashboard: { sources: { catalog, store: store.db }, liveIntervalMs: 100, tokenRecheckMs: 50 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await store.db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const dataEndpoints = ['/dashboard/api/session', '/dashboard/api/overview', '/dashboard/api/routing', '/dashboard/api/operations', '/dashboard/api/tenants?q=a', '/dashboard/api/events', '/dashboard/api/gateway/api/overview'];

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(base + path, { headers, redirect: 'manual' });
}

/** Signs in with the link and returns the cookie pair to send back (`stampgate_session=…`). */
async function signIn(token = adminToken): Promise<string> {
  const res = await get(`/login?token=${encodeURIComponent(token)}`);
  assert.equal(res.status, 303);
  const cookie = res.headers.get('set-cookie');
  assert.ok(cookie, 'a session cookie is set');
  return cookie.split(';')[0]!;
}

test('without a session: every data endpoint and the event stream answer 401, the page sends a browser to /login', async () => {
  for (const path of dataEndpoints) {
    const res = await get(path);
    assert.equal(res.status, 401, path);
    assert.match(res.headers.get('content-type')!, /^application\/problem\+json/, path);
    const body = (await res.json()) as { type: string; status: number };
    assert.equal(body.type, 'https://stampgate.dev/problems/unauthorized');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  }
  // A bearer token is not a session: the dashboard's data needs the cookie.
  assert.equal((await get('/dashboard/api/overview', { authorization: `Bearer ${adminToken}` })).status, 401);
  // An unknown or forged session id is no session either.
  assert.equal((await get('/dashboard/api/overview', { cookie: 'stampgate_session=forged' })).status, 401);

  for (const path of ['/dashboard', '/']) {
    const browser = await get(path, { accept: 'text/html,application/xhtml+xml' });
    assert.equal(browser.status, 303, path);
    assert.equal(browser.headers.get('location'), '/login');
    const script = await get(path, { accept: 'application/json' });
    assert.equal(script.status, 401, path);
  }
  const login = await get('/login');
  assert.equal(login.status, 200);
  assert.match(login.headers.get('content-type')!, /^text\/html/);
  const html = await login.text();
  assert.match(html, /<label for="token">/);
  assert.match(login.headers.get('content-security-policy')!, /script-src 'self'/);
  // The assets hold no data and load without a session (the sign-in page uses the stylesheet).
  for (const asset of ['app.css', 'app.js', 'favicon.svg']) assert.equal((await get(`/dashboard/assets/${asset}`)).status, 200, asset);
  assert.equal((await get('/dashboard/assets/nope.js')).status, 404);
});

test('a wrong token signs nobody in, by link, form or JSON; a gateway token is refused', async () => {
  const link = await get('/login?token=sgt_not-a-real-token');
  assert.equal(link.status, 401);
  assert.equal(link.headers.get('set-cookie'), null);
  assert.match(await link.text(), /role="alert"[^>]*>The link&#39;s token did not sign you in/);

  const form = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=wrong' });
  assert.equal(form.status, 401);
  assert.equal(form.headers.get('set-cookie'), null);

  const json = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'wrong' }) });
  assert.equal(json.status, 401);
  assert.equal(((await json.json()) as { type: string }).type, 'https://stampgate.dev/problems/invalid-token');
  assert.equal(json.headers.get('set-cookie'), null);

  const empty = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(empty.status, 400);

  const gateway = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: gatewayToken }) });
  assert.equal(gateway.status, 403);
  assert.match(((await gateway.json()) as { detail: string }).detail, /role gateway; the dashboard needs a token with role admin or viewer/);
  assert.equal(gateway.headers.get('set-cookie'), null);
});

test('the link sets an HttpOnly, SameSite=Strict session cookie (never the token) and redirects to the dashboard', async () => {
  const res = await get(`/login?token=${adminToken}`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/dashboard');
  const cookies = res.headers.getSetCookie();
  assert.equal(cookies.length, 1);
  const cookie = cookies[0]!;
  assert.match(cookie, /^stampgate_session=[A-Za-z0-9_-]{43}; /);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  assert.match(cookie, /; Max-Age=43200/);
  assert.doesNotMatch(cookie, /; Secure/, 'plain http: no Secure flag (the browser would drop the cookie)');
  assert.ok(!cookie.includes(adminToken), 'the token is not in the cookie');
  assert.ok(!cookie.includes(adminToken.slice(4, 20)), 'nor any part of it');

  const session = cookie.split(';')[0]!;
  const page = await get('/dashboard', { cookie: session });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/dashboard\/assets\/app.js"><\/script>/);
  assert.match(html, /admin <span class="role">admin<\/span>/);
  assert.ok(!html.includes(adminToken), 'the page does not carry the token');
  assert.equal((await get('/', { cookie: session })).headers.get('location'), '/dashboard');
  assert.equal((await get('/login', { cookie: session, accept: 'text/html' })).headers.get('location'), '/dashboard', 'signed in already');

  const me = await get('/dashboard/api/session', { cookie: session });
  assert.equal(me.status, 200);
  assert.deepEqual(((await me.json()) as { name: string; role: string }).name, 'admin');
  for (const path of ['/dashboard/api/overview', '/dashboard/api/operations', '/dashboard/api/tenants?q=a']) assert.equal((await get(path, { cookie: session })).status, 200, path);

  // The session does not open the admin API: that stays bearer-only, as before.
  assert.equal((await get('/api/v1/stamps', { cookie: session })).status, 401);
  assert.equal((await get('/api/v1/stamps', { authorization: `Bearer ${adminToken}` })).status, 200);
  assert.equal((await get('/api/v1/stamps', { authorization: `Bearer ${viewerToken}` })).status, 200);
  assert.equal((await fetch(`${base}/api/v1/stamps`, { method: 'POST', headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' }, body: '{"id":"x"}' })).status, 403);
});

test('the form and JSON sign-ins work too, for a viewer token', async () => {
  const form = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: viewerToken }).toString() });
  assert.equal(form.status, 303);
  assert.equal(form.headers.get('location'), '/dashboard');
  const session = form.headers.get('set-cookie')!.split(';')[0]!;
  const me = (await (await get('/dashboard/api/session', { cookie: session })).json()) as { name: string; role: string };
  assert.deepEqual([me.name, me.role], ['ops-screen', 'viewer']);

  const json = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: viewerToken }) });
  assert.equal(json.status, 200);
  assert.match(json.headers.get('set-cookie')!, /HttpOnly/);
  assert.equal(((await json.json()) as { role: string }).role, 'viewer');
});

test('logout ends the session and its open event stream', async () => {
  const session = await signIn();
  const controller = new AbortController();
  const events = await fetch(`${base}/dashboard/api/events`, { headers: { cookie: session }, signal: controller.signal });
  assert.equal(events.status, 200);
  assert.match(events.headers.get('content-type')!, /^text\/event-stream/);
  const reader = events.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    while (!pattern.test(text)) {
      assert.ok(Date.now() < deadline, `the stream shows ${pattern} within 5 s; got:\n${text.slice(0, 500)}`);
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  };
  await readUntil(/event: overview\ndata: \{/);
  await readUntil(/event: operations\ndata: \{/);
  const overview = JSON.parse(/event: overview\ndata: (.*)\n/.exec(text)![1]!) as { stamps: Array<{ id: string }>; sources: { gateway: boolean } };
  assert.deepEqual(overview.stamps.map((s) => s.id), ['default']);
  assert.equal(overview.sources.gateway, false);

  const logout = await fetch(`${base}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  assert.equal(logout.status, 303);
  assert.equal(logout.headers.get('location'), '/login?signed-out');
  assert.match(logout.headers.get('set-cookie')!, /^stampgate_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
  await readUntil(/event: signed-out/);
  // The stream ends with the session.
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  controller.abort();

  for (const path of dataEndpoints) assert.equal((await get(path, { cookie: session })).status, 401, `${path} after logout`);
  assert.equal((await get('/dashboard', { cookie: session, accept: 'text/html' })).headers.get('location'), '/login');
  // JSON logout answers 204, and ending an ended session is harmless.
  assert.equal((await fetch(`${base}/logout`, { method: 'POST', headers: { cookie: session } })).status, 204);
});

test('a form posted from another site is refused', async () => {
  const res = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${adminToken}` });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('set-cookie'), null);
  const same = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${adminToken}` });
  assert.equal(same.status, 303);
});

test('revoking a token ends the sessions it opened', async () => {
  const { token } = await tokens.create('temporary', 'viewer');
  const session = await signIn(token);
  assert.equal((await get('/dashboard/api/session', { cookie: session })).status, 200);
  await tokens.remove('temporary', 'admin');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await get('/dashboard/api/session', { cookie: session })).status, 401);
  // Other sessions stay.
  const admin = await signIn();
  assert.equal((await get('/dashboard/api/session', { cookie: admin })).status, 200);
});
