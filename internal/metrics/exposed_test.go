package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestExposed: a hidden metric is left out until ShowHidden, a disabled
// one always, and both counters say how many there are; kapi's
// histograms are native too.
func TestExposed(t *testing.T) {
	r := prometheus.NewRegistry()
	for _, n := range []string{"test_hidden", "test_disabled", "test_kept"} {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: n, Help: n})
		g.Set(1)
		r.MustRegister(g)
	}
	names := func() map[string]bool {
		fs, err := Exposed(r).Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, f := range fs {
			out[f.GetName()] = true
		}
		return out
	}
	Hide("test_hidden")
	Hide("test_hidden")
	Disable([]string{"test_disabled", "", "test_disabled"})
	if got := names(); got["test_hidden"] || got["test_disabled"] || !got["test_kept"] {
		t.Errorf("before ShowHidden: %v", got)
	}
	ShowHidden()
	if got := names(); !got["test_hidden"] || got["test_disabled"] || !got["test_kept"] {
		t.Errorf("after ShowHidden: %v", got)
	}
	fs, _ := Registry.Gather()
	for _, f := range fs {
		switch f.GetName() {
		case "hidden_metrics_total", "disabled_metrics_total":
			if v := f.Metric[0].GetCounter().GetValue(); v != 1 {
				t.Errorf("%s = %v, want 1", f.GetName(), v)
			}
		}
	}

	h := Histogram("test_native_seconds", "a test", prometheus.DefBuckets)
	h.WithLabelValues().Observe(0.3)
	fs, _ = Registry.Gather()
	for _, f := range fs {
		if f.GetName() == "test_native_seconds" {
			if hist := f.Metric[0].GetHistogram(); hist.Schema == nil || len(hist.Bucket) == 0 {
				t.Errorf("test_native_seconds: schema %v, %d classic buckets; want both forms", hist.Schema, len(hist.Bucket))
			}
			return
		}
	}
	t.Error("no test_native_seconds")
}
