package server

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"kapi/test/ports"
)

// The start benchmarks report ms/start, the time to /readyz = 200, beside
// ns/op. Figures and goals are in the README ("Start-up").

// BenchmarkStart measures a first start in process, from nothing to
// /readyz = 200: certificates generated, embedded etcd created, the
// bootstrap objects written.
func BenchmarkStart(b *testing.B) {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		cfg := Defaults()
		cfg.DataDir, cfg.SecurePort, cfg.Out = b.TempDir(), 0, io.Discard
		start := time.Now()
		s := startReady(b, cfg)
		total += time.Since(start)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkStartRestart measures a start in process on an existing data
// folder, to /readyz = 200.
func BenchmarkStartRestart(b *testing.B) {
	cfg := Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = b.TempDir(), 0, io.Discard
	startReady(b, cfg).Stop()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s := startReady(b, cfg)
		total += time.Since(start)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

func startReady(b *testing.B, cfg Config) *Server {
	s, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := insecure.Get(s.URL + "/readyz")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("/readyz: %d", resp.StatusCode)
	}
	return s
}

var insecure = &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// BenchmarkStartBinary measures the kapi binary's first start, from exec
// to /readyz = 200 with an empty data folder, as a user (or envtest) sees
// it: the process's own start (loading a 100 MB binary, package
// initialisation) included.
func BenchmarkStartBinary(b *testing.B) {
	bin := buildKapi(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		total += execReady(b, bin, b.TempDir())
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkStartBinaryRestart is BenchmarkStartBinary on a data folder a
// previous run filled.
func BenchmarkStartBinaryRestart(b *testing.B) {
	bin := buildKapi(b)
	dir := b.TempDir()
	execReady(b, bin, dir)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		total += execReady(b, bin, dir)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

func buildKapi(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "kapi")
	cmd := exec.Command("go", "build", "-o", bin, "kapi/cmd/kapi")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building kapi: %v\n%s", err, out)
	}
	b.ResetTimer()
	return bin
}

// execReady runs kapi on dir, asks for /readyz until it answers 200, and
// stops the process with SIGTERM (not timed); it returns the time from
// exec to the 200. It asks every millisecond, so the figure is at most a
// millisecond late.
func execReady(b *testing.B, bin, dir string) time.Duration {
	b.Helper()
	port, err := ports.Free() // below the ephemeral range, which outgoing connections take
	if err != nil {
		b.Fatal(err)
	}
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/readyz"
	start := time.Now()
	cmd := exec.Command(bin, "--data-dir", dir, "--secure-port", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var took time.Duration
	for took == 0 {
		select {
		case err := <-exited:
			b.Fatalf("kapi exited before it was ready: %v", err)
		default:
		}
		if resp, err := insecure.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				took = time.Since(start)
				break
			}
		}
		if time.Since(start) > time.Minute {
			cmd.Process.Kill()
			b.Fatal("kapi was not ready within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	b.StartTimer()
	return took
}
