package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestQuotaStatusStuckPod: a scheduled pod deleted gracefully stays
// (kapi runs no kubelet) and counts until its deletionTimestamp plus its
// grace period, then stops counting, as kube's quota counts pods stuck
// terminating; the pod its quota held back can then be made. A pod
// marked Succeeded stops counting at once.
func TestQuotaStatusStuckPod(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "rq-stuck"
	quotaNamespace(t, k, ns)
	mkQuota(t, k, ns, "pods", rl("pods", "1", "requests.cpu", "1"))
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "0", "requests.cpu", "0")))
	pods := k.client.CoreV1().Pods(ns)
	stuck := quotaPod("stuck", rl("cpu", "500m"), nil)
	stuck.Spec.NodeName = "lost-node"
	if _, err := pods.Create(ctx, stuck, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "1", "requests.cpu", "500m")))
	_, err := pods.Create(ctx, quotaPod("held-back", rl("cpu", "100m"), nil), metav1.CreateOptions{})
	mustForbidden(t, "a second pod", err)
	if err := pods.Delete(ctx, "stuck", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(2))}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "stuck", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("the pod is not marked for deletion: %v", err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "0", "requests.cpu", "0")))
	if _, err := pods.Create(ctx, quotaPod("held-back", rl("cpu", "100m"), nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("after the stuck pod's grace period: %v", err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "1", "requests.cpu", "100m")))
	// Removing the stuck pod at last gives nothing back twice.
	if err := pods.Delete(ctx, "stuck", *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "1", "requests.cpu", "100m")))
	// A pod that finished counts nothing.
	p, err = pods.Get(ctx, "held-back", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "0", "requests.cpu", "0")))
}

// TestQuotaStatusStuckPodsOwnTimes: two pods stuck terminating in one
// namespace stop counting each at its own time. The later one's time
// must not be lost to the earlier one's (a queue that keeps one waiting
// time per quota keeps only the earliest).
func TestQuotaStatusStuckPodsOwnTimes(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "rq-stuck-two"
	quotaNamespace(t, k, ns)
	mkQuota(t, k, ns, "pods", rl("pods", "2"))
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "0")))
	pods := k.client.CoreV1().Pods(ns)
	for _, name := range []string{"late", "early"} {
		p := quotaPod(name, rl("cpu", "100m"), nil)
		p.Spec.NodeName = "lost-node"
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "2")))
	// The later time is asked for first.
	if err := pods.Delete(ctx, "late", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(4))}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "early", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(1))}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "pods", fixed(rl("pods", "0")))
}
