package router

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPostStartHook: a post-start hook's check fails, and with it the
// endpoints, until its step is done; it is listed by kube's name.
func TestPostStartHook(t *testing.T) {
	h := NewHealth()
	done := h.PostStartHook("start-system-namespaces-controller")
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		ep := strings.Split(strings.TrimPrefix(path, "/"), "?")[0]
		ep = strings.Split(ep, "/")[0]
		h.handler(ep)(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	for _, p := range []string{"/healthz?verbose", "/livez?verbose", "/readyz?verbose"} {
		if code, body := get(p); code != 500 || !strings.Contains(body, "[-]poststarthook/start-system-namespaces-controller failed: reason withheld") ||
			!strings.Contains(body, "[+]ping ok\n[+]log ok\n") {
			t.Errorf("%s before the step: %d %q", p, code, body)
		}
	}
	if code, body := get("/readyz/poststarthook/start-system-namespaces-controller"); code != 500 || !strings.Contains(body, "not finished") {
		t.Errorf("the check alone before the step: %d %q", code, body)
	}
	done()
	done() // a second call changes nothing
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/readyz/poststarthook/start-system-namespaces-controller"} {
		if code, body := get(p); code != 200 || body != "ok" {
			t.Errorf("%s after the step: %d %q", p, code, body)
		}
	}
}

// TestLivezGracePeriod: within --livez-grace-period a post-start hook's
// check passes on /livez, and only there.
func TestLivezGracePeriod(t *testing.T) {
	h := NewHealth()
	h.LivezGracePeriod = time.Hour
	h.PostStartHook("rbac/bootstrap-roles")
	for ep, want := range map[string]int{"livez": 200, "readyz": 500, "healthz": 500} {
		rec := httptest.NewRecorder()
		h.handler(ep)(rec, httptest.NewRequest("GET", "/"+ep, nil))
		if rec.Code != want {
			t.Errorf("/%s within the grace period: %d, want %d", ep, rec.Code, want)
		}
	}
}
