package router

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check is one named health check; nil error means healthy.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Health serves /healthz, /livez and /readyz with kube-apiserver's output:
// "ok", or with ?verbose one "[+]name ok" line per check; a failing check
// is 500 with "[-]name failed: reason withheld". /readyz/<name> runs one
// check, ?exclude=<name> skips one.
type Health struct {
	mu     sync.RWMutex
	checks map[string][]Check // by endpoint name
}

// NewHealth returns Health with a "ping" check on every endpoint.
func NewHealth() *Health {
	h := &Health{checks: map[string][]Check{}}
	for _, ep := range []string{"healthz", "livez", "readyz"} {
		h.Add(ep, Check{Name: "ping", Fn: func(context.Context) error { return nil }})
	}
	return h
}

// Add appends a check to an endpoint ("healthz", "livez", "readyz").
func (h *Health) Add(endpoint string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[endpoint] = append(h.checks[endpoint], c)
}

func (h *Health) handler(endpoint string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.RLock()
		checks := append([]Check(nil), h.checks[endpoint]...)
		h.mu.RUnlock()
		sub := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/"+endpoint), "/")
		excluded := map[string]bool{}
		for _, e := range r.URL.Query()["exclude"] {
			excluded[e] = true
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if sub != "" {
			h.serveOne(ctx, w, checks, sub)
			return
		}
		var b strings.Builder
		failed := false
		for _, c := range checks {
			if excluded[c.Name] {
				fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
				continue
			}
			if err := c.Fn(ctx); err != nil {
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
				continue
			}
			fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache, private")
		if failed {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "%s%s check failed\n", b.String(), endpoint)
			return
		}
		if r.URL.Query().Has("verbose") {
			fmt.Fprintf(w, "%s%s check passed\n", b.String(), endpoint)
			return
		}
		fmt.Fprint(w, "ok")
	}
}

// serveOne answers /<endpoint>/<check> as kube-apiserver does: "ok", or
// 500 with the check's error; 404 for a check the endpoint has not.
func (h *Health) serveOne(ctx context.Context, w http.ResponseWriter, checks []Check, name string) {
	for _, c := range checks {
		if c.Name != name {
			continue
		}
		if err := c.Fn(ctx); err != nil {
			http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fmt.Fprint(w, "ok")
		return
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
