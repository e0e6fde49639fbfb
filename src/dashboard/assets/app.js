// Stampgate's dashboard in the browser: plain DOM, no framework, no network but this server.
// Live data arrives as server-sent events (/dashboard/api/events); tenant search asks on demand.
// Every value from the server goes in with textContent or an attribute, never as HTML.
/* global document, window, location, EventSource, history, URLSearchParams */

/** The charts span the samples there are, at least 30 s and at most the server's 2 minutes. */
const MIN_SPAN = 30;
const views = ['stamps', 'tenants', 'routing', 'operations'];
const state = { overview: null, routing: null, operations: null, lastMessageAt: 0, view: 'stamps' };
const numberFormat = new Intl.NumberFormat();

// ---- tiny DOM helpers -----------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

/** h('div.card', { title: 'x' }, child, 'text') */
function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, String(v));
  return el;
}

function setText(el, text) {
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

// ---- formatting -------------------------------------------------------------------------------------

function fmtRate(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 100) return numberFormat.format(Math.round(v));
  return v.toFixed(v >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0';
}
function fmtPercent(v) {
  if (v === null || v === undefined) return '–';
  const p = v * 100;
  return `${p === 0 ? '0' : p < 0.1 ? '<0.1' : p.toFixed(p >= 10 ? 0 : 1)} %`;
}
function fmtMs(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s`;
  return `${v >= 10 ? Math.round(v) : v.toFixed(1)} ms`;
}
function fmtAgo(iso) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
const last = (list) => (list && list.length ? list[list.length - 1] : null);

const healthLabel = { up: 'Healthy', degraded: 'Degraded', down: 'Down', pending: 'Starting', off: 'Off', unknown: 'Unknown' };

// ---- charts: an SVG sparkline per series, drawn by hand -----------------------------------------------

const W = 120;
const H = 40;

function sparkline(kind) {
  const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: `spark spark-${kind}`, role: 'img' });
  el.append(svg('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: 'spark-base' }), svg('path', { class: 'spark-area' }), svg('path', { class: 'spark-line' }));
  // Only request rates are filled: a rate is an amount; a share or a time is a level.
  if (kind !== 'rps') el.querySelector('.spark-area').remove();
  return el;
}

/** Draws `values` (oldest first; null leaves a gap), newest at the right edge, scaled to 0..max. */
function drawSparkline(el, values, floor, label) {
  const numbers = values.filter((v) => v !== null);
  const max = Math.max(floor, ...numbers) * 1.15;
  const span = Math.max(MIN_SPAN, values.length);
  const step = W / (span - 1);
  const offset = span - values.length;
  let line = '';
  let area = '';
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    // A lone point (traffic between two quiet seconds) is drawn as a short dash.
    const pts = run.length === 1 ? [[run[0][0] - 0.8, run[0][1]], [run[0][0] + 0.8, run[0][1]]] : run;
    line += `M${pts.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join('L')}`;
    area += `M${pts[0][0].toFixed(2)},${H}L${pts.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join('L')}L${pts[pts.length - 1][0].toFixed(2)},${H}Z`;
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) return flush();
    run.push([(offset + i) * step, H - 1 - (v / max) * (H - 4)]);
  });
  flush();
  el.querySelector('.spark-line').setAttribute('d', line);
  el.querySelector('.spark-area')?.setAttribute('d', area);
  el.setAttribute('aria-label', label);
}

// ---- header ---------------------------------------------------------------------------------------------

function renderHeader(o) {
  const system = $('system');
  system.querySelector('.dot').className = `dot dot-${{ ok: 'up', degraded: 'degraded', down: 'down', unknown: 'unknown' }[o.system.status]}`;
  setText(system.querySelector('.system-text'), o.system.summary);
  system.dataset.status = o.system.status;
  const facts = [];
  if (o.system.gatewayUrl) facts.push(['Gateway', o.system.gatewayUrl]);
  if (o.system.configVersion !== null) facts.push(['Config', `v${o.system.configVersion}`]);
  const rps = o.stamps.reduce((n, s) => n + (last(s.traffic?.rps) ?? 0), 0);
  if (o.sources.gateway) facts.push(['Traffic', `${fmtRate(rps)} req/s`]);
  const dl = $('facts');
  const key = JSON.stringify(facts);
  if (dl.dataset.key !== key) {
    dl.dataset.key = key;
    dl.replaceChildren(...facts.map(([k, v]) => h('div.fact', {}, h('dt', { text: k }), h('dd', { text: v }))));
  }
  setText($('count-stamps'), o.stamps.length);
  const notice = $('notice');
  if (!o.sources.gateway) {
    notice.hidden = false;
    setText(notice, 'No gateway runs in this process: stamps show their catalog state only. Health, readiness, traffic and routing come from a local gateway (stampgate up).');
  } else if (!o.sources.catalog) {
    notice.hidden = false;
    setText(notice, 'No control-plane catalog here: stamps show what the gateway routes; tenants and operations are not available.');
  } else notice.hidden = true;
}

function setLive(kind, text) {
  const live = $('live');
  live.querySelector('.dot').className = `dot dot-${kind}`;
  setText(live.querySelector('.live-text'), text);
  live.dataset.state = kind;
}

// ---- stamps view ------------------------------------------------------------------------------------------

function kpi(label, value, detail, id) {
  return h('div.kpi', { 'data-kpi': id }, h('div.kpi-label', { text: label }), h('div.kpi-value', { text: value }), detail ? h('div.kpi-detail', { text: detail }) : null);
}

function renderKpis(o) {
  const counted = o.stamps.filter((s) => s.health !== 'off');
  const up = counted.filter((s) => s.health === 'up').length;
  const rps = o.stamps.reduce((n, s) => n + (last(s.traffic?.rps) ?? 0), 0);
  // Error rate across stamps, weighted by each stamp's traffic.
  let weighted = 0;
  let weight = 0;
  let worstP95 = null;
  for (const s of o.stamps) {
    const r = last(s.traffic?.rps) ?? 0;
    const e = last(s.traffic?.errorRate);
    if (e !== null && e !== undefined) {
      weighted += e * Math.max(r, 0.001);
      weight += Math.max(r, 0.001);
    }
    const p = last(s.traffic?.p95Ms);
    if (p !== null && p !== undefined) worstP95 = Math.max(worstP95 ?? 0, p);
  }
  const totalRequests = o.system.totalRequests;
  const items = [];
  if (o.sources.gateway) items.push(kpi('Healthy stamps', `${up} / ${counted.length}`, counted.length - up > 0 ? `${counted.length - up} need attention` : 'all serving', 'healthy'));
  else items.push(kpi('Active stamps', `${o.stamps.filter((s) => s.catalog?.state === 'active').length} / ${o.stamps.length}`, 'catalog state; no live health here', 'active'));
  if (o.system.tenants !== null) items.push(kpi('Tenants', numberFormat.format(o.system.tenants), `on ${o.stamps.length} stamps`, 'tenants'));
  if (o.sources.gateway) {
    items.push(kpi('Requests / s', fmtRate(rps), totalRequests === null ? null : `${numberFormat.format(totalRequests)} since start`, 'rps'));
    items.push(kpi('Error rate', weight ? fmtPercent(weighted / weight) : '–', '5xx, last 5 s', 'errors'));
    items.push(kpi('Slowest p95', fmtMs(worstP95), 'answer time, last 5 s', 'p95'));
  }
  $('kpis').replaceChildren(...items);
}

const cards = new Map();

function buildCard(id) {
  const chart = (kind, label) => {
    const value = h('span.chart-value', { 'data-metric': kind, text: '–' });
    const line = sparkline(kind);
    const span = h('span');
    const peak = h('span');
    return { el: h('figure.chart', {}, h('figcaption', {}, h('span.chart-label', { text: label }), value), line, h('div.chart-scale', { 'aria-hidden': 'true' }, span, peak)), value, line, span, peak };
  };
  const parts = {
    title: h('h2.card-title', { text: id }),
    aliases: h('span.aliases'),
    flags: h('span.flags'),
    badge: h('span.badge'),
    reason: h('p.card-reason', { hidden: true }),
    state: h('dd'),
    version: h('dd'),
    driver: h('dd'),
    labels: h('dd.labels'),
    labelsRow: null,
    capText: h('span.capacity-text'),
    capFill: h('div.bar-fill'),
    capBar: null,
    servers: h('ul.servers', { 'aria-label': `Servers of stamp ${id}` }),
    rps: chart('rps', 'Req/s'),
    errors: chart('errors', 'Errors'),
    p95: chart('p95', 'p95'),
    footer: h('p.card-foot'),
  };
  parts.capBar = h('div.bar', { role: 'progressbar', 'aria-label': `Tenants on stamp ${id}`, 'aria-valuemin': 0 }, parts.capFill);
  const el = h(
    'article.card',
    { 'data-stamp': id, 'aria-labelledby': `stamp-${id}-title` },
    h('header.card-head', {}, h('div.card-name', {}, parts.title, parts.aliases, parts.flags), parts.badge),
    parts.reason,
    h('dl.meta', {}, h('div', {}, h('dt', { text: 'State' }), parts.state), h('div', {}, h('dt', { text: 'Version' }), parts.version), h('div', {}, h('dt', { text: 'Driver' }), parts.driver), (parts.labelsRow = h('div.meta-wide', {}, h('dt', { text: 'Labels' }), parts.labels))),
    h('div.capacity', {}, h('div.capacity-head', {}, h('span.capacity-label', { text: 'Tenants' }), parts.capText), parts.capBar),
    h('div.servers-wrap', {}, h('div.sub', { text: 'Servers' }), parts.servers),
    h('div.charts', {}, parts.rps.el, parts.errors.el, parts.p95.el),
    parts.footer,
  );
  parts.title.id = `stamp-${id}-title`;
  return { el, parts };
}

function renderStamps(o) {
  const grid = $('stamp-grid');
  grid.querySelector(':scope > .empty')?.remove();
  const seen = new Set();
  o.stamps.forEach((s, index) => {
    seen.add(s.id);
    let card = cards.get(s.id);
    if (!card) {
      card = buildCard(s.id);
      cards.set(s.id, card);
    }
    if (grid.children[index] !== card.el) grid.insertBefore(card.el, grid.children[index] ?? null);
    updateCard(card, s);
  });
  for (const [id, card] of cards) {
    if (seen.has(id)) continue;
    card.el.remove();
    cards.delete(id);
  }
  if (o.stamps.length === 0) grid.replaceChildren(h('p.empty', { text: 'No stamps yet. Create one with the admin API (POST /api/v1/stamps) or stampgate up.' }));
}

function updateCard({ el, parts }, s) {
  el.dataset.health = s.health;
  el.dataset.requests = String(s.gateway?.requests ?? 0);
  setText(parts.aliases, s.aliases.length ? `alias ${s.aliases.join(', ')}` : '');
  const flags = [];
  if (s.gateway?.default) flags.push('default');
  if (s.gateway?.draining) flags.push('draining');
  const flagKey = flags.join(',');
  if (parts.flags.dataset.key !== flagKey) {
    parts.flags.dataset.key = flagKey;
    parts.flags.replaceChildren(...flags.map((f) => h(`span.chip.chip-${f}`, { text: f })));
  }
  parts.badge.className = `badge badge-${s.health}`;
  setText(parts.badge, s.health === 'unknown' && !s.gateway && !s.readiness ? 'No live data' : (healthLabel[s.health] ?? s.health));
  parts.reason.hidden = !s.healthReason;
  setText(parts.reason, s.healthReason);
  parts.reason.className = `card-reason reason-${s.health}`;

  const c = s.catalog;
  setText(parts.state, c ? c.state : 'not in the catalog');
  parts.state.className = c ? `state state-${c.state}` : 'state';
  setText(parts.version, c?.version || '–');
  setText(parts.driver, c?.driver || '–');
  const labels = Object.entries(c?.labels ?? {});
  const labelKey = JSON.stringify(labels);
  if (parts.labels.dataset.key !== labelKey) {
    parts.labels.dataset.key = labelKey;
    parts.labels.replaceChildren(...labels.map(([k, v]) => h('span.chip', { text: `${k}=${v}` })));
  }
  parts.labelsRow.hidden = labels.length === 0;
  if (c) {
    const share = c.capacity > 0 ? Math.min(1, c.tenantCount / c.capacity) : 0;
    setText(parts.capText, `${numberFormat.format(c.tenantCount)} / ${numberFormat.format(c.capacity)}`);
    parts.capFill.style.width = `${Math.max(share * 100, c.tenantCount > 0 ? 1.5 : 0)}%`;
    parts.capFill.className = `bar-fill${share >= 0.9 ? ' bar-full' : share >= 0.75 ? ' bar-high' : ''}`;
    parts.capBar.setAttribute('aria-valuemax', c.capacity);
    parts.capBar.setAttribute('aria-valuenow', c.tenantCount);
    parts.capBar.hidden = false;
  } else {
    setText(parts.capText, 'unknown (no catalog)');
    parts.capBar.hidden = true;
  }

  const servers = s.gateway?.servers ?? [];
  const serverKey = JSON.stringify(servers.map((v) => [v.url, v.status, v.reachable, v.health.ejected, v.health.inFlight]));
  if (parts.servers.dataset.key !== serverKey) {
    parts.servers.dataset.key = serverKey;
    parts.servers.replaceChildren(
      ...(servers.length
        ? servers.map((v) => {
            const ok = v.status === 'UP' && v.reachable;
            const why = v.status === 'DOWN' ? (v.health.ejected ? `ejected until ${new Date(v.health.ejectedUntil).toLocaleTimeString()}` : 'failing its health check') : v.reachable ? `${v.health.inFlight} in flight` : 'not answering';
            return h('li.server', { 'data-status': ok ? 'up' : 'down' }, h(`span.dot.dot-${ok ? 'up' : 'down'}`, { 'aria-hidden': 'true' }), h('code.server-url', { text: v.url }), h(`span.server-status.status-${ok ? 'up' : 'down'}`, { text: ok ? 'UP' : 'DOWN' }), h('span.server-why', { text: why }));
          })
        : [h('li.muted', { text: s.gateway ? 'no servers' : c?.url ? c.url : 'not routed by a local gateway' })]),
    );
  }

  const t = s.traffic;
  if (t) {
    const rps = last(t.rps);
    const err = last(t.errorRate);
    const p95 = last(t.p95Ms);
    setText(parts.rps.value, fmtRate(rps));
    setText(parts.errors.value, fmtPercent(err));
    setText(parts.p95.value, fmtMs(p95));
    parts.errors.value.classList.toggle('bad', (err ?? 0) >= 0.01);
    const seconds = Math.round((Math.max(MIN_SPAN, t.rps.length) * (state.overview?.traffic?.intervalMs ?? 1000)) / 1000);
    const peakOf = (list) => list.reduce((m, v) => (v !== null && v > m ? v : m), 0);
    for (const [chart, list, fmt] of [[parts.rps, t.rps, fmtRate], [parts.errors, t.errorRate, fmtPercent], [parts.p95, t.p95Ms, fmtMs]]) {
      setText(chart.span, seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${seconds} s`);
      const peak = peakOf(list);
      setText(chart.peak, peak > 0 ? `peak ${fmt(peak)}` : '');
    }
    drawSparkline(parts.rps.line, t.rps, 1, `Requests per second over the last ${t.rps.length} s; now ${fmtRate(rps)}, peak ${fmtRate(peakOf(t.rps))}`);
    drawSparkline(parts.errors.line, t.errorRate, 0.05, `5xx share over the last ${t.errorRate.length} s; now ${fmtPercent(err)}, peak ${fmtPercent(peakOf(t.errorRate))}`);
    drawSparkline(parts.p95.line, t.p95Ms, 5, `95th percentile answer time over the last ${t.p95Ms.length} s; now ${fmtMs(p95)}, peak ${fmtMs(peakOf(t.p95Ms))}`);
  }
  el.classList.toggle('no-traffic', !t);

  const foot = [];
  if (s.gateway) foot.push(`${numberFormat.format(s.gateway.requests)} requests since start`);
  if (s.readiness) foot.push(s.readiness.status === 'ready' ? `ready · db ${s.readiness.db}` : `${s.readiness.status.replace('_', ' ')} · ${s.readiness.detail ?? ''}`);
  if (c?.updatedAt) foot.push(`changed ${fmtAgo(c.updatedAt)}`);
  setText(parts.footer, foot.join(' · '));
}

// ---- routing view (as Traefik's dashboard shows it) ----------------------------------------------------------

function statusCell(ok, text) {
  return h('td', {}, h(`span.status.status-${ok ? 'up' : 'down'}`, {}, h(`span.dot.dot-${ok ? 'up' : 'down'}`, { 'aria-hidden': 'true' }), text));
}
const chips = (list, cls = 'chip') => h('span.chips', {}, ...(list ?? []).map((x) => h(`span.${cls}`, { text: x })));

function renderRouting() {
  const r = state.routing;
  if (!r) return;
  const filter = $('routing-q').value.trim().toLowerCase();
  const match = (...values) => !filter || values.some((v) => String(v ?? '').toLowerCase().includes(filter));
  const ov = r.overview;
  $('routing-kpis').replaceChildren(
    kpi('Routers', numberFormat.format(ov.http.routers.total), `${ov.http.routers.warnings} warnings · ${ov.http.routers.errors} errors`, 'routers'),
    kpi('Services', numberFormat.format(ov.http.services.total), ov.unavailableServices.length ? `unavailable: ${ov.unavailableServices.join(', ')}` : 'all available', 'services'),
    kpi('Middlewares', numberFormat.format(ov.http.middlewares.total), `${ov.http.middlewares.warnings} warnings · ${ov.http.middlewares.errors} errors`, 'middlewares'),
    kpi('Servers', `${ov.servers.up} / ${ov.servers.total} UP`, ov.servers.down ? `${ov.servers.down} DOWN` : 'all UP', 'servers'),
    kpi('Entrypoints', ov.entryPoints.map((e) => e.name).join(', ') || '–', ov.entryPoints.map((e) => e.address ?? 'not listening').join(', '), 'entrypoints'),
    kpi('Config', `v${ov.configVersion}`, ov.lastReload.success ? `reloaded ${fmtAgo(ov.lastReload.time)}` : `last reload rejected: ${ov.lastReload.error}`, 'config'),
  );
  const empty = (cols, text) => h('tr', {}, h('td.empty', { colspan: cols, text }));

  const routers = r.routers.filter((x) => match(x.name, x.rule, x.service, ...(x.middlewares ?? [])));
  $('routers-table').tBodies[0].replaceChildren(
    ...(routers.length
      ? routers.map((x) =>
          h('tr', {}, statusCell(x.status === 'enabled', x.status === 'enabled' ? 'Success' : x.status), h('td', {}, h('code.rule', { text: x.rule })), h('td', {}, chips(x.entryPoints)), h('td', { text: x.name }), h('td', { text: x.service }), h('td', {}, chips(x.middlewares)), h('td.num', { text: x.priority })),
        )
      : [empty(7, filter ? 'No router matches the filter.' : 'No routers.')]),
  );

  const services = r.services.filter((x) => match(x.name, x.type));
  $('services-table').tBodies[0].replaceChildren(
    ...(services.length
      ? services.map((x) => {
          const statuses = Object.entries(x.serverStatus ?? {});
          const up = statuses.filter(([, v]) => v === 'UP').length;
          const servers = h('span.server-dots', { title: statuses.map(([u, v]) => `${u} ${v}`).join('\n') }, ...statuses.map(([u, v]) => h(`span.dot.dot-${v === 'UP' ? 'up' : 'down'}`, { title: `${u} ${v}` })), h('span', { text: statuses.length ? ` ${up}/${statuses.length} UP` : ' –' }));
          const type = x.type === 'stamps' ? `stamps (${x.stamps.stamps.map((s) => s.id).join(', ')})` : x.type;
          return h('tr', {}, statusCell(x.available !== false, x.available !== false ? 'Success' : 'Unavailable'), h('td', { text: x.name }), h('td', {}, h('span.chip', { text: type })), h('td', {}, servers), h('td', {}, chips(x.usedBy)), h('td', {}, h('span.chip.chip-provider', { text: x.provider })));
        })
      : [empty(6, filter ? 'No service matches the filter.' : 'No services.')]),
  );

  const middlewares = r.middlewares.filter((x) => match(x.name, x.type));
  $('middlewares-table').tBodies[0].replaceChildren(
    ...(middlewares.length
      ? middlewares.map((x) => h('tr', {}, statusCell(x.status === 'enabled', x.status === 'enabled' ? 'Success' : x.status), h('td', { text: x.name }), h('td', {}, h('span.chip', { text: x.type })), h('td', {}, chips(x.usedBy)), h('td', {}, h('span.chip.chip-provider', { text: x.provider }))))
      : [empty(5, filter ? 'No middleware matches the filter.' : 'No middlewares.')]),
  );
}

// ---- operations view ------------------------------------------------------------------------------------------

const stepIcon = (stepState) => {
  const s = stepState.toLowerCase();
  if (['done', 'succeeded', 'success', 'completed', 'complete', 'ok', 'finished'].includes(s)) return ['done', '✓'];
  if (['failed', 'error', 'errored'].includes(s)) return ['failed', '✕'];
  if (['compensating', 'compensated', 'rolled-back', 'rolled_back', 'cancelled'].includes(s)) return ['undone', '↺'];
  if (['running', 'in-progress', 'in_progress', 'started'].includes(s)) return ['running', '●'];
  if (s === 'skipped') return ['skipped', '–'];
  return ['pending', '○'];
};

function renderOperations() {
  const data = state.operations;
  if (!data) return;
  const list = data.operations;
  const running = list.filter((op) => op.state === 'running').length;
  setText($('count-operations'), running ? `${running} running` : '');
  const root = $('operations-list');
  if (list.length === 0) {
    root.replaceChildren(h('div.empty-state', {}, h('h2', { text: 'No operations yet' }), h('p', { text: 'Provisioning, deploys and rollouts show here with each step and its progress, as the control plane runs them.' })));
    return;
  }
  root.replaceChildren(
    ...list.map((op) => {
      const { done, failed, total } = op.progress;
      const share = total ? done / total : op.state === 'succeeded' ? 1 : 0;
      const ended = op.finishedAt ? Date.parse(op.finishedAt) : Date.now();
      const bar = h('div.bar', { role: 'progressbar', 'aria-label': `Progress of ${op.kind} on ${op.stampId}`, 'aria-valuemin': 0, 'aria-valuemax': total || 1, 'aria-valuenow': total ? done : share }, h(`div.bar-fill.op-${op.state}`));
      bar.firstChild.style.width = `${Math.round(share * 100)}%`;
      return h(
        'article.op',
        { 'data-operation': op.id, 'data-state': op.state },
        h('header.op-head', {}, h('div', {}, h('h2.op-title', { text: `${op.kind} · ${op.stampId}` }), h('p.muted', { text: `by ${op.actor} · started ${fmtAgo(op.startedAt)} · ${op.finishedAt ? 'took' : 'running for'} ${fmtDuration(ended - Date.parse(op.startedAt))}` })), h(`span.badge.badge-op-${op.state}`, { text: op.state })),
        h('div.op-progress', {}, bar, h('span.muted', { text: total ? `${done} of ${total} steps${failed ? ` · ${failed} failed` : ''}` : 'no steps recorded' })),
        op.steps.length
          ? h(
              'ol.steps',
              {},
              ...op.steps.map((step) => {
                const [kind, icon] = stepIcon(step.state);
                return h(`li.step.step-${kind}`, { title: step.detail ?? step.state }, h('span.step-icon', { 'aria-hidden': 'true', text: icon }), h('span.step-name', { text: step.name }), h('span.visually-hidden', { text: ` (${step.state})` }));
              }),
            )
          : null,
        op.error ? h('p.op-error', { role: 'note', text: op.error }) : null,
      );
    }),
  );
}

// ---- tenants view -----------------------------------------------------------------------------------------------

const tenants = { cursors: [undefined], page: 0, timer: null, seq: 0 };

async function searchTenants() {
  const q = $('tenant-q').value.trim().toLowerCase();
  const stamp = $('tenant-stamp').value;
  const params = new URLSearchParams({ limit: '50' });
  if (q) params.set('q', q);
  if (stamp) params.set('stamp', stamp);
  const cursor = tenants.cursors[tenants.page];
  if (cursor) params.set('cursor', cursor);
  const seq = ++tenants.seq;
  const res = await fetch(`/dashboard/api/tenants?${params}`, { headers: { accept: 'application/json' } });
  if (seq !== tenants.seq) return; // a newer search is under way
  if (res.status === 401) return signedOut();
  const body = await res.json();
  const tbody = $('tenant-table').tBodies[0];
  if (!res.ok) {
    setText($('tenant-summary'), body.detail ?? 'The search failed.');
    tbody.replaceChildren();
    return;
  }
  const stamps = new Map((state.overview?.stamps ?? []).map((s) => [s.id, s]));
  const { count, more } = body.matches;
  setText($('tenant-summary'), `${more ? `More than ${numberFormat.format(count)}` : numberFormat.format(count)} tenant${count === 1 && !more ? '' : 's'}${q ? ` matching “${q}”` : ''}${stamp ? ` on ${stamp}` : ''}`);
  tbody.replaceChildren(
    ...(body.items.length
      ? body.items.map((t) => {
          const s = stamps.get(t.stampId);
          const health = s?.health ?? 'unknown';
          return h('tr', {}, h('td', {}, h('code', { text: t.id })), h('td', {}, h('span.status', {}, h(`span.dot.dot-${health}`, { 'aria-hidden': 'true' }), t.stampId)), h('td', { text: s?.catalog?.state ?? '–' }), h('td', { title: t.createdAt, text: fmtAgo(t.createdAt) }));
        })
      : [h('tr', {}, h('td.empty', { colspan: 4, text: q ? 'No tenant id contains that text.' : 'No tenants yet.' }))]),
  );
  tenants.cursors[tenants.page + 1] = body.next ?? undefined;
  $('tenant-prev').disabled = tenants.page === 0;
  $('tenant-next').disabled = !body.next;
  $('tenant-pager').hidden = tenants.page === 0 && !body.next;
  setText($('tenant-page'), body.items.length ? `page ${tenants.page + 1}` : '');
}

function restartTenantSearch(delay) {
  tenants.cursors = [undefined];
  tenants.page = 0;
  clearTimeout(tenants.timer);
  tenants.timer = setTimeout(() => void searchTenants(), delay);
}

function renderTenantStampOptions(o) {
  const select = $('tenant-stamp');
  const ids = o.stamps.map((s) => s.id);
  if (select.dataset.key === ids.join(',')) return;
  select.dataset.key = ids.join(',');
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '', text: 'All stamps' }), ...ids.map((id) => h('option', { value: id, text: id })));
  select.value = ids.includes(chosen) ? chosen : '';
  if (o.system.tenants !== null) setText($('count-tenants'), numberFormat.format(o.system.tenants));
}

// ---- views and live connection ------------------------------------------------------------------------------------

function showView() {
  const wanted = location.hash.slice(1);
  const view = views.includes(wanted) ? wanted : 'stamps';
  state.view = view;
  for (const v of views) {
    $(`view-${v}`).hidden = v !== view;
    const tab = $(`tab-${v}`);
    if (v === view) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  document.body.dataset.view = view;
  if (view === 'tenants' && $('tenant-table').tBodies[0].children.length === 0) restartTenantSearch(0);
  if (view === 'routing') renderRouting();
}

let leaving = false;
function signedOut() {
  // Signing out here ends this page's stream too: the sign-out's own page is the one to show.
  if (!leaving) location.href = '/login?expired';
}

function onOverview(o) {
  state.overview = o;
  renderHeader(o);
  renderKpis(o);
  renderStamps(o);
  renderTenantStampOptions(o);
  if (!o.sources.gateway) {
    $('routing-kpis').replaceChildren(h('p.empty', { text: 'No gateway runs in this process: routers, services and middlewares are shown by the gateway itself.' }));
  }
}

let source = null;
function connect() {
  source = new EventSource('/dashboard/api/events');
  source.addEventListener('open', () => setLive('up', 'Live'));
  const on = (name, fn) =>
    source.addEventListener(name, (event) => {
      state.lastMessageAt = Date.now();
      setLive('up', 'Live');
      fn(JSON.parse(event.data));
    });
  on('overview', onOverview);
  on('routing', (r) => {
    state.routing = r;
    if (state.view === 'routing') renderRouting();
  });
  on('operations', (ops) => {
    state.operations = ops;
    renderOperations();
  });
  on('problem', (p) => setLive('degraded', p.detail));
  source.addEventListener('signed-out', signedOut);
  source.addEventListener('error', async () => {
    setLive('degraded', 'Reconnecting…');
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    // Closed for good: the server refused the stream. Signed out, or the server is gone?
    try {
      const res = await fetch('/dashboard/api/session', { headers: { accept: 'application/json' } });
      if (res.status === 401) return signedOut();
    } catch {
      setLive('down', 'Offline: retrying');
    }
    setTimeout(connect, 2000);
  });
}

// A page that stopped hearing from the server says so, even if the connection looks open.
setInterval(() => {
  if (state.lastMessageAt && Date.now() - state.lastMessageAt > 5000) setLive('down', 'No data for a while: retrying');
}, 1000);

window.addEventListener('hashchange', showView);
document.querySelector('form[action="/logout"]').addEventListener('submit', () => {
  leaving = true;
  source?.close();
});
$('routing-q').addEventListener('input', renderRouting);
$('tenant-q').addEventListener('input', () => restartTenantSearch(200));
$('tenant-stamp').addEventListener('change', () => restartTenantSearch(0));
$('tenant-form').addEventListener('submit', (event) => {
  event.preventDefault();
  restartTenantSearch(0);
});
$('tenant-next').addEventListener('click', () => {
  tenants.page++;
  void searchTenants();
});
$('tenant-prev').addEventListener('click', () => {
  tenants.page = Math.max(0, tenants.page - 1);
  void searchTenants();
});
if (!location.hash) history.replaceState(null, '', '#stamps');
showView();
connect();
