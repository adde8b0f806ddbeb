package cacher

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"kapi/internal/storage"
	"kapi/internal/storage/embedded"
	"kapi/internal/storage/etcd"
	"kapi/internal/storage/storagetest"
)

// newMetricsPair is newPairOn with a resource of the test's own for the
// store's and the cache's metrics (the registry is the process's), and
// the objects of objs in etcd before the cache starts.
func newMetricsPair(t *testing.T, resource string, opts Options, objs ...string) (*embedded.Etcd, *etcd.Store, *Cacher, map[string]string) {
	t.Helper()
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	gr := schema.GroupResource{Group: "metrics.test", Resource: resource}
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	s := etcd.New(e.Client, "/registry/configmaps/", etcd.Codec{
		Serializer: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme),
		GVK:        corev1.SchemeGroupVersion.WithKind("ConfigMap"), New: newCM,
	}).SetResource(gr)
	for _, name := range objs {
		if _, err := s.Create(context.Background(), "a/"+name, storagetest.CM("a", name, "x")); err != nil {
			t.Fatal(err)
		}
	}
	opts.New, opts.Resource = newCM, gr
	c := New(s, opts)
	t.Cleanup(c.Stop)
	return e, s, c, map[string]string{"group": gr.Group, "resource": gr.Resource}
}

// with is labels and more.
func with(labels map[string]string, kv ...string) map[string]string {
	out := maps.Clone(labels)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// metricIs checks the series name{labels} has want.
func metricIs(t *testing.T, name string, labels map[string]string, want float64) {
	t.Helper()
	if v, ok := storagetest.Metric(t, name, labels); !ok || v != want {
		t.Errorf("%s%v = %v (exists: %v), want %v", name, labels, v, ok, want)
	}
}

// eventually waits up to 10 s for ok.
func eventually(t *testing.T, msg func() string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
	}
}

// etcdSize is what the values below the store's root take in etcd.
func etcdSize(t *testing.T, e *embedded.Etcd) int64 {
	t.Helper()
	resp, err := e.Client.Get(context.Background(), "/registry/configmaps/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, kv := range resp.Kvs {
		n += int64(len(kv.Value))
	}
	return n
}

// TestCacheMetrics: the watch cache's kube-apiserver metrics, from its
// start through lists and a watched change.
func TestCacheMetrics(t *testing.T) {
	e, _, c, gr := newMetricsPair(t, "cached", Options{Events: 50}, "one", "two")
	ctx := context.Background()
	// Made with the cache, as kube's: its capacity, and its dispatch
	// stages at zero.
	metricIs(t, "watch_cache_capacity", gr, 50)
	for _, stage := range []string{"total", "storage_to_cache", "cache_to_watcher"} {
		metricIs(t, "apiserver_watch_events_dispatch_duration_seconds", with(gr, "stage", stage), 0)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	metricIs(t, "apiserver_watch_cache_initializations_total", gr, 1)
	metricIs(t, "apiserver_watch_cache_initialization_duration_seconds", gr, 1)
	metricIs(t, "apiserver_watch_cache_resource_version", gr, float64(c.rev))
	// Filled from a watch's initial events, as kube's: one Range
	// request, no list.
	if _, ok := storagetest.Metric(t, "apiserver_storage_list_total", with(gr, "storage", "etcd", "index", "")); ok {
		t.Errorf("the cache's filling counted as an etcd list")
	}
	metricIs(t, "etcd_requests_total", with(gr, "operation", "list"), 1)
	if b, ok := c.Size(); !ok || b != etcdSize(t, e) {
		t.Errorf("Size() = %d, %v; etcd holds %d bytes", b, ok, etcdSize(t, e))
	}

	// A consistent list from memory; one by label uses the label index.
	if l, err := c.List(ctx, "", storage.ListOptions{}); err != nil || len(l.Items) != 2 {
		t.Fatalf("list: %v", err)
	}
	metricIs(t, "apiserver_watch_cache_consistent_read_total", with(gr, "success", "true", "fallback", "false"), 1)
	cached := with(gr, "storage", "watchcache")
	metricIs(t, "apiserver_storage_list_total", with(cached, "index", ""), 1)
	metricIs(t, "apiserver_storage_list_fetched_objects_total", with(cached, "index", ""), 2)
	metricIs(t, "apiserver_storage_list_evaluated_objects_total", cached, 0)
	metricIs(t, "apiserver_storage_list_returned_objects_total", cached, 2)
	if l, err := c.List(ctx, "", storage.ListOptions{Predicate: evenPred, ReadOptions: storage.ReadOptions{AnyVersion: true}}); err != nil || len(l.Items) != 0 {
		t.Fatalf("list by label: %v", err)
	}
	metricIs(t, "apiserver_storage_list_total", with(cached, "index", "l:l"), 1)
	metricIs(t, "apiserver_watch_cache_consistent_read_total", with(gr, "success", "true", "fallback", "false"), 1)

	// A change reaches a watcher of each kind.
	pushed, err := c.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pushed.Stop()
	pulled, err := c.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pulled.Stop()
	if _, err := c.Create(ctx, "a/three", storagetest.CM("a", "three", "x")); err != nil {
		t.Fatal(err)
	}
	if ev := storagetest.Next(t, pushed); ev.Type != watch.Added {
		t.Fatalf("pushed: %v", ev)
	}
	if ev, ok := pulled.(storage.Puller).Next(ctx); !ok || ev.Type != watch.Added {
		t.Fatalf("pulled: %v", ev)
	}
	for _, stage := range []string{"total", "storage_to_cache", "cache_to_watcher"} {
		eventually(t, func() string { return stage + " does not have the two deliveries" }, func() bool {
			v, _ := storagetest.Metric(t, "apiserver_watch_events_dispatch_duration_seconds", with(gr, "stage", stage))
			return v == 2
		})
	}
	metricIs(t, "apiserver_watch_cache_events_received_total", gr, 1)
	metricIs(t, "apiserver_storage_events_received_total", gr, 1)
	// kube's cache dispatches each change and the resourceVersion it
	// moved to, and each progress notification of etcd.
	var dispatched, bookmarks float64
	eventually(t, func() string {
		return fmt.Sprintf("dispatched %v, want 2 + %v bookmarks", dispatched, bookmarks)
	}, func() bool {
		dispatched, _ = storagetest.Metric(t, "apiserver_watch_cache_events_dispatched_total", gr)
		bookmarks, _ = storagetest.Metric(t, "etcd_bookmark_total", gr)
		return dispatched == 2+bookmarks
	})
	eventually(t, func() string { return "the size is not etcd's after a create" }, func() bool {
		b, _ := c.Size()
		return b == etcdSize(t, e)
	})
	metricIs(t, "apiserver_watch_cache_resource_version", gr, float64(c.rev))
}

// TestConsistentReadFallback: a consistent list the cache cannot catch up
// for in time is served by etcd: counted as a fallback, its wait in
// apiserver_watch_cache_read_wait_seconds.
func TestConsistentReadFallback(t *testing.T) {
	_, s, c, gr := newMetricsPair(t, "fallback", Options{CatchUp: 50 * time.Millisecond}, "one")
	ctx := context.Background()
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	freeze(c)
	if _, err := s.Create(ctx, "a/late", storagetest.CM("a", "late", "x")); err != nil {
		t.Fatal(err)
	}
	if l, err := c.List(ctx, "", storage.ListOptions{}); err != nil || len(l.Items) != 2 {
		t.Fatalf("list: %v", err)
	}
	metricIs(t, "apiserver_watch_cache_consistent_read_total", with(gr, "success", "true", "fallback", "true"), 1)
	metricIs(t, "apiserver_watch_cache_read_wait_seconds", gr, 1)
	metricIs(t, "apiserver_storage_list_total", with(gr, "storage", "etcd", "index", ""), 1)
	if _, ok := storagetest.Metric(t, "apiserver_storage_list_total", with(gr, "storage", "watchcache", "index", "")); ok {
		t.Errorf("a list etcd served counted as the cache's")
	}
}

// TestTerminatedWatchers: a watcher that falls too far behind is ended
// and counted.
func TestTerminatedWatchers(t *testing.T) {
	_, _, c, gr := newMetricsPair(t, "terminated", Options{WatcherBuffer: 2})
	ctx := context.Background()
	w, err := c.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := range 4 {
		name := fmt.Sprint("cm", i)
		if _, err := c.Create(ctx, "a/"+name, storagetest.CM("a", name, "x")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() string { return "no apiserver_terminated_watchers_total" }, func() bool {
		v, _ := storagetest.Metric(t, "apiserver_terminated_watchers_total", gr)
		return v == 1
	})
}

// TestDispatchHistogram: a resource's deliveries make kube's histogram:
// its classic buckets (a latency on a bound is in that bound's bucket),
// count and sum, and its native buckets as client_golang's histogram
// (kube's) makes them.
func TestDispatchHistogram(t *testing.T) {
	d := &dispatchHistograms{byGR: map[schema.GroupResource]*dispatchHistogram{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(d)
	h := d.of(schema.GroupResource{Resource: "things"})
	for _, ns := range []int64{50e3, 1e6, 7e9} {
		h.observe([numStages]int64{ns, 0, ns})
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 1 || len(families[0].GetMetric()) != 3 {
		t.Fatalf("gathered %v", families)
	}
	for _, m := range families[0].GetMetric() {
		stage := m.GetLabel()[2].GetValue()
		hist := m.GetHistogram()
		var got []string
		for _, b := range hist.GetBucket() {
			got = append(got, fmt.Sprintf("%g:%d", b.GetUpperBound(), b.GetCumulativeCount()))
		}
		want := "0.0001:1 0.0005:1 0.001:2 0.005:2 0.01:2 0.025:2 0.05:2 0.1:2 0.25:2 0.5:2 1:2 2.5:2 5:2"
		sum, values := 7.00105, []float64{50e-6, 1e-3, 7}
		if stage == "cache_to_watcher" {
			want, sum, values = "0.0001:3 0.0005:3 0.001:3 0.005:3 0.01:3 0.025:3 0.05:3 0.1:3 0.25:3 0.5:3 1:3 2.5:3 5:3", 0, []float64{0, 0, 0}
		}
		if strings.Join(got, " ") != want || hist.GetSampleCount() != 3 || math.Abs(hist.GetSampleSum()-sum) > 1e-9 {
			t.Errorf("%s: buckets %v, count %d, sum %v; want %s, 3, %v", stage, got, hist.GetSampleCount(), hist.GetSampleSum(), want, sum)
		}
		ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ref", Buckets: []float64{1},
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160})
		for _, v := range values {
			ref.Observe(v)
		}
		var out dto.Metric
		if err := ref.Write(&out); err != nil {
			t.Fatal(err)
		}
		if r := out.GetHistogram(); !sameNative(hist, r) {
			t.Errorf("%s: native histogram %v, client_golang's %v", stage, hist, r)
		}
	}
}

// sameNative reports whether two histograms have the same native part.
func sameNative(a, b *dto.Histogram) bool {
	return a.GetSchema() == b.GetSchema() && a.GetZeroThreshold() == b.GetZeroThreshold() && a.GetZeroCount() == b.GetZeroCount() &&
		fmt.Sprint(a.GetPositiveSpan(), a.GetPositiveDelta()) == fmt.Sprint(b.GetPositiveSpan(), b.GetPositiveDelta()) &&
		a.GetSampleCount() == b.GetSampleCount()
}

// A native histogram with more buckets than 160 has buckets twice as wide
// (a schema less), as client_golang's; latencies beyond the arrays count
// too.
func TestDispatchHistogramWidens(t *testing.T) {
	h := &dispatchHistogram{}
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ref", Buckets: []float64{1},
		NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160})
	for ns := int64(1); ns < 1e15; ns = ns*21/20 + 1 {
		h.observe([numStages]int64{ns, ns, ns})
		ref.Observe(float64(ns) / 1e9)
	}
	var got, want dto.Metric
	if err := h.metric(stageTotal).Write(&got); err != nil {
		t.Fatal(err)
	}
	if err := ref.Write(&want); err != nil {
		t.Fatal(err)
	}
	if g, w := got.GetHistogram(), want.GetHistogram(); !sameNative(g, w) || g.GetSchema() >= 3 {
		t.Errorf("native histogram %v, client_golang's %v", g, w)
	}
}
