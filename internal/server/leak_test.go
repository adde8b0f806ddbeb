package server

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStopLeavesNoGoroutines: a kapi that started and stopped leaves no
// goroutine of its own behind (etcd's, the controllers', the watches').
func TestStopLeavesNoGoroutines(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = t.TempDir(), 0, io.Discard
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	var left []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		left = kapiGoroutines()
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d goroutines left after Stop:\n%s", len(left), strings.Join(left, "\n\n"))
}

// kapiGoroutines are the stacks that run kapi's or etcd's code.
func kapiGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.") || strings.Contains(g, "runtime.goexit") && !strings.Contains(g, "kapi/internal") && !strings.Contains(g, "go.etcd.io") {
			continue
		}
		if strings.Contains(g, "kapi/internal") || strings.Contains(g, "go.etcd.io") {
			out = append(out, g)
		}
	}
	return out
}
