package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestSplitSchemeNamePort(t *testing.T) {
	for id, want := range map[string][4]string{
		"web":            {"", "web", "", "ok"},
		"web:80":         {"", "web", "80", "ok"},
		"web:http":       {"", "web", "http", "ok"},
		"https:web:8443": {"https", "web", "8443", "ok"},
		"http:web:":      {"http", "web", "", "ok"},
		":80":            {"", "", "", ""},
		"ftp:web:21":     {"", "", "", ""},
		"a:b:c:d":        {"", "", "", ""},
		"https::443":     {"", "", "", ""},
		"":               {"", "", "", ""},
	} {
		s, n, p, ok := SplitSchemeNamePort(id)
		okS := ""
		if ok {
			okS = "ok"
		}
		if got := [4]string{s, n, p, okS}; got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}

func TestCleanRest(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"/":            "/",
		"/a/b":         "/a/b",
		"/a/b/":        "/a/b/",
		"/a/../b/":     "/b/",
		"/../../etc":   "/etc",
		"/%2e%2e/etc":  "/etc",
		"/a%2Fb/./c":   "/a%2Fb/c",
		"/a/..":        "/",
		"//double//x/": "/double/x/",
	} {
		if got := cleanRest(in); got != want {
			t.Errorf("cleanRest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDialerRefusesHostLocal: without allowLoopback the dialer refuses
// loopback and link-local addresses after names are resolved
// ("localhost"), so that no name leads the proxy into the host.
func TestDialerRefusesHostLocal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, err := Dialer(false).DialContext(context.Background(), "tcp", net.JoinHostPort(host, port))
		if err == nil || !strings.Contains(err.Error(), addressNotAllowed) {
			t.Errorf("dialing %s without allowLoopback: %v", host, err)
		}
		c, err := Dialer(true).DialContext(context.Background(), "tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Errorf("dialing %s with allowLoopback: %v", host, err)
		} else {
			c.Close()
		}
	}
	for _, ip := range []string{"169.254.169.254", "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1"} {
		if !hostLocalString(ip) {
			t.Errorf("%s is not host-local", ip)
		}
	}
	for _, ip := range []string{"10.0.0.1", "192.168.1.1", "2001:db8::1", "example.com"} {
		if hostLocalString(ip) {
			t.Errorf("%s is host-local", ip)
		}
	}
}

// TestConnectRewritesRedirects: a Location the target sends (absolute
// path or its own URL) comes back below the proxy's prefix, and the
// target learns the client's path in X-Forwarded-Uri, as kube's proxy
// transport does; a relative Location and another host's stay.
func TestConnectRewritesRedirects(t *testing.T) {
	var backendURL string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Uri", r.Header.Get("X-Forwarded-Uri"))
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch r.URL.Path {
		case "/abs":
			http.Redirect(w, r, "/login?next=1", http.StatusFound)
		case "/self":
			w.Header().Set("Location", backendURL+"/home/")
			w.WriteHeader(http.StatusFound)
		case "/other":
			w.Header().Set("Location", "https://example.com/x")
			w.WriteHeader(http.StatusFound)
		case "/rel":
			w.Header().Set("Location", "next")
			w.WriteHeader(http.StatusFound)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer backend.Close()
	backendURL = backend.URL
	const prefix = "/api/v1/namespaces/ns/services/web/proxy"
	locate := func(context.Context, string, string) (*url.URL, error) { return url.Parse(backend.URL) }
	connect := Connect(locate, http.DefaultTransport, writeError, 0)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := connect(r.Context(), "ns", "web", strings.TrimPrefix(r.URL.EscapedPath(), prefix))
		if err != nil {
			writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/abs":   prefix + "/login?next=1",
		"/self":  prefix + "/home/",
		"/other": "https://example.com/x",
		"/rel":   "next",
	} {
		resp, err := c.Get(front.URL + prefix + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("%s: Location %q, want %q", path, got, want)
		}
		if got := resp.Header.Get("X-Seen-Uri"); got != prefix+path {
			t.Errorf("%s: X-Forwarded-Uri %q", path, got)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: the target's CORS header passed", path)
		}
	}
}
