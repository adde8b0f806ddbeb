package filters

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// userAuthenticator accepts every request as one user.
type userAuthenticator struct{}

func (userAuthenticator) AuthenticateRequest(*http.Request) (*request.User, bool, error) {
	return &request.User{Name: "bench", Groups: []string{"system:authenticated"}}, true, nil
}

// BenchmarkChain measures the whole filter chain around a handler that
// writes a small body: the cost every request pays before and after the
// MUX (request info, limits, timeout, authentication, authorization and
// the request's metrics).
func BenchmarkChain(b *testing.B) {
	body := []byte(`{"kind":"ConfigMap"}`)
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}), Config{Authenticator: userAuthenticator{}, Authorizer: authz.AlwaysAllow{},
		MaxRequestsInFlight: 400, MaxMutatingInFlight: 200, RequestTimeout: 60e9, Shutdown: NewShutdown()})
	for _, c := range []struct{ name, method, url string }{
		{"get", "GET", "/api/v1/namespaces/default/configmaps/c1"},
		{"list", "GET", "/apis/apps/v1/namespaces/default/deployments"},
		{"create", "POST", "/apis/apps/v1/namespaces/default/deployments"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			r := httptest.NewRequest(c.method, c.url, nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				w.Body.Reset()
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkMetrics measures the Metrics filter alone: the request info
// with and without it, in one run, so that the difference is its cost.
func BenchmarkMetrics(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"without", RequestInfo(noop)}, {"with", RequestInfo(Metrics(nil, nil)(noop))}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			r := httptest.NewRequest("GET", "/api/v1/namespaces/default/configmaps/c1", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				w.Body.Reset()
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
