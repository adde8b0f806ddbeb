package controllers

import (
	"context"
	"sync"
	"testing"
)

// TestInformerHandlers: a handler gets the objects known as Added, then
// every change, the relist's differences included, and nothing once its
// context ended (a loop that lost the lease leaves no handler behind).
func TestInformerHandlers(t *testing.T) {
	store := newMemStore(crole("a", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := NewInformer(store)
	go inf.Run(ctx)
	<-inf.Synced()

	var mu sync.Mutex
	var seen []string
	record := func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(ev.Type)+" "+resourceName(ev))
	}
	loop, stop := context.WithCancel(ctx)
	inf.Handle(loop, record)
	store.set(crole("b", nil))
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 })
	if seen[0] != "ADDED a" || seen[1] != "ADDED b" {
		t.Fatalf("events %v", seen)
	}
	stop()
	waitFor(t, func() bool { inf.mu.RLock(); defer inf.mu.RUnlock(); return len(inf.handlers) == 0 })
	store.set(crole("c", nil))
	waitFor(t, func() bool { _, ok := inf.Get("", "c"); return ok })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("a stopped handler was called: %v", seen)
	}
}

func resourceName(ev Event) string {
	if r, ok := ev.Object.(interface{ GetName() string }); ok {
		return r.GetName()
	}
	return ""
}
