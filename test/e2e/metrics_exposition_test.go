package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetricsExposition: what /metrics leaves out and adds as
// component-base's registry does: the hidden apiserver_storage_objects
// shown by --show-hidden-metrics-for-version=1.36 (any other version
// refused with kube's message), --disabled-metrics, their two counters,
// kubernetes_build_info, version_info, the Go runtime's metrics and
// client-go's (rest_client_*).
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(bins.kapi, "--data-dir", t.TempDir(), "--show-hidden-metrics-for-version=1.35").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 ||
		!strings.Contains(string(out), `Invalid value: "1.35": must be omitted or have the value '1.36'; only the previous minor version is allowed`) {
		t.Errorf("--show-hidden-metrics-for-version=1.35: %v\n%s", err, out)
	}

	_, _, client := runKapiBinary(t, t.TempDir(), "--secure-port", fmt.Sprint(portOf(t, "https://"+freeAddr(t))),
		"--show-hidden-metrics-for-version=1.36", "--disabled-metrics=apiserver_request_total,go_goroutines,no_such_metric")
	families := scrape(t, client)
	for _, off := range []string{"apiserver_request_total", "go_goroutines"} {
		if _, ok := families[off]; ok {
			t.Errorf("%s is served; it is disabled", off)
		}
	}
	one := func(name string) *dto.Metric {
		t.Helper()
		f, ok := families[name]
		if !ok || len(f.Metric) == 0 {
			t.Fatalf("no %s", name)
		}
		return f.Metric[0]
	}
	if v := one("disabled_metrics_total").GetCounter().GetValue(); v != 3 {
		t.Errorf("disabled_metrics_total = %v, want 3", v)
	}
	if v := one("hidden_metrics_total").GetCounter().GetValue(); v != 1 {
		t.Errorf("hidden_metrics_total = %v, want 1", v)
	}
	var shown bool
	for _, m := range families["apiserver_storage_objects"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "resource" && l.GetValue() == "namespaces" && m.GetGauge().GetValue() >= 4 {
				shown = true
			}
		}
	}
	if !shown {
		t.Errorf("apiserver_storage_objects{resource=\"namespaces\"} not shown: %v", families["apiserver_storage_objects"])
	}
	labels := func(m *dto.Metric) map[string]string {
		out := map[string]string{}
		for _, l := range m.Label {
			out[l.GetName()] = l.GetValue()
		}
		return out
	}
	if b := labels(one("kubernetes_build_info")); b["major"] != "1" || b["minor"] != "37" || !strings.HasPrefix(b["git_version"], "v1.37.") ||
		b["go_version"] == "" || b["platform"] == "" {
		t.Errorf("kubernetes_build_info %v", b)
	}
	if v := labels(one("version_info")); v["component"] != "kube" || v["emulation"] != "1.37" || v["min_compat"] != "1.36" ||
		!strings.HasPrefix(v["binary"], "1.37.") {
		t.Errorf("version_info %v", v)
	}
	for _, name := range []string{"go_sched_latencies_seconds", "go_gc_heap_allocs_bytes_total", "go_memory_classes_total_bytes"} {
		if _, ok := families[name]; !ok {
			t.Errorf("no %s (the Go runtime's metrics, as kube's registry has them)", name)
		}
	}
	// client-go's metrics of the process's clients (kapi's loopback
	// ones, which its control loops use from the start), as the
	// restclient package kube-apiserver imports records them.
	var ok200 bool
	for _, m := range families["rest_client_requests_total"].GetMetric() {
		if l := labels(m); l["code"] == "200" && l["method"] == "GET" && l["host"] != "" && m.GetCounter().GetValue() > 0 {
			ok200 = true
		}
	}
	if !ok200 {
		t.Errorf("no rest_client_requests_total{code=\"200\",method=\"GET\"}: %v", families["rest_client_requests_total"])
	}
	if f := families["rest_client_request_duration_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) == 0 {
		t.Errorf("rest_client_request_duration_seconds: %v", f)
	}

	// kube's allocator metrics: the kubernetes Service's address (static,
	// at start), then a NodePort Service's address and port (dynamic).
	ctx := context.Background()
	if _, err := client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		`kube_apiserver_clusterip_allocator_allocation_total{cidr="10.96.0.0/12",scope="static"}`:   1,
		`kube_apiserver_clusterip_allocator_allocation_total{cidr="10.96.0.0/12",scope="dynamic"}`:  1,
		`kube_apiserver_clusterip_allocator_allocated_ips{cidr="10.96.0.0/12"}`:                     2,
		`kube_apiserver_clusterip_allocator_available_ips{cidr="10.96.0.0/12"}`:                     1<<20 - 2 - 2,
		`kube_apiserver_clusterip_allocator_allocation_duration_seconds_count{cidr="10.96.0.0/12"}`: 2,
		`kube_apiserver_nodeport_allocator_allocation_total{scope="dynamic"}`:                       1,
		`kube_apiserver_nodeport_allocator_allocated_ports`:                                         1,
		`kube_apiserver_nodeport_allocator_available_ports`:                                         2767,
	} {
		if got, err := metricSeries(ctx, client, series); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", series, got, err, want)
		}
	}
}

// TestStoragePollsOff: --etcd-count-metric-poll-period=0 and
// --etcd-db-metric-poll-interval=0 turn off, as in kube, the objects'
// counts and sizes and the database's size, which a kapi with the
// defaults serves.
func TestStoragePollsOff(t *testing.T) {
	t.Parallel()
	names := []string{"apiserver_resource_objects", "apiserver_resource_size_estimate_bytes", "apiserver_storage_size_bytes"}
	for _, off := range []bool{false, true} {
		args := []string{"--secure-port", fmt.Sprint(portOf(t, "https://"+freeAddr(t)))}
		if off {
			args = append(args, "--etcd-count-metric-poll-period=0", "--etcd-db-metric-poll-interval=0")
		}
		_, _, client := runKapiBinary(t, t.TempDir(), args...)
		families := scrape(t, client)
		for _, name := range names {
			if _, served := families[name]; served == off {
				t.Errorf("polls off %v: %s served %v", off, name, served)
			}
		}
	}
}
