package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// OpenAPIHandlers wraps kapi's OpenAPI handlers (by ServeMux pattern) so
// that the documents include the aggregated API servers', as
// kube-aggregator's OpenAPI controllers: /openapi/v2 merges the paths
// and definitions each extension serves at its /openapi/v2 (fetched with
// its discovery); the /openapi/v3 index lists apis/<group>/<version> of
// every remote group-version, and /openapi/v3/apis/<group>/<version> is
// proxied to its server. Without extensions, kapi's documents pass
// untouched (with their ETags and encodings).
func (a *Aggregator) OpenAPIHandlers(inner map[string]http.Handler) map[string]http.Handler {
	out := map[string]http.Handler{}
	for p, h := range inner {
		out[p] = h
	}
	v2, index, v3 := inner["GET /openapi/v2"], inner["GET /openapi/v3"], inner["GET /openapi/v3/{path...}"]
	if v2 != nil {
		m := &mergedV2{agg: a, inner: v2}
		out["GET /openapi/v2"] = m
	}
	if index != nil {
		out["GET /openapi/v3"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serveV3Index(index, w, r) })
	}
	if v3 != nil {
		out["GET /openapi/v3/{path...}"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g, v, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/openapi/v3/apis/"), "/"); ok && strings.HasPrefix(r.URL.Path, "/openapi/v3/apis/") && !strings.Contains(v, "/") {
				if h := a.Handler(g, v); h != nil {
					h.ServeHTTP(w, r)
					return
				}
			}
			v3.ServeHTTP(w, r)
		})
	}
	return out
}

// innerJSON is what h answers r as plain JSON.
func innerJSON(h http.Handler, r *http.Request) (*httptest.ResponseRecorder, []byte) {
	in := r.Clone(r.Context())
	in.Header.Set("Accept", "application/json")
	in.Header.Del("Accept-Encoding")
	in.Header.Del("If-None-Match")
	in.Header.Del("If-Modified-Since")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	return rec, rec.Body.Bytes()
}

func (a *Aggregator) serveV3Index(index http.Handler, w http.ResponseWriter, r *http.Request) {
	routes := a.routes.Load()
	if routes == nil || len(routes.byGV) == 0 {
		index.ServeHTTP(w, r)
		return
	}
	rec, body := innerJSON(index, r)
	if rec.Code != http.StatusOK {
		index.ServeHTTP(w, r)
		return
	}
	var doc struct {
		Paths map[string]map[string]string `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		index.ServeHTTP(w, r)
		return
	}
	for gv, rt := range routes.byGV {
		if rt.available {
			doc.Paths["apis/"+gv] = map[string]string{"serverRelativeURL": "/openapi/v3/apis/" + gv}
		}
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// mergedV2 serves kapi's /openapi/v2 with the extensions' merged in,
// built once per generation of the aggregator and of kapi's document.
type mergedV2 struct {
	agg   *Aggregator
	inner http.Handler

	mu    sync.Mutex
	key   string
	json  []byte
	proto []byte
}

func (m *mergedV2) extensions() (docs [][]byte, gen uint64) {
	gen = m.agg.Gen()
	m.agg.discovery.mu.Lock()
	defer m.agg.discovery.mu.Unlock()
	keys := make([]string, 0, len(m.agg.discovery.byGV))
	for gv, d := range m.agg.discovery.byGV {
		if d.openAPI != nil {
			keys = append(keys, gv)
		}
	}
	sort.Strings(keys)
	for _, gv := range keys {
		docs = append(docs, m.agg.discovery.byGV[gv].openAPI)
	}
	return docs, gen
}

func (m *mergedV2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	exts, gen := m.extensions()
	if len(exts) == 0 {
		m.inner.ServeHTTP(w, r)
		return
	}
	rec, body := innerJSON(m.inner, r)
	if rec.Code != http.StatusOK {
		m.inner.ServeHTTP(w, r)
		return
	}
	key := strconv.FormatUint(gen, 10) + "/" + rec.Header().Get("Etag")
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.key != key {
		merged, err := mergeV2(body, exts)
		if err != nil {
			m.inner.ServeHTTP(w, r)
			return
		}
		m.key, m.json, m.proto = key, merged, nil
	}
	etag := strconv.Quote(strconv.FormatUint(gen, 36) + "-" + strings.Trim(rec.Header().Get("Etag"), `"`))
	w.Header().Set("Etag", etag)
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "no-cache, private")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		if m.proto == nil {
			doc, err := openapi_v2.ParseDocument(m.json)
			if err == nil {
				m.proto, err = proto.Marshal(doc)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
		http.ServeContent(w, r, "", timeZero, bytes.NewReader(m.proto))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "", timeZero, bytes.NewReader(m.json))
}

// mergeV2 adds the paths and definitions of exts to base; kapi's own win
// on a clash, as kube's merge keeps the first.
func mergeV2(base []byte, exts [][]byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	for _, field := range []string{"paths", "definitions"} {
		all := map[string]json.RawMessage{}
		if raw, ok := doc[field]; ok {
			if err := json.Unmarshal(raw, &all); err != nil {
				return nil, err
			}
		}
		for _, e := range exts {
			var ext map[string]json.RawMessage
			if json.Unmarshal(e, &ext) != nil {
				continue
			}
			var part map[string]json.RawMessage
			if json.Unmarshal(ext[field], &part) != nil {
				continue
			}
			for k, v := range part {
				if _, taken := all[k]; !taken {
					all[k] = v
				}
			}
		}
		raw, err := json.Marshal(all)
		if err != nil {
			return nil, err
		}
		doc[field] = raw
	}
	return json.Marshal(doc)
}

// timeZero: the merged document has no modification time to offer.
var timeZero time.Time
