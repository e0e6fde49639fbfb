// The two HTML pages (sign-in and the dashboard's shell) and the static assets beside them. Every
// asset is a file of this folder served by this process: the dashboard works with no internet.
// No inline script or style anywhere, so the Content-Security-Policy can forbid them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Principal } from '../control/store/tokens.ts';

export interface Asset {
  body: Buffer;
  contentType: string;
}

const types: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Reads assets/ once. Built into dist/, this file finds them in the source tree beside it. */
export function loadAssets(): Map<string, Asset> {
  const here = new URL('./assets/', import.meta.url);
  const dir = existsSync(here) ? here : new URL('../../../src/dashboard/assets/', import.meta.url);
  const assets = new Map<string, Asset>();
  for (const name of ['app.js', 'app.css', 'favicon.svg']) {
    const ext = name.slice(name.lastIndexOf('.') + 1);
    assets.set(name, { body: readFileSync(fileURLToPath(new URL(name, dir))), contentType: types[ext]! });
  }
  return assets;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const logo = `<svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect x="3" y="3" width="11" height="11" rx="2.5"/><rect x="18" y="3" width="11" height="11" rx="2.5"/><rect x="3" y="18" width="11" height="11" rx="2.5"/><rect x="18" y="18" width="11" height="11" rx="2.5" class="logo-accent"/></svg>`;

function head(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/dashboard/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/assets/app.css">`;
}

export interface LoginPageOptions {
  error?: string;
  notice?: string;
}

export function loginPage(options: LoginPageOptions = {}): string {
  const message = options.error
    ? `<p class="alert alert-error" role="alert">${escapeHtml(options.error)}</p>`
    : options.notice
      ? `<p class="alert alert-info" role="status">${escapeHtml(options.notice)}</p>`
      : '';
  return `${head('Sign in · Stampgate')}
</head>
<body class="login-body">
<main class="login-card">
  <div class="brand brand-large">${logo}<span>Stampgate</span></div>
  <h1>Sign in to the dashboard</h1>
  ${message}
  <form method="post" action="/login" class="login-form">
    <label for="token">Admin or viewer token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required autofocus aria-describedby="token-help">
    <p id="token-help" class="help">The token <code>stampgate up</code> wrote to <code>.stampgate/admin-token</code>, or any token with role admin or viewer. <code>stampgate up</code> also prints a link that signs you in.</p>
    <button type="submit" class="btn btn-primary">Sign in</button>
  </form>
</main>
</body>
</html>
`;
}

export function dashboardPage(principal: Principal): string {
  const tabs = [
    ['stamps', 'Stamps'],
    ['tenants', 'Tenants'],
    ['routing', 'Routing'],
    ['operations', 'Operations'],
  ] as const;
  return `${head('Stampgate')}
<script type="module" src="/dashboard/assets/app.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="topbar">
  <div class="brand">${logo}<span>Stampgate</span></div>
  <div class="system" id="system" role="status" aria-live="polite"><span class="dot dot-unknown" aria-hidden="true"></span><span class="system-text">Connecting…</span></div>
  <dl class="facts" id="facts"></dl>
  <div class="live" id="live" role="status" aria-live="polite"><span class="dot dot-unknown" aria-hidden="true"></span><span class="live-text">Connecting</span></div>
  <div class="who">
    <span class="who-name" title="Signed in with this token">${escapeHtml(principal.name)} <span class="role">${escapeHtml(principal.role)}</span></span>
    <form method="post" action="/logout"><button type="submit" class="btn btn-ghost">Sign out</button></form>
  </div>
</header>
<nav class="tabs" aria-label="Views">
${tabs.map(([id, label]) => `  <a href="#${id}" id="tab-${id}" class="tab" data-view="${id}">${label}<span class="tab-count" id="count-${id}"></span></a>`).join('\n')}
</nav>
<main id="main" tabindex="-1">
  <p class="notice" id="notice" role="status" hidden></p>
  <section id="view-stamps" class="view" aria-labelledby="tab-stamps">
    <h1 class="visually-hidden">Stamps</h1>
    <div class="kpis" id="kpis"></div>
    <div class="grid" id="stamp-grid"></div>
  </section>
  <section id="view-tenants" class="view" aria-labelledby="tab-tenants" hidden>
    <h1 class="visually-hidden">Tenants</h1>
    <form class="toolbar" role="search" id="tenant-form">
      <div class="field grow">
        <label for="tenant-q">Search tenants</label>
        <input id="tenant-q" name="q" type="search" placeholder="part of a tenant id, e.g. acme" autocomplete="off" spellcheck="false" maxlength="63">
      </div>
      <div class="field">
        <label for="tenant-stamp">On stamp</label>
        <select id="tenant-stamp" name="stamp"><option value="">All stamps</option></select>
      </div>
    </form>
    <p class="muted" id="tenant-summary" role="status" aria-live="polite"></p>
    <div class="table-wrap"><table class="table" id="tenant-table">
      <caption class="visually-hidden">Tenants matching the search</caption>
      <thead><tr><th scope="col">Tenant</th><th scope="col">Stamp</th><th scope="col">Stamp state</th><th scope="col">Placed</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <div class="pager" id="tenant-pager" hidden><button type="button" class="btn" id="tenant-prev">← Previous</button><span id="tenant-page" class="muted"></span><button type="button" class="btn" id="tenant-next">Next →</button></div>
  </section>
  <section id="view-routing" class="view" aria-labelledby="tab-routing" hidden>
    <h1 class="visually-hidden">Routing</h1>
    <div class="kpis" id="routing-kpis"></div>
    <div class="toolbar">
      <div class="field grow">
        <label for="routing-q">Filter routers, services and middlewares</label>
        <input id="routing-q" type="search" placeholder="name, rule or type" autocomplete="off" spellcheck="false">
      </div>
    </div>
    <h2 class="section-title">HTTP routers</h2>
    <div class="table-wrap"><table class="table" id="routers-table">
      <thead><tr><th scope="col">Status</th><th scope="col">Rule</th><th scope="col">Entrypoints</th><th scope="col">Name</th><th scope="col">Service</th><th scope="col">Middlewares</th><th scope="col" class="num">Priority</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <h2 class="section-title">HTTP services</h2>
    <div class="table-wrap"><table class="table" id="services-table">
      <thead><tr><th scope="col">Status</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Servers</th><th scope="col">Used by</th><th scope="col">Provider</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <h2 class="section-title">HTTP middlewares</h2>
    <div class="table-wrap"><table class="table" id="middlewares-table">
      <thead><tr><th scope="col">Status</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Used by</th><th scope="col">Provider</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section id="view-operations" class="view" aria-labelledby="tab-operations" hidden>
    <h1 class="visually-hidden">Operations</h1>
    <div id="operations-list" class="operations"></div>
  </section>
</main>
</body>
</html>
`;
}
