package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestQuotaCountingQuotas: a ResourceQuota that counts resourcequotas
// (as kube's own conformance tests' quotas do) may be deleted, alone or
// by a deletecollection, as kube-controller-manager's namespace
// controller deletes a namespace's quotas. Deleting it charged the
// release of its own count to itself, in the transaction that deleted
// it, which etcd refused ("duplicate key given in txn request", a 500),
// and the namespace stayed Terminating.
func TestQuotaCountingQuotas(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "quotas"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	quotas := k.client.CoreV1().ResourceQuotas("quotas")
	counting := func(name string) {
		t.Helper()
		if _, err := quotas.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceQuotas: resource.MustParse("2"),
				corev1.ResourceConfigMaps: resource.MustParse("5")}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Charged once the quota controller has counted the quotas.
		if err := waitUntil(30*time.Second, func() bool {
			q, err := quotas.Get(ctx, name, metav1.GetOptions{})
			used, ok := q.Status.Used[corev1.ResourceQuotas]
			return err == nil && ok && used.Value() > 0
		}); err != nil {
			t.Fatalf("quota %s never counted", name)
		}
	}
	counting("a")
	if err := quotas.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting a quota that counts quotas: %v", err)
	}
	counting("b")
	counting("c")
	if err := quotas.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatalf("deleting the namespace's quotas at once: %v", err)
	}
	if l, err := quotas.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("quotas left: %v", err)
	}
	if _, err := quotas.Get(ctx, "b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("quota b: %v", err)
	}
}
