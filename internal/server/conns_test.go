package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// h2Server serves handler over TLS and HTTP/2, with idleConns as its
// ConnState hook, as kapi's server.
func h2Server(t *testing.T, handler http.Handler) (*httptest.Server, *idleConns) {
	t.Helper()
	conns := newIdleConns()
	srv := httptest.NewUnstartedServer(handler)
	srv.EnableHTTP2 = true
	srv.Config.ConnState = conns.track
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, conns
}

// shutdownH2 stops srv as Server.Stop does.
func shutdownH2(srv *httptest.Server, conns *idleConns) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns.shutdown()
	return srv.Config.Shutdown(ctx)
}

func closedByIdleConns(conns *idleConns) int {
	conns.mu.Lock()
	defer conns.mu.Unlock()
	return conns.closed
}

// An idle HTTP/2 client connection is closed by idleConns, not left to
// the HTTP/2 server's GOAWAY timer.
func TestIdleConnsCloseIdleHTTP2(t *testing.T) {
	srv, conns := h2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	client := srv.Client()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("served over %s, want HTTP/2", resp.Proto)
	}
	if err := shutdownH2(srv, conns); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := closedByIdleConns(conns); n != 1 {
		t.Errorf("idleConns closed %d connections, want the client's 1", n)
	}
}

// A response in flight when the shutdown starts is written whole: its
// connection is not idle, so idleConns leaves it (Go's client hangs up
// itself when a stream ends after a GOAWAY).
func TestIdleConnsKeepStreamInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	body := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	srv, conns := h2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, body)
	}))
	client := srv.Client()
	type result struct {
		body  string
		proto int
		err   error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), resp.ProtoMajor, err}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- shutdownH2(srv, conns) }()
	// Once the shutdown has begun, the stream stays open for longer than
	// idleConns lingers.
	settled := false
	for range 200 {
		conns.mu.Lock()
		settled = conns.shutting
		conns.mu.Unlock()
		if settled {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !settled {
		t.Fatal("the shutdown did not start")
	}
	time.Sleep(2 * idleLinger) // longer than idleConns waits before closing
	close(release)
	r := <-got
	if r.err != nil || r.body != body || r.proto != 2 {
		t.Fatalf("response read: %d bytes over HTTP/%d, err %v; want the whole %d bytes over HTTP/2", len(r.body), r.proto, r.err, len(body))
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
