// The dashboard in a real browser: Debian's Chromium driven by playwright-core (never a browser a
// test tool downloads). `stampgate up` runs as a real process on free ports; the test opens the
// sign-in link it prints, sees the three stamps, kills one stamp's process and sees its card go
// down and come back, sends requests through the gateway and sees the traffic rise, and visits
// every view. A screenshot of each view is written to test-artifacts/dashboard/ (gitignored).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAdminApi } from '../../src/control/api/admin-api.ts';
import { Catalog } from '../../src/control/store/catalog.ts';
import { openStore } from '../../src/control/store/open-store.ts';
import { TokenStore } from '../../src/control/store/tokens.ts';
import { freePort } from '../helpers/http-servers.ts';
import { isAlive, runStampgate } from '../helpers/stampgate-process.ts';

const chromiumPath = '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'stampgate-browser-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** The browser, or undefined when this machine has none (skipped; a failure under STAMPGATE_REQUIRE_SERVICES=1). */
async function launch(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(chromiumPath)) {
    const why = `${chromiumPath} is missing: install Debian's chromium (apt-get install chromium) to run the dashboard's browser tests`;
    if (process.env.STAMPGATE_REQUIRE_SERVICES === '1') assert.fail(why);
    t.skip(why);
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  mkdirSync(artifacts, { recursive: true });
  return browser;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Waits until the text of `selector` satisfies `ok` (polled: the page updates itself from its event stream). */
async function waitForText(page: Page, selector: string, ok: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await page.textContent(selector, { timeout: timeoutMs })) ?? '';
    if (ok(text)) return text;
    await page.waitForTimeout(50);
  }
  assert.fail(`${selector} did not show what was expected within ${timeoutMs} ms; it shows ${JSON.stringify(text)}`);
}

/** Fails the test on any script error or failed request of the page (a dashboard must not half-work). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 503/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  return errors;
}

test('the dashboard of stampgate up: three stamps, one killed and back, traffic rising, every view', { timeout: 90_000 }, async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const [gatewayPort, stampszPort, firstStampPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const up = runStampgate(['up', '--port', String(gatewayPort), '--stampsz-port', String(stampszPort), '--stamp-port', String(firstStampPort), '--api-port', String(apiPort), '--data-dir', dataDir, '--tenant', 'acme=s1', '--tenant', 'acme-eu=s1', '--tenant', 'globex=s2', '--tenant', 'initech=default']);
  const pids = new Map<string, number>();
  try {
    for (const id of ['default', 's1', 's2']) {
      const [, pid] = await up.waitForLine(new RegExp(`stamp ${id} running \\(pid (\\d+)\\)`));
      pids.set(id, Number(pid));
    }
    await up.waitForLine(/dashboard: open this link in a browser to sign in:/);
    const [, link] = await up.waitForLine(/^stampgate \| {3}(http:\/\/127\.0\.0\.1:\d+\/login\?token=\S+)$/);
    assert.ok(link!.startsWith(`http://127.0.0.1:${apiPort}/login?token=sgt_`), link);

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);

    // Signing in with the link lands on the dashboard with an HttpOnly session cookie.
    await page.goto(link!);
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    const cookies = await context.cookies();
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.sameSite]), [['stampgate_session', true, 'Strict']]);
    assert.ok(!link!.includes(cookies[0]!.value), 'the cookie is not the token');
    assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read the session');

    // The three stamps, all healthy.
    for (const id of ['default', 's1', 's2']) await page.waitForSelector(`[data-stamp="${id}"][data-health="up"]`, { timeout: 15_000 });
    assert.deepEqual(await page.$$eval('[data-stamp]', (cards) => cards.map((c) => c.getAttribute('data-stamp'))), ['default', 's1', 's2']);
    await page.waitForSelector('#system[data-status="ok"]');
    assert.equal(await page.textContent('#system .system-text'), 'All 3 stamps healthy');
    assert.equal(await page.textContent('[data-stamp="s1"] .capacity-text'), '2 / 1,000');
    await page.waitForSelector('#live[data-state="up"]');
    await screenshot(page, '01-stamps');

    // A stamp's process killed as a crash would: its card goes down, then comes back.
    process.kill(pids.get('s1')!, 'SIGKILL');
    await page.waitForSelector('[data-stamp="s1"][data-health="down"]', { timeout: 10_000 });
    await page.waitForSelector('#system[data-status="degraded"]', { timeout: 5000 });
    assert.match((await page.textContent('#system .system-text'))!, /2 of 3 stamps healthy · s1 down/);
    await screenshot(page, '02-stamp-down');
    await page.waitForSelector('[data-stamp="s1"][data-health="up"]', { timeout: 20_000 });
    const [, newPid] = await up.waitForLine(new RegExp(`stamp s1 running \\(pid (?!${pids.get('s1')}\\b)(\\d+)\\)`));
    pids.set('s1', Number(newPid));
    await page.waitForSelector('#system[data-status="ok"]', { timeout: 10_000 });

    // Traffic through the gateway: s2's requests per second and its request count rise.
    const gw = `http://127.0.0.1:${gatewayPort}`;
    assert.equal(await page.textContent('[data-stamp="s2"] [data-metric="rps"]'), '0', 'no traffic yet');
    let sending = true;
    let sent = 0;
    const load = (async () => {
      while (sending) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${gw}/libros?stamp=${i % 5 === 0 ? '1' : '2'}`).then((r) => r.arrayBuffer())));
        sent += 10;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitForText(page, '[data-stamp="s2"] [data-metric="rps"]', (text) => Number(text.replace(/[^\d.]/g, '')) > 5);
      await page.waitForTimeout(2500); // a few seconds of charts for the screenshot
      await screenshot(page, '03-stamps-traffic');
    } finally {
      sending = false;
      await load;
    }
    assert.ok(sent >= 100, `sent ${sent} requests`);
    assert.ok(Number(await page.getAttribute('[data-stamp="s2"]', 'data-requests')) > 0.5 * sent);
    assert.match((await page.textContent('[data-kpi="rps"] .kpi-detail'))!, /since start/);
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '04-stamps-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Tenants: search by part of an id.
    await page.click('#tab-tenants');
    await page.waitForSelector('#tenant-table tbody tr td code');
    await page.fill('#tenant-q', 'acme');
    await waitForText(page, '#tenant-summary', (text) => text.startsWith('2 tenants matching'));
    assert.deepEqual(await page.$$eval('#tenant-table tbody tr td:first-child', (cells) => cells.map((c) => c.textContent)), ['acme', 'acme-eu']);
    await screenshot(page, '05-tenants');

    // Routing: routers, services and middlewares as Traefik's dashboard shows them.
    await page.click('#tab-routing');
    await page.waitForSelector('#routers-table tbody tr td code.rule');
    assert.equal(await page.textContent('#routers-table tbody tr td code.rule'), 'PathPrefix(`/`)');
    assert.match((await page.textContent('#services-table tbody'))!, /stamps@file.*stamps \(default, s1, s2\).*3\/3 UP/);
    assert.match((await page.textContent('#middlewares-table tbody'))!, /body-limit@file.*buffering/);
    await screenshot(page, '06-routing');

    // Operations: none yet in `stampgate up` (stamps are started by the command itself).
    await page.click('#tab-operations');
    await page.waitForSelector('#operations-list .empty-state, #operations-list .op');
    await screenshot(page, '07-operations');

    // A narrow screen.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.click('#tab-stamps');
    await screenshot(page, '08-stamps-narrow');

    assert.deepEqual(errors, []);

    // Signing out ends the session: the page and its data are gone.
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(/\/login\?signed-out$/);
    await screenshot(page, '09-signed-out');
    const afterLogout = await page.request.get(`http://127.0.0.1:${apiPort}/dashboard/api/overview`);
    assert.equal(afterLogout.status(), 401);
    await context.close();
  } finally {
    up.child.kill('SIGTERM');
  }
  const { code } = await up.exited;
  assert.equal(code, 0, `stampgate up exits 0 on SIGTERM; output:\n${up.lines.slice(-20).join('\n')}`);
  for (const [id, pid] of pids) assert.equal(isAlive(pid), false, `stamp ${id} (pid ${pid}) is gone`);
});

test('a control plane without a gateway: catalog data only, operations with their progress, the sign-in form', { timeout: 30_000 }, async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const dir = mkdtempSync(join(tmpdir(), 'stampgate-browser-catalog-'));
  const store = await openStore(`sqlite:${join(dir, 'control.db')}`);
  const catalog = new Catalog(store.db);
  const tokens = new TokenStore(store.db);
  const viewer = (await tokens.create('wall-screen', 'viewer')).token;
  await catalog.saveStamp({ id: 'eu-1', driver: 'kubernetes', url: 'http://eu-1.internal', state: 'active', version: '2026.11.2', capacity: 500, labels: { region: 'eu' } });
  await catalog.saveStamp({ id: 'eu-2', driver: 'kubernetes', url: 'http://eu-2.internal', state: 'active', version: '2026.11.1', capacity: 500, labels: { region: 'eu' } });
  await catalog.saveStamp({ id: 'us-1', driver: 'kubernetes', url: '', state: 'provisioning', stateReason: 'provisioning: creating the namespace', capacity: 500, labels: { region: 'us' } });
  await catalog.importTenants(Array.from({ length: 430 }, (_, i) => [`tenant-${String(i).padStart(3, '0')}`, i < 410 ? 'eu-1' : 'eu-2'] as const));
  const done = await catalog.startOperation({ stampId: 'eu-1', kind: 'deploy 2026.11.2', steps: [{ name: 'pull image', state: 'done' }, { name: 'migrate database', state: 'done' }, { name: 'switch traffic', state: 'done' }] }, 'admin');
  await catalog.finishOperation(done.id, 'succeeded', null);
  const failed = await catalog.startOperation({ stampId: 'eu-2', kind: 'deploy 2026.11.2', steps: [{ name: 'pull image', state: 'done' }, { name: 'migrate database', state: 'failed', error: 'lock timeout' }, { name: 'pull image', state: 'compensated' }] }, 'admin');
  await catalog.finishOperation(failed.id, 'failed', 'migrate database: lock timeout after 30 s; compensated');
  await catalog.startOperation({ stampId: 'us-1', kind: 'provision', steps: [{ name: 'create namespace', state: 'running' }, { name: 'create database' }, { name: 'start servers' }, { name: 'register with the gateway' }] }, 'admin');
  const app = await createAdminApi({ catalog, tokens, dashboard: { sources: { catalog, store: store.db } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await store.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Without a session the dashboard sends the browser to the sign-in page.
  await page.goto(`${base}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.fill('#token', 'sgt_wrong');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.alert-error');
  assert.match((await page.textContent('.alert-error'))!, /not known/);
  await screenshot(page, '10-login-error');
  const errors = watchErrors(page); // (the refused sign-in above is a 401 page, logged as such)
  await page.fill('#token', viewer);
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/dashboard#stamps$/);
  await page.waitForSelector('[data-stamp="us-1"]');
  assert.match((await page.textContent('#notice'))!, /No gateway runs in this process/);
  assert.equal(await page.getAttribute('[data-stamp="us-1"]', 'data-health'), 'pending');
  assert.equal(await page.textContent('[data-stamp="eu-1"] .capacity-text'), '410 / 500');
  assert.match((await page.textContent('.who-name'))!, /wall-screen\s*viewer/);
  await screenshot(page, '11-catalog-only');

  await page.click('#tab-operations');
  await page.waitForSelector('[data-operation]');
  assert.deepEqual(await page.$$eval('[data-operation]', (ops) => ops.map((o) => o.getAttribute('data-state'))), ['running', 'failed', 'succeeded']);
  assert.match((await page.textContent('[data-state="running"] .op-progress'))!, /0 of 4 steps/);
  await screenshot(page, '12-operations');

  await page.click('#tab-tenants');
  await page.fill('#tenant-q', 'tenant-4');
  await waitForText(page, '#tenant-summary', (text) => text.startsWith('30 tenants'));
  await page.selectOption('#tenant-stamp', 'eu-2');
  await waitForText(page, '#tenant-summary', (text) => text.startsWith('20 tenants'));
  await screenshot(page, '13-tenants-filtered');
  await page.click('#tab-routing');
  assert.match((await page.textContent('#routing-kpis'))!, /No gateway runs in this process/);
  assert.deepEqual(errors, []);
});
