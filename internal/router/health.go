package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"kapi/internal/metrics"
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
	// LivezGracePeriod (--livez-grace-period): for this long after it is
	// added, a post-start hook's check passes on /livez, as kube's boot
	// sequence checks do, so that a slow start does not get kapi
	// restarted by its liveness probe; /readyz and /healthz wait.
	LivezGracePeriod time.Duration
}

// healthEndpoints are the endpoints a check of all three is added to.
var healthEndpoints = []string{"healthz", "livez", "readyz"}

// NewHealth returns Health with kube-apiserver's first two checks on every
// endpoint: "ping" and "log".
func NewHealth() *Health {
	h := &Health{checks: map[string][]Check{}}
	log := &logCheck{}
	h.AddAll(Check{Name: "ping", Fn: func(context.Context) error { return nil }})
	h.AddAll(Check{Name: "log", Fn: log.check})
	return h
}

// Add appends a check to an endpoint ("healthz", "livez", "readyz").
func (h *Health) Add(endpoint string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[endpoint] = append(h.checks[endpoint], c)
}

// AddAll appends a check to all three endpoints.
func (h *Health) AddAll(c Check) {
	for _, ep := range healthEndpoints {
		h.Add(ep, c)
	}
}

// PostStartHook adds kube-apiserver's check of a post-start hook,
// "poststarthook/<name>", to all three endpoints: it fails until done is
// called, as kube's fails until its hook has returned. kapi calls done
// when the step of start-up that kube runs in that hook has finished (or,
// for a loop kube starts there, has started).
func (h *Health) PostStartHook(name string) (done func()) {
	finished := make(chan struct{})
	var once sync.Once
	check := Check{Name: "poststarthook/" + name, Fn: func(context.Context) error {
		select {
		case <-finished:
			return nil
		default:
			return errors.New("not finished")
		}
	}}
	h.Add("healthz", check)
	h.Add("readyz", check)
	live := check
	if grace := h.LivezGracePeriod; grace > 0 {
		from := time.Now().Add(grace)
		live.Fn = func(ctx context.Context) error {
			if time.Now().Before(from) {
				return nil
			}
			return check.Fn(ctx)
		}
	}
	h.Add("livez", live)
	return func() { once.Do(func() { close(finished) }) }
}

// logCheck is kube's "log" check (healthz.LogHealthz): logging is
// healthy unless a flush of the log has been under way for two minutes.
// A check starts a flush when the last ended a minute ago or more, so
// that nothing runs between checks.
type logCheck struct {
	mu       sync.Mutex
	flushing bool
	since    time.Time // the start of the flush under way
	last     time.Time // the end of the last flush
}

func (l *logCheck) check(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.flushing {
		if now.Sub(l.since) > 2*time.Minute {
			return errors.New("logging blocked")
		}
		return nil
	}
	if now.Sub(l.last) >= time.Minute {
		l.flushing, l.since = true, now
		go func() {
			klog.Flush()
			l.mu.Lock()
			l.flushing, l.last = false, time.Now()
			l.mu.Unlock()
		}()
	}
	return nil
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
				observe(c.Name, endpoint, false)
				fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
				continue
			}
			observe(c.Name, endpoint, true)
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

// observe records a check's result in kube's health SLIs
// (slis.ObserveHealthcheck).
func observe(check, endpoint string, ok bool) {
	v, status := 0.0, "error"
	if ok {
		v, status = 1, "success"
	}
	metrics.Healthcheck.WithLabelValues(check, endpoint).Set(v)
	metrics.HealthchecksTotal.WithLabelValues(check, endpoint, status).Inc()
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
