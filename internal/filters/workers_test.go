package filters

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestWorkers: calls one after another run on one worker; calls that
// block do not hold up others (each gets a worker); at most maxIdle
// workers wait after them, and those end after idleFor.
func TestWorkers(t *testing.T) {
	base := runtime.NumGoroutine()
	p := newWorkers(4, 100*time.Millisecond)
	for range 100 {
		done := make(chan struct{})
		p.run(func() { close(done) })
		<-done
		// The worker counts itself idle just after the call returns, and
		// waits for the next an instant later; a call in that instant
		// starts a worker of its own.
		for p.idle.Load() != 1 {
			runtime.Gosched()
		}
		time.Sleep(time.Millisecond)
	}
	if n := p.started.Load(); n > 3 {
		t.Fatalf("100 calls one after another started %d workers, want 1 (or, rarely, a few)", n)
	}

	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(10)
	for range 10 {
		p.run(func() {
			running.Done()
			<-release
		})
	}
	waited := make(chan struct{})
	go func() { running.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("ten blocking calls did not all run at once")
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for p.idle.Load() != 4 || runtime.NumGoroutine() > base+4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers idle, %d goroutines (were %d): want 4 idle, the others ended", p.idle.Load(), runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
	for p.idle.Load() != 0 || runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers idle, %d goroutines (were %d) after idleFor: want none", p.idle.Load(), runtime.NumGoroutine(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
