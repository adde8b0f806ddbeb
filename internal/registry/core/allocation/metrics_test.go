package allocation

import (
	"context"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestClusterIPMetrics: kube's series of the cluster IP allocator, by
// the range's CIDR: allocations and their errors by scope, what the
// range holds and has left, the allocations' duration; a dry run counts
// nothing.
func TestClusterIPMetrics(t *testing.T) {
	ctx := context.Background()
	const cidr = "10.9.0.0/27" // 30 usable addresses; no other test's
	objs := &fakeObjects{objs: map[string]*networkingv1.IPAddress{}}
	a, err := NewClusterIPs(cidr, objs)
	if err != nil {
		t.Fatal(err)
	}
	owner := Owner{Namespace: "default", Name: "a"}
	count := func(scope string) (ok, failed float64) {
		return testutil.ToFloat64(ipAllocations.WithLabelValues(cidr, scope)), testutil.ToFloat64(ipAllocationErrors.WithLabelValues(cidr, scope))
	}
	durations := func() uint64 {
		var m dto.Metric
		if err := ipAllocationDuration.WithLabelValues(cidr).(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	gauges := func() (used, left float64) {
		return testutil.ToFloat64(ipAllocated.WithLabelValues(cidr)), testutil.ToFloat64(ipAvailable.WithLabelValues(cidr))
	}
	ip := netip.MustParseAddr("10.9.0.5")
	for _, step := range []struct {
		name            string
		do              func() error
		fails           bool
		static, dynamic [2]float64 // allocations and errors after
		durations       uint64
		used, left      float64
	}{
		{"a dry run", func() error { return a.Allocate(ctx, ip, owner, true) }, false, [2]float64{0, 0}, [2]float64{0, 0}, 0, 0, 0},
		{"10.9.0.5", func() error { return a.Allocate(ctx, ip, owner, false) }, false, [2]float64{1, 0}, [2]float64{0, 0}, 1, 1, 29},
		{"10.9.0.5 again", func() error { return a.Allocate(ctx, ip, owner, false) }, true, [2]float64{1, 1}, [2]float64{0, 0}, 1, 1, 29},
		{"out of the range", func() error { return a.Allocate(ctx, netip.MustParseAddr("10.8.0.1"), owner, false) }, true, [2]float64{1, 2}, [2]float64{0, 0}, 1, 1, 29},
		{"the next", func() error { _, err := a.AllocateNext(ctx, owner, false); return err }, false, [2]float64{1, 2}, [2]float64{1, 0}, 2, 2, 28},
		{"a dry run of the next", func() error { _, err := a.AllocateNext(ctx, owner, true); return err }, false, [2]float64{1, 2}, [2]float64{1, 0}, 2, 2, 28},
		{"the release of 10.9.0.5", func() error { return a.Release(ctx, ip, owner) }, false, [2]float64{1, 2}, [2]float64{1, 0}, 2, 1, 29},
	} {
		if err := step.do(); (err != nil) != step.fails {
			t.Fatalf("%s: %v", step.name, err)
		}
		ok, failed := count(static)
		dok, dfailed := count(dynamic)
		used, left := gauges()
		if [2]float64{ok, failed} != step.static || [2]float64{dok, dfailed} != step.dynamic || durations() != step.durations || used != step.used || left != step.left {
			t.Errorf("%s: static %v %v, dynamic %v %v, %d durations, %v used, %v left; want %v %v %d %v %v", step.name, ok, failed, dok, dfailed,
				durations(), used, left, step.static, step.dynamic, step.durations, step.used, step.left)
		}
	}
}
