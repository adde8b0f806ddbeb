package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
)

// proxyGoroutines counts the goroutines at work in a proxied request:
// in kapi's proxy or the reverse proxy, or in the test's backends. (kapi
// itself starts controllers for a while after it serves, and keeps idle
// connections, so the whole count says nothing.)
func proxyGoroutines() (int, string) {
	buf := make([]byte, 8<<20)
	all := string(buf[:runtime.Stack(buf, true)])
	n, stacks := 0, ""
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "net/http/httputil.") || strings.Contains(g, "kapi/internal/proxy.") ||
			strings.Contains(g, "e2e.TestProxyBadInput.func") {
			n, stacks = n+1, stacks+g+"\n\n"
		}
	}
	return n, stacks
}

// settleGoroutines waits for the proxy's goroutines to come back to
// base, and fails with their stacks if they do not.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, stacks := proxyGoroutines()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy goroutines: %d, were %d\n%s", n, base, stacks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProxyBadInput: malformed proxy paths, ports that do not exist, a
// backend that hangs, one that closes mid-body, an upgrade the backend
// refuses, paths with ".." or encoded slashes: each a Status or a clean
// close, kapi serving on, and no goroutine left behind.
func TestProxyBadInput(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher))
	hung := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the proxy gives up: the client went
		hung <- struct{}{}
	})
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.WriteHeader(200)
		io.WriteString(w, "the beginning")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no upgrades here", http.StatusBadRequest)
	})
	mux.HandleFunc("/", echoBackend)
	_, port := loopbackServer(t, mux, false)
	exposeService(t, k, "default", "web", map[string][2]int32{"": {80, port}})
	const svc = "/api/v1/namespaces/default/services/"
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	k.request(t, "GET", svc+"web:80/proxy/warm", "", nil) // the clients' own connections, before counting
	base, _ := proxyGoroutines()

	for _, c := range []struct {
		path string
		code int
		msg  string
	}{
		{svc + ":80/proxy/", 400, `invalid service request ":80"`},
		{svc + "a:b:c:d/proxy/x", 400, `invalid service request "a:b:c:d"`},
		{svc + "gopher:web:80/proxy/", 400, `invalid service request "gopher:web:80"`},
		{svc + "web%2Fx/proxy/", 404, "the server could not find the requested resource"},
		{svc + "web:9/proxy/", 503, `no service port 9 found for service "web"`},
		{svc + "web:nosuch/proxy/", 503, `no endpoints available for service "web:nosuch"`},
		{"/api/v1/namespaces/default/pods/nosuch:80/proxy/", 404, `pods "nosuch" not found`},
	} {
		code, st, body := k.do(t, "GET", c.path, "", nil)
		if code != c.code || st == nil || !strings.Contains(st.Message, c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.path, code, body, c.code, c.msg)
		}
	}

	// A plain ".." is cleaned by kapi's router (Go's ServeMux, as
	// kube-apiserver's) with a redirect before any proxy sees it.
	if code, h, _ := proxyDo(t, k.rest, k.srv.URL, "GET", svc+"web/proxy/a/../../../etc/passwd", ""); code/100 != 3 || h.Get("Location") != svc+"etc/passwd" {
		t.Errorf("a path with ..: %d %v", code, h)
	}
	// An encoded one never climbs above the target's root; encoded
	// slashes stay encoded (one segment).
	for path, want := range map[string]string{
		"web/proxy/%2e%2e/%2E%2E/x":              "GET /x?",
		"web/proxy/a/%2e%2e/%2e%2e/%2e%2e/etc/x": "GET /etc/x?",
		"web/proxy/a%2F..%2Fb/":                  "GET /a%2F..%2Fb/?",
	} {
		code, _, body := proxyDo(t, k.rest, k.srv.URL, "GET", svc+path, "")
		if code != 200 || !strings.HasPrefix(body, want) {
			t.Errorf("%s: %d %s, want %s", path, code, body, want)
		}
	}

	// A backend that hangs: the client's timeout ends the request, and
	// the backend sees its request cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", k.srv.URL+svc+"web/proxy/hang", nil)
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a hanging backend answered %d", resp.StatusCode)
	}
	cancel()
	select {
	case <-hung:
	case <-time.After(30 * time.Second):
		t.Fatal("the hanging backend's request was not cancelled when the client went")
	}

	// A backend that closes mid-body: the client sees the body end early
	// (the stream reset, over HTTP/2).
	resp, err := hc.Get(k.srv.URL + svc + "web/proxy/cut")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "the beginning") || err == nil {
		t.Errorf("a body cut short: %d %q %v", resp.StatusCode, b, err)
	}

	// An upgrade the backend refuses: its answer, as it gave it.
	tlsCfg, _ := rest.TLSConfigFor(k.rest)
	u, _ := url.Parse(k.srv.URL + svc + "web/proxy/ws")
	u.Scheme = "wss"
	d := websocket.Dialer{TLSClientConfig: tlsCfg}
	if _, resp, err := d.Dial(u.String(), nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("a refused upgrade: %v %v", resp, err)
	} else {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		if line != "no upgrades here\n" {
			t.Errorf("a refused upgrade's body: %q", line)
		}
	}

	// kapi serves on.
	if code, _, body := proxyDo(t, k.rest, k.srv.URL, "GET", svc+"web/proxy/still", ""); code != 200 || !strings.HasPrefix(body, "GET /still?") {
		t.Errorf("after the bad input: %d %s", code, body)
	}
	hc.CloseIdleConnections()
	settleGoroutines(t, base)
}
