package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// scrape reads /metrics as client and parses it with Prometheus' text
// parser.
func scrape(t *testing.T, client kubernetes.Interface) map[string]*dto.MetricFamily {
	t.Helper()
	body, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// family checks that name is served with the type and exactly the label
// names of kube-apiserver.
func family(t *testing.T, families map[string]*dto.MetricFamily, name string, typ dto.MetricType, labels ...string) *dto.MetricFamily {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Errorf("%s is not served", name)
		return &dto.MetricFamily{}
	}
	if f.GetType() != typ {
		t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
	}
	slices.Sort(labels)
	for _, m := range f.Metric {
		var got []string
		for _, l := range m.Label {
			got = append(got, l.GetName())
		}
		slices.Sort(got)
		if !slices.Equal(got, labels) {
			t.Errorf("%s has labels %v, want %v", name, got, labels)
			break
		}
	}
	return f
}

// sample finds the sample of f whose labels are exactly want.
func sample(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, want) {
			return m
		}
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's count.
func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// req are apiserver_request_total's labels of a request of the apiserver
// component; code "" leaves it out (for the duration and size).
func req(verb, dryRun, group, version, resource, subresource, scope, code string) map[string]string {
	l := map[string]string{"verb": verb, "dry_run": dryRun, "group": group, "version": version, "resource": resource,
		"subresource": subresource, "scope": scope, "component": "apiserver"}
	if code != "" {
		l["code"] = code
	}
	return l
}

// TestMetricsKubeNames makes requests of every kind and reads them back
// from /metrics with kube-apiserver's names, types, label sets and label
// values, so that dashboards and alerts written for kube-apiserver read
// kapi. As kube-apiserver, a create is verb POST and an update PUT (the
// dashboards of kubernetes-mixin select verb=~"POST|PUT|PATCH|DELETE").
func TestMetricsKubeNames(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "default"
	labels := map[string]string{"app": "m"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "metrics"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
	deployments := k.client.AppsV1().Deployments(ns)
	created, err := deployments.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deployments.Get(ctx, "metrics", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := deployments.Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get of a missing deployment: %v", err)
	}
	if _, err := deployments.List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	created.Status.ObservedGeneration = 1
	if _, err := deployments.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := k.client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Apply(ctx, corev1ac.ConfigMap("applied", ns).WithData(map[string]string{"a": "1"}),
		metav1.ApplyOptions{FieldManager: "metrics-test"}); err != nil {
		t.Fatal(err)
	}
	// A resource that does not exist is not counted: no client makes up
	// label values.
	if err := k.client.AppsV1().RESTClient().Get().AbsPath("/apis/apps/v1/namespaces/default/madeups").Do(ctx).Error(); !apierrors.IsNotFound(err) {
		t.Fatalf("get of a resource that does not exist: %v", err)
	}

	// A watch with events: registered and long-running while it lasts.
	wctx, cancel := context.WithCancel(ctx)
	w, err := cms.Watch(wctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Name == "watched" {
			break
		}
	}
	during := scrape(t, k.client)
	if v := value(sample(family(t, during, "apiserver_longrunning_requests", dto.MetricType_GAUGE,
		"verb", "group", "version", "resource", "subresource", "scope", "component"),
		map[string]string{"verb": "WATCH", "group": "", "version": "v1", "resource": "configmaps", "subresource": "",
			"scope": "namespace", "component": "apiserver"})); v < 1 {
		t.Errorf("apiserver_longrunning_requests of the watch = %v, want >= 1", v)
	}
	if v := value(sample(family(t, during, "apiserver_registered_watchers", dto.MetricType_GAUGE, "group", "version", "kind"),
		map[string]string{"group": "", "version": "v1", "kind": "ConfigMap"})); v < 1 {
		t.Errorf("apiserver_registered_watchers of ConfigMap = %v, want >= 1", v)
	}
	w.Stop()
	cancel()

	// The watch is counted when it ends, as in kube-apiserver.
	var families map[string]*dto.MetricFamily
	watchDone := req("WATCH", "", "", "v1", "configmaps", "", "namespace", "200")
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		families = scrape(t, k.client)
		return sample(families["apiserver_request_total"], watchDone) != nil, nil
	}); err != nil {
		t.Fatalf("the ended watch is not counted in apiserver_request_total: %v", err)
	}

	requests := family(t, families, "apiserver_request_total", dto.MetricType_COUNTER,
		"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code")
	for _, want := range []map[string]string{
		req("POST", "", "apps", "v1", "deployments", "", "resource", "201"),
		req("GET", "", "apps", "v1", "deployments", "", "resource", "200"),
		req("GET", "", "apps", "v1", "deployments", "", "resource", "404"),
		req("LIST", "", "apps", "v1", "deployments", "", "namespace", "200"),
		req("PUT", "", "apps", "v1", "deployments", "status", "resource", "200"),
		req("POST", "All", "", "v1", "configmaps", "", "resource", "201"),
		req("APPLY", "", "", "v1", "configmaps", "", "resource", "201"),
		watchDone,
	} {
		if v := value(sample(requests, want)); v < 1 {
			t.Errorf("apiserver_request_total%v = %v, want >= 1", want, v)
		}
	}
	for name, f := range families {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetValue() == "madeups" {
					t.Errorf("%s counts a resource that does not exist: %v", name, m.Label)
				}
			}
		}
	}

	durations := family(t, families, "apiserver_request_duration_seconds", dto.MetricType_HISTOGRAM,
		"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
	created201 := sample(durations, req("POST", "", "apps", "v1", "deployments", "", "resource", ""))
	if value(created201) < 1 {
		t.Errorf("apiserver_request_duration_seconds has no create of a deployment")
	} else {
		var bounds []string
		for _, b := range created201.Histogram.Bucket {
			if !math.IsInf(b.GetUpperBound(), 1) {
				bounds = append(bounds, fmt.Sprint(b.GetUpperBound()))
			}
		}
		if want := "0.005 0.025 0.05 0.1 0.2 0.4 0.6 0.8 1 1.25 1.5 2 3 4 5 6 8 10 15 20 30 45 60"; strings.Join(bounds, " ") != want {
			t.Errorf("apiserver_request_duration_seconds buckets %v, want kube's %s", bounds, want)
		}
	}
	sizes := family(t, families, "apiserver_response_sizes", dto.MetricType_HISTOGRAM,
		"verb", "group", "version", "resource", "subresource", "scope", "component")
	getLabels := req("GET", "", "apps", "v1", "deployments", "", "resource", "")
	delete(getLabels, "dry_run")
	if value(sample(sizes, getLabels)) < 1 {
		t.Errorf("apiserver_response_sizes has no get of a deployment")
	}

	events := family(t, families, "apiserver_watch_events_total", dto.MetricType_COUNTER, "group", "version", "resource")
	cmGVR := map[string]string{"group": "", "version": "v1", "resource": "configmaps"}
	if v := value(sample(events, cmGVR)); v < 1 {
		t.Errorf("apiserver_watch_events_total of configmaps = %v, want >= 1", v)
	}
	if v := value(sample(family(t, families, "apiserver_watch_events_sizes", dto.MetricType_HISTOGRAM, "group", "version", "resource"), cmGVR)); v < 1 {
		t.Errorf("apiserver_watch_events_sizes of configmaps has %v events, want >= 1", v)
	}

	etcd := family(t, families, "etcd_request_duration_seconds", dto.MetricType_HISTOGRAM, "operation", "group", "resource")
	if value(sample(etcd, map[string]string{"operation": "create", "group": "apps", "resource": "deployments"})) < 1 {
		t.Errorf("etcd_request_duration_seconds has no create of a deployment")
	}
	family(t, families, "etcd_requests_total", dto.MetricType_COUNTER, "operation", "group", "resource")
	// Deprecated in 1.34, hidden from 1.37 as in kube (shown with
	// --show-hidden-metrics-for-version=1.36: TestMetricsExposition).
	if _, ok := families["apiserver_storage_objects"]; ok {
		t.Errorf("apiserver_storage_objects is served; kube 1.37 hides it")
	}
	if v := value(sample(family(t, families, "apiserver_resource_objects", dto.MetricType_GAUGE, "group", "resource"),
		map[string]string{"group": "apps", "resource": "deployments"})); v != 1 {
		t.Errorf("apiserver_resource_objects of apps deployments = %v, want 1", v)
	}
	if v := value(sample(family(t, families, "apiserver_storage_size_bytes", dto.MetricType_GAUGE, "storage_cluster_id"),
		map[string]string{"storage_cluster_id": "etcd-0"})); v <= 0 {
		t.Errorf("apiserver_storage_size_bytes = %v, want > 0", v)
	}

	step := family(t, families, "apiserver_admission_step_admission_duration_seconds", dto.MetricType_HISTOGRAM,
		"type", "operation", "rejected")
	for _, typ := range []string{"admit", "validate"} {
		if value(sample(step, map[string]string{"type": typ, "operation": "CREATE", "rejected": "false"})) < 1 {
			t.Errorf("apiserver_admission_step_admission_duration_seconds has no %s of a create", typ)
		}
	}
	controller := family(t, families, "apiserver_admission_controller_admission_duration_seconds", dto.MetricType_HISTOGRAM,
		"name", "type", "operation", "rejected")
	if value(sample(controller, map[string]string{"name": "NamespaceLifecycle", "type": "admit", "operation": "CREATE", "rejected": "false"})) < 1 {
		t.Errorf("apiserver_admission_controller_admission_duration_seconds has no NamespaceLifecycle admit of a create")
	}

	inflight := family(t, families, "apiserver_current_inflight_requests", dto.MetricType_GAUGE, "request_kind")
	for _, kind := range []string{"readOnly", "mutating"} {
		if sample(inflight, map[string]string{"request_kind": kind}) == nil {
			t.Errorf("apiserver_current_inflight_requests has no %s", kind)
		}
	}
	family(t, families, "apiserver_audit_event_total", dto.MetricType_COUNTER)
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("%s (the Go and process collectors) is not served", name)
		}
	}
	// API Priority and Fairness: the requests dispatched by level and
	// schema, and each bootstrap level's seats.
	dispatched := family(t, families, "apiserver_flowcontrol_dispatched_requests_total", dto.MetricType_COUNTER,
		"priority_level", "flow_schema")
	if value(sample(dispatched, map[string]string{"priority_level": "exempt", "flow_schema": "exempt"})) < 1 {
		t.Errorf("apiserver_flowcontrol_dispatched_requests_total has no request of system:masters (exempt)")
	}
	seats := family(t, families, "apiserver_flowcontrol_nominal_limit_seats", dto.MetricType_GAUGE, "priority_level")
	for _, pl := range []string{"exempt", "catch-all", "global-default", "leader-election", "node-high", "system", "workload-high", "workload-low"} {
		if sample(seats, map[string]string{"priority_level": pl}) == nil {
			t.Errorf("apiserver_flowcontrol_nominal_limit_seats has no %s", pl)
		}
	}
}

// TestMetricsAuthorization checks that /metrics is authorized as in
// kube-apiserver: "get" on the non-resource URL, which the bootstrap
// ClusterRole system:monitoring grants to the group system:monitoring.
func TestMetricsAuthorization(t *testing.T) {
	k := startKapi(t)
	_, err := asUser(k, "nobody").Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if !apierrors.IsForbidden(err) {
		t.Errorf("GET /metrics by a user without get on /metrics: %v, want 403", err)
	}
	families := scrape(t, asUser(k, "prometheus", "system:monitoring"))
	if families["apiserver_request_total"] == nil {
		t.Errorf("a member of system:monitoring reads no apiserver_request_total")
	}
}
