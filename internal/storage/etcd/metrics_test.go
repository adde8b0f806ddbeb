package etcd

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/storage"
	"kapi/internal/storage/storagetest"
)

// metricsStore is a test store whose metrics carry a resource of the
// test's own: the registry is the process's.
func metricsStore(t *testing.T, resource string) (*Store, map[string]string) {
	s := newTestStore(t)
	s.SetResource(schema.GroupResource{Group: "metrics.test", Resource: resource})
	return s, map[string]string{"group": "metrics.test", "resource": resource}
}

// with is labels and more.
func with(labels map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestRequestMetrics: each etcd request is counted under kube-apiserver
// 1.37's operation name, and a series appears only once it has a request
// in it, as kube's: no zeros for the operations not made, no error series
// before an error.
func TestRequestMetrics(t *testing.T) {
	s, gr := metricsStore(t, "requests")
	ctx := context.Background()
	op := func(name string) map[string]string { return with(gr, "operation", name) }
	for _, name := range []string{"create", "get", "list", "listWithCount", "getCurrentResourceVersion", "update", "delete"} {
		if _, ok := storagetest.Metric(t, "etcd_requests_total", op(name)); ok {
			t.Errorf("etcd_requests_total{operation=%q} exists before any request", name)
		}
	}
	if _, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a/one", storage.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Count(ctx); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"create": 1, "get": 1, "listWithCount": 1, "getCurrentResourceVersion": 1} {
		if v, _ := storagetest.Metric(t, "etcd_requests_total", op(name)); v != want {
			t.Errorf("etcd_requests_total{operation=%q} = %v, want %v", name, v, want)
		}
		if v, _ := storagetest.Metric(t, "etcd_request_duration_seconds", op(name)); v != want {
			t.Errorf("etcd_request_duration_seconds{operation=%q} has %v observations, want %v", name, v, want)
		}
		if _, ok := storagetest.Metric(t, "etcd_request_errors_total", op(name)); ok {
			t.Errorf("etcd_request_errors_total{operation=%q} exists without an error", name)
		}
	}
	for _, name := range []string{"listOnlyKeys", "update", "delete"} {
		if _, ok := storagetest.Metric(t, "etcd_requests_total", op(name)); ok {
			t.Errorf("etcd_requests_total{operation=%q} exists, no such request was made", name)
		}
	}
	// A read of a revision etcd has not reached fails: an error.
	if _, err := s.Get(ctx, "a/one", storage.ReadOptions{ResourceVersion: rev + 100, Exact: true}); err == nil {
		t.Fatal("a get at a future revision succeeded")
	}
	if v, _ := storagetest.Metric(t, "etcd_request_errors_total", op("get")); v != 1 {
		t.Errorf("etcd_request_errors_total{operation=\"get\"} = %v, want 1", v)
	}
	// An update that removes the object (its last finalizer went) is
	// kube's delete.
	if _, err := s.Update(ctx, "a/one", false, func(runtime.Object) (storage.Decision, error) {
		return storage.Decision{Action: storage.Remove}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if v, _ := storagetest.Metric(t, "etcd_requests_total", op("delete")); v != 1 {
		t.Errorf("etcd_requests_total{operation=\"delete\"} = %v after a removal, want 1", v)
	}
	if _, ok := storagetest.Metric(t, "etcd_requests_total", op("update")); ok {
		t.Errorf("a removal counted as an update")
	}
}

// TestListMetrics: a list counts, as kube's etcd GetList, the objects it
// fetched, decoded (evaluated) and returned, and its duration, not
// streamed; the initial events of a watch are one more Range request but
// no list.
func TestListMetrics(t *testing.T) {
	s, gr := metricsStore(t, "lists")
	ctx := context.Background()
	for _, cm := range []*corev1.ConfigMap{storagetest.CM("a", "one", "sel"), storagetest.CM("a", "two", "sel"), storagetest.CM("a", "three", "other")} {
		if _, err := s.Create(ctx, "a/"+cm.Name, cm); err != nil {
			t.Fatal(err)
		}
	}
	pred := storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "sel"}), Field: fields.Everything(),
		Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) { return o.(*corev1.ConfigMap).Labels, nil, nil }}
	l, err := s.List(ctx, "a/", storage.ListOptions{Predicate: pred})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("list: %v, %d items", err, len(l.Items))
	}
	etcdList := with(gr, "storage", "etcd")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"apiserver_storage_list_total", with(etcdList, "index", ""), 1},
		{"apiserver_storage_list_fetched_objects_total", with(etcdList, "index", ""), 3},
		{"apiserver_storage_list_evaluated_objects_total", etcdList, 3},
		{"apiserver_storage_list_returned_objects_total", etcdList, 2},
		{"apiserver_storage_list_duration_seconds", with(gr, "streamed", "false"), 1},
		{"etcd_requests_total", with(gr, "operation", "list"), 1},
	} {
		if v, ok := storagetest.Metric(t, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (exists %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	w, err := s.Watch(ctx, "", storage.WatchOptions{SendInitialEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if v, _ := storagetest.Metric(t, "apiserver_storage_list_total", with(etcdList, "index", "")); v != 1 {
		t.Errorf("a watch's initial events counted as a list: apiserver_storage_list_total = %v, want 1", v)
	}
	if v, _ := storagetest.Metric(t, "etcd_requests_total", with(gr, "operation", "list")); v != 2 {
		t.Errorf("etcd_requests_total{operation=\"list\"} = %v after a watch's initial events, want 2", v)
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

// TestWatchMetrics: every change an etcd watch receives counts in
// apiserver_storage_events_received_total, every progress notification in
// etcd_bookmark_total.
func TestWatchMetrics(t *testing.T) {
	s, gr := metricsStore(t, "watches")
	ctx := context.Background()
	w, err := s.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, name := range []string{"one", "two"} {
		if _, err := s.Create(ctx, "a/"+name, storagetest.CM("a", name, "x")); err != nil {
			t.Fatal(err)
		}
		storagetest.Next(t, w)
	}
	if v, _ := storagetest.Metric(t, "apiserver_storage_events_received_total", gr); v != 2 {
		t.Errorf("apiserver_storage_events_received_total = %v, want 2", v)
	}
	if err := s.RequestProgress(ctx); err != nil {
		t.Fatal(err)
	}
	var v float64
	eventually(t, func() string { return "no etcd_bookmark_total after a progress request" }, func() bool {
		v, _ = storagetest.Metric(t, "etcd_bookmark_total", gr)
		return v >= 1
	})
}

// TestWatchBytes: a watch asked to keep the size of the values below its
// prefix has etcd's own sum, through creates, updates and deletes.
func TestWatchBytes(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "a/before", storagetest.CM("a", "before", "x")); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	w, err := s.Watch(ctx, "", storage.WatchOptions{SendInitialEvents: true, Bytes: &n})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	stored := func() int64 {
		resp, err := s.client.Get(ctx, s.root, clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, kv := range resp.Kvs {
			sum += int64(len(kv.Value))
		}
		return sum
	}
	if got, want := n.Load(), stored(); got != want || want == 0 {
		t.Fatalf("after the initial events: %d bytes, etcd holds %d", got, want)
	}
	if _, err := s.Create(ctx, "a/after", storagetest.CM("a", "after", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "a/before", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		cm := cur.(*corev1.ConfigMap)
		cm.Data = map[string]string{"k": "a longer value than before"}
		return cm, nil
	})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "a/after", nil); err != nil {
		t.Fatal(err)
	}
	want := stored()
	eventually(t, func() string { return "the watch's size is not etcd's" }, func() bool { return n.Load() == want })
}
