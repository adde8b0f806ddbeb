package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestInFlightLimit: with --enable-priority-and-fairness=false and
// --max-requests-inflight=2, while two reads of a user are being served,
// every further read of that user gets a 429 with Retry-After, never a
// 5xx; the two are then answered. The administrator (system:masters) is
// served all the while, as kube-apiserver serves it.
func TestInFlightLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 64)
	k := startKapi(t, func(c *server.Config) {
		c.EnablePriorityAndFairness = false
		c.MaxRequestsInFlight = 2
		// A read that holds its slot until the test releases it (or,
		// with ?probe, answers at once).
		c.Extra = map[string]http.Handler{"GET /test-slow": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("probe") {
				w.Write([]byte("probe"))
				return
			}
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.Write([]byte("slow"))
		})}
	})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // before kapi stops, should the test end early
	ctx := context.Background()
	if _, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "test-slow"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/test-slow"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "test-slow"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "test-slow"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "burst"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The user "burst" (not in system:masters), impersonated by the
	// administrator: the limit counts the impersonated user.
	rc := rest.CopyConfig(k.rest)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "burst"}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, string) {
		resp, err := hc.Get(k.srv.URL + "/test-slow" + query)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if err := waitUntil(10*time.Second, func() bool { code, _ := get("?probe"); return code == 200 }); err != nil {
		t.Fatal("the user burst is not allowed /test-slow")
	}

	// Take both slots. kapi's own reads may hold one for a moment, so a
	// read that gets a 429 is sent again.
	var held sync.WaitGroup
	heldCodes := make(chan int, 2)
	for taken := 0; taken < 2; {
		answered := make(chan int, 1)
		go func() { code, _ := get(""); answered <- code }()
		select {
		case <-entered:
			taken++
			held.Add(1)
			go func() { defer held.Done(); heldCodes <- <-answered }()
		case code := <-answered:
			if code != 429 {
				t.Fatalf("a read while slots were free: %d", code)
			}
		}
	}

	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := true
	var wg sync.WaitGroup
	for range 18 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, ra := get("")
			mu.Lock()
			codes[code]++
			if code == 429 && ra == "" {
				retryAfter = false
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if code, _, _ := k.do(t, "GET", "/api/v1/namespaces", "", nil); code != 200 {
		t.Errorf("the administrator's read with every slot taken: %d", code)
	}
	free()
	held.Wait()
	close(heldCodes)
	for code := range heldCodes {
		codes[code]++
	}
	if codes[429] != 18 || codes[200] != 2 || len(codes) != 2 || !retryAfter {
		t.Fatalf("codes %v (want 18 429s and the 2 held reads 200), Retry-After on every 429: %v", codes, retryAfter)
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
