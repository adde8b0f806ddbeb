package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	st := err.(apierrors.APIStatus).Status()
	w.WriteHeader(int(st.Code))
	json.NewEncoder(w).Encode(st)
}

// front serves the proxy of every request to backend's base path.
func front(t *testing.T, backend string, opts Options) *httptest.Server {
	opts.Error = writeError
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(backend)
		if err := JoinPath(u, strings.TrimPrefix(r.URL.EscapedPath(), "/front")); err != nil {
			t.Error(err)
		}
		Handler(Location{URL: u, Transport: http.DefaultTransport}, opts).ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestHandlerPathsQueriesAndHeaders(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+r.Header.Get("X-Forwarded-Host"))
	}))
	defer backend.Close()
	f := front(t, backend.URL+"/base", Options{KeepQuery: true})
	for target, want := range map[string]string{
		"/front/a/b?x=1":   "GET /base/a/b?x=1 ",
		"/front/a%2Fb/":    "GET /base/a%2Fb/? ",
		"/front/x%20y?q=a": "GET /base/x%20y?q=a ",
	} {
		resp, err := http.Get(f.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(b); got != want+strings.TrimPrefix(f.URL, "http://") {
			t.Errorf("%s: backend saw %q, want %q", target, got, want+strings.TrimPrefix(f.URL, "http://"))
		}
	}
}

func TestHandlerRedirectsEmptyPath(t *testing.T) {
	backend := httptest.NewServer(http.NotFoundHandler())
	defer backend.Close()
	f := front(t, backend.URL, Options{RedirectEmptyPath: true})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(f.URL + "/front?a=b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/front/?a=b" {
		t.Errorf("got %d to %q, want 301 to /front/?a=b", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestHandlerRejectsRedirects: with RejectRedirects (the aggregator's,
// by default) a backend's redirect reaches the client as kube's 502,
// without the backend's headers; without it, as the backend sent it. An
// answer that is no redirect passes either way.
func TestHandlerRejectsRedirects(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/away") {
			w.Header().Set("X-Backend", "yes")
			http.Redirect(w, r, "https://elsewhere.example.com/", http.StatusFound)
			return
		}
		io.WriteString(w, "here")
	}))
	defer backend.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(f *httptest.Server, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(f.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	rejecting := front(t, backend.URL, Options{RejectRedirects: true})
	if resp, body := get(rejecting, "/front/away"); resp.StatusCode != http.StatusBadGateway || body != redirectRejected ||
		resp.Header.Get("Location") != "" || resp.Header.Get("X-Backend") != "" {
		t.Errorf("a rejected redirect: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, body := get(rejecting, "/front/stay"); resp.StatusCode != http.StatusOK || body != "here" {
		t.Errorf("an answer that is no redirect: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(front(t, backend.URL, Options{}), "/front/away"); resp.StatusCode != http.StatusFound ||
		resp.Header.Get("Location") != "https://elsewhere.example.com/" {
		t.Errorf("a redirect passed on: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHandlerUnreachableIs503(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	f := front(t, "http://"+addr, Options{})
	resp, err := http.Get(f.URL + "/front/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "error trying to reach service") {
		t.Errorf("got %d %s", resp.StatusCode, b)
	}
}

// TestHandlerUpgrade: a 101 from the target splices the two
// connections; bytes go both ways after it, throttled or not.
func TestHandlerUpgrade(t *testing.T) {
	for _, opts := range []Options{{}, {MaxBytesPerSec: 1 << 20}} {
		upgradeEcho(t, opts)
	}
}

// TestThrottledUpgrade: with MaxBytesPerSec, the target's side of an
// upgraded connection is read and written through rate limiters of that
// rate (kube's flowrate); an answer that is no upgrade is left alone.
func TestThrottledUpgrade(t *testing.T) {
	s := newStreamer(http.DefaultTransport, Options{Error: writeError, MaxBytesPerSec: 4096})
	conn := &fakeConn{}
	resp := &http.Response{StatusCode: http.StatusSwitchingProtocols, Body: conn}
	if err := s.rp.ModifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	th, ok := resp.Body.(*throttled)
	if !ok {
		t.Fatalf("the upgraded connection is a %T", resp.Body)
	}
	if r, w := th.r.SetLimit(4096), th.w.SetLimit(4096); r != 4096 || w != 4096 {
		t.Errorf("limits %d and %d, want 4096 each way", r, w)
	}
	if n, err := th.Write([]byte("hello")); n != 5 || err != nil || conn.written.String() != "hello" {
		t.Errorf("wrote %d %v: %q", n, err, conn.written.String())
	}
	plain := &http.Response{StatusCode: http.StatusOK, Body: conn}
	if s.rp.ModifyResponse(plain); plain.Body != conn {
		t.Errorf("a 200's body became a %T", plain.Body)
	}
	if newStreamer(http.DefaultTransport, Options{Error: writeError}).rp.ModifyResponse != nil {
		t.Error("a streamer without a limit changes answers")
	}
}

type fakeConn struct{ written bytes.Buffer }

func (c *fakeConn) Read([]byte) (int, error)    { return 0, io.EOF }
func (c *fakeConn) Write(p []byte) (int, error) { return c.written.Write(p) }
func (c *fakeConn) Close() error                { return nil }

func upgradeEcho(t *testing.T, opts Options) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo " + line)
		rw.Flush()
	}))
	defer backend.Close()
	f := front(t, backend.URL, opts)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /front/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(conn, "hello\n")
	if line, _ := br.ReadString('\n'); line != "echo hello\n" {
		t.Errorf("after the upgrade read %q", line)
	}
}

// connOnly hijacks as k8s.io/apiserver's TunnelingHandler's writer
// does: the connection, and no bufio.ReadWriter.
type connOnly struct{ http.ResponseWriter }

func (w connOnly) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && brw.Reader.Buffered() > 0 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	return conn, nil, err
}

// TestHandlerUpgradeConnOnlyHijack: an upgrade through a writer whose
// Hijack returns no ReadWriter (a port forward tunnelled in a
// WebSocket) is spliced, not a nil dereference.
func TestHandlerUpgradeConnOnlyHijack(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo " + line)
		rw.Flush()
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	h := Handler(Location{URL: u, Transport: http.DefaultTransport}, Options{Error: writeError})
	f := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(connOnly{w}, r) }))
	defer f.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(conn, "hello\n")
	if line, _ := br.ReadString('\n'); line != "echo hello\n" {
		t.Errorf("after the upgrade read %q", line)
	}
}
