// metrics.js: live charts from the API server's /metrics (Prometheus
// text format), parsed here and drawn as SVG: request rate by verb and
// code, request latency quantiles, registered watchers, storage objects.

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

// parse returns the samples of a Prometheus text exposition:
// [{name, labels: {...}, value}].
export function parse(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(sampleLine);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(labelPair)) labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sumBy(samples, name, keyOf, filter = () => true) {
  const m = new Map();
  for (const s of samples) {
    if (s.name !== name || !filter(s.labels)) continue;
    const k = keyOf(s.labels);
    m.set(k, (m.get(k) || 0) + s.value);
  }
  return m;
}

const longRunning = (l) => l.verb !== 'WATCH' && l.verb !== 'CONNECT';

// quantile estimates the q-quantile from cumulative bucket counts (as
// Prometheus' histogram_quantile: linear within the bucket).
function quantile(q, buckets) {
  const bs = [...buckets.entries()].map(([le, c]) => [le === '+Inf' ? Infinity : Number(le), c]).sort((a, b) => a[0] - b[0]);
  if (!bs.length) return NaN;
  const total = bs[bs.length - 1][1];
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0, prevC = 0;
  for (const [le, c] of bs) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevC) / Math.max(c - prevC, 1e-9));
    }
    prevLe = le; prevC = c;
  }
  return prevLe;
}

// Sampler keeps a window of derived series between scrapes.
export class Sampler {
  constructor(keep = 60) { this.keep = keep; this.prev = null; this.series = {}; }

  add(samples, t) {
    const now = {
      requests: sumBy(samples, 'apiserver_request_total', (l) => `${l.verb} ${l.code}`),
      buckets: sumBy(samples, 'apiserver_request_duration_seconds_bucket', (l) => l.le, longRunning),
      watchers: sumBy(samples, 'apiserver_registered_watchers', (l) => l.kind || l.resource || 'all'),
      // apiserver_resource_objects: kube 1.37 hides apiserver_storage_objects.
      objects: sumBy(samples, 'apiserver_resource_objects', (l) => (l.group ? `${l.resource}.${l.group}` : l.resource) || 'all'),
    };
    if (this.prev) {
      const dt = (t - this.prev.t) / 1000;
      const rate = new Map();
      for (const [k, v] of now.requests) rate.set(k, Math.max(0, v - (this.prev.requests.get(k) || 0)) / dt);
      this.push('rate', t, rate);
      const delta = new Map();
      for (const [le, c] of now.buckets) delta.set(le, Math.max(0, c - (this.prev.buckets.get(le) || 0)));
      const lat = new Map();
      for (const q of [0.5, 0.9, 0.99]) {
        const v = quantile(q, delta);
        if (!Number.isNaN(v)) lat.set(`p${q * 100}`, v);
      }
      this.push('latency', t, lat);
    }
    this.push('watchers', t, now.watchers);
    this.push('objects', t, now.objects);
    this.prev = { t, ...now };
  }

  push(name, t, values) {
    const s = (this.series[name] ||= new Map());
    for (const [k, v] of values) {
      if (!s.has(k)) s.set(k, []);
      s.get(k).push({ t, v });
    }
    for (const pts of s.values()) while (pts.length > this.keep) pts.shift();
  }

  // top is the n series of name with the largest latest values.
  top(name, n) {
    const s = this.series[name] || new Map();
    return [...s.entries()].map(([k, pts]) => ({ name: k, points: pts }))
      .sort((a, b) => last(b) - last(a) || a.name.localeCompare(b.name)).slice(0, n);
  }
}

const last = (s) => (s.points.length ? s.points[s.points.length - 1].v : 0);

const colors = ['#326ce5', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#0c8599', '#c2255c', '#5c940d'];
const svgNS = 'http://www.w3.org/2000/svg';

function el(name, attrs, parent) {
  const e = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  parent.appendChild(e);
  return e;
}

function fmt(v) {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

// drawChart renders series ([{name, points: [{t, v}]}]) as lines into
// the chart element box: an SVG with a y axis from 0 and a legend with
// each series' latest value.
export function drawChart(box, title, series, unit = '') {
  box.replaceChildren();
  const h3 = document.createElement('h3');
  h3.textContent = title;
  box.appendChild(h3);
  const W = 400, H = 180, L = 40, B = 16;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title }, box);
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#667085' }, svg).textContent = 'waiting for samples…';
    return;
  }
  const t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t));
  const vmax = (Math.max(...all.map((p) => p.v)) || 1) * 1.1; // an all-zero chart keeps a 0..1 scale
  const x = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * (W - L - 4);
  const y = (v) => H - B - (v / vmax) * (H - B - 6);
  for (const f of [0, 0.5, 1]) {
    el('line', { x1: L, x2: W, y1: y(vmax * f / 1.1), y2: y(vmax * f / 1.1), stroke: '#d9dee7' }, svg);
    el('text', { x: L - 4, y: y(vmax * f / 1.1) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' }, svg).textContent = fmt(vmax * f / 1.1);
  }
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    el('path', { d, fill: 'none', stroke: colors[i % colors.length], 'stroke-width': 1.6, 'vector-effect': 'non-scaling-stroke' }, svg);
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  series.forEach((s, i) => {
    const span = document.createElement('span');
    const sw = document.createElement('i');
    sw.style.background = colors[i % colors.length];
    span.append(sw, `${s.name}: ${fmt(last(s))}${unit}`);
    legend.appendChild(span);
  });
  box.appendChild(legend);
}
