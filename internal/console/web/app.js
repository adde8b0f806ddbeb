// app.js: the console's views, chosen by the location's hash (which
// survives the service proxy's path untouched):
//   #/r/<group|core>/<version>/<resource>   a table, live
//   #/o/<group|core>/<version>/<resource>/<namespace|_>/<name>   an object's YAML, editable, live
//   #/events                                 the namespace's events, live
//   #/metrics                                live charts from /metrics
import { root, viaProxy, token, request, watch, discover, path, tableAccept, APIError } from './api.js';
import { toYAML } from './yaml.js';
import { parse, Sampler, drawChart } from './metrics.js';

const $ = (sel) => document.querySelector(sel);
const h = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
};

let resources = [];       // from discovery
let viewAbort = null;     // ends the current view's watches and polls
const fieldManager = 'kapi-console';

const keyOf = (r) => `${r.group || 'core'}/${r.version}/${r.resource}`;
const find = (g, v, res) => resources.find((r) => (r.group || 'core') === g && r.version === v && r.resource === res)
  || { group: g === 'core' ? '' : g, version: v, resource: res, namespaced: true, verbs: [] };
const namespace = () => $('#namespace').value;

function showError(err) {
  const box = $('#error');
  if (!err || (err.name === 'AbortError')) { box.hidden = true; return; }
  box.hidden = false;
  box.textContent = err instanceof APIError ? err.toString() : String(err);
}

// ---------- identity ----------

function showMode() {
  const who = token.get() ? 'with your pasted bearer token' : viaProxy ? 'as you (through the API server\u2019s proxy)' : 'anonymously (paste a token)';
  const where = viaProxy ? `API server at ${location.origin}${root}` : 'API forwarded by the console';
  $('#mode').textContent = `${where}, ${who}`;
}

$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token.set($('#token').value.trim());
  $('#token').value = '';
  start();
});
$('#token-clear').addEventListener('click', () => { token.set(''); start(); });

// ---------- sidebar ----------

function renderGroups() {
  const filter = $('#filter').value.toLowerCase();
  const byGroup = new Map();
  for (const r of resources) {
    if (!r.verbs.includes('list')) continue;
    if (filter && !`${r.resource} ${r.kind} ${r.group}`.toLowerCase().includes(filter)) continue;
    const g = r.group || 'core';
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g).push(r);
  }
  const box = $('#groups');
  box.replaceChildren();
  for (const g of [...byGroup.keys()].sort((a, b) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)))) {
    const list = byGroup.get(g).sort((a, b) => a.resource.localeCompare(b.resource));
    box.append(h('h3', { textContent: `${g}/${list[0].version}` }));
    for (const r of list) {
      box.append(h('a', { href: `#/r/${keyOf(r)}`, textContent: r.resource, title: r.kind, dataset: { resource: keyOf(r) } }));
    }
  }
  highlight();
}
$('#filter').addEventListener('input', renderGroups);

async function loadNamespaces() {
  const sel = $('#namespace');
  const keep = sel.value || sessionStorage.getItem('kapi-console.namespace') || 'default';
  const list = await request('api/v1/namespaces');
  sel.replaceChildren(h('option', { value: '', textContent: '(all namespaces)' }),
    ...list.items.map((n) => h('option', { value: n.metadata.name, textContent: n.metadata.name })));
  sel.value = list.items.some((n) => n.metadata.name === keep) ? keep : '';
}
$('#namespace').addEventListener('change', () => {
  sessionStorage.setItem('kapi-console.namespace', namespace());
  route();
});

function highlight() {
  const hash = location.hash;
  for (const a of document.querySelectorAll('#groups a, #tabs a')) {
    const tab = a.dataset.tab;
    const current = tab ? hash.startsWith(`#/${tab}`) || (tab === 'r' && hash.startsWith('#/o/')) : hash === a.getAttribute('href');
    a.classList.toggle('current', current);
  }
}

// ---------- tables ----------

// tableView lists r (in the selected namespace) as the server's Table
// and keeps it current with a watch of Tables from the list's version.
async function tableView(r, signal, title) {
  const ns = namespace();
  const live = h('span', { className: 'live off', id: 'live', textContent: 'connecting…' });
  const view = $('#view');
  view.replaceChildren(h('h2', {}, title || `${r.resource}${r.namespaced ? ` in ${ns || 'all namespaces'}` : ''}`, live));
  const table = await request(path(r, ns) + '?limit=500', { accept: tableAccept, signal });
  const cols = (table.columnDefinitions || []).map((c, i) => ({ ...c, i })).filter((c) => !c.priority);
  const showNS = r.namespaced && !ns;
  const rows = new Map();
  const tbody = h('tbody');
  view.append(h('table', { id: 'resource-table', className: 'resource' },
    h('thead', {}, h('tr', {}, showNS ? h('th', { textContent: 'NAMESPACE' }) : null,
      ...cols.map((c) => h('th', { textContent: c.name.toUpperCase(), title: c.description || '' })))), tbody));

  const rowKey = (row) => row.object?.metadata?.uid || `${row.object?.metadata?.namespace}/${row.object?.metadata?.name}`;
  const render = (row, changed) => {
    const m = row.object?.metadata || {};
    const cells = cols.map((c, j) => {
      const v = row.cells[c.i];
      const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      if (j === 0 && m.name) {
        return h('td', {}, h('a', { href: `#/o/${keyOf(r)}/${m.namespace || '_'}/${encodeURIComponent(m.name)}`, textContent: text, dataset: { object: m.name } }));
      }
      return h('td', { textContent: text });
    });
    const tr = h('tr', { className: changed ? 'changed' : '', dataset: { name: m.name || '', namespace: m.namespace || '' } },
      showNS ? h('td', { textContent: m.namespace || '' }) : null, ...cells);
    return tr;
  };
  const redraw = (changedKey) => {
    const sorted = [...rows.entries()].sort((a, b) => {
      const ma = a[1].object?.metadata || {}, mb = b[1].object?.metadata || {};
      return `${ma.namespace}/${ma.name}`.localeCompare(`${mb.namespace}/${mb.name}`);
    });
    tbody.replaceChildren(...sorted.map(([k, row]) => render(row, k === changedKey)));
  };
  for (const row of table.rows || []) rows.set(rowKey(row), row);
  redraw();
  if (!r.verbs.includes('watch') && r.verbs.length) { live.textContent = 'not watchable'; return; }

  let rv = table.metadata?.resourceVersion;
  while (!signal.aborted) {
    try {
      live.className = 'live'; live.textContent = '\u25cf live';
      await watch(`${path(r, ns)}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, {
        accept: tableAccept, signal,
        onEvent: (ev) => {
          if (ev.type === 'ERROR') throw new APIError(ev.object, ev.object.code);
          rv = ev.object?.metadata?.resourceVersion || rv;
          if (ev.type === 'BOOKMARK') return;
          for (const row of ev.object?.rows || []) {
            rv = row.object?.metadata?.resourceVersion || rv;
            const k = rowKey(row);
            if (ev.type === 'DELETED') rows.delete(k); else rows.set(k, row);
            redraw(ev.type === 'DELETED' ? null : k);
          }
        },
      });
    } catch (err) {
      if (signal.aborted) return;
      live.className = 'live off'; live.textContent = 'reconnecting…';
      if (err instanceof APIError && err.code === 410) return tableView(r, signal, title); // too old: list again
      showError(err);
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
}

// ---------- one object ----------

// objectView shows an object as YAML, kept current by a watch of that
// object while the text is not being edited, and applies the edited text
// with server-side apply as the field manager kapi-console.
async function objectView(r, ns, name, signal) {
  const p = path(r, ns, name);
  const editor = h('textarea', { id: 'yaml', spellcheck: false });
  const message = h('span', { id: 'message' });
  const force = h('input', { type: 'checkbox', id: 'force' });
  const live = h('span', { className: 'live off', id: 'live', textContent: 'connecting…' });
  let dirty = false;
  let rv = '';
  const show = (obj) => {
    rv = obj.metadata?.resourceVersion || rv;
    const shown = structuredClone(obj);
    if (shown.metadata) delete shown.metadata.managedFields; // apply refuses them; they are the server's bookkeeping
    editor.value = toYAML(shown);
    editor.dataset.resourceVersion = rv;
  };
  const say = (text, ok) => { message.textContent = text; message.className = ok ? 'ok' : 'bad'; };
  editor.addEventListener('input', () => { dirty = true; });
  const apply = async () => {
    try {
      const q = `?fieldManager=${fieldManager}${force.checked ? '&force=true' : ''}`;
      const obj = await request(p + q, { method: 'PATCH', contentType: 'application/apply-patch+yaml', body: editor.value });
      dirty = false;
      show(obj);
      say(`applied: resourceVersion ${obj.metadata.resourceVersion}`, true);
    } catch (err) {
      say(err instanceof APIError ? err.toString() : String(err), false);
    }
  };
  const revert = async () => { dirty = false; show(await request(p)); say('', true); };
  $('#view').replaceChildren(
    h('h2', {}, `${r.resource}/${name}${ns ? ` in ${ns}` : ''}`, live),
    h('div', { className: 'actions' },
      h('button', { id: 'apply', textContent: 'Apply (server-side)', onclick: apply }),
      h('label', {}, force, ' force (take fields from other managers)'),
      h('button', { id: 'revert', textContent: 'Revert', onclick: revert }),
      h('a', { href: `#/r/${keyOf(r)}`, textContent: `\u2190 ${r.resource}` }),
      message),
    editor);
  show(await request(p, { signal }));
  while (!signal.aborted) {
    try {
      live.className = 'live'; live.textContent = '\u25cf live';
      await watch(`${path(r, ns)}?watch=1&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}&resourceVersion=${rv}`, {
        signal,
        onEvent: (ev) => {
          if (ev.type === 'ERROR') throw new APIError(ev.object, ev.object.code);
          if (ev.type === 'DELETED') { live.className = 'live off'; live.textContent = 'deleted'; return; }
          if (dirty) { rv = ev.object.metadata.resourceVersion; say('changed on the server since you started editing; Revert to see it', false); return; }
          show(ev.object);
        },
      });
    } catch (err) {
      if (signal.aborted) return;
      live.className = 'live off'; live.textContent = 'reconnecting…';
      if (err instanceof APIError && err.code === 410 && !dirty) { show(await request(p, { signal })); continue; }
      showError(err);
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
}

// ---------- metrics ----------

async function metricsView(signal) {
  const boxes = ['rate', 'latency', 'watchers', 'objects'].map((id) => h('div', { className: 'chart', id: `chart-${id}` }));
  $('#view').replaceChildren(h('h2', {}, 'API server metrics', h('span', { className: 'live', textContent: 'every 2 s' })), h('div', { className: 'charts' }, ...boxes));
  const sampler = new Sampler();
  while (!signal.aborted) {
    try {
      sampler.add(parse(await request('metrics', { accept: 'text/plain', text: true, signal })), Date.now());
      drawChart(boxes[0], 'Requests per second by verb and code', sampler.top('rate', 6), '/s');
      drawChart(boxes[1], 'Request latency, non-watch (s)', sampler.top('latency', 3), ' s');
      drawChart(boxes[2], 'Registered watchers', sampler.top('watchers', 6));
      drawChart(boxes[3], 'Storage objects by resource', sampler.top('objects', 6));
      showError(null);
    } catch (err) {
      if (signal.aborted) return;
      showError(err);
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

// ---------- routing ----------

async function route() {
  if (viewAbort) viewAbort.abort();
  viewAbort = new AbortController();
  const signal = viewAbort.signal;
  showError(null);
  highlight();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    switch (parts[0]) {
      case 'r': return await tableView(find(parts[1], parts[2], parts[3]), signal);
      case 'o': return await objectView(find(parts[1], parts[2], parts[3]), parts[4] === '_' ? '' : parts[4], parts[5], signal);
      case 'events': return await tableView(find('core', 'v1', 'events'), signal, `events in ${namespace() || 'all namespaces'}`);
      case 'metrics': return await metricsView(signal);
      default: location.hash = '#/r/core/v1/namespaces';
    }
  } catch (err) {
    if (!signal.aborted) showError(err);
  }
}
window.addEventListener('hashchange', route);

async function start() {
  showMode();
  const results = await Promise.allSettled([loadNamespaces(), discover().then((rs) => { resources = rs; renderGroups(); })]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    $('#groups').textContent = 'discovery failed';
    showError(failed.reason);
  }
  route();
}

start();
