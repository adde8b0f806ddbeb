package server

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
)

// BenchmarkStart measures a first start, from nothing to /readyz = 200:
// certificates generated, embedded etcd created, namespaces bootstrapped.
func BenchmarkStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cfg := Defaults()
		cfg.DataDir, cfg.SecurePort, cfg.Out = b.TempDir(), 0, io.Discard
		s := startReady(b, cfg)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
}

// BenchmarkRestart measures a start on an existing data folder, to
// /readyz = 200.
func BenchmarkRestart(b *testing.B) {
	cfg := Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = b.TempDir(), 0, io.Discard
	startReady(b, cfg).Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := startReady(b, cfg)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
}

func startReady(b *testing.B, cfg Config) *Server {
	s, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(s.URL + "/readyz")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("/readyz: %d", resp.StatusCode)
	}
	return s
}
