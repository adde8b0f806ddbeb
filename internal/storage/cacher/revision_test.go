package cacher

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRevisionsShareFetches: concurrent reads share fetches, and each gets
// a revision fetched after it began.
func TestRevisionsShareFetches(t *testing.T) {
	var fetches, current atomic.Int64
	r := &revisions{fetch: func(context.Context) (int64, error) {
		fetches.Add(1)
		v := current.Load()
		time.Sleep(5 * time.Millisecond)
		return v, nil
	}}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before := current.Add(1) // a write this read must see
			rev, err := r.get(context.Background())
			if err != nil || rev < before {
				t.Errorf("read began after revision %d, got %d (%v)", before, rev, err)
			}
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n >= 64 {
		t.Fatalf("%d fetches for 64 reads", n)
	}
}
