// api.js: how the page reaches the API server, and as whom.
//
// Behind the API server's service proxy the page's path is
//   <root>api/v1/namespaces/<ns>/services/<svc>/proxy/...
// and <root> (usually "/", kubectl proxy's --api-prefix otherwise) is the
// API server itself on this same origin: requests there carry the user's
// own identity (kubectl proxy's credentials, or the browser's). Opened
// directly, the console's own root forwards the API paths with only the
// pasted token. Either way every URL is same-origin and relative.

const proxied = /^(.*?\/)api\/v1\/namespaces\/[^/]+\/services\/[^/]+\/proxy(\/|$)/;

function findRoot() {
  const m = location.pathname.match(proxied);
  if (m) return { root: m[1], viaProxy: true };
  return { root: location.pathname.replace(/[^/]*$/, ''), viaProxy: false };
}

export const { root, viaProxy } = findRoot();

const tokenKey = 'kapi-console.token';
export const token = {
  get: () => sessionStorage.getItem(tokenKey) || '',
  set: (t) => t ? sessionStorage.setItem(tokenKey, t) : sessionStorage.removeItem(tokenKey),
};

export const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json';

// APIError is a metav1.Status the server answered with.
export class APIError extends Error {
  constructor(status, httpCode) {
    super(status.message || `HTTP ${httpCode}`);
    this.status = status;
    this.code = status.code || httpCode;
    this.reason = status.reason || '';
  }
  toString() { return `${this.code} ${this.reason}: ${this.message}`; }
}

function headers(extra) {
  const h = new Headers(extra || {});
  const t = token.get();
  if (t) h.set('Authorization', 'Bearer ' + t);
  return h;
}

async function failure(resp) {
  const text = await resp.text();
  try {
    const s = JSON.parse(text);
    if (s && s.kind === 'Status') return new APIError(s, resp.status);
  } catch (_) { /* not a Status */ }
  return new APIError({ message: text.trim() || resp.statusText }, resp.status);
}

// request calls path (relative to the API root) and returns the parsed
// JSON, or the text when asked for text; a failure throws an APIError.
export async function request(path, { method = 'GET', accept = 'application/json', body, contentType, text = false, signal } = {}) {
  const h = headers({ Accept: accept });
  if (contentType) h.set('Content-Type', contentType);
  const resp = await fetch(root + path, { method, headers: h, body, signal, credentials: 'same-origin' });
  if (!resp.ok) throw await failure(resp);
  return text ? resp.text() : resp.json();
}

// watch streams a watch (watch=1) and calls onEvent with each event until
// signal aborts it or the server ends it; it resolves when the stream
// ends, so that the caller may watch again from the last version.
export async function watch(path, { accept = 'application/json', signal, onEvent }) {
  const resp = await fetch(root + path, { headers: headers({ Accept: accept }), signal, credentials: 'same-origin' });
  if (!resp.ok) throw await failure(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onEvent(JSON.parse(line));
      }
    }
  } finally {
    reader.cancel().catch(() => {}); // an event handler's error ends the stream too
  }
}

// Discovery: every group-version-resource the server serves, from
// aggregated discovery (two requests), else from the legacy documents.
const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json';

export async function discover() {
  const out = [];
  for (const base of ['api', 'apis']) {
    const doc = await request(base, { accept: aggregated });
    if (doc.kind === 'APIGroupDiscoveryList') {
      for (const g of doc.items || []) {
        const group = g.metadata?.name || '';
        const v = (g.versions || [])[0]; // the preferred version comes first
        if (!v) continue;
        for (const r of v.resources || []) {
          out.push({ group, version: v.version, resource: r.resource, kind: r.responseKind?.kind || '',
            namespaced: r.scope === 'Namespaced', verbs: r.verbs || [] });
        }
      }
      continue;
    }
    const gvs = base === 'api' ? (doc.versions || []).map((v) => ({ group: '', version: v }))
      : (doc.groups || []).map((g) => ({ group: g.name, version: g.preferredVersion.version }));
    for (const gv of gvs) {
      const list = await request(gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`);
      for (const r of list.resources || []) {
        if (r.name.includes('/')) continue; // subresources
        out.push({ group: gv.group, version: gv.version, resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs || [] });
      }
    }
  }
  return out;
}

// path is the URL path (relative to the root) of a resource, in a
// namespace when it is namespaced and ns is set, of one object when name
// is set.
export function path(r, ns, name) {
  let p = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
  if (r.namespaced && ns) p += `/namespaces/${encodeURIComponent(ns)}`;
  p += `/${r.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  return p;
}
