package admission

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"kapi/internal/metrics"
)

// observed lists the series of the histogram family in g whose labels
// include match, as "label=value,..." with their counts of observations.
func observed(t *testing.T, g prometheus.Gatherer, family string, match map[string]string) []string {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if v, ok := match[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
				if _, ok := match[l.GetName()]; !ok {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
			}
			out = append(out, strings.Join(labels, ",")+" "+strconv.FormatUint(m.GetHistogram().GetSampleCount(), 10))
		}
	}
	slices.Sort(out)
	return out
}

// The admission latencies have a series once one was observed, as kube's:
// a phase, or a plugin added to a chain, makes none in advance (no zeros
// for every operation, CONNECT included, and both outcomes).
func TestAdmissionSeriesOnceObserved(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "step", Buckets: []float64{1}}, []string{"type", "operation", "rejected"})
	reg.MustRegister(h)
	o := newObservers(h, stepAdmit)
	if got := observed(t, reg, "step", nil); len(got) != 0 {
		t.Fatalf("series before any observation: %q", got)
	}
	o.observe(Create, time.Now(), nil)
	o.observe(Create, time.Now(), nil)
	o.observe(Update, time.Now(), errors.New("refused"))
	want := []string{"operation=CREATE,rejected=false,type=admit 2", "operation=UPDATE,rejected=true,type=admit 1"}
	if got := observed(t, reg, "step", nil); !slices.Equal(got, want) {
		t.Errorf("series %q, want %q", got, want)
	}

	// A named plugin that handles CONNECT: its series appear with its
	// calls, a CONNECT's when it admits one.
	const name = "MetricsTestPlugin"
	var calls []string
	chain := &Chain{}
	chain.AddNamed(name, connectRecorder{recorder{name: name, calls: &calls}})
	family := "apiserver_admission_controller_admission_duration_seconds"
	mine := map[string]string{"name": name}
	if got := observed(t, metrics.Registry, family, mine); len(got) != 0 {
		t.Fatalf("the plugin's series before any call: %q", got)
	}
	if err := chain.Mutate(context.Background(), &Attributes{Operation: Create, Resource: row("v1/pods", true), Object: &corev1.Pod{}}); err != nil {
		t.Fatal(err)
	}
	want = []string{"operation=CREATE,rejected=false,type=admit 1"}
	if got := observed(t, metrics.Registry, family, mine); !slices.Equal(got, want) {
		t.Errorf("after one CREATE: series %q, want %q", got, want)
	}
	a := &Attributes{Resource: row("v1/pods", true), Subresource: "exec", Object: &corev1.PodExecOptions{Command: []string{"ls"}}}
	if err := chain.Connect(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want = []string{"operation=CONNECT,rejected=false,type=admit 1", "operation=CONNECT,rejected=false,type=validate 1",
		"operation=CREATE,rejected=false,type=admit 1"}
	if got := observed(t, metrics.Registry, family, mine); !slices.Equal(got, want) {
		t.Errorf("after a CONNECT: series %q, want %q", got, want)
	}
}

// The admission histograms are classic ones, as kube's: no native buckets
// in a protobuf scrape.
func TestAdmissionHistogramsClassic(t *testing.T) {
	admitStep.observe(Create, time.Now(), nil)
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range families {
		if f.GetName() != "apiserver_admission_step_admission_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			seen++
			if h := m.GetHistogram(); h.Schema != nil || len(h.GetPositiveSpan()) > 0 {
				t.Errorf("a native histogram: %v", h)
			}
		}
	}
	if seen == 0 {
		t.Error("no step series after an admission")
	}
}
