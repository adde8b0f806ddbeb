package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gcRing makes n ConfigMaps each owning the next, the last owning the
// first: a cycle of blocking references (the first is made without its
// owner, which is added once the last exists).
func gcRing(t *testing.T, k *kapi, ns string, n int) []*corev1.ConfigMap {
	t.Helper()
	ctx := context.Background()
	ring := []*corev1.ConfigMap{gcConfigMap(t, k, ns, "ring-0")}
	for i := 1; i < n; i++ {
		ring = append(ring, gcConfigMap(t, k, ns, fmt.Sprint("ring-", i), gcOwner("v1", "ConfigMap", ring[i-1])))
	}
	first := ring[0].DeepCopy()
	first.OwnerReferences = []metav1.OwnerReference{gcOwner("v1", "ConfigMap", ring[n-1])}
	got, err := k.client.CoreV1().ConfigMaps(ns).Update(ctx, first, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ring[0] = got
	return ring
}

// TestGCCycle deletes rings of owners: in the foreground (each waits for
// the next, which waits for the first: the collector unblocks the
// references that close the cycle) and in the background.
func TestGCCycle(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationBackground} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			ns := gcNamespace(t, k, "gc-cycle-"+map[metav1.DeletionPropagation]string{metav1.DeletePropagationForeground: "fg", metav1.DeletePropagationBackground: "bg"}[policy])
			ring := gcRing(t, k, ns, 3)
			if err := k.client.CoreV1().ConfigMaps(ns).Delete(ctx, ring[1].Name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			for _, cm := range ring {
				gcWaitGone(t, "ConfigMap "+cm.Name+" of the ring", gcGetConfigMap(k, ns, cm.Name))
			}
		})
	}
}
