package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// metricsServer is the test's metrics.k8s.io/v1beta1 server, as
// metrics-server serves it: node-1 and the pod default/web-1 use some
// CPU and memory.
func metricsServer() http.Handler {
	usage := func(cpu, mem string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
	tm := metav1.TypeMeta{APIVersion: "metrics.k8s.io/v1beta1"}
	now := metav1.NewTime(time.Now())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var out any
		switch p := r.URL.Path; {
		case p == "/apis/metrics.k8s.io/v1beta1":
			out = metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "metrics.k8s.io/v1beta1",
				APIResources: []metav1.APIResource{
					{Name: "nodes", SingularName: "", Kind: "NodeMetrics", Verbs: []string{"get", "list"}},
					{Name: "pods", SingularName: "", Namespaced: true, Kind: "PodMetrics", Verbs: []string{"get", "list"}}}}
		case p == "/apis/metrics.k8s.io/v1beta1/nodes":
			l := metricsv1beta1.NodeMetricsList{TypeMeta: tm, Items: []metricsv1beta1.NodeMetrics{{
				ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Timestamp: now, Window: metav1.Duration{Duration: 15 * time.Second},
				Usage: usage("250m", "512Mi")}}}
			l.Kind = "NodeMetricsList"
			out = l
		case p == "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods":
			l := metricsv1beta1.PodMetricsList{TypeMeta: tm, Items: []metricsv1beta1.PodMetrics{{
				ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, Timestamp: now, Window: metav1.Duration{Duration: 15 * time.Second},
				Containers: []metricsv1beta1.ContainerMetrics{{Name: "web", Usage: usage("120m", "64Mi")}}}}}
			l.Kind = "PodMetricsList"
			out = l
		default:
			w.WriteHeader(http.StatusNotFound)
			out = metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404}
		}
		json.NewEncoder(w).Encode(out)
	})
}

// TestAggregationKubectlTop: with a metrics.k8s.io/v1beta1 server
// registered, the real kubectl's top pods and top nodes work through
// kapi, for a node and a pod created in kapi.
func TestAggregationKubectlTop(t *testing.T) {
	k := startKapi(t, aggAllowLoopback)
	ctx := context.Background()
	_, err := k.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k.waitDefaultServiceAccount(t, "default")
	_, err = k.client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "web", Image: "web"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ext := startAggExtension(t, k, "kube-system", "metrics-server", metricsServer())
	aggService(t, k, "kube-system", "metrics-server", ext.Port, true)
	aggAPIService(t, k, "metrics.k8s.io", "v1beta1", "kube-system", "metrics-server", ext.CA, 100, 100)
	aggWaitCondition(t, k, "v1beta1.metrics.k8s.io", "Passed", "all checks passed")

	var out string
	if err := waitUntil(30*time.Second, func() bool {
		out, err = k.kubectl("", "top", "pods", "-n", "default")
		return err == nil
	}); err != nil {
		t.Fatalf("kubectl top pods: %v\n%s", err, out)
	}
	if !strings.Contains(out, "web-1") || !strings.Contains(out, "120m") || !strings.Contains(out, "64Mi") {
		t.Fatalf("kubectl top pods:\n%s", out)
	}
	out, err = k.kubectl("", "top", "nodes")
	if err != nil || !strings.Contains(out, "node-1") || !strings.Contains(out, "250m") || !strings.Contains(out, "512Mi") {
		t.Fatalf("kubectl top nodes: %v\n%s", err, out)
	}
	t.Logf("kubectl top nodes:\n%s", out)
}
