package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// benchFront is a server proxying every request to backend through
// Connect, as services/proxy does, and a client with many connections.
func benchFront(b *testing.B, backend http.Handler) (front, direct string, c *http.Client) {
	be := httptest.NewServer(backend)
	b.Cleanup(be.Close)
	connect := Connect(func(context.Context, string, string) (*url.URL, error) { return url.Parse(be.URL) }, NewTransport(true), writeError, 0)
	fr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := connect(r.Context(), "ns", "web", strings.TrimPrefix(r.URL.EscapedPath(), "/proxy"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}))
	b.Cleanup(fr.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return fr.URL + "/proxy", be.URL, &http.Client{Transport: tr}
}

func get(b *testing.B, c *http.Client, u string) {
	resp, err := c.Get(u)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// BenchmarkSmallRequests: small GETs from parallel clients, through the
// proxy and straight to the backend, for the ratio of the two.
func BenchmarkSmallRequests(b *testing.B) {
	front, direct, c := benchFront(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for name, u := range map[string]string{"proxied": front + "/x", "direct": direct + "/x"} {
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, c, u)
				}
			})
		})
	}
}

// BenchmarkStream: a 100 MB body through the proxy (MB/s).
func BenchmarkStream(b *testing.B) {
	const size = 100 << 20
	chunk := make([]byte, 256<<10)
	front, _, c := benchFront(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for n := 0; n < size; n += len(chunk) {
			w.Write(chunk)
		}
	}))
	b.SetBytes(size)
	for b.Loop() {
		get(b, c, front+"/blob")
	}
}
