package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestInFlightLimit: with --enable-priority-and-fairness=false and
// --max-requests-inflight=2 a burst gets 429s (with Retry-After), never a
// 5xx.
func TestInFlightLimit(t *testing.T) {
	k := startKapi(t, func(c *server.Config) {
		c.EnablePriorityAndFairness = false
		c.MaxRequestsInFlight = 2
		// A slow read, so that the burst overlaps whatever the machine's speed.
		c.Extra = map[string]http.Handler{"GET /test-slow": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(200 * time.Millisecond)
			w.Write([]byte("slow"))
		})}
	})
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := true
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(k.srv.URL + "/test-slow")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				retryAfter = false
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] == 0 || !retryAfter {
		t.Fatalf("burst codes %v, Retry-After on every 429: %v", codes, retryAfter)
	}
	for c := range codes {
		if c >= 500 {
			t.Fatalf("burst got a %d: %v", c, codes)
		}
	}
}

// TestPanicAndTimeout: a panicking handler is a 500 and the server goes on;
// a handler slower than --request-timeout is a 504 Status.
func TestPanicAndTimeout(t *testing.T) {
	k := startKapi(t, func(c *server.Config) {
		c.RequestTimeout = time.Second
		c.Extra = map[string]http.Handler{
			"GET /test-panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("test-only panic") }),
			"GET /test-hang": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}),
		}
	})
	if code, st, _ := k.do(t, "GET", "/test-panic", "", nil); code != 500 || st == nil || st.Code != 500 {
		t.Fatalf("panic: %d %v", code, st)
	}
	if code, _, _ := k.do(t, "GET", "/api/v1/namespaces", "", nil); code != 200 {
		t.Fatalf("after a panic: %d", code)
	}
	if code, st, _ := k.do(t, "GET", "/test-hang", "", nil); code != 504 || st == nil || st.Reason != "Timeout" {
		t.Fatalf("hang: %d %v", code, st)
	}
	code, _, body := k.do(t, "GET", "/metrics", "", nil)
	if code != 200 || !strings.Contains(string(body), "apiserver_request_total") || !strings.Contains(string(body), "authentication_attempts") {
		t.Fatalf("/metrics: %d %.300s", code, body)
	}
}

// TestCORS: preflight and actual requests from an allowed origin get the
// CORS headers; other origins get none.
func TestCORS(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.CORSAllowedOrigins = []string{`//console\.example\.com$`} })
	cases := []struct {
		method, origin string
		allowed        bool
		code           int
	}{
		{"OPTIONS", "https://console.example.com", true, 204},
		{"GET", "https://console.example.com", true, 200},
		{"OPTIONS", "https://evil.example.com", false, 0},
		{"GET", "https://evil.example.com", false, 200},
	}
	hc, _ := rest.HTTPClientFor(k.rest)
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, k.srv.URL+"/api/v1/namespaces", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if c.allowed && (got != c.origin || resp.StatusCode != c.code || resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Allow-Methods") == "") {
			t.Errorf("%s from %s: %d %v", c.method, c.origin, resp.StatusCode, resp.Header)
		}
		if !c.allowed && (got != "" || (c.code != 0 && resp.StatusCode != c.code)) {
			t.Errorf("%s from %s: %d, Access-Control-Allow-Origin %q", c.method, c.origin, resp.StatusCode, got)
		}
	}
}
