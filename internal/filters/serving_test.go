package filters

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHSTS: the directives, joined as kube joins them, on every response;
// no filter without directives.
func TestHSTS(t *testing.T) {
	if HSTS(nil) != nil {
		t.Error("a filter without directives")
	}
	h := HSTS([]string{"max-age=31536000", "includeSubDomains", "preload"})(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/nowhere", nil))
	if got := w.Header().Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains; preload" || w.Code != 404 {
		t.Errorf("%d, Strict-Transport-Security %q", w.Code, got)
	}
}

// TestGoaway: an HTTP/2 request drawn below the chance closes its
// connection (Connection: close, a GOAWAY in HTTP/2); HTTP/1 requests and
// those drawn above never do; no filter at chance 0.
func TestGoaway(t *testing.T) {
	if Goaway(0) != nil {
		t.Error("a filter at chance 0")
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r, w := httptest.NewRequest("GET", "/version", nil), httptest.NewRecorder()
	r.ProtoMajor = 2
	if Goaway(1)(ok).ServeHTTP(w, r); w.Header().Get("Connection") != "close" {
		t.Error("chance 1: an HTTP/2 request kept its connection")
	}
	for _, c := range []struct {
		major int
		draw  float64
		close bool
	}{{2, 0.005, true}, {2, 0.02, false}, {1, 0.005, false}} {
		r := httptest.NewRequest("GET", "/version", nil)
		r.ProtoMajor = c.major
		w := httptest.NewRecorder()
		goawayWith(0.01, func() float64 { return c.draw })(ok).ServeHTTP(w, r)
		if got := w.Header().Get("Connection") == "close"; got != c.close {
			t.Errorf("HTTP/%d drawn %v: closes %v", c.major, c.draw, got)
		}
	}
}
