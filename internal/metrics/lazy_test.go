package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A Series is in its vector once used, not before; every use is the
// same series.
func TestSeriesMadeOnFirstUse(t *testing.T) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c", Help: "c"}, []string{"op"})
	s := NewSeries(vec, "get")
	if n := testutil.CollectAndCount(vec); n != 0 {
		t.Fatalf("%d series before use, want none", n)
	}
	s.Get().Inc()
	s.Get().Add(2)
	if n := testutil.CollectAndCount(vec); n != 1 {
		t.Fatalf("%d series after use, want 1", n)
	}
	if v := testutil.ToFloat64(vec.WithLabelValues("get")); v != 3 {
		t.Errorf("the series has %v, want 3", v)
	}
}

// Get allocates nothing once the series is made.
func TestSeriesGetAllocates(t *testing.T) {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "h", Help: "h"}, []string{"op"})
	s := NewSeries(vec, "get")
	s.Get()
	if n := testing.AllocsPerRun(100, func() { s.Get().Observe(1) }); n != 0 {
		t.Errorf("%v allocations per use, want 0", n)
	}
}
