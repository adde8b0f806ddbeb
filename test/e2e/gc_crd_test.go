package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func gcWidget(t *testing.T, k *kapi, ns, name string, owners ...metav1.OwnerReference) *unstructured.Unstructured {
	t.Helper()
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"replicas": int64(1)}}}
	w.SetOwnerReferences(owners)
	got, err := k.dynamic.Resource(widgetGVR).Namespace(ns).Create(context.Background(), w, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Widget %s/%s: %v", ns, name, err)
	}
	return got
}

// TestGCFollowsCRDs: the collector takes up a custom resource when its
// CRD comes and lets it go when it goes. The dependents of the custom
// resources deleted with their CRD are collected; a CRD made again is
// followed again, its objects as owners and as dependents.
func TestGCFollowsCRDs(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	ns := gcNamespace(t, k, "gc-crds")

	k.createCRD(t, widgetCRD())
	w1 := gcWidget(t, k, ns, "w1")
	gcConfigMap(t, k, ns, "of-w1", gcOwner("example.com/v1", "Widget", w1))
	if err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gcWaitGone(t, "the CRD", func() error {
		_, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.example.com", metav1.GetOptions{})
		return err
	})
	gcWaitGone(t, "the dependent of a Widget deleted with its CRD", gcGetConfigMap(k, ns, "of-w1"))

	k.createCRD(t, widgetCRD())
	w2 := gcWidget(t, k, ns, "w2")
	gcConfigMap(t, k, ns, "of-w2", gcOwner("example.com/v1", "Widget", w2))
	owner := gcConfigMap(t, k, ns, "owner-of-w3")
	gcWidget(t, k, ns, "w3", gcOwner("v1", "ConfigMap", owner))
	if err := k.dynamic.Resource(widgetGVR).Namespace(ns).Delete(ctx, "w2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gcWaitGone(t, "the dependent of a Widget of the CRD made again", gcGetConfigMap(k, ns, "of-w2"))
	if err := k.client.CoreV1().ConfigMaps(ns).Delete(ctx, owner.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gcWaitGone(t, "a Widget whose owner went", func() error {
		_, err := k.dynamic.Resource(widgetGVR).Namespace(ns).Get(ctx, "w3", metav1.GetOptions{})
		return err
	})
}
