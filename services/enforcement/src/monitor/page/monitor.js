/* global document, window, sessionStorage, fetch, URLSearchParams */
// The monitor page: plain DOM and inline SVG, no libraries (the network is closed and the page
// must stay small). Data comes from the service's own /v1/monitor API with the officer's key.

const KEY = 'hashcheck-monitor-key';
const SVG = 'http://www.w3.org/2000/svg';
const $ = (sel) => document.querySelector(sel);

export function formatSeconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${Math.round(s)}s`;
  const units = [['d', 86400], ['h', 3600], ['m', 60]];
  const parts = [];
  let rest = Math.round(s);
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n}${u}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !/^0/.test(p)).join(' ') || '0m';
}

const percent = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 1000) / 10}%`);

const FORMAT = {
  withinDeadlineShare: percent,
  medianSeconds: formatSeconds,
  p90Seconds: formatSeconds,
  oldestOutstandingSeconds: formatSeconds,
};

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY)}` } });
  if (res.status === 401 || res.status === 403) {
    sessionStorage.removeItem(KEY);
    throw new Error('The key was refused. Enter a hotline or regulator key.');
  }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function showError(message) {
  const el = $('#error');
  el.textContent = message;
  el.hidden = !message;
}

/** Renders the bar chart of the time-to-removal distribution into the SVG. */
export function drawDistribution(svg, buckets) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 720;
  const H = 260;
  const pad = { l: 40, r: 10, t: 20, b: 40 };
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const bw = (W - pad.l - pad.r) / buckets.length;
  const axis = document.createElementNS(SVG, 'line');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('x1', pad.l);
  axis.setAttribute('x2', W - pad.r);
  axis.setAttribute('y1', H - pad.b);
  axis.setAttribute('y2', H - pad.b);
  svg.appendChild(axis);
  buckets.forEach((b, i) => {
    const h = ((H - pad.t - pad.b) * b.count) / max;
    const x = pad.l + i * bw + bw * 0.12;
    const rect = document.createElementNS(SVG, 'rect');
    // Buckets from 24 h up are past the sector agreement's deadline.
    rect.setAttribute('class', b.fromSeconds >= 86400 ? 'bar late' : 'bar');
    rect.setAttribute('x', x.toFixed(1));
    rect.setAttribute('y', (H - pad.b - h).toFixed(1));
    rect.setAttribute('width', (bw * 0.76).toFixed(1));
    rect.setAttribute('height', h.toFixed(1));
    rect.setAttribute('data-count', String(b.count));
    rect.setAttribute('data-label', b.label);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${b.label}: ${b.count}`;
    rect.appendChild(title);
    svg.appendChild(rect);
    const count = document.createElementNS(SVG, 'text');
    count.setAttribute('x', (x + bw * 0.38).toFixed(1));
    count.setAttribute('y', (H - pad.b - h - 4).toFixed(1));
    count.setAttribute('text-anchor', 'middle');
    count.textContent = String(b.count);
    svg.appendChild(count);
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', (x + bw * 0.38).toFixed(1));
    label.setAttribute('y', String(H - pad.b + 18));
    label.setAttribute('text-anchor', 'middle');
    label.textContent = b.label;
    svg.appendChild(label);
  });
}

function cellValue(row, key) {
  return key === 'name' ? row.name ?? row.providerId : row[key];
}

function renderTable(table, rows) {
  table._rows = rows;
  const keys = [...table.querySelectorAll('thead th')].map((th) => th.dataset.key);
  const body = table.querySelector('tbody');
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement('tr');
    if (row.providerId) tr.dataset.provider = row.providerId;
    for (const key of keys) {
      const td = document.createElement('td');
      const v = cellValue(row, key);
      td.dataset.key = key;
      td.dataset.value = v === null || v === undefined ? '' : String(v);
      td.textContent = FORMAT[key] ? FORMAT[key](v) : v === null || v === undefined ? '–' : String(v);
      if (v === null || v === undefined) td.className = 'null';
      tr.appendChild(td);
    }
    return tr;
  }));
}

/** Sorts by one column; missing values always go last, whichever the direction. */
export function sortRows(rows, key, type, direction) {
  const sign = direction === 'descending' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = cellValue(a, key);
    const y = cellValue(b, key);
    const xNull = x === null || x === undefined;
    const yNull = y === null || y === undefined;
    if (xNull || yNull) return xNull === yNull ? 0 : xNull ? 1 : -1;
    const c = type === 'number' ? x - y : String(x).localeCompare(String(y));
    return c * sign;
  });
}

function makeSortable(table) {
  for (const th of table.querySelectorAll('thead th')) {
    th.querySelector('button').addEventListener('click', () => {
      const next = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
      for (const other of table.querySelectorAll('thead th')) other.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', next);
      renderTable(table, sortRows(table._rows ?? [], th.dataset.key, th.dataset.type, next));
    });
  }
}

async function loadDistribution() {
  const provider = $('#dist-provider').value;
  const q = provider ? `?${new URLSearchParams({ providerId: provider })}` : '';
  const dist = await api(`/v1/monitor/distribution${q}`);
  drawDistribution($('#distribution'), dist.buckets);
  $('#distribution').setAttribute('data-total', String(dist.total));
}

async function load() {
  const [providers, countries] = await Promise.all([api('/v1/monitor/providers'), api('/v1/monitor/countries')]);
  const rows = providers.providers;
  const t = providers.totals;
  $('#t-providers').textContent = String(t.providers);
  $('#t-removed').textContent = String(t.removed);
  $('#t-within').textContent = percent(t.withinDeadlineShare);
  $('#t-outstanding').textContent = String(t.outstanding);
  $('#t-escalations').textContent = String(t.escalations);
  $('#t-reuploads').textContent = String(t.reuploads);
  $('#generated').textContent = `as of ${providers.generatedAt}`;

  const select = $('#dist-provider');
  const chosen = select.value;
  select.replaceChildren(new window.Option('all providers', ''), ...rows.map((r) => new window.Option(r.name ?? r.providerId, r.providerId)));
  select.value = chosen;

  for (const [table, data] of [[$('#providers'), rows], [$('#countries'), countries.countries]]) {
    const sorted = table.querySelector('th[aria-sort]');
    renderTable(table, sorted ? sortRows(data, sorted.dataset.key, sorted.dataset.type, sorted.getAttribute('aria-sort')) : data);
  }
  await loadDistribution();
  $('#content').hidden = false;
  document.body.dataset.state = 'loaded';
}

async function start() {
  makeSortable($('#providers'));
  makeSortable($('#countries'));
  $('#dist-provider').addEventListener('change', () => loadDistribution().catch((e) => showError(e.message)));
  $('#login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('#key').value.trim());
    $('#login').hidden = true;
    showError('');
    load().catch((e) => {
      showError(e.message);
      $('#login').hidden = false;
    });
  });
  if (!sessionStorage.getItem(KEY)) {
    $('#login').hidden = false;
    return;
  }
  await load().catch((e) => {
    showError(e.message);
    $('#login').hidden = false;
  });
}

if (typeof document !== 'undefined') void start();
