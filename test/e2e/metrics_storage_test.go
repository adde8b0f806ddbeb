package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// storageFamilies are kube-apiserver 1.37.2's storage, etcd and watch
// cache families: type, label names and help text, as its /metrics has
// them.
var storageFamilies = []struct {
	name   string
	typ    dto.MetricType
	labels []string
	help   string
}{
	{"apiserver_storage_list_total", dto.MetricType_COUNTER, []string{"group", "index", "resource", "storage"},
		"[ALPHA] Number of LIST requests served from storage"},
	{"apiserver_storage_list_fetched_objects_total", dto.MetricType_COUNTER, []string{"group", "index", "resource", "storage"},
		"[ALPHA] Number of objects read from storage in the course of serving a LIST request"},
	{"apiserver_storage_list_evaluated_objects_total", dto.MetricType_COUNTER, []string{"group", "resource", "storage"},
		"[ALPHA] Number of objects tested in the course of serving a LIST request from storage"},
	{"apiserver_storage_list_returned_objects_total", dto.MetricType_COUNTER, []string{"group", "resource", "storage"},
		"[ALPHA] Number of objects returned for a LIST request from storage"},
	{"apiserver_storage_list_duration_seconds", dto.MetricType_HISTOGRAM, []string{"group", "resource", "streamed"},
		"[ALPHA] Latency of the storage layer GetList call in seconds, including object decode, split by whether etcd RangeStream was used."},
	{"apiserver_storage_events_received_total", dto.MetricType_COUNTER, []string{"group", "resource"},
		"[BETA] Number of etcd events received split by kind."},
	{"etcd_bookmark_total", dto.MetricType_COUNTER, []string{"group", "resource"},
		"[ALPHA] Number of etcd bookmarks (progress notify events) split by kind."},
	{"apiserver_resource_size_estimate_bytes", dto.MetricType_GAUGE, []string{"group", "resource"},
		"[ALPHA] Estimated size of stored objects in database. Estimate is based on sum of last observed sizes of serialized objects. In case of a fetching error, the value will be -1."},
	{"apiserver_watch_cache_events_dispatched_total", dto.MetricType_COUNTER, []string{"group", "resource"},
		"[ALPHA] Counter of events dispatched in watch cache broken by resource type."},
	{"apiserver_watch_cache_events_received_total", dto.MetricType_COUNTER, []string{"group", "resource"},
		"[ALPHA] Counter of events received in watch cache broken by resource type."},
	{"apiserver_watch_cache_resource_version", dto.MetricType_GAUGE, []string{"group", "resource"},
		"[ALPHA] Current resource version of watch cache broken by resource type. This is truncated to the 15 least significant digits."},
	{"apiserver_watch_cache_initialization_duration_seconds", dto.MetricType_HISTOGRAM, []string{"group", "resource"},
		"[ALPHA] Histogram of watch cache initialization duration in seconds, broken by resource type."},
	{"apiserver_watch_cache_initializations_total", dto.MetricType_COUNTER, []string{"group", "resource"},
		"[ALPHA] Counter of watch cache initializations broken by resource type."},
	{"apiserver_watch_cache_read_wait_seconds", dto.MetricType_HISTOGRAM, []string{"group", "resource"},
		"[ALPHA] Histogram of time spent waiting for a watch cache to become fresh."},
	{"apiserver_watch_cache_consistent_read_total", dto.MetricType_COUNTER, []string{"fallback", "group", "resource", "success"},
		"[ALPHA] Counter for consistent reads from cache."},
	{"apiserver_watch_events_dispatch_duration_seconds", dto.MetricType_HISTOGRAM, []string{"group", "resource", "stage"},
		"[ALPHA] Histogram of watch event dispatch latency broken by resource type and pipeline stage. The 'total' stage is the end-to-end latency of a delivered event."},
	{"watch_cache_capacity", dto.MetricType_GAUGE, []string{"group", "resource"},
		"[ALPHA] Total capacity of watch cache broken by resource type."},
	{"etcd_requests_total", dto.MetricType_COUNTER, []string{"group", "operation", "resource"},
		"[ALPHA] Etcd request counts for each operation and object type."},
	{"etcd_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"group", "operation", "resource"},
		"[ALPHA] Etcd request latency in seconds for each operation and object type."},
}

// kube's buckets of the storage histograms.
var storageBuckets = map[string]string{
	"apiserver_storage_list_duration_seconds":               "0.005 0.025 0.05 0.1 0.2 0.4 0.6 0.8 1 1.25 1.5 2 3 4 5 6 8 10 15 20 30 45 60",
	"apiserver_watch_cache_initialization_duration_seconds": "0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 180 600",
	"apiserver_watch_cache_read_wait_seconds":               "0.005 0.025 0.05 0.1 0.2 0.4 0.6 0.8 1 1.25 1.5 2 3",
	"apiserver_watch_events_dispatch_duration_seconds":      "0.0001 0.0005 0.001 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5",
}

// TestMetricsStorage lists, watches and writes ConfigMaps, then reads
// kube-apiserver's storage, etcd and watch cache families back from
// /metrics: kube's names, types, help, label names and values, buckets,
// and series only for what happened.
func TestMetricsStorage(t *testing.T) {
	k := startKapi(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cms := k.client.CoreV1().ConfigMaps("default")
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("storage-", i), Labels: map[string]string{"l": "storage"}},
			Data: map[string]string{"k": strings.Repeat("v", 100)}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// From the cache: a consistent list, one by label; from etcd: one at
	// an exact resourceVersion.
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "l=storage"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion,
		ResourceVersionMatch: metav1.ResourceVersionMatchExact}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "storage-watched"}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "storage-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for seen := 0; seen < 2; {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Added || ev.Type == watch.Deleted {
				seen++
			}
		case <-ctx.Done():
			t.Fatal("the watch did not see the create and the delete")
		}
	}

	// A consistent list of a resource nobody writes, after a write:
	// its cache waits for etcd's progress notification, which it asks for.
	var families map[string]*dto.MetricFamily
	for {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "storage-"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.CoreV1().LimitRanges("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		families = scrape(t, k.client)
		limitranges := map[string]string{"group": "", "resource": "limitranges"}
		if families["etcd_bookmark_total"] != nil && sample(families["apiserver_watch_cache_read_wait_seconds"], limitranges) != nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no progress notification reached a watch cache")
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, f := range storageFamilies {
		got := family(t, families, f.name, f.typ, f.labels...)
		if got.GetHelp() != f.help {
			t.Errorf("%s help %q, want kube's %q", f.name, got.GetHelp(), f.help)
		}
		if want, ok := storageBuckets[f.name]; ok && len(got.Metric) > 0 {
			var bounds []string
			for _, b := range got.Metric[0].GetHistogram().GetBucket() {
				if !math.IsInf(b.GetUpperBound(), 1) {
					bounds = append(bounds, fmt.Sprint(b.GetUpperBound()))
				}
			}
			if strings.Join(bounds, " ") != want {
				t.Errorf("%s buckets %v, want kube's %s", f.name, bounds, want)
			}
		}
	}

	configmaps := map[string]string{"group": "", "resource": "configmaps"}
	with := func(kv ...string) map[string]string {
		out := map[string]string{"group": "", "resource": "configmaps"}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	atLeast := func(name string, labels map[string]string, want float64) {
		t.Helper()
		if v := value(sample(families[name], labels)); v < want {
			t.Errorf("%s%v = %v, want at least %v", name, labels, v, want)
		}
	}
	atLeast("apiserver_storage_list_total", with("storage", "watchcache", "index", ""), 1)
	atLeast("apiserver_storage_list_total", with("storage", "watchcache", "index", "l:l"), 1)
	atLeast("apiserver_storage_list_fetched_objects_total", with("storage", "watchcache", "index", ""), 3)
	atLeast("apiserver_storage_list_returned_objects_total", with("storage", "watchcache"), 3)
	if sample(families["apiserver_storage_list_evaluated_objects_total"], with("storage", "watchcache")) == nil {
		t.Errorf("apiserver_storage_list_evaluated_objects_total has no series of the cache's lists (kube's counts 0)")
	}
	atLeast("apiserver_storage_list_total", with("storage", "etcd", "index", ""), 1)
	atLeast("apiserver_storage_list_evaluated_objects_total", with("storage", "etcd"), 3)
	atLeast("apiserver_storage_list_duration_seconds", with("streamed", "false"), 1)
	atLeast("apiserver_storage_events_received_total", configmaps, 5)
	atLeast("apiserver_watch_cache_events_received_total", configmaps, 5)
	atLeast("apiserver_watch_cache_events_dispatched_total", configmaps, 10)
	atLeast("apiserver_watch_cache_resource_version", configmaps, 1)
	atLeast("apiserver_watch_cache_initialization_duration_seconds", configmaps, 1)
	atLeast("apiserver_watch_cache_consistent_read_total", with("success", "true", "fallback", "false"), 2)
	atLeast("apiserver_watch_cache_read_wait_seconds", map[string]string{"group": "", "resource": "limitranges"}, 1)
	atLeast("apiserver_resource_size_estimate_bytes", configmaps, 300)
	atLeast("watch_cache_capacity", configmaps, 1)
	for _, stage := range []string{"total", "storage_to_cache", "cache_to_watcher"} {
		atLeast("apiserver_watch_events_dispatch_duration_seconds", with("stage", stage), 2)
	}

	// D6: the operations are kube 1.37's names.
	kubeOps := []string{"get", "list", "listStream", "listWithCount", "listOnlyKeys", "create", "update", "delete", "getCurrentResourceVersion"}
	for _, name := range []string{"etcd_requests_total", "etcd_request_duration_seconds"} {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" && !slices.Contains(kubeOps, l.GetValue()) {
					t.Errorf("%s has operation %q, not one of kube's", name, l.GetValue())
				}
			}
		}
	}
	// (A delete is "delete"; a get, served by the cache, reads no etcd.)
	for op, want := range map[string]float64{"create": 5, "list": 1, "delete": 1, "getCurrentResourceVersion": 1} {
		atLeast("etcd_requests_total", with("operation", op), want)
	}
	// D7 and D8: series appear once something was observed in them.
	for _, name := range []string{"etcd_requests_total", "etcd_request_errors_total", "etcd_request_duration_seconds",
		"apiserver_storage_list_total", "apiserver_storage_events_received_total",
		"apiserver_admission_controller_admission_duration_seconds", "apiserver_admission_step_admission_duration_seconds"} {
		for _, m := range families[name].GetMetric() {
			if value(m) == 0 {
				t.Errorf("%s has a series at zero: %v", name, m.GetLabel())
				break
			}
		}
	}
}
