package filters

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kapi/internal/request"
)

// TestShutdownFilters: before the server stops accepting, requests pass;
// after, a request that is not long-running gets kube's 503 (WaitGroup)
// or, with --shutdown-send-retry-after, kube's 429 (RetryAfter), while
// watches, health checks and kapi's own loopback requests pass; Drained
// closes once the requests counted in have ended.
func TestShutdownFilters(t *testing.T) {
	s := NewShutdown()
	held, release := make(chan struct{}), make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(held)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	serve := func(h http.Handler, path, verb, agent string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("User-Agent", agent)
		r = r.WithContext(request.WithInfo(r.Context(), &request.Info{IsResourceRequest: verb != "", Verb: verb, Resource: "configmaps"}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	wg := WaitGroup(s)(inner)
	retry := RetryAfter(s)(wg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(wg, "/hold", "get", "kubectl")
	}()
	<-held
	if w := serve(retry, "/api/v1/configmaps", "list", "kubectl"); w.Code != http.StatusOK {
		t.Fatalf("before the shutdown: %d", w.Code)
	}
	s.StopAccepting()
	select {
	case <-s.Drained():
		t.Fatal("drained with a request in flight")
	default:
	}
	w := serve(wg, "/api/v1/configmaps", "list", "kubectl")
	if body, _ := io.ReadAll(w.Body); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" ||
		!strings.Contains(string(body), `"message":"apiserver is shutting down"`) {
		t.Fatalf("WaitGroup after the shutdown: %d %v %s", w.Code, w.Header(), body)
	}
	w = serve(retry, "/api/v1/configmaps", "list", "kubectl")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "5" || w.Header().Get("Connection") != "close" ||
		w.Body.String() != "The apiserver is shutting down, please try again later.\n" {
		t.Fatalf("RetryAfter after the shutdown: %d %v %q", w.Code, w.Header(), w.Body)
	}
	for _, c := range []struct{ path, verb, agent string }{
		{"/readyz", "", "kubectl"}, {"/livez", "", "kubectl"}, {"/metrics", "", "prometheus"},
		{"/api/v1/configmaps", "list", "kapi/system:serviceaccount:kube-system:namespace-controller"},
	} {
		if w := serve(retry, c.path, c.verb, c.agent); w.Code != http.StatusOK {
			t.Errorf("%s by %s after the shutdown: %d, want it served", c.path, c.agent, w.Code)
		}
	}
	if w := serve(wg, "/api/v1/configmaps", "watch", "kubectl"); w.Code != http.StatusOK {
		t.Errorf("a watch after the shutdown (WaitGroup): %d, want it served", w.Code)
	}
	close(release)
	<-done
	<-s.Drained()
}
