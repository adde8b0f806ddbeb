package cacher

import (
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestDispatchCollectWhileObserving: a histogram collected while
// deliveries of zero latency are counted stays a valid native histogram
// (its count at least its buckets' sum). Reading the zero bucket twice
// made client_golang refuse it, and /metrics answer 500.
func TestDispatchCollectWhileObserving(t *testing.T) {
	h := &dispatchHistogram{gr: schema.GroupResource{Resource: "collected-while-observed"}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				h.observe([numStages]int64{0, 0, 0})
				h.observe([numStages]int64{1000, 2000, 3000})
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range 20000 {
		h.metric(stageTotal) // panics on an invalid histogram
	}
}
