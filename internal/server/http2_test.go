package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestEndsInOpenHeaders(t *testing.T) {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	frames := func(write func(f *http2.Framer)) []byte {
		var b bytes.Buffer
		write(http2.NewFramer(&b, nil))
		return b.Bytes()
	}
	headers := func(f *http2.Framer, end bool) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: end})
	}
	for _, c := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"HEADERS", frames(func(f *http2.Framer) { headers(f, false) }), true},
		{"HEADERS ending the stream", frames(func(f *http2.Framer) { headers(f, true) }), false},
		{"DATA", frames(func(f *http2.Framer) { f.WriteData(1, false, []byte("x")) }), false},
		{"SETTINGS then HEADERS", frames(func(f *http2.Framer) { f.WriteSettingsAck(); headers(f, false) }), true},
		{"HEADERS then DATA", frames(func(f *http2.Framer) { headers(f, false); f.WriteData(1, true, []byte("x")) }), false},
		{"HEADERS without END_HEADERS", frames(func(f *http2.Framer) {
			f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes()})
		}), false},
		{"a cut frame", frames(func(f *http2.Framer) { headers(f, false) })[:5], false},
		{"nothing", nil, false},
	} {
		if got := endsInOpenHeaders(c.p); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// countingListener counts the writes of the connections it accepts: below
// TLS, each is a write system call.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestHTTP2HeadersWithData: a small response leaves in one write, where Go's
// server alone makes two (HEADERS, then DATA); a response that stays open
// after its headers still gets them.
func TestHTTP2HeadersWithData(t *testing.T) {
	p := newPKI(t.TempDir())
	if err := p.ensure(nil); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(p.ServingCert, p.ServingKey)
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}}
	opened := make(chan struct{}, 1)
	srv := &http.Server{TLSConfig: tlsConfig, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-opened:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"kind":"ConfigMap"}`))
	})}
	if err := serveHTTP2(srv); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(countingListener{ln, &writes}, tlsConfig)) }()
	defer func() {
		srv.Close()
		<-done
	}()
	client := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get("https://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s answered over %s", path, resp.Proto)
		}
		return resp
	}
	read := func(resp *http.Response) {
		t.Helper()
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != `{"kind":"ConfigMap"}` {
			t.Fatalf("body %q, %v", b, err)
		}
	}
	read(get("/")) // the connection's settings and window updates

	// The stream's headers reach the client although no DATA follows them
	// until the client has them.
	resp := get("/stream")
	opened <- struct{}{}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A hold long enough that the join does not depend on the scheduler.
	defer func(d time.Duration) { headersHold = d }(headersHold)
	headersHold = time.Second
	before := writes.Load()
	const gets = 20
	for range gets {
		read(get("/"))
	}
	if n := writes.Load() - before; n != gets {
		t.Errorf("%d gets took %d writes, want one each", gets, n)
	}
}

// BenchmarkHTTP2Get: small gets over one HTTP/2 connection, as client-go
// makes them, from one client and from 16, with Go's server alone and with
// HEADERS joined to their DATA.
func BenchmarkHTTP2Get(b *testing.B) {
	p := newPKI(b.TempDir())
	if err := p.ensure(nil); err != nil {
		b.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(p.ServingCert, p.ServingKey)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1500)
	for _, joined := range []bool{false, true} {
		tlsConfig := &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}}
		srv := &http.Server{TLSConfig: tlsConfig, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})}
		if joined {
			if err := serveHTTP2(srv); err != nil {
				b.Fatal(err)
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var writes atomic.Int64
		go srv.Serve(tls.NewListener(countingListener{ln, &writes}, tlsConfig))
		client := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		url := "https://" + ln.Addr().String() + "/"
		get := func() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		get()
		name := map[bool]string{false: "go", true: "joined"}[joined]
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				before := writes.Load()
				b.SetParallelism(clients)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						get()
					}
				})
				b.ReportMetric(float64(writes.Load()-before)/float64(b.N), "writes/op")
			})
		}
		client.CloseIdleConnections()
		srv.Close()
	}
}
