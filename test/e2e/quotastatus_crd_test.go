package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestQuotaStatusCustomResource: a quota on count/widgets.example.com
// made before the CRD counts the widgets once the CRD comes; the
// admission plugin refuses a widget beyond hard; a delete gives it back.
func TestQuotaStatusCustomResource(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "rq-crd"
	quotaNamespace(t, k, ns)
	mkQuota(t, k, ns, "widgets", rl("count/widgets.example.com", "2", "pods", "3"))
	// Pods are counted at once; widgets are nothing kapi serves yet.
	waitUsed(t, k, ns, "widgets", func() corev1.ResourceList {
		return rl("pods", "0")
	}, "count/widgets.example.com")
	crd := k.createCRD(t, widgetCRD())
	waitUsed(t, k, ns, "widgets", fixed(rl("pods", "0", "count/widgets.example.com", "0")))
	widgets := k.crs(crd, "v1", ns)
	widget := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{"color": "blue"}}}
	}
	for i := range 2 {
		if _, err := widgets.Create(ctx, widget(fmt.Sprintf("w%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitUsed(t, k, ns, "widgets", fixed(rl("count/widgets.example.com", "2")))
	_, err := widgets.Create(ctx, widget("w2"), metav1.CreateOptions{})
	mustForbidden(t, "a third widget", err)
	if err := widgets.Delete(ctx, "w0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "widgets", fixed(rl("count/widgets.example.com", "1")))
	if _, err := widgets.Create(ctx, widget("w2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "widgets", fixed(rl("count/widgets.example.com", "2")))
}
