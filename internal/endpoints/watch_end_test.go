package endpoints

import (
	"context"
	"testing"
	"time"
)

// TestEndWatches: the watches end all at once without a grace period; with
// one, one after another at kube's pace (their number over the grace
// period, at least 200 a second); a watch that starts after them ends at
// once, and one that ended is forgotten.
func TestEndWatches(t *testing.T) {
	var paused []time.Duration
	pause = func(d time.Duration) { paused = append(paused, d) }
	defer func() { pause = time.Sleep }()
	for _, c := range []struct {
		n     int
		grace time.Duration
		pace  time.Duration // 0: none
	}{{10, 0, 0}, {10, 10 * time.Second, 5 * time.Millisecond}, {1000, 2 * time.Second, 2 * time.Millisecond}} {
		paused = nil
		h := &Resources{}
		ctxs := make([]context.Context, c.n)
		for i := range ctxs {
			var cancel context.CancelFunc
			ctxs[i], cancel = context.WithCancel(context.Background())
			h.watches.add(cancel)
		}
		gone, cancel := context.WithCancel(context.Background())
		h.watches.add(cancel)()
		h.EndWatches(c.grace)
		for i, ctx := range ctxs {
			if ctx.Err() == nil {
				t.Fatalf("%d watches, grace %v: watch %d not ended", c.n, c.grace, i)
			}
		}
		if gone.Err() != nil {
			t.Errorf("a forgotten watch was ended")
		}
		if c.pace == 0 && len(paused) != 0 || c.pace != 0 && (len(paused) != c.n || paused[0] != c.pace) {
			t.Errorf("%d watches, grace %v: paused %d times, first %v; want %v each", c.n, c.grace, len(paused), paused[:min(1, len(paused))], c.pace)
		}
		late, cancel := context.WithCancel(context.Background())
		h.watches.add(cancel)()
		if late.Err() == nil {
			t.Errorf("a watch started after the end goes on")
		}
	}
}
