package endpoints

import (
	"context"
	"sync"
	"time"
)

// watchSet holds the cancels of the watches being served, for a server
// shutting down to end them.
type watchSet struct {
	mu      sync.Mutex
	cancels map[*context.CancelFunc]struct{}
	ended   bool
}

// add records a watch's cancel and returns what forgets it; a watch that
// starts once the watches were ended ends at once.
func (ws *watchSet) add(cancel context.CancelFunc) (forget func()) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.ended {
		cancel()
		return func() {}
	}
	if ws.cancels == nil {
		ws.cancels = map[*context.CancelFunc]struct{}{}
	}
	key := &cancel
	ws.cancels[key] = struct{}{}
	return func() {
		ws.mu.Lock()
		delete(ws.cancels, key)
		ws.mu.Unlock()
	}
}

// EndWatches ends the watches being served, and any that starts later,
// for a server shutting down. With a grace period
// (--shutdown-watch-termination-grace-period) they end one after another
// over at most that time, as kube-apiserver paces them, at least 200 a
// second, so that their clients (informers re-watching) come back to the
// other replicas gradually rather than all at once; those left when it
// has passed end together. Without one they all end at once. It returns
// when every watch has been told to end.
func (h *Resources) EndWatches(grace time.Duration) {
	ws := &h.watches
	ws.mu.Lock()
	ws.ended = true
	cancels := make([]context.CancelFunc, 0, len(ws.cancels))
	for c := range ws.cancels {
		cancels = append(cancels, *c)
	}
	ws.mu.Unlock()
	if grace <= 0 || len(cancels) == 0 {
		for _, c := range cancels {
			c()
		}
		return
	}
	qps := max(float64(len(cancels))/grace.Seconds(), 200)
	interval := time.Duration(float64(time.Second) / qps)
	deadline := time.Now().Add(grace)
	for i, c := range cancels {
		if time.Now().After(deadline) {
			for _, c := range cancels[i:] {
				c()
			}
			return
		}
		c()
		pause(interval)
	}
}

// pause is time.Sleep; tests record it.
var pause = time.Sleep
