package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNamespaceStrategy: kube's namespace strategies. An update keeps the
// stored spec.finalizers (only finalize changes them), whose names are
// checked; the status phase follows the deletion.
func TestNamespaceStrategy(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	nss := k.client.CoreV1().Namespaces()
	_, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bad-fin"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"hold"}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.finalizers: Invalid value: "hold": name is neither a standard finalizer name nor is it fully qualified`) {
		t.Errorf("a namespace with finalizer hold: %v", err)
	}
	ns, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nss.Delete(ctx, "kept", metav1.DeleteOptions{}) })
	ns.Spec.Finalizers = nil
	ns.Labels["x"] = "y"
	updated, err := nss.Update(ctx, ns, metav1.UpdateOptions{})
	if err != nil || len(updated.Spec.Finalizers) != 1 || updated.Spec.Finalizers[0] != corev1.FinalizerKubernetes || updated.Labels["x"] != "y" {
		t.Errorf("an update without finalizers: %v %+v %v", err, updated.Spec, updated.Labels)
	}
	updated.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes, "hold"}
	_, err = nss.Finalize(ctx, updated, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.finalizers[1]: Invalid value: "hold"`) {
		t.Errorf("finalize with hold: %v", err)
	}
	updated.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes, "example.com/hold"}
	if fin, err := nss.Finalize(ctx, updated, metav1.UpdateOptions{}); err != nil || len(fin.Spec.Finalizers) != 2 {
		t.Errorf("finalize with example.com/hold: %v %+v", err, fin)
	}
	cur, _ := nss.Get(ctx, "kept", metav1.GetOptions{})
	cur.Status.Phase = corev1.NamespaceTerminating
	_, err = nss.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty") {
		t.Errorf("a live namespace set Terminating: %v", err)
	}
}
